package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"aead.dev/minisign"

	"github.com/sn27/sn27/internal/release"
	"github.com/sn27/sn27/internal/renter/api"
)

// TestRelease builds a release twice (linux/amd64; arm64 is compiled by
// make release's vet, not run here): the bytes are the same both times,
// SHA256SUMS and the manifest are signed by RELEASE_KEY and match the
// files, the binary reports the version, and the package and tarball hold
// the binary, the units and the configs.
func TestRelease(t *testing.T) {
	if testing.Short() {
		t.Skip("builds sn27 twice; skipped with -short")
	}
	root, _ := filepath.Abs(filepath.Join("..", ".."))
	tmp := t.TempDir()
	tool := filepath.Join(tmp, "release")
	build := exec.Command("go", "build", "-o", tool, "./tools/release")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build the release tool: %v\n%s", err, out)
	}
	pub, priv, _ := minisign.GenerateKey(rand.Reader)
	keyText, _ := priv.MarshalText()
	keyFile := filepath.Join(tmp, "release.key")
	os.WriteFile(keyFile, keyText, 0o600)

	sums := make([]string, 2)
	var dist string
	for i := range sums {
		dist = filepath.Join(tmp, "dist"+string(rune('a'+i)))
		cmd := exec.Command(tool, "-version", "v9.9.9", "-out", dist, "-arch", "amd64", "-allow-dirty")
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "RELEASE_KEY="+keyFile, "SOURCE_DATE_EPOCH=1800000000")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("release: %v\n%s", err, out)
		}
		if strings.Contains(string(out), "DEVELOPMENT key") {
			t.Fatalf("RELEASE_KEY set, yet:\n%s", out)
		}
		b, _ := os.ReadFile(filepath.Join(dist, "SHA256SUMS"))
		sums[i] = string(b)
	}
	if sums[0] != sums[1] {
		t.Fatalf("two builds of one tree differ:\n%s\n%s", sums[0], sums[1])
	}
	read := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join(dist, name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	for _, f := range []string{"SHA256SUMS", release.ManifestName} {
		if !minisign.Verify(pub, read(f), read(f+".minisig")) {
			t.Errorf("%s: signature does not verify", f)
		}
	}
	for _, line := range strings.Split(strings.TrimSpace(sums[0]), "\n") {
		sum, name, _ := strings.Cut(line, "  ")
		if got := sha256.Sum256(read(name)); hex.EncodeToString(got[:]) != sum {
			t.Errorf("SHA256SUMS: %s does not match", name)
		}
	}
	m, err := release.ParseManifest(read(release.ManifestName))
	if err != nil || m.Version != "v9.9.9" || len(m.Artifacts) != 4 {
		t.Fatalf("manifest: %+v %v", m, err)
	}
	// The renter API's OpenAPI document: what sn27 api serves, in
	// SHA256SUMS and in the manifest (no platform: sn27 update skips it).
	if !bytes.Equal(read("openapi.json"), api.OpenAPI()) {
		t.Error("openapi.json is not the document sn27 api serves (api.OpenAPI)")
	}
	if !strings.Contains(sums[0], "  openapi.json\n") {
		t.Errorf("SHA256SUMS lacks openapi.json:\n%s", sums[0])
	}
	if i := slices.IndexFunc(m.Artifacts, func(a release.Artifact) bool { return a.Name == "openapi.json" }); i < 0 ||
		m.Artifacts[i].Kind != release.KindSpec || m.Artifacts[i].OS != "" || m.Artifacts[i].Arch != "" {
		t.Errorf("manifest artifacts %+v; want openapi.json of kind %q, no os or arch", m.Artifacts, release.KindSpec)
	}
	bin, ok := m.Find(release.KindBinary, "linux", "amd64")
	if !ok {
		t.Fatal("no binary in the manifest")
	}
	out, err := exec.Command(filepath.Join(dist, bin.Name), "version", "--json").Output()
	var v struct{ Version, Commit, Date string }
	if err != nil || json.Unmarshal(out, &v) != nil || v.Version != "v9.9.9" || len(v.Commit) != 40 || !strings.HasPrefix(v.Date, "2027-01-15") {
		t.Fatalf("the released binary says %s (%v)", out, err)
	}
	// sn27 update takes this release: an older build (v9.9.8) updates a
	// copy of itself from the release directory, trusting the release key,
	// and rolls back.
	pubFile := filepath.Join(tmp, "release.pub")
	pubText, _ := pub.MarshalText()
	os.WriteFile(pubFile, pubText, 0o644)
	old := filepath.Join(tmp, "old", "sn27")
	ob := exec.Command("go", "build", "-trimpath", "-ldflags", "-X github.com/sn27/sn27/internal/buildinfo.Version=v9.9.8", "-o", old, "./cmd/sn27")
	ob.Dir = root
	ob.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := ob.CombinedOutput(); err != nil {
		t.Fatalf("build v9.9.8: %v\n%s", err, out)
	}
	target := filepath.Join(tmp, "installed", "sn27")
	os.MkdirAll(filepath.Dir(target), 0o755)
	oldBytes, _ := os.ReadFile(old)
	os.WriteFile(target, oldBytes, 0o755)
	up := func(args ...string) string {
		t.Helper()
		out, err := exec.Command(old, append([]string{"update", "--update.url", dist, "--update.trusted-key", pubFile, "--update.target", target}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("sn27 update %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	if out := up("--check"); !strings.Contains(out, "v9.9.9") {
		t.Errorf("check: %s", out)
	}
	up("--apply")
	if got, _ := os.ReadFile(target); sha256.Sum256(got) != sha256.Sum256(read(bin.Name)) {
		t.Error("--apply did not install the released binary")
	}
	up("--rollback")
	if got, _ := os.ReadFile(target); sha256.Sum256(got) != sha256.Sum256(oldBytes) {
		t.Error("--rollback did not bring the old binary back")
	}
	// The package: binary, units, configs (as conffiles), docs, scripts.
	deb := filepath.Join(dist, "sn27_9.9.9_amd64.deb")
	list, err := exec.Command("dpkg-deb", "-c", deb).Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"./usr/bin/sn27", "./lib/systemd/system/sn27-miner.service", "./lib/systemd/system/sn27-validator.service",
		"./lib/systemd/system/sn27-api.service", "./lib/systemd/system/sn27-devnet.service", "./etc/sn27/miner.json", "./usr/share/doc/sn27/README.md"} {
		if !strings.Contains(string(list), want) {
			t.Errorf("package lacks %s:\n%s", want, list)
		}
	}
	conf, err := exec.Command("dpkg-deb", "-f", deb, "Package", "Version", "Architecture").Output()
	if err != nil || !strings.Contains(string(conf), "Version: 9.9.9") || !strings.Contains(string(conf), "Architecture: amd64") {
		t.Errorf("control: %s %v", conf, err)
	}
	ctl := t.TempDir()
	if out, err := exec.Command("dpkg-deb", "-e", deb, ctl).CombinedOutput(); err != nil {
		t.Fatalf("dpkg-deb -e: %v %s", err, out)
	}
	if b, _ := os.ReadFile(filepath.Join(ctl, "conffiles")); strings.Count(string(b), "/etc/sn27/") != 4 {
		t.Errorf("conffiles: %s", b)
	}
	for _, s := range []string{"postinst", "prerm", "postrm"} {
		if _, err := os.Stat(filepath.Join(ctl, s)); err != nil {
			t.Errorf("no %s", s)
		}
	}
	// The tarball.
	f, _ := os.Open(filepath.Join(dist, "sn27_9.9.9_linux_amd64.tar.gz"))
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	tr := tar.NewReader(gz)
	for h, err := tr.Next(); err == nil; h, err = tr.Next() {
		names = append(names, h.Name)
	}
	for _, want := range []string{"sn27_9.9.9_linux_amd64/sn27", "sn27_9.9.9_linux_amd64/systemd/sn27-miner.service", "sn27_9.9.9_linux_amd64/etc/sn27/validator.json"} {
		if !strings.Contains(strings.Join(names, "\n"), want) {
			t.Errorf("tarball lacks %s: %v", want, names)
		}
	}
}

// TestDevelopmentKey: without RELEASE_KEY the release is signed with a key
// made outside the tree, once, and the tool says so.
func TestDevelopmentKey(t *testing.T) {
	t.Setenv("RELEASE_KEY", "")
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	k1, note, err := signingKey()
	if err != nil || !strings.Contains(note, "LOCAL DEVELOPMENT key") {
		t.Fatalf("%v %q", err, note)
	}
	k2, _, _ := signingKey()
	if k1.ID() != k2.ID() {
		t.Fatal("a second release made another development key")
	}
	st, err := os.Stat(filepath.Join(os.Getenv("XDG_CONFIG_HOME"), "sn27", "release-dev.key"))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("dev key file: %v %v", st, err)
	}
}
