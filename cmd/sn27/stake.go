package main

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/sn27/sn27/internal/chain"
	"github.com/sn27/sn27/internal/keys"
)

// formatPrice renders a price in rao per alpha as τ per α.
func formatPrice(raoPerAlpha uint64) string { return formatTAO(raoPerAlpha) + " τ/α" }

func newStakeCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "stake", Short: "Stake TAO to a hotkey"}
	var (
		s         spendFlags
		netuid    uint16
		amount    string
		hotkey    string
		tolerance float64
		partial   bool
	)
	add := &cobra.Command{
		Use:   "add",
		Short: "Stake --amount TAO from the wallet's coldkey to its hotkey (or --hotkey) on a subnet",
		Long: `Stake TAO on a subnet: the TAO buys the subnet's alpha from its pool. Before spending, sn27
reads the pool and says what the TAO should buy, warning when the pool cannot give what is paid
(an empty pool, or one so small that most of the TAO buys almost nothing). Afterwards it prints
the alpha actually received and the price paid, from the runtime's StakeAdded event.

With --tolerance X (0.005 = 0.5%) the stake is refused when the price would rise above the
current price × (1+X): through add_stake_limit where the runtime has it (the runtime refuses
with SlippageTooHigh), otherwise by sn27's own check of the pool before sending.`,
		Example: `  sn27 stake add --amount 1000 --netuid 27 --wallet.name validator
  sn27 stake add --amount 100 --netuid 27 --tolerance 0.005 --wallet.name validator
  sn27 stake add --amount 0.5 --netuid 2 --hotkey 5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty --no-prompt`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			rao, err := parseTAO(amount)
			if err != nil || rao == 0 {
				return withCode(exitBadInput, errors.Join(err, errors.New("--amount must be a positive TAO amount")))
			}
			limited := cmd.Flags().Changed("tolerance")
			if limited && (tolerance < 0 || tolerance > 10) {
				return withCode(exitBadInput, fmt.Errorf("--tolerance %v: want a fraction between 0 and 10, e.g. 0.005 for 0.5%%", tolerance))
			}
			if partial && !limited {
				return withCode(exitBadInput, errors.New("--allow-partial needs --tolerance"))
			}
			w := s.wf.wallet(cmd)
			var hot keys.Hotkey
			if hotkey != "" {
				if hot, err = keys.ParseHotkey(hotkey); err != nil {
					return withCode(exitBadInput, err)
				}
			} else if hot, err = w.LoadHotkeyPub(ctx); err != nil {
				return walletError(err)
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
			pool, err := c.Pool(ctx, n)
			if err != nil {
				return fmt.Errorf("read the pool of subnet %d: %w", netuid, err)
			}
			if pool.SubtokenEnabled != nil && !*pool.SubtokenEnabled {
				return fmt.Errorf("staking on subnet %d is not enabled yet (SubtokenEnabled is false until the owner's start_call); nothing was sent", netuid)
			}
			est, err := c.EstimateStake(ctx, pool, rao)
			if err != nil {
				return err
			}
			var q strings.Builder
			fmt.Fprintf(&q, "Stake %s τ to %s on subnet %d.\n", formatTAO(rao), hot, netuid)
			if noPool(pool) {
				fmt.Fprintf(&q, "Note: the chain keeps no pool for subnet %d (SubnetTAO, SubnetAlphaIn and SubnetAlphaOut are all 0), so what the stake buys cannot be estimated.", netuid)
			} else {
				fmt.Fprintf(&q, "Pool: %s τ, %s α for sale; price %s.\n", formatTAO(pool.TAO), formatTAO(pool.AlphaIn), priceOrNone(pool))
				fmt.Fprintf(&q, "Expected: about %s α (%s).", formatTAO(est.Alpha), est.How)
			}
			warning := poolWarning(pool, est, rao)
			if warning != "" {
				fmt.Fprintf(&q, "\nWARNING: %s", warning)
			}

			var limit uint64
			if limited {
				if limit, err = chain.LimitPrice(pool.Price, tolerance); err != nil {
					return fmt.Errorf("--tolerance: subnet %d: %w; nothing was sent", netuid, err)
				}
				if pool.HasLimit {
					fmt.Fprintf(&q, "\nLimit: %s (add_stake_limit; %s).", formatPrice(limit), partialWord(partial))
				} else {
					// No add_stake_limit: check the pool ourselves.
					if est.Alpha == 0 || est.FinalPrice == 0 || est.FinalPrice > limit {
						final := "nothing (the pool would sell all its α)"
						if est.Alpha == 0 {
							final = "nothing (the pool gives no α for it)"
						} else if est.FinalPrice != 0 {
							final = formatPrice(est.FinalPrice)
						}
						return fmt.Errorf("the price would move from %s to %s, above the limit %s (--tolerance %v); this runtime has no add_stake_limit, so sn27 checked the pool itself: nothing was sent",
							priceOrNone(pool), final, formatPrice(limit), tolerance)
					}
					fmt.Fprintf(&q, "\nLimit: %s, checked by sn27 against the pool (this runtime has no add_stake_limit to enforce it).", formatPrice(limit))
				}
			}
			cold, err := s.approve(cmd, q.String())
			if err != nil {
				return err
			}
			var r *chain.Receipt
			if limited && pool.HasLimit {
				r, err = c.AddStakeLimit(ctx, cold, hot, n, rao, limit, partial)
			} else {
				r, err = c.AddStake(ctx, cold, hot, n, rao)
			}
			switch {
			case errors.Is(err, chain.ErrSlippageTooHigh):
				return fmt.Errorf("the runtime refused: this stake would take the price above the limit %s (--tolerance %v; the price moved, or the pool is too small for the amount); nothing was staked: %w", formatPrice(limit), tolerance, err)
			case errors.Is(err, chain.ErrSubtokenDisabled):
				return fmt.Errorf("staking on subnet %d is not enabled yet (the owner's start_call); nothing was staked: %w", netuid, err)
			case err != nil:
				return err
			}
			printStaked(cmd.OutOrStdout(), cmd.ErrOrStderr(), r, rao, hot, n, pool)
			return nil
		},
	}
	s.register(add.Flags())
	add.Flags().Uint16Var(&netuid, "netuid", 27, "subnet")
	add.Flags().StringVar(&amount, "amount", "", "TAO to stake, e.g. 1000 or 0.5")
	add.Flags().StringVar(&hotkey, "hotkey", "", "hotkey address to stake to (default: the wallet's hotkey)")
	add.Flags().Float64Var(&tolerance, "tolerance", 0, "refuse if the price would rise more than this fraction above the current price (0.005 = 0.5%)")
	add.Flags().BoolVar(&partial, "allow-partial", false, "with --tolerance and add_stake_limit: stake only what stays under the limit instead of refusing")
	cmd.AddCommand(add)
	return cmd
}

