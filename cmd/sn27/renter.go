package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/sn27/sn27/internal/chain"
	"github.com/sn27/sn27/internal/dendrite"
	"github.com/sn27/sn27/internal/renter"
	"github.com/sn27/sn27/internal/store"
	"github.com/sn27/sn27/internal/wallet"
)

// renterFlags are shared by the renter subcommands.
type renterFlags struct {
	wf      walletFlags
	sf      subtensorFlags
	lf      loggingFlags
	netuid  uint16
	dataDir string
	timeout time.Duration
}

func (f *renterFlags) register(fs *pflag.FlagSet) {
	f.wf.register(fs)
	f.sf.register(fs)
	f.lf.register(fs)
	fs.Uint16Var(&f.netuid, "netuid", uint16(renter.DefaultConfig().NetUID), "subnet")
	fs.StringVar(&f.dataDir, "data.dir", "~/.sn27/validator", "the validator's data directory (validator.db; renter keys in renter-keys/)")
	fs.DurationVar(&f.timeout, "timeout", renter.DefaultConfig().Timeout, "time a miner has to answer each Allocate request")
}

// run opens the Service, runs fn with it and releases what it opened.
func (f *renterFlags) run(cmd *cobra.Command, need renterNeeds, fn func(*renter.Service) error) error {
	svc, done, err := f.open(cmd, need)
	if err != nil {
		return err
	}
	defer done()
	return fn(svc)
}

// renterNeeds says which collaborators a subcommand uses.
type renterNeeds struct{ chain, miners bool }

// open builds the Service; close releases what it opened.
func (f *renterFlags) open(cmd *cobra.Command, need renterNeeds) (svc *renter.Service, closeAll func(), err error) {
	ctx := cmd.Context()
	var closers []func()
	release := func() {
		for i := len(closers) - 1; i >= 0; i-- {
			closers[i]()
		}
	}
	defer func() {
		if err != nil {
			release()
		}
	}()
	dir, err := wallet.ExpandPath(f.dataDir)
	if err != nil {
		return nil, nil, withCode(exitBadInput, err)
	}
	dbPath := filepath.Join(dir, "validator.db")
	if _, err := os.Stat(dbPath); err != nil {
		return nil, nil, withCode(exitBadInput, fmt.Errorf("no validator store at %s (run `sn27 validator` first or set --data.dir): %w", dbPath, err))
	}
	st, err := store.Open(ctx, dbPath)
	if err != nil {
		return nil, nil, err
	}
	closers = append(closers, func() { st.Close() })
	deps := renter.Deps{Store: st, Log: f.lf.logger(os.Stderr)}
	if need.chain || need.miners {
		c, err := f.sf.dial(ctx)
		if err != nil {
			return nil, nil, err
		}
		closers = append(closers, func() { c.Close() })
		deps.Chain = c
	}
	if need.miners {
		hot, err := f.wf.wallet(cmd).LoadHotkey(ctx)
		if err != nil {
			return nil, nil, walletError(err)
		}
		d, err := dendrite.New(hot, dendrite.Config{})
		if err != nil {
			return nil, nil, err
		}
		closers = append(closers, d.Close)
		deps.Dendrite = d
	}
	cfg := renter.Config{NetUID: chain.NetUID(f.netuid), KeysDir: filepath.Join(dir, "renter-keys"), Timeout: f.timeout}
	svc, err = renter.New(cfg, deps)
	if err != nil {
		return nil, nil, err
	}
	return svc, release, nil
}

func newRenterCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "renter",
		Short: "Rent miners' machines with the validator's hotkey (SN27's register.py)",
		Long: `Rent miners' machines as SN27's renter (register.py) does, on the validator's machine with the
validator's hotkey and its SQLite store (--data.dir): list the miners' resources from the stored
hardware specs, allocate a miner that meets a request (asked first whether it can), get SSH
credentials encrypted to a fresh RSA key kept under <data.dir>/renter-keys, run docker actions,
deallocate, and keep penalised miners out of allocation.`,
		Example: `  sn27 renter list-resources --netuid 27
  sn27 renter allocate --cpu.count 2 --ram 4GB --disk 20GB --timeline 60 --ssh-key ~/.ssh/id_ed25519.pub
  sn27 renter deallocate 5F...`,
	}
	cmd.AddCommand(newRenterListResourcesCmd(), newRenterAllocateCmd(), newRenterAllocateHotkeyCmd(), newRenterDeallocateCmd(),
		newRenterListAllocationsCmd(), newRenterActionCmd("restart"), newRenterActionCmd("pause"), newRenterActionCmd("unpause"),
		newRenterExchangeKeyCmd(), newRenterPenalizeCmd(), newRenterDepenalizeCmd(), newRenterListPenalizedCmd(), newRenterStatusCmd())
	return cmd
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func newRenterListResourcesCmd() *cobra.Command {
	var (
		f      renterFlags
		filter renter.ResourceFilter
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "list-resources",
		Short: "List the miners with stored hardware specs, their proof of GPU and whether they are allocated",
		Long: `List the subnet's miners whose hardware specs the validator stored: GPU name, total GPU memory,
GPU count, CPU cores, available RAM and free disk (GB = GiB), as the miner claims them; then what
the validator's latest proof-of-GPU verdict found (VERIFIED: "1× NVIDIA H100 80GB HBM3" for a
passed verdict, "no (work)" for one that failed at the work step, "-" for a miner never proved)
and how old that verdict is (AGE); and Avail. or Res. (allocated by this validator).

--verified lists only the miners whose latest verdict passed; --verified-model NAME only those
verified as NAME (the model's whole name, case-insensitive; implies --verified). With --json each
miner carries verified, verified_model, verified_gpus, verdict_age_s (-1: no verdict),
verdict_block and verdict_failed_step.`,
		Example: `  sn27 renter list-resources --netuid 27
  sn27 renter list-resources --verified-model "NVIDIA H100 80GB HBM3"
  sn27 renter list-resources --subtensor.network local --netuid 1 --verified --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if cmd.Flags().Changed("verified-model") && strings.TrimSpace(filter.VerifiedModel) == "" {
				return withCode(exitBadInput, errors.New("--verified-model: want a model name"))
			}
			return f.run(cmd, renterNeeds{chain: true}, func(svc *renter.Service) error {
				rs, err := svc.Resources(cmd.Context())
				if err != nil {
					return err
				}
				rs = renter.FilterResources(rs, filter)
				out := cmd.OutOrStdout()
				if asJSON {
					if rs == nil {
						rs = []renter.Resource{}
					}
					return printJSON(out, rs)
				}
				return printResources(out, rs)
			})
		},
	}
	f.register(cmd.Flags())
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	cmd.Flags().BoolVar(&filter.Verified, "verified", false, "list only the miners whose latest proof-of-GPU verdict passed")
	cmd.Flags().StringVar(&filter.VerifiedModel, "verified-model", "", "list only the miners whose latest verdict proved this model (whole name, case-insensitive; implies --verified)")
	return cmd
}

// printResources prints rs as list-resources' table.
func printResources(out io.Writer, rs []renter.Resource) error {
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "HOTKEY\tGPU NAME\tGPU SIZE (GB)\tGPU COUNT\tVCPUS\tRAM (GB)\tHARD DISK (GB)\tVERIFIED\tAGE\tSTATUS")
	var avail int
	for _, r := range rs {
		status, gpu := "Res.", r.GPUName
		if !r.Allocated {
			status = "Avail."
			avail++
		}
		if gpu == "" {
			gpu = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%.2f\t%d\t%d\t%.2f\t%.2f\t%s\t%s\t%s\n", r.Hotkey, gpu, r.GPUMemoryGB, r.GPUCount, r.VCPUs, r.RAMGB, r.DiskGB,
			verifiedText(r), fmtAge(r.VerdictAge), status)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(out, "%d miners, %d available\n", len(rs), avail)
	return nil
}

// verifiedText is the VERIFIED column: "1× PoCL CPU" for a passed verdict,
// "no (work)" for one that failed at the work step, "-" without one.
func verifiedText(r renter.Resource) string {
	switch {
	case r.Verified:
		return fmt.Sprintf("%d× %s", r.VerifiedGPUs, r.VerifiedModel)
	case r.HasVerdict():
		return "no (" + r.VerdictFailedStep + ")"
	}
	return "-"
}

// fmtAge renders an age in seconds as "42s", "3m", "5h" or "2d"; "-" for a
// negative one (no verdict).
func fmtAge(sec float64) string {
	d := time.Duration(sec * float64(time.Second))
	switch {
	case sec < 0:
		return "-"
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d/time.Second))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d/time.Minute))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh", int(d/time.Hour))
	}
	return fmt.Sprintf("%dd", int(d/(24*time.Hour)))
}

// requestFlags are the allocation request's flags.
type requestFlags struct {
	cpu, gpuCount, timeline int64
	gpuType                 string
	gpuMem, ram, disk       string
	sshKeyFile              string
	asJSON                  bool
}

func (r *requestFlags) register(fs *pflag.FlagSet) {
	fs.Int64Var(&r.cpu, "cpu.count", 1, "CPU cores")
	fs.StringVar(&r.gpuType, "gpu.type", "", "GPU model, a case-insensitive part of its name (e.g. h100)")
	fs.Int64Var(&r.gpuCount, "gpu.count", 0, "GPUs")
	fs.StringVar(&r.gpuMem, "gpu.memory", "0", "total GPU memory, e.g. 80GB (the miner's must exceed it)")
	fs.StringVar(&r.ram, "ram", "1GB", "RAM, e.g. 512MB or 4GB (binary units)")
	fs.StringVar(&r.disk, "disk", "1GB", "disk, e.g. 20GB (binary units)")
	fs.Int64Var(&r.timeline, "timeline", 60, "minutes until the miner deallocates on its own")
	fs.StringVar(&r.sshKeyFile, "ssh-key", "", "OpenSSH public key FILE to log in with (without it the miner sets a root password)")
	fs.BoolVar(&r.asJSON, "json", false, "print the credentials as JSON")
}

func (r *requestFlags) request() (renter.Request, error) {
	q := renter.Request{CPUCount: r.cpu, GPUCount: r.gpuCount, GPUType: r.gpuType, Timeline: r.timeline}
	for _, s := range []struct {
		name, v string
		dst     *int64
	}{{"--gpu.memory", r.gpuMem, &q.GPUMemoryMiB}, {"--ram", r.ram, &q.RAMBytes}, {"--disk", r.disk, &q.DiskBytes}} {
		n, err := renter.ParseSize(s.v)
		if err != nil {
			return q, fmt.Errorf("%s: %w", s.name, err)
		}
		*s.dst = n
	}
	q.GPUMemoryMiB >>= 20
	if r.sshKeyFile != "" {
		key, err := readSSHPublicKey(r.sshKeyFile)
		if err != nil {
			return q, err
		}
		q.SSHKey = key
	}
	return q, nil
}

// readSSHPublicKey reads one OpenSSH public key line from path.
func readSSHPublicKey(path string) (string, error) {
	p, err := wallet.ExpandPath(path)
	if err != nil {
		return "", err
	}
	b, err := os.ReadFile(p)
	if err != nil {
		return "", fmt.Errorf("ssh key: %w", err)
	}
	key := strings.TrimSpace(string(b))
	if strings.Contains(key, "PRIVATE KEY") {
		return "", fmt.Errorf("ssh key %s is a private key; give the .pub file", path)
	}
	if strings.ContainsAny(key, "\r\n") || !strings.HasPrefix(key, "ssh-") && !strings.HasPrefix(key, "ecdsa-") && !strings.HasPrefix(key, "sk-") {
		return "", fmt.Errorf("ssh key %s: want one OpenSSH public key line (ssh-ed25519 AAAA...)", path)
	}
	return key, nil
}

// identityFile is the private key next to a .pub file, if it exists.
func identityFile(pubPath string) string {
	p, err := wallet.ExpandPath(pubPath)
	if err != nil {
		return ""
	}
	priv, ok := strings.CutSuffix(p, ".pub")
	if !ok {
		return ""
	}
	if _, err := os.Stat(priv); err != nil {
		return ""
	}
	return priv
}

// sshCommandLine is the ssh command to print, with -i when the key file is known.
func sshCommandLine(a renter.Allocation, pubPath string) string {
	cmd := a.SSHCommand
	if id := identityFile(pubPath); id != "" {
		cmd = strings.Replace(cmd, "ssh ", "ssh -i "+id+" ", 1)
	}
	return cmd
}

func printAllocation(w io.Writer, a renter.Allocation, r *requestFlags, keyFile string) error {
	a.SSHCommand = sshCommandLine(a, r.sshKeyFile)
	if r.asJSON {
		return printJSON(w, struct {
			renter.Allocation
			RenterKey string `json:"renter_key"`
		}{a, keyFile})
	}
	fmt.Fprintf(w, "Allocated miner %s until %s.\n", a.Hotkey, a.Deadline.Local().Format(time.RFC3339))
	fmt.Fprintf(w, "  host:       %s\n  port:       %d\n  username:   %s\n", a.Host, a.Port, a.Username)
	if a.Password != "" {
		fmt.Fprintf(w, "  password:   %s\n", a.Password)
	}
	fmt.Fprintf(w, "  renter key: %s (needed to deallocate; keep it)\n", keyFile)
	if a.HostKey != "" {
		fmt.Fprintf(w, "  host key:   %s (pinned in %s)\n", a.HostKey, a.KnownHosts)
	}
	fmt.Fprintf(w, "Log in with:\n  %s\n", a.SSHCommand)
	return nil
}

// renterError exits with exitFailed (3) when no miner matched or nothing
// was allocated, 1 on other failures.
func renterError(err error) error {
	switch {
	case errors.Is(err, renter.ErrInvalid), errors.Is(err, renter.ErrUnknownHotkey):
		return withCode(exitBadInput, err)
	case errors.Is(err, renter.ErrNoMatch), errors.Is(err, renter.ErrNotAllocated), errors.Is(err, renter.ErrAlreadyAllocated),
		errors.Is(err, renter.ErrBusy):
		return withCode(exitFailed, err)
	}
	return err
}

func newRenterAllocateCmd() *cobra.Command {
	var (
		f renterFlags
		r requestFlags
	)
	cmd := &cobra.Command{
		Use:   "allocate",
		Short: "Allocate the best available miner that meets the requested resources",
		Long: `Allocate a miner that meets the request: among the miners with stored specs that meet it, are
not allocated and not penalised, the highest-staked is asked first whether it can serve the request,
then allocated; one that declines is skipped. Prints the credentials and a ready ssh command.
Sizes take binary units: 512MB, 4GB, 1.5GiB.`,
		Example: `  sn27 renter allocate --cpu.count 1 --ram 256MB --timeline 10 --ssh-key ~/.ssh/id_ed25519.pub
  sn27 renter allocate --gpu.type h100 --gpu.count 1 --gpu.memory 40GB --ram 32GB --disk 100GB --timeline 120 --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			req, err := r.request()
			if err != nil {
				return withCode(exitBadInput, err)
			}
			return f.run(cmd, renterNeeds{miners: true}, func(svc *renter.Service) error {
				a, err := svc.Allocate(cmd.Context(), req)
				if err != nil {
					return renterError(err)
				}
				return printAllocation(cmd.OutOrStdout(), a, &r, svc.KeyFile(a.Hotkey))
			})
		},
	}
	f.register(cmd.Flags())
	r.register(cmd.Flags())
	return cmd
}

