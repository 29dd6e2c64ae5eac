package validator

import (
	"time"

	"github.com/sn27/sn27/internal/chain"
	"github.com/sn27/sn27/internal/protocol"
)

// Config is the validator's configuration; flag names in comments.
type Config struct {
	NetUID  chain.NetUID // --netuid
	Scoring string       // --validator.scoring: v1.5 (default, also "v15"), seed or pog

	DifficultyMin, DifficultyMax int           // --validator.difficulty.min|max
	AlphabetSize                 int           // --validator.alphabet.size
	PowTimeout                   time.Duration // --validator.pow.timeout
	BatchSize                    int           // --validator.challenge.batch.size

	// Schedules in blocks.
	ChallengeEveryMin, ChallengeEveryMax uint64 // randomised in [min, max]
	SpecsEvery                           uint64 // with --validator.perform.hardware.query
	SyncEvery                            uint64
	WeightsEvery                         uint64 // weights_rate_limit
	// RentalsEvery is the status schedule of allocated miners: each is asked
	// whether it still holds its rental (--validator.rentals.every).
	RentalsEvery uint64

	BlockPoll            time.Duration // how often the best block is read
	MinAxonVersion       uint32
	PermitStakeTAO       float64 // miners at or above are validators, not challenged
	StatsWindow          time.Duration
	VersionKey           uint64
	PerformHardwareQuery bool // --validator.perform.hardware.query
	BlacklistHotkeys     []string
	BlacklistColdkeys    []string
	MetricsAddr          string

	// Proof of GPU (docs/proof-of-gpu.md).
	PoG           bool   // --validator.pog: prove the GPUs miners claim
	PoGEvery      uint64 // --validator.pog.every: blocks between two proofs of a miner
	PoGDelayMax   uint64 // --validator.pog.delay: a miner's first proof waits a random 0..this many blocks
	PoGConcurrent int    // --validator.pog.concurrent: proofs at once
	PoGTimeline   int64  // --validator.pog.timeline: minutes of the test allocation
	PoGBinary     string // --validator.pog.binary: the prover copied into containers ("" = this executable)
	PoGModels     string // --validator.pog.models: a model table file ("" = the built-in one)
	PoGTestModels bool   // --validator.pog.test-models: also the test-only entries (PoCL CPU: devnet, tests)
	// FeedAddr serves the signed verdict feed, GET /v1/verdicts
	// (--validator.feed.addr; "" = off).
	FeedAddr string
}

// DefaultConfig returns v1.5.1's schedule and limits.
func DefaultConfig() Config {
	return Config{
		NetUID:            27,
		Scoring:           "v1.5",
		DifficultyMin:     7,
		DifficultyMax:     12,
		AlphabetSize:      10,
		PowTimeout:        30 * time.Second,
		BatchSize:         256,
		ChallengeEveryMin: 50,
		ChallengeEveryMax: 80,
		SpecsEvery:        150,
		SyncEvery:         25,
		WeightsEvery:      100,
		RentalsEvery:      10,
		BlockPoll:         2 * time.Second,
		MinAxonVersion:    protocol.SN27VersionInt,
		PermitStakeTAO:    1024,
		StatsWindow:       12 * time.Hour,
		VersionKey:        protocol.SN27VersionInt,
		// The reference's v1.5 validators read specs from wandb; ours ask
		// the miners directly.
		PerformHardwareQuery: true,
		// SN27 2.1 proves each miner once per 360-block epoch.
		PoG:           true,
		PoGEvery:      360,
		PoGDelayMax:   360,
		PoGConcurrent: 2,
		PoGTimeline:   10,
	}
}
