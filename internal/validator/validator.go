// Package validator is the SN27 validator daemon: driven by chain blocks it
// syncs the metagraph, challenges queryable miners with proof-of-work
// rounds (each miner at its own difficulty), verifies answers and timings
// itself, keeps the history in SQLite, scores miners (SN27 v1.5.1 or the
// guide's formula) and sets weights on chain.
package validator

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/sn27/sn27/internal/chain"
	"github.com/sn27/sn27/internal/dendrite"
	"github.com/sn27/sn27/internal/keys"
	"github.com/sn27/sn27/internal/pow"
	"github.com/sn27/sn27/internal/protocol"
	"github.com/sn27/sn27/internal/rental"
	"github.com/sn27/sn27/internal/scoring"
	"github.com/sn27/sn27/internal/store"
)

// Chain is what the validator needs of subtensor.
type Chain interface {
	Neurons(ctx context.Context, netuid chain.NetUID) ([]chain.Neuron, error)
	BlockNumber(ctx context.Context) (uint64, error)
	SetWeights(ctx context.Context, hotkey *keys.Pair, netuid chain.NetUID, uids []chain.UID, weights []float64, versionKey uint64) (*chain.Receipt, error)
	Hyperparameter(ctx context.Context, item string, netuid chain.NetUID) (uint64, error)
	// Commit-reveal.
	CommitReveal(ctx context.Context, netuid chain.NetUID) (chain.CommitReveal, error)
	CommitWeights(ctx context.Context, hotkey *keys.Pair, netuid chain.NetUID, uids, values, salt []uint16, versionKey uint64) (*chain.Commit, error)
	RevealWeights(ctx context.Context, hotkey *keys.Pair, netuid chain.NetUID, uids, values, salt []uint16, versionKey uint64) (*chain.Receipt, error)
	RevealPhase(ctx context.Context, netuid chain.NetUID, w chain.RevealWindow) (chain.RevealPhase, error)
	FindCommit(ctx context.Context, netuid chain.NetUID, hotkey keys.PublicKey, hash [32]byte) (*chain.Commit, bool, error)
}

// Deps are the validator's collaborators.
type Deps struct {
	Hotkey   *keys.Pair
	Chain    Chain
	Store    *store.Store
	Dendrite *dendrite.Dendrite
	Log      *slog.Logger
	Registry *prometheus.Registry
	Now      func() time.Time
}

// Validator is the daemon.
type Validator struct {
	cfg  Config
	deps Deps
	log  *slog.Logger
	m    *metrics
	rnd  *rand.Rand

	mu        sync.Mutex // guards neurons
	neurons   []chain.Neuron
	lastRound RoundReport

	pog *pogState

	// round is held while a block's work runs (sync, challenges, specs,
	// proofs started, weights) and by a Quiesce before a restart.
	round chan struct{}

	// timelock builds the timelock commit-reveal path (nil: not supported
	// yet, the round logs why and sets nothing).
	timelock func(chain.CommitReveal) weightSetter
}

