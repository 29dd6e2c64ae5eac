package miner

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os/exec"

	"github.com/sn27/sn27/internal/hashcat"
	"github.com/sn27/sn27/internal/opencl"
	"github.com/sn27/sn27/internal/pow"
)

// Solver cracks a validated challenge.
type Solver interface {
	Solve(ctx context.Context, c pow.Challenge) (Answer, error)
	Name() string
}

// Answer is a solved challenge.
type Answer struct {
	Password string
	Tried    uint64 // candidates hashed, when the solver counts them
}

// NativeSolver is the built-in multi-core solver.
type NativeSolver struct{ Solver *pow.Solver }

// Name implements Solver.
func (NativeSolver) Name() string { return "native" }

// Solve implements Solver.
func (s NativeSolver) Solve(ctx context.Context, c pow.Challenge) (Answer, error) {
	t, err := pow.Parse(c, pow.Limits{})
	if err != nil {
		return Answer{}, err
	}
	res, err := s.Solver.Solve(ctx, t)
	return Answer{Password: res.Password, Tried: res.Tried}, err
}

// HashcatSolver runs hashcat.
type HashcatSolver struct{ Runner *hashcat.Runner }

// Name implements Solver.
func (HashcatSolver) Name() string { return "hashcat" }

// Solve implements Solver.
func (s HashcatSolver) Solve(ctx context.Context, c pow.Challenge) (Answer, error) {
	pw, err := s.Runner.Solve(ctx, c)
	return Answer{Password: pw}, err
}

// NewSolver picks the solver cfg.Solver (--miner.solver) names.
//
//   - "opencl" runs our OpenCL kernel in process on cfg.OpenCL's device (the
//     first GPU, else any device); when OpenCL cannot be used (no ICD loader,
//     no device, a kernel build error) the error is logged and the native
//     solver answers.
//   - "auto" on a machine without a GPU (hasGPU false) is the native
//     solver. With a GPU that OpenCL sees, it is the OpenCL solver, or, when
//     hashcat is installed too, an AutoSolver that measures both at start-up
//     and keeps the OpenCL solver when its rate is at least 0.8x hashcat's.
//     Otherwise it is hashcat when installed, else the native solver.
//   - "hybrid" runs a GPU side and the native solver on the CPU cores
//     together: the OpenCL solver when OpenCL sees a GPU, else hashcat on the
//     GPUs (device types "2" unless cfg.Hashcat sets them).
//
// Its logger is log.
func NewSolver(cfg Config, hasGPU bool, log *slog.Logger) (Solver, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	native := NativeSolver{Solver: &pow.Solver{}}
	if _, err := pow.KernelAuto.Resolve(); err != nil && cfg.Solver != "hashcat" {
		return nil, fmt.Errorf("native solver: %w", err)
	}
	hc := cfg.Hashcat
	switch name := cfg.Solver; name {
	case "native":
		return native, nil
	case "opencl":
		s, err := newOpenCL(cfg.OpenCL, native.Solver, log)
		if err != nil {
			log.Error("--miner.solver opencl unavailable; the native solver answers (sn27 miner doctor lists OpenCL devices)", "err", err)
			return native, nil
		}
		return s, nil
	case "hashcat", "auto":
		if name == "auto" && !hasGPU {
			return native, nil
		}
		if name == "auto" {
			if s := gpuOpenCL(cfg.OpenCL, native.Solver, log); s != nil {
				if _, err := exec.LookPath(hc.Path); err != nil {
					return s, nil
				}
				r, err := hashcat.New(hc)
				if err != nil {
					return s, nil
				}
				return &AutoSolver{OpenCL: s, Hashcat: HashcatSolver{Runner: r}, Log: log}, nil
			}
		}
		if _, err := exec.LookPath(hc.Path); err != nil {
			if name == "auto" {
				return native, nil
			}
			return nil, fmt.Errorf("--miner.solver hashcat: %w", err)
		}
		r, err := hashcat.New(hc)
		if err != nil {
			return nil, err
		}
		return HashcatSolver{Runner: r}, nil
	case "hybrid":
		if s := cfg.HybridNativeShare; s != 0 && !(s > 0 && s < 1) {
			return nil, fmt.Errorf("--miner.hybrid.native.share %v: want 0 < share < 1, or 0 to measure it", s)
		}
		if s := gpuOpenCL(cfg.OpenCL, native.Solver, log); s != nil {
			return &HybridSolver{OpenCL: s.OpenCL, Native: native.Solver, NativeShare: cfg.HybridNativeShare, Log: log}, nil
		}
		if _, err := exec.LookPath(hc.Path); err != nil {
			return nil, fmt.Errorf("--miner.solver hybrid needs hashcat (apt-get install hashcat, or --miner.hashcat.path): %w", err)
		}
		if hc.DeviceTypes == "" {
			if !hasGPU {
				return nil, errors.New("--miner.solver hybrid runs hashcat on the GPUs, but nvidia-smi found none; " +
					"set --miner.hashcat.device.types (2 for other GPUs) or use --miner.solver native")
			}
			hc.DeviceTypes = "2" // GPUs only: the CPU cores are the native solver's
		}
		r, err := hashcat.New(hc)
		if err != nil {
			return nil, err
		}
		return &HybridSolver{Runner: r, Native: native.Solver, NativeShare: cfg.HybridNativeShare, Log: log}, nil
	}
	return nil, fmt.Errorf("unknown --miner.solver %q (want auto, native, hashcat, opencl or hybrid)", cfg.Solver)
}

// gpuOpenCL returns the OpenCL solver on a GPU, or nil (with the reason
// logged) when OpenCL sees no GPU or cannot use the one configured.
func gpuOpenCL(cfg opencl.Config, native *pow.Solver, log *slog.Logger) *OpenCLSolver {
	devs, err := opencl.Devices()
	if err != nil {
		log.Info("no OpenCL solver on the GPU", "err", err)
		return nil
	}
	if cfg.Device < 0 {
		cfg.Device = -1
		for _, d := range devs {
			if d.IsGPU() {
				cfg.Device = d.Index
				break
			}
		}
		if cfg.Device < 0 {
			log.Info("OpenCL sees no GPU; the OpenCL solver is not used", "devices", len(devs))
			return nil
		}
	} else if cfg.Device >= len(devs) || !devs[cfg.Device].IsGPU() {
		log.Info("the configured OpenCL device is not a GPU; the OpenCL solver is not used", "device", cfg.Device)
		return nil
	}
	s, err := newOpenCL(cfg, native, log)
	if err != nil {
		log.Warn("OpenCL solver on the GPU failed; using the other solvers", "err", err)
		return nil
	}
	return s
}
