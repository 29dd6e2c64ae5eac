package update

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"aead.dev/minisign"

	"github.com/sn27/sn27/internal/release"
)

// oldBinary is what the "running" executable holds in these tests.
const oldBinary = "#!/bin/sh\necho '{\"version\":\"v1.2.3\"}'\n"

// fakeSN27 is a tiny sn27 that answers `version --json` with version.
func fakeSN27(version string) []byte {
	return []byte("#!/bin/sh\n[ \"$1 $2\" = \"version --json\" ] || exit 2\necho '{\"version\":\"" + version + "\",\"go_version\":\"fake\"}'\n")
}

// fixture is a release directory: a manifest offering bin as this
// platform's binary, signed by key.
type fixture struct {
	t        *testing.T
	dir      string
	pub      minisign.PublicKey
	priv     minisign.PrivateKey
	manifest release.Manifest
	bin      []byte // the artifact file's content
	binName  string // its file name
}

func newKey(t *testing.T) (minisign.PublicKey, minisign.PrivateKey) {
	t.Helper()
	pub, priv, err := minisign.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	return pub, priv
}

func newFixture(t *testing.T, version string) *fixture {
	t.Helper()
	f := &fixture{t: t, dir: t.TempDir(), bin: fakeSN27(version)}
	f.pub, f.priv = newKey(t)
	sum := sha256.Sum256(f.bin)
	f.manifest = release.Manifest{
		Version: version, Channel: "stable", Commit: strings.Repeat("ab", 20), Date: time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC),
		Artifacts: []release.Artifact{
			{Name: "sn27_" + version + "_linux_other", Kind: release.KindBinary, OS: "linux", Arch: "other", Size: 10, SHA256: strings.Repeat("0", 64)},
			{Name: "sn27_" + version + "_" + runtime.GOOS + "_" + runtime.GOARCH, Kind: release.KindBinary, OS: runtime.GOOS, Arch: runtime.GOARCH, Size: int64(len(f.bin)), SHA256: hex.EncodeToString(sum[:])},
		},
	}
	f.binName = f.art().Name
	return f
}

// art is this platform's artifact in the manifest.
func (f *fixture) art() *release.Artifact { return &f.manifest.Artifacts[1] }

// write writes the manifest, its signature by signer and the artifact.
func (f *fixture) write(signer minisign.PrivateKey) []byte {
	f.t.Helper()
	m, err := json.MarshalIndent(f.manifest, "", "  ")
	if err != nil {
		f.t.Fatal(err)
	}
	f.writeRaw(m, minisign.Sign(signer, m))
	return m
}

func (f *fixture) writeRaw(manifest, sig []byte) {
	f.t.Helper()
	for name, b := range map[string][]byte{release.ManifestName: manifest, release.ManifestName + ".minisig": sig, f.binName: f.bin} {
		if err := os.WriteFile(filepath.Join(f.dir, name), b, 0o644); err != nil {
			f.t.Fatal(err)
		}
	}
}

// install makes the "running" executable (and optionally a kept previous
// one) in a directory of its own and returns its path.
func install(t *testing.T, previous string) string {
	t.Helper()
	exe := filepath.Join(t.TempDir(), "sn27")
	if err := os.WriteFile(exe, []byte(oldBinary), 0o755); err != nil {
		t.Fatal(err)
	}
	if previous != "" {
		if err := os.WriteFile(exe+PreviousSuffix, []byte(previous), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return exe
}

// dirState is every file in dir with its content.
func dirState(t *testing.T, dir string) map[string]string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]string{}
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		m[e.Name()] = string(b)
	}
	return m
}

func config(f *fixture, source, exe string) Config {
	cfg := DefaultConfig()
	cfg.Source = source
	cfg.Keys = append(cfg.Keys, f.pub)
	cfg.Current = "v1.2.3"
	cfg.Target = exe
	cfg.FetchTimeout = 5 * time.Second
	return cfg
}

