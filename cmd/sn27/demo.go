package main

import (
	"time"

	"github.com/spf13/cobra"

	"github.com/sn27/sn27/internal/bench"
	"github.com/sn27/sn27/internal/hashcat"
	"github.com/sn27/sn27/internal/pow"
)

func newDemoCmd() *cobra.Command {
	o := bench.DemoOptions{Hashcat: hashcat.DefaultConfig()}
	o.Hashcat.ExtendedOptions = "-O"
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Create a challenge as a validator, solve it as a miner, and print the hash rate",
		Example: `  sn27 demo
  sn27 demo --difficulty 8 --solver both`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return bench.Demo(cmd.Context(), cmd.OutOrStdout(), o)
		},
	}
	f := cmd.Flags()
	f.IntVar(&o.Difficulty, "difficulty", 8, "password length")
	f.IntVar(&o.AlphabetSize, "alphabet-size", pow.DefaultAlphabetSize, "characters in the challenge alphabet")
	f.StringVar(&o.Solver, "solver", "auto", "native, hashcat, both, or auto (hashcat too when installed)")
	f.DurationVar(&o.Timeout, "timeout", 5*time.Minute, "give up a solver after this long")
	addHashcatFlags(f, &o.Hashcat)
	return cmd
}
