package opencl

import (
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestMissingLoader: without the ICD loader the error says what to install.
func TestMissingLoader(t *testing.T) {
	_, err := openLib("libOpenCL-sn27-missing.so.1")
	if !errors.Is(err, ErrUnavailable) || (BuiltIn && !strings.Contains(err.Error(), "install")) {
		t.Fatalf("got %v; want ErrUnavailable saying what to install", err)
	}
}

// TestNoPlatform runs this test binary again with the ICD loader pointed at
// an empty vendor folder: New fails with ErrUnavailable and a clear reason.
func TestNoPlatform(t *testing.T) {
	if os.Getenv("SN27_OPENCL_NO_PLATFORM") == "1" {
		_, err := New(DefaultConfig())
		if !errors.Is(err, ErrUnavailable) {
			t.Fatalf("New without platforms: %v; want ErrUnavailable", err)
		}
		t.Logf("error: %v", err)
		return
	}
	if testing.Short() {
		t.Skip("runs a child process; skipped with -short")
	}
	if _, err := load(); err != nil {
		t.Skipf("no ICD loader here: %v", err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestNoPlatform$", "-test.v")
	cmd.Env = append(os.Environ(), "SN27_OPENCL_NO_PLATFORM=1", "OCL_ICD_VENDORS="+t.TempDir())
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "no OpenCL platform") {
		t.Fatalf("child: %v\n%s", err, out)
	}
}
