package api

import (
	"context"
	"errors"
	"slices"
	"sync"
	"time"

	"github.com/sn27/sn27/internal/allocation"
)

// probeTimeout bounds one SSH banner probe.
const probeTimeout = 5 * time.Second

// probeSSH is the SSH banner probe the miner also uses before it answers.
func probeSSH(ctx context.Context, host string, port int, timeout time.Duration) error {
	return allocation.ProbeSSH(ctx, host, port, timeout)
}

// checkTimeout bounds one Ops.Check, a request to the miner. A miner that
// does not answer in time counts as unreachable, which never ends a rental.
const checkTimeout = 10 * time.Second

// Health statuses of an allocation.
const (
	statusUnknown = "unknown"
	statusOnline  = "online"
	statusOffline = "offline"
	statusPaused  = "paused"
	statusStopped = "stopped" // the miner stopped the container (disk_quota): kept, a restart starts it
)

// monitor is the health loop. Every interval it lists the allocations. One
// past its deadline is forgotten (Ops.Forget, "expired") without a probe.
// For every other one it probes the SSH port and asks the miner (Ops.Check)
// at the same time, and the first rule that applies decides:
//
//   - the miner says it does not hold it: forgotten ("miner_lost");
//   - the miner says it stopped it (reason disk_quota): "stopped", failures
//     reset (health never ends it; the renter restarts it);
//   - the probe answers: "online", failures reset;
//   - the miner says it is paused: "paused", failures reset (health never
//     ends a paused rental);
//   - the miner could not be asked: "offline", the failure not counted (no
//     evidence either way);
//   - the miner says it runs it ("running", or no state but held): "offline"
//     and a counted failure; HealthFailures of them in a row end it
//     (Ops.Deallocate, "unhealthy");
//   - any other state ("restarting", "exited", ...): "offline", not counted.
//
// An allocation that left the list without this API ending it is reported
// ended with the reason Ops.Ended gives ("ended" when none is recorded).
// allocation.status is emitted when the status changes. The state is in
// memory: a restarted API starts every allocation at "unknown".
type monitor struct {
	s *Server

	mu    sync.Mutex
	state map[string]*probeState // by hotkey
	ended map[string]time.Time   // hotkeys ended by us, and when
}

type probeState struct {
	host     string
	port     int
	status   string // online, offline, paused, unknown
	reported string // the status of the last allocation.status event
	failures int
	reason   string    // why the miner stopped it ("" running)
	diskWarn bool      // the last check said the root filesystem was at 90 %+
	seen     time.Time // when the list that last held it was read
	set      time.Time // when a route last set the status; older observations are dropped
}

func newMonitor(s *Server) *monitor {
	return &monitor{s: s, state: map[string]*probeState{}, ended: map[string]time.Time{}}
}

func (m *monitor) run(ctx context.Context) {
	t := time.NewTicker(m.s.cfg.HealthInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			m.tick(ctx)
		}
	}
}

// status is the health status of hotkey: online, offline, paused or unknown.
func (m *monitor) status(hotkey string) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	if st, ok := m.state[hotkey]; ok {
		return st.status
	}
	return statusUnknown
}

// forget drops hotkey after this API ended it, so that the health loop does
// not report it again as "ended" nor probe it with a list read earlier.
func (m *monitor) forget(hotkey string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.state, hotkey)
	m.ended[hotkey] = m.s.now()
}

// set records status after a route changed the allocation: "paused" after a
// pause, "unknown" (probed again at the next tick) after an unpause. A tick
// that read the list before now does not overwrite it. A change to a status
// other than unknown is emitted.
func (m *monitor) set(ctx context.Context, hotkey, status string) {
	m.mu.Lock()
	st := m.state[hotkey]
	if st == nil {
		st = &probeState{status: statusUnknown, reported: statusUnknown}
		m.state[hotkey] = st
	}
	now := m.s.now()
	st.status, st.failures, st.set, st.seen = status, 0, now, now
	emit := status != statusUnknown && status != st.reported
	ev := statusData{Hotkey: hotkey, Host: st.host, Port: st.port, Status: status, Previous: st.reported}
	if emit {
		st.reported = status
	}
	m.mu.Unlock()
	if !emit {
		return
	}
	if ev.Host == "" {
		if list, err := m.s.ops.Allocations(ctx); err == nil {
			for _, a := range list {
				if a.Hotkey == hotkey {
					ev.Host, ev.Port = a.Host, a.Port
				}
			}
		}
	}
	m.s.emit(ctx, EventStatus, ev)
}

