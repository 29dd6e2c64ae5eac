// Command release builds a release of sn27 (make release VERSION=vX.Y.Z):
// for linux/amd64 and linux/arm64 the bare binary, a tarball and a Debian
// package (nfpm); the renter API's OpenAPI document (openapi.json, as
// `sn27 api` serves it); then manifest.json (what sn27 update reads),
// SHA256SUMS, and minisign signatures of both. Builds are reproducible:
// the same commit gives the same bytes (-trimpath, no build id, file
// times and the stamped date from the commit, SOURCE_DATE_EPOCH).
//
// The signing key is the minisign secret key file RELEASE_KEY (its
// password, if it has one, in RELEASE_KEY_PASSWORD). Without one, the
// release is signed with a development key kept outside the tree
// (~/.config/sn27/release-dev.key, made on first use), which no sn27 trusts
// unless told to (--update.trusted-key): the tool says so loudly.
package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"aead.dev/minisign"
	"github.com/goreleaser/nfpm/v2"
	_ "github.com/goreleaser/nfpm/v2/deb" // registers the deb packager

	"github.com/sn27/sn27/internal/release"
	"github.com/sn27/sn27/internal/renter/api"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "release:", err)
		os.Exit(1)
	}
}

func run() error {
	var (
		version    = flag.String("version", "", "the release's version, vMAJOR.MINOR.PATCH[-PRE]")
		out        = flag.String("out", "dist", "output directory (made; must be empty or absent)")
		channel    = flag.String("channel", "stable", "release channel written into the manifest")
		archs      = flag.String("arch", "amd64,arm64", "architectures (linux)")
		allowDirty = flag.Bool("allow-dirty", false, "build from a tree with uncommitted changes (tests only: not reproducible)")
		genKey     = flag.String("genkey", "", "only write a new unencrypted minisign key pair to DIR/release.key and DIR/release.pub (throwaway keys for checks)")
	)
	flag.Parse()
	if *genKey != "" {
		pub, priv, err := minisign.GenerateKey(rand.Reader)
		if err != nil {
			return err
		}
		text, _ := priv.MarshalText()
		pt, _ := pub.MarshalText()
		if err := os.WriteFile(filepath.Join(*genKey, "release.key"), text, 0o600); err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(*genKey, "release.pub"), pt, 0o644)
	}
	if _, err := release.ParseVersion(*version); err != nil {
		return fmt.Errorf("VERSION: %w", err)
	}
	if dirty, err := git("status", "--porcelain"); err != nil {
		return err
	} else if dirty != "" && !*allowDirty {
		return fmt.Errorf("the tree has uncommitted changes; a release is built from a clean tree:\n%s", dirty)
	}
	commit, err := git("rev-parse", "HEAD")
	if err != nil {
		return err
	}
	epoch := os.Getenv("SOURCE_DATE_EPOCH")
	if epoch == "" {
		if epoch, err = git("log", "-1", "--format=%ct"); err != nil {
			return err
		}
	}
	secs, err := strconv.ParseInt(epoch, 10, 64)
	if err != nil {
		return fmt.Errorf("SOURCE_DATE_EPOCH %q: %w", epoch, err)
	}
	date := time.Unix(secs, 0).UTC()
	key, keyNote, err := signingKey()
	if err != nil {
		return err
	}
	if entries, err := os.ReadDir(*out); err == nil && len(entries) > 0 {
		return fmt.Errorf("%s is not empty", *out)
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		return err
	}
	stage, err := os.MkdirTemp("", "sn27-release-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(stage)

	m := release.Manifest{Version: *version, Channel: *channel, Commit: commit, Date: date}
	plain := strings.TrimPrefix(*version, "v")
	for _, arch := range strings.Split(*archs, ",") {
		dir := filepath.Join(stage, arch)
		if err := os.MkdirAll(filepath.Join(dir, "etc"), 0o755); err != nil {
			return err
		}
		bin := filepath.Join(dir, "sn27")
		if err := build(bin, arch, *version, commit, date); err != nil {
			return err
		}
		// The config templates are the same on every architecture: made
		// by the binary this machine runs.
		host := filepath.Join(stage, runtime.GOARCH, "sn27")
		if arch != runtime.GOARCH {
			if _, err := os.Stat(host); err != nil {
				if err := build(host, runtime.GOARCH, *version, commit, date); err != nil {
					return err
				}
			}
		}
		for _, role := range []string{"miner", "validator", "api", "devnet"} {
			tmpl, err := exec.Command(host, "config", "template", role).Output()
			if err != nil {
				return fmt.Errorf("config template %s: %w", role, err)
			}
			if err := os.WriteFile(filepath.Join(dir, "etc", role+".json"), tmpl, 0o644); err != nil {
				return err
			}
		}
		name := fmt.Sprintf("sn27_%s_linux_%s", plain, arch)
		if err := copyFile(bin, filepath.Join(*out, name), 0o755, date); err != nil {
			return err
		}
		if err := tarball(filepath.Join(*out, name+".tar.gz"), name, dir, date); err != nil {
			return err
		}
		deb := fmt.Sprintf("sn27_%s_%s.deb", strings.ReplaceAll(plain, "-", "~"), arch)
		if err := debian(filepath.Join(*out, deb), dir, arch, plain, date); err != nil {
			return err
		}
		for _, a := range []struct{ name, kind string }{{name, release.KindBinary}, {name + ".tar.gz", release.KindTarball}, {deb, release.KindDeb}} {
			art, err := artifact(filepath.Join(*out, a.name), a.kind, "linux", arch)
			if err != nil {
				return err
			}
			m.Artifacts = append(m.Artifacts, art)
		}
	}
	// The renter API's OpenAPI document, byte for byte what GET
	// /openapi.json of this release's `sn27 api` answers.
	spec := filepath.Join(*out, "openapi.json")
	if err := writeFile(spec, api.OpenAPI(), date); err != nil {
		return err
	}
	art, err := artifact(spec, release.KindSpec, "", "")
	if err != nil {
		return err
	}
	m.Artifacts = append(m.Artifacts, art)
	mb, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(*out, release.ManifestName), append(mb, '\n'), 0o644); err != nil {
		return err
	}
	sums, err := checksums(*out)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(*out, "SHA256SUMS"), sums, 0o644); err != nil {
		return err
	}
	for _, f := range []string{"SHA256SUMS", release.ManifestName} {
		b, err := os.ReadFile(filepath.Join(*out, f))
		if err != nil {
			return err
		}
		sig := minisign.SignWithComments(key, b, fmt.Sprintf("file:%s version:%s commit:%s", f, *version, commit), "sn27 release signature")
		if err := os.WriteFile(filepath.Join(*out, f+".minisig"), sig, 0o644); err != nil {
			return err
		}
	}
	fmt.Printf("release %s (%s) in %s: %d artifacts, SHA256SUMS and manifest.json signed by key %X\n", *version, commit[:12], *out, len(m.Artifacts), key.ID())
	if keyNote != "" {
		fmt.Fprintln(os.Stderr, keyNote)
	}
	return nil
}

