package main

import (
	"fmt"
	"os"
	"os/exec"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/spf13/cobra"

	"github.com/sn27/sn27/internal/chain"
	"github.com/sn27/sn27/internal/hwspec"
	"github.com/sn27/sn27/internal/miner"
)

func newMinerCmd() *cobra.Command {
	var (
		cfg         = miner.DefaultConfig()
		sf          subtensorFlags
		wf          walletFlags
		lf          loggingFlags
		netuid      uint16
		configFile  string
		metricsPort int
	)
	cmd := &cobra.Command{
		Use:   "miner",
		Short: "Run an SN27 miner: answer challenges, report hardware, rent out the machine",
		Long: `Run an SN27 miner for the wallet's hotkey. It refuses to start unless the hotkey is registered
on --netuid, announces its axon on chain (serve_axon, version 183) when the chain does not already
hold it, keeps a copy of the metagraph for its blacklist and priorities, and answers:
  Challenge  BLAKE2b-512 proof of work (native solver, or hashcat on GPUs), one at a time by priority
  Specs      the hardware report (CPU, RAM, disk, GPUs via nvidia-smi, docker)
  Allocate   rentals (status false until allocation is configured)
Settings: flags, else SN27_<FLAG> environment variables (SN27_AXON_PORT), else --config FILE (JSON
object keyed by flag name), else defaults.`,
		Example: `  sn27 miner --wallet.name miner --wallet.hotkey default --netuid 27 --axon.port 8091 --axon.external_ip 203.0.113.7
  sn27 miner --subtensor.network local --netuid 2 --miner.solver native --metrics.port 9100
  sn27 miner --config /etc/sn27/miner.json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := applyConfig(cmd.Flags(), configFile); err != nil {
				return withCode(exitBadInput, err)
			}
			cfg.NetUID = chain.NetUID(netuid)
			if metricsPort > 0 {
				cfg.MetricsAddr = fmt.Sprintf(":%d", metricsPort)
			}
			log := lf.logger(os.Stderr)
			ctx := cmd.Context()
			hot, err := wf.wallet(cmd).LoadHotkey(ctx)
			if err != nil {
				return walletError(err)
			}
			_, nvErr := exec.LookPath("nvidia-smi")
			solver, err := miner.NewSolver(cfg.Solver, cfg.Hashcat, nvErr == nil)
			if err != nil {
				return withCode(exitBadInput, err)
			}
			c, err := sf.dial(ctx)
			if err != nil {
				return err
			}
			defer c.Close()
			reg := prometheus.NewRegistry()
			reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
			mn, err := miner.New(cfg, miner.Deps{
				Hotkey: hot, Chain: c, Solver: solver, Log: log, Registry: reg,
				Specs: hwspec.New(hwspec.DefaultConfig(), nil),
			})
			if err != nil {
				return err
			}
			return mn.Run(ctx)
		},
	}
	f := cmd.Flags()
	wf.register(f)
	sf.register(f)
	lf.register(f)
	f.StringVar(&configFile, "config", "", "JSON file of settings keyed by flag name")
	f.Uint16Var(&netuid, "netuid", uint16(cfg.NetUID), "subnet (27 on mainnet, 15 on testnet)")
	f.StringVar(&cfg.AxonIP, "axon.ip", cfg.AxonIP, "address the axon listens on")
	f.IntVar(&cfg.AxonPort, "axon.port", cfg.AxonPort, "axon port")
	f.StringVar(&cfg.ExternalIP, "axon.external_ip", "", "public address announced on chain (default: --axon.ip when it is not 0.0.0.0)")
	f.IntVar(&cfg.ExternalPort, "axon.external_port", 0, "public port announced on chain (default: --axon.port)")
	f.StringSliceVar(&cfg.Blacklist.Hotkeys, "blacklist.hotkeys", nil, "hotkeys to refuse (comma-separated)")
	f.StringSliceVar(&cfg.Blacklist.Coldkeys, "blacklist.coldkeys", nil, "coldkeys to refuse (comma-separated)")
	f.BoolVar(&cfg.Blacklist.Exploiters, "blacklist.exploiters", cfg.Blacklist.Exploiters, "refuse SN27's list of known exploiter hotkeys")
	f.StringSliceVar(&cfg.Blacklist.WhitelistHotkeys, "whitelist.hotkeys", nil, "hotkeys always allowed (comma-separated)")
	f.StringSliceVar(&cfg.Blacklist.WhitelistColdkeys, "whitelist.coldkeys", nil, "coldkeys always allowed (comma-separated)")
	f.BoolVar(&cfg.Blacklist.WhitelistNotEnoughStake, "miner.whitelist.not.enough.stake", false, "answer validators below the 1024 τ stake threshold")
	f.StringVar(&cfg.Solver, "miner.solver", cfg.Solver, "auto (hashcat when a GPU and hashcat are present, else native), native or hashcat")
	addHashcatFlags(f, &cfg.Hashcat)
	f.IntVar(&cfg.SSHPort, "ssh.port", cfg.SSHPort, "port allocated containers' SSH is published on")
	f.DurationVar(&cfg.MetagraphRefresh, "miner.metagraph.refresh", time.Minute, "how often the metagraph copy is refreshed")
	f.IntVar(&metricsPort, "metrics.port", 0, "serve Prometheus /metrics on this port (0: off)")
	return cmd
}
