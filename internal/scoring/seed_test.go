package scoring

import (
	"math"
	"testing"
)

func TestSeedScore(t *testing.T) {
	p := DefaultSeedParams()
	noBonus := p
	noBonus.AllocationBonus = 0
	tests := []struct {
		name      string
		p         SeedParams
		success   bool
		elapsed   float64
		diff      int
		allocated bool
		want      float64
	}{
		// The guide's second example, exact to the last bit:
		// 6*(1+8^4) + 0.75*8 + 0.25*(1/17*10000) + 100
		// = 24582 + 6 + 147.0588235294... + 100 = 24835.0588235294...
		// / 1e5 * 100 = 24.835058823529412.
		{"guide example 2", p, true, 16, 8, true, 24.835058823529412},
		// The guide's first example (elapsed 4 s, difficulty 6, allocated)
		// prints 8.2865, but that is the score WITHOUT the allocation bonus:
		// 6*(1+6^4) + 0.75*6 + 0.25*(1/5*10000) = 7782 + 4.5 + 500 = 8286.5,
		// plus the bonus 100 = 8386.5, / 1e5 * 100 = 8.3865. The guide is
		// inconsistent with its own formula; we keep the formula.
		{"guide example 1 with bonus", p, true, 4, 6, true, 8.3865},
		{"guide example 1 without bonus (as printed)", noBonus, true, 4, 6, true, 8.2865},
		{"guide example 1 not allocated", p, true, 4, 6, false, 8.2865},
		{"failure scores 0", p, false, 4, 6, true, 0},
		// Difficulty above the maximum counts as 8:
		// 24582 + 6 + 0.25*(1/2*10000) = 24588 + 1250 = 25838 → 25.838.
		{"difficulty capped", p, true, 1, 12, false, 25.838},
		// Negative elapsed counts as 0: 24582 + 6 + 2500 = 27088 → 27.088.
		{"negative elapsed", p, true, -3, 8, false, 27.088},
		// Never-ending challenge: time term 0: 24582 + 6 → 24.588.
		{"infinite elapsed", p, true, math.Inf(1), 8, false, 24.588},
		// Negative difficulty counts as 0: 6*(1+0) + 0 + 0.25*10000 = 2506.
		{"negative difficulty", p, true, 0, -4, false, 2.506},
		// Cap: a lower cap binds.
		{"capped", SeedParams{MaxDifficulty: 8, MaxScore: 1e5, Cap: 20, AllocationBonus: 100}, true, 16, 8, true, 20},
		{"NaN elapsed", p, true, math.NaN(), 8, true, 0},
		{"zero max score", SeedParams{MaxDifficulty: 8, Cap: 50}, true, 16, 8, true, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := SeedScore(tt.p, tt.success, tt.elapsed, tt.diff, tt.allocated)
			if math.Abs(got-tt.want) > 1e-12 {
				t.Errorf("SeedScore = %.17g; want %.17g", got, tt.want)
			}
		})
	}
}

// TestSeedScoreGuideExact checks the guide's second example bit for bit,
// which requires the reference's order of operations and MaxDifficulty >= 8.
func TestSeedScoreGuideExact(t *testing.T) {
	if got, want := SeedScore(DefaultSeedParams(), true, 16, 8, true), 24.835058823529412; got != want {
		t.Errorf("SeedScore = %.17g; want %.17g", got, want)
	}
	if got := DefaultSeedParams(); got != (SeedParams{MaxDifficulty: 8, MaxScore: 1e5, Cap: 50, AllocationBonus: 100}) {
		t.Errorf("DefaultSeedParams = %+v", got)
	}
}