// New builds a validator.
func New(cfg Config, deps Deps) (*Validator, error) {
	if deps.Hotkey == nil || deps.Chain == nil || deps.Store == nil || deps.Dendrite == nil {
		return nil, errors.New("validator: hotkey, chain, store and dendrite are required")
	}
	if cfg.Scoring == "v15" {
		cfg.Scoring = "v1.5"
	}
	if cfg.Scoring != "v1.5" && cfg.Scoring != "seed" && cfg.Scoring != "pog" {
		return nil, fmt.Errorf("unknown --validator.scoring %q (want v15, seed or pog)", cfg.Scoring)
	}
	if cfg.Scoring == "pog" && !cfg.PoG {
		return nil, errors.New("--validator.scoring pog needs --validator.pog")
	}
	if cfg.PoG && (cfg.PoGEvery == 0 || cfg.PoGConcurrent < 1 || cfg.PoGTimeline < 2) {
		return nil, errors.New("--validator.pog.every and .concurrent must be positive, .timeline at least 2 minutes")
	}
	if cfg.DifficultyMin < 1 || cfg.DifficultyMax < cfg.DifficultyMin || cfg.DifficultyMax > pow.DefaultMaxDifficulty {
		return nil, fmt.Errorf("difficulty range %d..%d: want 1 <= min <= max <= %d", cfg.DifficultyMin, cfg.DifficultyMax, pow.DefaultMaxDifficulty)
	}
	if cfg.ChallengeEveryMax < cfg.ChallengeEveryMin || cfg.ChallengeEveryMin == 0 || cfg.WeightsEvery == 0 || cfg.SyncEvery == 0 || cfg.RentalsEvery == 0 {
		return nil, errors.New("schedules must be positive numbers of blocks (challenge min <= max)")
	}
	if deps.Log == nil {
		deps.Log = slog.New(slog.DiscardHandler)
	}
	if deps.Now == nil {
		deps.Now = time.Now
	}
	var reg prometheus.Registerer
	if deps.Registry != nil {
		reg = deps.Registry
	}
	v := &Validator{
		cfg: cfg, deps: deps, m: newMetrics(reg),
		log:   deps.Log.With("component", "validator", "hotkey", deps.Hotkey.SS58()),
		rnd:   rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 27)),
		round: make(chan struct{}, 1),
	}
	v.timelock = timelockPath(v)
	var err error
	if v.pog, err = newPoGState(cfg); err != nil {
		return nil, err
	}
	return v, nil
}

// Sync reads the metagraph now (it also runs on its schedule in Run).
func (v *Validator) Sync(ctx context.Context) error { return v.sync(ctx) }

// SetWeights scores the miners from the stored history and sends the
// weights now, the way the subnet takes them: set_weights, or with
// commit-reveal on a hash commit that Reveal later reveals (ErrCommitPending
// while an earlier commit waits for its reveal). With no score above zero
// it sends nothing and returns ErrNoScores.
func (v *Validator) SetWeights(ctx context.Context) error {
	if err := v.sync(ctx); err != nil {
		return err
	}
	me := v.self()
	if me == nil {
		return errors.New("validator hotkey not registered")
	}
	uids, ws, err := v.Scores(ctx, v.snapshot())
	if err != nil {
		return err
	}
	if !slices.ContainsFunc(ws, func(w float64) bool { return w > 0 }) {
		return ErrNoScores
	}
	cr, err := v.deps.Chain.CommitReveal(ctx, v.cfg.NetUID)
	if err != nil {
		return fmt.Errorf("read commit-reveal settings: %w", err)
	}
	_, err = v.setterFor(cr).put(ctx, uids, ws)
	return err
}

// sync reads the metagraph and records uid ↔ hotkey (purging the history
// of deregistered hotkeys).
func (v *Validator) sync(ctx context.Context) error {
	ns, err := v.deps.Chain.Neurons(ctx, v.cfg.NetUID)
	if err != nil {
		v.m.chainErrors.WithLabelValues("neurons").Inc()
		return fmt.Errorf("sync metagraph: %w", err)
	}
	ms := make([]store.Miner, len(ns))
	for i, n := range ns {
		ms[i] = store.Miner{UID: uint16(n.UID), Hotkey: string(n.Hotkey)}
	}
	purged, err := v.deps.Store.SyncMiners(ctx, ms)
	if err != nil {
		return err
	}
	for _, h := range purged {
		v.log.Info("uid changed hotkey; old miner's history purged", "hotkey", h)
	}
	v.mu.Lock()
	v.neurons = ns
	v.mu.Unlock()
	return nil
}

// Neurons returns the metagraph as last synced.
func (v *Validator) Neurons() []chain.Neuron { return v.snapshot() }

func (v *Validator) snapshot() []chain.Neuron {
	v.mu.Lock()
	defer v.mu.Unlock()
	return slices.Clone(v.neurons)
}

