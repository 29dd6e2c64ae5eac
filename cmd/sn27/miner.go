package main

import (
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/sn27/sn27/internal/allocation"
	"github.com/sn27/sn27/internal/chain"
	"github.com/sn27/sn27/internal/docker"
	"github.com/sn27/sn27/internal/hwspec"
	"github.com/sn27/sn27/internal/miner"
	"github.com/sn27/sn27/internal/wallet"
)

// allocLimitFlags are the limits a rental gets when its request gives none.
type allocLimitFlags struct {
	cpus           int64
	ramGB, diskGB  float64
	allowAllGPUs   bool
	readyTimeout   time.Duration
	maxTimelineMin int64
	rootGB         float64
	reserveGB      float64
	diskCheck      time.Duration
	diskGrace      time.Duration
	allowCIDR      []string
	lxcfs          string
	allow          []netip.Prefix // allowCIDR, parsed by apply
}

func (l *allocLimitFlags) register(f *pflag.FlagSet, d allocation.Config) {
	f.Int64Var(&l.cpus, "allocation.default_cpus", d.DefaultCPUs, "CPUs of a rental whose request gives none")
	f.Float64Var(&l.ramGB, "allocation.default_ram_gb", float64(d.DefaultRAMBytes)/(1<<30), "RAM (GiB) of a rental whose request gives none")
	f.Float64Var(&l.diskGB, "allocation.default_disk_gb", float64(d.DefaultDiskBytes)/(1<<30), "size (GiB) of /data of a rental whose request gives none")
	f.BoolVar(&l.allowAllGPUs, "allocation.allow_all_gpus", false, "let a request with gpu.count -1 have every GPU (refused otherwise)")
	f.DurationVar(&l.readyTimeout, "allocation.ready_timeout", d.ReadyTimeout, "how long a new rental's sshd has to answer before the allocation is given up")
	f.Int64Var(&l.maxTimelineMin, "allocation.max_timeline", int64(d.MaxTimeline/time.Minute), "longest rental accepted, in minutes")
	f.Float64Var(&l.rootGB, "allocation.root_disk_gb", 0, "limit (GiB) of a rental's root filesystem, outside /data (0: the size of its /data); "+
		"enforced by the storage driver where it has quotas (overlay2 on xfs with pquota), else watched: the rental is stopped at it (reason disk_quota)")
	f.Float64Var(&l.reserveGB, "allocation.disk_reserve_gb", float64(d.DiskReserveBytes)/(1<<30), "disk (GiB) kept free for the host: a rental whose "+
		"promised /data and root filesystem would reach into it is refused")
	f.DurationVar(&l.diskCheck, "allocation.disk_check", d.DiskCheck, "how often a rental's root filesystem is measured where no quota enforces its limit (every 3s near it)")
	f.DurationVar(&l.diskGrace, "allocation.disk_grace", d.DiskGrace, "after a renter restarts a rental stopped for disk_quota, how long it has to free space")
	f.StringSliceVar(&l.allowCIDR, "miner.rental.allow-cidr", nil, "private, LAN or link-local ranges rentals may reach although they are blocked by default "+
		"(comma-separated CIDRs, e.g. 10.20.0.0/16; rentals reach only the internet otherwise)")
	f.StringVar(&l.lxcfs, "allocation.lxcfs", docker.DefaultLXCFSDir, "LXCFS mount whose /proc files rentals get, so free and /proc/meminfo show "+
		"their limits (used when lxcfs runs there; \"\" turns it off)")
}

