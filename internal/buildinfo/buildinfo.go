// Package buildinfo says which sn27 this is: the version `make` stamps in
// with -ldflags -X, else what the Go toolchain recorded of the checkout
// (commit, its time, uncommitted changes), and the Go version.
package buildinfo

import (
	"runtime"
	"runtime/debug"
)

// Set by the linker: go build -ldflags "-X github.com/sn27/sn27/internal/buildinfo.Version=v1.2.3 ...".
var (
	Version = "" // "" : a development build ("dev")
	Commit  = ""
	Date    = "" // RFC 3339
)

// Info is this build.
type Info struct {
	Version   string `json:"version"`
	Commit    string `json:"commit"`
	Date      string `json:"date"`
	Modified  bool   `json:"modified"` // built from a tree with uncommitted changes
	GoVersion string `json:"go_version"`
	Platform  string `json:"platform"` // GOOS/GOARCH
}

// Read returns this build's Info.
func Read() Info {
	i := Info{Version: Version, Commit: Commit, Date: Date, GoVersion: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				if i.Commit == "" {
					i.Commit = s.Value
				}
			case "vcs.time":
				if i.Date == "" {
					i.Date = s.Value
				}
			case "vcs.modified":
				i.Modified = s.Value == "true"
			}
		}
	}
	if i.Version == "" {
		i.Version = "dev"
	}
	return i
}
