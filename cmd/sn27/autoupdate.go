package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/spf13/pflag"

	"github.com/sn27/sn27/internal/update"
)

// autoUpdateFlags are --auto-update and its settings, on the daemons that
// run for months (miner, validator).
type autoUpdateFlags struct {
	on      bool
	url     string
	keys    []string
	channel string
	every   time.Duration
	target  string // hidden: the executable to replace (tests)
}

func (a *autoUpdateFlags) register(f *pflag.FlagSet) {
	f.BoolVar(&a.on, "auto-update", false, "install newer signed releases from --update.url on a schedule and restart into them, never while a restart would disturb work (off by default; see sn27 update --help)")
	f.StringVar(&a.url, "update.url", "", "with --auto-update: where releases are published (https:// or http:// base URL, file:// URL or a directory)")
	f.StringSliceVar(&a.keys, "update.trusted-key", nil, "with --auto-update: minisign public key file trusted to sign releases, besides the built-in release key (repeatable)")
	f.StringVar(&a.channel, "update.channel", "stable", "with --auto-update: the release channel to follow")
	f.DurationVar(&a.every, "auto-update.every", update.DefaultAutoConfig().Every, "with --auto-update: time between two checks (a random 0-10 min is added)")
	f.StringVar(&a.target, "update.target", "", "the executable --auto-update replaces instead of this one")
	if err := f.MarkHidden("update.target"); err != nil {
		panic(err)
	}
}

// updater checks the flags: nil when --auto-update is off; an error when
// it is on and could not work (no source, an unreadable key, an
// executable this process cannot replace), said at the start rather than
// at the first release.
func (a *autoUpdateFlags) updater() (*update.Updater, error) {
	if !a.on {
		return nil, nil
	}
	if a.every < time.Minute && a.target == "" {
		return nil, fmt.Errorf("--auto-update.every %v: at least 1m", a.every)
	}
	cfg := update.DefaultConfig()
	cfg.Source, cfg.Channel, cfg.Target = a.url, a.channel, a.target
	if cfg.Source == "" {
		return nil, fmt.Errorf("--auto-update: %w", update.ErrNoSource)
	}
	for _, p := range a.keys {
		k, err := update.ReadKeyFile(p)
		if err != nil {
			return nil, fmt.Errorf("--update.trusted-key: %w", err)
		}
		cfg.Keys = append(cfg.Keys, k)
	}
	u, err := update.New(cfg)
	if err != nil {
		return nil, fmt.Errorf("--auto-update: %w", err)
	}
	if err := u.CheckInstallable(); err != nil {
		return nil, fmt.Errorf("--auto-update: %w", err)
	}
	return u, nil
}

// autoConfig is the schedule; tests (--update.target) check at once.
func (a *autoUpdateFlags) autoConfig(log *slog.Logger) update.AutoConfig {
	c := update.DefaultAutoConfig()
	c.Every, c.Log = a.every, log
	if a.target != "" {
		c.First, c.Jitter, c.Poll = 0, 0, 50*time.Millisecond
	}
	return c
}

// exitRestartFailed: an update was installed but exec(2) of it failed;
// systemd's Restart=on-failure then starts the new binary.
const exitRestartFailed = 75

// restart is the executable to start in this process's place once the
// command returns (main execs it); "" when none.
var restart struct {
	sync.Mutex
	target string
}

func requestRestart(target string) {
	restart.Lock()
	defer restart.Unlock()
	restart.target = target
}

// takeRestart returns and clears the requested restart.
func takeRestart() string {
	restart.Lock()
	defer restart.Unlock()
	t := restart.target
	restart.target = ""
	return t
}

// runUpdating runs daemon until ctx ends. With an updater, the update
// schedule runs beside it: once a release is installed (the daemon
// quiesced first), the daemon is stopped, and when the command has
// returned and closed what it opened, main starts the new binary in this
// process's place, with the same arguments (systemd sees the same
// process; were the exec to fail, sn27 exits with an error and systemd's
// Restart= starts the new binary).
func runUpdating(ctx context.Context, u *update.Updater, ac update.AutoConfig, q update.Quiescer, daemon func(context.Context) error) error {
	if u == nil {
		return daemon(ctx)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type applied struct {
		res update.Result
		err error
	}
	done := make(chan applied, 1)
	go func() {
		res, err := u.Auto(ctx, ac, q)
		if err == nil {
			cancel() // stop the daemon: the new binary takes over
		}
		done <- applied{res, err}
	}()
	err := daemon(ctx)
	cancel()
	a := <-done
	if a.err != nil {
		return err // the daemon stopped by itself or on a signal
	}
	if err != nil && !errors.Is(err, context.Canceled) && ac.Log != nil {
		ac.Log.Warn("stopping for the update", "err", err)
	}
	requestRestart(a.res.Target)
	return nil
}
