// Package update is sn27's signed self-update: it reads a release manifest
// from an http(s) URL or a directory, verifies its minisign signature with
// a trusted release key before reading a word of it, picks the bare sn27
// binary for this platform, refuses downgrades, downloads it beside the
// running executable with the manifest's size and sha256 enforced, checks
// that it runs and reports the manifest's version, keeps the running
// binary as <exe>.previous and renames the new one over the executable.
// Every refusal leaves the executable, <exe>.previous and the directory as
// they were.
package update

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"syscall"
	"time"

	"aead.dev/minisign"

	"github.com/sn27/sn27/internal/buildinfo"
	"github.com/sn27/sn27/internal/release"
)

// Refusals, matchable with errors.Is. Each leaves everything as it was.
var (
	ErrNoSource     = errors.New("no update source: set --update.url to the release URL or directory (https://…, file:///…, or a path)")
	ErrBadSignature = errors.New("bad signature")
	ErrUntrustedKey = errors.New("signed by an untrusted key")
	ErrTooLarge     = errors.New("larger than allowed")
	ErrChannel      = errors.New("wrong channel")
	ErrPlatform     = errors.New("no binary for this platform")
	ErrUpToDate     = errors.New("already up to date")
	ErrDowngrade    = errors.New("downgrade refused (--allow-downgrade permits it)")
	ErrNoSpace      = errors.New("not enough free disk space")
	ErrTruncated    = errors.New("truncated download")
	ErrChecksum     = errors.New("sha256 mismatch")
	ErrWrongBinary  = errors.New("the downloaded binary does not report the release's version")
	ErrNoPrevious   = errors.New("no previous binary to roll back to")
)

// PreviousSuffix names the kept binary: <exe>.previous.
const PreviousSuffix = ".previous"

// maxSignature bounds manifest.json.minisig (minisign's are ~300 bytes).
const maxSignature = 16 << 10

// maxVersionOutput bounds what `<new binary> version --json` may print.
const maxVersionOutput = 64 << 10

// Config is what an Updater does.
type Config struct {
	Source         string               // release base URL or directory; "" is ErrNoSource (Check, Apply)
	Keys           []minisign.PublicKey // trusted release keys: TrustedKeys() and the operator's
	Channel        string               // the manifest's channel must be this ("stable")
	AllowDowngrade bool                 // install an older or the same version
	Current        string               // the running version (buildinfo); not vX.Y.Z: any release is newer
	Target         string               // the executable to replace; "" is os.Executable()

	FetchTimeout    time.Duration // manifest and signature, together
	DownloadTimeout time.Duration // the binary
	VerifyTimeout   time.Duration // the new binary's `version --json`

	// Client fetches from http(s) sources; nil is a plain http.Client.
	Client *http.Client
	// FreeSpace returns the bytes free to this user in dir; nil is statfs(2).
	// An error (or an OS without statfs) skips the check; a full disk while
	// writing is still ErrNoSpace.
	FreeSpace func(dir string) (uint64, error)
}

// DefaultConfig trusts the built-in release key, follows the stable
// channel and replaces the running executable.
func DefaultConfig() Config {
	return Config{
		Keys:            TrustedKeys(),
		Channel:         "stable",
		Current:         buildinfo.Read().Version,
		FetchTimeout:    30 * time.Second,
		DownloadTimeout: 10 * time.Minute,
		VerifyTimeout:   30 * time.Second,
	}
}

// Updater checks for, applies and rolls back updates.
type Updater struct {
	cfg Config
	src Source // zero when cfg.Source is "": Check and Apply say ErrNoSource
}

// New checks cfg. A missing source is reported by Check and Apply, so
// that Rollback needs none.
func New(cfg Config) (*Updater, error) {
	u := &Updater{cfg: cfg}
	if cfg.Source != "" {
		src, err := ParseSource(cfg.Source)
		if err != nil {
			return nil, err
		}
		u.src = src
	}
	if len(cfg.Keys) == 0 {
		return nil, errors.New("no trusted release keys")
	}
	if cfg.Channel == "" {
		return nil, errors.New("no channel")
	}
	if u.cfg.Client == nil {
		u.cfg.Client = &http.Client{}
	}
	if u.cfg.FreeSpace == nil {
		u.cfg.FreeSpace = diskFree
	}
	def := DefaultConfig()
	for _, d := range []struct{ v, def *time.Duration }{{&u.cfg.FetchTimeout, &def.FetchTimeout}, {&u.cfg.DownloadTimeout, &def.DownloadTimeout}, {&u.cfg.VerifyTimeout, &def.VerifyTimeout}} {
		if *d.v <= 0 {
			*d.v = *d.def
		}
	}
	return u, nil
}