func newUpdater(t *testing.T, cfg Config) *Updater {
	t.Helper()
	u, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func TestBuiltInKey(t *testing.T) {
	keys := TrustedKeys()
	if len(keys) != 1 || KeyID(keys[0].ID()) != "F117D03B54EBE17F" {
		t.Fatalf("built-in keys %v; want the one in release.pub, F117D03B54EBE17F", keys)
	}
	f := newFixture(t, "v1.2.4")
	m := f.write(f.priv)
	sig, _ := os.ReadFile(filepath.Join(f.dir, release.ManifestName+".minisig"))
	if err := verify(keys, m, sig); !errors.Is(err, ErrUntrustedKey) {
		t.Fatalf("a throwaway key's signature with only the built-in key: %v; want ErrUntrustedKey", err)
	}
}

func TestReadKeyFile(t *testing.T) {
	pub, _ := newKey(t)
	text, _ := pub.MarshalText()
	dir := t.TempDir()
	for name, b := range map[string][]byte{"file": text, "bare": []byte(pub.String() + "\n")} {
		p := filepath.Join(dir, name)
		os.WriteFile(p, b, 0o644)
		k, err := ReadKeyFile(p)
		if err != nil || !k.Equal(pub) {
			t.Errorf("%s: %v, %v; want the key", name, k, err)
		}
	}
	p := filepath.Join(dir, "junk")
	os.WriteFile(p, []byte("not a key"), 0o644)
	if _, err := ReadKeyFile(p); err == nil {
		t.Error("junk read as a key")
	}
}

func TestParseSource(t *testing.T) {
	for _, tt := range []struct {
		in, want string
		err      bool
	}{
		{"https://example.com/sn27/stable", "https://example.com/sn27/stable/", false},
		{"http://127.0.0.1:8080/", "http://127.0.0.1:8080/", false},
		{"file:///srv/sn27", "/srv/sn27", false},
		{"/srv/sn27/", "/srv/sn27", false},
		{"releases", "releases", false},
		{"", "", true},
		{"ftp://example.com/x", "", true},
		{"https:///nohost", "", true},
		{"https://u:p@example.com/x", "", true},
		{"file://otherhost/x", "", true},
	} {
		s, err := ParseSource(tt.in)
		if (err != nil) != tt.err || (err == nil && s.String() != tt.want) {
			t.Errorf("ParseSource(%q) = %q, %v; want %q (error %v)", tt.in, s, err, tt.want, tt.err)
		}
	}
	if _, err := ParseSource(""); !errors.Is(err, ErrNoSource) {
		t.Errorf("empty source: %v; want ErrNoSource", err)
	}
}

// TestApplyRollback applies from an HTTP server, a directory and a file://
// URL, then rolls back twice: the files are exactly what they should be.
func TestApplyRollback(t *testing.T) {
	f := newFixture(t, "v1.2.4")
	f.write(f.priv)
	srv := httptest.NewServer(http.FileServer(http.Dir(f.dir)))
	defer srv.Close()
	for _, src := range []struct{ name, source string }{{"http", srv.URL + "/"}, {"dir", f.dir}, {"file URL", "file://" + f.dir}} {
		t.Run(src.name, func(t *testing.T) {
			exe := install(t, "")
			u := newUpdater(t, config(f, src.source, exe))
			a, err := u.Check(context.Background())
			if err != nil || !a.Newer() || a.Dev || a.Current != "v1.2.3" || a.Manifest.Version != "v1.2.4" || a.Artifact != *f.art() {
				t.Fatalf("Check = %+v, %v; want v1.2.4 newer than v1.2.3", a, err)
			}
			res, err := u.Apply(context.Background())
			if err != nil {
				t.Fatalf("Apply: %v", err)
			}
			if res.Target != exe || res.Previous != exe+".previous" {
				t.Errorf("Apply = %+v; want target %s", res, exe)
			}
			want := map[string]string{"sn27": string(f.bin), "sn27.previous": oldBinary}
			if got := dirState(t, filepath.Dir(exe)); !maps.Equal(got, want) {
				t.Fatalf("after apply: %q; want %q", got, want)
			}
			if st, _ := os.Stat(exe); st.Mode().Perm() != 0o755 {
				t.Errorf("mode %v; want 0755", st.Mode())
			}

			rb, err := u.Rollback(context.Background())
			if err != nil || rb.Restored != "v1.2.3" || rb.Replaced != "v1.2.4" {
				t.Fatalf("Rollback = %+v, %v; want v1.2.3 restored, v1.2.4 kept", rb, err)
			}
			want = map[string]string{"sn27": oldBinary, "sn27.previous": string(f.bin)}
			if got := dirState(t, filepath.Dir(exe)); !maps.Equal(got, want) {
				t.Fatalf("after rollback: %q; want %q", got, want)
			}
			// A second rollback undoes the first.
			if _, err := u.Rollback(context.Background()); err != nil {
				t.Fatal(err)
			}
			want = map[string]string{"sn27": string(f.bin), "sn27.previous": oldBinary}
			if got := dirState(t, filepath.Dir(exe)); !maps.Equal(got, want) {
				t.Fatalf("after a second rollback: %q; want %q", got, want)
			}
		})
	}
}

// TestApplyThroughSymlink replaces the file a symlinked executable points
// at, keeping the link.
func TestApplyThroughSymlink(t *testing.T) {
	f := newFixture(t, "v1.2.4")
	f.write(f.priv)
	exe := install(t, "")
	link := filepath.Join(t.TempDir(), "sn27")
	if err := os.Symlink(exe, link); err != nil {
		t.Fatal(err)
	}
	res, err := newUpdater(t, config(f, f.dir, link)).Apply(context.Background())
	if err != nil || res.Target != exe {
		t.Fatalf("Apply = %+v, %v; want %s replaced", res, err, exe)
	}
	if b, _ := os.ReadFile(link); !bytes.Equal(b, f.bin) {
		t.Fatalf("the link reads %q", b)
	}
	if fi, _ := os.Lstat(link); fi.Mode()&os.ModeSymlink == 0 {
		t.Fatal("the symlink was replaced")
	}
}

func TestApplyDevBuild(t *testing.T) {
	f := newFixture(t, "v1.2.4")
	f.write(f.priv)
	exe := install(t, "")
	cfg := config(f, f.dir, exe)
	cfg.Current = "6d531d2-dirty"
	res, err := newUpdater(t, cfg).Apply(context.Background())
	if err != nil || !res.Dev || !res.Newer() {
		t.Fatalf("Apply over a dev build = %+v, %v; want applied, Dev", res, err)
	}
}

func TestRollbackWithoutPrevious(t *testing.T) {
	f := newFixture(t, "v1.2.4")
	exe := install(t, "")
	before := dirState(t, filepath.Dir(exe))
	if _, err := newUpdater(t, config(f, "", exe)).Rollback(context.Background()); !errors.Is(err, ErrNoPrevious) {
		t.Fatalf("Rollback: %v; want ErrNoPrevious", err)
	}
	if got := dirState(t, filepath.Dir(exe)); !maps.Equal(got, before) {
		t.Fatalf("changed: %q", got)
	}
}

// TestRefusals: each refusal is its error, and leaves the executable, a
// kept previous binary and the directory exactly as they were.
func TestRefusals(t *testing.T) {
	type setup struct {
		f      *fixture
		cfg    *Config
		server func(http.Handler) http.Handler // wraps the file server (HTTP runs only)
	}
	_, otherPriv := newKey(t)
	for _, tt := range []struct {
		name     string
		version  string
		prep     func(s *setup)
		want     error
		noCheck  bool // Check succeeds: only Apply refuses
		httpOnly bool // the server misbehaves
	}{
		{name: "bad signature: manifest changed after signing", version: "v1.2.4", want: ErrBadSignature, prep: func(s *setup) {
			m := s.f.write(s.f.priv)
			sig := minisign.Sign(s.f.priv, m)
			s.f.writeRaw(bytes.Replace(m, []byte(`"stable"`), []byte(`"stable" `), 1), sig)
		}},
		{name: "bad signature: malformed", version: "v1.2.4", want: ErrBadSignature, prep: func(s *setup) {
			m := s.f.write(s.f.priv)
			s.f.writeRaw(m, []byte("untrusted comment: x\nnot base64\n"))
		}},
		{name: "signed by an untrusted key", version: "v1.2.4", want: ErrUntrustedKey, prep: func(s *setup) {
			s.f.write(otherPriv)
		}},
		{name: "sha256 mismatch", version: "v1.2.4", want: ErrChecksum, noCheck: true, prep: func(s *setup) {
			s.f.art().SHA256 = strings.Repeat("1", 64)
			s.f.write(s.f.priv)
		}},
		{name: "same bytes count, other content", version: "v1.2.4", want: ErrChecksum, noCheck: true, prep: func(s *setup) {
			s.f.write(s.f.priv)
			b := fakeSN27("v1.2.5")
			os.WriteFile(filepath.Join(s.f.dir, s.f.art().Name), b, 0o644)
		}},
		{name: "downgrade", version: "v1.2.2", want: ErrDowngrade, noCheck: true},
		{name: "same version", version: "v1.2.3", want: ErrUpToDate, noCheck: true},
		{name: "a pre-release of this version", version: "v1.2.3-rc.1", want: ErrDowngrade, noCheck: true},
		{name: "no binary for this platform", version: "v1.2.4", want: ErrPlatform, prep: func(s *setup) {
			s.f.manifest.Artifacts = s.f.manifest.Artifacts[:1]
			s.f.write(s.f.priv)
		}},
		{name: "other channel", version: "v1.2.4", want: ErrChannel, prep: func(s *setup) {
			s.f.manifest.Channel = "beta"
			s.f.write(s.f.priv)
		}},
		{name: "truncated: the file is shorter", version: "v1.2.4", want: ErrTruncated, noCheck: true, prep: func(s *setup) {
			s.f.write(s.f.priv)
			os.WriteFile(filepath.Join(s.f.dir, s.f.art().Name), s.f.bin[:len(s.f.bin)-5], 0o644)
		}},
		{name: "truncated: the server sends fewer bytes than it said", version: "v1.2.4", want: ErrTruncated, noCheck: true, httpOnly: true, prep: func(s *setup) {
			s.f.write(s.f.priv)
			name, n := s.f.art().Name, len(s.f.bin)
			s.server = func(h http.Handler) http.Handler {
				return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					if !strings.HasSuffix(r.URL.Path, name) {
						h.ServeHTTP(w, r)
						return
					}
					w.Header().Set("Content-Length", strconv.Itoa(n))
					w.Write(s.f.bin[:n/2])
				})
			}
		}},
		{name: "oversized: the file is longer", version: "v1.2.4", want: ErrTooLarge, noCheck: true, prep: func(s *setup) {
			s.f.write(s.f.priv)
			os.WriteFile(filepath.Join(s.f.dir, s.f.art().Name), append(s.f.bin, "\n# more\n"...), 0o644)
		}},
		{name: "oversized: chunked, no length", version: "v1.2.4", want: ErrTooLarge, noCheck: true, httpOnly: true, prep: func(s *setup) {
			s.f.write(s.f.priv)
			name := s.f.art().Name
			s.server = func(h http.Handler) http.Handler {
				return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					if !strings.HasSuffix(r.URL.Path, name) {
						h.ServeHTTP(w, r)
						return
					}
					w.Write(s.f.bin)
					w.(http.Flusher).Flush()
					w.Write(bytes.Repeat([]byte("x"), 1<<16))
				})
			}
		}},
		{name: "manifest over the size limit", version: "v1.2.4", want: ErrTooLarge, prep: func(s *setup) {
			m, _ := json.Marshal(s.f.manifest)
			m = append(m, bytes.Repeat([]byte(" "), release.MaxManifest)...)
			s.f.writeRaw(m, minisign.Sign(s.f.priv, m))
		}},
		{name: "full disk", version: "v1.2.4", want: ErrNoSpace, noCheck: true, prep: func(s *setup) {
			s.f.write(s.f.priv)
			s.cfg.FreeSpace = func(string) (uint64, error) { return uint64(len(s.f.bin)), nil }
		}},
		{name: "wrong binary: reports another version", version: "v1.2.4", want: ErrWrongBinary, noCheck: true, prep: func(s *setup) {
			s.f.bin = fakeSN27("v9.9.9")
			sum := sha256.Sum256(s.f.bin)
			*s.f.art() = release.Artifact{Name: s.f.art().Name, Kind: release.KindBinary, OS: runtime.GOOS, Arch: runtime.GOARCH, Size: int64(len(s.f.bin)), SHA256: hex.EncodeToString(sum[:])}
			s.f.write(s.f.priv)
		}},
		{name: "wrong binary: does not run", version: "v1.2.4", want: ErrWrongBinary, noCheck: true, prep: func(s *setup) {
			s.f.bin = []byte("#!/bin/sh\necho broken >&2\nexit 1\n")
			sum := sha256.Sum256(s.f.bin)
			*s.f.art() = release.Artifact{Name: s.f.art().Name, Kind: release.KindBinary, OS: runtime.GOOS, Arch: runtime.GOARCH, Size: int64(len(s.f.bin)), SHA256: hex.EncodeToString(sum[:])}
			s.f.write(s.f.priv)
		}},
		{name: "no manifest", version: "v1.2.4", want: os.ErrNotExist, prep: func(s *setup) {}},
	} {
		for _, kind := range []string{"http", "dir"} {
			if tt.httpOnly && kind != "http" {
				continue
			}
			t.Run(tt.name+"/"+kind, func(t *testing.T) {
				f := newFixture(t, tt.version)
				exe := install(t, "the kept previous binary")
				cfg := config(f, f.dir, exe)
				s := &setup{f: f, cfg: &cfg, server: func(h http.Handler) http.Handler { return h }}
				if tt.prep == nil {
					f.write(f.priv)
				} else {
					tt.prep(s)
				}
				if kind == "http" {
					srv := httptest.NewServer(s.server(http.FileServer(http.Dir(f.dir))))
					defer srv.Close()
					cfg.Source = srv.URL
				}
				want := tt.want
				if want == os.ErrNotExist && kind == "http" {
					want = nil // a 404: checked below by message
				}
				before := dirState(t, filepath.Dir(exe))
				u := newUpdater(t, cfg)
				_, cerr := u.Check(context.Background())
				_, err := u.Apply(context.Background())
				if want != nil && !errors.Is(err, want) || err == nil {
					t.Fatalf("Apply: %v; want %v", err, tt.want)
				}
				if tt.want == os.ErrNotExist && kind == "http" && !strings.Contains(err.Error(), "404") {
					t.Fatalf("Apply: %v; want a 404", err)
				}
				if tt.noCheck && cerr != nil {
					t.Errorf("Check: %v; want what is available (Apply refuses)", cerr)
				}
				if !tt.noCheck && (cerr == nil || cerr.Error() != err.Error()) {
					t.Errorf("Check: %v; want %v", cerr, err)
				}
				if got := dirState(t, filepath.Dir(exe)); !maps.Equal(got, before) {
					t.Fatalf("refusal changed the directory: %q; want %q", got, before)
				}
				t.Log(err)
			})
		}
	}
}

