// Package allocation rents the miner's machine out: it answers SN27's
// Allocate synapse (check, allocate, deallocate, exchange_key, restart,
// pause, unpause) with a Docker container reachable by SSH, encrypts the
// credentials to the renter's RSA key, persists the allocation atomically,
// expires it on time and reconciles with Docker after a restart.
package allocation

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/sn27/sn27/internal/docker"
	"github.com/sn27/sn27/internal/hwspec"
	"github.com/sn27/sn27/internal/keys"
	"github.com/sn27/sn27/internal/protocol"
)

// Docker is what allocation needs of the Docker adapter.
type Docker interface {
	Ping(ctx context.Context) error
	ImageExists(ctx context.Context, ref string) (bool, error)
	Create(ctx context.Context, s docker.ContainerSpec) (string, []string, error)
	SetAuthorizedKey(ctx context.Context, id, key string) error
	Pause(ctx context.Context, id string) error
	Unpause(ctx context.Context, id string) error
	Restart(ctx context.Context, id string) error
	Remove(ctx context.Context, id string) error
	Inspect(ctx context.Context, id string) (docker.Container, error)
}

// Specs reads the machine's hardware report (to refuse what it cannot give).
type Specs interface {
	Read(ctx context.Context) (hwspec.Report, error)
}

// Config of allocations.
type Config struct {
	DataDir     string        // state file: DataDir/allocation.json
	Image       string        // --allocation.image
	SSHPort     int           // --ssh.port
	MaxTimeline time.Duration // longest rental accepted
	PidsLimit   int64
	ShmBytes    int64
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	return Config{Image: docker.DefaultImage, SSHPort: 4444, MaxTimeline: 30 * 24 * time.Hour, PidsLimit: 4096, ShmBytes: 1 << 30}
}

// Manager owns the allocation. One mutex serialises every request.
type Manager struct {
	cfg    Config
	docker Docker
	specs  Specs
	log    *slog.Logger
	now    func() time.Time

	mu     sync.Mutex
	st     state
	timer  *time.Timer
	closed bool
}

// New loads the persisted state. Call Reconcile before serving.
func New(cfg Config, d Docker, specs Specs, log *slog.Logger) (*Manager, error) {
	if cfg.DataDir == "" {
		return nil, errors.New("allocation: data dir is required")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	st, err := loadState(filepath.Join(cfg.DataDir, "allocation.json"))
	if err != nil {
		return nil, err
	}
	return &Manager{cfg: cfg, docker: d, specs: specs, log: log.With("component", "allocation"), now: time.Now, st: st}, nil
}

func (m *Manager) path() string { return filepath.Join(m.cfg.DataDir, "allocation.json") }

// SetClock replaces time.Now (tests).
func (m *Manager) SetClock(now func() time.Time) { m.now = now }

// Reconcile brings the saved allocation and Docker into agreement: a gone
// container ends the allocation, a passed deadline removes it, a live one
// gets its expiry timer back.
func (m *Manager) Reconcile(ctx context.Context) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	r := m.st.Active
	if r == nil {
		return nil
	}
	c, err := m.docker.Inspect(ctx, r.ContainerID)
	switch {
	case errors.Is(err, docker.ErrNotFound):
		m.log.Warn("allocated container is gone; ending the allocation", "container", r.Name)
		return m.clearLocked()
	case err != nil:
		return fmt.Errorf("inspect allocated container: %w", err)
	}
	if !m.now().Before(r.Deadline) {
		m.log.Info("allocation expired while the miner was down; removing it", "container", r.Name)
		return m.endLocked(ctx)
	}
	m.scheduleLocked()
	m.log.Info("allocation resumed", "container", r.Name, "state", c.State, "deadline", r.Deadline)
	return nil
}

// Allocated reports whether a rental is running.
func (m *Manager) Allocated() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.st.Active != nil
}

// Active returns a copy of the running allocation.
func (m *Manager) Active() (Record, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.st.Active == nil {
		return Record{}, false
	}
	return *m.st.Active, true
}

// Close stops the expiry timer (the allocation stays; a restart resumes it).
func (m *Manager) Close() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.closed = true
	if m.timer != nil {
		m.timer.Stop()
	}
}

func (m *Manager) scheduleLocked() {
	if m.timer != nil {
		m.timer.Stop()
	}
	if m.closed || m.st.Active == nil {
		return
	}
	id := m.st.Active.ContainerID
	m.timer = time.AfterFunc(m.st.Active.Deadline.Sub(m.now()), func() { m.expire(id) })
}

