package main

import (
	"os"
	"path/filepath"
	"testing"
)

func TestCommandFor(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "repo", "bin", "sn27")
	other := filepath.Join(dir, "usr", "bin", "sn27")
	for _, p := range []string{bin, other} {
		os.MkdirAll(filepath.Dir(p), 0o755)
		os.WriteFile(p, []byte("x"), 0o755)
	}
	link := filepath.Join(dir, "usr", "bin", "sn27-link")
	os.Symlink(bin, link)
	for _, tc := range []struct {
		name, exe, onPath, wd, want string
	}{
		{"this binary is the PATH's", bin, link, filepath.Join(dir, "repo"), "sn27"},
		{"after make run: another or no sn27 on the PATH", bin, other, filepath.Join(dir, "repo"), "./bin/sn27"},
		{"no sn27 on the PATH", bin, "", filepath.Join(dir, "repo"), "./bin/sn27"},
		{"run from elsewhere", bin, "", filepath.Join(dir, "usr"), bin},
	} {
		if got := commandFor(tc.exe, tc.onPath, tc.wd); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}
