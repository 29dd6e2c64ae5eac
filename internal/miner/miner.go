// Package miner is the SN27 miner daemon: it serves an axon for its hotkey,
// answers validators' Challenge (proof of work), Specs (hardware report) and
// Allocate (rental) requests, keeps a fresh copy of the metagraph for its
// blacklist and priorities, and exports Prometheus metrics.
package miner

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/sn27/sn27/internal/axon"
	"github.com/sn27/sn27/internal/chain"
	"github.com/sn27/sn27/internal/hwspec"
	"github.com/sn27/sn27/internal/keys"
	"github.com/sn27/sn27/internal/pow"
	"github.com/sn27/sn27/internal/priority"
	"github.com/sn27/sn27/internal/protocol"
)

// Chain is what the miner needs of subtensor.
type Chain interface {
	Neurons(ctx context.Context, netuid chain.NetUID) ([]chain.Neuron, error)
	ServeAxon(ctx context.Context, hotkey *keys.Pair, netuid chain.NetUID, ip string, port uint16, version uint32) (*chain.Receipt, error)
}

// SpecsReader reads the hardware report.
type SpecsReader interface {
	Read(ctx context.Context) (hwspec.Report, error)
}

// watcher is an Allocator that keeps watch over its rentals while the
// miner runs (allocation.Manager.Watch).
type watcher interface {
	Watch(ctx context.Context)
}

// Allocator serves Allocate requests (the allocation component).
type Allocator interface {
	Allocate(ctx context.Context, caller keys.Hotkey, req *protocol.Allocate) error
	Allocated() bool
}

// Deps are the miner's collaborators.
type Deps struct {
	Hotkey    *keys.Pair
	Chain     Chain
	Specs     SpecsReader // nil: empty report
	Solver    Solver
	Allocator Allocator // nil: every Allocate answers status false
	Log       *slog.Logger
	Registry  *prometheus.Registry // nil: metrics not exported
	// Listener, when set, is used for the axon instead of AxonIP:AxonPort.
	Listener net.Listener
}

// Miner is the daemon.
type Miner struct {
	cfg   Config
	deps  Deps
	log   *slog.Logger
	ax    *axon.Axon
	queue *priority.Semaphore // one solve at a time
	m     *metrics
	meta  atomic.Pointer[Metagraph]
	now   func() time.Time
	ready chan struct{}

	solving atomic.Int32 // challenges being answered (queued or solving)
}

