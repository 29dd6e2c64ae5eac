package devchain

import "time"

// TAO is one TAO in rao.
const TAO = 1_000_000_000

// Config configures a dev chain.
type Config struct {
	// BlockTime is the interval between blocks; 0 means instant mode: one
	// block per extrinsic, and empty blocks only on request (dev_newBlock).
	BlockTime time.Duration
	// StatePath is the JSON file the state is saved to after each block and
	// loaded from at start; "" keeps the state in memory only.
	StatePath string
	// Tempo is the tempo of new subnets (an epoch every Tempo+1 blocks).
	Tempo uint16
	// LockCost is the rao register_network takes from the owner's coldkey.
	LockCost uint64
	// Burn is the initial burned_register cost of new subnets, in rao.
	Burn uint64
	// AllowLoopback lets serve_axon announce 127.0.0.1 (the real runtime
	// refuses it with InvalidIpAddress).
	AllowLoopback bool
	// NetworkRateLimit is the genesis NetworkRateLimit in blocks. The dev
	// chain starts at 0, as a dev node's genesis would, so `subnet create`
	// works on block 0 (raonet's genesis has 10).
	NetworkRateLimit uint64
	// EmissionPerBlock is the rao each subnet emits per block; an epoch
	// hands out tempo+1 blocks' worth, half to miners, half to validators.
	EmissionPerBlock uint64
	// Fee is the flat fee, in rao, of calls that pay fees on the real chain
	// (Balances and Utility calls, System.remark). SubtensorModule calls and
	// Sudo are free, as in the runtime.
	Fee uint64
	// GenesisBalance is what //Alice..//Ferdie hold at genesis, in rao.
	GenesisBalance uint64
	// History is the number of recent blocks (at least) kept for chain_getBlock and
	// events at a block hash.
	History int
	// MaxConnections bounds concurrent WebSocket connections.
	MaxConnections int
	// MaxMessage bounds one JSON-RPC request, in bytes.
	MaxMessage int64
	// Runtime is the spec version whose real metadata the chain serves: 218
	// (raonet, the default; 0 means 218) or 343 (commit-reveal on for new
	// subnets, timelocked weight commits revealed with the chain's own drand
	// beacon, mechanism weights).
	Runtime uint32
	// Beacon is the dev drand beacon's cryptography (spec 343); nil: no
	// pulses, and timelocked commits are never revealed.
	Beacon Beacon
}

// DefaultConfig returns the dev chain defaults: instant blocks, tempo 30,
// 1 TAO lock cost and burn, loopback serving allowed.
func DefaultConfig() Config {
	return Config{
		Tempo:            30,
		LockCost:         TAO,
		Burn:             TAO,
		AllowLoopback:    true,
		NetworkRateLimit: 0,
		EmissionPerBlock: TAO,
		Fee:              125_000,
		GenesisBalance:   1_000_000 * TAO,
		History:          1024,
		MaxConnections:   128,
		MaxMessage:       4 << 20,
	}
}
