package scoring

import (
	"math"
	"testing"
)

// maxScore of the default parameters: 100*(1+1+0.3) + 100*0.21 = 230 + 21 =
// 251 (250.99999999999997 in float64, as in the reference).

// typical is a healthy miner: 9 of 10 challenges solved, 1 failure in the
// last 20, average difficulty 10, 6 s per solve, Docker present.
var typical = Stats{Attempts: 10, Successes: 9, AvgDifficultyLast20: 10, AvgElapsedSeconds: 6, FailedLast20: 1, HasDocker: true}

func with(s Stats, f func(*Stats)) Stats {
	f(&s)
	return s
}

func TestV15Score(t *testing.T) {
	p := DefaultV15Params()
	tests := []struct {
		name string
		s    Stats
		want float64
	}{
		// difficulty 10/12*100 = 83.333…; success 9/10*100 = 90;
		// time (30-6)/30*100*0.3 = 24; penalty 0.4*(1/20)^1.5*100 = 0.44721…;
		// 83.333… + 90 + 24 - 0.44721… = 196.88612 → /251 = 0.78440685.
		{"typical", typical, 0.784406851545153},
		// Same without Docker: 196.88612/2 = 98.44306 → /251 = 0.39220343.
		{"no docker halves", with(typical, func(s *Stats) { s.HasDocker = false }), 0.3922034257725765},
		// Allocated: 230*(1-0.21) + 83.333…*0.21 = 181.7 + 17.5 = 199.2
		// → /251 = 0.79362550.
		{"allocated", with(typical, func(s *Stats) { s.Allocated = true }), 0.7936254980079682},
		// Allocated with no history: difficulty clamped up to 7 → 58.333…;
		// 181.7 + 58.333…*0.21 = 181.7 + 12.25 = 193.95 → /251 = 0.77270916.
		// Neither the zero rule nor the Docker halving applies.
		{"allocated without history", Stats{Allocated: true}, 0.7727091633466135},
		// Perfect: 100 + 100 + 100*0.3 - 0 = 230 → /251 = 0.91633466.
		{"perfect", Stats{Attempts: 20, Successes: 20, AvgDifficultyLast20: 12, FailedLast20: 0, HasDocker: true}, 0.9163346613545817},
		// Difficulty above the maximum counts as 12 (same as perfect).
		{"difficulty clamped to max", Stats{Attempts: 20, Successes: 20, AvgDifficultyLast20: 40, HasDocker: true}, 0.9163346613545817},
		// 2/20 successes, difficulty 7 → 58.333…, success 10, time 0 (at the
		// timeout), penalty 0.4*(18/20)^1.5*100 = 34.15260; 58.333 + 10 + 0 -
		// 34.15260 = 34.18073 → /251 = 0.13617823.
		{"many failures", Stats{Attempts: 20, Successes: 2, AvgDifficultyLast20: 7, AvgElapsedSeconds: 30, FailedLast20: 18, HasDocker: true}, 0.13617822551201134},
		// difficulty 20 → 12 → 100; success 50; time (30-3)/30*100*0.3 = 27;
		// penalty 0.4*(10/20)^1.5*100 = 14.14214; 100+50+27-14.14214 =
		// 162.85786 → /251 = 0.64883611.
		{"half failed", Stats{Attempts: 20, Successes: 10, AvgDifficultyLast20: 20, AvgElapsedSeconds: 3, FailedLast20: 10, HasDocker: true}, 0.6488361130528648},
		// A time average beyond the timeout makes the time term negative:
		// difficulty 66.667 + success 50 + (30-300)/30*100*0.3 = -270, minus
		// penalty 0.4*(5/20)^1.5*100 = 5 → -158.33 → clamped to 0.
		{"negative clamps to 0", Stats{Attempts: 10, Successes: 5, AvgDifficultyLast20: 8, AvgElapsedSeconds: 300, FailedLast20: 5, HasDocker: true}, 0},
		{"19 failures of 20", with(typical, func(s *Stats) { s.FailedLast20 = 19 }), 0},
		{"20 failures of 20", with(typical, func(s *Stats) { s.FailedLast20 = 20 }), 0},
		{"no success", with(typical, func(s *Stats) { s.Successes = 0 }), 0},
		// 19 failures do not zero an allocated miner: 199.2/251 as above.
		{"allocated with 19 failures", with(typical, func(s *Stats) { s.Allocated = true; s.FailedLast20 = 19 }), 0.7936254980079682},
		// A quarter of validators penalise: × (1 - 0.25*2) = × 0.5:
		// 196.88612*0.5 = 98.44306 → 0.39220343.
		{"penalised by a quarter", with(typical, func(s *Stats) { s.PenalisedShare = 0.25 }), 0.3922034257725765},
		{"penalised by half", with(typical, func(s *Stats) { s.PenalisedShare = 0.5 }), 0},
		{"penalised by all", with(typical, func(s *Stats) { s.PenalisedShare = 1 }), 0},
		// Penalties apply to allocated miners too: 199.2*0.5 = 99.6 → /251.
		{"allocated and penalised", with(typical, func(s *Stats) { s.Allocated = true; s.PenalisedShare = 0.25 }), 99.6 / 250.99999999999997},
		// Out-of-range inputs are clamped.
		{"NaN share counts as 0", with(typical, func(s *Stats) { s.PenalisedShare = math.NaN() }), 0.784406851545153},
		{"negative share counts as 0", with(typical, func(s *Stats) { s.PenalisedShare = -1 }), 0.784406851545153},
		// Successes > Attempts counts as 10/10: 83.333 + 100 + 24 - 0.44721 = 206.88612.
		{"successes above attempts", with(typical, func(s *Stats) { s.Successes = 50 }), 206.88611973783338 / 250.99999999999997},
		// Negative elapsed counts as 0, i.e. full time term 30:
		// 83.333 + 90 + 30 - 0.44721 = 202.88612.
		{"negative elapsed", with(typical, func(s *Stats) { s.AvgElapsedSeconds = -5 }), 202.88611973783338 / 250.99999999999997},
		{"NaN difficulty counts as min", with(typical, func(s *Stats) { s.AvgDifficultyLast20 = math.NaN(); s.Allocated = true }), 0.7727091633466135},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := V15Score(p, tt.s)
			if math.Abs(got-tt.want) > 1e-12 {
				t.Errorf("V15Score(%+v) = %.17g; want %.17g", tt.s, got, tt.want)
			}
		})
	}
}

func TestV15ScoreZeroWeights(t *testing.T) {
	if got := V15Score(V15Params{MinDifficulty: 7, MaxDifficulty: 12, PowTimeout: 30}, typical); got != 0 {
		t.Errorf("V15Score with zero weights = %v; want 0", got)
	}
}

func TestMaxV15Score(t *testing.T) {
	if got := MaxV15Score(DefaultV15Params()); math.Abs(got-251) > 1e-9 {
		t.Errorf("MaxV15Score = %v; want 251", got)
	}
}