func git(args ...string) (string, error) {
	out, err := exec.Command("git", args...).Output()
	if err != nil {
		return "", fmt.Errorf("git %s: %w", strings.Join(args, " "), err)
	}
	return strings.TrimSpace(string(out)), nil
}

// build compiles sn27 for linux/arch, reproducibly.
func build(out, arch, version, commit string, date time.Time) error {
	ld := fmt.Sprintf("-buildid= -X github.com/sn27/sn27/internal/buildinfo.Version=%s -X github.com/sn27/sn27/internal/buildinfo.Commit=%s -X github.com/sn27/sn27/internal/buildinfo.Date=%s",
		version, commit, date.Format(time.RFC3339))
	cmd := exec.Command("go", "build", "-trimpath", "-buildvcs=false", "-ldflags", ld, "-o", out, "./cmd/sn27")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+arch)
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("build linux/%s: %w", arch, err)
	}
	return os.Chtimes(out, date, date)
}

// signingKey reads RELEASE_KEY, or makes/reads the development key.
func signingKey() (minisign.PrivateKey, string, error) {
	path := os.Getenv("RELEASE_KEY")
	note := ""
	if path == "" {
		dir, err := os.UserConfigDir()
		if err != nil {
			return minisign.PrivateKey{}, "", err
		}
		path = filepath.Join(dir, "sn27", "release-dev.key")
		if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
			pub, priv, err := minisign.GenerateKey(rand.Reader)
			if err != nil {
				return minisign.PrivateKey{}, "", err
			}
			text, _ := priv.MarshalText()
			pt, _ := pub.MarshalText()
			if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
				return minisign.PrivateKey{}, "", err
			}
			if err := os.WriteFile(path, text, 0o600); err != nil {
				return minisign.PrivateKey{}, "", err
			}
			if err := os.WriteFile(path+".pub", pt, 0o644); err != nil {
				return minisign.PrivateKey{}, "", err
			}
		}
		note = "******** WARNING: signed with the LOCAL DEVELOPMENT key " + path + " (public half: " + path + ".pub).\n" +
			"******** No sn27 trusts it unless given --update.trusted-key " + path + ".pub. Set RELEASE_KEY to sign a real release."
		fmt.Fprintln(os.Stderr, note)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return minisign.PrivateKey{}, "", fmt.Errorf("RELEASE_KEY: %w", err)
	}
	var k minisign.PrivateKey
	if minisign.IsEncrypted(b) {
		k, err = minisign.DecryptKey(os.Getenv("RELEASE_KEY_PASSWORD"), b)
	} else {
		err = k.UnmarshalText(b)
	}
	if err != nil {
		return minisign.PrivateKey{}, "", fmt.Errorf("release key %s: %w", path, err)
	}
	return k, note, nil
}