func (l *allocLimitFlags) apply(c *allocation.Config) error {
	const maxGB = 1 << 20 // 1 PiB: far beyond any machine, far below an overflow
	switch {
	case l.cpus < 1 || l.cpus > 4096:
		return fmt.Errorf("--allocation.default_cpus %d: want 1..4096", l.cpus)
	case !(l.ramGB >= 0.0625 && l.ramGB <= maxGB):
		return fmt.Errorf("--allocation.default_ram_gb %v: want 0.0625..%d", l.ramGB, maxGB)
	case !(l.diskGB >= 0.0625 && l.diskGB <= maxGB):
		return fmt.Errorf("--allocation.default_disk_gb %v: want 0.0625..%d", l.diskGB, maxGB)
	case l.readyTimeout < time.Second || l.readyTimeout > 10*time.Minute:
		return fmt.Errorf("--allocation.ready_timeout %v: want 1s..10m", l.readyTimeout)
	case l.maxTimelineMin < 1 || l.maxTimelineMin > 10*365*24*60:
		return fmt.Errorf("--allocation.max_timeline %d: want 1..%d minutes", l.maxTimelineMin, 10*365*24*60)
	case !(l.rootGB == 0 || l.rootGB >= 0.0625 && l.rootGB <= maxGB):
		return fmt.Errorf("--allocation.root_disk_gb %v: want 0 or 0.0625..%d", l.rootGB, maxGB)
	case !(l.reserveGB >= 0 && l.reserveGB <= maxGB):
		return fmt.Errorf("--allocation.disk_reserve_gb %v: want 0..%d", l.reserveGB, maxGB)
	case l.diskCheck != 0 && (l.diskCheck < 100*time.Millisecond || l.diskCheck > time.Hour):
		return fmt.Errorf("--allocation.disk_check %v: want 0 (off) or 100ms..1h", l.diskCheck)
	case l.diskGrace < 0 || l.diskGrace > 24*time.Hour:
		return fmt.Errorf("--allocation.disk_grace %v: want 0..24h", l.diskGrace)
	}
	allow, err := docker.ParseAllowCIDRs(l.allowCIDR)
	if err != nil {
		return fmt.Errorf("--miner.rental.allow-cidr: %w", err)
	}
	l.allow = allow
	c.RootDiskBytes, c.DiskReserveBytes = int64(l.rootGB*(1<<30)), int64(l.reserveGB*(1<<30))
	c.DiskCheck, c.DiskGrace = l.diskCheck, l.diskGrace
	c.DefaultCPUs, c.DefaultRAMBytes, c.DefaultDiskBytes = l.cpus, int64(l.ramGB*(1<<30)), int64(l.diskGB*(1<<30))
	c.AllowAllGPUs, c.ReadyTimeout, c.MaxTimeline = l.allowAllGPUs, l.readyTimeout, time.Duration(l.maxTimelineMin)*time.Minute
	return nil
}

