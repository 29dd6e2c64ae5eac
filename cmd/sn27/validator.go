package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/spf13/cobra"

	"github.com/sn27/sn27/internal/chain"
	"github.com/sn27/sn27/internal/dashboard"
	"github.com/sn27/sn27/internal/dendrite"
	"github.com/sn27/sn27/internal/store"
	"github.com/sn27/sn27/internal/validator"
	"github.com/sn27/sn27/internal/wallet"
)

func newValidatorCmd() *cobra.Command {
	var (
		cfg         = validator.DefaultConfig()
		sf          subtensorFlags
		wf          walletFlags
		lf          loggingFlags
		netuid      uint16
		configFile  string
		dataDir     string
		metricsPort int
		externalIP  string
		dashAddr    string
		auto        autoUpdateFlags
	)
	cmd := &cobra.Command{
		Use:   "validator",
		Short: "Run an SN27 validator: challenge miners, score them, set weights",
		Long: `Run an SN27 validator for the wallet's hotkey. Driven by chain blocks, it syncs the metagraph,
challenges the queryable miners (serving, below the validator stake, not blacklisted, one uid per IP,
axon version >= 183) with proof-of-work rounds at each miner's own difficulty, verifies answers and
measures time itself, keeps the history in SQLite under --data.dir, scores miners (--validator.scoring
v15, seed, or pog: verified GPUs only) and sets weights every --validator.weights.every blocks. With
--validator.pog (on by default) it proves the GPUs miners claim in a short test allocation on each
(docs/proof-of-gpu.md), signs the verdicts and serves them on --validator.feed.addr (GET /v1/verdicts). On a subnet with commit-reveal
weights on it commits them instead, as the runtime wants: where it has hash commit-reveal only (spec 218)
it commits the weights' hash and reveals them in the reveal epoch (salt and weights wait in validator.db,
so a restart between commit and reveal still reveals); where it has timelocked commits
(CommitRevealWeightsVersion) it sends those, and the chain reveals them itself.
With --auto-update it installs newer signed releases from --update.url (checked every
--auto-update.every) and restarts into them in place, never mid-round: only between blocks' work and
with no proof of GPU running (weights committed and not yet revealed are kept for the next start).
The packaged sn27-validator runs as the sn27 user with /usr read-only, so it cannot replace
/usr/bin/sn27 and refuses --auto-update at the start; update it as root (sn27 update --apply, or apt).
Settings: flags, else SN27_<FLAG> environment variables, else --config FILE (JSON), else defaults.`,
		Example: `  sn27 validator --wallet.name validator --netuid 27
  sn27 validator --subtensor.network local --netuid 1 --validator.challenge.batch.size 64 --metrics.port 9101
  sn27 validator --wallet.name validator --netuid 27 --auto-update --update.url https://releases.example.com/sn27/stable`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := applyConfig(cmd.Flags(), configFile); err != nil {
				return withCode(exitBadInput, err)
			}
			cfg.NetUID = chain.NetUID(netuid)
			if metricsPort > 0 {
				cfg.MetricsAddr = fmt.Sprintf(":%d", metricsPort)
			}
			upd, err := auto.updater()
			if err != nil {
				return withCode(exitBadInput, err)
			}
			log := lf.logger(os.Stderr)
			ctx := cmd.Context()
			hot, err := wf.wallet(cmd).LoadHotkey(ctx)
			if err != nil {
				return walletError(err)
			}
			dir, err := wallet.ExpandPath(dataDir)
			if err != nil {
				return withCode(exitBadInput, err)
			}
			st, err := store.Open(ctx, filepath.Join(dir, "validator.db"))
			if err != nil {
				return err
			}
			defer st.Close()
			c, err := sf.dial(ctx)
			if err != nil {
				return err
			}
			defer c.Close()
			d, err := dendrite.New(hot, dendrite.Config{ExternalIP: externalIP})
			if err != nil {
				return err
			}
			defer d.Close()
			reg := prometheus.NewRegistry()
			reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
			v, err := validator.New(cfg, validator.Deps{Hotkey: hot, Chain: c, Store: st, Dendrite: d, Log: log, Registry: reg})
			if err != nil {
				return withCode(exitBadInput, err)
			}
			ac := auto.autoConfig(log)
			if dashAddr == "" {
				return runUpdating(ctx, upd, ac, v, v.Run)
			}
			// The dashboard runs beside the validator and stops with it.
			ds, err := dashboard.New(dashboard.Config{Addr: dashAddr}, dashboard.StoreSource{
				Chain: c, NetUID: cfg.NetUID, Store: st, Window: cfg.StatsWindow, Score: v.Scores,
			}, log)
			if err != nil {
				return withCode(exitBadInput, err)
			}
			ctx, cancel := context.WithCancel(ctx)
			defer cancel()
			derr := make(chan error, 1)
			go func() { derr <- ds.Run(ctx) }()
			err = runUpdating(ctx, upd, ac, v, v.Run)
			cancel()
			return errors.Join(err, <-derr)
		},
	}
	f := cmd.Flags()
	wf.register(f)
	sf.register(f)
	lf.register(f)
	auto.register(f)
	f.StringVar(&configFile, "config", "", "JSON file of settings keyed by flag name")
	f.Uint16Var(&netuid, "netuid", uint16(cfg.NetUID), "subnet")
	f.StringVar(&dataDir, "data.dir", "~/.sn27/validator", "where the validator keeps its SQLite history")
	f.IntVar(&metricsPort, "metrics.port", 0, "serve Prometheus /metrics on this port (0: off)")
	f.StringVar(&externalIP, "axon.external_ip", "", "this validator's public IP, sent to miners (bt_header_dendrite_ip)")
	f.StringVar(&dashAddr, "dashboard.addr", "", "serve the dashboard on this address, e.g. 127.0.0.1:8080 (empty: off)")
	f.StringVar(&cfg.Scoring, "validator.scoring", "v15", "v15 (SN27 v1.5.1 formula; also v1.5), seed (the guide's formula) or pog (verified GPUs only: gpu_score(model) × min(count, 8))")
	f.BoolVar(&cfg.PoG, "validator.pog", cfg.PoG, "prove the GPUs miners claim in a short test allocation (docs/proof-of-gpu.md); verdicts decide what renters are shown")
	f.Uint64Var(&cfg.PoGEvery, "validator.pog.every", cfg.PoGEvery, "blocks between two proofs of one miner")
	f.Uint64Var(&cfg.PoGDelayMax, "validator.pog.delay", cfg.PoGDelayMax, "a miner's first proof waits a random 0..N blocks")
	f.IntVar(&cfg.PoGConcurrent, "validator.pog.concurrent", cfg.PoGConcurrent, "proofs run at once")
	f.Int64Var(&cfg.PoGTimeline, "validator.pog.timeline", cfg.PoGTimeline, "minutes of the test allocation (given back as soon as the proof ends)")
	f.StringVar(&cfg.PoGBinary, "validator.pog.binary", "", "the prover binary copied into the test container (default: this sn27)")
	f.StringVar(&cfg.PoGModels, "validator.pog.models", "", "a model table JSON file (default: the one built in; see internal/pog/models.json)")
	f.BoolVar(&cfg.PoGTestModels, "validator.pog.test-models", false, "also use the table's test-only entries (PoCL CPU): devnets and tests, never mainnet")
	f.StringVar(&cfg.FeedAddr, "validator.feed.addr", "127.0.0.1:8095", "serve the signed verdict feed GET /v1/verdicts here (empty: off)")
	f.IntVar(&cfg.DifficultyMin, "validator.difficulty.min", cfg.DifficultyMin, "smallest challenge difficulty")
	f.IntVar(&cfg.DifficultyMax, "validator.difficulty.max", cfg.DifficultyMax, "largest challenge difficulty")
	f.IntVar(&cfg.AlphabetSize, "validator.alphabet.size", cfg.AlphabetSize, "characters per challenge alphabet")
	f.DurationVar(&cfg.PowTimeout, "validator.pow.timeout", cfg.PowTimeout, "time a miner has to answer a challenge")
	f.IntVar(&cfg.BatchSize, "validator.challenge.batch.size", cfg.BatchSize, "miners challenged concurrently")
	f.Uint64Var(&cfg.ChallengeEveryMin, "validator.challenge.every.min", cfg.ChallengeEveryMin, "blocks between challenge rounds (random in min..max)")
	f.Uint64Var(&cfg.ChallengeEveryMax, "validator.challenge.every.max", cfg.ChallengeEveryMax, "blocks between challenge rounds (random in min..max)")
	f.Uint64Var(&cfg.SpecsEvery, "validator.specs.every", cfg.SpecsEvery, "blocks between hardware queries")
	f.Uint64Var(&cfg.SyncEvery, "validator.sync.every", cfg.SyncEvery, "blocks between metagraph syncs")
	f.Uint64Var(&cfg.WeightsEvery, "validator.weights.every", cfg.WeightsEvery, "blocks between weights rounds: set_weights, or a hash commit revealed in its window when the subnet has commit-reveal on (never more often than the chain's weights rate limit)")
	f.Uint64Var(&cfg.RentalsEvery, "validator.rentals.every", cfg.RentalsEvery, "blocks between status checks of allocated miners (still holding the rental?)")
	f.DurationVar(&cfg.BlockPoll, "validator.block.poll", cfg.BlockPoll, "how often the best block is read")
	f.BoolVar(&cfg.PerformHardwareQuery, "validator.perform.hardware.query", cfg.PerformHardwareQuery, "ask miners for their Specs on --validator.specs.every (replaces the reference's wandb)")
	f.StringSliceVar(&cfg.BlacklistHotkeys, "blacklist.hotkeys", nil, "miner hotkeys never challenged (comma-separated)")
	f.StringSliceVar(&cfg.BlacklistColdkeys, "blacklist.coldkeys", nil, "miner coldkeys never challenged (comma-separated)")
	return cmd
}
