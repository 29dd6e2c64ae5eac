package hwspec

import (
	"os"

	"golang.org/x/sys/unix"
)

// statfs reports path's filesystem like psutil.disk_usage: total =
// f_blocks*f_frsize, free = f_bavail*f_frsize (space unprivileged users can
// take), used = (f_blocks-f_bfree)*f_frsize. free+used < total when blocks
// are reserved for root.
func statfs(path string) (Disk, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(path, &st); err != nil {
		return Disk{}, err
	}
	bs := int64(st.Frsize) // int32 on some GOARCHes
	if bs <= 0 {
		bs = int64(st.Bsize)
	}
	return Disk{
		Total: int64(st.Blocks) * bs,
		Free:  int64(st.Bavail) * bs,
		Used:  int64(st.Blocks-st.Bfree) * bs,
	}, nil
}

// dropCache asks the kernel to evict f's pages so that a following read
// reaches the device. Best effort.
func dropCache(f *os.File) {
	_ = unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_DONTNEED)
}
