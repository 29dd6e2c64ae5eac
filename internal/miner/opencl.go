package miner

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sn27/sn27/internal/opencl"
	"github.com/sn27/sn27/internal/pow"
)

// OpenCLSolver runs our OpenCL kernel in process (opencl.Solver). A
// challenge the kernel cannot take (password over 16 bytes, password and
// salt over 128) or a device failure goes to the native solver, so the
// miner keeps answering; after a device failure every challenge does.
type OpenCLSolver struct {
	OpenCL *opencl.Solver
	Native *pow.Solver
	Log    *slog.Logger // nil: discard

	warned atomic.Bool // the device failure was logged
}

// Name implements Solver.
func (s *OpenCLSolver) Name() string { return "opencl" }

// Solve implements Solver.
func (s *OpenCLSolver) Solve(ctx context.Context, c pow.Challenge) (Answer, error) {
	t, err := pow.Parse(c, pow.Limits{})
	if err != nil {
		return Answer{}, err
	}
	res, err := s.OpenCL.Solve(ctx, t)
	if err == nil || errors.Is(err, pow.ErrExhausted) || ctx.Err() != nil {
		return Answer{Password: res.Password, Tried: res.Tried}, err
	}
	log := s.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	switch {
	case errors.Is(err, opencl.ErrUnsupported):
		log.Debug("challenge outside the opencl kernel; the native solver takes it", "err", err)
	case !s.warned.Swap(true):
		log.Error("opencl solver failed; the native solver answers from now on", "device", s.OpenCL.Device().String(), "err", err)
	}
	nres, nerr := s.Native.Solve(ctx, t)
	return Answer{Password: nres.Password, Tried: res.Tried + nres.Tried}, nerr
}

// newOpenCL builds the OpenCL solver, or logs why it cannot and returns nil.
func newOpenCL(cfg opencl.Config, native *pow.Solver, log *slog.Logger) (*OpenCLSolver, error) {
	s, err := opencl.New(cfg)
	if err != nil {
		return nil, err
	}
	log.Info("opencl solver ready", "device", s.Device().String(), "type", s.Device().Type, "mhs", s.Rate()/1e6)
	return &OpenCLSolver{OpenCL: s, Native: native, Log: log}, nil
}

// AutoOpenCLRatio: auto keeps the OpenCL solver on a GPU when its rate is at
// least this part of hashcat's; below it hashcat's speed is worth its
// seconds of start-up on the long challenges.
const AutoOpenCLRatio = 0.8

// AutoSolver is --miner.solver auto on a GPU machine where both the OpenCL
// solver and hashcat work: it answers with the OpenCL solver (no start-up
// per challenge) and, once Calibrate has measured both on the GPU, keeps it
// when its rate is at least AutoOpenCLRatio times hashcat's, else switches
// to hashcat.
type AutoSolver struct {
	OpenCL  *OpenCLSolver
	Hashcat HashcatSolver
	Log     *slog.Logger // nil: discard

	mu     sync.Mutex
	chosen Solver // nil until calibrated: OpenCL
}

func (a *AutoSolver) current() Solver {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.chosen == nil {
		return a.OpenCL
	}
	return a.chosen
}

// Name implements Solver: the solver in use.
func (a *AutoSolver) Name() string { return a.current().Name() }

// Solve implements Solver.
func (a *AutoSolver) Solve(ctx context.Context, c pow.Challenge) (Answer, error) {
	return a.current().Solve(ctx, c)
}

// Calibrate measures hashcat (a 2 s benchmark) and the OpenCL solver (a
// second) on the same challenge and picks one (see AutoSolver).
func (a *AutoSolver) Calibrate(ctx context.Context) error {
	c := calibrationChallenge()
	hr, err := a.Hashcat.Runner.Benchmark(ctx, c, 2*time.Second)
	if err != nil {
		return fmt.Errorf("measure hashcat: %w", err)
	}
	t, err := pow.Parse(c, pow.Limits{})
	if err != nil {
		return err
	}
	octx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	start := time.Now()
	res, _ := a.OpenCL.OpenCL.Solve(octx, t)
	el := time.Since(start)
	if ctx.Err() != nil {
		return fmt.Errorf("measure the opencl solver: %w", ctx.Err())
	}
	if res.Tried == 0 {
		return errors.New("measure the opencl solver: no candidates tried")
	}
	ocl := float64(res.Tried) / el.Seconds()
	var chosen Solver = a.OpenCL
	if ocl < AutoOpenCLRatio*hr.HashesPerSecond {
		chosen = a.Hashcat
	}
	a.mu.Lock()
	a.chosen = chosen
	a.mu.Unlock()
	if a.Log != nil {
		a.Log.Info("auto solver calibrated", "chosen", chosen.Name(), "opencl_mhs", ocl/1e6, "hashcat_mhs", hr.HashesPerSecond/1e6,
			"hashcat_devices", hr.Devices, "opencl_device", a.OpenCL.OpenCL.Device().String())
	}
	return nil
}

// calibrationChallenge has 10^12 candidates and a password outside them:
// no answer in time.
func calibrationChallenge() pow.Challenge {
	const salt = "5c1b7e0a9d3f6284"
	return pow.Challenge{Hash: pow.HashString("-", salt), Salt: salt, Mode: pow.Mode, Chars: "abcdefghij", Mask: "?1?1?1?1?1?1?1?1?1?1?1?1"}
}
