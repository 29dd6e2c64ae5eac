package scoring

import (
	"math"
	"testing"
)

func FuzzV15Score(f *testing.F) {
	f.Add(10, 9, 10.0, 6.0, 1, false, true, 0.0)
	f.Add(0, 0, 0.0, 0.0, 0, true, false, 0.0)
	f.Add(20, 2, 7.0, 30.0, 18, false, true, 0.25)
	f.Add(-5, 50, 1e308, -1e308, 99, false, false, 2.0)
	f.Add(10, 5, 8.0, 1e308, 5, false, true, 0.1)
	f.Fuzz(func(t *testing.T, attempts, successes int, avgDiff, avgElapsed float64, failed int, allocated, docker bool, share float64) {
		s := Stats{
			Attempts: attempts, Successes: successes,
			AvgDifficultyLast20: avgDiff, AvgElapsedSeconds: avgElapsed,
			FailedLast20: failed, Allocated: allocated, HasDocker: docker,
			PenalisedShare: share,
		}
		got := V15Score(DefaultV15Params(), s)
		if math.IsNaN(got) || got < 0 || got > 1 {
			t.Fatalf("V15Score(%+v) = %v; want a number in [0, 1]", s, got)
		}
		if !allocated && (successes <= 0 || failed >= 19) && got != 0 {
			t.Fatalf("V15Score(%+v) = %v; want 0", s, got)
		}
		h := DifficultyHistory{Successes: successes, FailedLast20: failed, AvgDifficultyLast20Successes: avgDiff}
		if d := NextDifficulty(7, 12, h); d < 7 || d > 12 {
			t.Fatalf("NextDifficulty(7, 12, %+v) = %d; want 7..12", h, d)
		}
	})
}

func FuzzNormalize(f *testing.F) {
	f.Add(1.0, 3.0, 0.0, -2.0)
	f.Add(0.0, 0.0, 0.0, 0.0)
	f.Add(math.MaxFloat64, math.MaxFloat64, math.MaxFloat64, 1.0)
	f.Add(5e-324, 0.0, 1e-300, -1e308)
	f.Fuzz(func(t *testing.T, a, b, c, d float64) {
		in := []float64{a, b, c, d}
		w := Normalize(in)
		if len(w) != len(in) {
			t.Fatalf("Normalize(%v) has %d weights; want %d", in, len(w), len(in))
		}
		var sum float64
		positive := false
		for i, x := range w {
			if math.IsNaN(x) || x < 0 || x > 1 {
				t.Fatalf("Normalize(%v)[%d] = %v; want a number in [0, 1]", in, i, x)
			}
			if !(in[i] > 0) && x != 0 {
				t.Fatalf("Normalize(%v)[%d] = %v; want 0 for a non-positive score", in, i, x)
			}
			if in[i] > 0 && !math.IsInf(in[i], 1) {
				positive = true
			}
			sum += x
		}
		if positive && math.Abs(sum-1) > 1e-12 {
			t.Fatalf("Normalize(%v) sums to %v; want 1", in, sum)
		}
		if !positive && sum != 0 {
			t.Fatalf("Normalize(%v) sums to %v; want 0", in, sum)
		}
	})
}
