package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/sn27/sn27/internal/buildinfo"
)

// exitError carries a process exit code other than 1.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// withCode makes err exit the process with code (err may be nil: silent exit).
func withCode(code int, err error) error { return &exitError{code: code, err: err} }

// run executes the command line and returns the process exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	root := newRootCmd()
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return 0
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil {
			fmt.Fprintln(stderr, "sn27:", ee.err)
		}
		return ee.code
	}
	fmt.Fprintln(stderr, "sn27:", err)
	return 1
}

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "sn27",
		Short: "Bittensor Compute Subnet (SN27) node: miner, validator and tools",
		Long: `sn27 is a Go implementation of the Bittensor Compute Subnet (SN27), wire-compatible
with the Python miners and validators of the network.`,
		Example: `  sn27 demo                      # create a challenge and solve it, with hash rates
  sn27 pow new --difficulty 6 --json
  sn27 bench --solver both --seconds 10`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       buildinfo.Read().Version,
	}
	root.AddCommand(newPowCmd(), newBenchCmd(), newDemoCmd(), newWalletCmd(),
		newMetagraphCmd(), newSubnetCmd(), newStakeCmd(), newTransferCmd(), newBalanceCmd(), newMinerCmd(), newDevchainCmd(), newValidatorCmd(), newDevnetCmd(), newRenterCmd(), newRenterAPICmd(), newPoGCmd(), newVersionCmd(), newConfigCmd(), newUpdateCmd(), newHealthcheckCmd())
	return root
}
