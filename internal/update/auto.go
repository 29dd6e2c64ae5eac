package update

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// Quiescer is a daemon that a restart could disturb: a miner serving an
// allocation request or solving a challenge, a validator in a round.
type Quiescer interface {
	// Quiesce says whether nothing a restart would disturb is running.
	// When it is (true), the daemon takes no more such work until it
	// stops or Resume is called; when not (false), why says what runs,
	// and the daemon goes on as before.
	Quiesce() (ok bool, why string)
	// Resume takes work again after a Quiesce that returned true: the
	// update failed after it.
	Resume()
}

// AutoConfig schedules Auto.
type AutoConfig struct {
	Every  time.Duration // between two checks
	First  time.Duration // before the first check
	Jitter time.Duration // each wait gets a random 0..Jitter more, so that a fleet does not update at once
	Poll   time.Duration // while the daemon is busy, how often Quiesce is asked again
	Log    *slog.Logger
}

// DefaultAutoConfig checks every 6 hours, the first time a few minutes
// after the start.
func DefaultAutoConfig() AutoConfig {
	return AutoConfig{Every: 6 * time.Hour, First: 2 * time.Minute, Jitter: 10 * time.Minute, Poll: 15 * time.Second}
}

// ErrNotWritable says the executable cannot be replaced by this process.
var ErrNotWritable = errors.New("cannot replace the executable")

// CheckInstallable says whether Apply could put a new binary beside the
// executable: a daemon started with --auto-update checks it at once
// rather than failing hours later. It writes and removes an empty file.
func (u *Updater) CheckInstallable() error {
	target, err := u.target()
	if err != nil {
		return err
	}
	dir := filepath.Dir(target)
	f, err := os.CreateTemp(dir, "."+filepath.Base(target)+".check-*")
	if err != nil {
		why := "run it as the executable's owner, or update with sn27 update --apply as root"
		if errors.Is(err, fs.ErrPermission) || errors.Is(err, syscall.EROFS) {
			return fmt.Errorf("%w %s: %v (%s)", ErrNotWritable, target, err, why)
		}
		return fmt.Errorf("%w %s: %v", ErrNotWritable, target, err)
	}
	f.Close()
	return os.Remove(f.Name())
}

// Auto checks the source on cfg's schedule. When it offers a newer
// release, Auto downloads and checks it, waits until q.Quiesce says
// nothing a restart would disturb is running (asking every cfg.Poll),
// installs it, and returns: the caller stops the daemon and starts the
// new binary. Failures (the source unreachable, a bad signature, a
// checksum) are logged, replace nothing and are tried again at the next
// check; the daemon is resumed if it was quiesced. Auto returns ctx's
// error when ctx ends first.
func (u *Updater) Auto(ctx context.Context, cfg AutoConfig, q Quiescer) (Result, error) {
	def := DefaultAutoConfig()
	if cfg.Every <= 0 {
		cfg.Every = def.Every
	}
	if cfg.Poll <= 0 {
		cfg.Poll = def.Poll
	}
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("component", "auto-update")
	wait := cfg.First
	for {
		if cfg.Jitter > 0 {
			wait += rand.N(cfg.Jitter)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return Result{}, ctx.Err()
		case <-t.C:
		}
		wait = cfg.Every
		a, err := u.Check(ctx)
		switch {
		case ctx.Err() != nil:
			return Result{}, ctx.Err()
		case err != nil:
			log.Warn("update check failed; trying again at the next check", "source", u.src.String(), "err", err, "next_in", cfg.Every)
			continue
		case !a.Newer():
			log.Debug("no newer release", "current", a.Current, "release", a.Manifest.Version)
			continue
		}
		log.Info("newer release available; installing it once nothing a restart would disturb is running", "current", a.Current, "release", a.Manifest.Version)
		quiesced := false
		res, err := u.apply(ctx, a, func(ctx context.Context) error {
			if err := waitQuiet(ctx, q, cfg.Poll, log); err != nil {
				return err
			}
			quiesced = true
			return nil
		})
		if err != nil {
			if quiesced {
				q.Resume()
			}
			if ctx.Err() != nil {
				return Result{}, ctx.Err()
			}
			log.Warn("update not installed; nothing replaced, trying again at the next check", "release", a.Manifest.Version, "err", err, "next_in", cfg.Every)
			continue
		}
		log.Info("update installed; restarting into it", "from", a.Current, "to", res.Manifest.Version, "executable", res.Target, "previous", res.Previous)
		return res, nil
	}
}

// waitQuiet asks q until it is quiet or ctx ends; it logs what it waits
// for when that changes.
func waitQuiet(ctx context.Context, q Quiescer, poll time.Duration, log *slog.Logger) error {
	last := ""
	for {
		ok, why := q.Quiesce()
		if ok {
			return nil
		}
		if why != last {
			log.Info("update waits: a restart now would disturb work", "busy", why)
			last = why
		}
		t := time.NewTimer(poll)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}
