package allocation

import (
	"context"
	"errors"
	"time"

	"github.com/sn27/sn27/internal/docker"
)

// StopDiskQuota is why the miner stopped a rental whose root filesystem
// reached its limit (Record.Stopped, the checking answer's reason).
const StopDiskQuota = "disk_quota"

// DiskWarnShare of the root limit is where the renter is warned (the
// checking answer's disk_used; the renter API's webhook).
const DiskWarnShare = 0.9

// Watch keeps the rentals' promises while ctx lives: it checks the rental
// network's firewall rules every IsolationCheck and repairs them, and
// measures the active rental's writable layer every DiskCheck (more often
// near its limit), stopping the container at the limit with reason
// disk_quota where no storage quota enforces it. The container, its
// files and /data are kept; a restart by the renter gives DiskGrace to
// free space.
func (m *Manager) Watch(ctx context.Context) {
	lastNet := time.Now() // Reconcile has just installed the rules
	for {
		wait := m.cfg.IsolationCheck
		if wait > 0 && time.Since(lastNet) >= wait {
			m.checkNetwork(ctx)
			lastNet = time.Now()
		}
		if disk := m.cfg.DiskCheck; disk > 0 {
			if m.watchDisk(ctx) && m.cfg.DiskCheckNear > 0 {
				disk = min(disk, m.cfg.DiskCheckNear)
			}
			if wait <= 0 || disk < wait {
				wait = disk
			}
		}
		if wait <= 0 {
			return // nothing to watch
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
	}
}

// checkNetwork repairs the rental network's isolation when a firewall
// reload or another tool took rules away.
func (m *Manager) checkNetwork(ctx context.Context) {
	if m.cfg.Network == "" {
		return
	}
	cctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	err := m.docker.CheckIsolation(cctx)
	if err == nil {
		m.setNetErr(nil)
		return
	}
	if ctx.Err() != nil {
		return
	}
	m.log.Warn("rental isolation incomplete; repairing it", "err", err)
	err = m.docker.EnsureRentalNetwork(cctx)
	if err != nil {
		m.log.Error("rental network isolation unavailable; allocations are refused until it works (sn27 miner doctor)", "err", err)
	}
	m.setNetErr(err)
}

func (m *Manager) setNetErr(err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.netErr = err
}

// watchDisk measures the active rental's writable layer once and acts on
// it; it reports whether the layer is near (75 %+) its limit.
func (m *Manager) watchDisk(ctx context.Context) (near bool) {
	m.mu.Lock()
	rec := m.st.Active
	if rec == nil || rec.RootLimit <= 0 || rec.Stopped != "" {
		m.mu.Unlock()
		return false
	}
	id, limit := rec.ContainerID, rec.RootLimit
	m.mu.Unlock()

	// Measured without the lock: the daemon walks the layer.
	cctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	used, err := m.docker.WritableBytes(cctx, id)
	cancel()
	if err != nil {
		if ctx.Err() == nil && !errors.Is(err, docker.ErrNotFound) {
			m.log.Warn("measure the rental's root filesystem", "err", err)
		}
		return false
	}

	m.mu.Lock()
	defer m.mu.Unlock()
	rec = m.st.Active
	if rec == nil || rec.ContainerID != id || rec.Stopped != "" || m.draining {
		return false
	}
	m.diskUsed = used
	warn := float64(used) >= DiskWarnShare*float64(limit)
	if warn && !m.diskWarn {
		m.log.Warn("rental's root filesystem is near its limit", "container", rec.Name, "used", used, "limit", limit)
	}
	m.diskWarn = warn
	if rec.RootQuota {
		return false // the storage driver enforces it: writes fail with ENOSPC
	}
	over := used >= limit
	if now := m.now(); now.Before(rec.GraceUntil) {
		over = used > max(limit, rec.GraceBase)+limit/20
	}
	if !over {
		return float64(used) >= 0.75*float64(limit)
	}
	return m.stopForDiskLocked(ctx, used)
}

// stopForDiskLocked stops the active rental's container for disk_quota and
// records why; the rental itself goes on (its deadline, its files).
func (m *Manager) stopForDiskLocked(ctx context.Context, used int64) bool {
	rec := *m.st.Active
	m.log.Warn("rental's root filesystem reached its limit; stopping the container (the rental, its files and /data are kept)",
		"container", rec.Name, "used", used, "limit", rec.RootLimit)
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	// A short grace: the renter's writes go on until the processes end.
	if err := m.docker.Stop(sctx, rec.ContainerID, time.Second); err != nil {
		m.log.Error("stop the rental over its disk limit", "container", rec.Name, "err", err)
		return true // near: tried again soon
	}
	rec.Stopped, rec.StoppedAt = StopDiskQuota, m.now()
	rec.GraceUntil, rec.GraceBase = time.Time{}, 0
	next := m.st
	next.Active = &rec
	if err := saveState(m.path(), next); err != nil {
		m.log.Error("record the disk_quota stop", "err", err)
		return false
	}
	m.st = next
	return false
}

// restartLocked restarts the active rental's container; one the miner
// stopped for disk_quota gets DiskGrace to free space from now.
func (m *Manager) restartLocked(ctx context.Context, id string) error {
	rec := *m.st.Active
	base := int64(0)
	if rec.Stopped == StopDiskQuota {
		b, err := m.docker.WritableBytes(ctx, id)
		if err != nil {
			return err
		}
		base = b
	}
	if err := m.docker.Restart(ctx, id); err != nil {
		return err
	}
	// Ready means ready here too: the answer comes once sshd answers.
	if err := waitSSH(ctx, rec.SSHPort, m.cfg.ReadyTimeout); err != nil {
		m.log.Warn("restarted rental's sshd is not answering yet", "container", rec.Name, "err", err)
	}
	if rec.Stopped == "" {
		return nil
	}
	rec.Stopped, rec.StoppedAt = "", time.Time{}
	rec.GraceUntil, rec.GraceBase = m.now().Add(m.cfg.DiskGrace), base
	next := m.st
	next.Active = &rec
	if err := saveState(m.path(), next); err != nil {
		return err
	}
	m.st = next
	m.diskUsed = base
	m.log.Info("rental stopped for disk_quota restarted by its renter; grace period to free space", "container", rec.Name, "until", rec.GraceUntil, "used", base, "limit", rec.RootLimit)
	return nil
}
