package docker

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/volume"
	"golang.org/x/sys/unix"
)

// MinDiskBytes is the smallest /data disk Create makes as an ext4 image.
const MinDiskBytes = 16 << 20

// DiskImageLabel on a volume names the ext4 image behind it; Remove and
// RemoveOrphans unmount and delete that image with the volume.
const DiskImageLabel = "io.sn27.disk-image"

// validName is a Docker volume or network name that is also safe as one
// path component: no slash, and no leading dot.
var validName = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]{1,127}$`)

// fsImmutable is FS_IMMUTABLE_FL of FS_IOC_SETFLAGS.
const fsImmutable = 0x10

// SetDiskDir makes Create give each allocation with a volume and a disk
// size its own ext4 filesystem image in dir (dir/<volume>.img, mounted at
// dir/<volume>/), so /data holds exactly the size rented. "" (the default)
// makes plain volumes. dir is created (0700) on first use.
func (c *Client) SetDiskDir(dir string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.diskDir = dir
}

// disk is an ext4 image and the directory it is mounted on.
type disk struct {
	image, mount string
}

// diskFor gives the paths of volume vol's disk in dir.
func diskFor(dir, vol string) disk {
	return disk{image: filepath.Join(dir, vol+".img"), mount: filepath.Join(dir, vol)}
}

// realDir is dir as /proc/self/mountinfo shows paths under it: absolute,
// without symbolic links.
func realDir(dir string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	return filepath.EvalSymlinks(abs)
}

// makeDisk makes a preallocated file of size bytes in dir, makes an ext4
// filesystem in it and loop-mounts it (nodev, nosuid) on a new directory.
// On error nothing is left behind.
func makeDisk(ctx context.Context, dir, vol string, size int64) (_ disk, err error) {
	if !validName.MatchString(vol) {
		return disk{}, fmt.Errorf("make disk: bad volume name %.80q", vol)
	}
	if size < MinDiskBytes {
		return disk{}, fmt.Errorf("make disk %s: %d bytes is below the %d MiB minimum", vol, size, MinDiskBytes>>20)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return disk{}, fmt.Errorf("make disk dir: %w", err)
	}
	if dir, err = realDir(dir); err != nil {
		return disk{}, fmt.Errorf("make disk dir: %w", err)
	}
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return disk{}, fmt.Errorf("make disk %s: statfs %s: %w", vol, dir, err)
	}
	if free := int64(st.Bavail) * st.Bsize; free < size {
		return disk{}, fmt.Errorf("make disk %s: %s has %d MiB free, less than the %d MiB asked", vol, dir, free>>20, size>>20)
	}
	d := diskFor(dir, vol) // what to undo, as it is made
	defer func() {
		if err != nil {
			cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
			defer cancel()
			_ = d.teardown(cctx)
		}
	}()

	f, err := os.OpenFile(d.image, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		d = disk{} // neither is ours: teardown must leave them
		return disk{}, fmt.Errorf("make disk %s: image %s: %w", vol, filepath.Join(dir, vol+".img"), ErrExists)
	}
	if err != nil {
		return disk{}, fmt.Errorf("make disk %s: %w", vol, err)
	}
	// Preallocated: the promise is held on the host's disk from the start,
	// so rentals never overcommit it (a sparse image would take blocks
	// only as the renter writes, and many could promise more than there
	// is). Unwritten extents: fast, nothing is zeroed. Filesystems without
	// fallocate get a sparse image.
	err = unix.Fallocate(int(f.Fd()), 0, 0, size)
	if errors.Is(err, unix.EOPNOTSUPP) || errors.Is(err, unix.ENOSYS) {
		err = f.Truncate(size)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return disk{}, fmt.Errorf("make disk %s: size image: %w", vol, err)
	}
	if err := runTool(ctx, 2*time.Minute, "mkfs.ext4", mkfsArgs(d.image, size)...); err != nil {
		return disk{}, fmt.Errorf("make disk %s: %w", vol, err)
	}
	if err := os.Mkdir(d.mount, 0o700); errors.Is(err, fs.ErrExist) {
		d.mount = "" // not ours
		return disk{}, fmt.Errorf("make disk %s: mount dir %s: %w", vol, filepath.Join(dir, vol), ErrExists)
	} else if err != nil {
		return disk{}, fmt.Errorf("make disk %s: %w", vol, err)
	}
	// Unmounted (after a reboot, until RemountDisks), the directory takes
	// no writes, so a container started on it cannot fill the host's disk.
	// Best effort: not every filesystem has the flag.
	_ = setImmutable(d.mount, true)
	if err := runTool(ctx, time.Minute, "mount", "-t", "ext4", "-o", "loop,nodev,nosuid", d.image, d.mount); err != nil {
		return disk{}, fmt.Errorf("make disk %s: %w", vol, err)
	}
	return d, nil
}

// mkfsArgs are mkfs.ext4's arguments for an image of size bytes, chosen so
// df shows close to the size rented. Measured (TestMkfsSizes, e2fsprogs
// 1.47, Linux 6.18), df size / size asked: 16 MiB 98.3%, 200 MiB 98.4%,
// 1 GiB 98.0%, 10 GiB 98.0%; mkfs.ext4's defaults give 87-91% below
// 1 GiB and 95% at 1 GiB. df's "avail" is up to 16 MiB lower still: ext4
// keeps 2% (at most 4096 blocks) for delayed allocation. What the
// defaults spend, and what is kept here:
//   - 5% reserved for root (-m): none, the renter is root anyway.
//   - GDT blocks kept for online growth (resize_inode): none, images
//     never grow.
//   - The journal, 4 MiB at least and 32 MiB at 1 GiB: none below 1 GiB
//     (RemountDisks runs e2fsck -p before mounting), else 1/256 of the
//     size, 4 MiB to 1 GiB.
//   - Below 512 MiB mke2fs picks 1 KiB blocks and an inode per 4 KiB: here
//     always 4 KiB blocks and an inode per 16 KiB, its default for larger
//     filesystems (1.6% of the size, 64 Ki inodes per GiB, for renters'
//     many small files).
func mkfsArgs(image string, size int64) []string {
	// nodiscard: mke2fs would otherwise punch the preallocated blocks out;
	// lazy_itable_init=0: mke2fs zeroes the inode tables now (keeping their
	// blocks), where the kernel's lazy init after mounting would zero them
	// through the loop device by punching holes (3 MiB of 200 MiB).
	args := []string{"-q", "-F", "-E", "nodiscard,lazy_itable_init=0", "-b", "4096", "-i", "16384", "-I", "256", "-m", "0", "-O", "^resize_inode"}
	if size < 1<<30 {
		args = append(args, "-O", "^has_journal")
	} else {
		mib := min(max(size>>8>>20, 4), 1024)
		args = append(args, "-J", "size="+strconv.FormatInt(mib, 10))
	}
	return append(args, image)
}

// teardown unmounts the disk (lazily when busy), detaches its loop device
// and deletes the image and the mount dir; what is already gone is fine.
func (d disk) teardown(ctx context.Context) error {
	var errs []error
	if d.mount != "" {
		if err := unmount(d.mount); err != nil {
			errs = append(errs, err)
		}
	}
	if d.image != "" {
		if err := detachLoops(d.image); err != nil {
			errs = append(errs, err)
		}
	}
	if d.mount != "" && len(errs) == 0 {
		_ = setImmutable(d.mount, false)
		if err := os.Remove(d.mount); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, fmt.Errorf("remove disk mount dir: %w", err))
		}
	}
	if d.image != "" && len(errs) == 0 {
		if err := os.Remove(d.image); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, fmt.Errorf("remove disk image: %w", err))
		}
	}
	return errors.Join(errs...)
}

// checkMountedIn checks that the process pid (a container's init) has the
// disk mounted at DataPath: the same device as d.mount on the host. A miner
// in a mount namespace of its own (systemd's PrivateTmp=, ProtectHome=)
// mounts where dockerd does not see it, and the container would get the
// bare mount dir. Where /proc/pid cannot be read (another PID namespace)
// there is nothing to check.
func (d disk) checkMountedIn(pid int) error {
	info, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/mountinfo")
	if err != nil {
		return nil
	}
	var st unix.Stat_t
	if err := unix.Stat(d.mount, &st); err != nil {
		return fmt.Errorf("stat disk mount %s: %w", d.mount, err)
	}
	want := fmt.Sprintf("%d:%d", unix.Major(st.Dev), unix.Minor(st.Dev))
	sc := bufio.NewScanner(bytes.NewReader(info))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	got := ""
	for sc.Scan() {
		if f := strings.Fields(sc.Text()); len(f) > 4 && unescapeOctal(f[4]) == DataPath {
			got = f[2] // the last mount on the path is the one seen
		}
	}
	if got != want {
		return fmt.Errorf("the container's %s is device %q, not the disk image (%s): dockerd does not see the miner's mounts; "+
			"run the miner in dockerd's mount namespace (no PrivateTmp=, ProtectHome= or ProtectSystem= in its unit)", DataPath, got, want)
	}
	return nil
}

// diskOf returns the disk a volume's DiskImageLabel names, checking that it
// is laid out as makeDisk makes it.
func diskOf(v volume.Volume) (disk, bool, error) {
	image := v.Labels[DiskImageLabel]
	if image == "" {
		return disk{}, false, nil
	}
	d := diskFor(filepath.Dir(image), v.Name)
	if !filepath.IsAbs(image) || d.image != image || !validName.MatchString(v.Name) {
		return disk{}, false, fmt.Errorf("volume %s: label %s=%q is not this volume's disk image", v.Name, DiskImageLabel, image)
	}
	return d, true, nil
}

// removeVolumeDisk tears down the disk behind the (removed) volume v, if
// it has one.
func removeVolumeDisk(ctx context.Context, v volume.Volume) error {
	d, ok, err := diskOf(v)
	if err != nil || !ok {
		return err
	}
	if err := d.teardown(ctx); err != nil {
		return fmt.Errorf("remove disk of volume %s: %w", v.Name, err)
	}
	return nil
}

// unmount unmounts dir if something is mounted there, detaching it lazily
// when it is busy.
func unmount(dir string) error {
	mounted, err := isMounted(dir)
	if err != nil || !mounted {
		return err
	}
	err = unix.Unmount(dir, 0)
	if errors.Is(err, unix.EBUSY) {
		err = unix.Unmount(dir, unix.MNT_DETACH)
	}
	if err != nil && !errors.Is(err, unix.EINVAL) { // EINVAL: unmounted meanwhile
		return fmt.Errorf("unmount %s: %w", dir, err)
	}
	return nil
}

// isMounted reports whether dir is a mount point in this mount namespace.
func isMounted(dir string) (bool, error) {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return false, fmt.Errorf("read mountinfo: %w", err)
	}
	return mountedIn(b, filepath.Clean(dir)), nil
}

// mountedIn reports whether mountinfo lists a mount on dir.
func mountedIn(mountinfo []byte, dir string) bool {
	sc := bufio.NewScanner(bytes.NewReader(mountinfo))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		// id parent major:minor root mountpoint options ...
		f := strings.Fields(sc.Text())
		if len(f) > 4 && unescapeOctal(f[4]) == dir {
			return true
		}
	}
	return false
}

// unescapeOctal undoes mountinfo's \ooo escapes (space, tab, newline,
// backslash).
func unescapeOctal(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// detachLoops detaches every loop device backed by image. A device still
// in use (a lazy unmount) is marked to detach when its last user goes.
func detachLoops(image string) error {
	devs, err := filepath.Glob("/sys/block/loop*/loop/backing_file")
	if err != nil {
		return err
	}
	var errs []error
	for _, p := range devs {
		b, err := os.ReadFile(p)
		if err != nil {
			continue // detached meanwhile
		}
		if strings.TrimSuffix(strings.TrimSpace(string(b)), " (deleted)") != image {
			continue
		}
		name := filepath.Base(filepath.Dir(filepath.Dir(p)))
		f, err := os.OpenFile("/dev/"+name, os.O_RDONLY, 0)
		if err != nil {
			if !errors.Is(err, fs.ErrNotExist) {
				errs = append(errs, fmt.Errorf("detach %s: %w", name, err))
			}
			continue
		}
		err = unix.IoctlSetInt(int(f.Fd()), unix.LOOP_CLR_FD, 0)
		f.Close()
		if err != nil && !errors.Is(err, unix.ENXIO) {
			errs = append(errs, fmt.Errorf("detach %s from %s: %w", name, image, err))
		}
	}
	return errors.Join(errs...)
}

// setImmutable sets or clears the immutable flag of dir.
func setImmutable(dir string, on bool) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	flags, err := unix.IoctlGetInt(int(f.Fd()), unix.FS_IOC_GETFLAGS)
	if err != nil {
		return err
	}
	if on == (flags&fsImmutable != 0) {
		return nil
	}
	if on {
		flags |= fsImmutable
	} else {
		flags &^= fsImmutable
	}
	return unix.IoctlSetPointerInt(int(f.Fd()), unix.FS_IOC_SETFLAGS, flags)
}

// runTool runs name with args (no shell) within timeout and returns its
// output in the error when it fails.
func runTool(ctx context.Context, timeout time.Duration, name string, args ...string) error {
	_, err := toolOutput(ctx, timeout, name, args...)
	return err
}

// toolOutput runs name with args (no shell) within timeout and returns its
// standard output.
func toolOutput(ctx context.Context, timeout time.Duration, name string, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.WaitDelay = 5 * time.Second
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		msg := strings.TrimSpace(stderr.String())
		if msg == "" {
			msg = strings.TrimSpace(string(out))
		}
		return out, fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, tail(msg, 1000))
	}
	return out, nil
}

// DiskLimitReport says how this machine limits an allocation's disk.
type DiskLimitReport struct {
	// Data: /data is an ext4 image of the rented size. Needs a disk dir
	// (SetDiskDir), root, mkfs.ext4 and working loop devices; checked by
	// making, mounting and removing a small image.
	Data       bool
	DataDetail string
	// RootFS: the storage driver limits the container's root filesystem
	// (storage-opt size); checked by creating a container with one.
	// Without it the miner watches the writable layer (SizeRw) and stops
	// a rental at its limit (disk_quota).
	RootFS       bool
	RootFSDetail string
	// Driver and Backing name the storage engine (overlay2 on extfs, ...).
	Driver, Backing string
}

// Method names the limits that apply, "none" when neither does.
func (r DiskLimitReport) Method() string {
	const watch = "root filesystem watched (writable layer measured, the rental stopped at its limit: disk_quota)"
	switch {
	case r.Data && r.RootFS:
		return "loop ext4 volume for /data; storage-opt size for the root filesystem"
	case r.Data:
		return "loop ext4 volume for /data; " + watch
	case r.RootFS:
		return "storage-opt size for the root filesystem (/data not limited)"
	}
	return "/data not limited; " + watch
}

// DiskLimit finds out which disk limits Create can apply here, by trying
// them: a MinDiskBytes image made and mounted in the disk dir, and a
// container created (never started) from DefaultImage with a root size.
func (c *Client) DiskLimit(ctx context.Context) DiskLimitReport {
	var r DiskLimitReport
	if info, err := c.api.Info(ctx); err == nil {
		r.Driver = info.Driver
		for _, kv := range info.DriverStatus {
			if kv[0] == "Backing Filesystem" {
				r.Backing = kv[1]
			}
		}
	}
	r.Data, r.DataDetail = c.probeDataDisk(ctx)
	r.RootFS, r.RootFSDetail = c.probeRootSize(ctx)
	return r
}

func (c *Client) probeDataDisk(ctx context.Context) (bool, string) {
	dir, _ := c.settings()
	switch {
	case dir == "":
		return false, "no disk dir set: /data is a plain volume without a size"
	case os.Geteuid() != 0:
		return false, "not root: mounting a disk image needs root"
	}
	for _, tool := range []string{"mkfs.ext4", "mount"} {
		if _, err := exec.LookPath(tool); err != nil {
			return false, fmt.Sprintf("%s not found: %v", tool, err)
		}
	}
	var rnd [6]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		return false, err.Error()
	}
	start := time.Now()
	d, err := makeDisk(ctx, dir, "sn27-probe-"+hex.EncodeToString(rnd[:]), MinDiskBytes)
	if err != nil {
		return false, err.Error()
	}
	var st unix.Statfs_t
	serr := unix.Statfs(d.mount, &st)
	took := time.Since(start)
	if err := d.teardown(context.WithoutCancel(ctx)); err != nil {
		return false, fmt.Sprintf("probe image made but not removed: %v", err)
	}
	if serr != nil {
		return false, fmt.Sprintf("statfs of the probe disk: %v", serr)
	}
	size := int64(st.Blocks) * st.Bsize
	if size < MinDiskBytes*95/100 || size > MinDiskBytes {
		return false, fmt.Sprintf("probe disk of %d bytes shows %d bytes", MinDiskBytes, size)
	}
	return true, fmt.Sprintf("a %d MiB ext4 image was made, loop-mounted (%d KiB usable) and removed in %s in %s",
		MinDiskBytes>>20, size>>10, dir, took.Round(time.Millisecond))
}

func (c *Client) probeRootSize(ctx context.Context) (bool, string) {
	info, err := c.api.Info(ctx)
	if err != nil {
		return false, fmt.Sprintf("docker info: %v", err)
	}
	if ok, why := storageOptSupported(info); !ok {
		return false, strings.TrimPrefix(why, "disk limit not applied: ")
	}
	if ok, err := c.ImageExists(ctx, DefaultImage); err != nil || !ok {
		return true, fmt.Sprintf("storage driver %s should take a size (not tried: image %s missing)", info.Driver, DefaultImage)
	}
	var rnd [6]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		return false, err.Error()
	}
	resp, err := c.api.ContainerCreate(ctx, &container.Config{Image: DefaultImage, Labels: map[string]string{"io.sn27.probe": "1"}},
		&container.HostConfig{StorageOpt: map[string]string{"size": strconv.Itoa(1 << 30)}}, nil, nil, "sn27-probe-"+hex.EncodeToString(rnd[:]))
	if err != nil {
		return false, fmt.Sprintf("storage driver %s refused a size: %v", info.Driver, err)
	}
	_ = c.api.ContainerRemove(context.WithoutCancel(ctx), resp.ID, container.RemoveOptions{Force: true, RemoveVolumes: true})
	return true, fmt.Sprintf("storage driver %s takes a size (storage-opt size)", info.Driver)
}

// RemountDisks mounts the disk images in the disk dir that are not mounted
// (a host reboot drops loop mounts), after e2fsck -p, and restarts the
// running containers using their volumes: those started on the empty,
// immutable mount dir. Call it at start, before the allocation is
// reconciled.
func (c *Client) RemountDisks(ctx context.Context) (restarted []string, err error) {
	dir, _ := c.settings()
	if dir == "" {
		return nil, nil
	}
	if dir, err = realDir(dir); errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	} else if err != nil {
		return nil, fmt.Errorf("remount disks: %w", err)
	}
	images, err := filepath.Glob(filepath.Join(dir, "*.img"))
	if err != nil {
		return nil, fmt.Errorf("list disk images: %w", err)
	}
	var errs []error
	for _, image := range images {
		vol := strings.TrimSuffix(filepath.Base(image), ".img")
		if !validName.MatchString(vol) {
			continue
		}
		d := diskFor(dir, vol)
		if ok, err := isMounted(d.mount); err != nil {
			return restarted, err
		} else if ok {
			continue
		}
		if err := os.Mkdir(d.mount, 0o700); err == nil {
			_ = setImmutable(d.mount, true)
		} else if !errors.Is(err, fs.ErrExist) {
			errs = append(errs, fmt.Errorf("remount disk %s: %w", vol, err))
			continue
		}
		// e2fsck exits 1 or 2 when it fixed something; 4 and up it did not.
		_, ferr := toolOutput(ctx, 10*time.Minute, "e2fsck", "-p", d.image)
		var ee *exec.ExitError
		if ferr != nil && !(errors.As(ferr, &ee) && ee.ExitCode() > 0 && ee.ExitCode() < 4) {
			errs = append(errs, fmt.Errorf("remount disk %s: %w", vol, ferr))
			continue
		}
		if err := runTool(ctx, time.Minute, "mount", "-t", "ext4", "-o", "loop,nodev,nosuid", d.image, d.mount); err != nil {
			errs = append(errs, fmt.Errorf("remount disk %s: %w", vol, err))
			continue
		}
		list, err := c.api.ContainerList(ctx, container.ListOptions{Filters: filters.NewArgs(filters.Arg("volume", vol))})
		if err != nil {
			errs = append(errs, fmt.Errorf("containers using volume %s: %w", vol, err))
			continue
		}
		for _, ct := range list {
			if ct.State != container.StateRunning {
				continue
			}
			if err := c.Restart(ctx, ct.ID); err != nil {
				errs = append(errs, err)
				continue
			}
			restarted = append(restarted, ct.ID)
		}
	}
	return restarted, errors.Join(errs...)
}

// volumeExists reports whether the daemon has volume name.
func (c *Client) volumeExists(ctx context.Context, name string) (bool, error) {
	if _, err := c.api.VolumeInspect(ctx, name); err != nil {
		if cerrdefs.IsNotFound(err) {
			return false, nil
		}
		return false, fmt.Errorf("inspect volume %s: %w", name, err)
	}
	return true, nil
}