// Run drives the loop from chain blocks until ctx ends. A round in progress
// finishes and is stored before Run returns.
func (v *Validator) Run(ctx context.Context) error {
	if err := v.sync(ctx); err != nil {
		return err
	}
	me := v.self()
	if me == nil {
		return fmt.Errorf("hotkey %s is not registered on subnet %d; register it first: sn27 subnet register --netuid %d", v.deps.Hotkey.SS58(), v.cfg.NetUID, v.cfg.NetUID)
	}
	path := "unknown"
	if cr, err := v.deps.Chain.CommitReveal(ctx, v.cfg.NetUID); err == nil {
		path = cr.Path().String()
	}
	v.log.Info("validator started", "uid", me.UID, "permit", me.ValidatorPermit, "scoring", v.cfg.Scoring, "weights_path", path)
	// The feed's address is taken first: a busy port stops the start
	// before anything runs.
	var feedLn net.Listener
	if v.cfg.FeedAddr != "" {
		ln, err := net.Listen("tcp", v.cfg.FeedAddr)
		if err != nil {
			return fmt.Errorf("verdict feed (--validator.feed.addr): %w", err)
		}
		feedLn = ln
	}
	var wg sync.WaitGroup
	if v.cfg.MetricsAddr != "" && v.deps.Registry != nil {
		srv := &http.Server{Addr: v.cfg.MetricsAddr, Handler: promhttp.HandlerFor(v.deps.Registry, promhttp.HandlerOpts{}), ReadHeaderTimeout: 5 * time.Second}
		wg.Add(2)
		go func() {
			defer wg.Done()
			if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
				v.log.Error("metrics server", "err", err)
			}
		}()
		go func() {
			defer wg.Done()
			<-ctx.Done()
			sctx, c := context.WithTimeout(context.Background(), 2*time.Second)
			defer c()
			_ = srv.Shutdown(sctx)
		}()
	}
	if feedLn != nil {
		srv := &http.Server{Handler: v.VerdictsHandler(), ReadHeaderTimeout: 5 * time.Second}
		ln := feedLn
		v.log.Info("verdict feed", "url", "http://"+ln.Addr().String()+"/v1/verdicts")
		wg.Add(2)
		go func() {
			defer wg.Done()
			if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				v.log.Error("verdict feed", "err", err)
			}
		}()
		go func() {
			defer wg.Done()
			<-ctx.Done()
			sctx, c := context.WithTimeout(context.Background(), 2*time.Second)
			defer c()
			_ = srv.Shutdown(sctx)
		}()
	}
	defer wg.Wait()
	defer v.pog.wg.Wait()
	if v.cfg.PoG {
		v.pog.wg.Go(func() { v.giveBackLeftovers(ctx) })
	}

	var nextSync, nextChallenge, nextSpecs, nextWeights, nextRentals uint64
	if s, ok, _ := v.deps.Store.Meta(ctx, "next_weights_block"); ok {
		fmt.Sscan(s, &nextWeights)
	}
	tick := time.NewTicker(v.cfg.BlockPoll)
	defer tick.Stop()
	var last uint64
	for {
		select {
		case <-ctx.Done():
			v.log.Info("validator stopped")
			return nil
		case <-tick.C:
		}
		b, err := v.deps.Chain.BlockNumber(ctx)
		if err != nil {
			if ctx.Err() == nil {
				v.m.chainErrors.WithLabelValues("block").Inc()
				v.log.Warn("read block number", "err", err)
			}
			continue
		}
		if b == last {
			continue
		}
		select {
		case v.round <- struct{}{}:
		default:
			continue // quiesced: a restart is coming
		}
		last = b
		if b >= nextSync {
			if err := v.sync(ctx); err != nil && ctx.Err() == nil {
				v.log.Warn("metagraph sync failed", "err", err)
			}
			nextSync = b + v.cfg.SyncEvery
		}
		if b >= nextRentals {
			v.RentalsRound(ctx)
			nextRentals = b + v.cfg.RentalsEvery
		}
		if b >= nextChallenge {
			// The round runs to the end even if ctx ends, so its results are kept.
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), v.cfg.PowTimeout+10*time.Second)
			rep, err := v.ChallengeRound(rctx, v.snapshot())
			cancel()
			if err != nil {
				v.log.Error("challenge round", "err", err)
			} else {
				v.log.Info("challenge round", "block", b, "queried", rep.Queried, "succeeded", rep.Succeeded, "seconds", rep.Duration.Seconds())
			}
			nextChallenge = b + v.cfg.ChallengeEveryMin + v.rnd.Uint64N(v.cfg.ChallengeEveryMax-v.cfg.ChallengeEveryMin+1)
		}
		if v.cfg.PerformHardwareQuery && b >= nextSpecs {
			v.specsRound(ctx, v.snapshot())
			nextSpecs = b + v.cfg.SpecsEvery
		}
		if v.cfg.PoG {
			v.pogTick(ctx, b)
		}
		if _, recommit, err := v.Reveal(ctx); err != nil && ctx.Err() == nil {
			v.log.Warn("reveal weights", "err", err)
		} else if recommit {
			nextWeights = b
		}
		if b >= nextWeights {
			nextWeights = b + v.setWeights(ctx)
			_ = v.deps.Store.SetMeta(ctx, "next_weights_block", fmt.Sprint(nextWeights))
			// Scoring reads 12 h and the last 20 challenges; a week is plenty.
			if n, err := v.deps.Store.Prune(ctx, v.deps.Now().Add(-7*24*time.Hour)); err != nil {
				v.log.Warn("prune old challenges", "err", err)
			} else if n > 0 {
				v.log.Debug("pruned old challenges", "rows", n)
			}
		}
		<-v.round
	}
}

