package docker

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/api/types/volume"
)

// RemoveOrphans removes what allocations other than keep left behind:
// every container labelled AllocationLabel=1 but keep, every volume with
// VolumeLabel that no container uses (keep's aside), and every disk image
// and mount in the disk dir whose volume is gone (unmounted first). With
// SetOwner only what carries this owner's label is considered. keep is the
// ID or name of the allocation to keep; "", or a container the daemon no
// longer has, keeps none. Run it where no Create is under way (a volume is
// unused for a moment before its container is made). removed lists what
// went, as "container NAME", "volume NAME" and "disk PATH".
func (c *Client) RemoveOrphans(ctx context.Context, keep string) (removed []string, err error) {
	dir, owner := c.settings()
	keepID, keepVols := "", map[string]bool{}
	if keep != "" {
		in, err := c.api.ContainerInspect(ctx, keep)
		switch {
		case cerrdefs.IsNotFound(err):
		case err != nil:
			return nil, fmt.Errorf("remove orphans: inspect kept container %s: %w", keep, err)
		default:
			keepID = in.ID
			for _, m := range in.Mounts {
				if m.Type == mount.TypeVolume && m.Name != "" {
					keepVols[m.Name] = true
				}
			}
		}
	}
	var errs []error

	f := filters.NewArgs(filters.Arg("label", AllocationLabel+"=1"))
	if owner != "" {
		f.Add("label", OwnerLabel+"="+owner)
	}
	list, err := c.api.ContainerList(ctx, container.ListOptions{All: true, Filters: f})
	if err != nil {
		return nil, fmt.Errorf("remove orphans: list containers: %w", err)
	}
	for _, ct := range list {
		if ct.ID == keepID {
			continue
		}
		name := ct.ID
		if len(ct.Names) > 0 {
			name = strings.TrimPrefix(ct.Names[0], "/")
		}
		if err := c.Remove(ctx, ct.ID); err != nil && !errors.Is(err, ErrNotFound) {
			errs = append(errs, fmt.Errorf("remove orphan: %w", err))
			continue
		}
		removed = append(removed, "container "+name)
	}

	f = filters.NewArgs(filters.Arg("label", VolumeLabel), filters.Arg("dangling", "true"))
	if owner != "" {
		f.Add("label", OwnerLabel+"="+owner)
	}
	vols, err := c.api.VolumeList(ctx, volume.ListOptions{Filters: f})
	if err != nil {
		return removed, errors.Join(append(errs, fmt.Errorf("remove orphans: list volumes: %w", err))...)
	}
	for _, v := range vols.Volumes {
		if v == nil || keepVols[v.Name] {
			continue
		}
		if err := c.api.VolumeRemove(ctx, v.Name, false); err != nil && !cerrdefs.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("remove orphan volume %s: %w", v.Name, err))
			continue
		}
		removed = append(removed, "volume "+v.Name)
		if err := removeVolumeDisk(ctx, *v); err != nil {
			errs = append(errs, err)
		}
	}

	if dir != "" {
		gone, err := c.removeOrphanDisks(ctx, dir, keepVols)
		removed = append(removed, gone...)
		if err != nil {
			errs = append(errs, err)
		}
	}
	return removed, errors.Join(errs...)
}

// removeOrphanDisks tears down the disks in dir whose volume is neither
// kept nor still on the daemon.
func (c *Client) removeOrphanDisks(ctx context.Context, dir string, keep map[string]bool) (removed []string, err error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("remove orphan disks: %w", err)
	}
	if dir, err = realDir(dir); err != nil {
		return nil, fmt.Errorf("remove orphan disks: %w", err)
	}
	seen := map[string]bool{}
	var errs []error
	for _, e := range entries {
		vol := e.Name()
		if e.Type().IsRegular() && strings.HasSuffix(vol, ".img") {
			vol = strings.TrimSuffix(vol, ".img")
		} else if !e.IsDir() {
			continue
		}
		if !validName.MatchString(vol) || seen[vol] || keep[vol] {
			continue
		}
		seen[vol] = true
		exists, err := c.volumeExists(ctx, vol)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if exists {
			continue // in use by a container RemoveOrphans does not own
		}
		d := diskFor(dir, vol)
		if err := d.teardown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("remove orphan disk %s: %w", vol, err))
			continue
		}
		removed = append(removed, "disk "+d.image)
	}
	return removed, errors.Join(errs...)
}
