package main

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestBenchOpenCL: `sn27 bench --solver opencl` measures our OpenCL kernel
// on this machine's OpenCL device (PoCL here), and `bench challenge
// --solver opencl` answers a signed challenge through it.
func TestBenchOpenCL(t *testing.T) {
	if testing.Short() {
		t.Skip("needs an OpenCL device (PoCL); skipped with -short")
	}
	code, out, errs := sn27(t, "bench", "--solver", "opencl", "--seconds", "1", "--json")
	if code != 0 {
		if strings.Contains(errs, "built without OpenCL") {
			t.Skip("built with -tags noopencl")
		}
		t.Fatalf("bench --solver opencl: exit %d: %s", code, errs)
	}
	var rep struct {
		OpenCLHPS    float64 `json:"opencl_hps"`
		OpenCLDevice string  `json:"opencl_device"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if rep.OpenCLHPS <= 0 || rep.OpenCLDevice == "" {
		t.Errorf("bench --solver opencl = %s", out)
	}
	code, out, errs = sn27(t, "bench", "challenge", "--solver", "opencl", "--difficulty", "4", "--json")
	if code != 0 {
		t.Fatalf("bench challenge --solver opencl: exit %d: %s", code, errs)
	}
	if !strings.Contains(out, "opencl") {
		t.Errorf("bench challenge --solver opencl printed no opencl row: %s", out)
	}
	t.Logf("opencl: %.1f MH/s on %s", rep.OpenCLHPS/1e6, rep.OpenCLDevice)
}