// writeFile writes b to dst (0644) with the release's file time.
func writeFile(dst string, b []byte, date time.Time) error {
	if err := os.WriteFile(dst, b, 0o644); err != nil {
		return err
	}
	return os.Chtimes(dst, date, date)
}

func copyFile(src, dst string, mode os.FileMode, date time.Time) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	if err := os.WriteFile(dst, b, mode); err != nil {
		return err
	}
	return os.Chtimes(dst, date, date)
}

// tarball writes dst: top/ with sn27, the configs, the units and the docs,
// in a fixed order with fixed owners and times.
func tarball(dst, top, stage string, date time.Time) error {
	files := [][2]string{{filepath.Join(stage, "sn27"), "sn27"}, {"README.md", "README.md"}, {"docs/proof-of-gpu.md", "docs/proof-of-gpu.md"}}
	units, _ := filepath.Glob("packaging/systemd/*.service")
	for _, u := range units {
		files = append(files, [2]string{u, "systemd/" + filepath.Base(u)})
	}
	for _, role := range []string{"api", "devnet", "miner", "validator"} {
		files = append(files, [2]string{filepath.Join(stage, "etc", role+".json"), "etc/sn27/" + role + ".json"})
	}
	slices.SortFunc(files, func(a, b [2]string) int { return strings.Compare(a[1], b[1]) })
	var buf bytes.Buffer
	gz, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	gz.ModTime = date
	tw := tar.NewWriter(gz)
	for _, f := range files {
		b, err := os.ReadFile(f[0])
		if err != nil {
			return err
		}
		mode := int64(0o644)
		if f[1] == "sn27" {
			mode = 0o755
		}
		hdr := &tar.Header{Name: top + "/" + f[1], Mode: mode, Size: int64(len(b)), ModTime: date, Format: tar.FormatPAX, Uname: "root", Gname: "root"}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if _, err := tw.Write(b); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	if err := gz.Close(); err != nil {
		return err
	}
	if err := os.WriteFile(dst, buf.Bytes(), 0o644); err != nil {
		return err
	}
	return os.Chtimes(dst, date, date)
}

// debian packages stage as packaging/nfpm.yaml says.
func debian(dst, stage, arch, version string, date time.Time) error {
	text, err := os.ReadFile("packaging/nfpm.yaml")
	if err != nil {
		return err
	}
	vars := map[string]string{"VERSION": version, "ARCH": arch, "STAGE": stage}
	expanded := os.Expand(string(text), func(k string) string { return vars[k] })
	cfg, err := nfpm.Parse(strings.NewReader(expanded))
	if err != nil {
		return fmt.Errorf("packaging/nfpm.yaml: %w", err)
	}
	info, err := cfg.Get("deb")
	if err != nil {
		return err
	}
	info.MTime = date
	info = nfpm.WithDefaults(info)
	if err := nfpm.PrepareForPackager(info, "deb"); err != nil {
		return fmt.Errorf("deb %s: %w", arch, err)
	}
	pkg, err := nfpm.Get("deb")
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := pkg.Package(info, &buf); err != nil {
		return fmt.Errorf("deb %s: %w", arch, err)
	}
	if err := os.WriteFile(dst, buf.Bytes(), 0o644); err != nil {
		return err
	}
	return os.Chtimes(dst, date, date)
}

func artifact(path, kind, goos, arch string) (release.Artifact, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return release.Artifact{}, err
	}
	sum := sha256.Sum256(b)
	return release.Artifact{Name: filepath.Base(path), Kind: kind, OS: goos, Arch: arch, Size: int64(len(b)), SHA256: hex.EncodeToString(sum[:])}, nil
}

// checksums is SHA256SUMS of every file in dir, sorted by name.
func checksums(dir string) ([]byte, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var b strings.Builder
	for _, e := range entries {
		if e.IsDir() || strings.HasSuffix(e.Name(), ".minisig") || e.Name() == "SHA256SUMS" {
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		fmt.Fprintf(&b, "%x  %s\n", sha256.Sum256(data), e.Name())
	}
	return []byte(b.String()), nil
}