// Available is what the source offers this build.
type Available struct {
	Current  string           // the running version ("v1.2.3", "dev", "6d531d2-dirty")
	Dev      bool             // Current is not a release version: any release is newer
	Manifest release.Manifest // the verified manifest
	Artifact release.Artifact // its binary for this platform
	Order    int              // the release against Current: 1 newer, 0 the same, -1 older (1 when Dev)
}

// Newer says whether the release is newer than the running build.
func (a Available) Newer() bool { return a.Order > 0 }

// Check fetches and verifies the manifest and says what it offers: the
// signature first (ErrBadSignature, ErrUntrustedKey), then the channel
// (ErrChannel) and a binary for runtime.GOOS/GOARCH (ErrPlatform). An
// older or the same release is not an error here; Apply refuses it.
func (u *Updater) Check(ctx context.Context) (Available, error) {
	var a Available
	if u.src == (Source{}) {
		return a, ErrNoSource
	}
	m, err := u.manifest(ctx)
	if err != nil {
		return a, err
	}
	if m.Channel != u.cfg.Channel {
		return a, fmt.Errorf("%w: the release at %s is on channel %q, not %q", ErrChannel, u.src, m.Channel, u.cfg.Channel)
	}
	art, ok := m.Find(release.KindBinary, runtime.GOOS, runtime.GOARCH)
	if !ok {
		return a, fmt.Errorf("%w: release %s has no sn27 binary (kind %q) for %s/%s", ErrPlatform, m.Version, release.KindBinary, runtime.GOOS, runtime.GOARCH)
	}
	a = Available{Current: u.cfg.Current, Manifest: m, Artifact: art, Order: 1}
	rel, err := release.ParseVersion(m.Version) // ParseManifest checked it
	if err != nil {
		return Available{}, err
	}
	if cur, err := release.ParseVersion(u.cfg.Current); err != nil {
		a.Dev = true
	} else {
		a.Order = rel.Compare(cur)
	}
	return a, nil
}

// manifest fetches manifest.json and its signature, verifies the signature
// with the trusted keys and only then parses the manifest.
func (u *Updater) manifest(ctx context.Context) (release.Manifest, error) {
	ctx, cancel := context.WithTimeout(ctx, u.cfg.FetchTimeout)
	defer cancel()
	body, err := u.src.fetch(ctx, u.cfg.Client, release.ManifestName, release.MaxManifest)
	if err != nil {
		return release.Manifest{}, err
	}
	sig, err := u.src.fetch(ctx, u.cfg.Client, release.ManifestName+".minisig", maxSignature)
	if err != nil {
		return release.Manifest{}, err
	}
	if err := verify(u.cfg.Keys, body, sig); err != nil {
		return release.Manifest{}, fmt.Errorf("%s at %s: %w", release.ManifestName, u.src, err)
	}
	m, err := release.ParseManifest(body)
	if err != nil {
		return release.Manifest{}, fmt.Errorf("%s at %s: %w", release.ManifestName, u.src, err)
	}
	return m, nil
}

// Result is an applied update.
type Result struct {
	Available
	Target   string // the executable replaced
	Previous string // where the binary it replaced is kept (Target + ".previous")
}

// Apply installs the release Check finds. It refuses (nothing replaced, no
// temporary file left) an older release (ErrDowngrade) or the same one
// (ErrUpToDate) unless AllowDowngrade, too little free space (ErrNoSpace,
// before writing anything), a download shorter or longer than the manifest
// says (ErrTruncated, ErrTooLarge), another sha256 (ErrChecksum), and a
// binary whose `version --json` does not report the manifest's version
// (ErrWrongBinary). Then the running binary is kept as <exe>.previous (a
// hard link, else a copy, renamed into place) and the new one is renamed
// over the executable: each step is one rename(2), so the executable is
// always a whole binary, the old or the new.
func (u *Updater) Apply(ctx context.Context) (Result, error) {
	a, err := u.Check(ctx)
	if err != nil {
		return Result{}, err
	}
	return u.apply(ctx, a, nil)
}