// Quiesce says whether restarting the validator now (into an update)
// would cut no round short: no block's work (sync, challenge round,
// specs, weights) and no proof of GPU is running. When so, the validator
// starts no more work until it stops or Resume; weights committed and
// waiting for their reveal are kept in the store, so a restart still
// reveals them. It makes the validator an update.Quiescer.
func (v *Validator) Quiesce() (bool, string) {
	select {
	case v.round <- struct{}{}:
	default:
		return false, "a validator round is running (metagraph, challenges, hardware, weights)"
	}
	v.pog.mu.Lock()
	n := len(v.pog.inflight)
	v.pog.mu.Unlock()
	if n > 0 {
		<-v.round
		return false, fmt.Sprintf("%d proof(s) of GPU running", n)
	}
	return true, ""
}

// Resume lets the validator work again after Quiesce.
func (v *Validator) Resume() {
	select {
	case <-v.round:
	default:
	}
}

func (v *Validator) self() *chain.Neuron {
	for _, n := range v.snapshot() {
		if n.Hotkey == v.deps.Hotkey.Hotkey() {
			return &n
		}
	}
	return nil
}

// RentalsRound is the status check of allocated miners: rows past their
// deadline end as expired, and each miner is asked (SN27's checking request,
// with the renter key the rental was made with) whether it still holds its
// rental; one that says no ends as miner_lost. The miner is then challenged
// again and scored without the allocation bonus.
func (v *Validator) RentalsRound(ctx context.Context) []rental.Ended {
	targets := map[string]dendrite.Target{}
	for _, n := range v.snapshot() {
		targets[string(n.Hotkey)] = dendrite.Target{IP: n.Axon.IP, Port: int(n.Axon.Port), Hotkey: n.Hotkey}
	}
	ended, err := rental.Reconciler{Store: v.deps.Store, Caller: v.deps.Dendrite, Log: v.log}.Reconcile(ctx, targets, v.deps.Now())
	if err != nil && ctx.Err() == nil {
		v.log.Warn("rental status check", "err", err)
	}
	for _, e := range ended {
		v.m.rentalsEnded.WithLabelValues(e.Reason).Inc()
		v.log.Info("rental ended; the miner is challenged again", "hotkey", e.Hotkey, "reason", e.Reason)
	}
	return ended
}

