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
	"runtime"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"

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
	EnsureRentalNetwork(ctx context.Context) error
	RemoveOrphans(ctx context.Context, keep string) ([]string, error)
	RemountDisks(ctx context.Context) ([]string, error)
	Stop(ctx context.Context, id string, grace time.Duration) error
	WritableBytes(ctx context.Context, id string) (int64, error)
	Space(ctx context.Context) (docker.Space, error)
	CheckIsolation(ctx context.Context) error
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
	MaxTimeline time.Duration // longest rental accepted (whole minutes)
	PidsLimit   int64
	ShmBytes    int64
	// Limits of a request that gives none (or zero): a rental never runs
	// unlimited. DefaultCPUs is capped at the machine's CPUs.
	DefaultCPUs      int64 // --allocation.default_cpus
	DefaultRAMBytes  int64 // --allocation.default_ram_gb
	DefaultDiskBytes int64 // --allocation.default_disk_gb (size of /data)
	// AllowAllGPUs lets a request with gpu.count -1 have every GPU
	// (--allocation.allow_all_gpus); otherwise -1 is refused.
	AllowAllGPUs bool
	// NoGPUDevices gives rentals no NVIDIA devices whatever they ask: the
	// devnet's miners, whose claimed "GPU" is PoCL on the CPU (never set
	// on a real miner).
	NoGPUDevices bool
	// Network is the Docker network rentals join; the miner owns it and
	// drops its traffic to the host's own addresses. "" uses Docker's
	// default bridge (no isolation: tests only).
	Network string
	// ReadyTimeout bounds the wait for the container's SSH banner before
	// Allocate answers.
	ReadyTimeout time.Duration
	// RootDiskBytes limits a rental's root filesystem, its writable layer
	// (--allocation.root_disk_gb); 0: the size of the /data it rents.
	RootDiskBytes int64
	// DiskReserveBytes stays free for the host: a rental whose promises
	// (its preallocated /data, its root limit) would reach into it is
	// refused (--allocation.disk_reserve_gb).
	DiskReserveBytes int64
	// DiskCheck is how often Watch measures the writable layer of a rental
	// whose storage driver enforces no quota (--allocation.disk_check); it
	// looks every DiskCheckNear while the layer is above 75 % of its limit.
	// 0 turns the watch off.
	DiskCheck     time.Duration
	DiskCheckNear time.Duration
	// DiskGrace is how long a renter whose rental was stopped for
	// disk_quota has, after restarting it, to bring the root filesystem
	// under its limit (--allocation.disk_grace).
	DiskGrace time.Duration
	// IsolationCheck is how often Watch checks the rental network's
	// firewall rules and repairs them (0: only at start and before each
	// rental).
	IsolationCheck time.Duration
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	return Config{Image: docker.DefaultImage, SSHPort: 4444, MaxTimeline: 30 * 24 * time.Hour, PidsLimit: 4096, ShmBytes: 1 << 30,
		DefaultCPUs: 1, DefaultRAMBytes: 2 << 30, DefaultDiskBytes: 10 << 30, Network: docker.RentalNetwork, ReadyTimeout: 30 * time.Second,
		DiskReserveBytes: 5 << 30, DiskCheck: 30 * time.Second, DiskCheckNear: 3 * time.Second, DiskGrace: 10 * time.Minute,
		IsolationCheck: 30 * time.Second}
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
	// draining: a restart is coming (Drain); requests are refused and
	// expiry waits for the next start.
	draining bool
	netErr   error // why the rental network is not isolated (nil: it is)

	diskUsed int64 // the active rental's writable layer at the last look (-1 unknown)
	diskWarn bool  // it crossed DiskWarnShare of its limit (logged once)
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
	return &Manager{cfg: cfg, docker: d, specs: specs, log: log.With("component", "allocation"), now: time.Now, st: st, diskUsed: -1}, nil
}

func (m *Manager) path() string { return filepath.Join(m.cfg.DataDir, "allocation.json") }

// SetClock replaces time.Now (tests).
func (m *Manager) SetClock(now func() time.Time) { m.now = now }

