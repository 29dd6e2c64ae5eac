package scoring

import "math"

// Normalize turns scores into weights for set_weights: negative scores
// become 0, then the scores are divided by their sum (L1 normalisation), so
// the weights add up to 1. If no score is positive, all weights are 0.
//
// NaN and infinite scores are treated as 0. Unlike the reference
// (torch.nn.functional.normalize, which divides by max(sum, 1e-12)), any
// positive total is normalised to 1, however small, and totals that would
// overflow float64 are handled by scaling by the largest score first.
// The result is a new slice of the same length.
func Normalize(scores []float64) []float64 {
	w := make([]float64, len(scores))
	var top float64
	for i, s := range scores {
		if s > 0 && !math.IsInf(s, 1) {
			w[i] = s
			top = max(top, s)
		}
	}
	if top == 0 {
		return w
	}
	var sum float64
	for i := range w {
		w[i] /= top // in [0, 1]; the sum is at most len(w)
		sum += w[i]
	}
	for i := range w {
		w[i] /= sum
	}
	return w
}