// New validates cfg and deps and builds the miner.
func New(cfg Config, deps Deps) (*Miner, error) {
	if deps.Hotkey == nil || deps.Chain == nil || deps.Solver == nil {
		return nil, errors.New("miner: hotkey, chain and solver are required")
	}
	if deps.Log == nil {
		deps.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.ExternalPort == 0 {
		cfg.ExternalPort = cfg.AxonPort
	}
	mn := &Miner{
		cfg:   cfg,
		deps:  deps,
		log:   deps.Log.With("component", "miner", "hotkey", deps.Hotkey.SS58()),
		queue: priority.New(1),
		m: newMetrics(registerer(deps.Registry), func() bool {
			return deps.Allocator != nil && deps.Allocator.Allocated()
		}),
		now:   time.Now,
		ready: make(chan struct{}),
	}
	mn.meta.Store(NewMetagraph(nil))
	mn.ax = axon.New(cfg.Axon, deps.Hotkey, deps.Log)
	mn.ax.SetBlacklist(func(ctx context.Context, r axon.Request) string {
		return BlacklistReason(cfg.Blacklist, mn.meta.Load(), r.Hotkey)
	})
	mn.ax.SetPriority(func(ctx context.Context, r axon.Request) float64 {
		p := map[string]float64{"Specs": PrioritySpecs, "Challenge": PriorityChallenge, "Allocate": PriorityAllocate}[r.Synapse]
		return Priority(mn.meta.Load(), r.Hotkey, p)
	})
	axon.Handle(mn.ax, mn.handleChallenge)
	axon.Handle(mn.ax, mn.handleSpecs)
	axon.Handle(mn.ax, mn.handleAllocate)
	return mn, nil
}

// calibrator is a solver that measures the machine once at start-up
// (HybridSolver).
type calibrator interface {
	Calibrate(ctx context.Context) error
}

// registerer avoids a typed nil in the interface.
func registerer(r *prometheus.Registry) prometheus.Registerer {
	if r == nil {
		return nil
	}
	return r
}

// Ready is closed once the miner is registered-checked, served on chain and
// its axon is accepting requests.
func (mn *Miner) Ready() <-chan struct{} { return mn.ready }

// Axon returns the miner's axon (tests, benchmarks).
func (mn *Miner) Axon() *axon.Axon { return mn.ax }

// refreshMetagraph reloads the metagraph copy.
func (mn *Miner) refreshMetagraph(ctx context.Context) ([]chain.Neuron, error) {
	ns, err := mn.deps.Chain.Neurons(ctx, mn.cfg.NetUID)
	if err != nil {
		return nil, fmt.Errorf("read metagraph of subnet %d: %w", mn.cfg.NetUID, err)
	}
	mn.meta.Store(NewMetagraph(ns))
	return ns, nil
}

// ErrNotRegistered: the miner's hotkey has no uid on the subnet.
var ErrNotRegistered = errors.New("hotkey not registered")

// Start checks registration and serves the axon on chain if needed.
func (mn *Miner) Start(ctx context.Context) error {
	if _, err := mn.refreshMetagraph(ctx); err != nil {
		return err
	}
	me, ok := mn.meta.Load().Neuron(mn.deps.Hotkey.Hotkey())
	if !ok {
		return fmt.Errorf("%w: %s has no uid on subnet %d; register it first: sn27 subnet register --netuid %d",
			ErrNotRegistered, mn.deps.Hotkey.SS58(), mn.cfg.NetUID, mn.cfg.NetUID)
	}
	ip := mn.cfg.ExternalIP
	if ip == "" {
		if mn.cfg.AxonIP == "" || mn.cfg.AxonIP == "0.0.0.0" || mn.cfg.AxonIP == "::" {
			return errors.New("set --axon.external_ip: the address validators reach this miner at")
		}
		ip = mn.cfg.AxonIP
	}
	if me.Axon.IP == ip && int(me.Axon.Port) == mn.cfg.ExternalPort && me.Axon.Version == mn.cfg.AxonVersion {
		mn.log.Info("axon already served on chain", "uid", me.UID, "ip", ip, "port", mn.cfg.ExternalPort)
		return nil
	}
	if _, err := mn.deps.Chain.ServeAxon(ctx, mn.deps.Hotkey, mn.cfg.NetUID, ip, uint16(mn.cfg.ExternalPort), mn.cfg.AxonVersion); err != nil {
		if errors.Is(err, chain.ErrServingRateLimit) {
			mn.log.Warn("serve_axon refused by the serving rate limit; the old axon stays on chain", "err", err)
			return nil
		}
		if errors.Is(err, chain.ErrInvalidIPAddress) {
			return fmt.Errorf("serve_axon of %s: %w: this chain accepts only routable addresses; set --axon.external_ip to the public address validators reach (with --axon.ip 0.0.0.0 to listen on all interfaces), or use sn27 devchain / sn27 devnet, which accept 127.0.0.1", ip, err)
		}
		return fmt.Errorf("serve_axon: %w", err)
	}
	mn.log.Info("axon served on chain", "uid", me.UID, "ip", ip, "port", mn.cfg.ExternalPort, "version", mn.cfg.AxonVersion)
	return nil
}

// Run starts the miner and serves until ctx ends; it returns after every
// goroutine it started has stopped.
func (mn *Miner) Run(ctx context.Context) error {
	if err := mn.Start(ctx); err != nil {
		return err
	}
	ln := mn.deps.Listener
	if ln == nil {
		var err error
		ln, err = net.Listen("tcp", net.JoinHostPort(mn.cfg.AxonIP, strconv.Itoa(mn.cfg.AxonPort)))
		if err != nil {
			return fmt.Errorf("axon listen: %w", err)
		}
	}
	kern, _ := pow.KernelAuto.Resolve() // an unknown SN27_POW_KERNEL shows as ""
	mn.log.Info("axon listening", "addr", ln.Addr().String(), "solver", mn.deps.Solver.Name(), "native_kernel", string(kern))
	close(mn.ready)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	errc := make(chan error, 3)
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := mn.ax.Serve(ctx, ln); err != nil {
			errc <- err
			cancel()
		}
	}()
	wg.Add(1)
	go func() {
		defer wg.Done()
		mn.refreshLoop(ctx)
	}()
	if w, ok := mn.deps.Allocator.(watcher); ok {
		// Rentals' promises: firewall rules repaired, disk limits watched.
		wg.Add(1)
		go func() {
			defer wg.Done()
			w.Watch(ctx)
		}()
	}
	if c, ok := mn.deps.Solver.(calibrator); ok {
		// In the background: the miner answers at once, with the solver's
		// defaults until the measurement is done.
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := c.Calibrate(ctx); err != nil && ctx.Err() == nil {
				mn.log.Warn("solver calibration failed; it keeps its defaults", "solver", mn.deps.Solver.Name(), "err", err)
			}
		}()
	}
	if mn.cfg.MetricsAddr != "" && mn.deps.Registry != nil {
		srv := &http.Server{Addr: mn.cfg.MetricsAddr, Handler: promhttp.HandlerFor(mn.deps.Registry, promhttp.HandlerOpts{}), ReadHeaderTimeout: 5 * time.Second}
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-ctx.Done()
			sctx, c := context.WithTimeout(context.Background(), 2*time.Second)
			defer c()
			_ = srv.Shutdown(sctx)
		}()
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
				errc <- fmt.Errorf("metrics server: %w", err)
				cancel()
			}
		}()
	}
	<-ctx.Done()
	wg.Wait()
	mn.log.Info("miner stopped")
	select {
	case err := <-errc:
		return err
	default:
		return nil
	}
}

