package miner_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sn27/sn27/internal/chain"
	"github.com/sn27/sn27/internal/chain/chaintest"
	"github.com/sn27/sn27/internal/chain/devchain"
	"github.com/sn27/sn27/internal/dendrite"
	"github.com/sn27/sn27/internal/hwspec"
	"github.com/sn27/sn27/internal/keys"
	"github.com/sn27/sn27/internal/miner"
	"github.com/sn27/sn27/internal/pow"
	"github.com/sn27/sn27/internal/protocol"
)

const tao = 1_000_000_000

func dev(t testing.TB, uri string) *keys.Pair {
	t.Helper()
	p, err := keys.FromURI(uri)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// net27 is a dev chain with a subnet holding a staked validator (//Charlie),
// a low-stake neuron (//Dave//low) and the miner's hotkey (//Eve).
type net27 struct {
	c      *chain.Client
	netuid chain.NetUID
}

func newNet(t testing.TB) *net27 {
	t.Helper()
	_, url, _ := chaintest.ServeDevChain(t, devchain.DefaultConfig())
	c := chaintest.Connect(t, url)
	netuid := chaintest.NewSubnet(t, c)
	ctx := context.Background()
	for _, r := range []struct{ cold, hot string }{{"//Bob", "//Charlie"}, {"//Dave", "//Dave//low"}, {"//Dave", "//Eve"}} {
		if _, err := c.BurnedRegister(ctx, dev(t, r.cold), netuid, dev(t, r.hot).Hotkey()); err != nil {
			t.Fatalf("register %s: %v", r.hot, err)
		}
	}
	if _, err := c.AddStake(ctx, dev(t, "//Bob"), dev(t, "//Charlie").Hotkey(), netuid, 2000*tao); err != nil {
		t.Fatal(err)
	}
	return &net27{c: c, netuid: netuid}
}

type runningMiner struct {
	mn     *miner.Miner
	target dendrite.Target
	reg    *prometheus.Registry
}

func startMiner(t *testing.T, n *net27, cfg miner.Config, solver miner.Solver) *runningMiner {
	t.Helper()
	rm, stop := startMinerWith(t, n, cfg, solver, nil)
	t.Cleanup(stop)
	return rm
}

// startMinerWith starts a miner with an allocator; stop ends it (and may be
// called more than once).
func startMinerWith(t testing.TB, n *net27, cfg miner.Config, solver miner.Solver, alloc miner.Allocator) (*runningMiner, func()) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	cfg.NetUID = n.netuid
	cfg.AxonIP, cfg.AxonPort, cfg.ExternalIP = "127.0.0.1", port, "127.0.0.1"
	reg := prometheus.NewRegistry()
	eve := dev(t, "//Eve")
	hw := hwspec.DefaultConfig()
	hw.NvidiaSMI = ""
	mn, err := miner.New(cfg, miner.Deps{Hotkey: eve, Chain: n.c, Solver: solver, Registry: reg, Listener: ln, Specs: hwspec.New(hw, nil), Allocator: alloc, Log: slog.New(slog.NewTextHandler(t.Output(), nil))})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- mn.Run(ctx) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-errc:
				if err != nil {
					t.Errorf("miner Run: %v", err)
				}
			case <-time.After(10 * time.Second):
				t.Error("miner Run did not return after cancel")
			}
		})
	}
	select {
	case <-mn.Ready():
	case err := <-errc:
		t.Fatalf("miner Run: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("miner never became ready")
	}
	return &runningMiner{mn: mn, target: dendrite.Target{IP: "127.0.0.1", Port: port, Hotkey: eve.Hotkey()}, reg: reg}, stop
}

func client(t testing.TB, uri string) *dendrite.Dendrite {
	d, err := dendrite.New(dev(t, uri), dendrite.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.Close)
	return d
}

