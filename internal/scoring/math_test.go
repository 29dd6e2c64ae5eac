package scoring

import "testing"

func TestPercent(t *testing.T) {
	tests := []struct {
		name       string
		a, b, want float64
	}{
		{"half", 1, 2, 50},
		{"whole", 20, 20, 100},
		{"zero denominator", 5, 0, 0},
		{"zero numerator", 0, 7, 0},
		{"over", 3, 2, 150},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Percent(tt.a, tt.b); got != tt.want {
				t.Errorf("Percent(%v, %v) = %v; want %v", tt.a, tt.b, got, tt.want)
			}
		})
	}
}

func TestPercentYield(t *testing.T) {
	tests := []struct {
		name       string
		a, b, want float64
	}{
		{"a zero", 0, 30, 100},
		{"a zero b zero", 0, 0, 100},
		{"b zero", 5, 0, 0},
		{"fifth used", 6, 30, 80}, // (30-6)/30*100
		{"all used", 30, 30, 0},   // (30-30)/30*100
		{"overrun", 60, 30, -100}, // (30-60)/30*100
		{"half used", 15, 30, 50}, // (30-15)/30*100
		{"negative a", -15, 30, 150},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := PercentYield(tt.a, tt.b); got != tt.want {
				t.Errorf("PercentYield(%v, %v) = %v; want %v", tt.a, tt.b, got, tt.want)
			}
		})
	}
}
