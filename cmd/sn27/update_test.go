package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"aead.dev/minisign"

	"github.com/sn27/sn27/internal/release"
)

// updateRelease writes a release directory offering a fake sn27 v1.2.4
// for this platform, signed by a throwaway key, and that key's file.
func updateRelease(t *testing.T) (dir, keyFile string, bin []byte) {
	t.Helper()
	pub, priv, err := minisign.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	dir = t.TempDir()
	bin = []byte("#!/bin/sh\necho '{\"version\":\"v1.2.4\"}'\n")
	sum := sha256.Sum256(bin)
	name := "sn27_v1.2.4_" + runtime.GOOS + "_" + runtime.GOARCH
	m, err := json.Marshal(release.Manifest{Version: "v1.2.4", Channel: "stable", Commit: strings.Repeat("cd", 20), Date: time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC),
		Artifacts: []release.Artifact{{Name: name, Kind: release.KindBinary, OS: runtime.GOOS, Arch: runtime.GOARCH, Size: int64(len(bin)), SHA256: hex.EncodeToString(sum[:])}}})
	if err != nil {
		t.Fatal(err)
	}
	text, _ := pub.MarshalText()
	keyFile = filepath.Join(t.TempDir(), "release-test.pub")
	for p, b := range map[string][]byte{filepath.Join(dir, release.ManifestName): m, filepath.Join(dir, release.ManifestName+".minisig"): minisign.Sign(priv, m), filepath.Join(dir, name): bin, keyFile: text} {
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir, keyFile, bin
}

// readFiles is each path's content ("" when missing).
func readFiles(paths ...string) []string {
	var out []string
	for _, p := range paths {
		b, _ := os.ReadFile(p)
		out = append(out, string(b))
	}
	return out
}

func TestUpdateCommand(t *testing.T) {
	dir, keyFile, bin := updateRelease(t)
	const old = "#!/bin/sh\necho '{\"version\":\"v1.2.3\"}'\n"
	exe := filepath.Join(t.TempDir(), "sn27")
	if err := os.WriteFile(exe, []byte(old), 0o755); err != nil {
		t.Fatal(err)
	}
	flags := []string{"--update.url", dir, "--update.trusted-key", keyFile, "--update.target", exe}

	code, out, errs := sn27(t, append([]string{"update", "--check"}, flags...)...)
	if code != 0 || !strings.HasPrefix(out, "sn27 v1.2.4 is available (this is ") || !strings.HasSuffix(out, "sn27 update --apply\n") {
		t.Fatalf("update --check: exit %d, %q %q", code, out, errs)
	}
	code, out, _ = sn27(t, append([]string{"update", "--check", "--json"}, flags...)...)
	var c updateCheckJSON
	if code != 0 || json.Unmarshal([]byte(out), &c) != nil || c.Version != "v1.2.4" || !c.Newer || c.Channel != "stable" {
		t.Fatalf("update --check --json: exit %d, %s", code, out)
	}
	if got := readFiles(exe, exe+".previous"); got[0] != old || got[1] != "" {
		t.Fatalf("--check changed files: %q", got)
	}

	code, out, errs = sn27(t, append([]string{"update", "--apply"}, flags...)...)
	if code != 0 || !strings.HasPrefix(out, "updated ") || !strings.Contains(out, "→ v1.2.4") || !strings.Contains(out, exe+".previous") {
		t.Fatalf("update --apply: exit %d, %q %q", code, out, errs)
	}
	if got := readFiles(exe, exe+".previous"); got[0] != string(bin) || got[1] != old {
		t.Fatalf("after --apply: %q", got)
	}

	code, out, errs = sn27(t, "update", "--rollback", "--update.target", exe)
	if code != 0 || !strings.Contains(out, "rolled back "+exe+" to v1.2.3") || !strings.Contains(out, "(v1.2.4)") {
		t.Fatalf("update --rollback: exit %d, %q %q", code, out, errs)
	}
	if got := readFiles(exe, exe+".previous"); got[0] != old || got[1] != string(bin) {
		t.Fatalf("after --rollback: %q", got)
	}
}

func TestUpdateCommandRefusals(t *testing.T) {
	dir, keyFile, _ := updateRelease(t)
	exe := filepath.Join(t.TempDir(), "sn27")
	os.WriteFile(exe, []byte("old"), 0o755)
	tampered := t.TempDir()
	for _, n := range []string{release.ManifestName, release.ManifestName + ".minisig"} {
		b, _ := os.ReadFile(filepath.Join(dir, n))
		if n == release.ManifestName {
			b = append(b, ' ')
		}
		os.WriteFile(filepath.Join(tampered, n), b, 0o644)
	}
	junkKey := filepath.Join(t.TempDir(), "junk.pub")
	os.WriteFile(junkKey, []byte("not a key"), 0o644)
	for _, tt := range []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"untrusted key", []string{"--apply", "--update.url", dir}, exitFailed, "untrusted key"},
		{"bad signature", []string{"--apply", "--update.url", tampered, "--update.trusted-key", keyFile}, exitFailed, "bad signature"},
		{"wrong channel", []string{"--check", "--update.url", dir, "--update.trusted-key", keyFile, "--channel", "beta"}, exitFailed, "channel"},
		{"no source", []string{"--check", "--update.trusted-key", keyFile}, exitBadInput, "--update.url"},
		{"no mode", []string{"--update.url", dir}, exitBadInput, "one of --check"},
		{"two modes", []string{"--check", "--apply", "--update.url", dir}, exitBadInput, "one of --check"},
		{"bad key file", []string{"--check", "--update.url", dir, "--update.trusted-key", junkKey}, exitBadInput, "trusted-key"},
		{"nothing to roll back", []string{"--rollback"}, exitFailed, "no previous binary"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("SN27_UPDATE_URL", "")
			code, out, errs := sn27(t, append(append([]string{"update"}, tt.args...), "--update.target", exe)...)
			if code != tt.code || !strings.Contains(errs, tt.msg) || out != "" {
				t.Fatalf("exit %d, stdout %q, stderr %q; want exit %d, %q", code, out, errs, tt.code, tt.msg)
			}
			if got := readFiles(exe, exe+".previous"); got[0] != "old" || got[1] != "" {
				t.Fatalf("changed: %q", got)
			}
			if ents, _ := os.ReadDir(filepath.Dir(exe)); len(ents) != 1 {
				t.Fatalf("left %d files beside the executable", len(ents))
			}
		})
	}
}
