package pow

import (
	"context"
	"strings"
	"testing"
)

// unsolvable returns a target with a digest no candidate of the mask has, so
// a search runs through its whole budget.
func unsolvable(tb testing.TB, difficulty int) *Target {
	tb.Helper()
	c := Challenge{
		Hash: HashString("not in keyspace", "0011223344556677"), Salt: "0011223344556677",
		Mode: Mode, Chars: "abcdefghij", Mask: strings.Repeat("?1", difficulty),
	}
	tg, err := Parse(c, Limits{})
	if err != nil {
		tb.Fatal(err)
	}
	return tg
}

// BenchmarkKernel measures one core per kernel: one op is one candidate.
func BenchmarkKernel(b *testing.B) {
	for _, kern := range kernels(b) {
		b.Run(string(kern), func(b *testing.B) { benchKernel(b, kern) })
	}
}

func benchKernel(b *testing.B, kern Kernel) {
	sc := newScanner(unsolvable(b, 8), kern)
	const chunk = 1 << 12
	var idx uint64
	n := 0
	for b.Loop() {
		if n%chunk == 0 {
			sc.scan(idx, chunk)
			idx += chunk
		}
		n++
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "hashes/s")
}

// BenchmarkSolve measures the whole solver on all cores: one op is a search
// of 2^22 candidates.
func BenchmarkSolve(b *testing.B) {
	tg := unsolvable(b, 7) // 10^7 candidates
	const limit = 1 << 22
	var tried uint64
	s := &Solver{}
	for b.Loop() {
		ctx, cancel := context.WithCancel(context.Background())
		res, _ := s.solveRange(ctx, tg, 0, limit)
		cancel()
		tried += res.Tried
	}
	b.ReportMetric(float64(tried)/b.Elapsed().Seconds(), "hashes/s")
}
