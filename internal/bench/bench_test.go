package bench

import (
	"context"
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/sn27/sn27/internal/hashcat"
	"github.com/sn27/sn27/internal/opencl"
)

func TestSolvers(t *testing.T) {
	for name, want := range map[string][3]bool{
		"native": {true, false, false}, "hashcat": {false, true, false}, "opencl": {false, false, true},
		"both": {true, true, false}, "all": {true, true, true},
	} {
		n, h, o, err := Solvers(name)
		if err != nil || [3]bool{n, h, o} != want {
			t.Errorf("Solvers(%s) = %v %v %v, %v; want %v", name, n, h, o, err, want)
		}
	}
	if _, _, _, err := Solvers("gpu"); err == nil || !strings.Contains(err.Error(), "opencl") {
		t.Errorf("Solvers(gpu) = %v; want an error listing opencl", err)
	}
}

// TestRunAll measures every solver on this machine (PoCL's CPU device for
// OpenCL and hashcat) and reports them under their JSON keys.
func TestRunAll(t *testing.T) {
	if testing.Short() {
		t.Skip("runs hashcat and builds an OpenCL kernel; skipped with -short")
	}
	if !opencl.BuiltIn {
		t.Skip("built without OpenCL (-tags noopencl)")
	}
	if _, err := exec.LookPath("hashcat"); err != nil {
		t.Fatalf("hashcat not installed (make test installs it): %v", err)
	}
	hc := hashcat.DefaultConfig()
	hc.ExtendedOptions = "-O"
	rep, err := Run(context.Background(), Options{Solver: "all", Duration: 2 * time.Second, Hashcat: hc, OpenCL: opencl.DefaultConfig()})
	if err != nil {
		t.Fatal(err)
	}
	t.Log(rep.Text())
	if rep.NativeHPS <= 0 || rep.HashcatHPS <= 0 || rep.OpenCLHPS <= 0 || rep.OpenCLDevice == "" || rep.OpenCLRatio <= 0 {
		t.Fatalf("report %+v; want all three rates, the OpenCL device and the ratio", rep)
	}
	b, _ := json.Marshal(rep)
	for _, k := range []string{`"native_hps"`, `"hashcat_hps"`, `"opencl_hps"`, `"opencl_device"`, `"opencl_ratio"`} {
		if !strings.Contains(string(b), k) {
			t.Errorf("JSON %s lacks %s", b, k)
		}
	}
}
