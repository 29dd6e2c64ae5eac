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