func priceOrNone(p chain.Pool) string {
	if p.Price == 0 {
		return "none (no alpha in the pool)"
	}
	return formatPrice(p.Price) + " (" + p.PriceFrom + ")"
}

func partialWord(partial bool) string {
	if partial {
		return "partial fill allowed"
	}
	return "all or nothing"
}

// noPool: a dynamic subnet whose pool storage is all zero, which no
// subtensor runtime has (register_network seeds the pool); a chain that does
// not model pools, such as sn27's dev chain.
func noPool(p chain.Pool) bool {
	return !p.Stable() && p.TAO == 0 && p.AlphaIn == 0 && p.AlphaOut == 0
}

// fairAlpha is what tao buys at the pool's current price, in alpha base
// units (0 when the pool has no price).
func fairAlpha(p chain.Pool, tao uint64) float64 {
	if p.Price == 0 {
		return 0
	}
	return float64(tao) / float64(p.Price) * chain.RaoPerAlpha
}

// poolWarning says when the pool cannot give what is paid: nothing at all,
// or less than half of what the current price promises.
func poolWarning(p chain.Pool, est chain.Estimate, tao uint64) string {
	switch {
	case noPool(p):
		return ""
	case est.Alpha == 0:
		return fmt.Sprintf("the pool of subnet %d cannot give anything for this: %s τ would buy 0 α (the pool holds %s τ and %s α). The TAO would be spent for nothing.",
			p.NetUID, formatTAO(tao), formatTAO(p.TAO), formatTAO(p.AlphaIn))
	case p.Price > 0:
		if fair := fairAlpha(p, tao); float64(est.Alpha) < fair/2 {
			return fmt.Sprintf("the pool of subnet %d cannot give what is paid: it has %s α for sale, and %s τ would buy about %s α (%s α at the current price %s).",
				p.NetUID, formatTAO(p.AlphaIn), formatTAO(tao), formatTAO(est.Alpha), formatTAO(uint64(min(fair, 1.8e19))), formatPrice(p.Price))
		}
	}
	return ""
}

// printStaked prints the truth from the StakeAdded event: TAO paid, alpha
// received, the price paid.
// When that is nothing, or under half of what the price before promised, a
// warning repeats it on stderr.
func printStaked(out, errw io.Writer, r *chain.Receipt, sent uint64, hot keys.Hotkey, netuid chain.NetUID, before chain.Pool) {
	ev, ok := r.StakeAdded()
	if !ok {
		fmt.Fprintf(out, "sent %s τ to %s on subnet %d; the runtime reported no StakeAdded event, so the alpha received is unknown\n", formatTAO(sent), hot, netuid)
		return
	}
	line := fmt.Sprintf("staked %s τ to %s on subnet %d: received %s α", formatTAO(ev.TAO), ev.Hotkey, ev.NetUID, formatTAO(ev.Alpha))
	if ev.Alpha > 0 {
		line += " at " + strconv.FormatFloat(ev.Price(), 'f', 9, 64) + " τ/α"
	} else {
		line += " (the pool gave nothing for it)"
	}
	if ev.Fee > 0 {
		line += ", fee " + formatTAO(ev.Fee) + " τ"
	}
	if ev.TAO != sent {
		line += fmt.Sprintf(" (%s τ of the %s τ asked)", formatTAO(ev.TAO), formatTAO(sent))
	}
	fmt.Fprintln(out, line)
	if ev.Alpha == 0 || float64(ev.Alpha) < fairAlpha(before, ev.TAO)/2 {
		fmt.Fprintf(errw, "warning: %s τ bought %s α on subnet %d\n", formatTAO(ev.TAO), formatTAO(ev.Alpha), netuid)
	}
}
