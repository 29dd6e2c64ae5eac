package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"golang.org/x/term"

	"github.com/sn27/sn27/internal/chain"
	"github.com/sn27/sn27/internal/keys"
	"github.com/sn27/sn27/internal/scale"
)

// subtensorFlags are bittensor's chain flags.
type subtensorFlags struct {
	network, endpoint string
}

func (f *subtensorFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&f.network, "subtensor.network", "finney", "chain: finney, test, local (ws://127.0.0.1:9944)")
	fs.StringVar(&f.endpoint, "subtensor.chain_endpoint", "", "chain WebSocket endpoint (overrides --subtensor.network), e.g. ws://127.0.0.1:9944")
}

func (f *subtensorFlags) dial(ctx context.Context) (*chain.Client, error) {
	url, err := chain.Endpoint(f.network, f.endpoint)
	if err != nil {
		return nil, withCode(exitBadInput, err)
	}
	dctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	return chain.Dial(dctx, url, nil)
}

// parseTAO reads a decimal TAO amount into rao exactly (no floats).
func parseTAO(s string) (uint64, error) {
	s = strings.TrimSpace(s)
	whole, frac, _ := strings.Cut(s, ".")
	if whole == "" && frac == "" || len(frac) > 9 || strings.ContainsAny(whole+frac, "+-") {
		return 0, fmt.Errorf("amount %q: want a non-negative TAO amount with at most 9 decimals", s)
	}
	w := uint64(0)
	if whole != "" {
		v, err := strconv.ParseUint(whole, 10, 64)
		if err != nil || v > 18e9 {
			return 0, fmt.Errorf("amount %q: not a TAO amount", s)
		}
		w = v
	}
	f := uint64(0)
	if frac != "" {
		v, err := strconv.ParseUint(frac+strings.Repeat("0", 9-len(frac)), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("amount %q: not a TAO amount", s)
		}
		f = v
	}
	return w*1_000_000_000 + f, nil
}

// formatTAO renders rao as TAO with 9 decimals.
func formatTAO(rao uint64) string {
	return fmt.Sprintf("%d.%09d", rao/1_000_000_000, rao%1_000_000_000)
}

// confirm asks a yes/no question on a terminal. Without a terminal on
// stdin, or with --no-prompt, it answers yes (scripts never hang).
func confirm(cmd *cobra.Command, noPrompt bool, question string) (bool, error) {
	fmt.Fprintln(cmd.ErrOrStderr(), question)
	if noPrompt || !term.IsTerminal(int(os.Stdin.Fd())) {
		return true, nil
	}
	fmt.Fprint(cmd.ErrOrStderr(), "Continue? [y/N] ")
	line, err := bufio.NewReader(os.Stdin).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return false, err
	}
	a := strings.ToLower(strings.TrimSpace(line))
	return a == "y" || a == "yes", nil
}

var errDeclined = errors.New("cancelled")

