package miner

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os/exec"

	"github.com/sn27/sn27/internal/hashcat"
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

// NewSolver picks the solver cfg.Solver (--miner.solver) names. "auto" takes
// hashcat when hasGPU and hashcat is installed (it drives GPUs), else the
// native solver. "hybrid" runs hashcat on the GPUs (device types "2" unless
// cfg.Hashcat sets them) and the native solver on the CPU cores together;
// its logger is log.
func NewSolver(cfg Config, hasGPU bool, log *slog.Logger) (Solver, error) {
	native := NativeSolver{Solver: &pow.Solver{}}
	if _, err := pow.KernelAuto.Resolve(); err != nil && cfg.Solver != "hashcat" {
		return nil, fmt.Errorf("native solver: %w", err)
	}
	hc := cfg.Hashcat
	switch name := cfg.Solver; name {
	case "native":
		return native, nil
	case "hashcat", "auto":
		if name == "auto" && !hasGPU {
			return native, nil
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
		if _, err := exec.LookPath(hc.Path); err != nil {
			return nil, fmt.Errorf("--miner.solver hybrid needs hashcat (apt-get install hashcat, or --miner.hashcat.path): %w", err)
		}
		if s := cfg.HybridNativeShare; s != 0 && !(s > 0 && s < 1) {
			return nil, fmt.Errorf("--miner.hybrid.native.share %v: want 0 < share < 1, or 0 to measure it", s)
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
	return nil, fmt.Errorf("unknown --miner.solver %q (want auto, native, hashcat or hybrid)", cfg.Solver)
}
