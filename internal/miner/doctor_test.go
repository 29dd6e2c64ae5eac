package miner

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sn27/sn27/internal/docker"
)

// fakeRentals answers the doctor's rental questions from fields.
type fakeRentals struct {
	disk      docker.DiskLimitReport
	isolation error
	lxcfs     string
}

func (f fakeRentals) LXCFS() string { return f.lxcfs }

func (f fakeRentals) DiskLimit(context.Context) docker.DiskLimitReport { return f.disk }
func (f fakeRentals) CheckIsolation(context.Context) error             { return f.isolation }

func TestRentalChecks(t *testing.T) {
	loop := docker.DiskLimitReport{Data: true, DataDetail: "probe ok", RootFSDetail: "overlay2 on extfs has no quota", Driver: "overlay2", Backing: "extfs"}
	tests := []struct {
		name             string
		probe            fakeRentals
		diskOK, isoOK    bool
		diskWant, isoFix string
	}{
		{"loop disk, isolated", fakeRentals{disk: loop}, true, true, "storage engine overlay2 on extfs: loop ext4 volume for /data; root filesystem watched", ""},
		{"storage-opt only", fakeRentals{disk: docker.DiskLimitReport{RootFS: true, DataDetail: "not root"}}, true, true, "storage engine : storage-opt size", ""},
		{"no limit", fakeRentals{disk: docker.DiskLimitReport{DataDetail: "not root", RootFSDetail: "no quota"}}, false, true, "storage engine : /data not limited; root filesystem watched", ""},
		{"rules missing", fakeRentals{disk: loop, isolation: fmt.Errorf("missing rule: %w", docker.ErrNotIsolated)}, true, false, "storage engine overlay2 on extfs: loop ext4", "start sn27 miner once"},
		{"iptables fails", fakeRentals{disk: loop, isolation: fmt.Errorf("iptables: permission denied")}, true, false, "storage engine overlay2 on extfs: loop ext4", "run as root"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := rentalChecks(context.Background(), tt.probe)
			if len(got) != 3 || got[0].Name != "rental disk limit" || got[1].Name != "rental network isolation" || got[2].Name != "rental view (lxcfs)" {
				t.Fatalf("checks %+v; want the disk limit, the isolation and the rental view", got)
			}
			if !got[2].OK || !strings.HasPrefix(got[2].Detail, "off: ") || got[2].Fix == "" {
				t.Errorf("lxcfs check without lxcfs %+v; want ok, off, with a fix", got[2])
			}
			disk, iso := got[0], got[1]
			if disk.OK != tt.diskOK || !strings.HasPrefix(disk.Detail, tt.diskWant) || (disk.Fix == "") != tt.diskOK {
				t.Errorf("disk check %+v; want ok %v, detail starting %q, a fix only when failing", disk, tt.diskOK, tt.diskWant)
			}
			if iso.OK != tt.isoOK || !strings.Contains(iso.Fix, tt.isoFix) || (iso.Fix == "") != tt.isoOK {
				t.Errorf("isolation check %+v; want ok %v, fix with %q", iso, tt.isoOK, tt.isoFix)
			}
		})
	}
}

// TestRentalChecksDocker asks the real daemon: as root with loop devices
// the /data disk limit applies, and the isolation check answers.
func TestRentalChecksDocker(t *testing.T) {
	if testing.Short() {
		t.Skip("needs dockerd; skipped with -short")
	}
	ctx := context.Background()
	dc, err := docker.New(ctx)
	if err != nil {
		t.Fatalf("docker: %v", err)
	}
	defer dc.Close()
	dc.SetDiskDir(filepath.Join(t.TempDir(), "volumes"))
	got := rentalChecks(ctx, dc)
	for _, ch := range got {
		t.Logf("%v %s: %s (fix: %s)", ch.OK, ch.Name, ch.Detail, ch.Fix)
	}
	if len(got) != 3 || got[1].Detail == "" {
		t.Fatalf("checks %+v", got)
	}
	if os.Geteuid() == 0 && (!got[0].OK || !strings.Contains(got[0].Detail, ": loop ext4 volume for /data")) {
		t.Errorf("disk check as root %+v; want the loop ext4 /data disk", got[0])
	}
}
