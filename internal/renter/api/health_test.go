package api

import (
	"net"
	"slices"
	"testing"
	"time"
)

// sshServer answers every connection with an SSH banner.
func sshServer(t *testing.T) (host string, port int) {
	t.Helper()
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
			c.Write([]byte("SSH-2.0-test\r\n"))
			c.Close()
		}
	}()
	a := ln.Addr().(*net.TCPAddr)
	return a.IP.String(), a.Port
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
	// Run closed the database; reopen to inspect.
	db, err := openDB(t.Context(), e.s.cfg.DataDir)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var events []string
	r, err := db.Query(`SELECT event, json_extract(body, '$.data.hotkey'), COALESCE(json_extract(body, '$.data.reason'), json_extract(body, '$.data.status')) FROM outbox ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for r.Next() {
		var ev, hk, what string
		if err := r.Scan(&ev, &hk, &what); err != nil {
			t.Fatal(err)
		}
		short := "hk1"
		if hk == hk2 {
			short = "hk2"
		}
		events = append(events, ev+" "+short+" "+what)
	}
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