func (m *Manager) expire(id string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.st.Active == nil || m.st.Active.ContainerID != id || m.closed {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	m.log.Info("allocation expired; removing the container", "container", m.st.Active.Name)
	if err := m.endLocked(ctx); err != nil {
		m.log.Error("remove expired allocation", "err", err)
		m.timer = time.AfterFunc(time.Minute, func() { m.expire(id) }) // retry
	}
}

// endLocked removes the container and clears the state.
func (m *Manager) endLocked(ctx context.Context) error {
	if err := m.docker.Remove(ctx, m.st.Active.ContainerID); err != nil && !errors.Is(err, docker.ErrNotFound) {
		return fmt.Errorf("remove container %s: %w", m.st.Active.Name, err)
	}
	return m.clearLocked()
}

func (m *Manager) clearLocked() error {
	if m.timer != nil {
		m.timer.Stop()
	}
	next := m.st
	next.Active = nil
	if err := saveState(m.path(), next); err != nil {
		return err
	}
	m.st = next
	return nil
}

// answer sets Allocate.output.
func answer(req *protocol.Allocate, v map[string]any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	req.Output = b
	return nil
}

func refuse(req *protocol.Allocate, format string, args ...any) error {
	return answer(req, map[string]any{"status": false, "message": fmt.Sprintf(format, args...)})
}

// Allocate serves one Allocate synapse from validator.
func (m *Manager) Allocate(ctx context.Context, validator keys.Hotkey, req *protocol.Allocate) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	active := m.st.Active
	samePEM := active != nil && sameKey(active.Renter, req.PublicKey)
	switch {
	case req.DockerChange:
		if active == nil || !samePEM {
			return refuse(req, "no allocation of this public key")
		}
		return m.actionLocked(ctx, req)
	case req.Checking && req.Timeline > 0:
		if active != nil {
			return refuse(req, "already allocated")
		}
		if reason := m.cannotLocked(ctx, req); reason != "" {
			return refuse(req, "%s", reason)
		}
		return answer(req, map[string]any{"status": true})
	case req.Checking:
		if !samePEM {
			return answer(req, map[string]any{"status": false})
		}
		c, err := m.docker.Inspect(ctx, active.ContainerID)
		return answer(req, map[string]any{"status": err == nil && c.State == "running"})
	case req.Timeline > 0:
		return m.allocateLocked(ctx, validator, req)
	default: // deallocate
		if active == nil {
			return refuse(req, "not allocated")
		}
		if !samePEM {
			return refuse(req, "the allocation belongs to another key")
		}
		if err := m.endLocked(ctx); err != nil {
			return err
		}
		m.log.Info("deallocated", "validator", validator)
		return answer(req, map[string]any{"status": true})
	}
}

func sameKey(a, b string) bool {
	return strings.TrimSpace(a) == strings.TrimSpace(b) && strings.TrimSpace(a) != ""
}

// cannotLocked says why an allocation of req cannot be served ("" = it can).
func (m *Manager) cannotLocked(ctx context.Context, req *protocol.Allocate) string {
	if err := m.docker.Ping(ctx); err != nil {
		m.log.Error("docker unavailable", "err", err)
		return "docker is unavailable on this miner"
	}
	if ok, err := m.docker.ImageExists(ctx, m.cfg.Image); err != nil || !ok {
		return fmt.Sprintf("allocation image %s is missing on this miner", m.cfg.Image)
	}
	r, err := req.Requirement()
	if err != nil {
		return err.Error()
	}
	if m.specs != nil {
		rep, err := m.specs.Read(ctx)
		if err != nil {
			return "cannot read this machine's specs"
		}
		if ok, why := rep.Meets(hwspec.Requirement{
			CPUCount: r.CPU.Count, GPUCount: r.GPU.Count, GPUCapacityMiB: r.GPU.Capacity, GPUType: r.GPU.Type,
			DiskBytes: r.HardDisk.Capacity, RAMBytes: r.RAM.Capacity,
		}); !ok {
			return "request exceeds this machine: " + why
		}
	}
	return ""
}

