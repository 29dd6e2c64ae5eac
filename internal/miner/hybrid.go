package miner

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sn27/sn27/internal/hashcat"
	"github.com/sn27/sn27/internal/opencl"
	"github.com/sn27/sn27/internal/pow"
)

// Defaults of HybridSolver until Calibrate has measured this machine.
const (
	// DefaultNativeShare is the part of a keyspace the native solver takes
	// before calibration: a GPU running hashcat is typically ten or more
	// times faster than the CPU cores running the native solver.
	DefaultNativeShare = 0.1
	// DefaultMinKeyspace: smaller keyspaces are searched by the native solver
	// alone, since hashcat needs seconds to start (kernels, Markov tables)
	// and the native solver does 2^26 candidates in about a second on a
	// small machine.
	DefaultMinKeyspace = 1 << 26
)

// HybridSolver searches each challenge with hashcat (on the GPUs) and the
// native solver (on the CPU cores) at once, each on its own part of the
// keyspace; the first verified answer wins and the other side is stopped
// (the hashcat process is killed).
//
// The split follows hashcat's keyspace: hashcat takes the base words
// [0, Lh) with --skip/--limit (hashcat.Runner.SolveSlice), which are the
// candidates [0, Lh*bfs) of hashcat.Ordered(t), and the native solver takes
// [Lh*bfs, total) of the same order with pow.Solver.SolveRange. K, hashcat's
// base keyspace, comes from `hashcat --keyspace`, cached per mask shape (the
// charset size of each position) since every hashcat start costs seconds;
// the first challenge of a shape uses hashcat's split rule
// (hashcat.PredictKeyspace) while --keyspace confirms it in the background,
// and if both parts then come back empty the native solver searches
// hashcat's part as well. If one side exhausts its part, the solver waits for the other. If
// hashcat fails, the error is logged and the native solver searches
// hashcat's part too. Keyspaces below the minimum are left to the native
// solver alone.
//
// The native share x is NativeShare when set. Otherwise Calibrate measures
// both speeds once (a short hashcat benchmark and a second of native
// solving, at start-up) and x is chosen so both sides would finish their
// parts at the same time, hashcat's start-up included: with native rate n,
// hashcat rate h, hashcat start-up s and N candidates,
//
//	x = n/(n+h) * (1 + s*h/N)
//
// which is n/(n+h) for large N, and 1 (native alone) once N <= n*s.
// Measuring beats a fixed guess because GPUs and CPUs differ by orders of
// magnitude between machines; it runs in the background so the miner
// answers at once, with DefaultNativeShare until it is done.
//
// Runner should drive the GPUs only (hashcat device types "2") so that
// hashcat does not compete with the native solver for the CPU cores. A
// HybridSolver must not be copied after first use.
//
// When OpenCL is set (a GPU found by the OpenCL runtime), our own kernel
// takes the GPU's part instead of hashcat: candidates [0, x) of
// hashcat.Ordered(t) for any x, with no start-up per challenge, no keyspace
// to ask hashcat for, and Calibrate measuring the kernel instead of hashcat.
type HybridSolver struct {
	Runner *hashcat.Runner // the GPU side when OpenCL is nil
	OpenCL *opencl.Solver
	Native *pow.Solver
	// NativeShare, when in (0, 1), fixes the part of each keyspace the native
	// solver searches (--miner.hybrid.native.share); 0 means measured.
	NativeShare float64
	// MinKeyspace: keyspaces of fewer candidates are searched by the native
	// solver alone; 0 means measured, or DefaultMinKeyspace until then.
	MinKeyspace uint64
	Log         *slog.Logger // nil: discard

	mu         sync.Mutex
	keyspaces  map[string]uint64 // hashcat's base keyspace by mask shape
	confirming map[string]bool   // shapes whose --keyspace runs
	rates      *hybridRates      // set by Calibrate
}

// hybridRates are Calibrate's measurements.
type hybridRates struct {
	native, hashcat float64 // candidates per second
	startup         time.Duration
}

// maxShapes bounds the keyspace cache; challenges come in few shapes.
const maxShapes = 64

// Name implements Solver.
func (h *HybridSolver) Name() string { return "hybrid" }

func (h *HybridSolver) log() *slog.Logger {
	if h.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return h.Log
}

// Solve implements Solver. Answer.Tried counts the native solver's
// candidates only.
func (h *HybridSolver) Solve(ctx context.Context, c pow.Challenge) (Answer, error) {
	t, err := pow.Parse(c, pow.Limits{})
	if err != nil {
		return Answer{}, err
	}
	total, err := t.Keyspace()
	if err != nil {
		return Answer{}, err
	}
	var lh, bfs uint64
	var confirmed bool
	if h.OpenCL != nil {
		lh, bfs, confirmed = h.splitOpenCL(total), 1, true
	} else {
		lh, bfs, confirmed = h.split(c, t, total)
	}
	if lh == 0 {
		res, err := h.Native.Solve(ctx, t)
		return Answer{Password: res.Password, Tried: res.Tried}, err
	}
	return h.race(ctx, c, hashcat.Ordered(t), total, lh, bfs, confirmed)
}

