package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/sn27/sn27/internal/keys"
	"github.com/sn27/sn27/internal/pog"
	"github.com/sn27/sn27/internal/pogrun"
	"github.com/sn27/sn27/internal/renter"
)

func newPoGCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "pog",
		Short: "Proof of GPU: the prover validators run in test containers, local proofs, verdict checks",
		Long: `Proof of GPU (docs/proof-of-gpu.md). Validators copy this binary into a short test allocation
on the miner and drive "sn27 pog serve" over SSH; "sn27 pog prove" runs the same proof on this
machine's devices; "sn27 pog verify" checks a signed verdict from a validator's feed offline.`,
	}
	cmd.AddCommand(newPoGServeCmd(), newPoGDevicesCmd(), newPoGProveCmd(), newPoGVerifyCmd(), newPoGModelsCmd())
	return cmd
}

func newPoGServeCmd() *cobra.Command {
	var memory string
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Answer a validator's proof requests on stdin/stdout (run by the validator over SSH)",
		Long: `Answer proof requests, one JSON line each on stdin, with one JSON line each on stdout
(internal/pog/protocol.go), on this machine's OpenCL devices, until "bye" or end of input.
Validators start it in their test container; it is not meant to be run by hand.`,
		Example: `  echo '{"op":"identify"}' | sn27 pog serve
  sn27 pog serve --memory 256MiB   # a CPU device reports 256 MiB`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			b := &pogrun.OpenCLBackend{}
			if memory != "" {
				n, err := renter.ParseSize(memory)
				if err != nil {
					return withCode(exitBadInput, fmt.Errorf("--memory: %w", err))
				}
				b.MemoryBytes = uint64(n)
			}
			defer b.Close()
			return pogrun.Serve(cmd.Context(), cmd.InOrStdin(), cmd.OutOrStdout(), b)
		},
	}
	cmd.Flags().StringVar(&memory, "memory", "", "memory a CPU device reports (e.g. 256MiB; a CPU claims no VRAM)")
	return cmd
}

func newPoGDevicesCmd() *cobra.Command {
	return &cobra.Command{
		Use:     "devices",
		Short:   "List this machine's OpenCL devices as the prover reports them (JSON)",
		Example: `  sn27 pog devices`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ds, err := (&pogrun.OpenCLBackend{}).Devices()
			if err != nil {
				return err
			}
			enc := json.NewEncoder(cmd.OutOrStdout())
			enc.SetIndent("", "  ")
			return enc.Encode(ds)
		},
	}
}

func newPoGModelsCmd() *cobra.Command {
	return &cobra.Command{
		Use:     "models",
		Short:   "Print the built-in model table (bands, scores, which entries are estimated)",
		Example: `  sn27 pog models`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			enc := json.NewEncoder(cmd.OutOrStdout())
			enc.SetIndent("", "  ")
			return enc.Encode(pog.DefaultTable())
		},
	}
}

