package store

import (
	"context"
	"fmt"
	"testing"
	"time"
)

const benchMiners = 256

func round(n int, at time.Time) []Challenge {
	cs := make([]Challenge, benchMiners)
	for m := range cs {
		cs[m] = Challenge{UID: uint16(m), Hotkey: fmt.Sprintf("5Hotkey%04d", m), Success: (m+n)%5 != 0,
			ElapsedSeconds: float64(m%60) + 0.5, Difficulty: 6 + (m+n)%4, CreatedAt: at}
	}
	return cs
}

// BenchmarkAddChallenges stores one challenge round of 256 miners per op,
// each in its own durable (synchronous=FULL) transaction.
func BenchmarkAddChallenges(b *testing.B) {
	ctx := context.Background()
	s := newTestStore(b)
	n := 0
	for b.Loop() {
		if err := s.AddChallenges(ctx, round(n, t0.Add(time.Duration(n)*time.Minute))); err != nil {
			b.Fatal(err)
		}
		n++
	}
	b.ReportMetric(float64(n*benchMiners)/b.Elapsed().Seconds(), "rows/s")
}

// BenchmarkAllStats computes the stats of 256 miners with 200 challenges
// each (51 200 rows).
func BenchmarkAllStats(b *testing.B) {
	ctx := context.Background()
	s := newTestStore(b)
	const rounds = 200
	for n := range rounds {
		// One round every 6 min: 20 h of history, so the 12 h window cuts it.
		if err := s.AddChallenges(ctx, round(n, t0.Add(-time.Duration(rounds-1-n)*6*time.Minute))); err != nil {
			b.Fatal(err)
		}
	}
	for b.Loop() {
		all, err := s.AllStats(ctx, 12*time.Hour, t0)
		if err != nil {
			b.Fatal(err)
		}
		if len(all) != benchMiners {
			b.Fatalf("AllStats has %d hotkeys; want %d", len(all), benchMiners)
		}
	}
}
