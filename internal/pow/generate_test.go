package pow

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
)

// TestGeneratedKernelsUpToDate regenerates the avo kernels into a scratch
// directory and compares them with the committed files.
func TestGeneratedKernelsUpToDate(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the avo generator (go run); skipped with -short")
	}
	if runtime.GOARCH != "amd64" {
		t.Skip("the generated kernels are amd64 only")
	}
	dir := t.TempDir()
	files := []string{"kernel_amd64.s", "kernel_stub_amd64.go", "kernel_groups_amd64.go", "kernel_gen.go"}
	gen := filepath.Join(dir, "gen")
	if out, err := exec.Command("go", "build", "-o", gen, "./asm").CombinedOutput(); err != nil {
		t.Fatalf("go build ./asm: %v\n%s", err, out)
	}
	cmd := exec.Command(gen, "-out", files[0], "-stubs", files[1], "-groups", files[2], "-scalar", files[3], "-pkg", "pow")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("asm generator: %v\n%s", err, out)
	}
	for _, f := range files {
		want, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s is stale: run go generate ./internal/pow", f)
		}
	}
}

// TestSolveWithoutSIMD: on a CPU without AVX2 (forced by SN27_POW_KERNEL)
// the automatic kernel is a portable one and still solves.
func TestSolveWithoutSIMD(t *testing.T) {
	c := Challenge{Hash: HashString("q;Z(7", "a1b2c3d4e5f60718"), Salt: "a1b2c3d4e5f60718", Mode: Mode, Chars: "qZ;(7x", Mask: "?1?1?1?1?1"}
	for _, env := range []string{"scalar", "generic"} {
		t.Run(env, func(t *testing.T) {
			t.Setenv("SN27_POW_KERNEL", env)
			if k, err := KernelAuto.Resolve(); err != nil || k != Kernel(env) {
				t.Fatalf("Resolve = %q, %v", k, err)
			}
			res, err := solveT(t, c, &Solver{})
			if err != nil || res.Password != "q;Z(7" {
				t.Fatalf("Solve = %q, %v", res.Password, err)
			}
		})
	}
}