// apply is Apply of a, what Check found; ready, when not nil, is called
// once the new binary is downloaded and checked, just before it is
// installed: an error from it stops the update with nothing replaced.
func (u *Updater) apply(ctx context.Context, a Available, ready func(context.Context) error) (Result, error) {
	res := Result{Available: a}
	if !u.cfg.AllowDowngrade {
		switch {
		case a.Order == 0:
			return res, fmt.Errorf("%w: this is %s", ErrUpToDate, a.Current)
		case a.Order < 0:
			return res, fmt.Errorf("%w: the release on %s is %s, older than this %s", ErrDowngrade, u.cfg.Channel, a.Manifest.Version, a.Current)
		}
	}
	target, err := u.target()
	if err != nil {
		return res, err
	}
	res.Target, res.Previous = target, target+PreviousSuffix
	cur, err := os.Stat(target)
	if err != nil {
		return res, fmt.Errorf("executable: %w", err)
	}
	dir := filepath.Dir(target)
	// The new binary, and <exe>.previous if it must be a copy.
	need := uint64(a.Artifact.Size) + uint64(cur.Size())
	if free, err := u.cfg.FreeSpace(dir); err == nil && free < need {
		return res, fmt.Errorf("%w in %s: %d bytes free, %d needed (the new binary and a copy of the current one)", ErrNoSpace, dir, free, need)
	}

	tmp, err := os.CreateTemp(dir, "."+filepath.Base(target)+".update-*")
	if err != nil {
		if errors.Is(err, fs.ErrPermission) {
			return res, fmt.Errorf("write beside the executable (run sn27 update as its owner, e.g. root for /usr/bin/sn27): %w", err)
		}
		return res, fmt.Errorf("write beside the executable: %w", noSpace(err))
	}
	installed := false
	defer func() {
		if !installed {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if err := u.download(ctx, a.Artifact, tmp); err != nil {
		return res, err
	}
	if err := tmp.Close(); err != nil {
		return res, fmt.Errorf("write %s: %w", tmp.Name(), noSpace(err))
	}
	if err := os.Chmod(tmp.Name(), 0o755); err != nil {
		return res, err
	}
	vctx, cancel := context.WithTimeout(ctx, u.cfg.VerifyTimeout)
	got, err := binaryVersion(vctx, tmp.Name())
	cancel()
	if err != nil {
		return res, fmt.Errorf("%w: `version --json`: %v", ErrWrongBinary, err)
	}
	if got != a.Manifest.Version {
		return res, fmt.Errorf("%w: it reports %q, the manifest says %q", ErrWrongBinary, got, a.Manifest.Version)
	}
	if ready != nil {
		if err := ready(ctx); err != nil {
			return res, err
		}
	}
	if err := keep(target, res.Previous); err != nil {
		return res, fmt.Errorf("keep the current binary as %s: %w", res.Previous, err)
	}
	if err := os.Rename(tmp.Name(), target); err != nil {
		return res, fmt.Errorf("install %s: %w", target, err)
	}
	installed = true
	if err := syncDir(dir); err != nil {
		return res, fmt.Errorf("installed %s, but sync %s: %w", target, dir, err)
	}
	return res, nil
}

// download writes the artifact to f, enforcing its size and sha256.
func (u *Updater) download(ctx context.Context, a release.Artifact, f *os.File) error {
	ctx, cancel := context.WithTimeout(ctx, u.cfg.DownloadTimeout)
	defer cancel()
	r, n, err := u.src.open(ctx, u.cfg.Client, a.Name)
	if err != nil {
		return fmt.Errorf("download %s: %w", a.Name, err)
	}
	defer r.Close()
	switch {
	case n > a.Size:
		return fmt.Errorf("download %s: %w: %d bytes offered, the manifest says %d", a.Name, ErrTooLarge, n, a.Size)
	case n >= 0 && n < a.Size:
		return fmt.Errorf("download %s: %w: %d bytes offered, the manifest says %d", a.Name, ErrTruncated, n, a.Size)
	}
	h := sha256.New()
	got, err := io.Copy(io.MultiWriter(f, h), io.LimitReader(r, a.Size+1))
	if err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			err = fmt.Errorf("%w after %d of %d bytes", ErrTruncated, got, a.Size)
		}
		return fmt.Errorf("download %s: %w", a.Name, noSpace(err))
	}
	switch {
	case got > a.Size:
		return fmt.Errorf("download %s: %w: more than the manifest's %d bytes", a.Name, ErrTooLarge, a.Size)
	case got < a.Size:
		return fmt.Errorf("download %s: %w: %d of %d bytes", a.Name, ErrTruncated, got, a.Size)
	}
	if sum := hex.EncodeToString(h.Sum(nil)); sum != a.SHA256 {
		return fmt.Errorf("download %s: %w: got %s, the manifest says %s", a.Name, ErrChecksum, sum, a.SHA256)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("write %s: %w", f.Name(), noSpace(err))
	}
	return nil
}

// RollbackResult is a rollback done.
type RollbackResult struct {
	Target   string // the executable
	Previous string // Target + ".previous"
	Restored string // the version now at Target, as it reports it ("" if it did not say)
	Replaced string // the version now at Previous ("" if it did not say)
}

