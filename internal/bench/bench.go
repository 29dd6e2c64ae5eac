// Package bench measures the native solver, the OpenCL solver and hashcat
// on the same machine, in the same run, on the same kind of challenge
// (SN27's: a 10-character alphabet, mask ?1 x 12, no answer within the
// time).
package bench

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/sn27/sn27/internal/hashcat"
	"github.com/sn27/sn27/internal/opencl"
	"github.com/sn27/sn27/internal/pow"
)

// Options says what to measure.
type Options struct {
	Solver   string        // "native", "hashcat", "opencl", "both" (native and hashcat) or "all"
	Duration time.Duration // per solver
	Kernel   pow.Kernel    // native kernel; empty = fastest available
	Hashcat  hashcat.Config
	OpenCL   opencl.Config
}

// Solvers returns which solvers the name given to --solver measures, or an
// error for an unknown name.
func Solvers(name string) (native, hashcat, opencl bool, err error) {
	switch name {
	case "native":
		return true, false, false, nil
	case "hashcat":
		return false, true, false, nil
	case "opencl":
		return false, false, true, nil
	case "both":
		return true, true, false, nil
	case "all":
		return true, true, true, nil
	}
	return false, false, false, fmt.Errorf("unknown solver %q (want native, hashcat, opencl, both or all)", name)
}

// Report holds the measured rates in hashes per second.
type Report struct {
	CPU             string   `json:"cpu"`
	Cores           int      `json:"cores"`
	Seconds         float64  `json:"seconds"`
	NativeHPS       float64  `json:"native_hps,omitempty"`
	NativeKernel    string   `json:"native_kernel,omitempty"`
	HashcatHPS      float64  `json:"hashcat_hps,omitempty"`
	HashcatDevices  []string `json:"hashcat_devices,omitempty"`
	HashcatOptions  string   `json:"hashcat_options,omitempty"`
	HashcatStartupS float64  `json:"hashcat_startup_s,omitempty"`
	// Ratio is native_hps / hashcat_hps when both were measured.
	Ratio float64 `json:"ratio,omitempty"`
	// OpenCLHPS is our OpenCL kernel's rate on OpenCLDevice; the kernel
	// build and warm-up (OpenCLStartupS) are not timed.
	OpenCLHPS      float64 `json:"opencl_hps,omitempty"`
	OpenCLDevice   string  `json:"opencl_device,omitempty"`
	OpenCLStartupS float64 `json:"opencl_startup_s,omitempty"`
	// OpenCLRatio is opencl_hps / hashcat_hps when both were measured.
	OpenCLRatio float64 `json:"opencl_ratio,omitempty"`
}

// challenge returns an SN27-shaped challenge that has no answer in its mask.
func challenge() (pow.Challenge, error) {
	c, _, err := pow.New(nil, pow.Params{Difficulty: 12, MaxDifficulty: 12})
	if err != nil {
		return c, err
	}
	// A digest of a password longer than the mask: no candidate matches.
	c.Hash = pow.HashString(strings.Repeat(c.Chars[:1], 13), c.Salt)
	return c, nil
}

