package wallet

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Modes of what this package writes (btwallet writes key files 0600 too).
const (
	fileMode = 0o600
	dirMode  = 0o700
)

// writeFileAtomic writes data to path through a temporary file in the same
// directory (fsync, then rename), so readers see the old file or the new one,
// never a part. Unless overwrite is set it fails with ErrExists when path
// exists, also when another writer creates it meanwhile.
func writeFileAtomic(path string, data []byte, overwrite bool) (err error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	if err := os.MkdirAll(dir, dirMode); err != nil {
		return fmt.Errorf("create directory: %w", err)
	}
	if !overwrite {
		if _, err := os.Lstat(path); err == nil {
			return existsError(path)
		}
	}
	f, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return fmt.Errorf("create temporary file: %w", err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			_ = f.Close()
			_ = os.Remove(tmp)
		}
	}()
	if err = f.Chmod(fileMode); err != nil {
		return fmt.Errorf("chmod %s: %w", tmp, err)
	}
	if _, err = f.Write(data); err != nil {
		return fmt.Errorf("write %s: %w", tmp, err)
	}
	if err = f.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", tmp, err)
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("close %s: %w", tmp, err)
	}
	if overwrite {
		if err = os.Rename(tmp, path); err != nil {
			return fmt.Errorf("rename to %s: %w", path, err)
		}
	} else {
		// link fails if path exists, where rename would replace it.
		if err = os.Link(tmp, path); err != nil {
			if errors.Is(err, fs.ErrExist) {
				return existsError(path)
			}
			// No hard links here (some FUSE or network file systems): the
			// Lstat above is all we can do.
			if err = os.Rename(tmp, path); err != nil {
				return fmt.Errorf("rename to %s: %w", path, err)
			}
		} else {
			_ = os.Remove(tmp)
		}
	}
	syncDir(dir)
	return nil
}

func existsError(path string) error {
	return fmt.Errorf("%s already exists: %w", path, ErrExists)
}

// syncDir makes a rename in dir durable; failures only cost durability.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		_ = d.Close()
	}
}