func challenge(t *testing.T, difficulty int) (*protocol.Challenge, string) {
	c, pw, err := pow.New(nil, pow.Params{Difficulty: difficulty})
	if err != nil {
		t.Fatal(err)
	}
	req := protocol.NewChallenge()
	req.ChallengeHash, req.ChallengeSalt, req.ChallengeMode = c.Hash, c.Salt, c.Mode
	req.ChallengeChars, req.ChallengeMask, req.ChallengeDifficulty = c.Chars, c.Mask, int64(c.Difficulty)
	return req, pw
}

func TestMinerOnDevChain(t *testing.T) {
	n := newNet(t)
	rm := startMiner(t, n, miner.DefaultConfig(), miner.NativeSolver{Solver: &pow.Solver{}})
	ctx := context.Background()

	// The axon is on chain with SN27's version.
	ns, err := n.c.Neurons(ctx, n.netuid)
	if err != nil {
		t.Fatal(err)
	}
	var served bool
	for _, nr := range ns {
		if nr.Hotkey == dev(t, "//Eve").Hotkey() {
			served = nr.Axon.IP == "127.0.0.1" && int(nr.Axon.Port) == rm.target.Port && nr.Axon.Version == 183
		}
	}
	if !served {
		t.Errorf("miner axon not served on chain: %+v", ns)
	}

	validator := client(t, "//Charlie")
	t.Run("challenge", func(t *testing.T) {
		req, pw := challenge(t, 5)
		if err := validator.Call(ctx, rm.target, req, 30*time.Second); err != nil {
			t.Fatal(err)
		}
		out, err := req.Answer()
		if err != nil || protocol.Deref(out.Password) != pw || out.Error != nil || out.LocalExecutionTime == nil {
			t.Errorf("answer %+v (%v); want password %q", out, err, pw)
		}
	})
	t.Run("invalid challenge answers an error", func(t *testing.T) {
		req, _ := challenge(t, 5)
		req.ChallengeMask = "?9"
		if err := validator.Call(ctx, rm.target, req, 30*time.Second); err != nil {
			t.Fatal(err)
		}
		out, _ := req.Answer()
		if out.Password != nil || !strings.Contains(protocol.Deref(out.Error), "challenge_mask") {
			t.Errorf("answer %+v", out)
		}
	})
	t.Run("specs", func(t *testing.T) {
		req := protocol.NewSpecs()
		if err := validator.Call(ctx, rm.target, req, 30*time.Second); err != nil {
			t.Fatal(err)
		}
		var rep map[string]json.RawMessage
		if err := json.Unmarshal([]byte(req.SpecsOutput), &rep); err != nil {
			t.Fatalf("specs_output %q: %v", req.SpecsOutput, err)
		}
		for _, k := range []string{"cpu", "gpu", "hard_disk", "ram", "has_docker"} {
			if _, ok := rep[k]; !ok {
				t.Errorf("specs_output lacks %q: %s", k, req.SpecsOutput)
			}
		}
	})
	t.Run("allocate without allocator", func(t *testing.T) {
		req := protocol.NewAllocate()
		if err := validator.Call(ctx, rm.target, req, 30*time.Second); err != nil {
			t.Fatal(err)
		}
		if string(req.Output) != `{"status":false}` {
			t.Errorf("output %s", req.Output)
		}
	})
	for _, tt := range []struct{ uri, reason string }{
		{"//Stranger", "Unrecognized hotkey"},
		{"//Dave//low", "Not enough stake!"},
	} {
		t.Run("refuse "+tt.uri, func(t *testing.T) {
			req, _ := challenge(t, 3)
			err := client(t, tt.uri).Call(ctx, rm.target, req, 10*time.Second)
			var de *dendrite.Error
			if !errors.As(err, &de) || de.Code != 403 || !strings.Contains(de.Message, tt.reason) {
				t.Errorf("Call = %v; want 403 %q", err, tt.reason)
			}
		})
	}
	if v := challenges(t, rm.reg, "solved"); v != 1 {
		t.Errorf("solved counter = %v", v)
	}
}