func newMinerCmd() *cobra.Command {
	var (
		cfg         = miner.DefaultConfig()
		sf          subtensorFlags
		wf          walletFlags
		lf          loggingFlags
		netuid      uint16
		configFile  string
		metricsPort int
		alloc       = allocation.DefaultConfig()
		allocLimits allocLimitFlags
		auto        autoUpdateFlags
	)
	cmd := &cobra.Command{
		Use:   "miner",
		Short: "Run an SN27 miner: answer challenges, report hardware, rent out the machine",
		Long: `Run an SN27 miner for the wallet's hotkey. It refuses to start unless the hotkey is registered
on --netuid, announces its axon on chain (serve_axon, version 183) when the chain does not already
hold it, keeps a copy of the metagraph for its blacklist and priorities, and answers:
  Challenge  BLAKE2b-512 proof of work (native solver, hashcat on GPUs, or both), one at a time by priority
  Specs      the hardware report (CPU, RAM, disk, GPUs via nvidia-smi, docker)
  Allocate   rentals (status false until allocation is configured)
With --auto-update it installs newer signed releases from --update.url (checked every
--auto-update.every) and restarts into them in place, only while no challenge is being answered and
no allocation request served; until the restart, requests that would change a rental are refused
with reason "restarting" (checks are answered).
A rental it holds is not disturbed: its container runs on and the new binary resumes it.
Settings: flags, else SN27_<FLAG> environment variables (SN27_AXON_PORT), else --config FILE (JSON
object keyed by flag name), else defaults.`,
		Example: `  sn27 miner --wallet.name miner --wallet.hotkey default --netuid 27 --axon.port 8091 --axon.external_ip 203.0.113.7
  sn27 miner --subtensor.network local --netuid 2 --miner.solver native --metrics.port 9100
  sn27 miner --config /etc/sn27/miner.json
  sn27 miner --config /etc/sn27/miner.json --auto-update --update.url https://releases.example.com/sn27/stable`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := applyConfig(cmd.Flags(), configFile); err != nil {
				return withCode(exitBadInput, err)
			}
			cfg.NetUID = chain.NetUID(netuid)
			if metricsPort > 0 {
				cfg.MetricsAddr = fmt.Sprintf(":%d", metricsPort)
			}
			upd, err := auto.updater()
			if err != nil {
				return withCode(exitBadInput, err)
			}
			log := lf.logger(os.Stderr)
			ctx := cmd.Context()
			hot, err := wf.wallet(cmd).LoadHotkey(ctx)
			if err != nil {
				return walletError(err)
			}
			_, nvErr := exec.LookPath("nvidia-smi")
			solver, err := miner.NewSolver(cfg, nvErr == nil, log)
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
			deps := miner.Deps{Hotkey: hot, Chain: c, Solver: solver, Log: log, Registry: reg}
			hw := hwspec.DefaultConfig()
			hw.Logger = log
			// Allocation needs Docker; without it the miner still answers
			// challenges and refuses rentals with a clear reason.
			dc, derr := docker.New(ctx)
			if derr != nil {
				log.Warn("docker unavailable: allocations are off until it is fixed (sn27 miner doctor)", "err", derr)
				deps.Specs = hwspec.New(hw, nil)
			} else {
				defer dc.Close()
				deps.Specs = hwspec.New(hw, dc)
				alloc.SSHPort = cfg.SSHPort
				if alloc.DataDir, err = wallet.ExpandPath(alloc.DataDir); err != nil {
					return withCode(exitBadInput, err)
				}
				if err := allocLimits.apply(&alloc); err != nil {
					return withCode(exitBadInput, err)
				}
				// /data of each rental is an ext4 image of the requested size;
				// leftovers are removed only if this miner made them.
				dc.SetDiskDir(filepath.Join(alloc.DataDir, "volumes"))
				dc.SetOwner(hot.SS58())
				dc.SetAllowCIDRs(allocLimits.allow)
				dc.SetLXCFS(allocLimits.lxcfs)
				m, err := allocation.New(alloc, dc, deps.Specs, log)
				if err != nil {
					return err
				}
				defer m.Close()
				if err := m.Reconcile(ctx); err != nil {
					log.Error("reconcile the saved allocation with docker; it is kept for the next start", "err", err)
				}
				deps.Allocator = m
			}
			mn, err := miner.New(cfg, deps)
			if err != nil {
				return err
			}
			return runUpdating(ctx, upd, auto.autoConfig(log), mn, mn.Run)
		},
	}
	f := cmd.Flags()
	wf.register(f)
	sf.register(f)
	lf.register(f)
	auto.register(f)
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
	f.IntVar(&cfg.OpenCL.Device, "miner.opencl.device", cfg.OpenCL.Device, "OpenCL device index for the opencl, auto and hybrid solvers (sn27 miner doctor lists them; -1: the first GPU, else the first device)")
	f.StringVar(&cfg.Solver, "miner.solver", cfg.Solver, "auto (native without a GPU; on a GPU our OpenCL kernel when it reaches 0.8x hashcat's rate, "+
		"else hashcat when installed), native, hashcat, opencl (our kernel in process on the first OpenCL GPU, else any OpenCL device; "+
		"falls back to native), or hybrid (the OpenCL solver, else hashcat, on the GPUs and the native solver on the CPU cores split each keyspace; "+
		"the first answer wins)")
	f.Float64Var(&cfg.HybridNativeShare, "miner.hybrid.native.share", 0, "with --miner.solver hybrid: the part of each keyspace the native solver "+
		"searches, 0 < x < 1 (0: measured at start-up from both solvers' speeds)")
	addHashcatFlags(f, &cfg.Hashcat)
	f.IntVar(&cfg.SSHPort, "ssh.port", cfg.SSHPort, "port allocated containers' SSH is published on")
	f.DurationVar(&cfg.MetagraphRefresh, "miner.metagraph.refresh", time.Minute, "how often the metagraph copy is refreshed")
	f.IntVar(&metricsPort, "metrics.port", 0, "serve Prometheus /metrics on this port (0: off)")
	f.StringVar(&alloc.Image, "allocation.image", alloc.Image, "image of allocation containers (build it with: sn27 miner image build)")
	f.StringVar(&alloc.DataDir, "miner.data_dir", "~/.sn27/miner", "where the miner keeps its state (the running allocation) and the rentals' disk images")
	allocLimits.register(f, alloc)
	cmd.AddCommand(newMinerImageCmd(), newMinerDoctorCmd())
	return cmd
}

