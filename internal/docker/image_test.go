package docker

import (
	"archive/tar"
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// TestRootfsTar checks that the tar the image is imported from keeps
// modes, ownership, symlinks and hard links, and leaves out /dev's contents.
func TestRootfsTar(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to chown")
	}
	root := t.TempDir()
	mk := func(rel string, mode os.FileMode, body string) {
		t.Helper()
		p := filepath.Join(root, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
	}
	mk("usr/bin/su", 0o755, "su")
	mk("etc/shadow", 0o640, "root:*:")
	mk("dev/null", 0o666, "not a device")
	if err := os.Chmod(filepath.Join(root, "usr/bin/su"), 0o755|os.ModeSetuid); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(filepath.Join(root, "etc/shadow"), 0, 42); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("usr/bin", filepath.Join(root, "bin")); err != nil {
		t.Fatal(err)
	}
	if err := os.Link(filepath.Join(root, "usr/bin/su"), filepath.Join(root, "usr/bin/su2")); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(root, "root"), 0o700); err != nil {
		t.Fatal(err)
	}

	var buf bytes.Buffer
	if err := writeRootfsTar(context.Background(), &buf, root); err != nil {
		t.Fatal(err)
	}
	got := map[string]*tar.Header{}
	tr := tar.NewReader(&buf)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got[h.Name] = h
	}
	tests := []struct {
		name     string
		typ      byte
		mode     int64
		gid      int
		linkname string
	}{
		{"usr/bin/su", tar.TypeReg, 0o4755, 0, ""},
		{"etc/shadow", tar.TypeReg, 0o640, 42, ""},
		{"bin", tar.TypeSymlink, 0o777, 0, "usr/bin"},
		{"root/", tar.TypeDir, 0o700, 0, ""},
		{"dev/", tar.TypeDir, 0o755, 0, ""},
	}
	for _, tt := range tests {
		h, ok := got[tt.name]
		if !ok {
			t.Errorf("%s missing from the tar", tt.name)
			continue
		}
		if h.Typeflag != tt.typ || h.Mode&0o7777 != tt.mode || h.Gid != tt.gid || h.Linkname != tt.linkname {
			t.Errorf("%s: type %c mode %o gid %d link %q; want %c %o %d %q", tt.name, h.Typeflag, h.Mode&0o7777, h.Gid, h.Linkname, tt.typ, tt.mode, tt.gid, tt.linkname)
		}
	}
	if h := got["usr/bin/su2"]; h == nil || h.Typeflag != tar.TypeLink || h.Linkname != "usr/bin/su" {
		t.Errorf("hard link su2 = %+v; want a link to usr/bin/su", h)
	}
	if _, ok := got["dev/null"]; ok {
		t.Error("dev/null is in the tar; /dev's contents come from the runtime")
	}
}
