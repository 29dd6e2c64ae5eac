package main

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/sn27/sn27/internal/bench"
	"github.com/sn27/sn27/internal/hashcat"
	"github.com/sn27/sn27/internal/pow"
)

func newBenchCmd() *cobra.Command {
	var (
		o       = bench.Options{Hashcat: hashcat.DefaultConfig()}
		seconds int
		kernel  string
		asJSON  bool
	)
	o.Hashcat.ExtendedOptions = "-O"
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure the hash rate of the native solver and of hashcat on this machine",
		Long: `Measure mode-610 hash rates on an SN27-shaped challenge (10-character alphabet, 12 positions,
no answer) for --seconds each, one solver after the other in the same run. hashcat's rate is the
speed it reports once running; its start-up time (kernel load, self-test) is reported apart.`,
		Example: `  sn27 bench
  sn27 bench --solver both --seconds 10 --json
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
	f.StringVar(&o.Solver, "solver", "native", "native, hashcat or both")
	f.IntVar(&seconds, "seconds", 5, "measuring time per solver")
	f.StringVar(&kernel, "native.kernel", "", "native kernel: avx512, scalar or generic (default: fastest available)")
	f.BoolVar(&asJSON, "json", false, "print JSON (keys native_hps, hashcat_hps, ratio, ...)")
	addHashcatFlags(f, &o.Hashcat)
	return cmd
}
