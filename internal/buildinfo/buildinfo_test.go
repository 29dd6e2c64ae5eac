package buildinfo

import (
	"runtime"
	"testing"
)

func TestRead(t *testing.T) {
	i := Read()
	if i.Version != "dev" || i.GoVersion != runtime.Version() || i.Platform != runtime.GOOS+"/"+runtime.GOARCH {
		t.Fatalf("unstamped build: %+v", i)
	}
	Version, Commit, Date = "v1.2.3", "abc", "2026-12-07T00:00:00Z"
	defer func() { Version, Commit, Date = "", "", "" }()
	if i := Read(); i.Version != "v1.2.3" || i.Commit != "abc" || i.Date != "2026-12-07T00:00:00Z" {
		t.Fatalf("stamped build: %+v", i)
	}
}
