package docker

import (
	"os"
	"path/filepath"
	"strings"

	"github.com/docker/docker/api/types/mount"
)

// DefaultLXCFSDir is where Debian's lxcfs package mounts its files.
const DefaultLXCFSDir = "/var/lib/lxcfs"

// lxcfsFiles are the files LXCFS computes from the reader's cgroup, so
// free, top, htop, nproc and /proc/meminfo readers in a rental see its
// limits rather than the host's: each is bound read-only over the
// container's own.
var lxcfsFiles = []string{
	"proc/cpuinfo", "proc/diskstats", "proc/loadavg", "proc/meminfo", "proc/stat", "proc/swaps", "proc/uptime",
	"sys/devices/system/cpu/online",
}

// SetLXCFS chooses the LXCFS directory Create binds files from: "" turns
// it off; DefaultLXCFSDir (what New sets) uses it when LXCFS is mounted
// there, and quietly does without otherwise.
func (c *Client) SetLXCFS(dir string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.lxcfs = dir
	c.lxcfsSet = true
}

// LXCFS reports the directory rentals get LXCFS files from, "" when LXCFS
// is off or not mounted.
func (c *Client) LXCFS() string { return c.lxcfsDir() }

func (c *Client) lxcfsDir() string {
	c.mu.Lock()
	dir, set := c.lxcfs, c.lxcfsSet
	c.mu.Unlock()
	if !set {
		dir = DefaultLXCFSDir
	}
	if dir == "" || !lxcfsMounted(dir) {
		return ""
	}
	return dir
}

// lxcfsMounted reports whether a FUSE filesystem of lxcfs is mounted on
// dir and answers (a dead lxcfs leaves the mount, but reads fail).
func lxcfsMounted(dir string) bool {
	mi, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return false
	}
	found := false
	for _, line := range strings.Split(string(mi), "\n") {
		f := strings.Fields(line)
		// ... mountpoint(4) ... " - " fstype
		for i, x := range f {
			if x == "-" && i+1 < len(f) && len(f) > 4 && unescapeOctal(f[4]) == dir && strings.HasPrefix(f[i+1], "fuse") {
				found = true
			}
		}
	}
	if !found {
		return false
	}
	_, err = os.ReadFile(filepath.Join(dir, "proc", "meminfo"))
	return err == nil
}

// lxcfsMounts binds dir's files read-only over the container's.
func lxcfsMounts(dir string) []mount.Mount {
	var out []mount.Mount
	for _, f := range lxcfsFiles {
		src := filepath.Join(dir, f)
		if _, err := os.Stat(src); err != nil {
			continue
		}
		out = append(out, mount.Mount{Type: mount.TypeBind, Source: src, Target: "/" + f, ReadOnly: true})
	}
	return out
}