// endedReason is why hotkey's rental ended according to Ops.Ended, or
// fallback when no end is recorded.
func (m *monitor) endedReason(ctx context.Context, hotkey, fallback string) string {
	r, ok, err := m.s.ops.Ended(ctx, hotkey)
	if err != nil {
		if ctx.Err() == nil {
			m.s.log.Warn("health: read why an allocation ended", "hotkey", hotkey, "err", err)
		}
		return fallback
	}
	if !ok || r == "" {
		return fallback
	}
	return r
}

// observation is one allocation's SSH probe and miner check in a tick.
type observation struct {
	probe    error
	miner    MinerStatus
	checkErr error
}

// verdict is what a tick decided for one allocation.
type verdict int

const (
	keep      verdict = iota
	lost              // the miner no longer holds it
	unhealthy         // enough counted failures
)

// judge applies obs to st and reports what to do with the allocation.
func judge(st *probeState, obs observation, maxFailures int) verdict {
	switch {
	case obs.checkErr == nil && !obs.miner.Held:
		return lost
	case obs.checkErr == nil && obs.miner.Reason != "" && obs.probe != nil:
		st.status, st.failures, st.reason = statusStopped, 0, obs.miner.Reason
		return keep
	case obs.probe == nil:
		st.status, st.failures = statusOnline, 0
	case obs.checkErr == nil && obs.miner.State == "paused":
		st.status, st.failures = statusPaused, 0
	case obs.checkErr != nil:
		st.status = statusOffline // the miner could not be asked: not counted
	case obs.miner.State == "running" || obs.miner.State == "":
		st.status = statusOffline
		st.failures++
		if st.failures >= maxFailures {
			return unhealthy
		}
	default:
		st.status = statusOffline // restarting, exited, ...: not counted
	}
	return keep
}