// TestAllowDowngrade installs an older and the same version when allowed.
func TestAllowDowngrade(t *testing.T) {
	for _, v := range []string{"v1.2.2", "v1.2.3"} {
		f := newFixture(t, v)
		f.write(f.priv)
		exe := install(t, "")
		cfg := config(f, f.dir, exe)
		cfg.AllowDowngrade = true
		res, err := newUpdater(t, cfg).Apply(context.Background())
		if err != nil || res.Newer() {
			t.Fatalf("%s allowed: %+v, %v", v, res, err)
		}
		if b, _ := os.ReadFile(exe); !bytes.Equal(b, f.bin) {
			t.Fatalf("%s: not installed", v)
		}
	}
}

// TestFetchTimeout: a server that never answers is given up on.
func TestFetchTimeout(t *testing.T) {
	f := newFixture(t, "v1.2.4")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }))
	defer srv.Close()
	cfg := config(f, srv.URL, install(t, ""))
	cfg.FetchTimeout = 200 * time.Millisecond
	start := time.Now()
	if _, err := newUpdater(t, cfg).Check(context.Background()); !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 5*time.Second {
		t.Fatalf("Check against a silent server: %v after %v; want a deadline", err, time.Since(start))
	}
}

func TestNoSource(t *testing.T) {
	f := newFixture(t, "v1.2.4")
	u := newUpdater(t, config(f, "", install(t, "")))
	if _, err := u.Check(context.Background()); !errors.Is(err, ErrNoSource) {
		t.Fatalf("Check: %v; want ErrNoSource", err)
	}
	if _, err := u.Apply(context.Background()); !errors.Is(err, ErrNoSource) {
		t.Fatalf("Apply: %v; want ErrNoSource", err)
	}
}

func TestDiskFree(t *testing.T) {
	n, err := diskFree(t.TempDir())
	if errors.Is(err, errors.ErrUnsupported) {
		t.Skip("no statfs here")
	}
	if err != nil || n == 0 {
		t.Fatalf("diskFree = %d, %v", n, err)
	}
}