func newPoGProveCmd() *cobra.Command {
	var (
		model      string
		count      int
		memory     string
		asJSON     bool
		testModels bool
	)
	cmd := &cobra.Command{
		Use:   "prove",
		Short: "Run a whole proof of this machine's devices here, as a validator would, and print the findings",
		Long: `Run the validator's side and the prover's side of a proof in one process on this machine's
OpenCL devices: the claimed model (--model, default: the first device's name as the table knows it),
the steps, the measured rates and the model the table identifies. Nothing is signed or sent.`,
		Example: `  sn27 pog prove --model "NVIDIA H100 80GB HBM3" --count 8
  sn27 pog prove --test-models --model "PoCL CPU" --memory 256MiB --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			b := &pogrun.OpenCLBackend{}
			defer b.Close()
			var mem uint64
			if memory != "" {
				n, err := renter.ParseSize(memory)
				if err != nil {
					return withCode(exitBadInput, fmt.Errorf("--memory: %w", err))
				}
				mem, b.MemoryBytes = uint64(n), uint64(n)
			}
			table := pog.DefaultTable()
			models := table.Usable(testModels)
			if model == "" {
				ds, err := b.Devices()
				if err != nil {
					return err
				}
				m, ok := pog.Claimed(models, ds[0].Name)
				if !ok {
					return withCode(exitBadInput, fmt.Errorf("device 0 (%s) is not in the model table: name one with --model", ds[0].Name))
				}
				model = m.Name
				if mem == 0 && ds[0].Type == "gpu" {
					mem = ds[0].VRAMBytes
				}
			}
			if mem == 0 {
				if m, ok := pog.Claimed(models, model); ok && m.Type == "gpu" {
					mem = uint64(m.VRAMGiB[0] * (1 << 30))
				} else {
					return withCode(exitBadInput, errors.New("--memory is needed for a CPU device (it claims no VRAM)"))
				}
			}
			v := pogrun.ProveLocal(cmd.Context(), b, pogrun.Claim{Hotkey: "local", Model: model, Count: count, MemBytes: mem},
				pogrun.Options{Table: table, Models: models})
			if asJSON {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				if err := enc.Encode(v); err != nil {
					return err
				}
			} else {
				printVerdict(cmd.OutOrStdout(), v)
			}
			if !v.Passed {
				return withCode(exitNoAnswer, fmt.Errorf("proof failed at %s: %s", v.FailedStep, v.Reason))
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&model, "model", "", "the model claimed (a name of the table)")
	f.IntVar(&count, "count", 1, "GPUs claimed")
	f.StringVar(&memory, "memory", "", "memory of one device claimed (default: what the device reports; needed for CPUs)")
	f.BoolVar(&asJSON, "json", false, "print the findings as JSON")
	f.BoolVar(&testModels, "test-models", false, "also use test-only entries (PoCL CPU)")
	return cmd
}

func printVerdict(w io.Writer, v pog.Verdict) {
	state := "PASSED"
	if !v.Passed {
		state = "FAILED at " + v.FailedStep + ": " + v.Reason
	}
	fmt.Fprintf(w, "claimed:  %d× %s\nverdict:  %s\n", v.ClaimedGPUs, v.ClaimedModel, state)
	if v.Passed {
		est := ""
		if v.Estimated {
			est = " (bands estimated, not yet measured on this model)"
		}
		fmt.Fprintf(w, "verified: %d× %s%s\n", v.GPUs, v.Model, est)
	}
	for _, d := range v.Devices {
		fmt.Fprintf(w, "device %d: %s (%s, %.1f GiB", d.Device.Index, d.Device.Name, d.Device.Type, float64(d.Device.VRAMBytes)/(1<<30))
		if d.Device.PCIBusID != "" {
			fmt.Fprintf(w, ", bus %s", d.Device.PCIBusID)
		}
		if d.Device.UUID != "" {
			fmt.Fprintf(w, ", uuid %s", d.Device.UUID)
		}
		fmt.Fprintf(w, ")\n  work:   n=%d  %.0f ms  %.1f GFLOP/s  %d rows opened\n", d.N, d.WorkMillis, d.GFLOPS, len(d.Rows))
		fmt.Fprintf(w, "  memory: %.2f GiB  fill %.0f ms  pass %.0f ms  %.1f GB/s  %d chunks opened\n",
			float64(d.MemBytes)/(1<<30), d.FillMillis, d.PassMillis, d.MemGBps, len(d.Opened))
		if d.Model != "" {
			fmt.Fprintf(w, "  model:  %s\n", d.Model)
		}
	}
	fmt.Fprintf(w, "time:     %.1f s (round trip %.1f ms)\n", v.Millis/1000, v.RTTMillis)
}

func newPoGVerifyCmd() *cobra.Command {
	var validatorAddr string
	cmd := &cobra.Command{
		Use:   "verify FILE",
		Short: "Check a signed verdict offline (exit 0: valid, 1: not)",
		Long: `Check the signature of a verdict (one JSON object, or a feed's JSON array: every verdict in it)
against the validator's hotkey. FILE "-" reads stdin. Exit 0 when valid, 1 when not, 2 when the
file cannot be read.`,
		Example: `  curl -s 'http://127.0.0.1:8095/v1/verdicts?hotkey=5F...&limit=1' > v.json
  sn27 pog verify v.json --validator 5G...`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if validatorAddr == "" {
				return withCode(exitBadInput, errors.New("--validator SS58 is required: whose signature to check"))
			}
			if _, err := keys.ParseSS58(validatorAddr); err != nil {
				return withCode(exitBadInput, fmt.Errorf("--validator: %w", err))
			}
			var b []byte
			var err error
			if args[0] == "-" {
				b, err = io.ReadAll(io.LimitReader(cmd.InOrStdin(), 64<<20))
			} else {
				b, err = os.ReadFile(args[0])
			}
			if err != nil {
				return withCode(exitBadInput, err)
			}
			var raws []json.RawMessage
			if t := bytes.TrimSpace(b); len(t) > 0 && t[0] == '[' {
				if err := json.Unmarshal(t, &raws); err != nil {
					return withCode(exitNoAnswer, fmt.Errorf("not a verdict array: %w", err))
				}
				if len(raws) == 0 {
					return withCode(exitNoAnswer, errors.New("no verdict in the array"))
				}
			} else {
				raws = []json.RawMessage{b}
			}
			bad := 0
			for _, r := range raws {
				v, err := pogrun.ParseVerdict(r)
				if err == nil {
					err = pogrun.Verify(v, validatorAddr)
				}
				if err != nil {
					bad++
					fmt.Fprintf(cmd.OutOrStdout(), "INVALID %s block %d: %v\n", v.Hotkey, v.Block, err)
					continue
				}
				state := "passed"
				if !v.Passed {
					state = "failed at " + v.FailedStep
				}
				fmt.Fprintf(cmd.OutOrStdout(), "valid   %s block %d %s: %s, %d× %s, %s old\n", v.Hotkey, v.Block,
					v.Time.Format(time.RFC3339), state, v.GPUs, orDash(v.Model), time.Since(v.Time).Round(time.Second))
			}
			if bad > 0 {
				return withCode(exitNoAnswer, fmt.Errorf("%d of %d verdict(s) not valid", bad, len(raws)))
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&validatorAddr, "validator", "", "the validator hotkey (SS58) that must have signed")
	return cmd
}