// challenges reads sn27_miner_challenges_total{result}.
func challenges(t *testing.T, reg *prometheus.Registry, result string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "sn27_miner_challenges_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "result" && l.GetValue() == result {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	t.Fatalf("no sn27_miner_challenges_total{result=%q}", result)
	return 0
}

func TestLowStakeWhitelisted(t *testing.T) {
	n := newNet(t)
	cfg := miner.DefaultConfig()
	cfg.Blacklist.WhitelistNotEnoughStake = true
	rm := startMiner(t, n, cfg, miner.NativeSolver{Solver: &pow.Solver{}})
	req, pw := challenge(t, 3)
	if err := client(t, "//Dave//low").Call(context.Background(), rm.target, req, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	if out, _ := req.Answer(); protocol.Deref(out.Password) != pw {
		t.Errorf("answer %+v", out)
	}
}

// blockingSolver holds the device until released, counting solves.
type blockingSolver struct {
	release chan struct{}
	calls   atomic.Int32
}

func (b *blockingSolver) Name() string { return "blocking" }
func (b *blockingSolver) Solve(ctx context.Context, c pow.Challenge) (miner.Answer, error) {
	b.calls.Add(1)
	<-b.release
	return miner.Answer{}, errors.New("released")
}

func TestQueuedChallengesPastDeadlineAreDropped(t *testing.T) {
	n := newNet(t)
	bs := &blockingSolver{release: make(chan struct{})}
	rm := startMiner(t, n, miner.DefaultConfig(), bs)
	validator := client(t, "//Charlie")
	ctx := context.Background()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // occupies the solver
		defer wg.Done()
		req, _ := challenge(t, 3)
		_ = validator.Call(ctx, rm.target, req, 20*time.Second)
	}()
	for bs.calls.Load() == 0 {
		time.Sleep(10 * time.Millisecond)
	}
	req, _ := challenge(t, 3)
	err := validator.Call(ctx, rm.target, req, 500*time.Millisecond)
	var de *dendrite.Error
	if !errors.As(err, &de) || de.Code != 408 {
		t.Errorf("queued call = %v; want 408", err)
	}
	// The server's deadline runs from when it read the request; wait until
	// the queue gave up on it, then free the solver.
	for start := time.Now(); challenges(t, rm.reg, "dropped") < 1; time.Sleep(20 * time.Millisecond) {
		if time.Since(start) > 10*time.Second {
			t.Fatal("the expired request was never dropped from the queue")
		}
	}
	close(bs.release)
	wg.Wait()
	if c := bs.calls.Load(); c != 1 {
		t.Errorf("solver ran %d times; the expired request must not be solved", c)
	}
}

// calibratingSolver records the Calibrate call the miner makes at start-up.
type calibratingSolver struct {
	miner.NativeSolver
	called chan struct{}
}

func (c *calibratingSolver) Calibrate(ctx context.Context) error {
	close(c.called)
	<-ctx.Done() // as if measuring until the miner stops: Run must wait
	return ctx.Err()
}