// Run measures what o asks for.
func Run(ctx context.Context, o Options) (Report, error) {
	rep := Report{CPU: cpuModel(), Cores: runtime.GOMAXPROCS(0), Seconds: o.Duration.Seconds()}
	if o.Duration <= 0 {
		return rep, errors.New("bench duration must be positive")
	}
	native, hc, ocl, err := Solvers(o.Solver)
	if err != nil {
		return rep, err
	}
	c, err := challenge()
	if err != nil {
		return rep, err
	}
	if native {
		kern, err := o.Kernel.Resolve()
		if err != nil {
			return rep, err
		}
		t, err := pow.Parse(c, pow.Limits{})
		if err != nil {
			return rep, err
		}
		nctx, cancel := context.WithTimeout(ctx, o.Duration)
		start := time.Now()
		res, err := (&pow.Solver{Kernel: kern}).Solve(nctx, t)
		el := time.Since(start)
		cancel()
		if ctx.Err() != nil {
			return rep, ctx.Err()
		}
		if !errors.Is(err, context.DeadlineExceeded) {
			return rep, fmt.Errorf("native bench: want a search cut by the deadline, got %v", err)
		}
		rep.NativeHPS = float64(res.Tried) / el.Seconds()
		rep.NativeKernel = string(kern)
	}
	if ocl {
		if err := runOpenCL(ctx, o, c, &rep); err != nil {
			return rep, err
		}
	}
	if hc {
		r, err := hashcat.New(o.Hashcat)
		if err != nil {
			return rep, err
		}
		rate, err := r.Benchmark(ctx, c, o.Duration)
		if err != nil {
			return rep, fmt.Errorf("hashcat bench: %w", err)
		}
		rep.HashcatHPS = rate.HashesPerSecond
		rep.HashcatDevices = rate.Devices
		rep.HashcatOptions = o.Hashcat.ExtendedOptions
		rep.HashcatStartupS = rate.Startup.Seconds()
	}
	if rep.NativeHPS > 0 && rep.HashcatHPS > 0 {
		rep.Ratio = rep.NativeHPS / rep.HashcatHPS
	}
	if rep.OpenCLHPS > 0 && rep.HashcatHPS > 0 {
		rep.OpenCLRatio = rep.OpenCLHPS / rep.HashcatHPS
	}
	return rep, nil
}

// runOpenCL builds the OpenCL solver (not timed) and measures it on c.
func runOpenCL(ctx context.Context, o Options, c pow.Challenge, rep *Report) error {
	start := time.Now()
	s, err := opencl.New(o.OpenCL)
	if err != nil {
		return fmt.Errorf("opencl bench: %w", err)
	}
	defer s.Close()
	rep.OpenCLStartupS = time.Since(start).Seconds()
	rep.OpenCLDevice = s.Device().String()
	t, err := pow.Parse(c, pow.Limits{})
	if err != nil {
		return err
	}
	octx, cancel := context.WithTimeout(ctx, o.Duration)
	start = time.Now()
	res, err := s.Solve(octx, t)
	el := time.Since(start)
	cancel()
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("opencl bench: want a search cut by the deadline, got %v", err)
	}
	rep.OpenCLHPS = float64(res.Tried) / el.Seconds()
	return nil
}

// cpuModel reads the CPU model name from /proc/cpuinfo, if it can.
func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return runtime.GOARCH
	}
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return runtime.GOARCH
}

// Text formats r for people.
func (r Report) Text() string {
	var b strings.Builder
	fmt.Fprintf(&b, "CPU: %s (%d cores), %.0f s per solver\n", r.CPU, r.Cores, r.Seconds)
	if r.NativeHPS > 0 {
		fmt.Fprintf(&b, "native:  %8.2f MH/s (kernel %s)\n", r.NativeHPS/1e6, r.NativeKernel)
	}
	if r.HashcatHPS > 0 {
		fmt.Fprintf(&b, "hashcat: %8.2f MH/s (%s; options %q; first status after %.1f s)\n",
			r.HashcatHPS/1e6, strings.Join(r.HashcatDevices, ", "), r.HashcatOptions, r.HashcatStartupS)
	}
	if r.OpenCLHPS > 0 {
		fmt.Fprintf(&b, "opencl:  %8.2f MH/s (%s; kernel built in %.1f s)\n", r.OpenCLHPS/1e6, r.OpenCLDevice, r.OpenCLStartupS)
	}
	if r.Ratio > 0 {
		fmt.Fprintf(&b, "native/hashcat: %.2fx\n", r.Ratio)
	}
	if r.OpenCLRatio > 0 {
		fmt.Fprintf(&b, "opencl/hashcat: %.2fx\n", r.OpenCLRatio)
	}
	return b.String()
}