func newMetagraphCmd() *cobra.Command {
	var (
		sf     subtensorFlags
		netuid uint16
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "metagraph",
		Short: "Show a subnet's neurons: keys, stake, axons, permits, incentive, emission",
		Example: `  sn27 metagraph --netuid 27
  sn27 metagraph --netuid 1 --subtensor.network local --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := sf.dial(cmd.Context())
			if err != nil {
				return err
			}
			defer c.Close()
			ns, err := c.Neurons(cmd.Context(), chain.NetUID(netuid))
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if asJSON {
				type row struct {
					UID             uint16  `json:"uid"`
					Hotkey          string  `json:"hotkey"`
					Coldkey         string  `json:"coldkey"`
					Stake           uint64  `json:"stake_rao"`
					IP              string  `json:"ip"`
					Port            uint16  `json:"port"`
					Version         uint32  `json:"version"`
					ValidatorPermit bool    `json:"validator_permit"`
					Rank            float64 `json:"rank"`
					Trust           float64 `json:"trust"`
					Consensus       float64 `json:"consensus"`
					Incentive       float64 `json:"incentive"`
					Dividends       float64 `json:"dividends"`
					Emission        uint64  `json:"emission_rao"`
					LastUpdate      uint64  `json:"last_update"`
					Active          bool    `json:"active"`
				}
				rows := make([]row, 0, len(ns))
				for _, n := range ns {
					rows = append(rows, row{uint16(n.UID), string(n.Hotkey), string(n.Coldkey), n.TotalStake(), n.Axon.IP, n.Axon.Port, n.Axon.Version,
						n.ValidatorPermit, n.Rank, n.Trust, n.Consensus, n.Incentive, n.Dividends, n.Emission, n.LastUpdate, n.Active})
				}
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				return enc.Encode(rows)
			}
			tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "UID\tHOTKEY\tCOLDKEY\tSTAKE(τ)\tAXON\tVERSION\tPERMIT\tINCENTIVE\tEMISSION(τ)")
			for _, n := range ns {
				axon := "-"
				if n.Axon.Serving() {
					axon = fmt.Sprintf("%s:%d", n.Axon.IP, n.Axon.Port)
				}
				fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%d\t%v\t%.5f\t%s\n", n.UID, n.Hotkey, n.Coldkey, formatTAO(n.TotalStake()), axon,
					n.Axon.Version, n.ValidatorPermit, n.Incentive, formatTAO(n.Emission))
			}
			return tw.Flush()
		},
	}
	sf.register(cmd.Flags())
	cmd.Flags().Uint16Var(&netuid, "netuid", 27, "subnet")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

// spendFlags are shared by commands that sign with the coldkey.
type spendFlags struct {
	sf       subtensorFlags
	wf       walletFlags
	noPrompt bool
}

func (s *spendFlags) register(fs *pflag.FlagSet) {
	s.sf.register(fs)
	s.wf.register(fs)
	fs.BoolVar(&s.noPrompt, "no-prompt", false, "do not ask for confirmation")
}

// approve shows what will be spent, asks (see confirm) and unlocks the
// wallet's coldkey.
func (s *spendFlags) approve(cmd *cobra.Command, question string) (*keys.Pair, error) {
	if ok, err := confirm(cmd, s.noPrompt, question); err != nil || !ok {
		return nil, errors.Join(err, errDeclined)
	}
	cold, err := s.wf.wallet(cmd).LoadColdkey(cmd.Context())
	if err != nil {
		return nil, walletError(err)
	}
	return cold, nil
}

func newSubnetCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "subnet",
		Short: "Create a subnet, register a hotkey on one, show or set its hyperparameters",
	}
	cmd.AddCommand(newSubnetCreateCmd(), newSubnetRegisterCmd(), newSubnetHyperparamsCmd(), newSubnetSetCmd())
	return cmd
}

func newSubnetCreateCmd() *cobra.Command {
	var s spendFlags
	cmd := &cobra.Command{
		Use:   "create",
		Short: "Create a subnet owned by the wallet's coldkey (its hotkey becomes uid 0)",
		Example: `  sn27 subnet create --wallet.name owner --subtensor.network local
  sn27 subnet create --wallet.name owner --subtensor.chain_endpoint ws://127.0.0.1:9944 --no-prompt`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			w := s.wf.wallet(cmd)
			hot, err := w.LoadHotkeyPub(ctx)
			if err != nil {
				return walletError(err)
			}
			c, err := s.sf.dial(ctx)
			if err != nil {
				return err
			}
			defer c.Close()
			cost := "unknown"
			if b, err := c.RuntimeCall(ctx, "SubnetRegistrationRuntimeApi_get_network_registration_cost", nil); err == nil && len(b) == 8 {
				cost = formatTAO(scale.NewDecoder(b).U64())
			}
			cold, err := s.approve(cmd, fmt.Sprintf("Create a subnet with owner hotkey %s; lock cost %s τ.", hot, cost))
			if err != nil {
				return err
			}
			netuid, err := c.RegisterNetwork(ctx, cold, hot)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "netuid %d\n", netuid)
			return nil
		},
	}
	s.register(cmd.Flags())
	return cmd
}

