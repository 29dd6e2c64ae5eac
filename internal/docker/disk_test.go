package docker

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"golang.org/x/sys/unix"
)

// needRootLoop skips unless the test can mount loop images.
func needRootLoop(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("mounts loop images (skipped with -short)")
	}
	if os.Geteuid() != 0 {
		t.Skip("mounting a loop image needs root")
	}
	if !hasCapSysAdmin() {
		t.Skip("mounting needs CAP_SYS_ADMIN, which an unprivileged container lacks")
	}
	if _, err := os.Stat("/dev/loop-control"); err != nil {
		t.Fatalf("no loop devices (/dev/loop-control: %v): modprobe loop", err)
	}
}

// hasCapSysAdmin reports whether this process has CAP_SYS_ADMIN (bit 21 of
// CapEff in /proc/self/status).
func hasCapSysAdmin() bool {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return false
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "CapEff:"); ok {
			caps, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
			return err == nil && caps&(1<<21) != 0
		}
	}
	return false
}

// diskDir makes a disk dir the test removes, with whatever is mounted in it.
func diskDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	t.Cleanup(func() {
		info, _ := os.ReadFile("/proc/self/mountinfo")
		for _, l := range strings.Split(string(info), "\n") {
			if f := strings.Fields(l); len(f) > 4 && strings.HasPrefix(f[4], dir+"/") {
				t.Errorf("%s still mounted at the end of the test", f[4])
				_ = unix.Unmount(f[4], unix.MNT_DETACH)
			}
		}
		_ = filepath.WalkDir(dir, func(p string, e os.DirEntry, err error) error {
			switch {
			case err != nil:
			case e.IsDir():
				_ = setImmutable(p, false)
			case strings.HasSuffix(p, ".img"):
				_ = detachLoops(p)
			}
			return nil
		})
	})
	return dir
}

// assertNoDisk checks that vol's image, mount dir, mount and loop device
// are gone.
func assertNoDisk(t *testing.T, dir, vol string) {
	t.Helper()
	d := diskFor(dir, vol)
	if ok, err := isMounted(d.mount); ok || err != nil {
		t.Errorf("%s mounted = %v, %v; want not", d.mount, ok, err)
	}
	for _, p := range []string{d.image, d.mount} {
		if _, err := os.Lstat(p); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s left behind (%v)", p, err)
		}
	}
	files, _ := filepath.Glob("/sys/block/loop*/loop/backing_file")
	for _, f := range files {
		if b, _ := os.ReadFile(f); strings.HasPrefix(strings.TrimSpace(string(b)), d.image) {
			t.Errorf("%s still backs %s", d.image, f)
		}
	}
}

// TestMkfsSizes makes disks of several sizes and checks that the
// filesystem shows within 3% of the size asked, never more.
func TestMkfsSizes(t *testing.T) {
	needRootLoop(t)
	dir := diskDir(t)
	ctx := context.Background()
	for _, size := range []int64{MinDiskBytes, 200 << 20, 1 << 30, 10 << 30, 100 << 30} {
		t.Run(strconv.FormatInt(size>>20, 10)+"MiB", func(t *testing.T) {
			var free unix.Statfs_t
			if err := unix.Statfs(dir, &free); err != nil || int64(free.Bavail)*free.Bsize < size {
				t.Skipf("not %d MiB free in %s", size>>20, dir)
			}
			vol := "sn27-alloc-" + strconv.FormatInt(size, 16)
			start := time.Now()
			d, err := makeDisk(ctx, dir, vol, size)
			took := time.Since(start)
			if err != nil {
				t.Fatal(err)
			}
			defer func() {
				if err := d.teardown(ctx); err != nil {
					t.Error(err)
				}
				assertNoDisk(t, dir, vol)
			}()
			var st unix.Statfs_t
			if err := unix.Statfs(d.mount, &st); err != nil {
				t.Fatal(err)
			}
			got, avail := int64(st.Blocks)*st.Bsize, int64(st.Bavail)*st.Bsize
			t.Logf("asked %d MiB: df size %d (%.2f%%), avail %d (%.2f%%), %d inodes, made and mounted in %s",
				size>>20, got, 100*float64(got)/float64(size), avail, 100*float64(avail)/float64(size), st.Files, took.Round(time.Millisecond))
			if got > size || got < size*97/100 {
				t.Errorf("df size %d; want within 3%% below %d", got, size)
			}
			var fi syscall.Stat_t
			if err := syscall.Stat(d.image, &fi); err != nil {
				t.Fatal(err)
			}
			if fi.Size != size || fi.Mode&0o777 != 0o600 {
				t.Errorf("image size %d mode %o; want %d 600", fi.Size, fi.Mode&0o777, size)
			}
			if alloc := fi.Blocks * 512; alloc < size {
				t.Errorf("image allocates %d bytes on the host; want all %d preallocated (no overcommit)", alloc, size)
			}
		})
	}
}

