package miner

import (
	"time"

	"github.com/sn27/sn27/internal/axon"
	"github.com/sn27/sn27/internal/chain"
	"github.com/sn27/sn27/internal/hashcat"
	"github.com/sn27/sn27/internal/opencl"
	"github.com/sn27/sn27/internal/protocol"
)

// Config is the miner's configuration; flag names in comments.
type Config struct {
	NetUID       chain.NetUID // --netuid
	AxonIP       string       // --axon.ip: address to listen on
	AxonPort     int          // --axon.port
	ExternalIP   string       // --axon.external_ip: address announced on chain
	ExternalPort int          // --axon.external_port (0: AxonPort)
	AxonVersion  uint32       // version served on chain (SN27's 183)

	Blacklist BlacklistConfig

	Solver  string         // --miner.solver: auto, native, hashcat, opencl or hybrid
	Hashcat hashcat.Config // --miner.hashcat.*
	OpenCL  opencl.Config  // the OpenCL solver's device (first GPU, else any) and launch size
	// HybridNativeShare is the part of each keyspace the native solver takes
	// in hybrid mode (--miner.hybrid.native.share), 0 < x < 1; 0 measures
	// it at start-up (HybridSolver.Calibrate).
	HybridNativeShare float64

	SSHPort int // --ssh.port (allocations)

	MetagraphRefresh time.Duration // how often the metagraph copy is refreshed
	MetricsAddr      string        // --metrics.port as host:port; "" disables /metrics
	Axon             axon.Config
}

// BlacklistConfig is the Python miner's blacklist and whitelist options.
type BlacklistConfig struct {
	Hotkeys                 []string // --blacklist.hotkeys
	Coldkeys                []string // --blacklist.coldkeys
	Exploiters              bool     // --blacklist.exploiters: refuse SN27's known exploiter hotkeys
	WhitelistHotkeys        []string // --whitelist.hotkeys
	WhitelistColdkeys       []string // --whitelist.coldkeys
	WhitelistNotEnoughStake bool     // --miner.whitelist.not.enough.stake
	MinStake                uint64   // rao; validator_permit_stake = 1024 τ
}

// DefaultConfig returns the Python miner's defaults.
func DefaultConfig() Config {
	return Config{
		NetUID:      27,
		AxonIP:      "0.0.0.0",
		AxonPort:    8091,
		AxonVersion: protocol.SN27VersionInt,
		Blacklist: BlacklistConfig{
			Exploiters: true,
			MinStake:   1024 * 1_000_000_000,
		},
		Solver:           "auto",
		Hashcat:          hashcat.DefaultConfig(),
		OpenCL:           opencl.DefaultConfig(),
		SSHPort:          4444,
		MetagraphRefresh: time.Minute,
		Axon:             axon.DefaultConfig(),
	}
}

// Synapse priorities of the Python miner (miner_priority_*).
const (
	PrioritySpecs     = 1
	PriorityChallenge = 2
	PriorityAllocate  = 3
)

// Exploiters is compute-subnet's SUSPECTED_EXPLOITERS_HOTKEYS.
var Exploiters = []string{
	"5HZ1ATsziEMDm1iUqNWQatfEDb1JSNf37AiG8s3X4pZzoP3A",
	"5H679r89XawDrMhwKGH1jgWMZQ5eeJ8RM9SvUmwCBkNPvSCL",
	"5FnMHpqYo1MfgFLax6ZTkzCZNrBJRjoWE5hP35QJEGdZU6ft",
	"5H3tiwVEdqy9AkQSLxYaMewwZWDi4PNNGxzKsovRPUuuvALW",
	"5E6oa5hS7a6udd9LUUsbBkvzeiWDCgyA2kGdj6cXMFdjB7mm",
	"5DFaj2o2R4LMZ2zURhqEeFKXvwbBbAPSPP7EdoErYc94ATP1",
	"5H3padRmkFMJqZQA8HRBZUkYY5aKCTQzoR8NwqDfWFdTEtky",
	"5HBqT3dhKWyHEAFDENsSCBJ1ntyRdyEDQWhZo1JKgMSrAhUv",
	"5FAH7UesJRwwLMkVVknW1rsh9MQMUo78d5Qyx3KpFpL5A7LW",
	"5GUJBJmSJtKPbPtUgALn4h34Ydc1tjrNfD1CT4akvcZTz1gE",
	"5E2RkNBMCrdfgpnXHuiC22osAxiw6fSgZ1iEVLqWMXSpSKac",
	"5DaLy2qQRNsmbutQ7Havj49CoZSKksQSRkCLJsiknH8GcsN2",
	"5GNNB5kZfo6F9hqwXvaRfYdTuJPSzrXbtABzwoL499jPNBjt",
	"5GVjcJLQboN5NcQoP4x8oqovjAiEizdscoocWo9HBYYmPdR3",
	"5FswTe5bbs9n1SzaGpzUd6sDfnzdPfWVS2MwDWNbAneeT15k",
	"5F4bqDZkx79hCxmbbsVMuq312EW9hQLvsBzKsAJgcEqpb8L9",
}
