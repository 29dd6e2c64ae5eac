package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/sn27/sn27/internal/chain"
	"github.com/sn27/sn27/internal/chain/devchain"
	"github.com/sn27/sn27/internal/devnet"
	"github.com/sn27/sn27/internal/keys"
	"github.com/sn27/sn27/internal/wallet"
)

func newDevchainCmd() *cobra.Command {
	cfg := devchain.DefaultConfig()
	host, port := "127.0.0.1", 9944
	cmd := &cobra.Command{
		Use:   "devchain",
		Short: "Run an embedded Bittensor dev chain that miners and validators can share",
		Long: `devchain runs an in-process development chain that speaks the subtensor JSON-RPC
subset (WebSocket and HTTP POST on one port) with the real spec-218 runtime metadata,
so sn27 miners and validators use it exactly as they use a real node.

//Alice..//Ferdie start with 1,000,000 TAO each and //Alice is the sudo key.
Blocks come one per extrinsic, or every --block-time; each subnet runs a simplified
Yuma consensus epoch every tempo+1 blocks. With --state the chain is saved after
every block and resumes from that file. serve_axon accepts 127.0.0.1 (dev mode).
--runtime 343 serves subtensor spec 343's metadata instead: commit-reveal on for new
subnets, weights through commit_timelocked_(mechanism_)weights, revealed at the epoch
with the chain's own drand beacon (Drand.BeaconConfig, a pulse per block), and
set_mechanism_weights.
The ws:// endpoint is printed on stdout; the chain runs until SIGINT or SIGTERM.`,
		Example: `  sn27 devchain
  sn27 devchain --port 9945 --state ~/.sn27/devchain.json --block-time 2s --tempo 10
  sn27 devchain fund 5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty 100`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			log := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), nil))
			if cfg.StatePath != "" {
				// ~ as the shell would (for --config and SN27_STATE), and the
				// folder made, so a first run on a new machine can save.
				p, err := wallet.ExpandPath(cfg.StatePath)
				if err != nil {
					return withCode(exitBadInput, fmt.Errorf("--state: %w", err))
				}
				if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
					return fmt.Errorf("--state: %w", err)
				}
				cfg.StatePath = p
			}
			if cfg.Runtime == 343 {
				cfg.Beacon = devnet.Beacon{}
			}
			c, err := devchain.New(cfg, log)
			if err != nil {
				return err
			}
			ln, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(port)))
			if err != nil {
				return fmt.Errorf("listen: %w", err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "ws://%s\n", ln.Addr())
			log.Info("dev chain serving", "endpoint", "ws://"+ln.Addr().String(), "block", c.BlockNumber(), "state", cfg.StatePath)
			return c.Serve(cmd.Context(), ln)
		},
	}
	f := cmd.Flags()
	f.StringVar(&host, "host", host, "address to listen on (loopback by default)")
	f.IntVar(&port, "port", port, "port for WebSocket and HTTP JSON-RPC (0 picks a free one)")
	f.StringVar(&cfg.StatePath, "state", "", "JSON file to keep the chain state in across restarts (default: memory only)")
	f.DurationVar(&cfg.BlockTime, "block-time", 0, "time between blocks; 0 makes one block per extrinsic")
	f.Uint16Var(&cfg.Tempo, "tempo", cfg.Tempo, "tempo of new subnets in blocks (an epoch every tempo+1 blocks)")
	f.Uint64Var(&cfg.NetworkRateLimit, "network-rate-limit", cfg.NetworkRateLimit, "blocks between two register_network calls (real chains: 10 or more; 0 lets subnet create work at once)")
	f.Uint32Var(&cfg.Runtime, "runtime", devchain.SpecVersion, "runtime whose metadata the chain serves: 218 or 343 (commit-reveal with timelocked commits)")
	f.BoolVar(&cfg.AllowLoopback, "allow-loopback", cfg.AllowLoopback, "let serve_axon announce 127.0.0.1 (the real chain refuses it)")
	cmd.AddCommand(newDevchainFundCmd())
	return cmd
}

func newDevchainFundCmd() *cobra.Command {
	endpoint := chain.Networks["local"]
	cmd := &cobra.Command{
		Use:   "fund ADDRESS AMOUNT_TAO",
		Short: "Credit TAO to an account on a running dev chain (dev_fund)",
		Example: `  sn27 devchain fund 5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty 100
  sn27 devchain fund 5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty 0.5 --subtensor.chain_endpoint ws://127.0.0.1:9945`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if _, err := keys.ParseSS58(args[0]); err != nil {
				return fmt.Errorf("address: %w", err)
			}
			rao, err := parseTAO(args[1])
			if err != nil {
				return err
			}
			if rao == 0 {
				return errors.New("amount: want more than 0 TAO")
			}
			url, err := chain.Endpoint("", endpoint)
			if err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), 30*time.Second)
			defer cancel()
			rpc, err := chain.DialRPC(ctx, url, nil)
			if err != nil {
				return err
			}
			defer rpc.Close()
			var free uint64
			if err := rpc.Call(ctx, &free, "dev_fund", args[0], strconv.FormatUint(rao, 10)); err != nil {
				return fmt.Errorf("fund %s: %w", args[0], err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: +%s TAO, balance %s TAO\n", args[0], formatTAO(rao), formatTAO(free))
			return nil
		},
	}
	cmd.Flags().StringVar(&endpoint, "subtensor.chain_endpoint", endpoint, "dev chain endpoint")
	return cmd
}
