package api

import (
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// sshServer answers every connection with an SSH banner.
func sshServer(t *testing.T) (host string, port int) {
	t.Helper()
	host, port, _ = countingSSHServer(t)
	return host, port
}

// countingSSHServer is an sshServer that counts the connections it accepts.
func countingSSHServer(t *testing.T) (host string, port int, conns *atomic.Int64) {
	t.Helper()
	conns = new(atomic.Int64)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns.Add(1)
			c.Write([]byte("SSH-2.0-test\r\n"))
			c.Close()
		}
	}()
	a := ln.Addr().(*net.TCPAddr)
	return a.IP.String(), a.Port, conns
}

func closedPort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	return p
}

func TestHealthLoop(t *testing.T) {
	rcHost, rcPort := sshServer(t)
	dead := closedPort(t)
	e := newEnv(t, func(c *Config) {
		c.HealthInterval, c.HealthFailures = 30*time.Millisecond, 3
		c.WebhookURL, c.WebhookSecret = "http://127.0.0.1:1/hook", secret // events stay in the outbox
	})
	e.ops.allocs = []AllocationInfo{
		{Hotkey: hk1, Host: "127.0.0.1", Port: dead},
		{Hotkey: hk2, Host: rcHost, Port: rcPort},
	}
	stop := runServer(t, e.s)
	waitFor(t, "unhealthy deallocation", 5*time.Second, func() bool { return e.ops.count("deallocate") >= 1 })
	time.Sleep(200 * time.Millisecond) // several more ticks
	if st := e.s.health.status(hk2); st != "online" {
		t.Errorf("healthy allocation status = %q; want online", st)
	}
	stop()
	e.ops.mu.Lock()
	got := slices.Clone(e.ops.deallocated)
	e.ops.mu.Unlock()
	if !slices.Equal(got, []string{hk1}) {
		t.Fatalf("deallocated %v; want [%s] only", got, hk1)
	}
	events := outboxEvents(t, e)
	want := []string{"allocation.status hk1 offline", "allocation.status hk2 online", "allocation.ended hk1 unhealthy"}
	if !slices.Equal(events, want) {
		t.Errorf("events = %q; want %q", events, want)
	}
}

func TestProbeSSH(t *testing.T) {
	host, port := sshServer(t)
	if err := probeSSH(t.Context(), host, port, time.Second); err != nil {
		t.Errorf("probe of an SSH server: %v", err)
	}
	if err := probeSSH(t.Context(), "127.0.0.1", closedPort(t), time.Second); err == nil {
		t.Errorf("probe of a closed port succeeded")
	}
	// A server that says nothing fails within the timeout.
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	defer ln.Close()
	start := time.Now()
	if err := probeSSH(t.Context(), "127.0.0.1", ln.Addr().(*net.TCPAddr).Port, 200*time.Millisecond); err == nil || time.Since(start) > 2*time.Second {
		t.Errorf("probe of a silent port = %v after %v", err, time.Since(start))
	}
}

