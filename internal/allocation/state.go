package allocation

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/sn27/sn27/internal/protocol"
)

// Record is the running allocation, as persisted.
type Record struct {
	Renter      string                     `json:"renter_public_key"` // PEM
	Validator   string                     `json:"validator_hotkey"`  // who asked
	ContainerID string                     `json:"container_id"`
	Name        string                     `json:"container_name"`
	Volume      string                     `json:"volume"`
	SSHPort     int                        `json:"ssh_port"`
	SSHKey      string                     `json:"ssh_key,omitempty"`  // current authorized key (public)
	HostKey     string                     `json:"host_key,omitempty"` // the container's SSH host key (public line)
	Created     time.Time                  `json:"created"`
	Deadline    time.Time                  `json:"deadline"`
	Requirement protocol.DeviceRequirement `json:"requirement"`
	// RootLimit is the root filesystem's (writable layer's) limit; the
	// storage driver enforces it when RootQuota, Watch does otherwise.
	RootLimit int64 `json:"root_limit_bytes,omitempty"`
	RootQuota bool  `json:"root_quota,omitempty"`
	// Stopped says why the miner stopped the container (StopDiskQuota);
	// "" while it has not. The rental is kept, with its files and /data.
	Stopped   string    `json:"stopped,omitempty"`
	StoppedAt time.Time `json:"stopped_at,omitzero"`
	// GraceUntil: a rental stopped for disk_quota and restarted by its
	// renter may stay over its limit until then (not growing by more
	// than 5 % of the limit past GraceBase, its size at the restart).
	GraceUntil time.Time `json:"grace_until,omitzero"`
	GraceBase  int64     `json:"grace_base_bytes,omitempty"`
}

// state is the persisted file.
type state struct {
	Version int     `json:"version"`
	Active  *Record `json:"active,omitempty"`
}

func loadState(path string) (state, error) {
	var s state
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return state{Version: 1}, nil
	}
	if err != nil {
		return s, fmt.Errorf("read allocation state: %w", err)
	}
	if err := json.Unmarshal(b, &s); err != nil {
		return s, fmt.Errorf("allocation state %s is corrupt (move it away to start over): %w", path, err)
	}
	return s, nil
}

// saveState writes atomically: temp file, fsync, rename, fsync the dir.
func saveState(path string, s state) error {
	s.Version = 1
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create data dir: %w", err)
	}
	f, err := os.CreateTemp(dir, ".allocation-*.tmp")
	if err != nil {
		return fmt.Errorf("write allocation state: %w", err)
	}
	defer os.Remove(f.Name())
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return fmt.Errorf("write allocation state: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("sync allocation state: %w", err)
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("replace allocation state: %w", err)
	}
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}