func (m *Manager) allocateLocked(ctx context.Context, validator keys.Hotkey, req *protocol.Allocate) error {
	if m.st.Active != nil {
		return refuse(req, "already allocated")
	}
	pub, err := ParseRenterKey(req.PublicKey)
	if err != nil {
		return refuse(req, "%v", err)
	}
	dr, err := req.Docker()
	if err != nil {
		return refuse(req, "%v", err)
	}
	if strings.TrimSpace(dr.Dockerfile) != "" {
		return refuse(req, "custom dockerfiles are not run on this miner; the allocation image is fixed")
	}
	timeline := time.Duration(req.Timeline) * time.Minute
	if req.Timeline < 0 || timeline > m.cfg.MaxTimeline {
		return refuse(req, "timeline %d minutes is outside 1..%d", req.Timeline, int(m.cfg.MaxTimeline.Minutes()))
	}
	if reason := m.cannotLocked(ctx, req); reason != "" {
		return refuse(req, "%s", reason)
	}
	r, _ := req.Requirement()
	password := ""
	if strings.TrimSpace(dr.SSHKey) == "" {
		if password, err = newPassword(20); err != nil {
			return err
		}
	}
	sum := sha256.Sum256([]byte(strings.TrimSpace(req.PublicKey)))
	id := hex.EncodeToString(sum[:6]) + fmt.Sprint(m.now().Unix()%100000)
	name := "sn27-alloc-" + id
	spec := docker.ContainerSpec{
		Name: name, Image: m.cfg.Image,
		Labels: map[string]string{"sn27.allocation": "1", "sn27.renter": hex.EncodeToString(sum[:8]), "sn27.validator": string(validator)},
		Resources: docker.Resources{
			CPUs: int(r.CPU.Count), MemoryBytes: r.RAM.Capacity, PidsLimit: m.cfg.PidsLimit, ShmBytes: m.cfg.ShmBytes,
			DiskBytes: r.HardDisk.Capacity, GPUs: int(r.GPU.Count),
		},
		SSHHostPort:   m.cfg.SSHPort,
		Volume:        name,
		AuthorizedKey: strings.TrimSpace(dr.SSHKey),
		RootPassword:  password,
	}
	cid, warnings, err := m.docker.Create(ctx, spec)
	if err != nil {
		m.log.Error("create allocation container", "err", err)
		return refuse(req, "could not start the container: %v", err)
	}
	for _, w := range warnings {
		m.log.Warn("allocation limit not applied", "warning", w)
	}
	rec := &Record{
		Renter: req.PublicKey, Validator: string(validator), ContainerID: cid, Name: name, Volume: name,
		SSHPort: m.cfg.SSHPort, SSHKey: spec.AuthorizedKey, Created: m.now(), Deadline: m.now().Add(timeline), Requirement: r,
	}
	next := m.st
	next.Active = rec
	if err := saveState(m.path(), next); err != nil {
		_ = m.docker.Remove(ctx, cid) // never run a container we could lose track of
		return err
	}
	m.st = next
	m.scheduleLocked()
	info, err := EncryptCredentials(pub, Credentials{Username: "root", Password: password, Port: m.cfg.SSHPort})
	if err != nil {
		return err
	}
	m.log.Info("allocated", "container", name, "validator", validator, "minutes", req.Timeline, "warnings", len(warnings))
	return answer(req, map[string]any{"status": true, "info": info, "warnings": warnings})
}

func (m *Manager) actionLocked(ctx context.Context, req *protocol.Allocate) error {
	a, err := req.Action()
	if err != nil {
		return refuse(req, "%v", err)
	}
	id := m.st.Active.ContainerID
	switch a.Action {
	case "exchange_key":
		key := strings.TrimSpace(a.SSHKey)
		if err := m.docker.SetAuthorizedKey(ctx, id, key); err != nil {
			return refuse(req, "exchange_key: %v", err)
		}
		next := m.st
		rec := *m.st.Active
		rec.SSHKey = key
		next.Active = &rec
		if err := saveState(m.path(), next); err != nil {
			return err
		}
		m.st = next
	case "restart":
		err = m.docker.Restart(ctx, id)
	case "pause":
		err = m.docker.Pause(ctx, id)
	case "unpause":
		err = m.docker.Unpause(ctx, id)
	default:
		return refuse(req, "unknown docker_action %q (want exchange_key, restart, pause or unpause)", a.Action)
	}
	if err != nil {
		return refuse(req, "%s: %v", a.Action, err)
	}
	return answer(req, map[string]any{"status": true})
}