// split returns the base words [0, lh) hashcat searches and its amplifier
// bfs; lh == 0 means the native solver searches alone. confirmed says
// whether hashcat itself gave the keyspace (else it is predicted).
func (h *HybridSolver) split(c pow.Challenge, t *pow.Target, total uint64) (lh, bfs uint64, confirmed bool) {
	share, nativeOnly := h.share(total)
	if nativeOnly {
		return 0, 0, false
	}
	k, confirmed := h.keyspace(c, t)
	if k < 2 || k > total || total%k != 0 {
		if k >= 2 {
			h.log().Warn("hashcat keyspace does not divide the mask's; the native solver searches alone", "mask", c.Mask, "keyspace", k, "total", total)
		}
		return 0, 0, false
	}
	// hashcat's words, rounded, and at least one for each side.
	f := math.Round(float64(k) * (1 - share))
	switch {
	case f < 1:
		lh = 1
	case f >= float64(k-1):
		lh = k - 1
	default:
		lh = uint64(f)
	}
	return lh, total / k, confirmed
}

// splitOpenCL returns the candidates [0, lh) the OpenCL solver searches;
// lh == 0 means the native solver searches alone.
func (h *HybridSolver) splitOpenCL(total uint64) uint64 {
	share, nativeOnly := h.share(total)
	if nativeOnly || total < 2 {
		return 0
	}
	f := math.Round(float64(total) * (1 - share))
	switch {
	case f < 1:
		return 1
	case f >= float64(total-1):
		return total - 1
	}
	return uint64(f)
}

// share returns the native share for a keyspace of total candidates, and
// whether the native solver should search it alone.
func (h *HybridSolver) share(total uint64) (float64, bool) {
	h.mu.Lock()
	r := h.rates
	h.mu.Unlock()
	least := h.MinKeyspace
	switch {
	case least > 0:
	case r != nil:
		least = uint64(r.native * r.startup.Seconds())
	default:
		least = DefaultMinKeyspace
	}
	switch {
	case total < least:
		return 1, true
	case h.NativeShare > 0:
		return h.NativeShare, false
	case r == nil:
		return DefaultNativeShare, false
	}
	x := r.native / (r.native + r.hashcat) * (1 + r.startup.Seconds()*r.hashcat/float64(total))
	return min(x, 1), x >= 1
}

// keyspace returns hashcat's base keyspace of c, cached by mask shape: it
// depends only on the number of positions and their charset sizes. A shape
// not seen before gets hashcat.PredictKeyspace at once (confirmed is false)
// and `hashcat --keyspace` confirms it in the background, since that costs
// seconds the first challenge of the shape should not wait for.
func (h *HybridSolver) keyspace(c pow.Challenge, t *pow.Target) (k uint64, confirmed bool) {
	var b strings.Builder
	for _, p := range t.Positions {
		b.WriteString(strconv.Itoa(len(p)))
		b.WriteByte(',')
	}
	shape := b.String()
	h.mu.Lock()
	defer h.mu.Unlock()
	if k, ok := h.keyspaces[shape]; ok {
		return k, true
	}
	k = hashcat.PredictKeyspace(t)
	if h.confirming == nil {
		h.confirming = make(map[string]bool)
	}
	if !h.confirming[shape] {
		h.confirming[shape] = true
		go h.confirmKeyspace(shape, c, k)
	}
	return k, false
}

// confirmKeyspace runs `hashcat --keyspace` for shape and caches the answer.
func (h *HybridSolver) confirmKeyspace(shape string, c pow.Challenge, predicted uint64) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	k, err := h.Runner.Keyspace(ctx, c)
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.confirming, shape)
	if err != nil {
		h.log().Warn("hashcat --keyspace failed; the mask shape stays unconfirmed", "mask", c.Mask, "err", err)
		return
	}
	if k != predicted {
		h.log().Warn("hashcat's keyspace differs from the predicted split; using hashcat's", "mask", c.Mask, "hashcat", k, "predicted", predicted)
	}
	if h.keyspaces == nil || len(h.keyspaces) >= maxShapes {
		h.keyspaces = make(map[string]uint64)
	}
	h.keyspaces[shape] = k
}

// sideResult is what one search of race returns.
type sideResult struct {
	side  string // "hashcat", "native" or "native (hashcat's part)"
	pw    string
	tried uint64
	err   error
}

