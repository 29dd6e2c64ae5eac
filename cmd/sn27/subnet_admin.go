package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/sn27/sn27/internal/chain"
)

// newSubnetHyperparamsCmd is btcli's `sudo get`: the subnet's
// hyperparameters, read from storage by the names the runtime's metadata has.
func newSubnetHyperparamsCmd() *cobra.Command {
	var (
		sf     subtensorFlags
		netuid uint16
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:     "hyperparameters",
		Aliases: []string{"hyperparams"},
		Short:   "Show a subnet's hyperparameters (those the connected runtime stores)",
		Long: `Show a subnet's hyperparameters, read from SubtensorModule storage by the names in the
connected runtime's metadata (Tempo, WeightsSetRateLimit, CommitRevealWeightsEnabled, ...).
Parameters the runtime does not store are left out. SETTABLE says whether the runtime has the
AdminUtils setter that "sn27 subnet set" sends.`,
		Example: `  sn27 subnet hyperparameters --netuid 27
  sn27 subnet hyperparameters --netuid 2 --subtensor.network local --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			c, err := sf.dial(ctx)
			if err != nil {
				return err
			}
			defer c.Close()
			hs, err := c.Hyperparameters(ctx, chain.NetUID(netuid))
			if err != nil {
				return subnetError(err)
			}
			owner, err := c.SubnetOwner(ctx, chain.NetUID(netuid))
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if asJSON {
				params := make(map[string]any, len(hs))
				for _, h := range hs {
					params[h.Name] = h.Value
				}
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				return enc.Encode(struct {
					NetUID uint16         `json:"netuid"`
					Owner  string         `json:"owner"`
					Params map[string]any `json:"hyperparameters"`
				}{netuid, string(owner), params})
			}
			fmt.Fprintf(out, "subnet %d, owner %s\n", netuid, owner)
			tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tVALUE\tSTORAGE\tSETTABLE")
			for _, h := range hs {
				v := h.String()
				if u, ok := h.Value.(uint64); ok && h.Unit == "rao" {
					v = fmt.Sprintf("%s (%s τ)", v, formatTAO(u))
				} else if h.Unit != "" {
					v += " " + h.Unit
				}
				set := "-"
				if h.Settable {
					set = "yes"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", h.Name, v, h.Storage, set)
			}
			return tw.Flush()
		},
	}
	sf.register(cmd.Flags())
	cmd.Flags().Uint16Var(&netuid, "netuid", 27, "subnet")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

// newSubnetSetCmd is btcli's `sudo set`: one AdminUtils.sudo_set_* call,
// signed by the wallet's coldkey (the subnet owner), or wrapped in
// Sudo.sudo with --sudo.
func newSubnetSetCmd() *cobra.Command {
	var (
		s      spendFlags
		netuid uint16
		param  string
		value  string
		sudo   bool
	)
	cmd := &cobra.Command{
		Use:   "set",
		Short: "Set a subnet hyperparameter as its owner (AdminUtils.sudo_set_*)",
		Long: `Send AdminUtils.sudo_set_<param>(netuid, value) signed by the wallet's coldkey, which must
own the subnet, then print the value read back from storage. The call and its argument types
come from the connected runtime's metadata; an unknown --param lists the ones this runtime
can set. Names are the setter's (weights_set_rate_limit) or btcli's (weights_rate_limit).
Booleans take true/false; parameters with several values take them comma-separated
(--param alpha_values --value 45875,58982).

Some setters are root-only (tempo, target_registrations_per_interval, ... in spec 218): the
owner gets BadOrigin. On a dev chain, --sudo wraps the call in Sudo.sudo signed by the
wallet's coldkey, which must then be the chain's sudo key (//Alice on the local chains).`,
		Example: `  sn27 subnet set --netuid 2 --param commit_reveal_weights_enabled --value false --wallet.name owner --subtensor.network local
  sn27 subnet set --netuid 2 --param weights_set_rate_limit --value 0 --wallet.name owner --subtensor.network local
  sn27 subnet set --netuid 2 --param tempo --value 100 --sudo --wallet.name alice --subtensor.network local`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if param == "" || value == "" {
				return withCode(exitBadInput, errors.New("--param and --value are required"))
			}
			c, err := s.sf.dial(ctx)
			if err != nil {
				return err
			}
			defer c.Close()
			n := chain.NetUID(netuid)
			if err := subnetError(c.RequireSubnet(ctx, n)); err != nil {
				return err
			}
			hc, err := c.PrepareHyperparam(n, param, value)
			if err != nil {
				return withCode(exitBadInput, err)
			}
			how := "signed by the wallet's coldkey (the subnet owner)"
			if sudo {
				how = "wrapped in Sudo.sudo, signed by the wallet's coldkey (the sudo key)"
			}
			cold, err := s.approve(cmd, fmt.Sprintf("Send %s, %s.", hc.Describe(), how))
			if err != nil {
				return err
			}
			v, _, err := c.SetHyperparam(ctx, cold, hc, sudo)
			if errors.Is(err, chain.ErrRootOnly) {
				return fmt.Errorf("%w; on a dev chain, pass --sudo with the sudo key's wallet", err)
			}
			if err != nil {
				return err
			}
			if v.Value == nil {
				fmt.Fprintf(cmd.OutOrStdout(), "sent %s (this runtime stores no %s to read back)\n", hc.Describe(), hc.Param.Storage)
				return nil
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s = %s (subnet %d)\n", hc.Param.Name, v, netuid)
			return nil
		},
	}
	s.register(cmd.Flags())
	cmd.Flags().Uint16Var(&netuid, "netuid", 27, "subnet")
	cmd.Flags().StringVar(&param, "param", "", "hyperparameter, e.g. commit_reveal_weights_enabled, tempo, weights_set_rate_limit")
	cmd.Flags().StringVar(&value, "value", "", "new value (true/false for switches; comma-separated for several)")
	cmd.Flags().BoolVar(&sudo, "sudo", false, "wrap the call in Sudo.sudo (the wallet's coldkey must be the chain's sudo key; dev chains)")
	return cmd
}

// subnetError gives a missing subnet (chain.ErrNoSubnet) the bad-input
// exit code.
func subnetError(err error) error {
	if errors.Is(err, chain.ErrNoSubnet) {
		return withCode(exitBadInput, err)
	}
	return err
}
