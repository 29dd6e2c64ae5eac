package main

import (
	"fmt"
	"os"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/sn27/sn27/internal/devnet"
	"github.com/sn27/sn27/internal/renter"
)

func newDevnetCmd() *cobra.Command {
	var (
		cfg       = devnet.DefaultConfig()
		lf        loggingFlags
		chainPort int
	)
	cmd := &cobra.Command{
		Use:   "devnet",
		Short: "Run a whole SN27 network on this machine: dev chain, validator and miners",
		Long: `Start the embedded dev chain, create wallets (no passwords, inside --data.dir), a subnet, register
and stake a validator and --miners miners, and run them on loopback (each miner on its own address,
127.0.0.11, 127.0.0.12, ...) with short schedules, so challenge rounds and weights happen within a
minute. Miners get different simulated solve delays, so the ranking is visible in the metagraph.
With Docker and the allocation image (sn27 miner image build) the miners also rent out
containers, miner i with SSH on --ssh.port + i; the printed commands rent one, log in and end it.
With --pog the validator proves every miner's claimed GPU in a test container (PoCL on the CPU
here); the last miner claims an NVIDIA H100 it does not have and fails, on the dashboard, in the
verdict feed (--feed.addr) and in the weights.
Ctrl-C stops everything; running it again continues from the data dir.`,
		Example: `  sn27 devnet
  sn27 devnet --miners 5 --block-time 500ms --data.dir /tmp/devnet
  sn27 devnet --pog`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg.ChainAddr = "127.0.0.1:" + strconv.Itoa(chainPort)
			log := lf.logger(os.Stderr)
			return devnet.Run(cmd.Context(), cfg, log, func(info devnet.Info, _ *devnet.Network) {
				info.Command = selfCommand()
				devnet.PrintInfo(cmd.OutOrStdout(), info)
			})
		},
	}
	f := cmd.Flags()
	f.IntVar(&cfg.Miners, "miners", cfg.Miners, "number of miners")
	f.DurationVar(&cfg.BlockTime, "block-time", cfg.BlockTime, "dev chain block time")
	f.StringVar(&cfg.DataDir, "data.dir", cfg.DataDir, "where the devnet keeps chain state, wallets and histories")
	f.IntVar(&chainPort, "chain.port", 9944, "dev chain RPC port on 127.0.0.1")
	f.IntVar(&cfg.AxonPort, "axon.port", cfg.AxonPort, "miners' axon port (each miner has its own loopback address)")
	f.BoolVar(&cfg.CommitReveal, "commit-reveal", false, "run the dev chain as subtensor spec 343: commit-reveal on, weights through timelocked commits revealed with the chain's drand beacon")
	f.IntVar(&cfg.SSHPort, "ssh.port", cfg.SSHPort, "rentals' SSH port of miner 0 (miner i: this + i; 0: no rentals)")
	f.StringVar(&cfg.DashboardAddr, "dashboard.addr", cfg.DashboardAddr, "where the validator's dashboard listens (empty: off)")
	f.BoolVar(&cfg.PoG, "pog", false, "proof of GPU: every miner proves a PoCL \"GPU\" in its container, the last one claims an H100 it does not have and fails; weights from verified GPUs only")
	f.StringVar(&cfg.FeedAddr, "feed.addr", cfg.FeedAddr, "where the validator's signed verdict feed listens (empty: off)")
	var pogMem string
	f.StringVar(&pogMem, "pog.memory", "256MiB", "memory each honest miner's PoCL device claims (and fills 80 % of)")
	prerun := cmd.PreRunE
	cmd.PreRunE = func(c *cobra.Command, args []string) error {
		n, err := renter.ParseSize(pogMem)
		if err != nil || n < 16<<20 {
			return withCode(exitBadInput, fmt.Errorf("--pog.memory %q: want a size of at least 16MiB", pogMem))
		}
		cfg.PoGMemory = n
		if prerun != nil {
			return prerun(c, args)
		}
		return nil
	}
	lf.register(f)
	return cmd
}
