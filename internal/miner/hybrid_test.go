package miner

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sn27/sn27/internal/hashcat"
	"github.com/sn27/sn27/internal/pow"
)

// logBuffer collects a solver's log lines.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func (l *logBuffer) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(l, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// hybridChallenge returns a challenge whose password is candidate idx in
// hashcat's order (hashcat.Ordered), or no password in the keyspace when
// idx is beyond it.
func hybridChallenge(t *testing.T, chars, mask string, idx uint64) (pow.Challenge, string) {
	t.Helper()
	const salt = "a1b2c3d4e5f60718"
	c := pow.Challenge{Hash: pow.HashString("-", salt), Salt: salt, Mode: pow.Mode, Chars: chars, Mask: mask}
	tg, err := pow.Parse(c, pow.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	total, _ := tg.Keyspace()
	if idx >= total {
		return c, ""
	}
	o := hashcat.Ordered(tg)
	pw := make([]byte, len(o.Positions))
	for i, p := range o.Positions {
		pw[i] = p[idx%uint64(len(p))]
		idx /= uint64(len(p))
	}
	c.Hash = pow.HashString(string(pw), salt)
	return c, string(pw)
}

// hashcatChildren returns the pids of this process's hashcat children.
func hashcatChildren(t *testing.T) []int {
	t.Helper()
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	var pids []int
	for _, f := range stats {
		b, err := os.ReadFile(f)
		if err != nil {
			continue // gone meanwhile
		}
		s := string(b)
		open, end := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
		if open < 0 || end < open {
			continue
		}
		fields := strings.Fields(s[end+1:]) // state, ppid, ...
		if s[open+1:end] != "hashcat" || len(fields) < 2 || fields[1] != strconv.Itoa(os.Getpid()) {
			continue
		}
		pid, _ := strconv.Atoi(strings.TrimSpace(s[:open]))
		pids = append(pids, pid)
	}
	return pids
}

// realHashcat returns a runner for the real hashcat on this machine's CPU:
// device types stay hashcat's choice, since the test machines have no GPU
// (NewSolver would make them "2").
func realHashcat(t *testing.T) *hashcat.Runner {
	t.Helper()
	if testing.Short() {
		t.Skip("runs the real hashcat; skipped with -short")
	}
	if _, err := exec.LookPath("hashcat"); err != nil {
		t.Fatalf("hashcat not installed (make test installs it): %v", err)
	}
	r, err := hashcat.New(hashcat.Config{Path: "hashcat", WorkloadProfile: 3, ExtendedOptions: "-O"})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// fakeHashcat returns a runner whose binary is a script that fails as
// hashcat does on a bad option: message, exit code 255.
func fakeHashcat(t *testing.T) *hashcat.Runner {
	t.Helper()
	return scriptHashcat(t, "#!/bin/sh\necho 'fake hashcat: no devices' >&2\nexit 255\n")
}

// scriptHashcat returns a Runner whose hashcat is the shell script script.
func scriptHashcat(t *testing.T, script string) *hashcat.Runner {
	t.Helper()
	path := filepath.Join(t.TempDir(), "hashcat")
	if err := os.WriteFile(path, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	r, err := hashcat.New(hashcat.Config{Path: path, WorkloadProfile: 3})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// 8 positions of 10 characters: 10^8 candidates; hashcat's amplifier is 3
// positions (10*10*10 > 256), so K = 10^5 base words of 1000 candidates.
const (
	hyChars = "7305924618"
	hyMask  = "?1?1?1?1?1?1?1?1"
	hyTotal = 100_000_000
	hyBFS   = 1000
)

func TestHybridSolverRealHashcat(t *testing.T) {
	r := realHashcat(t)
	var logs logBuffer
	// Half each: hashcat base words [0, 50000), native [5e7, 1e8).
	h := &HybridSolver{Runner: r, Native: &pow.Solver{}, NativeShare: 0.5, MinKeyspace: 1, Log: logs.logger()}
	const split = hyTotal / 2
	for _, tt := range []struct {
		name      string
		idx       uint64
		winner    string
		wantTried uint64 // 0: any
		maxTime   time.Duration
	}{
		// The native solver exhausts its part in about a second, then waits.
		{"hashcat's last candidate", split - 1, "hashcat", hyTotal - split, time.Minute},
		// Found in the native solver's first chunk; hashcat is killed while
		// it starts (the keyspace is cached from the first case).
		{"native's first candidate", split, "native", 0, 3 * time.Second},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c, pw := hybridChallenge(t, hyChars, hyMask, tt.idx)
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			start := time.Now()
			ans, err := h.Solve(ctx, c)
			el := time.Since(start)
			if err != nil || ans.Password != pw {
				t.Fatalf("Solve = %+v, %v; want %q", ans, err, pw)
			}
			if tt.wantTried != 0 && ans.Tried != tt.wantTried {
				t.Errorf("Tried = %d; want %d (the native part)", ans.Tried, tt.wantTried)
			}
			if !strings.Contains(logs.String(), " by="+tt.winner+" ") {
				t.Errorf("winner is not %s; log:\n%s", tt.winner, logs.String())
			}
			if el > tt.maxTime {
				t.Errorf("Solve took %v; want at most %v", el, tt.maxTime)
			}
			if pids := hashcatChildren(t); len(pids) > 0 {
				t.Errorf("hashcat still running after Solve returned: pids %v", pids)
			}
			t.Logf("%s in %v, native tried %d", tt.winner, el.Round(time.Millisecond), ans.Tried)
		})
	}
	if n := strings.Count(logs.String(), "hybrid solve started"); n != 2 {
		t.Errorf("%d hybrid solves logged; want 2", n)
	}
	// The first solve used the predicted split at once and had hashcat
	// confirm it in the background.
	deadline := time.Now().Add(time.Minute)
	for {
		h.mu.Lock()
		k, ok := h.keyspaces[strings.Repeat("10,", 8)]
		h.mu.Unlock()
		if ok {
			if k != hyTotal/hyBFS || strings.Contains(logs.String(), "differs from the predicted") {
				t.Errorf("hashcat --keyspace = %d; predicted %d\n%s", k, hyTotal/hyBFS, logs.String())
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("keyspace never confirmed:\n%s", logs.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestHybridSolverRechecksUnconfirmedSplit: when both parts come back empty
// under a predicted split (here hashcat wrongly says its part is
// exhausted, as if it split the mask otherwise), the native solver searches
// hashcat's part too.
func TestHybridSolverRechecksUnconfirmedSplit(t *testing.T) {
	var logs logBuffer
	r := scriptHashcat(t, "#!/bin/sh\nexit 1\n") // 1: exhausted
	h := &HybridSolver{Runner: r, Native: &pow.Solver{}, NativeShare: 0.5, MinKeyspace: 1, Log: logs.logger()}
	c, pw := hybridChallenge(t, hyChars, "?1?1?1?1?1?1?1", 1234) // in hashcat's part
	ans, err := h.Solve(context.Background(), c)
	if err != nil || ans.Password != pw {
		t.Fatalf("Solve = %+v, %v; want %q", ans, err, pw)
	}
	if !strings.Contains(logs.String(), "predicted split; the native solver searches hashcat's part") {
		t.Errorf("no recheck logged:\n%s", logs.String())
	}
	// Once hashcat has confirmed the split, an empty hashcat part is trusted.
	h.mu.Lock()
	h.keyspaces = map[string]uint64{strings.Repeat("10,", 7): 10_000}
	h.mu.Unlock()
	if ans, err := h.Solve(context.Background(), c); !errors.Is(err, pow.ErrExhausted) {
		t.Errorf("Solve with a confirmed split = %+v, %v; want exhausted", ans, err)
	}
}

func TestHybridSolverCancelStopsBoth(t *testing.T) {
	r := realHashcat(t)
	// 12 positions: 10^12 candidates, no answer. The cache is seeded with
	// hashcat's K (amplifier 3 positions) to skip a --keyspace run.
	mask := strings.Repeat("?1", 12)
	h := &HybridSolver{Runner: r, Native: &pow.Solver{}, NativeShare: 0.5, MinKeyspace: 1,
		keyspaces: map[string]uint64{strings.Repeat("10,", 12): 1_000_000_000}}
	c, _ := hybridChallenge(t, hyChars, mask, 1<<62)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	start := time.Now()
	ans, err := h.Solve(ctx, c)
	el := time.Since(start)
	if !errors.Is(err, context.DeadlineExceeded) || ans.Password != "" {
		t.Fatalf("Solve = %+v, %v; want DeadlineExceeded", ans, err)
	}
	if ans.Tried == 0 {
		t.Error("Tried = 0; the native solver did not run")
	}
	if el > 5*time.Second {
		t.Errorf("Solve returned %v after a 3 s deadline", el)
	}
	if pids := hashcatChildren(t); len(pids) > 0 {
		t.Errorf("hashcat still running after Solve returned: pids %v", pids)
	}
}

func TestHybridSolverHashcatFails(t *testing.T) {
	// 7 positions of 10: 10^7 candidates, K = 10^4 (amplifier 3 positions).
	const mask = "?1?1?1?1?1?1?1"
	shape := strings.Repeat("10,", 7)
	for _, tt := range []struct {
		name    string
		seed    bool // the keyspace is cached: only the hashcat search fails
		idx     uint64
		wantLog string
		wantErr error
	}{
		{"keyspace unconfirmed, search fails: native takes hashcat's part", false, 0, "hashcat failed; the native solver searches its part too", nil},
		{"search fails: native takes hashcat's part", true, 0, "hashcat failed; the native solver searches its part too", nil},
		{"search fails, no answer anywhere", true, 1 << 40, "hashcat failed", pow.ErrExhausted},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var logs logBuffer
			h := &HybridSolver{Runner: fakeHashcat(t), Native: &pow.Solver{}, NativeShare: 0.2, MinKeyspace: 1, Log: logs.logger()}
			if tt.seed {
				h.keyspaces = map[string]uint64{shape: 10_000}
			}
			c, pw := hybridChallenge(t, hyChars, mask, tt.idx)
			ans, err := h.Solve(context.Background(), c)
			if ans.Password != pw || !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) {
				t.Fatalf("Solve = %+v, %v; want %q, %v", ans, err, pw, tt.wantErr)
			}
			if !strings.Contains(logs.String(), tt.wantLog) || !strings.Contains(logs.String(), "fake hashcat: no devices") {
				t.Errorf("log lacks %q and hashcat's message:\n%s", tt.wantLog, logs.String())
			}
			if tt.wantErr != nil && ans.Tried != 10_000_000 {
				t.Errorf("Tried = %d; want the whole keyspace, 10000000", ans.Tried)
			}
		})
	}
}

func TestHybridSolverNativeAloneBelowMinKeyspace(t *testing.T) {
	var logs logBuffer
	missing, err := hashcat.New(hashcat.Config{Path: "/nonexistent/hashcat", WorkloadProfile: 3})
	if err != nil {
		t.Fatal(err)
	}
	h := &HybridSolver{Runner: missing, Native: &pow.Solver{}, Log: logs.logger()} // DefaultMinKeyspace
	c, pw := hybridChallenge(t, hyChars, "?1?1?1?1?1", 54_321)
	ans, err := h.Solve(context.Background(), c)
	if err != nil || ans.Password != pw {
		t.Fatalf("Solve = %+v, %v; want %q", ans, err, pw)
	}
	if logs.String() != "" {
		t.Errorf("hashcat was involved:\n%s", logs.String())
	}
}

func TestHybridSolverSplit(t *testing.T) {
	measured := &hybridRates{native: 1e8, hashcat: 9e8, startup: 5 * time.Second} // native alone below 5e8
	for _, tt := range []struct {
		name      string
		share     float64
		minKS     uint64
		rates     *hybridRates
		positions int    // of 10 characters
		keyspace  uint64 // hashcat's K, cached
		wantLh    uint64 // 0: native alone
		wantBFS   uint64
	}{
		{"fixed share", 0.25, 1, nil, 8, 100_000, 75_000, 1000},
		{"share rounds to no hashcat word: one is kept", 0.99999999, 1, nil, 8, 100_000, 1, 1000},
		{"share rounds to all hashcat words: one is left", 1e-9, 1, nil, 8, 100_000, 99_999, 1000},
		{"below the default minimum", 0.5, 0, nil, 7, 10_000, 0, 0},
		{"default share before calibration", 0, 1, nil, 8, 100_000, 90_000, 1000},
		{"measured, below native rate * start-up", 0, 0, measured, 8, 100_000, 0, 0},
		// 1e10 candidates: x = 0.1 * (1 + 5*9e8/1e10) = 0.145.
		{"measured, large keyspace", 0, 0, measured, 10, 10_000_000, 8_550_000, 1000},
		{"an explicit minimum beats the measured one", 0, 1 << 40, measured, 10, 10_000_000, 0, 0},
		{"keyspace of one base word", 0.5, 1, nil, 8, 1, 0, 0},
		{"keyspace does not divide", 0.5, 1, nil, 8, 30_000, 0, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tg := &pow.Target{}
			for range tt.positions {
				tg.Positions = append(tg.Positions, []byte(hyChars))
			}
			total, _ := tg.Keyspace()
			// Runner is nil: never called, the keyspace is cached.
			h := &HybridSolver{NativeShare: tt.share, MinKeyspace: tt.minKS, rates: tt.rates,
				keyspaces: map[string]uint64{strings.Repeat("10,", tt.positions): tt.keyspace}}
			lh, bfs, confirmed := h.split(pow.Challenge{Mask: "test"}, tg, total)
			if lh != tt.wantLh || (lh != 0 && (bfs != tt.wantBFS || !confirmed)) {
				t.Errorf("split = %d, %d, %v; want %d, %d, confirmed", lh, bfs, confirmed, tt.wantLh, tt.wantBFS)
			}
		})
	}
}

func TestHybridSolverCalibrate(t *testing.T) {
	r := realHashcat(t)
	var logs logBuffer
	h := &HybridSolver{Runner: r, Native: &pow.Solver{}, Log: logs.logger()}
	if err := h.Calibrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	if h.rates == nil || h.rates.native <= 0 || h.rates.hashcat <= 0 || h.rates.startup <= 0 {
		t.Fatalf("rates = %+v", h.rates)
	}
	if x, alone := h.share(1 << 60); alone || x <= 0 || x >= 1 {
		t.Errorf("share(2^60) = %v, %v; want in (0, 1)", x, alone)
	}
	if _, alone := h.share(1000); !alone {
		t.Error("share(1000): want the native solver alone")
	}
	if !strings.Contains(logs.String(), "hybrid solver calibrated") {
		t.Errorf("log:\n%s", logs.String())
	}
	t.Log(logs.String())
	fixed := &HybridSolver{Runner: r, Native: &pow.Solver{}, NativeShare: 0.3}
	if err := fixed.Calibrate(context.Background()); err != nil || fixed.rates != nil {
		t.Errorf("Calibrate with a fixed share = %v, rates %+v; want nothing measured", err, fixed.rates)
	}
}

func TestNewSolverHybrid(t *testing.T) {
	if _, err := exec.LookPath("hashcat"); err != nil {
		t.Skip("hashcat not installed")
	}
	base := DefaultConfig()
	base.Solver = "hybrid"
	for _, tt := range []struct {
		name        string
		edit        func(*Config)
		hasGPU      bool
		wantErr     string
		wantDevices string
	}{
		{"GPU: hashcat on the GPUs only", func(*Config) {}, true, "", "2"},
		{"device types kept", func(c *Config) { c.Hashcat.DeviceTypes = "1,2" }, false, "", "1,2"},
		{"share kept", func(c *Config) { c.HybridNativeShare = 0.3 }, true, "", "2"},
		{"no GPU and no device types", func(*Config) {}, false, "nvidia-smi found none", ""},
		{"hashcat missing", func(c *Config) { c.Hashcat.Path = "/nonexistent/hashcat" }, true, "needs hashcat", ""},
		{"share 1", func(c *Config) { c.HybridNativeShare = 1 }, true, "0 < share < 1", ""},
		{"share negative", func(c *Config) { c.HybridNativeShare = -0.1 }, true, "0 < share < 1", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg := base
			tt.edit(&cfg)
			s, err := NewSolver(cfg, tt.hasGPU, nil)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("NewSolver = %v, %v; want an error with %q", s, err, tt.wantErr)
				}
				return
			}
			h, ok := s.(*HybridSolver)
			if err != nil || !ok || h.Name() != "hybrid" {
				t.Fatalf("NewSolver = %#v, %v; want a *HybridSolver", s, err)
			}
			if got := h.Runner.Config().DeviceTypes; got != tt.wantDevices {
				t.Errorf("device types %q; want %q", got, tt.wantDevices)
			}
			if h.NativeShare != cfg.HybridNativeShare {
				t.Errorf("NativeShare = %v; want %v", h.NativeShare, cfg.HybridNativeShare)
			}
		})
	}
	if _, err := NewSolver(Config{Solver: "gpu"}, true, nil); err == nil || !strings.Contains(err.Error(), "hybrid") {
		t.Errorf("NewSolver(gpu) = %v; want an error listing hybrid", err)
	}
}

// TestNewSolverBadKernel: an unknown SN27_POW_KERNEL stops the miner at
// start, not at every challenge.
func TestNewSolverBadKernel(t *testing.T) {
	t.Setenv("SN27_POW_KERNEL", "sse9")
	for _, name := range []string{"native", "auto", "hybrid"} {
		if _, err := NewSolver(Config{Solver: name}, false, nil); err == nil || !strings.Contains(err.Error(), "sse9") {
			t.Errorf("NewSolver(%s) = %v; want an error naming the kernel", name, err)
		}
	}
}