// outboxEvents lists the queued webhook events as "event hk status-or-reason"
// (hk1, hk2). The server must be stopped: Run closed the database, which is
// reopened to read.
func outboxEvents(t *testing.T, e *env) []string {
	t.Helper()
	db, err := openDB(t.Context(), e.s.cfg.DataDir)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	r, err := db.Query(`SELECT event, json_extract(body, '$.data.hotkey'), COALESCE(json_extract(body, '$.data.reason'), json_extract(body, '$.data.status'), json_extract(body, '$.data.used_bytes')) FROM outbox ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var events []string
	for r.Next() {
		var ev, hk, what string
		if err := r.Scan(&ev, &hk, &what); err != nil {
			t.Fatal(err)
		}
		short := map[string]string{hk1: "hk1", hk2: "hk2"}[hk]
		events = append(events, ev+" "+short+" "+what)
	}
	if err := r.Err(); err != nil {
		t.Fatal(err)
	}
	return events
}

// healthEnv is an env whose health loop ticks every 20ms and ends an
// allocation after failures counted failures; its events stay in the outbox.
func healthEnv(t *testing.T, failures int) *env {
	t.Helper()
	return newEnv(t, func(c *Config) {
		c.HealthInterval, c.HealthFailures = 20*time.Millisecond, failures
		c.WebhookURL, c.WebhookSecret = "http://127.0.0.1:1/hook", secret
	})
}

func TestJudge(t *testing.T) {
	down := errors.New("connection refused")
	unreachable := errors.New("dial miner: i/o timeout")
	running := MinerStatus{Held: true, State: "running"}
	tests := []struct {
		name         string
		failures     int // before
		obs          observation
		want         verdict
		status       string
		wantFailures int
	}{
		{"miner lost", 0, observation{miner: MinerStatus{}}, lost, statusUnknown, 0},
		{"miner lost, port down", 2, observation{probe: down, miner: MinerStatus{}}, lost, statusUnknown, 2},
		{"online", 2, observation{miner: running}, keep, statusOnline, 0},
		{"online, miner unreachable", 2, observation{checkErr: unreachable}, keep, statusOnline, 0},
		{"paused", 2, observation{probe: down, miner: MinerStatus{Held: true, State: "paused"}}, keep, statusPaused, 0},
		{"miner unreachable", 2, observation{probe: down, checkErr: unreachable}, keep, statusOffline, 2},
		{"running, port down", 0, observation{probe: down, miner: running}, keep, statusOffline, 1},
		{"no state (python miner), port down", 1, observation{probe: down, miner: MinerStatus{Held: true}}, keep, statusOffline, 2},
		{"last failure", 2, observation{probe: down, miner: running}, unhealthy, statusOffline, 3},
		{"restarting", 2, observation{probe: down, miner: MinerStatus{Held: true, State: "restarting"}}, keep, statusOffline, 2},
		{"exited", 2, observation{probe: down, miner: MinerStatus{Held: true, State: "exited"}}, keep, statusOffline, 2},
		{"stopped for disk_quota", 2, observation{probe: down, miner: MinerStatus{Held: true, State: "exited", Reason: "disk_quota"}}, keep, statusStopped, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := &probeState{status: statusUnknown, failures: tt.failures}
			if v := judge(st, tt.obs, 3); v != tt.want || st.status != tt.status || st.failures != tt.wantFailures {
				t.Errorf("judge = %v, status %q, failures %d; want %v, %q, %d", v, st.status, st.failures,
					tt.want, tt.status, tt.wantFailures)
			}
		})
	}
}

func TestHealthRules(t *testing.T) {
	tests := []struct {
		name        string
		live        bool // the SSH port answers
		expired     bool // the deadline has passed
		miner       MinerStatus
		checkErr    error
		wait        string // "ticks": many checks; "forget"; "deallocate"
		forgotten   []string
		deallocated bool
		status      string // at the end
		events      []string
	}{
		{name: "paused is never ended", miner: MinerStatus{Held: true, State: "paused"}, wait: "ticks",
			status: "paused", events: []string{"allocation.status hk1 paused"}},
		{name: "unreachable miner is never ended", checkErr: errors.New("dial miner: i/o timeout"), wait: "ticks",
			status: "offline", events: []string{"allocation.status hk1 offline"}},
		{name: "restarting is not counted", miner: MinerStatus{Held: true, State: "restarting"}, wait: "ticks",
			status: "offline", events: []string{"allocation.status hk1 offline"}},
		{name: "running with its port down is ended", miner: MinerStatus{Held: true, State: "running"}, wait: "deallocate",
			deallocated: true, status: "unknown", events: []string{"allocation.status hk1 offline", "allocation.ended hk1 unhealthy"}},
		{name: "python miner with its port down is ended", miner: MinerStatus{Held: true}, wait: "deallocate",
			deallocated: true, status: "unknown", events: []string{"allocation.status hk1 offline", "allocation.ended hk1 unhealthy"}},
		{name: "stopped for disk_quota is never ended", miner: MinerStatus{Held: true, State: "exited", Reason: "disk_quota", DiskUsed: 210, DiskLimit: 200},
			wait: "ticks", status: "stopped", events: []string{"allocation.status hk1 disk_quota", "allocation.disk hk1 210"}},
		{name: "near the disk limit: one warning", live: true, miner: MinerStatus{Held: true, State: "running", DiskUsed: 95, DiskLimit: 100},
			wait: "ticks", status: "online", events: []string{"allocation.status hk1 online", "allocation.disk hk1 95"}},
		{name: "under 90 %: no warning", live: true, miner: MinerStatus{Held: true, State: "running", DiskUsed: 89, DiskLimit: 100},
			wait: "ticks", status: "online", events: []string{"allocation.status hk1 online"}},
		{name: "miner lost", live: true, miner: MinerStatus{}, wait: "forget", forgotten: []string{hk1 + " miner_lost"},
			status: "unknown", events: []string{"allocation.ended hk1 miner_lost"}},
		{name: "expired", live: true, expired: true, miner: MinerStatus{Held: true, State: "running"}, wait: "forget",
			forgotten: []string{hk1 + " expired"}, status: "unknown", events: []string{"allocation.ended hk1 expired"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			host, port, conns := countingSSHServer(t)
			if !tt.live {
				host, port = "127.0.0.1", closedPort(t)
			}
			e := healthEnv(t, 3)
			a := AllocationInfo{Hotkey: hk1, Host: host, Port: port, Deadline: time.Now().Add(time.Hour)}
			if tt.expired {
				a.Deadline = time.Now().Add(-time.Second)
			}
			e.ops.allocs = []AllocationInfo{a}
			e.ops.setMiner(hk1, tt.miner, tt.checkErr)
			stop := runServer(t, e.s)
			switch tt.wait {
			case "ticks":
				waitFor(t, "ten checks", 5*time.Second, func() bool { return e.ops.count("check") >= 10 })
			default:
				waitFor(t, tt.wait, 5*time.Second, func() bool { return e.ops.count(tt.wait) >= 1 })
				time.Sleep(100 * time.Millisecond) // a few more ticks
			}
			stop()
			if st := e.s.health.status(hk1); st != tt.status {
				t.Errorf("status = %q; want %q", st, tt.status)
			}
			e.ops.mu.Lock()
			forgotten, deallocated := slices.Clone(e.ops.forgotten), len(e.ops.deallocated) > 0
			e.ops.mu.Unlock()
			if !slices.Equal(forgotten, tt.forgotten) {
				t.Errorf("forgotten %q; want %q", forgotten, tt.forgotten)
			}
			if deallocated != tt.deallocated {
				t.Errorf("deallocated = %v; want %v", deallocated, tt.deallocated)
			}
			if tt.expired && (e.ops.count("check") != 0 || conns.Load() != 0) {
				t.Errorf("expired allocation: %d checks, %d SSH probes; want none", e.ops.count("check"), conns.Load())
			}
			if got := outboxEvents(t, e); !slices.Equal(got, tt.events) {
				t.Errorf("events = %q; want %q", got, tt.events)
			}
		})
	}
}

// An allocation someone else ended (the validator's reconcile, the CLI) is
// reported with the reason they recorded, or "ended" without one.
func TestHealthVanished(t *testing.T) {
	host, port := sshServer(t)
	e := healthEnv(t, 3)
	e.ops.allocs = []AllocationInfo{{Hotkey: hk1, Host: host, Port: port}, {Hotkey: hk2, Host: host, Port: port}}
	stop := runServer(t, e.s)
	waitFor(t, "both online", 5*time.Second, func() bool {
		return e.s.health.status(hk1) == "online" && e.s.health.status(hk2) == "online"
	})
	e.ops.remove(hk1, ReasonExpired)
	e.ops.mu.Lock()
	e.ops.allocs = nil // hk2 leaves with no recorded reason
	e.ops.mu.Unlock()
	waitFor(t, "both forgotten", 5*time.Second, func() bool {
		return e.s.health.status(hk1) == "unknown" && e.s.health.status(hk2) == "unknown"
	})
	stop()
	want := []string{"allocation.status hk1 online", "allocation.status hk2 online",
		"allocation.ended hk1 expired", "allocation.ended hk2 ended"}
	if got := outboxEvents(t, e); !slices.Equal(got, want) {
		t.Errorf("events = %q; want %q", got, want)
	}
	if n := e.ops.count("deallocate") + e.ops.count("forget"); n != 0 {
		t.Errorf("%d deallocate or forget calls; want none", n)
	}
}

// The pause route shows "paused" at once, and the health loop keeps it so
// however long the port stays down; unpause hands it back to the probes.
func TestPauseRoute(t *testing.T) {
	e := healthEnv(t, 3)
	e.ops.allocs = []AllocationInfo{{Hotkey: hk1, Host: "127.0.0.1", Port: closedPort(t), Deadline: time.Now().Add(time.Hour)}}
	c := e.p.httpClient(&e.p.client)
	listed := func() string {
		t.Helper()
		r := e.post(t, c, "/list/allocations_sql", "", nil)
		var got allocationsResponse
		if err := json.Unmarshal(r.body, &got); err != nil || len(got.Allocations) != 1 {
			t.Fatalf("allocations = %d %s", r.status, r.body)
		}
		return got.Allocations[0].Status
	}
	if st := listed(); st != "unknown" {
		t.Fatalf("status before any tick = %q; want unknown", st)
	}
	if r := e.post(t, c, "/service/pause_docker", `{"hotkey":"`+hk1+`"}`, nil); r.status != http.StatusOK {
		t.Fatalf("pause = %d %s", r.status, r.body)
	}
	if st := listed(); st != "paused" {
		t.Fatalf("status right after pause = %q; want paused", st)
	}
	stop := runServer(t, e.s)
	waitFor(t, "ten checks", 5*time.Second, func() bool { return e.ops.count("check") >= 10 })
	if st := listed(); st != "paused" {
		t.Fatalf("status after ten ticks = %q; want paused", st)
	}
	if r := e.post(t, c, "/service/unpause_docker", `{"hotkey":"`+hk1+`"}`, nil); r.status != http.StatusOK {
		t.Fatalf("unpause = %d %s", r.status, r.body)
	}
	waitFor(t, "unhealthy deallocation", 5*time.Second, func() bool { return e.ops.count("deallocate") >= 1 })
	stop()
	want := []string{"allocation.status hk1 paused", "allocation.status hk1 offline", "allocation.ended hk1 unhealthy"}
	if got := outboxEvents(t, e); !slices.Equal(got, want) {
		t.Errorf("events = %q; want %q", got, want)
	}
}

func TestCheckMinerStatus(t *testing.T) {
	host, port := sshServer(t)
	tests := []struct {
		name     string
		live     bool
		miner    MinerStatus
		checkErr error
		want     string
	}{
		{"online", true, MinerStatus{Held: true, State: "paused"}, nil, "online"},
		{"paused", false, MinerStatus{Held: true, State: "paused"}, nil, "paused"},
		{"running, port down", false, MinerStatus{Held: true, State: "running"}, nil, "offline"},
		{"miner unreachable", false, MinerStatus{}, errors.New("i/o timeout"), "offline"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, nil)
			a := AllocationInfo{Hotkey: hk1, Host: host, Port: port}
			if !tt.live {
				a.Port = closedPort(t)
			}
			e.ops.allocs = []AllocationInfo{a}
			e.ops.setMiner(hk1, tt.miner, tt.checkErr)
			r := e.post(t, e.p.httpClient(&e.p.client), "/service/check_miner_status", `{"hotkeys":["`+hk1+`"]}`, nil)
			want := `{"miners":[{"hotkey":"` + hk1 + `","status":"` + tt.want + `"}]}`
			if r.status != 200 || strings.TrimSpace(string(r.body)) != want {
				t.Errorf("got %d %s; want %s", r.status, r.body, want)
			}
		})
	}
}
