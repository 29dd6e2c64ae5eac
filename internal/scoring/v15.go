package scoring

import "math"

// Fixed terms of the v1.5.1 formula.
const (
	// Window is the number of most recent challenges that FailedLast20 and
	// AvgDifficultyLast20 are computed over.
	Window = 20
	// failedPenaltyExp makes the failure penalty grow faster than linearly.
	failedPenaltyExp = 1.5
	// maxFailedLast20 is the failure count from which an unallocated miner
	// scores 0.
	maxFailedLast20 = 19
)

// Stats summarise a miner's recent challenges, as the v1.5.1 validator
// reads them from its challenge_details table.
type Stats struct {
	// Attempts and Successes count the challenges of the last 12 hours.
	Attempts, Successes int
	// AvgDifficultyLast20 is the mean difficulty of the last 20 successful
	// challenges (0 if none).
	AvgDifficultyLast20 float64
	// AvgElapsedSeconds is the mean solve time of the successful challenges
	// of the last 12 hours (0 if none).
	AvgElapsedSeconds float64
	// FailedLast20 counts the failures among the last 20 challenges.
	FailedLast20 int
	// Allocated is true while the miner is rented out.
	Allocated bool
	// HasDocker is the has_docker field of the miner's specs report.
	HasDocker bool
	// PenalisedShare is the share (0..1) of permitted validators that
	// penalised this hotkey.
	PenalisedShare float64
}

// V15Params are the constants of the v1.5.1 formula.
type V15Params struct {
	// MinDifficulty and MaxDifficulty bound the rewarded difficulty.
	MinDifficulty, MaxDifficulty int
	// PowTimeout is the challenge timeout in seconds; solving in no time
	// earns the whole time term, solving at the timeout none of it.
	PowTimeout float64
	// Weights of the terms, each term being worth up to 100 points times its
	// weight.
	WSuccess, WDifficulty, WTime, WFailedPenalty, WAllocation float64
}

// DefaultV15Params returns the constants of reference v1.5.1
// (compute/__init__.py: pow_min_difficulty 7, pow_max_difficulty 12,
// pow_timeout 30; neurons/Validator/calculate_pow_score.py: weights success
// 1, difficulty 1, time 0.3, failed penalty 0.4, allocation 0.21).
func DefaultV15Params() V15Params {
	return V15Params{
		MinDifficulty:  7,
		MaxDifficulty:  12,
		PowTimeout:     30,
		WSuccess:       1,
		WDifficulty:    1,
		WTime:          0.3,
		WFailedPenalty: 0.4,
		WAllocation:    0.21,
	}
}

// MaxV15Score returns the raw score that [V15Score] divides by:
// 100*(WSuccess+WDifficulty+WTime) + 100*WAllocation (251 by default).
func MaxV15Score(p V15Params) float64 {
	return maxChallengeScore(p) + 100*p.WAllocation
}

func maxChallengeScore(p V15Params) float64 {
	return 100 * (p.WSuccess + p.WDifficulty + p.WTime)
}

// V15Score scores a miner with the v1.5.1 formula and returns a value in
// [0, 1]: the raw score divided by [MaxV15Score] (so, with the default
// parameters, at most 230/251 ≈ 0.916 for a miner that is not allocated and
// 202.7/251 ≈ 0.808 for one that is).
//
//	difficulty = Percent(clamp(AvgDifficultyLast20, Min, Max), Max)  (0..100)
//	success    = Percent(Successes, Attempts)                        (0..100)
//	time       = PercentYield(AvgElapsedSeconds, PowTimeout)         (..100)
//	penalty    = 100 * (FailedLast20/20)^1.5                         (0..100)
//
//	not allocated: WDifficulty*difficulty + WSuccess*success + WTime*time
//	               - WFailedPenalty*penalty, halved without docker;
//	               0 if FailedLast20 >= 19 or Successes == 0
//	allocated:     100*(WSuccess+WDifficulty+WTime)*(1-WAllocation)
//	               + WAllocation*difficulty
//
// Then, for a hotkey penalised by a share s of the validators, the score is
// multiplied by 1-2s (0 once half of them penalise it), and negative scores
// become 0.
//
// Invalid statistics are clamped rather than rejected: counts below 0 count
// as 0, Successes above Attempts as Attempts, FailedLast20 above 20 as 20,
// a negative or NaN AvgElapsedSeconds as 0, a NaN PenalisedShare as 0. The
// result is never NaN; it is 0 if MaxV15Score(p) is not positive.
func V15Score(p V15Params, s Stats) float64 {
	maxScore := MaxV15Score(p)
	if !(maxScore > 0) {
		return 0
	}
	attempts := max(s.Attempts, 0)
	successes := clampInt(s.Successes, 0, attempts)
	failed := clampInt(s.FailedLast20, 0, Window)

	if !s.Allocated && (failed >= maxFailedLast20 || successes == 0) {
		return 0
	}

	minD, maxD := float64(p.MinDifficulty), float64(p.MaxDifficulty)
	difficultyModifier := Percent(clamp(s.AvgDifficultyLast20, minD, max(minD, maxD)), maxD)

	var score float64
	if s.Allocated {
		// float64() rounds each product as Python does and prevents fused
		// multiply-adds, keeping results bit-identical to the reference.
		score = float64(maxChallengeScore(p)*(1-p.WAllocation)) + float64(difficultyModifier*p.WAllocation)
	} else {
		difficulty := float64(difficultyModifier * p.WDifficulty)
		success := float64(Percent(float64(successes), float64(attempts)) * p.WSuccess)
		elapsed := clamp(s.AvgElapsedSeconds, 0, math.MaxFloat64)
		timeTerm := float64(PercentYield(elapsed, p.PowTimeout) * p.WTime)
		failedRatio := Percent(float64(failed), Window) / 100
		penalty := float64(p.WFailedPenalty * math.Pow(failedRatio, failedPenaltyExp) * 100)
		score = difficulty + success + timeTerm - penalty
		if !s.HasDocker {
			score /= 2
		}
	}

	share := clamp(s.PenalisedShare, 0, 1)
	if share > 0 {
		// The reference compares the number of penalising validators with
		// half of all validators: count >= n/2 → 0, else × (1 - count/(n/2)).
		score *= max(1-2*share, 0)
	}

	normalised := score / maxScore
	if math.IsNaN(normalised) {
		return 0
	}
	return clamp(normalised, 0, 1)
}