// TestMakeDiskUndo checks that makeDisk, failing after it made the image,
// deletes the image and leaves what it did not make.
func TestMakeDiskUndo(t *testing.T) {
	needRootLoop(t)
	dir := diskDir(t)
	ctx := context.Background()
	vol := "sn27-alloc-undo"
	if err := os.Mkdir(filepath.Join(dir, vol), 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := makeDisk(ctx, dir, vol, MinDiskBytes); !errors.Is(err, ErrExists) {
		t.Fatalf("makeDisk over an existing mount dir = %v; want ErrExists", err)
	}
	if _, err := os.Stat(filepath.Join(dir, vol+".img")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("image left behind: %v", err)
	}
	if fi, err := os.Stat(filepath.Join(dir, vol)); err != nil || !fi.IsDir() {
		t.Errorf("the existing directory was removed: %v", err)
	}
	if _, err := makeDisk(ctx, dir, vol+"-big", 1<<60); err == nil || !strings.Contains(err.Error(), "free") {
		t.Errorf("makeDisk(1 EiB) = %v; want not enough free", err)
	}
}

// TestDataDisk checks a /data disk end to end: df in the container shows
// the size rented, writing past it fails with ENOSPC, the volume is a bind
// of the mounted image, and Remove takes it all away.
func TestDataDisk(t *testing.T) {
	needRootLoop(t)
	c := newTestClient(t)
	dir := filepath.Join(diskDir(t), "volumes") // Create makes it
	c.SetDiskDir(dir)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	key, pub := keyPair(t, "disk@test")
	port := freePort(t)
	name := testName(t)
	const size = 200 << 20
	spec := ContainerSpec{
		Name: name, Image: testImage, Labels: map[string]string{"io.sn27.test": "disk"},
		Resources:   Resources{CPUs: 1, MemoryBytes: 256 << 20, DiskBytes: size},
		SSHHostPort: port, Volume: name + "-data", AuthorizedKey: pub,
	}
	start := time.Now()
	id, warnings, err := c.Create(ctx, spec)
	withDisk := time.Since(start)
	if err != nil {
		t.Fatal(err)
	}
	removeLater(t, c, id)
	t.Logf("warnings: %q", warnings)

	// The same Create without a disk dir, for the time the disk adds.
	plain := newTestClient(t)
	pname := testName(t) + "-plain"
	start = time.Now()
	pid, _, err := plain.Create(ctx, ContainerSpec{Name: pname, Image: testImage, Resources: spec.Resources, SSHHostPort: freePort(t), Volume: pname + "-data", AuthorizedKey: pub})
	without := time.Since(start)
	if err != nil {
		t.Fatal(err)
	}
	removeLater(t, plain, pid)
	t.Logf("Create took %s with a %d MiB disk, %s with a plain volume", withDisk.Round(time.Millisecond), size>>20, without.Round(time.Millisecond))

	d := diskFor(dir, spec.Volume)
	v, err := c.api.VolumeInspect(ctx, spec.Volume)
	if err != nil {
		t.Fatal(err)
	}
	if v.Driver != "local" || v.Options["type"] != "none" || v.Options["o"] != "bind" || v.Options["device"] != d.mount ||
		v.Labels[DiskImageLabel] != d.image || v.Labels[VolumeLabel] != name {
		t.Errorf("volume %+v; want a local bind of %s labelled with %s", v, d.mount, d.image)
	}
	info, _ := os.ReadFile("/proc/self/mountinfo")
	var line string
	for _, l := range strings.Split(string(info), "\n") {
		if f := strings.Fields(l); len(f) > 5 && f[4] == d.mount {
			line = l
		}
	}
	if !strings.Contains(line, "nodev") || !strings.Contains(line, "nosuid") || !strings.Contains(line, " ext4 /dev/loop") {
		t.Errorf("mountinfo of %s = %q; want an ext4 loop mount, nodev, nosuid", d.mount, line)
	}
	if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("disk dir mode %v, %v; want 0700", fi.Mode(), err)
	}

	// What Create checks after the start: the container's /data is the
	// disk; a container with a plain volume fails the same check.
	for _, tc := range []struct {
		id   string
		want bool
	}{{id, true}, {pid, false}} {
		in, err := c.api.ContainerInspect(ctx, tc.id)
		if err != nil {
			t.Fatal(err)
		}
		if err := d.checkMountedIn(in.State.Pid); (err == nil) != tc.want {
			t.Errorf("checkMountedIn(%s) = %v; want ok %v", in.Name, err, tc.want)
		}
	}

	sshWait(t, key, port, "true")
	out, err := sshRun(ctx, key, port, "df -B1 --output=size,avail,fstype /data | tail -1; ls -a /data; touch /data/root-can-write && echo ok")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("in the container: %q", out)
	f := strings.Fields(out)
	if len(f) < 3 {
		t.Fatalf("df output %q", out)
	}
	got, _ := strconv.ParseInt(f[0], 10, 64)
	if got > size || got < size*97/100 || f[2] != "ext4" || !strings.Contains(out, "lost+found") || !strings.HasSuffix(out, "ok") {
		t.Errorf("df size %d of %s in the container; want within 3%% below %d, ext4, writable", got, f[2], size)
	}
	// Past the size: ENOSPC in the container, and no more than the size on
	// the host.
	out, err = sshRun(ctx, key, port, "dd if=/dev/zero of=/data/fill bs=1M count=300 conv=fsync 2>&1; echo rc=$?")
	if !strings.Contains(out, "No space left on device") || strings.Contains(out, "rc=0") {
		t.Errorf("writing 300 MiB into a %d MiB disk: %q, %v; want ENOSPC", size>>20, out, err)
	}
	var st syscall.Stat_t
	if err := syscall.Stat(d.image, &st); err != nil {
		t.Fatal(err)
	}
	// Preallocated: all of it, and no more than an extent tree block or
	// two beside it.
	if st.Size != size || st.Blocks*512 < size || st.Blocks*512 > size+64<<10 {
		t.Errorf("image: size %d, %d bytes allocated; want %d, all preallocated", st.Size, st.Blocks*512, size)
	}

	if err := c.Remove(ctx, id); err != nil {
		t.Fatal(err)
	}
	if _, err := c.api.VolumeInspect(ctx, spec.Volume); err == nil {
		t.Errorf("volume %s survived Remove", spec.Volume)
	}
	assertNoDisk(t, dir, spec.Volume)
}

