package scoring

import (
	"math"
	"testing"
)

func TestNextDifficulty(t *testing.T) {
	const lo, hi = 7, 12
	tests := []struct {
		name string
		h    DifficultyHistory
		want int
	}{
		{"new miner", DifficultyHistory{}, 7},
		// Up to 4 successes the reference stays at the minimum, whatever
		// the average.
		{"4 successes", DifficultyHistory{Successes: 4, AvgDifficultyLast20Successes: 10}, 7},
		// ceil(9.2) = 10; 0 failures → rate 0 < 0.1 → +2 = 12.
		{"no failure +2", DifficultyHistory{Successes: 5, AvgDifficultyLast20Successes: 9.2}, 12},
		// 1/20 = 0.05 < 0.1 → +2: 8 + 2 = 10.
		{"1 failure +2", DifficultyHistory{Successes: 20, FailedLast20: 1, AvgDifficultyLast20Successes: 8}, 10},
		// 2/20 = 0.1, not < 0.1 but < 0.2 → +1: 8 + 1 = 9.
		{"2 failures +1", DifficultyHistory{Successes: 20, FailedLast20: 2, AvgDifficultyLast20Successes: 8}, 9},
		// 3/20 = 0.15 < 0.2 → +1.
		{"3 failures +1", DifficultyHistory{Successes: 20, FailedLast20: 3, AvgDifficultyLast20Successes: 8}, 9},
		// 4/20 = 0.2 and 5/20 = 0.25: neither < 0.2 nor > 0.25 → keep.
		{"4 failures keep", DifficultyHistory{Successes: 20, FailedLast20: 4, AvgDifficultyLast20Successes: 8}, 8},
		{"5 failures keep", DifficultyHistory{Successes: 20, FailedLast20: 5, AvgDifficultyLast20Successes: 8}, 8},
		// 6/20 = 0.3 > 0.25 → −1: 8 − 1 = 7.
		{"6 failures -1", DifficultyHistory{Successes: 20, FailedLast20: 6, AvgDifficultyLast20Successes: 8}, 7},
		// ceil(7.1) = 8; 15 failures → −1 = 7.
		{"ceil before step", DifficultyHistory{Successes: 20, FailedLast20: 15, AvgDifficultyLast20Successes: 7.1}, 7},
		// 7 − 1 = 6, clamped up to 7.
		{"clamped to min", DifficultyHistory{Successes: 20, FailedLast20: 10, AvgDifficultyLast20Successes: 7}, 7},
		// ceil(11.5) = 12 + 2 = 14, clamped down to 12.
		{"clamped to max", DifficultyHistory{Successes: 20, AvgDifficultyLast20Successes: 11.5}, 12},
		// History from an era with a lower minimum: 6 + 2 = 8, as in the
		// reference (the step applies to the old average).
		{"average below min", DifficultyHistory{Successes: 20, AvgDifficultyLast20Successes: 6}, 8},
		// History above the maximum: 15 − 1 = 14, clamped to 12 (the
		// reference would return 14).
		{"average above max", DifficultyHistory{Successes: 20, FailedLast20: 10, AvgDifficultyLast20Successes: 15}, 12},
		{"NaN average", DifficultyHistory{Successes: 20, AvgDifficultyLast20Successes: math.NaN()}, 7},
		{"infinite average", DifficultyHistory{Successes: 20, FailedLast20: 10, AvgDifficultyLast20Successes: math.Inf(1)}, 12},
		{"negative infinite average", DifficultyHistory{Successes: 20, AvgDifficultyLast20Successes: math.Inf(-1)}, 7},
		// Failure counts beyond the window count as 20 → −1.
		{"failures beyond window", DifficultyHistory{Successes: 20, FailedLast20: 99, AvgDifficultyLast20Successes: 10}, 9},
		{"negative failures count as 0", DifficultyHistory{Successes: 20, FailedLast20: -3, AvgDifficultyLast20Successes: 8}, 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := NextDifficulty(lo, hi, tt.h); got != tt.want {
				t.Errorf("NextDifficulty(%d, %d, %+v) = %d; want %d", lo, hi, tt.h, got, tt.want)
			}
		})
	}
}

func TestNextDifficultyInvertedBounds(t *testing.T) {
	h := DifficultyHistory{Successes: 20, AvgDifficultyLast20Successes: 10}
	if got := NextDifficulty(9, 5, h); got != 9 {
		t.Errorf("NextDifficulty(9, 5, %+v) = %d; want 9", h, got)
	}
}
