package miner

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/sn27/sn27/internal/opencl"
	"github.com/sn27/sn27/internal/pow"
)

// poclSolver returns an OpenCL solver on this machine's first device (PoCL
// here); OpenCL tests run except under -short.
func poclSolver(t *testing.T) *opencl.Solver {
	t.Helper()
	if testing.Short() {
		t.Skip("builds an OpenCL kernel; skipped with -short")
	}
	if !opencl.BuiltIn {
		t.Skip("built without OpenCL (-tags noopencl)")
	}
	s, err := opencl.New(opencl.DefaultConfig())
	if err != nil {
		t.Fatalf("opencl (make test installs pocl-opencl-icd): %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestOpenCLSolverFallsBack: --miner.solver opencl answers with the kernel,
// hands challenges outside it to the native solver, and keeps answering
// after the device is gone.
func TestOpenCLSolverFallsBack(t *testing.T) {
	if testing.Short() {
		t.Skip("builds an OpenCL kernel; skipped with -short")
	}
	if !opencl.BuiltIn {
		t.Skip("built without OpenCL (-tags noopencl)")
	}
	var logs logBuffer
	cfg := DefaultConfig()
	cfg.Solver = "opencl"
	s, err := NewSolver(cfg, false, logs.logger())
	if err != nil {
		t.Fatal(err)
	}
	o, ok := s.(*OpenCLSolver)
	if !ok || s.Name() != "opencl" {
		t.Fatalf("NewSolver(opencl) = %#v; want an *OpenCLSolver (log: %s)", s, logs.String())
	}
	defer o.OpenCL.Close()
	ctx := context.Background()
	solve := func(c pow.Challenge, pw string) {
		t.Helper()
		ans, err := s.Solve(ctx, c)
		if err != nil || ans.Password != pw {
			t.Fatalf("Solve(%s) = %+v, %v; want %q", c.Mask, ans, err, pw)
		}
	}
	for d := 1; d <= 7; d++ {
		c, pw, err := pow.New(nil, pow.Params{Difficulty: d})
		if err != nil {
			t.Fatal(err)
		}
		solve(c, pw)
	}
	// Password and salt over 128 bytes: the native solver's.
	long := strings.Repeat("5a", 60)
	c, pw := pow.Challenge{Salt: long, Mode: pow.Mode, Chars: "xyz", Mask: "?1?1?1?1?1?1?1?1?1"}, "zyxxyzzyx"
	c.Hash = pow.HashString(pw, long)
	solve(c, pw)
	// The device is gone: the native solver answers, and says so once.
	o.OpenCL.Close()
	for range 2 {
		c, pw, _ := pow.New(nil, pow.Params{Difficulty: 4})
		solve(c, pw)
	}
	if n := strings.Count(logs.String(), "opencl solver failed"); n != 1 {
		t.Errorf("%d failure lines logged; want 1:\n%s", n, logs.String())
	}
}

// TestHybridSolverOpenCL: with an OpenCL device the hybrid solver splits
// each keyspace between the kernel (first part, hashcat's order) and the
// native solver, at any candidate.
func TestHybridSolverOpenCL(t *testing.T) {
	s := poclSolver(t)
	var logs logBuffer
	h := &HybridSolver{OpenCL: s, Native: &pow.Solver{}, NativeShare: 0.5, MinKeyspace: 1, Log: logs.logger()}
	const split = hyTotal / 2
	for _, tt := range []struct {
		name   string
		idx    uint64
		winner string
	}{
		{"opencl's first candidate", 0, "opencl"},
		{"opencl's last candidate", split - 1, "opencl"},
		{"native's first candidate", split, "native"},
		{"native's last candidate", hyTotal - 1, "native"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c, pw := hybridChallenge(t, hyChars, hyMask, tt.idx)
			before := strings.Count(logs.String(), " by="+tt.winner+" ")
			ans, err := h.Solve(context.Background(), c)
			if err != nil || ans.Password != pw {
				t.Fatalf("Solve = %+v, %v; want %q", ans, err, pw)
			}
			if strings.Count(logs.String(), " by="+tt.winner+" ") != before+1 {
				t.Errorf("winner is not %s; log:\n%s", tt.winner, logs.String())
			}
		})
	}
	c, _ := hybridChallenge(t, hyChars, hyMask, hyTotal)
	if _, err := h.Solve(context.Background(), c); err == nil || !strings.Contains(err.Error(), "exhausted") {
		t.Errorf("no password: got %v; want exhausted", err)
	}
	h.NativeShare = 0
	if err := h.Calibrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	if h.rates == nil || h.rates.hashcat <= 0 || h.rates.startup != 0 {
		t.Errorf("calibrated rates %+v; want the kernel's rate and no start-up", h.rates)
	}
}

// TestAutoSolverCalibrate measures the kernel and hashcat on the same
// device (PoCL here) and keeps answering with whichever it picks.
func TestAutoSolverCalibrate(t *testing.T) {
	s := poclSolver(t)
	a := &AutoSolver{OpenCL: &OpenCLSolver{OpenCL: s, Native: &pow.Solver{}}, Hashcat: HashcatSolver{Runner: realHashcat(t)}}
	if a.Name() != "opencl" {
		t.Errorf("before calibration: %s; want opencl", a.Name())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := a.Calibrate(ctx); err != nil {
		t.Fatal(err)
	}
	t.Logf("chose %s", a.Name())
	c, pw, _ := pow.New(nil, pow.Params{Difficulty: 3})
	if ans, err := a.Solve(ctx, c); err != nil || ans.Password != pw {
		t.Fatalf("Solve = %+v, %v; want %q", ans, err, pw)
	}
}

// TestOpenCLChecks: the doctor lists this machine's devices and measures
// the kernel.
func TestOpenCLChecks(t *testing.T) {
	poclSolver(t)
	got := openclChecks(context.Background(), false)
	for _, ch := range got {
		t.Logf("%v %s: %s", ch.OK, ch.Name, ch.Detail)
	}
	if len(got) != 2 || !got[0].OK || !got[1].OK || !strings.Contains(got[1].Detail, "MH/s") {
		t.Fatalf("checks %+v; want the device list and a rate", got)
	}
}

// TestBenchChallengeOpenCL: the validator's view of the OpenCL solver.
func TestBenchChallengeOpenCL(t *testing.T) {
	s := poclSolver(t)
	l, err := BenchChallenge(context.Background(), &OpenCLSolver{OpenCL: s, Native: &pow.Solver{}}, 5, 3, time.Minute)
	if err != nil || l.Solver != "opencl" || l.Count != 3 || l.Median <= 0 {
		t.Fatalf("BenchChallenge = %+v, %v", l, err)
	}
	t.Logf("difficulty 5: median %v", l.Median)
}