// Reconcile brings the saved allocation and Docker into agreement: it
// makes the isolated rental network, ends an allocation whose container is
// gone, removes one whose deadline passed, gives a live one its expiry
// timer back, and removes every container, volume and disk image of ours
// that belongs to no allocation (left by a crash or an outside removal).
func (m *Manager) Reconcile(ctx context.Context) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.cfg.Network != "" {
		if m.netErr = m.docker.EnsureRentalNetwork(ctx); m.netErr != nil {
			m.log.Error("rental network isolation unavailable; allocations are refused until it works (sn27 miner doctor)", "err", m.netErr)
		}
	}
	// After a reboot the rentals' disk images are no longer mounted: mount
	// them again (and restart their containers) before anything else.
	restarted, err := m.docker.RemountDisks(ctx)
	for _, c := range restarted {
		m.log.Info("remounted a rental's disk and restarted its container", "container", c)
	}
	if err != nil {
		m.log.Error("remount rental disks", "err", err)
	}
	if err := m.reconcileActiveLocked(ctx); err != nil {
		return err
	}
	keep := ""
	if m.st.Active != nil {
		keep = m.st.Active.ContainerID
	}
	removed, err := m.docker.RemoveOrphans(ctx, keep)
	for _, r := range removed {
		m.log.Warn("removed a rental leftover that belongs to no allocation", "object", r)
	}
	if err != nil {
		return fmt.Errorf("remove rental leftovers: %w", err)
	}
	return nil
}

