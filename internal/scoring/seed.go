package scoring

import "math"

// Fixed terms of the guide (v1.2) formula; only the parameters in
// [SeedParams] changed between releases of that era.
const (
	seedInitialReward  = 6     // difficulty_reward = 6 * (1 + d^4)
	seedDifficultyExp  = 4     // exponent of d in difficulty_reward
	seedDifficultyW    = 0.75  // weight of the linear difficulty term
	seedTimeW          = 0.25  // weight of the time modifier
	seedTimeNumerator  = 10000 // time_modifier = 1 / (1 + elapsed) * 10000
	seedPercentScaling = 100   // normalised = score / max_score * 100
)

// SeedParams are the constants of the guide (v1.2) formula.
type SeedParams struct {
	// MaxDifficulty caps the difficulty that is rewarded
	// (compute.pow_max_difficulty).
	MaxDifficulty int
	// MaxScore is the raw score that normalises to 100.
	MaxScore float64
	// Cap is the highest normalised score (compute.pow_max_possible_score).
	Cap float64
	// AllocationBonus is added to the raw score of an allocated miner
	// (the reference's "registration bonus").
	AllocationBonus float64
}

// DefaultSeedParams returns the constants of reference v1.2.0 (commit
// 33d3bdf, 2023-12-29, compute/__init__.py and
// neurons/Validator/calculate_pow_score.py): max difficulty 8, max score 1e5,
// cap 50, allocation bonus 100. With MaxDifficulty 8 the guide's second
// example is reproduced exactly.
func DefaultSeedParams() SeedParams {
	return SeedParams{MaxDifficulty: 8, MaxScore: 1e5, Cap: 50, AllocationBonus: 100}
}

// SeedScore scores one challenge with the guide (v1.2) formula:
//
//	d                 = min(difficulty, MaxDifficulty)
//	difficulty_reward = 6 * (1 + d^4)
//	time_modifier     = 1 / (1 + elapsedSeconds) * 10000
//	score             = difficulty_reward + 0.75*d + 0.25*time_modifier + bonus
//	normalised        = min(score / MaxScore * 100, Cap)
//
// where bonus is AllocationBonus for an allocated miner. A failed challenge
// scores 0. The operations are done in the reference's order so results are
// bit-identical to it.
//
// Where the reference has no defined behaviour, SeedScore is defensive: a
// negative difficulty counts as 0, a negative elapsed time (clock skew) as 0,
// a NaN elapsed time scores 0, and a MaxScore of 0 or less scores 0.
func SeedScore(p SeedParams, success bool, elapsedSeconds float64, difficulty int, allocated bool) float64 {
	if !success || math.IsNaN(elapsedSeconds) || !(p.MaxScore > 0) {
		return 0
	}
	d := float64(clampInt(difficulty, 0, max(p.MaxDifficulty, 0)))
	elapsed := max(elapsedSeconds, 0)

	difficultyReward := seedInitialReward * (1 + math.Pow(d, seedDifficultyExp)) // exact while d^4 < 2^53
	timeModifier := 1 / (1 + elapsed) * seedTimeNumerator
	bonus := 0.0
	if allocated {
		bonus = p.AllocationBonus
	}
	// The float64 conversions round each product, as Python does, and keep
	// the compiler from fusing multiply-adds (FMA) on arm64 and others.
	score := difficultyReward + float64(seedDifficultyW*d) + float64(seedTimeW*timeModifier) + bonus
	normalised := score / p.MaxScore * seedPercentScaling
	return min(normalised, p.Cap)
}
