package docker

import (
	"context"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestLXCFSShowsLimits checks what a renter sees with LXCFS running (make
// test starts it): free and /proc/meminfo show the rental's memory limit,
// nproc and /proc/cpuinfo its CPUs; with LXCFS off they show the host's.
func TestLXCFSShowsLimits(t *testing.T) {
	c := newTestClient(t)
	if c.LXCFS() == "" {
		t.Skipf("LXCFS is not mounted at %s: make test starts it where FUSE works (not in an unprivileged container)", DefaultLXCFSDir)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	key, pub := keyPair(t, "lxcfs@test")
	const mem = 384 << 20
	start := func(client *Client) int {
		port := freePort(t)
		id, _, err := client.Create(ctx, ContainerSpec{Name: testName(t) + "-" + strconv.Itoa(port), Image: testImage,
			Labels: map[string]string{"io.sn27.test": "lxcfs"}, Resources: Resources{CPUs: 1, MemoryBytes: mem},
			SSHHostPort: port, AuthorizedKey: pub})
		if err != nil {
			t.Fatal(err)
		}
		removeLater(t, client, id)
		return port
	}
	memTotal := func(port int) int64 {
		out := sshWait(t, key, port, "awk '/^MemTotal:/ {print $2}' /proc/meminfo")
		kb, err := strconv.ParseInt(strings.TrimSpace(out), 10, 64)
		if err != nil {
			t.Fatalf("MemTotal %q: %v", out, err)
		}
		return kb << 10
	}
	on := start(c)
	if got := memTotal(on); got != mem {
		t.Errorf("with LXCFS /proc/meminfo MemTotal = %d; want the limit %d", got, mem)
	}
	free := sshWait(t, key, on, "free -b | awk '/^Mem:/ {print $2}'")
	if free != strconv.Itoa(mem) {
		t.Errorf("with LXCFS free says %s bytes; want %d", free, mem)
	}
	if got := sshWait(t, key, on, "grep -c ^processor /proc/cpuinfo"); got != "1" {
		t.Errorf("with LXCFS /proc/cpuinfo lists %s processors; want 1", got)
	}
	if got := sshWait(t, key, on, "if echo x >> /proc/meminfo 2>/dev/null; then echo writable; else echo read-only; fi"); got != "read-only" {
		t.Error("the LXCFS files are writable in the rental")
	}

	off := newTestClient(t)
	off.SetLXCFS("")
	host := memTotal(start(off))
	if host == mem {
		t.Errorf("without LXCFS MemTotal = %d, the limit; want the host's", host)
	}
	out, _ := exec.Command("awk", "/^MemTotal:/ {print $2}", "/proc/meminfo").Output()
	t.Logf("MemTotal with LXCFS %d, without %d (the host's: %s kB)", mem, host, strings.TrimSpace(string(out)))
}