func newMinerDoctorCmd() *cobra.Command {
	var (
		image     = docker.DefaultImage
		sshPort   = 4444
		hashcatP  = "hashcat"
		dataDir   = "~/.sn27/miner"
		allowCIDR []string
		lxcfs     = docker.DefaultLXCFSDir
	)
	cmd := &cobra.Command{
		Use:   "doctor",
		Short: "Check what validators and renters need of this machine",
		Long: `Check docker, the allocation image, how a rental's disk is limited (an ext4 image for /data,
tried in --miner.data_dir/volumes; storage-opt size for the root filesystem, else the miner's watch),
the storage engine, the rental network's isolation from the host and its LAN (network sn27-rentals,
iptables chains SN27-ISOLATION and SN27-EGRESS; give the miner's --miner.rental.allow-cidr), whether
rentals see their own limits (LXCFS), the NVIDIA container runtime (when GPUs exist), the SSH port for
allocations, hashcat and free disk space. Prints PASS/FAIL with a fix for each, and exits 1 when
anything fails.`,
		Example: `  sn27 miner doctor
  sn27 miner doctor --ssh.port 4444 --allocation.image sn27/allocation:bookworm-2`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			dir, err := wallet.ExpandPath(dataDir)
			if err != nil {
				return withCode(exitBadInput, err)
			}
			_ = os.MkdirAll(dir, 0o700)
			dc := miner.DoctorConfig{Image: image, SSHPort: sshPort, HashcatPath: hashcatP, NvidiaSMI: "nvidia-smi", DataDir: dir, MinFreeDisk: 20 << 30}
			if c, err := docker.New(ctx); err != nil {
				dc.DockerErr = err
			} else {
				defer c.Close()
				c.SetDiskDir(filepath.Join(dir, "volumes")) // as the miner does
				allow, err := docker.ParseAllowCIDRs(allowCIDR)
				if err != nil {
					return withCode(exitBadInput, fmt.Errorf("--miner.rental.allow-cidr: %w", err))
				}
				c.SetAllowCIDRs(allow)
				c.SetLXCFS(lxcfs)
				dc.Docker, dc.Rentals = c, c
			}
			failed := 0
			for _, ch := range miner.Doctor(ctx, dc) {
				status := "PASS"
				if !ch.OK {
					status = "FAIL"
					failed++
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%s  %-25s %s\n", status, ch.Name, ch.Detail)
				if !ch.OK && ch.Fix != "" {
					fmt.Fprintf(cmd.OutOrStdout(), "      fix: %s\n", ch.Fix)
				}
			}
			if failed > 0 {
				return withCode(1, fmt.Errorf("%d check(s) failed", failed))
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&image, "allocation.image", image, "allocation image to look for")
	f.IntVar(&sshPort, "ssh.port", sshPort, "SSH port of allocations")
	f.StringVar(&hashcatP, "miner.hashcat.path", hashcatP, "hashcat binary")
	f.StringVar(&dataDir, "miner.data_dir", dataDir, "miner state directory")
	f.StringSliceVar(&allowCIDR, "miner.rental.allow-cidr", nil, "the miner's --miner.rental.allow-cidr, so its rules are checked as it installs them")
	f.StringVar(&lxcfs, "allocation.lxcfs", lxcfs, "the miner's --allocation.lxcfs")
	return cmd
}
