package scoring

// Percent returns a as a percentage of b, a/b*100, and 0 when b is 0
// (compute/utils/math.py percent).
func Percent(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b * 100
}

// PercentYield returns how much of b is left after a, as a percentage of b:
// (b-a)/b*100. It returns 100 when a is 0, whatever b is, and 0 when b is 0
// and a is not (compute/utils/math.py percent_yield; the reference raises
// ZeroDivisionError in that last case, which makes its caller score 0).
// The result is negative when a exceeds b.
func PercentYield(a, b float64) float64 {
	if a == 0 {
		return 100
	}
	if b == 0 {
		return 0
	}
	return (b - a) / b * 100
}

// clamp limits v to [lo, hi]; NaN becomes lo.
func clamp(v, lo, hi float64) float64 {
	switch {
	case !(v >= lo): // also catches NaN
		return lo
	case v > hi:
		return hi
	}
	return v
}

// clampInt limits v to [lo, hi].
func clampInt(v, lo, hi int) int {
	return max(lo, min(v, hi))
}