func (m *Manager) reconcileActiveLocked(ctx context.Context) error {
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
	if r.Stopped == "" && (c.State == "exited" || c.State == "created" || c.State == "dead") {
		// Not stopped by us: its start after a reboot failed (a bind
		// source such as LXCFS's files missing then), or it crashed.
		if err := m.docker.Restart(ctx, r.ContainerID); err != nil {
			m.log.Error("the rental's container does not start; the rental is kept (if rentals use LXCFS, is lxcfs mounted? sn27 miner doctor)",
				"container", r.Name, "err", err)
		} else {
			m.log.Warn("the rental's container was not running; started it again", "container", r.Name, "was", c.State)
		}
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

// Drain prepares the miner for a restart (an update): it says whether no
// request is being served, and if none is, refuses requests that would
// change a rental from then on (allocate, deallocate, actions: the renter
// is told to try again in a minute; checks are still answered) and leaves
// expiry to the next start, which resumes the rental as it is. Held rentals are not
// disturbed: their containers run on without the miner. When a request is
// being served, Drain changes nothing and says so.
func (m *Manager) Drain() (ok bool, why string) {
	if !m.mu.TryLock() {
		return false, "an allocation request is being served"
	}
	defer m.mu.Unlock()
	m.draining = true
	if m.timer != nil {
		m.timer.Stop()
	}
	return true, ""
}

// Undrain serves requests again after Drain (the restart was called off).
func (m *Manager) Undrain() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.draining = false
	m.scheduleLocked()
}

func (m *Manager) scheduleLocked() {
	if m.timer != nil {
		m.timer.Stop()
	}
	if m.closed || m.draining || m.st.Active == nil {
		return
	}
	id := m.st.Active.ContainerID
	m.timer = time.AfterFunc(m.st.Active.Deadline.Sub(m.now()), func() { m.expire(id) })
}

func (m *Manager) expire(id string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.st.Active == nil || m.st.Active.ContainerID != id || m.closed || m.draining {
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
func answer(req *protocol.Allocate, v any) error {
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

// Refusal reasons, in the answer's "reason" field beside SN27's status and
// message, so that a renter can tell its own mistakes from the miner's state.
const (
	ReasonInvalid          = "invalid_request"   // the request itself is wrong: fix it
	ReasonAlreadyAllocated = "already_allocated" // the machine is rented
	ReasonRestarting       = "restarting"        // the miner is restarting (an update): try again shortly
)

func refuseWith(req *protocol.Allocate, reason, format string, args ...any) error {
	return answer(req, map[string]any{"status": false, "message": fmt.Sprintf(format, args...), "reason": reason})
}

// Allocate serves one Allocate synapse from validator.
func (m *Manager) Allocate(ctx context.Context, validator keys.Hotkey, req *protocol.Allocate) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	// Draining for a restart: what would change a rental waits for the new
	// binary; checks are answered (a validator asking whether the rental is
	// still held must hear yes).
	if m.draining && (req.DockerChange || !req.Checking) {
		return refuseWith(req, ReasonRestarting, "the miner is restarting into an update; try again in a minute (a rental it holds runs on)")
	}
	active := m.st.Active
	samePEM := active != nil && sameKey(active.Renter, req.PublicKey)
	switch {
	case req.DockerChange:
		if active == nil || !samePEM {
			return refuse(req, "no allocation of this public key")
		}
		return m.actionLocked(ctx, req)
	case req.Checking && req.Timeline != 0:
		if reason := m.invalidLocked(req); reason != "" {
			return refuseWith(req, ReasonInvalid, "%s", reason)
		}
		if active != nil {
			return refuseWith(req, ReasonAlreadyAllocated, "already allocated")
		}
		if reason := m.cannotLocked(ctx, req); reason != "" {
			return refuse(req, "%s", reason)
		}
		return answer(req, map[string]any{"status": true})
	case req.Checking:
		return m.checkLocked(ctx, req, samePEM)
	case req.Timeline != 0:
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

// checkLocked answers "do you still hold the rental of this key?": status
// true while its container exists (running or paused), with the container's
// state and the rental's deadline (fields SN27's Python renters ignore);
// status false with state "none", which proves it is gone. A container that
// vanished ends the allocation here and now.
func (m *Manager) checkLocked(ctx context.Context, req *protocol.Allocate, samePEM bool) error {
	if !samePEM {
		return answer(req, protocol.AllocationCheck{Status: false, State: "none", Message: "no rental of this public key"})
	}
	active := m.st.Active
	c, err := m.docker.Inspect(ctx, active.ContainerID)
	if errors.Is(err, docker.ErrNotFound) {
		m.log.Warn("allocated container is gone; ending the allocation", "container", active.Name)
		if err := m.clearLocked(); err != nil {
			return err
		}
		if _, err := m.docker.RemoveOrphans(ctx, ""); err != nil {
			m.log.Error("remove the lost rental's volume", "err", err)
		}
		return answer(req, protocol.AllocationCheck{Status: false, State: "none", Message: "the rental's container is gone"})
	}
	if err != nil {
		return fmt.Errorf("inspect allocated container: %w", err)
	}
	ans := protocol.AllocationCheck{Status: true, State: c.State, Deadline: active.Deadline.UTC().Format(time.RFC3339),
		Reason: active.Stopped, DiskLimit: active.RootLimit}
	if m.diskUsed >= 0 {
		ans.DiskUsed = m.diskUsed
	}
	return answer(req, ans)
}

// invalidLocked says what is wrong with the request itself ("" = nothing),
// before any arithmetic on its numbers.
func (m *Manager) invalidLocked(req *protocol.Allocate) string {
	maxMinutes := int64(m.cfg.MaxTimeline / time.Minute)
	if req.Timeline < 1 || req.Timeline > maxMinutes {
		return fmt.Sprintf("timeline %d minutes is outside 1..%d", req.Timeline, maxMinutes)
	}
	r, err := req.Requirement()
	if err != nil {
		return err.Error()
	}
	switch {
	case r.CPU.Count < 0:
		return fmt.Sprintf("cpu.count %d is negative", r.CPU.Count)
	case r.RAM.Capacity < 0:
		return fmt.Sprintf("ram.capacity %d is negative", r.RAM.Capacity)
	case r.HardDisk.Capacity < 0:
		return fmt.Sprintf("hard_disk.capacity %d is negative", r.HardDisk.Capacity)
	case r.GPU.Capacity < 0:
		return fmt.Sprintf("gpu.capacity %d is negative", r.GPU.Capacity)
	case r.GPU.Count < -1:
		return fmt.Sprintf("gpu.count %d is negative", r.GPU.Count)
	case r.GPU.Count == -1 && !m.cfg.AllowAllGPUs:
		return "gpu.count -1 asks for every GPU, which this miner does not allow; ask for a number"
	case r.RAM.Capacity > 0 && r.RAM.Capacity < 64<<20:
		return fmt.Sprintf("ram.capacity %d bytes is below 64 MiB", r.RAM.Capacity)
	}
	dr, err := req.Docker()
	if err != nil {
		return err.Error()
	}
	if key := strings.TrimSpace(dr.SSHKey); key != "" {
		if strings.ContainsAny(key, "\r\n") {
			return "ssh_key: want one OpenSSH public key line"
		}
		if _, _, _, _, err := ssh.ParseAuthorizedKey([]byte(key)); err != nil {
			return fmt.Sprintf("ssh_key: not an OpenSSH public key: %v", err)
		}
	}
	if strings.TrimSpace(dr.Dockerfile) != "" {
		return "custom dockerfiles are not run on this miner; the allocation image is fixed"
	}
	if _, err := ParseRenterKey(req.PublicKey); err != nil && req.PublicKey != "" {
		return err.Error()
	}
	return ""
}

// withDefaults fills the limits a request left out with the miner's.
func (m *Manager) withDefaults(r protocol.DeviceRequirement) protocol.DeviceRequirement {
	if r.CPU.Count == 0 {
		r.CPU.Count = min(max(m.cfg.DefaultCPUs, 1), int64(runtime.NumCPU()))
	}
	if r.RAM.Capacity == 0 {
		r.RAM.Capacity = m.cfg.DefaultRAMBytes
	}
	if r.HardDisk.Capacity == 0 {
		r.HardDisk.Capacity = m.cfg.DefaultDiskBytes
	}
	return r
}

// waitSSH waits until 127.0.0.1:port answers with an SSH identification
// line.
func waitSSH(ctx context.Context, port int, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var last error
	for {
		last = ProbeSSH(ctx, "127.0.0.1", port, 2*time.Second)
		if last == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("sshd on port %d did not answer within %v: %w", port, timeout, last)
		case <-time.After(50 * time.Millisecond):
		}
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
	if m.netErr != nil {
		return "network isolation of rentals is unavailable on this miner"
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
		gpus := r.GPU.Count
		if gpus < 0 {
			gpus = 0 // every GPU there is: no minimum
		}
		if ok, why := rep.Meets(hwspec.Requirement{
			CPUCount: r.CPU.Count, GPUCount: gpus, GPUCapacityMiB: r.GPU.Capacity, GPUType: r.GPU.Type,
			DiskBytes: r.HardDisk.Capacity, RAMBytes: r.RAM.Capacity,
		}); !ok {
			return "request exceeds this machine: " + why
		}
	}
	return m.noSpaceLocked(ctx, m.withDefaults(r))
}

// gpuDevices is the NVIDIA devices a rental of r gets.
func (m *Manager) gpuDevices(r protocol.DeviceRequirement) int {
	if m.cfg.NoGPUDevices {
		return 0
	}
	return int(r.GPU.Count)
}

// rootLimit is the root filesystem limit of a rental of r.
func (m *Manager) rootLimit(r protocol.DeviceRequirement) int64 {
	if m.cfg.RootDiskBytes > 0 {
		return m.cfg.RootDiskBytes
	}
	return r.HardDisk.Capacity
}

// noSpaceLocked says why the host's disks cannot hold what a rental of r
// is promised ("" = they can); see shortfall.
func (m *Manager) noSpaceLocked(ctx context.Context, r protocol.DeviceRequirement) string {
	sp, err := m.docker.Space(ctx)
	if err != nil {
		m.log.Error("measure free disk space", "err", err)
		return "cannot measure this miner's free disk space"
	}
	return shortfall(sp, m.rootLimit(r), r.HardDisk.Capacity, m.cfg.DiskReserveBytes)
}

// shortfall says why sp cannot hold a rental's root limit and its /data
// (preallocated in the disk dir; nothing there without one) beside what
// the other rentals on the daemon were promised and have not written yet
// and reserve kept for the host ("" = it can). All figures are bytes,
// each at most a few PiB, so no sum overflows.
func shortfall(sp docker.Space, root, data, reserve int64) string {
	if sp.DiskDir == "" {
		data = 0
	}
	gib := func(b int64) string { return fmt.Sprintf("%.1f GiB", float64(b)/(1<<30)) }
	rootAvail := sp.RootFree - sp.Outstanding - reserve
	if sp.SameFS || sp.DiskDir == "" {
		if root+data > rootAvail {
			return fmt.Sprintf("not enough disk: the rental needs %s (/data %s, root filesystem %s); this miner has %s free, %s promised to %d other rentals, %s kept for the host",
				gib(root+data), gib(data), gib(root), gib(sp.RootFree), gib(sp.Outstanding), sp.Rentals, gib(reserve))
		}
		return ""
	}
	if root > rootAvail {
		return fmt.Sprintf("not enough disk: the root filesystem needs %s; docker's disk has %s free, %s promised to %d other rentals, %s kept for the host",
			gib(root), gib(sp.RootFree), gib(sp.Outstanding), sp.Rentals, gib(reserve))
	}
	if data > sp.DiskFree-reserve {
		return fmt.Sprintf("not enough disk: /data needs %s; the disk dir has %s free, %s kept for the host", gib(data), gib(sp.DiskFree), gib(reserve))
	}
	return ""
}

func (m *Manager) allocateLocked(ctx context.Context, validator keys.Hotkey, req *protocol.Allocate) error {
	if reason := m.invalidLocked(req); reason != "" {
		return refuseWith(req, ReasonInvalid, "%s", reason)
	}
	if m.st.Active != nil {
		return refuseWith(req, ReasonAlreadyAllocated, "already allocated")
	}
	pub, err := ParseRenterKey(req.PublicKey)
	if err != nil {
		return refuseWith(req, ReasonInvalid, "%v", err)
	}
	dr, err := req.Docker()
	if err != nil {
		return refuseWith(req, ReasonInvalid, "%v", err)
	}
	timeline := time.Duration(req.Timeline) * time.Minute // 1..MaxTimeline: checked above
	if reason := m.cannotLocked(ctx, req); reason != "" {
		return refuse(req, "%s", reason)
	}
	asked, _ := req.Requirement()
	r := m.withDefaults(asked)
	password := ""
	if strings.TrimSpace(dr.SSHKey) == "" {
		if password, err = newPassword(20); err != nil {
			return err
		}
	}
	hostKey, hostPub, err := docker.NewHostKey()
	if err != nil {
		return fmt.Errorf("make the rental's ssh host key: %w", err)
	}
	sum := sha256.Sum256([]byte(strings.TrimSpace(req.PublicKey)))
	id := hex.EncodeToString(sum[:6]) + fmt.Sprint(m.now().Unix()%100000)
	name := "sn27-alloc-" + id
	spec := docker.ContainerSpec{
		Name: name, Image: m.cfg.Image,
		Labels: map[string]string{"sn27.allocation": "1", "sn27.renter": hex.EncodeToString(sum[:8]), "sn27.validator": string(validator)},
		Resources: docker.Resources{
			CPUs: int(r.CPU.Count), MemoryBytes: r.RAM.Capacity, PidsLimit: m.cfg.PidsLimit, ShmBytes: m.cfg.ShmBytes,
			DiskBytes: r.HardDisk.Capacity, RootBytes: m.rootLimit(r), GPUs: m.gpuDevices(r),
		},
		SSHHostPort:   m.cfg.SSHPort,
		Volume:        name,
		Network:       m.cfg.Network,
		AuthorizedKey: strings.TrimSpace(dr.SSHKey),
		RootPassword:  password,
		HostKey:       hostKey,
	}
	cid, warnings, err := m.docker.Create(ctx, spec)
	if err != nil {
		m.log.Error("create allocation container", "err", err)
		return refuse(req, "could not start the container: %v", err)
	}
	// Ready means ready: the renter gets the answer once sshd answers.
	if err := waitSSH(ctx, m.cfg.SSHPort, m.cfg.ReadyTimeout); err != nil {
		m.log.Error("allocation container not reachable by ssh; removing it", "container", name, "err", err)
		if rerr := m.docker.Remove(context.WithoutCancel(ctx), cid); rerr != nil {
			m.log.Error("remove unreachable allocation container", "err", rerr)
		}
		return refuse(req, "the container's ssh did not come up: %v", err)
	}
	for _, w := range warnings {
		m.log.Warn("allocation limit not applied", "warning", w)
	}
	quota := false
	if ct, err := m.docker.Inspect(ctx, cid); err == nil {
		quota = ct.RootQuota > 0
	}
	rec := &Record{
		Renter: req.PublicKey, Validator: string(validator), ContainerID: cid, Name: name, Volume: name,
		SSHPort: m.cfg.SSHPort, SSHKey: spec.AuthorizedKey, HostKey: hostPub, Created: m.now(), Deadline: m.now().Add(timeline), Requirement: r,
		RootLimit: spec.Resources.RootBytes, RootQuota: quota,
	}
	m.diskUsed, m.diskWarn = -1, false
	next := m.st
	next.Active = rec
	if err := saveState(m.path(), next); err != nil {
		_ = m.docker.Remove(context.WithoutCancel(ctx), cid) // never run a container we could lose track of
		return err
	}
	m.st = next
	m.scheduleLocked()
	info, err := EncryptCredentials(pub, Credentials{Username: "root", Password: password, Port: m.cfg.SSHPort, HostKey: hostPub})
	if err != nil {
		return err
	}
	m.log.Info("allocated", "container", name, "validator", validator, "minutes", req.Timeline, "cpus", r.CPU.Count,
		"ram", r.RAM.Capacity, "disk", r.HardDisk.Capacity, "warnings", len(warnings))
	return answer(req, map[string]any{"status": true, "info": info, "warnings": warnings, "deadline": rec.Deadline.UTC().Format(time.RFC3339)})
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
		err = m.restartLocked(ctx, id)
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
