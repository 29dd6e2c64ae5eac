package api

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"
)

// probeTimeout bounds one SSH banner probe.
const probeTimeout = 5 * time.Second

// probeSSH connects to host:port and reads the SSH identification line,
// which must start with "SSH-2.0" (or "SSH-1.99", a 2.0-compatible server).
func probeSSH(ctx context.Context, host string, port int, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", net.JoinHostPort(host, strconv.Itoa(port)))
	if err != nil {
		return err
	}
	defer c.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = c.SetDeadline(dl)
	}
	// RFC 4253 allows other lines before the identification; read a few.
	br := bufio.NewReaderSize(c, 256)
	for range 5 {
		line, err := br.ReadSlice('\n')
		if err != nil && !errors.Is(err, bufio.ErrBufferFull) {
			return fmt.Errorf("read ssh banner: %w", err)
		}
		s := string(line)
		if strings.HasPrefix(s, "SSH-2.0-") || strings.HasPrefix(s, "SSH-1.99-") {
			return nil
		}
		if strings.HasPrefix(s, "SSH-") {
			return fmt.Errorf("unsupported ssh version %q", strings.TrimSpace(s))
		}
	}
	return errors.New("no ssh banner")
}

// monitor is the health loop: it probes every allocation each interval,
// emits allocation.status on status changes, and ends an allocation after
// the configured number of consecutive failures. Its state is in memory: a
// restarted API starts every allocation at "unknown".
type monitor struct {
	s *Server

	mu    sync.Mutex
	state map[string]*probeState // by hotkey
	ended map[string]time.Time   // hotkeys ended by us, and when
}

type probeState struct {
	status   string // online, offline
	failures int
	seen     time.Time
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

// status is the last probe result of hotkey: online, offline or unknown.
func (m *monitor) status(hotkey string) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	if st, ok := m.state[hotkey]; ok {
		return st.status
	}
	return "unknown"
}

// forget drops hotkey after this API ended it, so that the health loop does
// not report it again as "ended" nor probe it with a list read earlier.
func (m *monitor) forget(hotkey string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.state, hotkey)
	m.ended[hotkey] = m.s.now()
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
	timeout := min(max(s.cfg.HealthInterval, time.Second), probeTimeout)
	results := make([]error, len(list))
	var wg sync.WaitGroup
	sem := make(chan struct{}, 16)
	for i, a := range list {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			results[i] = probeSSH(ctx, a.Host, a.Port, timeout)
		})
	}
	wg.Wait()
	if ctx.Err() != nil {
		return
	}

	type event struct {
		typ  string
		data any
	}
	var events []event
	var unhealthy []string
	m.mu.Lock()
	present := make(map[string]bool, len(list))
	for i, a := range list {
		present[a.Hotkey] = true
		if t, ok := m.ended[a.Hotkey]; ok {
			if !t.Before(fetched) {
				continue // ended after the list was read
			}
			delete(m.ended, a.Hotkey) // allocated again since
		}
		st := m.state[a.Hotkey]
		prev := "unknown"
		if st == nil {
			st = &probeState{}
			m.state[a.Hotkey] = st
		} else {
			prev = st.status
		}
		st.seen = fetched
		if results[i] == nil {
			st.failures, st.status = 0, "online"
		} else {
			st.failures++
			st.status = "offline"
			s.log.Debug("health: probe failed", "hotkey", a.Hotkey, "failures", st.failures, "err", results[i])
		}
		if st.status != prev {
			events = append(events, event{EventStatus, statusData{Hotkey: a.Hotkey, Host: a.Host, Port: a.Port,
				Status: st.status, Previous: prev, ConsecutiveFailures: st.failures}})
		}
		if st.failures >= s.cfg.HealthFailures {
			unhealthy = append(unhealthy, a.Hotkey)
		}
	}
	for hk, st := range m.state {
		if !present[hk] && st.seen.Before(fetched) {
			delete(m.state, hk)
			events = append(events, event{EventEnded, endedData{Hotkey: hk, Reason: "ended"}})
		}
	}
	for hk, t := range m.ended {
		if !present[hk] && t.Before(fetched) {
			delete(m.ended, hk)
		}
	}
	m.mu.Unlock()

	for _, e := range events {
		s.emit(ctx, e.typ, e.data)
	}
	for _, hk := range unhealthy {
		err := s.ops.Deallocate(ctx, hk)
		if err != nil && !errors.Is(err, ErrNotAllocated) {
			s.log.Error("health: deallocate unhealthy allocation; will retry", "hotkey", hk, "err", err)
			continue
		}
		s.log.Warn("health: allocation ended after failed SSH probes", "hotkey", hk, "failures", s.cfg.HealthFailures)
		m.forget(hk)
		s.emit(ctx, EventEnded, endedData{Hotkey: hk, Reason: "unhealthy"})
	}
}
