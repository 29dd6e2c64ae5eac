package main

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/sn27/sn27/internal/bench"
	"github.com/sn27/sn27/internal/hashcat"
	"github.com/sn27/sn27/internal/miner"
	"github.com/sn27/sn27/internal/opencl"
	"github.com/sn27/sn27/internal/pow"
	"github.com/sn27/sn27/internal/validator"
)

func newBenchCmd() *cobra.Command {
	var (
		o       = bench.Options{Hashcat: hashcat.DefaultConfig(), OpenCL: opencl.DefaultConfig()}
		seconds int
		kernel  string
		asJSON  bool
	)
	o.Hashcat.ExtendedOptions = "-O"
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure the hash rate of the native solver, the OpenCL solver and hashcat on this machine",
		Long: `Measure mode-610 hash rates on an SN27-shaped challenge (10-character alphabet, 12 positions,
no answer) for --seconds each, one solver after the other in the same run. hashcat's rate is the
speed it reports once running; its start-up time (kernel load, self-test) is reported apart, as is
the OpenCL solver's (kernel build and warm-up). --solver both is native and hashcat; all adds opencl,
our own kernel on the first OpenCL GPU (else any OpenCL device, e.g. PoCL on the CPU).`,
		Example: `  sn27 bench
  sn27 bench --solver both --seconds 10 --json
  sn27 bench --solver all --seconds 6
  sn27 bench --solver opencl --opencl.device 0
  sn27 bench --solver hashcat --miner.hashcat.device.types 2`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o.Duration = time.Duration(seconds) * time.Second
			o.Kernel = pow.Kernel(kernel)
			rep, err := bench.Run(cmd.Context(), o)
			if err != nil {
				return err
			}
			if asJSON {
				return json.NewEncoder(cmd.OutOrStdout()).Encode(rep)
			}
			fmt.Fprint(cmd.OutOrStdout(), rep.Text())
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Solver, "solver", "native", "native, hashcat, opencl, both (native and hashcat) or all")
	f.IntVar(&seconds, "seconds", 5, "measuring time per solver")
	f.IntVar(&o.OpenCL.Device, "opencl.device", o.OpenCL.Device, "OpenCL device index (sn27 miner doctor lists them; -1: first GPU, else first device)")
	f.StringVar(&kernel, "native.kernel", "", "native kernel: avx512, avx2, scalar or generic (default: fastest available)")
	f.BoolVar(&asJSON, "json", false, "print JSON (keys native_hps, hashcat_hps, opencl_hps, opencl_device, ratio, opencl_ratio, ...)")
	addHashcatFlags(f, &o.Hashcat)
	cmd.AddCommand(newBenchChallengeCmd(), newBenchValidatorCmd())
	return cmd
}

func newBenchChallengeCmd() *cobra.Command {
	var (
		solver     string
		difficulty int
		count      int
		hc         = hashcat.DefaultConfig()
		ocl        = opencl.DefaultConfig()
		asJSON     bool
	)
	hc.ExtendedOptions = "-O"
	cmd := &cobra.Command{
		Use:   "challenge",
		Short: "Measure a validator's view: signed Challenge over loopback to a verified answer",
		Long: `Serve a miner axon on loopback and send it signed Challenge requests through a dendrite,
as a validator does, timing each from request to verified answer. With --solver both, the
native solver and the hashcat runner are measured in the same run; all adds the OpenCL solver
(built once before the rounds, as the miner does at start).`,
		Example: `  sn27 bench challenge
  sn27 bench challenge --solver both --difficulty 6 --count 5 --json
  sn27 bench challenge --solver opencl --difficulty 6`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var solvers []miner.Solver
			nat, hcat, cl, err := bench.Solvers(solver)
			if err != nil {
				return withCode(exitBadInput, fmt.Errorf("--solver: %w", err))
			}
			if nat {
				solvers = append(solvers, miner.NativeSolver{Solver: &pow.Solver{}})
			}
			if cl {
				s, err := opencl.New(ocl)
				if err != nil {
					return err
				}
				defer s.Close()
				solvers = append(solvers, &miner.OpenCLSolver{OpenCL: s, Native: &pow.Solver{}})
			}
			if hcat {
				r, err := hashcat.New(hc)
				if err != nil {
					return withCode(exitBadInput, err)
				}
				solvers = append(solvers, miner.HashcatSolver{Runner: r})
			}
			var results []miner.Latency
			for _, s := range solvers {
				l, err := miner.BenchChallenge(cmd.Context(), s, difficulty, count, 5*time.Minute)
				if err != nil {
					return fmt.Errorf("%s: %w", s.Name(), err)
				}
				results = append(results, l)
			}
			if asJSON {
				return json.NewEncoder(cmd.OutOrStdout()).Encode(results)
			}
			for _, l := range results {
				fmt.Fprintf(cmd.OutOrStdout(), "%-8s difficulty %d, %d rounds: median %v, mean %v, min %v, max %v\n",
					l.Solver, difficulty, l.Count, l.Median.Round(time.Millisecond), l.Mean.Round(time.Millisecond),
					l.Min.Round(time.Millisecond), l.Max.Round(time.Millisecond))
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&solver, "solver", "native", "native, hashcat, opencl, both (native and hashcat) or all")
	f.IntVar(&ocl.Device, "opencl.device", ocl.Device, "OpenCL device index (-1: first GPU, else first device)")
	f.IntVar(&difficulty, "difficulty", 6, "password length")
	f.IntVar(&count, "count", 5, "rounds per solver")
	f.BoolVar(&asJSON, "json", false, "print JSON (durations in nanoseconds)")
	addHashcatFlags(f, &hc)
	return cmd
}

func newBenchValidatorCmd() *cobra.Command {
	var miners, difficulty int
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "validator",
		Short: "Measure one validator challenge round against many light in-process miners",
		Long: `Run one real challenge round (challenge creation, signed dendrite queries, verification, SQLite
write) against --miners light responders, each on its own loopback address, and report the round's
wall time, CPU time and the process's peak RSS.`,
		Example: `  sn27 bench validator --miners 256
  sn27 bench validator --miners 64 --difficulty 4 --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			rep, err := validator.BenchRound(cmd.Context(), miners, difficulty)
			if err != nil {
				return err
			}
			if asJSON {
				return json.NewEncoder(cmd.OutOrStdout()).Encode(rep)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "round of %d miners (%d answered correctly): wall %v, CPU %v, peak RSS %.1f MiB\n",
				rep.Miners, rep.Succeeded, rep.Wall.Round(time.Millisecond), rep.CPU.Round(time.Millisecond), float64(rep.PeakRSSKiB)/1024)
			return nil
		},
	}
	cmd.Flags().IntVar(&miners, "miners", 256, "simulated miners")
	cmd.Flags().IntVar(&difficulty, "difficulty", 3, "challenge difficulty (the responders solve it)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}
