package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestSystemdUnits: every unit the package installs passes
// `systemd-analyze verify` (with ExecStart pointed at an executable that
// exists here), runs `sn27 <role> --config /etc/sn27/<role>.json` for a role
// `sn27 config template` knows, and restarts on failure (the devnet, a
// trial, does not).
func TestSystemdUnits(t *testing.T) {
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Fatal("systemd-analyze not found: install systemd (scripts/test-deps.sh does)")
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	units, _ := filepath.Glob(filepath.Join("..", "..", "packaging", "systemd", "*.service"))
	if len(units) != 4 {
		t.Fatalf("units: %v", units)
	}
	dir := t.TempDir()
	for _, u := range units {
		b, err := os.ReadFile(u)
		if err != nil {
			t.Fatal(err)
		}
		name := filepath.Base(u)
		role := strings.TrimSuffix(strings.TrimPrefix(name, "sn27-"), ".service")
		if _, ok := configRoles[role]; !ok {
			t.Errorf("%s: no config template for role %q", name, role)
		}
		text := string(b)
		if !strings.Contains(text, "ExecStart=/usr/bin/sn27 "+role+" --config /etc/sn27/"+role+".json") {
			t.Errorf("%s: ExecStart is not sn27 %s --config /etc/sn27/%s.json", name, role, role)
		}
		if role != "devnet" && !strings.Contains(text, "Restart=on-failure") {
			t.Errorf("%s: no Restart=on-failure", name)
		}
		for _, want := range []string{"NoNewPrivileges=yes", "StateDirectory=sn27"} {
			if !strings.Contains(text, want) {
				t.Errorf("%s: no %s", name, want)
			}
		}
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(strings.ReplaceAll(text, "/usr/bin/sn27", exe)), 0o644)
		out, err := exec.Command(analyze, "verify", p).CombinedOutput()
		if err != nil || len(strings.TrimSpace(string(out))) > 0 {
			t.Errorf("systemd-analyze verify %s: %v\n%s", name, err, out)
		}
		sec, _ := exec.Command(analyze, "security", "--offline=true", p).CombinedOutput()
		lines := strings.Split(strings.TrimSpace(string(sec)), "\n")
		t.Logf("%s", lines[len(lines)-1])
	}
}
