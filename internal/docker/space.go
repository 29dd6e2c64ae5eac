package docker

import (
	"context"
	"fmt"
	"os"
	"strconv"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"golang.org/x/sys/unix"
)

// Space is what the host's disks can still give rentals.
type Space struct {
	RootDir  string // the daemon's data root: writable layers live there
	RootFree int64  // bytes free there (for an unprivileged writer)
	DiskDir  string // the /data images' dir ("" without one)
	DiskFree int64
	SameFS   bool // RootDir and DiskDir are on one filesystem
	// Outstanding is what the rental containers on this daemon (any
	// owner) were promised for their writable layers (RootLimitLabel)
	// and have not written yet: free space already spoken for. /data
	// images are preallocated, so RootFree already counts them.
	Outstanding int64
	Rentals     int // containers counted in Outstanding
}

// Space measures the free space of the daemon's data root and the disk
// dir, and the writable-layer promises of the rental containers on the
// daemon (listing them with their sizes walks their layers).
func (c *Client) Space(ctx context.Context) (Space, error) {
	info, err := c.api.Info(ctx)
	if err != nil {
		return Space{}, fmt.Errorf("docker info: %w", err)
	}
	var sp Space
	sp.RootDir = info.DockerRootDir
	var rst unix.Statfs_t
	if err := unix.Statfs(sp.RootDir, &rst); err != nil {
		return Space{}, fmt.Errorf("statfs of docker's data root %s: %w", sp.RootDir, err)
	}
	sp.RootFree = int64(rst.Bavail) * rst.Bsize
	if dir, _ := c.settings(); dir != "" {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return Space{}, fmt.Errorf("disk dir: %w", err)
		}
		var dst unix.Statfs_t
		if err := unix.Statfs(dir, &dst); err != nil {
			return Space{}, fmt.Errorf("statfs of the disk dir %s: %w", dir, err)
		}
		sp.DiskDir, sp.DiskFree = dir, int64(dst.Bavail)*dst.Bsize
		var a, b unix.Stat_t
		if unix.Stat(sp.RootDir, &a) == nil && unix.Stat(dir, &b) == nil {
			sp.SameFS = a.Dev == b.Dev
		}
	}
	list, err := c.api.ContainerList(ctx, container.ListOptions{All: true, Size: true,
		Filters: filters.NewArgs(filters.Arg("label", RootLimitLabel))})
	if err != nil {
		return Space{}, fmt.Errorf("list rental containers: %w", err)
	}
	for _, ct := range list {
		limit, err := strconv.ParseInt(ct.Labels[RootLimitLabel], 10, 64)
		if err != nil || limit <= 0 {
			continue
		}
		sp.Rentals++
		if left := limit - ct.SizeRw; left > 0 {
			sp.Outstanding += left
		}
	}
	return sp, nil
}
