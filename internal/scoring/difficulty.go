package scoring

import "math"

// DifficultyHistory is what [NextDifficulty] needs to know about a miner.
type DifficultyHistory struct {
	// Successes counts the successful challenges of the last 12 hours.
	Successes int
	// FailedLast20 counts the failures among the last 20 challenges.
	FailedLast20 int
	// AvgDifficultyLast20Successes is the mean difficulty of the last 20
	// successful challenges.
	AvgDifficultyLast20Successes float64
}

// minSuccessesToAdapt is the number of successes a miner needs before its
// difficulty leaves the minimum.
const minSuccessesToAdapt = 5

// NextDifficulty returns the difficulty of a miner's next challenge, in
// [minDifficulty, maxDifficulty], with the v1.5.1 rule (neurons/validator.py
// calc_difficulty):
//
//   - with 4 successes or fewer, minDifficulty;
//   - otherwise, from base = ceil(AvgDifficultyLast20Successes) and the
//     failure rate FailedLast20/20: below 0.1 (0–1 failures) base+2, below
//     0.2 (2–3) base+1, above 0.25 (6 or more) base−1, else (4–5) base.
//
// The failure rate is compared as a count of failures, avoiding the
// floating-point edges at 2/20 and 4/20. The result is clamped to the range
// after the step. The reference clamps the same way except in one case: when
// the average already exceeds the maximum (it was lowered between releases)
// and the step is 0 or −1, it returns more than the maximum; this function
// does not. A NaN average counts as minDifficulty. If maxDifficulty is below
// minDifficulty, minDifficulty is returned.
func NextDifficulty(minDifficulty, maxDifficulty int, h DifficultyHistory) int {
	lo, hi := minDifficulty, max(maxDifficulty, minDifficulty)
	if h.Successes < minSuccessesToAdapt || math.IsNaN(h.AvgDifficultyLast20Successes) {
		return lo
	}
	// Bound the average before converting it, so that huge or infinite
	// values cannot overflow; a margin of 3 keeps every clamped result
	// equal to the unbounded one, since a step moves by at most 2.
	avg := clamp(h.AvgDifficultyLast20Successes, float64(lo)-3, float64(hi)+3)
	base := int(math.Ceil(avg))

	failed := clampInt(h.FailedLast20, 0, Window)
	next := base
	switch {
	case failed < 2: // failure rate < 0.1
		next = base + 2
	case failed < 4: // failure rate < 0.2
		next = base + 1
	case failed > 5: // failure rate > 0.25
		next = base - 1
	}
	return clampInt(next, lo, hi)
}