func TestRunCalibratesTheSolverInTheBackground(t *testing.T) {
	n := newNet(t)
	cs := &calibratingSolver{NativeSolver: miner.NativeSolver{Solver: &pow.Solver{}}, called: make(chan struct{})}
	rm := startMiner(t, n, miner.DefaultConfig(), cs)
	select {
	case <-cs.called:
	case <-time.After(10 * time.Second):
		t.Fatal("Calibrate not called")
	}
	// Challenges are answered while calibration runs.
	req, pw := challenge(t, 3)
	if err := client(t, "//Charlie").Call(context.Background(), rm.target, req, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	if out, _ := req.Answer(); protocol.Deref(out.Password) != pw {
		t.Errorf("answer %+v", out)
	}
}

func TestUnregisteredMinerRefusesToStart(t *testing.T) {
	n := newNet(t)
	cfg := miner.DefaultConfig()
	cfg.NetUID, cfg.AxonIP, cfg.AxonPort = n.netuid, "127.0.0.1", 1
	mn, err := miner.New(cfg, miner.Deps{Hotkey: dev(t, "//Nobody"), Chain: n.c, Solver: miner.NativeSolver{Solver: &pow.Solver{}}})
	if err != nil {
		t.Fatal(err)
	}
	err = mn.Run(context.Background())
	if !errors.Is(err, miner.ErrNotRegistered) || !strings.Contains(err.Error(), "sn27 subnet register --netuid "+strconv.Itoa(int(n.netuid))) {
		t.Errorf("Run = %v", err)
	}
}

func TestMetricsEndpoint(t *testing.T) {
	n := newNet(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	cfg := miner.DefaultConfig()
	cfg.MetricsAddr = addr
	rm := startMiner(t, n, cfg, miner.NativeSolver{Solver: &pow.Solver{}})
	req, _ := challenge(t, 3)
	if err := client(t, "//Charlie").Call(context.Background(), rm.target, req, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	var body string
	for start := time.Now(); time.Since(start) < 10*time.Second; time.Sleep(20 * time.Millisecond) {
		resp, err := http.Get("http://" + addr + "/metrics")
		if err != nil {
			continue
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		body = string(b)
		break
	}
	for _, want := range []string{
		`sn27_miner_challenges_total{result="solved"} 1`, "sn27_miner_solve_duration_seconds_bucket",
		"sn27_miner_hash_rate_hashes_per_second", "sn27_miner_challenge_queue_length 0", "# HELP sn27_miner_allocated",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q:\n%s", want, body)
		}
	}
}

// drainAllocator is an Allocator that records Drain and Undrain.
type drainAllocator struct {
	busy     bool
	drained  atomic.Bool
	undrains atomic.Int32
}

func (d *drainAllocator) Allocate(context.Context, keys.Hotkey, *protocol.Allocate) error { return nil }
func (d *drainAllocator) Allocated() bool                                                 { return false }
func (d *drainAllocator) Drain() (bool, string) {
	if d.busy {
		return false, "an allocation request is being served"
	}
	d.drained.Store(true)
	return true, ""
}
func (d *drainAllocator) Undrain() { d.drained.Store(false); d.undrains.Add(1) }

// TestQuiesce: the miner is not quiet while a challenge is being answered
// or an allocation request served; once quiet, allocations are drained
// until Resume.
func TestQuiesce(t *testing.T) {
	n := newNet(t)
	bs := &blockingSolver{release: make(chan struct{})}
	alloc := &drainAllocator{}
	rm, stop := startMinerWith(t, n, miner.DefaultConfig(), bs, alloc)
	defer stop()
	done := make(chan struct{})
	go func() {
		defer close(done)
		req, _ := challenge(t, 3)
		_ = client(t, "//Charlie").Call(context.Background(), rm.target, req, 20*time.Second)
	}()
	for bs.calls.Load() == 0 {
		time.Sleep(10 * time.Millisecond)
	}
	if ok, why := rm.mn.Quiesce(); ok || !strings.Contains(why, "1 challenge(s) being answered") || alloc.drained.Load() {
		t.Errorf("Quiesce while solving = %v, %q (drained %v); want busy", ok, why, alloc.drained.Load())
	}
	close(bs.release)
	<-done
	alloc.busy = true
	if ok, why := rm.mn.Quiesce(); ok || !strings.Contains(why, "allocation request") {
		t.Errorf("Quiesce while allocating = %v, %q; want busy", ok, why)
	}
	alloc.busy = false
	if ok, why := rm.mn.Quiesce(); !ok || !alloc.drained.Load() {
		t.Errorf("Quiesce when idle = %v, %q (drained %v); want quiet and drained", ok, why, alloc.drained.Load())
	}
	rm.mn.Resume()
	if alloc.drained.Load() || alloc.undrains.Load() != 1 {
		t.Errorf("after Resume: drained %v, undrains %d", alloc.drained.Load(), alloc.undrains.Load())
	}
}
