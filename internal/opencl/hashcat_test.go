package opencl

import (
	"context"
	"errors"
	"math/rand/v2"
	"os/exec"
	"testing"
	"time"

	"github.com/sn27/sn27/internal/hashcat"
	"github.com/sn27/sn27/internal/pow"
)

// TestAgreesWithHashcat: the real hashcat finds the same passwords, and a
// --skip/--limit slice of hashcat's base words holds the password exactly
// when the same candidates of hashcat.Ordered(t) do for the OpenCL solver.
func TestAgreesWithHashcat(t *testing.T) {
	s := testSolver(t)
	if _, err := exec.LookPath("hashcat"); err != nil {
		t.Fatalf("hashcat not installed (make test installs it): %v", err)
	}
	r, err := hashcat.New(hashcat.Config{Path: "hashcat", WorkloadProfile: 3, ExtendedOptions: "-O"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	rnd := rand.NewChaCha8([32]byte{42})
	c, pw, err := pow.New(rnd, pow.Params{Difficulty: 7, AlphabetSize: 10})
	if err != nil {
		t.Fatal(err)
	}
	tg, _ := pow.Parse(c, pow.Limits{})
	got, err := s.Solve(ctx, tg)
	if err != nil || got.Password != pw {
		t.Fatalf("opencl: got %q, %v; want %q", got.Password, err, pw)
	}
	hc, err := r.Solve(ctx, c)
	if err != nil || hc != pw {
		t.Fatalf("hashcat: got %q, %v; want %q", hc, err, pw)
	}

	// Slices: the base word holding the password, and the words before it.
	o := hashcat.Ordered(tg)
	total, _ := o.Keyspace()
	bfs := total / hashcat.PredictKeyspace(o)
	word := indexOf(o, pw) / bfs
	for _, sl := range []struct{ skip, limit uint64 }{{word, 1}, {word - min(word, 5), min(word, 5)}} {
		if sl.limit == 0 {
			continue
		}
		hpw, herr := r.SolveSlice(ctx, c, sl.skip, sl.limit)
		res, oerr := s.SolveRange(ctx, o, sl.skip*bfs, (sl.skip+sl.limit)*bfs)
		if hpw != res.Password || (herr == nil) != (oerr == nil) {
			t.Errorf("slice skip %d limit %d: hashcat %q, %v; opencl %q, %v", sl.skip, sl.limit, hpw, herr, res.Password, oerr)
		}
		if oerr != nil && !errors.Is(oerr, pow.ErrExhausted) {
			t.Errorf("slice skip %d limit %d: opencl %v", sl.skip, sl.limit, oerr)
		}
	}
}
