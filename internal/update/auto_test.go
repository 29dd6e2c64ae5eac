package update

import (
	"context"
	"errors"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// daemon is a Quiescer busy for its first busy answers.
type daemon struct {
	mu       sync.Mutex
	busy     int
	asked    int
	quiet    bool // Quiesce returned true and Resume has not undone it
	resumed  int
	snapshot func() map[string]string // the executable's directory when first quiet
	atQuiet  map[string]string
}

func (d *daemon) Quiesce() (bool, string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.asked++
	if d.asked <= d.busy {
		return false, "a challenge is being solved"
	}
	d.quiet = true
	if d.snapshot != nil && d.atQuiet == nil {
		d.atQuiet = d.snapshot()
	}
	return true, ""
}

func (d *daemon) Resume() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.quiet = false
	d.resumed++
}

func fastAuto() AutoConfig {
	return AutoConfig{Every: 20 * time.Millisecond, First: time.Millisecond, Poll: 5 * time.Millisecond}
}

// TestAutoWaitsForQuiet: a newer release is installed only once the daemon
// is quiet, and not before (the executable is unchanged while it is busy).
func TestAutoWaitsForQuiet(t *testing.T) {
	f := newFixture(t, "v1.2.4")
	f.write(f.priv)
	srv := httptest.NewServer(http.FileServer(http.Dir(f.dir)))
	defer srv.Close()
	exe := install(t, "")
	u := newUpdater(t, config(f, srv.URL, exe))
	d := &daemon{busy: 3, snapshot: func() map[string]string { return dirState(t, filepath.Dir(exe)) }}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := u.Auto(ctx, fastAuto(), d)
	if err != nil {
		t.Fatalf("Auto: %v", err)
	}
	if res.Manifest.Version != "v1.2.4" || res.Target != exe {
		t.Errorf("Auto = %+v", res)
	}
	if d.asked != 4 || !d.quiet || d.resumed != 0 {
		t.Errorf("asked %d times, quiet %v, resumed %d; want 4, quiet, never resumed", d.asked, d.quiet, d.resumed)
	}
	// While busy, nothing was replaced (nor any file left beside it but
	// the download waiting to be installed).
	for name, content := range d.atQuiet {
		if name == "sn27" && content != oldBinary {
			t.Errorf("the executable changed before the daemon was quiet")
		}
	}
	want := map[string]string{"sn27": string(f.bin), "sn27.previous": oldBinary}
	if got := dirState(t, filepath.Dir(exe)); !maps.Equal(got, want) {
		t.Fatalf("after Auto: %q; want %q", got, want)
	}
}

// TestAutoNothingNewer: an up-to-date or older release is never installed
// and the daemon is never asked to quiesce; Auto runs until ctx ends.
func TestAutoNothingNewer(t *testing.T) {
	for _, v := range []string{"v1.2.3", "v1.2.2"} {
		t.Run(v, func(t *testing.T) {
			f := newFixture(t, v)
			f.write(f.priv)
			exe := install(t, "")
			u := newUpdater(t, config(f, f.dir, exe))
			d := &daemon{}
			ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
			defer cancel()
			if _, err := u.Auto(ctx, fastAuto(), d); !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("Auto = %v; want it to run until ctx ends", err)
			}
			if d.asked != 0 {
				t.Errorf("Quiesce asked %d times", d.asked)
			}
			if got := dirState(t, filepath.Dir(exe)); !maps.Equal(got, map[string]string{"sn27": oldBinary}) {
				t.Errorf("directory %q", got)
			}
		})
	}
}

// TestAutoRefusedRelease: a tampered release is refused at every check,
// replaces nothing and never quiesces the daemon; once the source serves a
// good one, it is installed.
func TestAutoRefusedRelease(t *testing.T) {
	f := newFixture(t, "v1.2.4")
	f.write(f.priv)
	good := f.bin
	f.bin = append([]byte("x"), good[1:]...) // same size, another sha256
	f.writeRaw(mustRead(t, filepath.Join(f.dir, "manifest.json")), mustRead(t, filepath.Join(f.dir, "manifest.json.minisig")))
	var served atomic.Int32
	fix := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/manifest.json" && served.Add(1) == 3 {
			os.WriteFile(filepath.Join(f.dir, f.binName), good, 0o644)
			close(fix)
		}
		http.FileServer(http.Dir(f.dir)).ServeHTTP(w, r)
	}))
	defer srv.Close()
	exe := install(t, "")
	u := newUpdater(t, config(f, srv.URL, exe))
	d := &daemon{}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := u.Auto(ctx, fastAuto(), d)
	if err != nil {
		t.Fatalf("Auto: %v", err)
	}
	select {
	case <-fix:
	default:
		t.Fatal("installed before the good binary was served")
	}
	if served.Load() != 3 || d.asked != 1 || res.Manifest.Version != "v1.2.4" {
		t.Errorf("manifest served %d times, quiesce asked %d times, result %+v; want 3 (one per check), 1, v1.2.4", served.Load(), d.asked, res)
	}
	if got := dirState(t, filepath.Dir(exe)); got["sn27"] != string(good) {
		t.Errorf("executable not the good release")
	}
}

// TestAutoStopsWhileWaiting: ctx ending while the daemon is busy replaces
// nothing and leaves no download behind.
func TestAutoStopsWhileWaiting(t *testing.T) {
	f := newFixture(t, "v1.2.4")
	f.write(f.priv)
	exe := install(t, "")
	u := newUpdater(t, config(f, f.dir, exe))
	d := &daemon{busy: 1 << 30}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if _, err := u.Auto(ctx, fastAuto(), d); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Auto = %v", err)
	}
	if d.asked == 0 || d.quiet {
		t.Errorf("asked %d, quiet %v", d.asked, d.quiet)
	}
	if got := dirState(t, filepath.Dir(exe)); !maps.Equal(got, map[string]string{"sn27": oldBinary}) {
		t.Errorf("directory %q; want the executable alone", got)
	}
}

func TestCheckInstallable(t *testing.T) {
	f := newFixture(t, "v1.2.4")
	exe := install(t, "")
	if err := newUpdater(t, config(f, f.dir, exe)).CheckInstallable(); err != nil {
		t.Fatalf("writable directory: %v", err)
	}
	if got := dirState(t, filepath.Dir(exe)); !maps.Equal(got, map[string]string{"sn27": oldBinary}) {
		t.Errorf("left %q", got)
	}
	if os.Geteuid() == 0 {
		t.Log("root writes anywhere: the read-only case is checked with /proc")
		cfg := config(f, f.dir, "/proc/version")
		if err := newUpdater(t, cfg).CheckInstallable(); !errors.Is(err, ErrNotWritable) {
			t.Errorf("CheckInstallable(/proc/version) = %v; want ErrNotWritable", err)
		}
		return
	}
	dir := filepath.Dir(exe)
	os.Chmod(dir, 0o555)
	defer os.Chmod(dir, 0o755)
	if err := newUpdater(t, config(f, f.dir, exe)).CheckInstallable(); !errors.Is(err, ErrNotWritable) {
		t.Errorf("read-only directory: %v; want ErrNotWritable", err)
	}
}

func mustRead(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