// candidates are the miners to challenge now.
func (v *Validator) candidates(ctx context.Context, ns []chain.Neuron) ([]scoring.Candidate, map[uint16]chain.Neuron) {
	allocated, err := v.deps.Store.Allocated(ctx)
	if err != nil {
		v.log.Warn("read allocations", "err", err)
	}
	byUID := map[uint16]chain.Neuron{}
	var cs []scoring.Candidate
	for _, n := range ns {
		if n.Hotkey == v.deps.Hotkey.Hotkey() || allocated[string(n.Hotkey)] {
			continue
		}
		byUID[uint16(n.UID)] = n
		cs = append(cs, scoring.Candidate{
			UID: uint16(n.UID), Hotkey: string(n.Hotkey), IP: n.Axon.IP, Port: n.Axon.Port, AxonVersion: n.Axon.Version,
			StakeTAO:    float64(n.TotalStake()) / 1e9,
			Blacklisted: slices.Contains(v.cfg.BlacklistHotkeys, string(n.Hotkey)) || slices.Contains(v.cfg.BlacklistColdkeys, string(n.Coldkey)),
		})
	}
	return scoring.Queryable(cs, v.cfg.MinAxonVersion, v.cfg.PermitStakeTAO), byUID
}

// RoundReport summarises a challenge round.
type RoundReport struct {
	Queried, Succeeded int
	Duration           time.Duration
	Results            []store.Challenge
}

// ChallengeRound challenges the queryable miners among ns in batches,
// verifies the answers and stores the results in one transaction.
func (v *Validator) ChallengeRound(ctx context.Context, ns []chain.Neuron) (RoundReport, error) {
	start := v.deps.Now()
	cs, byUID := v.candidates(ctx, ns)
	stats, err := v.deps.Store.AllStats(ctx, v.cfg.StatsWindow, start)
	if err != nil {
		return RoundReport{}, err
	}
	type job struct {
		c    scoring.Candidate
		ch   pow.Challenge
		diff int
	}
	jobs := make([]job, 0, len(cs))
	for _, c := range cs {
		st := stats[c.Hotkey]
		d := scoring.NextDifficulty(v.cfg.DifficultyMin, v.cfg.DifficultyMax, scoring.DifficultyHistory{
			Successes: st.Successes, FailedLast20: st.FailedLast20, AvgDifficultyLast20Successes: st.AvgDifficultyLast20Successes,
		})
		ch, _, err := pow.New(nil, pow.Params{Difficulty: d, AlphabetSize: v.cfg.AlphabetSize, MaxDifficulty: v.cfg.DifficultyMax})
		if err != nil {
			return RoundReport{}, err
		}
		jobs = append(jobs, job{c, ch, d})
	}
	rep := RoundReport{Queried: len(jobs)}
	for i := 0; i < len(jobs); i += v.cfg.BatchSize {
		batch := jobs[i:min(i+v.cfg.BatchSize, len(jobs))]
		targets := make([]dendrite.Target, len(batch))
		for j, b := range batch {
			targets[j] = dendrite.Target{IP: b.c.IP, Port: int(b.c.Port), Hotkey: byUID[b.c.UID].Hotkey}
		}
		answers := dendrite.Query(ctx, v.deps.Dendrite, targets, func(j int, _ dendrite.Target) *protocol.Challenge {
			b := batch[j]
			req := protocol.NewChallenge()
			req.ChallengeHash, req.ChallengeSalt, req.ChallengeMode = b.ch.Hash, b.ch.Salt, b.ch.Mode
			req.ChallengeChars, req.ChallengeMask, req.ChallengeDifficulty = b.ch.Chars, b.ch.Mask, int64(b.diff)
			return req
		}, v.cfg.PowTimeout)
		for j, a := range answers {
			b := batch[j]
			res := store.Challenge{UID: b.c.UID, Hotkey: b.c.Hotkey, Difficulty: b.diff, CreatedAt: v.deps.Now(), ElapsedSeconds: a.Dendrite.ProcessTime.V}
			res.Success, res.Error = judge(b.ch, a)
			reason := "success"
			if !res.Success {
				reason = classify(a)
			}
			v.m.challenges.WithLabelValues(reason).Inc()
			if res.Success {
				rep.Succeeded++
			}
			rep.Results = append(rep.Results, res)
		}
	}
	if err := v.deps.Store.AddChallenges(ctx, rep.Results); err != nil {
		return rep, fmt.Errorf("store round: %w", err)
	}
	rep.Duration = v.deps.Now().Sub(start)
	v.m.roundSeconds.Observe(rep.Duration.Seconds())
	v.m.queried.Add(float64(rep.Queried))
	v.mu.Lock()
	v.lastRound = rep
	v.mu.Unlock()
	return rep, nil
}

