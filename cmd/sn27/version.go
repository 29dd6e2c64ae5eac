package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/sn27/sn27/internal/buildinfo"
	"github.com/sn27/sn27/internal/opencl"
	"github.com/sn27/sn27/internal/pow"
	"github.com/sn27/sn27/internal/protocol"
)

// versionInfo is what `sn27 version` prints.
type versionInfo struct {
	buildinfo.Info
	NativeKernel string `json:"native_kernel"` // the fastest this CPU runs
	OpenCL       bool   `json:"opencl"`        // built with the OpenCL solver and prover (purego)
	SN27Protocol string `json:"sn27_protocol"` // the compute-subnet version the wire speaks
}

func readVersion() versionInfo {
	k, err := pow.KernelAuto.Resolve()
	if err != nil {
		k = pow.KernelScalar
	}
	return versionInfo{Info: buildinfo.Read(), NativeKernel: string(k), OpenCL: opencl.BuiltIn,
		SN27Protocol: fmt.Sprintf("%s (%d)", protocol.SN27Version, protocol.SN27VersionInt)}
}

func newVersionCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print this build: version, commit, build date, Go version, solvers built in",
		Long: `Print the version (stamped by make: git describe, or VERSION=), the commit and its date, whether
the tree had uncommitted changes, the Go version and platform, the native solver kernel this CPU
runs, whether the OpenCL solver and prover are built in (not with -tags noopencl), and the SN27
protocol version the axon and dendrite speak. The miner's axon advertises that protocol version on
chain (Python validators skip axons below their minimum miner version) and names this build in its
Server header ("sn27/v1.2.3 (SN27 1.8.3)").`,
		Example: `  sn27 version
  sn27 version --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			v := readVersion()
			out := cmd.OutOrStdout()
			if asJSON {
				return printJSON(out, v)
			}
			commit := v.Commit
			if len(commit) > 12 {
				commit = commit[:12]
			}
			if v.Modified {
				commit += " (modified)"
			}
			opencl := "built in (purego, loads libOpenCL.so.1 at run time)"
			if !v.OpenCL {
				opencl = "not built in (-tags noopencl)"
			}
			fmt.Fprintf(out, "sn27 %s\n  commit        %s\n  date          %s\n  go            %s %s\n  native solver %s\n  opencl        %s\n  sn27 protocol %s\n",
				v.Version, orDash(commit), orDash(v.Date), v.GoVersion, v.Platform, v.NativeKernel, opencl, v.SN27Protocol)
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}