// race runs hashcat on base words [0, lh) and the native solver on
// candidates [lh*bfs, total) of o, and returns the first verified answer
// after the other side has stopped. When both parts come back empty and
// the split was only predicted (confirmed false), the native solver
// searches hashcat's part again, in case hashcat split otherwise.
func (h *HybridSolver) race(ctx context.Context, c pow.Challenge, o *pow.Target, total, lh, bfs uint64, confirmed bool) (Answer, error) {
	gpu := "hashcat"
	if h.OpenCL != nil {
		gpu = "opencl"
	}
	log := h.log().With("difficulty", len(o.Positions), "keyspace", total, "gpu_solver", gpu, "gpu_candidates", lh*bfs)
	log.Debug("hybrid solve started")
	start := time.Now()
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	results := make(chan sideResult, 3)
	running := 0
	native := func(side string, from, to uint64) {
		running++
		go func() {
			res, err := h.Native.SolveRange(rctx, o, from, to)
			results <- sideResult{side: side, pw: res.Password, tried: res.Tried, err: err}
		}()
	}
	running++
	go func() {
		if h.OpenCL != nil {
			res, err := h.OpenCL.SolveRange(rctx, o, 0, lh)
			results <- sideResult{side: gpu, pw: res.Password, err: err}
			return
		}
		pw, err := h.Runner.SolveSlice(rctx, c, 0, lh)
		results <- sideResult{side: gpu, pw: pw, err: err}
	}()
	native("native", lh*bfs, total)

	var (
		ans       Answer
		winner    string
		nativeErr error
		recheck   bool
	)
	for running > 0 {
		r := <-results
		running--
		ans.Tried += r.tried
		if winner != "" {
			continue // the loser, stopped
		}
		if r.err == nil {
			if ok, _ := pow.Verify(c.Hash, c.Salt, r.pw); ok {
				ans.Password, winner = r.pw, r.side
				cancel()
				continue
			}
			r.err = fmt.Errorf("%s returned %q, which does not solve the challenge", r.side, r.pw)
		}
		switch {
		case errors.Is(r.err, hashcat.ErrExhausted), errors.Is(r.err, pow.ErrExhausted):
			// This side's part has no answer; wait for the other.
			if running == 0 && !confirmed && !recheck {
				recheck = true
				log.Warn("both parts exhausted under a predicted split; the native solver searches hashcat's part")
				native("native (hashcat's part, recheck)", 0, lh*bfs)
			}
		case rctx.Err() != nil:
			// ctx ended; collect the others.
		case r.side == gpu:
			log.Warn(gpu+" failed; the native solver searches its part too", "err", r.err)
			native("native ("+gpu+"'s part)", 0, lh*bfs)
		default:
			nativeErr = r.err
		}
	}
	el := time.Since(start)
	switch {
	case winner != "":
		log.Debug("hybrid solve won", "by", winner, "seconds", el.Seconds(), "native_tried", ans.Tried)
		return ans, nil
	case ctx.Err() != nil:
		return ans, fmt.Errorf("hybrid solve after %v: %w", el.Round(time.Millisecond), ctx.Err())
	case nativeErr != nil:
		return ans, fmt.Errorf("hybrid solve: native solver: %w", nativeErr)
	}
	return ans, fmt.Errorf("hybrid solve: %w", pow.ErrExhausted)
}

// Calibrate measures hashcat's and the native solver's speed (a 2 s
// hashcat benchmark, then a second of native solving) and bases the native
// share on them from then on (see HybridSolver). It does nothing when
// NativeShare is set. The miner runs it once at start-up.
func (h *HybridSolver) Calibrate(ctx context.Context) error {
	if h.NativeShare > 0 {
		return nil
	}
	c := calibrationChallenge()
	t, err := pow.Parse(c, pow.Limits{})
	if err != nil {
		return err
	}
	var hr hashcat.Rate
	if h.OpenCL != nil {
		hr, err = measureOpenCL(ctx, h.OpenCL, t)
	} else {
		hr, err = h.Runner.Benchmark(ctx, c, 2*time.Second)
	}
	if err != nil {
		return fmt.Errorf("measure the GPU side: %w", err)
	}
	nctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	start := time.Now()
	res, _ := h.Native.Solve(nctx, t)
	el := time.Since(start)
	if ctx.Err() != nil {
		return fmt.Errorf("measure the native solver: %w", ctx.Err())
	}
	if res.Tried == 0 || el <= 0 {
		return errors.New("measure the native solver: no candidates tried")
	}
	r := &hybridRates{native: float64(res.Tried) / el.Seconds(), hashcat: hr.HashesPerSecond, startup: hr.Startup}
	h.mu.Lock()
	h.rates = r
	h.mu.Unlock()
	h.log().Info("hybrid solver calibrated",
		"native_mhs", r.native/1e6, "gpu_mhs", r.hashcat/1e6, "gpu_devices", hr.Devices,
		"hashcat_startup_seconds", r.startup.Seconds(),
		"native_share", r.native/(r.native+r.hashcat),
		"native_alone_below", uint64(r.native*r.startup.Seconds()))
	return nil
}

// measureOpenCL measures s for a second on t, as a hashcat.Rate with no
// start-up.
func measureOpenCL(ctx context.Context, s *opencl.Solver, t *pow.Target) (hashcat.Rate, error) {
	octx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	start := time.Now()
	res, err := s.Solve(octx, t)
	el := time.Since(start)
	if ctx.Err() != nil {
		return hashcat.Rate{}, ctx.Err()
	}
	if !errors.Is(err, context.DeadlineExceeded) || res.Tried == 0 {
		return hashcat.Rate{}, fmt.Errorf("opencl: want a search cut by the deadline, got %d candidates, %v", res.Tried, err)
	}
	return hashcat.Rate{HashesPerSecond: float64(res.Tried) / el.Seconds(), Devices: []string{s.Device().String()}}, nil
}
