// Package release is what a release says of itself: the manifest `make
// release` writes beside its files (and signs), which `sn27 update` reads
// to find, check and install a newer build, and the version order both use.
package release

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ManifestName is the manifest's file name in a release directory or
// under an update URL; its minisign signature is ManifestName + ".minisig".
const ManifestName = "manifest.json"

// MaxManifest bounds a manifest read from the network.
const MaxManifest = 1 << 20

// Kinds of artifact.
const (
	KindBinary  = "binary"  // the bare sn27 executable (what sn27 update installs)
	KindTarball = "tar.gz"  // sn27 with the README, docs, systemd units and configs
	KindDeb     = "deb"     // the Debian package
	KindSpec    = "openapi" // the renter API's OpenAPI document
)

// Manifest describes one release.
type Manifest struct {
	Version   string     `json:"version"` // "v1.2.3"
	Channel   string     `json:"channel"` // "stable", "beta"
	Commit    string     `json:"commit"`
	Date      time.Time  `json:"date"` // the commit's time
	Artifacts []Artifact `json:"artifacts"`
}

// Artifact is one file of the release.
type Artifact struct {
	Name   string `json:"name"` // file name, relative to the manifest
	Kind   string `json:"kind"`
	OS     string `json:"os,omitempty"`
	Arch   string `json:"arch,omitempty"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"` // lowercase hex
}

// ParseManifest reads and checks a manifest.
func ParseManifest(b []byte) (Manifest, error) {
	var m Manifest
	if len(b) > MaxManifest {
		return m, fmt.Errorf("manifest: %d bytes, at most %d", len(b), MaxManifest)
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return m, fmt.Errorf("manifest: %w", err)
	}
	if _, err := ParseVersion(m.Version); err != nil {
		return m, fmt.Errorf("manifest: %w", err)
	}
	if m.Channel == "" {
		return m, errors.New("manifest: no channel")
	}
	for _, a := range m.Artifacts {
		if a.Name == "" || strings.ContainsAny(a.Name, "/\\") || a.Name == "." || a.Name == ".." {
			return m, fmt.Errorf("manifest: artifact name %q", a.Name)
		}
		if len(a.SHA256) != 64 || strings.Trim(a.SHA256, "0123456789abcdef") != "" {
			return m, fmt.Errorf("manifest: %s: sha256 %q", a.Name, a.SHA256)
		}
		if a.Size <= 0 || a.Size > 1<<32 {
			return m, fmt.Errorf("manifest: %s: size %d", a.Name, a.Size)
		}
	}
	return m, nil
}

// Find returns the artifact of kind for goos/goarch.
func (m Manifest) Find(kind, goos, goarch string) (Artifact, bool) {
	for _, a := range m.Artifacts {
		if a.Kind == kind && a.OS == goos && a.Arch == goarch {
			return a, true
		}
	}
	return Artifact{}, false
}

// Version is a parsed "vMAJOR.MINOR.PATCH[-PRERELEASE]".
type Version struct {
	Major, Minor, Patch int
	Pre                 string
}

// ParseVersion parses s ("v1.2.3", "v1.2.3-rc.1"; the v is required).
func ParseVersion(s string) (Version, error) {
	var v Version
	rest, ok := strings.CutPrefix(s, "v")
	if !ok {
		return v, fmt.Errorf("version %q: want vMAJOR.MINOR.PATCH", s)
	}
	rest, v.Pre, _ = strings.Cut(rest, "-")
	parts := strings.Split(rest, ".")
	if len(parts) != 3 {
		return v, fmt.Errorf("version %q: want vMAJOR.MINOR.PATCH", s)
	}
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 || n > 1<<20 || (len(p) > 1 && p[0] == '0') {
			return v, fmt.Errorf("version %q: part %q", s, p)
		}
		*[]*int{&v.Major, &v.Minor, &v.Patch}[i] = n
	}
	return v, nil
}

// Compare orders versions: -1, 0 or 1. A pre-release sorts before its
// release; pre-releases compare as strings.
func (v Version) Compare(w Version) int {
	for _, d := range [][2]int{{v.Major, w.Major}, {v.Minor, w.Minor}, {v.Patch, w.Patch}} {
		if d[0] != d[1] {
			if d[0] < d[1] {
				return -1
			}
			return 1
		}
	}
	switch {
	case v.Pre == w.Pre:
		return 0
	case v.Pre == "":
		return 1
	case w.Pre == "":
		return -1
	case v.Pre < w.Pre:
		return -1
	}
	return 1
}

func (v Version) String() string {
	s := fmt.Sprintf("v%d.%d.%d", v.Major, v.Minor, v.Patch)
	if v.Pre != "" {
		s += "-" + v.Pre
	}
	return s
}