// judge verifies an answer: success only for a 200 answer whose password
// recomputes to the challenge hash.
func judge(ch pow.Challenge, a *protocol.Challenge) (bool, string) {
	if a.Dendrite.StatusCode.V != http.StatusOK {
		return false, fmt.Sprintf("status %d: %s", a.Dendrite.StatusCode.V, protocol.Deref(a.Dendrite.StatusMessage))
	}
	out, err := a.Answer()
	if err != nil {
		return false, "unparsable output: " + err.Error()
	}
	if out.Password == nil {
		return false, "no password: " + protocol.Deref(out.Error)
	}
	ok, err := pow.Verify(ch.Hash, ch.Salt, *out.Password)
	if err != nil || !ok {
		return false, "wrong password"
	}
	return true, ""
}

// classify names a failure for metrics (bounded label values).
func classify(a *protocol.Challenge) string {
	switch code := a.Dendrite.StatusCode.V; {
	case code == http.StatusRequestTimeout:
		return "timeout"
	case code == http.StatusServiceUnavailable:
		return "unreachable"
	case code != http.StatusOK:
		return "refused"
	}
	if out, err := a.Answer(); err != nil || out.Password == nil {
		return "no_answer"
	}
	return "wrong"
}

// specsRound asks miners for their hardware report.
func (v *Validator) specsRound(ctx context.Context, ns []chain.Neuron) {
	cs, byUID := v.candidates(ctx, ns)
	targets := make([]dendrite.Target, len(cs))
	for i, c := range cs {
		targets[i] = dendrite.Target{IP: c.IP, Port: int(c.Port), Hotkey: byUID[c.UID].Hotkey}
	}
	res := dendrite.Query(ctx, v.deps.Dendrite, targets, func(int, dendrite.Target) *protocol.Specs { return protocol.NewSpecs() }, 60*time.Second)
	for i, r := range res {
		h := cs[i].Hotkey
		if r.Dendrite.StatusCode.V == http.StatusOK && json.Valid([]byte(r.SpecsOutput)) && r.SpecsOutput != "" {
			_ = v.deps.Store.SetSpecs(ctx, h, r.SpecsOutput)
		} else {
			_ = v.deps.Store.MarkNoSpecs(ctx, h)
		}
	}
}

