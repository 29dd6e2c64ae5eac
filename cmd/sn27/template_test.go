package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/pflag"
)

// TestConfigTemplates: each role's template names every flag of its
// command, and the binary reads it back: the settings it turns on apply,
// the commented ones do not, and uncommenting one works.
func TestConfigTemplates(t *testing.T) {
	for name, role := range configRoles {
		code, out, errs := runSN27(t, "config", "template", name)
		if code != 0 {
			t.Fatalf("%s: exit %d %s", name, code, errs)
		}
		fs := role.cmd().Flags()
		fs.VisitAll(func(f *pflag.Flag) {
			if f.Name != "config" && f.Name != "help" && !f.Hidden && !strings.Contains(out, "// "+f.Name+": ") {
				t.Errorf("%s: flag %s not in the template", name, f.Name)
			}
		})
		path := filepath.Join(t.TempDir(), name+".json")
		os.WriteFile(path, []byte(out), 0o600)
		if err := applyConfig(fs, path); err != nil {
			t.Fatalf("%s: the template does not read back: %v\n%s", name, err, out)
		}
		for k, v := range role.set {
			if got := fs.Lookup(k).Value.String(); got != fmt.Sprint(v) {
				t.Errorf("%s: %s = %q after the template, want %v", name, k, got, v)
			}
		}
	}
	// A commented setting, uncommented, applies.
	code, out, _ := runSN27(t, "config", "template", "miner")
	if code != 0 {
		t.Fatal(code)
	}
	out = strings.Replace(out, `  // "axon.port": 8091,`, `  "axon.port": 9999,`, 1)
	path := filepath.Join(t.TempDir(), "m.json")
	os.WriteFile(path, []byte(out), 0o600)
	fs := newMinerCmd().Flags()
	if err := applyConfig(fs, path); err != nil || fs.Lookup("axon.port").Value.String() != "9999" {
		t.Fatalf("uncommented axon.port: %v %s", err, fs.Lookup("axon.port").Value)
	}
	if code, _, _ := runSN27(t, "config", "template", "nope"); code != exitBadInput {
		t.Fatalf("unknown role: exit %d", code)
	}
}