func newRenterAllocateHotkeyCmd() *cobra.Command {
	var (
		f renterFlags
		r requestFlags
	)
	cmd := &cobra.Command{
		Use:   "allocate-hotkey HOTKEY",
		Short: "Allocate the miner of HOTKEY",
		Example: `  sn27 renter allocate-hotkey 5F... --cpu.count 1 --ram 1GB --timeline 60 --ssh-key ~/.ssh/id_ed25519.pub
  sn27 renter allocate-hotkey 5F... --gpu.count 1 --timeline 30 --json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			req, err := r.request()
			if err != nil {
				return withCode(exitBadInput, err)
			}
			return f.run(cmd, renterNeeds{miners: true}, func(svc *renter.Service) error {
				a, err := svc.AllocateHotkey(cmd.Context(), args[0], req)
				if err != nil {
					return renterError(err)
				}
				return printAllocation(cmd.OutOrStdout(), a, &r, svc.KeyFile(a.Hotkey))
			})
		},
	}
	f.register(cmd.Flags())
	r.register(cmd.Flags())
	return cmd
}

func newRenterDeallocateCmd() *cobra.Command {
	var f renterFlags
	cmd := &cobra.Command{
		Use:   "deallocate HOTKEY",
		Short: "End the allocation of HOTKEY: the miner removes the container",
		Example: `  sn27 renter deallocate 5F...
  sn27 renter deallocate 5F... --data.dir /srv/validator`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return f.run(cmd, renterNeeds{miners: true}, func(svc *renter.Service) error {
				if err := svc.Deallocate(cmd.Context(), args[0]); err != nil {
					return renterError(err)
				}
				fmt.Fprintf(cmd.OutOrStdout(), "Deallocated %s.\n", args[0])
				return nil
			})
		},
	}
	f.register(cmd.Flags())
	return cmd
}

func newRenterListAllocationsCmd() *cobra.Command {
	var (
		f      renterFlags
		asJSON bool
		check  bool
	)
	cmd := &cobra.Command{
		Use:   "list-allocations",
		Short: "List this validator's allocations",
		Long: `List this validator's allocations with their deadlines. Rentals whose deadline has passed are
ended first (reason expired); with --check each miner is also asked whether it still holds the
rental, and one that says no is ended (reason miner_lost). The validator does the same check on
its own every --validator.rentals.every blocks.`,
		Example: `  sn27 renter list-allocations
  sn27 renter list-allocations --check --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return f.run(cmd, renterNeeds{miners: check}, func(svc *renter.Service) error {
				// Rentals past their deadline end here (the miner has removed
				// them); with --check each miner is asked too.
				ended, err := svc.Reconcile(cmd.Context())
				if err != nil {
					fmt.Fprintf(cmd.ErrOrStderr(), "warning: %v\n", err)
				}
				for _, e := range ended {
					fmt.Fprintf(cmd.ErrOrStderr(), "ended: %s (%s)\n", e.Hotkey, e.Reason)
				}
				as, err := svc.Allocations(cmd.Context())
				if err != nil {
					return err
				}
				out := cmd.OutOrStdout()
				if asJSON {
					return printJSON(out, as)
				}
				tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "HOTKEY\tSSH\tCREATED\tDEADLINE")
				for _, a := range as {
					ssh := "-"
					if a.Host != "" {
						ssh = fmt.Sprintf("%s@%s:%d", a.Username, a.Host, a.Port)
					}
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", a.Hotkey, ssh, fmtTime(a.Created), fmtTime(a.Deadline))
				}
				if err := tw.Flush(); err != nil {
					return err
				}
				fmt.Fprintf(out, "%d allocations\n", len(as))
				return nil
			})
		},
	}
	f.register(cmd.Flags())
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	cmd.Flags().BoolVar(&check, "check", false, "ask each miner whether it still holds the rental (needs the chain and the wallet)")
	return cmd
}

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.Local().Format(time.RFC3339)
}

