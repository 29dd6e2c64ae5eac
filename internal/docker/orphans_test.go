package docker

import (
	"context"
	"errors"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/docker/docker/api/types/volume"
)

// TestRemoveOrphans makes the allocation to keep, one "forgotten" (its
// container, volume and disk left behind), a volume and a disk image with
// no container, and another owner's allocation; RemoveOrphans(kept) takes
// exactly the forgotten ones, and RemoveOrphans("") the kept one too.
func TestRemoveOrphans(t *testing.T) {
	needRootLoop(t)
	c := newTestClient(t)
	dir := diskDir(t)
	c.SetDiskDir(dir)
	owner := testName(t) // no other test's allocations are touched
	c.SetOwner(owner)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	_, pub := keyPair(t, "orphan@test")
	alloc := func(c *Client, name string) string {
		t.Helper()
		id, _, err := c.Create(ctx, ContainerSpec{
			Name: name, Image: testImage, Labels: map[string]string{AllocationLabel: "1"},
			Resources:   Resources{DiskBytes: 32 << 20},
			SSHHostPort: freePort(t), Volume: name, AuthorizedKey: pub,
		})
		if err != nil {
			t.Fatal(err)
		}
		removeLater(t, c, id)
		return id
	}
	base := testName(t)
	keep := alloc(c, base+"-keep")
	forgotten := alloc(c, base+"-forgotten")
	other := newTestClient(t)
	other.SetOwner(owner + "-other")
	otherID := alloc(other, base+"-other-owner")
	// A volume whose container is gone, and a disk whose volume is gone.
	if _, err := c.api.VolumeCreate(ctx, volume.CreateOptions{Name: base + "-dangling", Labels: map[string]string{VolumeLabel: "x", OwnerLabel: owner}}); err != nil {
		t.Fatal(err)
	}
	if _, err := makeDisk(ctx, dir, base+"-lost", MinDiskBytes); err != nil {
		t.Fatal(err)
	}

	removed, err := c.RemoveOrphans(ctx, keep)
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(removed)
	want := []string{"container " + base + "-forgotten", "disk " + diskFor(mustReal(t, dir), base+"-lost").image, "volume " + base + "-dangling"}
	if !slices.Equal(removed, want) {
		t.Errorf("RemoveOrphans(kept) removed %q; want %q", removed, want)
	}
	if _, err := c.Inspect(ctx, forgotten); !errors.Is(err, ErrNotFound) {
		t.Errorf("forgotten container: %v; want ErrNotFound", err)
	}
	for _, vol := range []string{base + "-forgotten", base + "-dangling"} {
		if ok, err := c.volumeExists(ctx, vol); ok || err != nil {
			t.Errorf("volume %s exists = %v, %v; want gone", vol, ok, err)
		}
	}
	assertNoDisk(t, mustReal(t, dir), base+"-forgotten")
	assertNoDisk(t, mustReal(t, dir), base+"-lost")
	if st, err := c.Inspect(ctx, keep); err != nil || st.State != "running" {
		t.Errorf("kept container: %+v, %v; want running", st, err)
	}
	if ok, err := isMounted(diskFor(mustReal(t, dir), base+"-keep").mount); !ok || err != nil {
		t.Errorf("kept disk mounted = %v, %v; want mounted", ok, err)
	}
	if _, err := c.Inspect(ctx, otherID); err != nil {
		t.Errorf("another owner's container: %v; want kept", err)
	}

	removed, err = c.RemoveOrphans(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(removed) != 1 || removed[0] != "container "+base+"-keep" {
		t.Errorf("RemoveOrphans(\"\") removed %q; want the kept container only", removed)
	}
	assertNoDisk(t, mustReal(t, dir), base+"-keep")
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("disk dir holds %v", entries)
	}
	if _, err := c.Inspect(ctx, otherID); err != nil {
		t.Errorf("another owner's container: %v; want kept", err)
	}
	if removed, err := c.RemoveOrphans(ctx, "no-such-container"); err != nil || len(removed) != 0 {
		t.Errorf("RemoveOrphans with nothing left = %q, %v", removed, err)
	}
}

func mustReal(t *testing.T, dir string) string {
	t.Helper()
	d, err := realDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	return d
}
