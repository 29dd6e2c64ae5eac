package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

func TestVersionCommand(t *testing.T) {
	code, out, _ := runSN27(t, "version", "--json")
	var v versionInfo
	if code != 0 || json.Unmarshal([]byte(out), &v) != nil || v.Version == "" || v.GoVersion != runtime.Version() || v.NativeKernel == "" || !strings.Contains(v.SN27Protocol, "183") {
		t.Fatalf("version --json: exit %d %s", code, out)
	}
	if code, out, _ := runSN27(t, "version"); code != 0 || !strings.HasPrefix(out, "sn27 ") || !strings.Contains(out, "native solver") {
		t.Fatalf("version: exit %d %s", code, out)
	}
}

// TestMakeInstall: `make install` puts a stamped sn27 on the PATH prefix,
// and the devnet's printed commands then say plain "sn27".
func TestMakeInstall(t *testing.T) {
	if testing.Short() {
		t.Skip("builds sn27 with make; skipped with -short")
	}
	prefix := t.TempDir()
	cmd := exec.Command("make", "-s", "install", "PREFIX="+prefix, "VERSION=v9.9.9-test")
	cmd.Dir = filepath.Join("..", "..")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("make install: %v\n%s", err, out)
	}
	bin := filepath.Join(prefix, "bin", "sn27")
	out, err := exec.Command(bin, "version", "--json").Output()
	var v versionInfo
	if err != nil || json.Unmarshal(out, &v) != nil || v.Version != "v9.9.9-test" || len(v.Commit) != 40 || v.Date == "" {
		t.Fatalf("installed sn27 version: %v %s", err, out)
	}
	if got := commandFor(bin, bin, t.TempDir()); got != "sn27" {
		t.Fatalf("an installed sn27 is printed as %q", got)
	}
	if st, _ := os.Stat(bin); st.Mode().Perm() != 0o755 {
		t.Fatalf("mode %v", st.Mode())
	}
}
