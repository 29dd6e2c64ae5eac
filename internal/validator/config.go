package validator

import (
	"time"

	"github.com/sn27/sn27/internal/chain"
	"github.com/sn27/sn27/internal/protocol"
)

// Config is the validator's configuration; flag names in comments.
type Config struct {
	NetUID  chain.NetUID // --netuid
	Scoring string       // --validator.scoring: v1.5 (default) or seed

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
	}
}