func newRenterActionCmd(action string) *cobra.Command {
	var f renterFlags
	what := map[string]string{"restart": "Restart", "pause": "Pause", "unpause": "Unpause"}[action]
	cmd := &cobra.Command{
		Use:     action + " HOTKEY",
		Short:   what + " the container of HOTKEY's allocation",
		Example: fmt.Sprintf("  sn27 renter %s 5F...\n  sn27 renter %s 5F... --data.dir /srv/validator", action, action),
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return f.run(cmd, renterNeeds{miners: true}, func(svc *renter.Service) error {
				if err := svc.Action(cmd.Context(), args[0], action, ""); err != nil {
					return renterError(err)
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%s: done for %s.\n", action, args[0])
				return nil
			})
		},
	}
	f.register(cmd.Flags())
	return cmd
}

func newRenterExchangeKeyCmd() *cobra.Command {
	var (
		f       renterFlags
		keyFile string
	)
	cmd := &cobra.Command{
		Use:     "exchange-key HOTKEY",
		Short:   "Replace the SSH key authorised in HOTKEY's allocation",
		Example: `  sn27 renter exchange-key 5F... --ssh-key ~/.ssh/new_key.pub`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if keyFile == "" {
				return withCode(exitBadInput, errors.New("--ssh-key FILE is required"))
			}
			key, err := readSSHPublicKey(keyFile)
			if err != nil {
				return withCode(exitBadInput, err)
			}
			return f.run(cmd, renterNeeds{miners: true}, func(svc *renter.Service) error {
				if err := svc.Action(cmd.Context(), args[0], "exchange_key", key); err != nil {
					return renterError(err)
				}
				fmt.Fprintf(cmd.OutOrStdout(), "exchange_key: done for %s.\n", args[0])
				return nil
			})
		},
	}
	f.register(cmd.Flags())
	cmd.Flags().StringVar(&keyFile, "ssh-key", "", "the new OpenSSH public key FILE")
	return cmd
}

