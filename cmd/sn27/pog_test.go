package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sn27/sn27/internal/keys"
	"github.com/sn27/sn27/internal/pog"
	"github.com/sn27/sn27/internal/pogrun"
)

func runSN27(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

// TestPoGCommands: a whole local proof on this machine's PoCL device, the
// device list and model table, and offline verdict checks with their exit
// codes.
func TestPoGCommands(t *testing.T) {
	if testing.Short() {
		t.Skip("builds OpenCL kernels on PoCL; skipped with -short")
	}
	code, out, errs := runSN27(t, "pog", "prove", "--test-models", "--model", "PoCL CPU", "--memory", "64MiB", "--json")
	var v pog.Verdict
	if code != 0 || json.Unmarshal([]byte(out), &v) != nil || !v.Passed || v.Model != "PoCL CPU" || v.GPUs != 1 {
		t.Fatalf("pog prove: exit %d %s\n%s", code, out, errs)
	}
	if code, out, _ := runSN27(t, "pog", "prove", "--test-models", "--model", "PoCL CPU", "--memory", "64MiB"); code != 0 || !strings.Contains(out, "verified: 1× PoCL CPU") {
		t.Fatalf("pog prove (text): exit %d\n%s", code, out)
	}
	// A GPU claim on a machine with only a CPU device fails, exit 1.
	if code, out, _ := runSN27(t, "pog", "prove", "--model", "NVIDIA H100 80GB HBM3"); code != 1 || !strings.Contains(out, "0 gpu device(s) seen") {
		t.Fatalf("pog prove of an absent H100: exit %d\n%s", code, out)
	}
	if code, out, _ := runSN27(t, "pog", "devices"); code != 0 || !strings.Contains(out, `"type": "cpu"`) {
		t.Fatalf("pog devices: exit %d\n%s", code, out)
	}
	if code, out, _ := runSN27(t, "pog", "models"); code != 0 || !strings.Contains(out, `"NVIDIA H100 80GB HBM3"`) {
		t.Fatalf("pog models: exit %d", code)
	}

	val, _ := keys.FromSeed([32]byte{7})
	v.Hotkey, v.Block = "5Miner", 720
	if err := pogrun.Sign(val, &v); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	write := func(name string, x any) string {
		b, _ := json.Marshal(x)
		p := filepath.Join(dir, name)
		os.WriteFile(p, b, 0o600)
		return p
	}
	good := write("v.json", v)
	feed := write("feed.json", []pog.Verdict{v, v})
	forged := v
	forged.GPUs = 8
	bad := write("forged.json", forged)
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{good, "--validator", val.SS58()}, 0, "valid   5Miner block 720"},
		{[]string{feed, "--validator", val.SS58()}, 0, "valid"},
		{[]string{bad, "--validator", val.SS58()}, 1, "INVALID"},
		{[]string{write("mixed.json", []pog.Verdict{v, forged}), "--validator", val.SS58()}, 1, "INVALID"},
		{[]string{good, "--validator", "5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty"}, 1, "signed by"},
		{[]string{write("junk.json", "x"), "--validator", val.SS58()}, 1, "INVALID"},
		{[]string{good}, 2, ""},
		{[]string{filepath.Join(dir, "missing.json"), "--validator", val.SS58()}, 2, ""},
	} {
		code, out, errs := runSN27(t, append([]string{"pog", "verify"}, tc.args...)...)
		if code != tc.code || !strings.Contains(out, tc.want) {
			t.Errorf("pog verify %v: exit %d, want %d with %q\n%s%s", tc.args, code, tc.code, tc.want, out, errs)
		}
	}
}