func (mn *Miner) refreshLoop(ctx context.Context) {
	t := time.NewTicker(mn.cfg.MetagraphRefresh)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if _, err := mn.refreshMetagraph(ctx); err != nil && ctx.Err() == nil {
				mn.log.Warn("metagraph refresh failed; keeping the previous copy", "err", err)
			}
		}
	}
}

func (mn *Miner) caller(ctx context.Context) keys.Hotkey {
	r, _ := axon.Caller(ctx)
	return r.Hotkey
}

// drainer is an Allocator that can stop taking requests before a restart.
type drainer interface {
	Drain() (ok bool, why string)
	Undrain()
}

// Quiesce says whether restarting the miner now (into an update) would
// disturb nothing: no challenge is being answered and no allocation
// request served. When so, allocation requests are refused, with a
// reason, until the restart or Resume. Rentals held are not disturbed by
// a restart: their containers run on and the next start resumes them.
// It makes the miner an update.Quiescer.
func (mn *Miner) Quiesce() (bool, string) {
	if n := mn.solving.Load(); n > 0 {
		return false, fmt.Sprintf("%d challenge(s) being answered", n)
	}
	if d, ok := mn.deps.Allocator.(drainer); ok {
		return d.Drain()
	}
	return true, ""
}

// Resume serves allocation requests again after Quiesce.
func (mn *Miner) Resume() {
	if d, ok := mn.deps.Allocator.(drainer); ok {
		d.Undrain()
	}
}

// handleChallenge validates, queues by priority and solves one challenge.
func (mn *Miner) handleChallenge(ctx context.Context, req *protocol.Challenge) error {
	mn.solving.Add(1)
	defer mn.solving.Add(-1)
	answer := func(o protocol.ChallengeOutput) error { req.SetAnswer(o); return nil }
	fail := func(result, msg string) error {
		mn.m.challenges.WithLabelValues(result).Inc()
		return answer(protocol.ChallengeOutput{Error: protocol.Str(msg)})
	}
	c := pow.Challenge{
		Hash: req.ChallengeHash, Salt: req.ChallengeSalt, Mode: req.ChallengeMode,
		Chars: req.ChallengeChars, Mask: req.ChallengeMask, Difficulty: int(req.ChallengeDifficulty),
	}
	if _, err := pow.Parse(c, pow.Limits{}); err != nil {
		return fail("invalid", "invalid challenge: "+err.Error())
	}
	mn.m.queueLength.Inc()
	err := mn.queue.Acquire(ctx, Priority(mn.meta.Load(), mn.caller(ctx), PriorityChallenge))
	mn.m.queueLength.Dec()
	if err != nil {
		return fail("dropped", "deadline passed while queued; not solved")
	}
	defer mn.queue.Release()
	if ctx.Err() != nil {
		return fail("dropped", "deadline passed while queued; not solved")
	}
	start := mn.now()
	ans, err := mn.deps.Solver.Solve(ctx, c)
	el := mn.now().Sub(start)
	mn.m.solveSeconds.Observe(el.Seconds())
	if err != nil {
		mn.log.Info("challenge not solved", "difficulty", c.Difficulty, "err", err, "seconds", el.Seconds())
		return fail("failed", err.Error())
	}
	if ans.Tried > 0 && el > 0 {
		mn.m.hashRate.Set(float64(ans.Tried) / el.Seconds())
	}
	mn.m.challenges.WithLabelValues("solved").Inc()
	secs := el.Seconds()
	mn.log.Debug("challenge solved", "difficulty", c.Difficulty, "seconds", secs, "solver", mn.deps.Solver.Name())
	return answer(protocol.ChallengeOutput{Password: protocol.Str(ans.Password), LocalExecutionTime: &secs})
}

// handleSpecs answers the hardware report as a JSON string.
func (mn *Miner) handleSpecs(ctx context.Context, req *protocol.Specs) error {
	mn.m.specsRequests.Inc()
	var rep hwspec.Report
	if mn.deps.Specs != nil {
		var err error
		if rep, err = mn.deps.Specs.Read(ctx); err != nil {
			return fmt.Errorf("read specs: %w", err)
		}
	}
	b, err := json.Marshal(rep)
	if err != nil {
		return err
	}
	req.SpecsOutput = string(b)
	return nil
}

// handleAllocate delegates to the allocation component.
func (mn *Miner) handleAllocate(ctx context.Context, req *protocol.Allocate) error {
	if mn.deps.Allocator == nil {
		req.Output = json.RawMessage(`{"status":false}`)
		return nil
	}
	return mn.deps.Allocator.Allocate(ctx, mn.caller(ctx), req)
}