func (m *monitor) tick(ctx context.Context) {
	s := m.s
	fetched := s.now()
	list, err := s.ops.Allocations(ctx)
	if err != nil {
		if ctx.Err() == nil {
			s.log.Error("health: list allocations", "err", err)
		}
		return
	}
	present := make(map[string]bool, len(list))
	var live []AllocationInfo
	var expired []string
	for _, a := range list {
		present[a.Hotkey] = true
		if !a.Deadline.IsZero() && !fetched.Before(a.Deadline) {
			expired = append(expired, a.Hotkey)
		} else {
			live = append(live, a)
		}
	}

	probeTO := min(max(s.cfg.HealthInterval, time.Second), probeTimeout)
	obs := make([]observation, len(live))
	var wg sync.WaitGroup
	sem := make(chan struct{}, 16)
	for i, a := range live {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			done := make(chan struct{})
			go func() {
				defer close(done)
				obs[i].probe = probeSSH(ctx, a.Host, a.Port, probeTO)
			}()
			cctx, cancel := context.WithTimeout(ctx, checkTimeout)
			obs[i].miner, obs[i].checkErr = s.ops.Check(cctx, a.Hotkey)
			cancel()
			<-done
		})
	}
	wg.Wait()
	if ctx.Err() != nil {
		return
	}

	var statusEvents []statusData
	var diskEvents []diskData
	var minerLost, toEnd, vanished []string
	m.mu.Lock()
	for i, a := range live {
		if t, ok := m.ended[a.Hotkey]; ok {
			if !t.Before(fetched) {
				continue // ended after the list was read
			}
			delete(m.ended, a.Hotkey) // allocated again since
		}
		o := obs[i]
		if errors.Is(o.checkErr, ErrNotAllocated) {
			continue // gone since the list was read; the next tick reports it
		}
		st := m.state[a.Hotkey]
		if st == nil {
			st = &probeState{status: statusUnknown, reported: statusUnknown}
			m.state[a.Hotkey] = st
		}
		st.host, st.port, st.seen = a.Host, a.Port, fetched
		if !st.set.Before(fetched) {
			continue // a route set the status after the list was read
		}
		switch judge(st, o, s.cfg.HealthFailures) {
		case lost:
			minerLost = append(minerLost, a.Hotkey)
			continue
		case unhealthy:
			toEnd = append(toEnd, a.Hotkey)
		}
		if o.probe != nil {
			s.log.Debug("health: probe failed", "hotkey", a.Hotkey, "status", st.status, "miner_state", o.miner.State,
				"failures", st.failures, "err", o.probe, "check_err", o.checkErr)
		}
		if st.status != statusStopped {
			st.reason = ""
		}
		if st.status != st.reported {
			statusEvents = append(statusEvents, statusData{Hotkey: a.Hotkey, Host: a.Host, Port: a.Port,
				Status: st.status, Previous: st.reported, ConsecutiveFailures: st.failures, Reason: st.reason})
			st.reported = st.status
		}
		if o.checkErr == nil && o.miner.DiskLimit > 0 {
			warn := float64(o.miner.DiskUsed) >= allocation.DiskWarnShare*float64(o.miner.DiskLimit)
			if warn && !st.diskWarn {
				diskEvents = append(diskEvents, diskData{Hotkey: a.Hotkey, Host: a.Host, Port: a.Port,
					UsedBytes: o.miner.DiskUsed, LimitBytes: o.miner.DiskLimit})
			}
			st.diskWarn = warn
		}
	}
	for hk, st := range m.state {
		if !present[hk] && st.seen.Before(fetched) && st.set.Before(fetched) {
			delete(m.state, hk)
			vanished = append(vanished, hk)
		}
	}
	for hk, t := range m.ended {
		if !present[hk] && t.Before(fetched) {
			delete(m.ended, hk)
		}
	}
	m.mu.Unlock()
	slices.Sort(vanished)

	for _, ev := range statusEvents {
		s.emit(ctx, EventStatus, ev)
	}
	for _, ev := range diskEvents {
		s.emit(ctx, EventDisk, ev)
	}
	for _, hk := range vanished {
		s.emit(ctx, EventEnded, endedData{Hotkey: hk, Reason: m.endedReason(ctx, hk, "ended")})
	}
	for _, hk := range expired {
		m.end(ctx, fetched, hk, ReasonExpired, func() error { return s.ops.Forget(ctx, hk, ReasonExpired) })
	}
	for _, hk := range minerLost {
		m.end(ctx, fetched, hk, ReasonMinerLost, func() error { return s.ops.Forget(ctx, hk, ReasonMinerLost) })
	}
	for _, hk := range toEnd {
		m.end(ctx, fetched, hk, ReasonUnhealthy, func() error {
			if d, ok := s.ops.(reasonDeallocator); ok {
				return d.DeallocateReason(ctx, hk, ReasonUnhealthy)
			}
			return s.ops.Deallocate(ctx, hk)
		})
	}
}

// end ends hotkey's rental with op and emits allocation.ended with reason,
// unless a route of this API ended it after the list was read at fetched
// (the route emitted the event). When op finds no record, someone else ended
// the rental first, and the event carries the recorded reason. On another
// error nothing is emitted and the next tick tries again.
func (m *monitor) end(ctx context.Context, fetched time.Time, hotkey, reason string, op func() error) {
	s := m.s
	endedSince := func() bool {
		m.mu.Lock()
		defer m.mu.Unlock()
		t, ok := m.ended[hotkey]
		return ok && !t.Before(fetched)
	}
	if endedSince() {
		return // a route ended it, and may have allocated it again
	}
	err := op()
	switch {
	case errors.Is(err, ErrNotAllocated):
		if endedSince() {
			return
		}
		reason = m.endedReason(ctx, hotkey, reason)
	case err != nil:
		if ctx.Err() == nil {
			s.log.Error("health: end allocation; will retry", "hotkey", hotkey, "reason", reason, "err", err)
		}
		return
	}
	s.log.Warn("health: allocation ended", "hotkey", hotkey, "reason", reason)
	m.forget(hotkey)
	s.emit(ctx, EventEnded, endedData{Hotkey: hotkey, Reason: reason})
}

// reasonDeallocator is an Ops that records why it deallocates (the renter's
// store keeps the reason, which the validator and Ops.Ended read).
type reasonDeallocator interface {
	DeallocateReason(ctx context.Context, hotkey, reason string) error
}
