package miner_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/sn27/sn27/internal/allocation"
	"github.com/sn27/sn27/internal/docker"
	"github.com/sn27/sn27/internal/protocol"
)

// TestRentalDiskQuota writes into a rental's root filesystem as a renter
// would (over SSH), on a storage driver without quotas (overlay2 on ext4
// here): past 90 % of the limit the miner's checking answer says how full
// it is; past the limit the watch stops the container with reason
// disk_quota and the rental, its files and /data are kept; a restart by
// the renter gives a grace period in which freeing space keeps it
// running; writing past the limit again stops it again.
func TestRentalDiskQuota(t *testing.T) {
	e := newAllocEnv(t)
	info := e.dc.DiskLimit(context.Background())
	if info.RootFS {
		t.Logf("the storage driver enforces a root size here (%s): the watch only warns", info.RootFSDetail)
	}
	cfg := allocation.DefaultConfig()
	cfg.DataDir, cfg.SSHPort = e.dataDir, e.port
	cfg.DefaultCPUs, cfg.DefaultRAMBytes, cfg.DefaultDiskBytes = 1, 256<<20, 200<<20
	cfg.DiskCheck, cfg.DiskCheckNear, cfg.DiskGrace = 500*time.Millisecond, 200*time.Millisecond, 4*time.Second
	cfg.IsolationCheck = 0
	rm, m, stop := e.startWith(t, cfg, 0)
	defer stop()
	_, pubPEM := renterKey(t)
	key, pub := sshKey(t, "renter")
	out := allocate(t, rm, func(a *protocol.Allocate) {
		a.Checking, a.Timeline, a.PublicKey = false, 10, pubPEM
		a.DeviceRequirement = json.RawMessage(`{}`)
		a.DockerRequirement = json.RawMessage(`{"ssh_key":"` + pub + `"}`)
	})
	if out["status"] != true {
		t.Fatalf("allocate = %v", out)
	}
	t.Logf("allocation warnings: %v", out["warnings"])
	rec, _ := m.Active()
	if rec.RootLimit != 200<<20 {
		t.Fatalf("root limit %d; want the /data size, %d", rec.RootLimit, 200<<20)
	}
	if info.RootFS != rec.RootQuota {
		t.Errorf("record says quota %v; doctor's probe %v", rec.RootQuota, info.RootFS)
	}
	check := func() protocol.AllocationCheck {
		t.Helper()
		out := allocate(t, rm, func(a *protocol.Allocate) { a.Checking, a.Timeline, a.PublicKey = true, 0, pubPEM })
		b, _ := json.Marshal(out)
		var c protocol.AllocationCheck
		if err := json.Unmarshal(b, &c); err != nil {
			t.Fatal(err)
		}
		return c
	}
	ssh := func(cmd string) string {
		t.Helper()
		got, err := sshRun(key, rec.SSHPort, cmd)
		if err != nil {
			t.Fatalf("ssh %q: %v: %s", cmd, err, got)
		}
		return got
	}
	// waitFor polls the checking answer until cond holds.
	waitFor := func(what string, within time.Duration, cond func(protocol.AllocationCheck) bool) protocol.AllocationCheck {
		t.Helper()
		deadline := time.Now().Add(within)
		for {
			c := check()
			if cond(c) {
				return c
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: not within %v; last answer %+v", what, within, c)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	ssh("echo kept > /data/marker && echo kept > /root/marker && sync")

	// 92 % of the limit: a warning in the answer, still running.
	ssh("dd if=/dev/urandom of=/root/a bs=1M count=184 status=none && sync")
	c := waitFor("disk use reported at 90 %+", 10*time.Second, func(c protocol.AllocationCheck) bool {
		return c.DiskUsed >= 184<<20
	})
	if c.State != "running" || c.Reason != "" || c.DiskLimit != 200<<20 || float64(c.DiskUsed) < allocation.DiskWarnShare*float64(c.DiskLimit) {
		t.Errorf("check at 92 %% = %+v; want running, used >= 90 %% of a 200 MiB limit", c)
	}

	if rec.RootQuota {
		// The driver's quota: writing past the limit fails inside.
		if got, err := sshRun(key, rec.SSHPort, "dd if=/dev/zero of=/root/b bs=1M count=64 2>&1"); err == nil || !strings.Contains(got, "No space left") {
			t.Errorf("writing past a quota = %v: %s; want No space left on device", err, got)
		}
		return
	}

	// Past the limit: stopped with disk_quota within a few looks.
	wrote := time.Now()
	// The watch may stop it while dd still writes: the session then ends.
	_, _ = sshRun(key, rec.SSHPort, "dd if=/dev/zero of=/root/b bs=1M count=40 status=none && sync")
	c = waitFor("the rental stopped for disk_quota", 30*time.Second, func(c protocol.AllocationCheck) bool { return c.State == "exited" })
	t.Logf("stopped %v after the write that crossed the limit finished; answer %+v", time.Since(wrote).Round(time.Millisecond), c)
	if !c.Status || c.Reason != allocation.StopDiskQuota {
		t.Errorf("check after the stop = %+v; want held (status true), reason disk_quota", c)
	}
	if !m.Allocated() {
		t.Fatal("the rental ended; want it kept, stopped")
	}
	if got, _ := m.Active(); got.Stopped != allocation.StopDiskQuota || got.ContainerID != rec.ContainerID {
		t.Errorf("record %+v; want the same container, stopped for disk_quota", got)
	}

	// A restart through the renter's action: running again, files kept;
	// freeing space inside the grace keeps it running past the grace.
	restart := func() {
		t.Helper()
		out := allocate(t, rm, func(a *protocol.Allocate) {
			a.Checking, a.Timeline, a.PublicKey, a.DockerChange = false, 0, pubPEM, true
			a.DockerAction = json.RawMessage(`{"action":"restart","ssh_key":""}`)
		})
		if out["status"] != true {
			t.Fatalf("restart = %v", out)
		}
	}
	restart()
	waitFor("running after the restart", 30*time.Second, func(c protocol.AllocationCheck) bool { return c.State == "running" && c.Reason == "" })
	if got := ssh("cat /data/marker /root/marker"); got != "kept\nkept" {
		t.Errorf("files after the stop and restart = %q; want both markers", got)
	}
	time.Sleep(time.Second) // over the limit, inside the grace: not stopped
	if c := check(); c.State != "running" {
		t.Errorf("inside the grace = %+v; want running", c)
	}
	ssh("rm -f /root/a && sync")
	time.Sleep(cfg.DiskGrace + time.Second)
	if c := check(); c.State != "running" || c.DiskUsed >= c.DiskLimit {
		t.Errorf("after freeing space and the grace = %+v; want running, under the limit", c)
	}

	// Past it again, after the grace: stopped again.
	_, _ = sshRun(key, rec.SSHPort, "dd if=/dev/zero of=/root/c bs=1M count=200 status=none; sync")
	waitFor("stopped again", 30*time.Second, func(c protocol.AllocationCheck) bool {
		return c.State == "exited" && c.Reason == allocation.StopDiskQuota
	})

	// Restarted and not freed, the grace runs out: stopped again.
	restart()
	start := time.Now()
	waitFor("stopped when the grace ran out", 30*time.Second, func(c protocol.AllocationCheck) bool {
		return c.State == "exited" && c.Reason == allocation.StopDiskQuota
	})
	if el := time.Since(start); el < cfg.DiskGrace-time.Second {
		t.Errorf("stopped %v after the restart; want the %v grace first", el, cfg.DiskGrace)
	}

	// A miner restart keeps a disk_quota stop stopped...
	stop()
	rm, m, stop = e.startWith(t, cfg, 0)
	defer stop()
	if c := check(); c.State != "exited" || c.Reason != allocation.StopDiskQuota {
		t.Errorf("after a miner restart = %+v; want still stopped for disk_quota", c)
	}
	// ...but starts a container that stopped without the miner's say (a
	// start that failed after a reboot, a crash): free space, then stop it
	// from outside as such a failure would leave it.
	restart()
	ssh("rm -f /root/b /root/c && sync")
	if err := e.dc.Stop(context.Background(), rec.ContainerID, time.Second); err != nil {
		t.Fatal(err)
	}
	stop()
	rm, m, stop = e.startWith(t, cfg, 0)
	defer stop()
	waitFor("started again by the miner's reconcile", 30*time.Second, func(c protocol.AllocationCheck) bool { return c.State == "running" })
	var (
		got string
		err error
	)
	for end := time.Now().Add(30 * time.Second); time.Now().Before(end); time.Sleep(200 * time.Millisecond) {
		if got, err = sshRun(key, rec.SSHPort, "cat /data/marker"); err == nil {
			break
		}
	}
	if got != "kept" {
		t.Errorf("/data after the miner started the container again = %q, %v", got, err)
	}
}

// TestRentalRefusedWithoutDisk checks admission on the real daemon: with a
// reserve the size of the whole filesystem (so no other test's writes can
// make room meanwhile) a rental is refused with the figures, in the
// checking request and in the allocation, before any container is made.
// TestShortfall (internal/allocation) checks the arithmetic at its edges.
func TestRentalRefusedWithoutDisk(t *testing.T) {
	e := newAllocEnv(t)
	sp, err := e.dc.Space(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var st unix.Statfs_t
	if err := unix.Statfs(sp.RootDir, &st); err != nil {
		t.Fatal(err)
	}
	cfg := allocation.DefaultConfig()
	cfg.DataDir, cfg.SSHPort = e.dataDir, e.port
	cfg.DefaultDiskBytes = 200 << 20
	cfg.DiskReserveBytes = int64(st.Blocks) * st.Bsize
	rm, m, stop := e.startWith(t, cfg, 0)
	defer stop()
	_, pubPEM := renterKey(t)
	for _, checking := range []bool{true, false} {
		out := allocate(t, rm, func(a *protocol.Allocate) {
			a.Checking, a.Timeline, a.PublicKey = checking, 10, pubPEM
			a.DeviceRequirement = json.RawMessage(`{}`)
		})
		msg := fmt.Sprint(out["message"])
		if out["status"] != false || !strings.Contains(msg, "not enough disk") || !strings.Contains(msg, "kept for the host") {
			t.Errorf("allocate (checking %v) with the whole disk reserved = %v; want refused: not enough disk", checking, out)
		}
		t.Logf("refusal: %s", msg)
	}
	if m.Allocated() {
		t.Error("allocated without the disk")
	}
	cs, _ := e.dc.List(context.Background(), map[string]string{docker.OwnerLabel: e.dataDir})
	if len(cs) != 0 {
		t.Errorf("containers %v made for a refused rental", cs)
	}
}
