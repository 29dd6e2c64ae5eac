package scoring

import (
	"math"
	"slices"
	"testing"
)

func TestNormalize(t *testing.T) {
	tests := []struct {
		name   string
		scores []float64
		want   []float64
	}{
		{"nil", nil, []float64{}},
		{"all zero", []float64{0, 0, 0}, []float64{0, 0, 0}},
		{"all negative", []float64{-1, -2}, []float64{0, 0}},
		{"single", []float64{0.3}, []float64{1}},
		// 1 + 3 = 4 → 1/4, 3/4.
		{"two", []float64{1, 3}, []float64{0.25, 0.75}},
		// Negatives become 0 before summing: 2 + 6 = 8.
		{"negative dropped", []float64{2, -5, 6, 0}, []float64{0.25, 0, 0.75, 0}},
		{"non-finite dropped", []float64{math.NaN(), 1, math.Inf(1), math.Inf(-1), 1}, []float64{0, 0.5, 0, 0, 0.5}},
		// The sum overflows float64 without scaling.
		{"huge", []float64{math.MaxFloat64, math.MaxFloat64}, []float64{0.5, 0.5}},
		// The reference's 1e-12 floor would leave these at 2.5e-13 each.
		{"tiny", []float64{5e-13, 5e-13}, []float64{0.5, 0.5}},
		{"subnormal", []float64{5e-324, 5e-324}, []float64{0.5, 0.5}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := slices.Clone(tt.scores)
			got := Normalize(in)
			if !slices.Equal(got, tt.want) {
				t.Errorf("Normalize(%v) = %v; want %v", tt.scores, got, tt.want)
			}
			if !slices.EqualFunc(in, tt.scores, func(a, b float64) bool { return a == b || math.IsNaN(a) && math.IsNaN(b) }) {
				t.Errorf("Normalize modified its input: %v", in)
			}
		})
	}
}