// TestDataDiskRefusedAndUndone checks that too small a disk is refused and
// that a Create that fails after the disk was made unmounts and deletes it.
func TestDataDiskRefusedAndUndone(t *testing.T) {
	needRootLoop(t)
	c := newTestClient(t)
	dir := diskDir(t)
	c.SetDiskDir(dir)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, pub := keyPair(t, "x@test")
	name := testName(t)

	_, _, err := c.Create(ctx, ContainerSpec{Name: name, Image: testImage, Resources: Resources{DiskBytes: 8 << 20}, SSHHostPort: freePort(t), Volume: name + "-data", AuthorizedKey: pub})
	if err == nil || !strings.Contains(err.Error(), "minimum") {
		t.Errorf("Create(8 MiB disk) = %v; want the minimum refused", err)
	}
	if _, err := c.Inspect(ctx, name); !errors.Is(err, ErrNotFound) {
		t.Errorf("Inspect(%s) = %v; want ErrNotFound", name, err)
	}

	// The port is taken: the container cannot start, after the disk and
	// the volume were made.
	l, err := net.Listen("tcp", ":0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	_, _, err = c.Create(ctx, ContainerSpec{Name: name, Image: testImage, Resources: Resources{DiskBytes: 64 << 20}, SSHHostPort: l.Addr().(*net.TCPAddr).Port, Volume: name + "-data", AuthorizedKey: pub})
	if err == nil {
		t.Fatal("Create on a taken port succeeded")
	}
	t.Logf("Create: %v", err)
	if _, err := c.Inspect(ctx, name); !errors.Is(err, ErrNotFound) {
		t.Errorf("Inspect(%s) = %v; want ErrNotFound", name, err)
	}
	if _, err := c.api.VolumeInspect(ctx, name+"-data"); err == nil {
		t.Errorf("volume %s-data left behind", name)
	}
	assertNoDisk(t, dir, name+"-data")
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("disk dir holds %v after the failed Create", entries)
	}

	// An image of that name already there: refused, and left alone.
	squatter := filepath.Join(dir, name+"-data.img")
	if err := os.WriteFile(squatter, []byte("not sn27's"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, _, err = c.Create(ctx, ContainerSpec{Name: name, Image: testImage, Resources: Resources{DiskBytes: 64 << 20}, SSHHostPort: freePort(t), Volume: name + "-data", AuthorizedKey: pub})
	if !errors.Is(err, ErrExists) {
		t.Errorf("Create over an existing image = %v; want ErrExists", err)
	}
	if b, err := os.ReadFile(squatter); err != nil || string(b) != "not sn27's" {
		t.Errorf("the existing image was touched: %q, %v", b, err)
	}
	if _, err := c.Inspect(ctx, name); !errors.Is(err, ErrNotFound) {
		t.Errorf("Inspect(%s) = %v; want ErrNotFound", name, err)
	}
	if _, err := c.api.VolumeInspect(ctx, name+"-data"); err == nil {
		t.Errorf("volume %s-data left behind", name)
	}

	for _, vol := range []string{"../escape", "a/b", ".hidden", "x"} {
		if _, _, err := c.Create(ctx, ContainerSpec{Name: name, Image: testImage, Resources: Resources{DiskBytes: 64 << 20}, SSHHostPort: 2222, Volume: vol, AuthorizedKey: pub}); err == nil || !strings.Contains(err.Error(), "volume name") {
			t.Errorf("Create(volume %q) = %v; want a bad volume name", vol, err)
		}
	}
}

// TestDiskLimit checks the doctor's probe on this machine: root with loop
// devices makes the /data disk.
func TestDiskLimit(t *testing.T) {
	needRootLoop(t)
	c := newTestClient(t)
	ctx := context.Background()
	if r := c.DiskLimit(ctx); r.Data || r.DataDetail == "" {
		t.Errorf("DiskLimit without a disk dir = %+v; want no /data disk, and why", r)
	}
	dir := diskDir(t)
	c.SetDiskDir(dir)
	r := c.DiskLimit(ctx)
	t.Logf("%s\n/data: %v %s\nroot: %v %s", r.Method(), r.Data, r.DataDetail, r.RootFS, r.RootFSDetail)
	if !r.Data || !strings.HasPrefix(r.Method(), "loop ext4 volume for /data") {
		t.Errorf("DiskLimit = %+v; want the loop ext4 /data disk", r)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("the probe left %v in the disk dir", entries)
	}
	in, err := c.api.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if ok, _ := storageOptSupported(in); !ok && r.RootFS {
		t.Errorf("RootFS = true on %s", in.Driver)
	}
}

// TestRemountDisks plays a host reboot: the disk is unmounted while the
// container is stopped, the container starts on the bare mount dir (which
// takes no writes), and RemountDisks mounts the image again and restarts
// the container, whose /data then holds what was written before.
func TestRemountDisks(t *testing.T) {
	needRootLoop(t)
	c := newTestClient(t)
	dir := diskDir(t)
	c.SetDiskDir(dir)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	_, pub := keyPair(t, "x@test")
	name := testName(t)
	id, _, err := c.Create(ctx, ContainerSpec{Name: name, Image: testImage, Resources: Resources{DiskBytes: 32 << 20}, SSHHostPort: freePort(t), Volume: name + "-data", AuthorizedKey: pub})
	if err != nil {
		t.Fatal(err)
	}
	removeLater(t, c, id)
	run := func(argv ...string) execResult {
		t.Helper()
		res, err := c.exec(ctx, id, argv, nil)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	if res := run("sh", "-c", "echo kept >/data/file && sync"); res.ExitCode != 0 {
		t.Fatalf("write /data/file: %s", res.Stderr)
	}
	timeout := 2
	if err := c.api.ContainerStop(ctx, id, container.StopOptions{Timeout: &timeout}); err != nil {
		t.Fatal(err)
	}
	d := diskFor(dir, name+"-data")
	if err := unmount(d.mount); err != nil {
		t.Fatal(err)
	}
	waitNoLoop(t, d.image)
	if err := c.api.ContainerStart(ctx, id, container.StartOptions{}); err != nil {
		t.Fatal(err)
	}
	if res := run("sh", "-c", "touch /data/leak"); res.ExitCode == 0 {
		t.Error("the unmounted disk's directory took a write; it would land on the host's disk")
	} else {
		t.Logf("write to the bare mount dir refused: %s", strings.TrimSpace(string(res.Stderr)))
	}

	restarted, err := c.RemountDisks(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(restarted) != 1 || restarted[0] != id {
		t.Errorf("RemountDisks restarted %v; want [%s]", restarted, id)
	}
	if res := run("cat", "/data/file"); strings.TrimSpace(string(res.Stdout)) != "kept" {
		t.Errorf("/data/file after RemountDisks = %q %q; want kept", res.Stdout, res.Stderr)
	}
	if again, err := c.RemountDisks(ctx); err != nil || len(again) != 0 {
		t.Errorf("second RemountDisks = %v, %v; want nothing to do", again, err)
	}
}

// waitNoLoop waits until no loop device is backed by image (autoclear runs
// when the last user goes).
func waitNoLoop(t *testing.T, image string) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; {
		busy := false
		files, _ := filepath.Glob("/sys/block/loop*/loop/backing_file")
		for _, f := range files {
			if b, _ := os.ReadFile(f); strings.HasPrefix(strings.TrimSpace(string(b)), image) {
				busy = true
			}
		}
		if !busy {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("a loop device still backs %s", image)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestMountinfoUnescape(t *testing.T) {
	info := []byte("36 35 98:0 / /mnt/with\\040space rw,noatime master:1 - ext4 /dev/loop1 rw\n" +
		"37 35 98:0 / /plain rw - ext4 /dev/loop2 rw\n")
	tests := []struct {
		dir  string
		want bool
	}{
		{"/mnt/with space", true},
		{"/plain", true},
		{"/mnt/with\\040space", false},
		{"/other", false},
	}
	for _, tt := range tests {
		t.Run(tt.dir, func(t *testing.T) {
			if got := mountedIn(info, tt.dir); got != tt.want {
				t.Errorf("mountedIn(%q) = %v; want %v", tt.dir, got, tt.want)
			}
		})
	}
}

// TestRootFilesystemLimit checks the root filesystem's limit on the
// daemon's storage engine: where the driver takes storage-opt size
// (overlay2 on xfs with pquota: make fresh-check runs this on such a
// daemon too) the container carries the quota and a write past it fails
// with ENOSPC inside; elsewhere Create says the limit is watched, the
// container carries only the RootLimitLabel, and WritableBytes measures
// what the renter wrote.
func TestRootFilesystemLimit(t *testing.T) {
	c := newTestClient(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	info, err := c.api.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	quota, why := storageOptSupported(info)
	key, pub := keyPair(t, "root@test")
	port := freePort(t)
	const limit = 128 << 20
	id, warnings, err := c.Create(ctx, ContainerSpec{Name: testName(t), Image: testImage, Labels: map[string]string{"io.sn27.test": "rootfs"},
		Resources: Resources{CPUs: 1, MemoryBytes: 256 << 20, RootBytes: limit}, SSHHostPort: port, AuthorizedKey: pub})
	if err != nil {
		t.Fatal(err)
	}
	removeLater(t, c, id)
	ct, err := c.Inspect(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	backing := ""
	for _, kv := range info.DriverStatus {
		if kv[0] == "Backing Filesystem" {
			backing = kv[1]
		}
	}
	t.Logf("storage driver %s on %s: quota %v (%s); warnings %q; container quota %d", info.Driver, backing, quota, why, warnings, ct.RootQuota)
	if quota && ct.RootQuota == 0 && !containsSubstring(warnings, "watched") {
		t.Errorf("driver takes a size, but the container has no quota and no warning says so: %q", warnings)
	}
	if ct.RootQuota > 0 {
		if ct.RootQuota != limit {
			t.Errorf("quota %d; want %d", ct.RootQuota, limit)
		}
		out, err := sshRun(ctx, key, port, "dd if=/dev/zero of=/root/fill bs=1M count=200 2>&1; sync")
		if !strings.Contains(out, "No space left") {
			t.Errorf("writing 200 MiB past a %d MiB quota = %v: %s; want No space left on device", limit>>20, err, out)
		}
		return
	}
	if !containsSubstring(warnings, "is watched, not enforced") {
		t.Errorf("warnings %q; want the root filesystem limit said to be watched", warnings)
	}
	sshWait(t, key, port, "dd if=/dev/zero of=/root/fill bs=1M count=20 status=none && sync")
	used, err := c.WritableBytes(ctx, id)
	if err != nil || used < 20<<20 || used > 40<<20 {
		t.Errorf("WritableBytes after writing 20 MiB = %d, %v; want 20..40 MiB", used, err)
	}
	sp, err := c.Space(ctx)
	if err != nil || sp.Rentals < 1 || sp.Outstanding < limit-used || sp.RootFree <= 0 {
		t.Errorf("Space = %+v, %v; want this container's %d unwritten bytes outstanding", sp, err, limit-used)
	}
}