func newSubnetRegisterCmd() *cobra.Command {
	var (
		s      spendFlags
		netuid uint16
	)
	cmd := &cobra.Command{
		Use:   "register",
		Short: "Register the wallet's hotkey on a subnet, paying the burn from its coldkey",
		Example: `  sn27 subnet register --netuid 27 --wallet.name miner --wallet.hotkey default
  sn27 subnet register --netuid 2 --subtensor.network local --no-prompt`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			w := s.wf.wallet(cmd)
			hot, err := w.LoadHotkeyPub(ctx)
			if err != nil {
				return walletError(err)
			}
			c, err := s.sf.dial(ctx)
			if err != nil {
				return err
			}
			defer c.Close()
			burn, err := c.Hyperparameter(ctx, "Burn", chain.NetUID(netuid))
			if err != nil {
				return err
			}
			cold, err := s.approve(cmd, fmt.Sprintf("Register hotkey %s on subnet %d; burn cost %s τ.", hot, netuid, formatTAO(burn)))
			if err != nil {
				return err
			}
			uid, err := c.BurnedRegister(ctx, cold, chain.NetUID(netuid), hot)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "uid %d\n", uid)
			return nil
		},
	}
	s.register(cmd.Flags())
	cmd.Flags().Uint16Var(&netuid, "netuid", 27, "subnet")
	return cmd
}

func newTransferCmd() *cobra.Command {
	var (
		s      spendFlags
		dest   string
		amount string
	)
	cmd := &cobra.Command{
		Use:     "transfer",
		Short:   "Send TAO from the wallet's coldkey to an address",
		Example: `  sn27 transfer --dest 5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty --amount 10 --subtensor.network local`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			rao, err := parseTAO(amount)
			if err != nil || rao == 0 {
				return withCode(exitBadInput, errors.Join(err, errors.New("--amount must be a positive TAO amount")))
			}
			if _, err := keys.ParseSS58(dest); err != nil {
				return withCode(exitBadInput, fmt.Errorf("--dest: %w", err))
			}
			c, err := s.sf.dial(ctx)
			if err != nil {
				return err
			}
			defer c.Close()
			cold, err := s.approve(cmd, fmt.Sprintf("Send %s τ to %s.", formatTAO(rao), dest))
			if err != nil {
				return err
			}
			if _, err := c.Transfer(ctx, cold, dest, rao); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "sent %s τ to %s\n", formatTAO(rao), dest)
			return nil
		},
	}
	s.register(cmd.Flags())
	cmd.Flags().StringVar(&dest, "dest", "", "recipient SS58 address")
	cmd.Flags().StringVar(&amount, "amount", "", "TAO to send")
	return cmd
}

func newBalanceCmd() *cobra.Command {
	var (
		sf subtensorFlags
		wf walletFlags
	)
	cmd := &cobra.Command{
		Use:   "balance [ADDRESS]",
		Short: "Show the free balance of an address (default: the wallet's coldkey)",
		Example: `  sn27 balance --wallet.name miner --subtensor.network local
  sn27 balance 5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			var addr string
			if len(args) == 1 {
				addr = args[0]
			} else {
				ck, err := wf.wallet(cmd).LoadColdkeyPub(ctx)
				if err != nil {
					return walletError(err)
				}
				addr = string(ck)
			}
			pub, err := keys.ParseSS58(addr)
			if err != nil {
				return withCode(exitBadInput, err)
			}
			c, err := sf.dial(ctx)
			if err != nil {
				return err
			}
			defer c.Close()
			a, err := c.Account(ctx, pub)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s %s τ\n", addr, formatTAO(a.Free))
			return nil
		},
	}
	sf.register(cmd.Flags())
	wf.register(cmd.Flags())
	return cmd
}