func newRenterPenalizeCmd() *cobra.Command {
	var (
		f      renterFlags
		reason string
	)
	cmd := &cobra.Command{
		Use:   "penalize HOTKEY",
		Short: "Keep HOTKEY's miner out of allocation",
		Example: `  sn27 renter penalize 5F... --reason "container unreachable"
  sn27 renter penalize 5F...`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return f.run(cmd, renterNeeds{}, func(svc *renter.Service) error {
				if err := svc.Penalize(cmd.Context(), args[0], reason); err != nil {
					return withCode(exitBadInput, err)
				}
				fmt.Fprintf(cmd.OutOrStdout(), "Penalized %s.\n", args[0])
				return nil
			})
		},
	}
	f.register(cmd.Flags())
	cmd.Flags().StringVar(&reason, "reason", "manual", "why")
	return cmd
}

func newRenterDepenalizeCmd() *cobra.Command {
	var f renterFlags
	cmd := &cobra.Command{
		Use:     "depenalize HOTKEY",
		Short:   "Lift HOTKEY's penalty",
		Example: `  sn27 renter depenalize 5F...`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return f.run(cmd, renterNeeds{}, func(svc *renter.Service) error {
				if err := svc.Depenalize(cmd.Context(), args[0]); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "Depenalized %s.\n", args[0])
				return nil
			})
		},
	}
	f.register(cmd.Flags())
	return cmd
}

func newRenterListPenalizedCmd() *cobra.Command {
	var (
		f      renterFlags
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "list-penalized",
		Short: "List penalised miners and why",
		Example: `  sn27 renter list-penalized
  sn27 renter list-penalized --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return f.run(cmd, renterNeeds{}, func(svc *renter.Service) error {
				ps, err := svc.Penalized(cmd.Context())
				if err != nil {
					return err
				}
				out := cmd.OutOrStdout()
				if asJSON {
					return printJSON(out, ps)
				}
				hs := make([]string, 0, len(ps))
				for h := range ps {
					hs = append(hs, h)
				}
				sort.Strings(hs)
				tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "HOTKEY\tREASON")
				for _, h := range hs {
					fmt.Fprintf(tw, "%s\t%s\n", h, ps[h])
				}
				return tw.Flush()
			})
		},
	}
	f.register(cmd.Flags())
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}