// Rollback swaps the executable and <exe>.previous, so a second rollback
// undoes the first (the binary rolled back from stays at hand). The
// executable always exists: the current one is hard-linked (else copied)
// aside, <exe>.previous is renamed over the executable, then the aside
// copy is renamed to <exe>.previous. ErrNoPrevious when there is none.
// The versions reported are best effort: a binary too old to answer
// `version --json` is rolled back to all the same.
func (u *Updater) Rollback(ctx context.Context) (RollbackResult, error) {
	target, err := u.target()
	if err != nil {
		return RollbackResult{}, err
	}
	res := RollbackResult{Target: target, Previous: target + PreviousSuffix}
	if st, err := os.Stat(res.Previous); err != nil || !st.Mode().IsRegular() {
		return res, fmt.Errorf("%w: %s does not exist (sn27 update --apply keeps one)", ErrNoPrevious, res.Previous)
	}
	vctx, cancel := context.WithTimeout(ctx, u.cfg.VerifyTimeout)
	res.Restored, _ = binaryVersion(vctx, res.Previous)
	res.Replaced, _ = binaryVersion(vctx, target)
	cancel()
	aside, err := linkAside(target)
	if err != nil {
		return res, fmt.Errorf("set the current binary aside: %w", err)
	}
	if err := os.Rename(res.Previous, target); err != nil {
		os.Remove(aside)
		return res, fmt.Errorf("roll back %s: %w", target, err)
	}
	if err := os.Rename(aside, res.Previous); err != nil {
		return res, fmt.Errorf("rolled back %s, but the binary it replaced is left at %s: %w", target, aside, err)
	}
	if err := syncDir(filepath.Dir(target)); err != nil {
		return res, fmt.Errorf("rolled back %s, but sync: %w", target, err)
	}
	return res, nil
}

// target is the executable to replace, through symlinks.
func (u *Updater) target() (string, error) {
	p := u.cfg.Target
	if p == "" {
		exe, err := os.Executable()
		if err != nil {
			return "", fmt.Errorf("find the executable: %w", err)
		}
		p = exe
	}
	p, err := filepath.EvalSymlinks(p)
	if err != nil {
		return "", fmt.Errorf("executable: %w", err)
	}
	return filepath.Abs(p)
}

// keep makes prev a copy of target (a hard link where the filesystem has
// them), replacing prev atomically.
func keep(target, prev string) error {
	aside, err := linkAside(target)
	if err != nil {
		return err
	}
	if err := os.Rename(aside, prev); err != nil {
		os.Remove(aside)
		return err
	}
	return nil
}

// linkAside hard-links (else copies) path to a new hidden name in its
// directory and returns that name.
func linkAside(path string) (string, error) {
	var b [8]byte
	rand.Read(b[:])
	aside := filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".aside-"+hex.EncodeToString(b[:]))
	if err := os.Link(path, aside); err == nil {
		return aside, nil
	}
	if err := copyFile(path, aside); err != nil {
		os.Remove(aside)
		return "", noSpace(err)
	}
	return aside, nil
}

// copyFile copies src to the new file dst with src's permissions.
func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	st, err := in.Stat()
	if err != nil {
		return err
	}
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, st.Mode().Perm())
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Sync(); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// syncDir makes the renames in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, syscall.EINVAL) && !errors.Is(err, errors.ErrUnsupported) {
		return err
	}
	return nil
}

// noSpace marks a full disk as ErrNoSpace.
func noSpace(err error) error {
	if errors.Is(err, syscall.ENOSPC) {
		return fmt.Errorf("%w: %w", ErrNoSpace, err)
	}
	return err
}

// binaryVersion runs `path version --json` and returns the version it
// reports.
func binaryVersion(ctx context.Context, path string) (string, error) {
	var out, errb limitedBuffer
	var err error
	// A fork elsewhere in this process may briefly hold the new file's
	// write descriptor (golang.org/issue/22315): retry "text file busy".
	for try := 0; ; try++ {
		out.Reset()
		errb.Reset()
		cmd := exec.CommandContext(ctx, path, "version", "--json")
		cmd.Stdout, cmd.Stderr = &out, &errb
		cmd.WaitDelay = time.Second
		err = cmd.Run()
		if !errors.Is(err, syscall.ETXTBSY) || try == 20 {
			break
		}
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	if err != nil {
		if msg := bytes.TrimSpace(errb.Bytes()); len(msg) > 0 {
			return "", fmt.Errorf("%w: %s", err, firstLine(msg))
		}
		return "", err
	}
	var v struct {
		Version string `json:"version"`
	}
	if err := json.Unmarshal(out.Bytes(), &v); err != nil {
		return "", fmt.Errorf("its output is not version JSON: %w", err)
	}
	if v.Version == "" {
		return "", errors.New("its output has no version")
	}
	return v.Version, nil
}

func firstLine(b []byte) string {
	l, _, _ := bytes.Cut(b, []byte("\n"))
	if len(l) > 200 {
		l = l[:200]
	}
	return string(l)
}

// limitedBuffer keeps the first maxVersionOutput bytes written to it.
type limitedBuffer struct{ bytes.Buffer }

func (b *limitedBuffer) Write(p []byte) (int, error) {
	if room := maxVersionOutput - b.Len(); room > 0 {
		b.Buffer.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}