// Scores computes every neuron's score from the stored history.
func (v *Validator) Scores(ctx context.Context, ns []chain.Neuron) ([]chain.UID, []float64, error) {
	now := v.deps.Now()
	stats, err := v.deps.Store.AllStats(ctx, v.cfg.StatsWindow, now)
	if err != nil {
		return nil, nil, err
	}
	allocated, _ := v.deps.Store.Allocated(ctx)
	var credits map[string]float64
	if v.cfg.Scoring == "pog" {
		credits = v.pogCredits(ctx)
	}
	uids := make([]chain.UID, 0, len(ns))
	scores := make([]float64, 0, len(ns))
	for _, n := range ns {
		st, ok := stats[string(n.Hotkey)]
		s := 0.0
		if v.cfg.Scoring == "pog" {
			// Verified GPUs only: a miner that failed or refused has none.
			s = credits[string(n.Hotkey)]
		} else if ok || allocated[string(n.Hotkey)] {
			switch v.cfg.Scoring {
			case "seed":
				if st.Successes > 0 {
					s = scoring.SeedScore(scoring.DefaultSeedParams(), true, st.AvgElapsedSeconds, int(st.AvgDifficultyLast20Successes+0.5), allocated[string(n.Hotkey)])
				}
			default:
				p := scoring.DefaultV15Params()
				p.MinDifficulty, p.MaxDifficulty, p.PowTimeout = v.cfg.DifficultyMin, v.cfg.DifficultyMax, v.cfg.PowTimeout.Seconds()
				s = scoring.V15Score(p, scoring.Stats{
					Attempts: st.Attempts, Successes: st.Successes, AvgDifficultyLast20: st.AvgDifficultyLast20Successes,
					AvgElapsedSeconds: st.AvgElapsedSeconds, FailedLast20: st.FailedLast20,
					Allocated: allocated[string(n.Hotkey)], HasDocker: v.hasDocker(ctx, string(n.Hotkey)),
				})
			}
		}
		uids = append(uids, n.UID)
		scores = append(scores, s)
	}
	return uids, scoring.Normalize(scores), nil
}

func (v *Validator) hasDocker(ctx context.Context, hotkey string) bool {
	js, _, err := v.deps.Store.Specs(ctx, hotkey)
	if err != nil || js == "" {
		return true // unknown: not penalised
	}
	var s struct {
		HasDocker *bool `json:"has_docker"`
	}
	if json.Unmarshal([]byte(js), &s) != nil || s.HasDocker == nil {
		return true
	}
	return *s.HasDocker
}

// setWeights scores and sets weights; it returns the blocks until the next try.
func (v *Validator) setWeights(ctx context.Context) uint64 {
	if err := v.sync(ctx); err != nil {
		v.log.Warn("metagraph sync before weights", "err", err)
	}
	me := v.self()
	if me == nil {
		v.log.Error("hotkey no longer registered on the subnet; not setting weights")
		return v.cfg.WeightsEvery
	}
	if !me.ValidatorPermit {
		v.log.Warn("no validator permit on this subnet yet (stake too low?); weights not set", "uid", me.UID)
		return v.cfg.WeightsEvery
	}
	uids, ws, err := v.Scores(ctx, v.snapshot())
	if err != nil {
		v.log.Error("compute scores", "err", err)
		return 10
	}
	if !slices.ContainsFunc(ws, func(w float64) bool { return w > 0 }) {
		// An all-zero vector is no vector on chain (WeightVecLengthIsLow):
		// wait for a miner to earn a score.
		v.log.Info("no miner has a score yet; weights not set", "neurons", len(uids))
		return max(1, v.cfg.WeightsEvery/10)
	}
	cr, err := v.deps.Chain.CommitReveal(ctx, v.cfg.NetUID)
	if err != nil {
		v.m.chainErrors.WithLabelValues("commit_reveal").Inc()
		v.log.Warn("read commit-reveal settings; weights not set", "err", err)
		return max(1, v.cfg.WeightsEvery/10)
	}
	s := v.setterFor(cr)
	next, err := s.put(ctx, uids, ws)
	switch {
	case err == nil:
	case errors.Is(err, ErrCommitPending):
		v.log.Debug("weights round waits for the pending reveal", "err", err, "next_in_blocks", next)
	case errors.Is(err, chain.ErrSettingWeightsTooFast), errors.Is(err, chain.ErrCommittingWeightsTooFast):
		v.m.chainErrors.WithLabelValues("weights_" + s.name()).Inc()
		v.log.Info("weights rate limited; trying again later", "path", s.name(), "blocks", next)
	default:
		v.m.chainErrors.WithLabelValues("weights_" + s.name()).Inc()
		v.log.Error("weights not set", "path", s.name(), "err", err, "next_in_blocks", next)
	}
	return next
}
