package api

import (
	"context"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"
)

const allocBody = `{"gpu_count":1,"timeline":60,"ssh_key":"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAITest user@host"}`

func TestAuth(t *testing.T) {
	e := newEnv(t, nil)
	plain := e.p.httpClient(nil)
	good := e.p.httpClient(&e.p.client)
	other := e.p.httpClient(&e.p.otherClient)
	tests := []struct {
		name   string
		c      *http.Client
		hdr    map[string]string
		status int
	}{
		{"no auth", plain, nil, 401},
		{"wrong key", plain, bearer("wrong-key-0123456789abcdef"), 401},
		{"short key from file", plain, bearer("short"), 401},
		{"cert from another CA", other, nil, 401},
		{"bearer key", plain, bearer(testKey), 200},
		{"client cert", good, nil, 200},
		{"cert from another CA with key", other, bearer(testKey), 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.post(t, tt.c, "/list/allocated_hotkeys", "", tt.hdr)
			if r.status != tt.status {
				t.Fatalf("status = %d (%s); want %d", r.status, r.body, tt.status)
			}
			if r.status == 401 && r.errCode(t) != "unauthorized" {
				t.Errorf("code = %q; want unauthorized", r.errCode(t))
			}
		})
	}
	// Unauthenticated mutations change nothing.
	if r := e.post(t, other, "/service/allocate_spec", allocBody, map[string]string{"Idempotency-Key": "k"}); r.status != 401 {
		t.Fatalf("allocate without auth = %d; want 401", r.status)
	}
	if n := e.ops.count("allocate"); n != 0 {
		t.Errorf("allocate called %d times without auth; want 0", n)
	}
}

func TestKeysFileReload(t *testing.T) {
	e := newEnv(t, nil)
	c := e.p.httpClient(nil)
	newKey := "a-brand-new-key-0123456789"
	if r := e.post(t, c, "/list/available", "", bearer(newKey)); r.status != 401 {
		t.Fatalf("new key before reload = %d; want 401", r.status)
	}
	path := filepath.Join(e.p.dir, "keys")
	if err := os.WriteFile(path, []byte(newKey+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	future := time.Now().Add(time.Minute)
	os.Chtimes(path, future, future)
	if r := e.post(t, c, "/list/available", "", bearer(newKey)); r.status != 200 {
		t.Fatalf("new key after change = %d; want 200", r.status)
	}
	if r := e.post(t, c, "/list/available", "", bearer(testKey)); r.status != 401 {
		t.Fatalf("removed key = %d; want 401", r.status)
	}
}

func TestValidation(t *testing.T) {
	e := newEnv(t, nil)
	c := e.p.httpClient(&e.p.client)
	tests := []struct {
		name, path, body string
		status           int
		code             string
	}{
		{"malformed", "/service/allocate_spec", `{"timeline":`, 400, "invalid_json"},
		{"empty", "/service/allocate_spec", ``, 400, "invalid_json"},
		{"trailing", "/service/allocate_spec", `{"timeline":1}{}`, 400, "invalid_json"},
		{"unknown field", "/service/allocate_spec", `{"timeline":60,"dockerfile":"RUN rm -rf /"}`, 400, "unknown_field"},
		{"wrong type", "/service/allocate_spec", `{"timeline":"60"}`, 400, "invalid_json"},
		{"negative cpu", "/service/allocate_spec", `{"timeline":60,"cpu_count":-1}`, 400, "invalid_field"},
		{"too many gpus", "/service/allocate_spec", `{"timeline":60,"gpu_count":65}`, 400, "invalid_field"},
		{"zero timeline", "/service/allocate_spec", `{"gpu_count":1}`, 400, "invalid_field"},
		{"negative timeline", "/service/allocate_spec", `{"timeline":-60}`, 400, "invalid_field"},
		{"timeline over a year", "/service/allocate_spec", `{"timeline":525601}`, 400, "invalid_field"},
		{"huge timeline", "/service/allocate_spec", `{"timeline":9223372036854775807}`, 400, "invalid_field"},
		{"negative ram", "/service/allocate_hotkey", `{"hotkey":"` + hk1 + `","timeline":60,"ram_bytes":-1}`, 400, "invalid_field"},
		{"bad ssh key", "/service/allocate_spec", `{"timeline":60,"ssh_key":"hello"}`, 400, "invalid_field"},
		{"bad hotkey", "/service/allocate_hotkey", `{"hotkey":"0xdead","timeline":60}`, 400, "invalid_field"},
		{"deallocate no hotkey", "/service/deallocate", `{}`, 400, "invalid_field"},
		{"exchange no key", "/service/exchange_docker_key", `{"hotkey":"` + hk1 + `"}`, 400, "invalid_field"},
		{"status no hotkeys", "/service/check_miner_status", `{"hotkeys":[]}`, 400, "invalid_field"},
		{"list unknown field", "/list/resources_sql", `{"x":1}`, 400, "unknown_field"},
		{"oversized", "/service/allocate_spec", `{"gpu_type":"` + strings.Repeat("a", 5000) + `","timeline":1}`, 413, "body_too_large"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.post(t, c, tt.path, tt.body, nil)
			if r.status != tt.status || r.errCode(t) != tt.code {
				t.Fatalf("got %d %s; want %d %s", r.status, r.body, tt.status, tt.code)
			}
		})
	}
	if n := e.ops.count("allocate") + e.ops.count("allocate_hotkey") + e.ops.count("deallocate"); n != 0 {
		t.Errorf("ops called %d times for invalid requests; want 0", n)
	}
}

func TestErrorMapping(t *testing.T) {
	long := fmt.Errorf("%w: %s", ErrInvalid, strings.Repeat("é", 400))
	tests := []struct {
		name   string
		err    error
		status int
		code   string
		msg    string // "": must not carry the error's text
	}{
		{"no_match", ErrNoMatch, 404, "no_match", "no miner matches the request"},
		{"unknown_hotkey", fmt.Errorf("%w: %s is not in the metagraph", ErrUnknownHotkey, hk2), 404, "unknown_hotkey",
			hk2 + " is not in the metagraph"},
		{"not_allocated", fmt.Errorf("dial miner 10.0.0.1: %w", ErrNotAllocated), 404, "not_allocated",
			"dial miner 10.0.0.1: hotkey is not allocated"},
		{"already_allocated", fmt.Errorf("%w: by another renter", ErrAlreadyAllocated), 409, "already_allocated",
			"by another renter"},
		{"refused", fmt.Errorf("allocate: %w", ErrRefused), 409, "refused", "allocate: refused"},
		{"invalid_request", fmt.Errorf("%w: timeline 100000 minutes is outside 1..43200", ErrInvalid), 422, "invalid_request",
			"timeline 100000 minutes is outside 1..43200"},
		{"wrapped twice", fmt.Errorf("%w: %w", ErrInvalid, errors.New("invalid request: bad ssh key")), 422, "invalid_request",
			"invalid request: bad ssh key"},
		{"long reason", long, 422, "invalid_request", strings.Repeat("é", (maxReason-len("…"))/2) + "…"},
		{"internal", errors.New("dial miner 10.0.0.1: secret detail"), 500, "internal", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, nil)
			e.ops.allocErr = tt.err
			r := e.post(t, e.p.httpClient(nil), "/service/allocate_spec", allocBody, bearer(testKey))
			if r.status != tt.status || r.errCode(t) != tt.code {
				t.Fatalf("got %d %s; want %d %s", r.status, r.body, tt.status, tt.code)
			}
			var got apiError
			if err := json.Unmarshal(r.body, &got); err != nil {
				t.Fatal(err)
			}
			switch {
			case tt.msg == "" && strings.Contains(string(r.body), "10.0.0.1"):
				t.Errorf("body leaks the error: %s", r.body)
			case tt.msg != "" && got.Error.Message != tt.msg:
				t.Errorf("message = %q; want %q", got.Error.Message, tt.msg)
			case len(got.Error.Message) > maxReason || !utf8.ValidString(got.Error.Message):
				t.Errorf("message of %d bytes (valid UTF-8: %v); want at most %d", len(got.Error.Message),
					utf8.ValidString(got.Error.Message), maxReason)
			}
		})
	}
}

func TestRoutes(t *testing.T) {
	e := newEnv(t, nil)
	e.ops.resources = []Resource{
		{Hotkey: hk1, GPUName: "NVIDIA A100", GPUCount: 4, Allocated: true},
		{Hotkey: hk2, GPUName: "NVIDIA H100", GPUCount: 8},
	}
	e.ops.allocs = []AllocationInfo{{Hotkey: hk1, Host: "127.0.0.1", Port: 1}}
	c := e.p.httpClient(&e.p.client)
	tests := []struct{ path, body, want string }{
		{"/list/count_all_gpus", "{}", `{"gpu_count":12}`},
		{"/list/count_all_by_model", "", `{"models":[{"gpu_name":"NVIDIA H100","gpu_count":8},{"gpu_name":"NVIDIA A100","gpu_count":4}]}`},
		{"/list/allocated_hotkeys", "", `{"hotkeys":["` + hk1 + `"]}`},
		{"/service/check_miner_status", `{"hotkeys":["` + hk1 + `","` + hk2 + `"]}`, `{"miners":[{"hotkey":"` + hk1 + `","status":"offline"},{"hotkey":"` + hk2 + `","status":"not_allocated"}]}`},
		{"/service/pause_docker", `{"hotkey":"` + hk1 + `"}`, `{"hotkey":"` + hk1 + `","action":"pause","ok":true}`},
		{"/service/exchange_docker_key", `{"hotkey":"` + hk1 + `","ssh_key":"ssh-ed25519 AAAA x"}`, `{"hotkey":"` + hk1 + `","action":"exchange_key","ok":true}`},
		{"/service/deallocate", `{"hotkey":"` + hk1 + `"}`, `{"hotkey":"` + hk1 + `","deallocated":true}`},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			r := e.post(t, c, tt.path, tt.body, nil)
			if r.status != 200 || strings.TrimSpace(string(r.body)) != tt.want {
				t.Fatalf("got %d %s; want 200 %s", r.status, r.body, tt.want)
			}
		})
	}
	r := e.post(t, c, "/list/available", "", nil)
	var av resourcesResponse
	if err := json.Unmarshal(r.body, &av); err != nil || len(av.Resources) != 1 || av.Resources[0].Hotkey != hk2 {
		t.Errorf("available = %s; want only %s", r.body, hk2)
	}
	if r := e.post(t, c, "/service/deallocate", `{"hotkey":"`+hk1+`"}`, nil); r.status != 404 || r.errCode(t) != "not_allocated" {
		t.Errorf("second deallocate = %d %s; want 404 not_allocated", r.status, r.body)
	}
}

func TestIdempotency(t *testing.T) {
	e := newEnv(t, nil)
	c := e.p.httpClient(nil)
	h := map[string]string{"Authorization": "Bearer " + testKey, "Idempotency-Key": "abc-1"}
	r1 := e.post(t, c, "/service/allocate_spec", allocBody, h)
	r2 := e.post(t, c, "/service/allocate_spec", allocBody, h)
	if r1.status != 200 || r2.status != 200 || string(r1.body) != string(r2.body) {
		t.Fatalf("repeat = %d %s, %d %s; want the same 200 body", r1.status, r1.body, r2.status, r2.body)
	}
	if r2.header.Get("Idempotent-Replayed") != "true" {
		t.Errorf("repeat lacks Idempotent-Replayed: true")
	}
	if n := e.ops.count("allocate"); n != 1 {
		t.Fatalf("allocate called %d times; want 1", n)
	}
	r3 := e.post(t, c, "/service/allocate_spec", `{"timeline":61}`, h)
	if r3.status != 422 || r3.errCode(t) != "idempotency_key_reused" {
		t.Fatalf("other body = %d %s; want 422", r3.status, r3.body)
	}
	// Another principal's key of the same name is independent.
	r4 := e.post(t, e.p.httpClient(&e.p.client), "/service/allocate_spec", allocBody, map[string]string{"Idempotency-Key": "abc-1"})
	if r4.status != 200 || e.ops.count("allocate") != 2 {
		t.Fatalf("other principal = %d, %d allocations; want 200, 2", r4.status, e.ops.count("allocate"))
	}

	t.Run("concurrent", func(t *testing.T) {
		e.ops.allocDelay = 200 * time.Millisecond
		before := e.ops.count("allocate")
		h := map[string]string{"Authorization": "Bearer " + testKey, "Idempotency-Key": "abc-2"}
		var wg sync.WaitGroup
		res := make([]result, 2)
		for i := range res {
			wg.Go(func() { res[i] = e.post(t, c, "/service/allocate_spec", allocBody, h) })
		}
		wg.Wait()
		if n := e.ops.count("allocate") - before; n != 1 {
			t.Fatalf("allocate called %d times; want 1", n)
		}
		if res[0].status != 200 || string(res[0].body) != string(res[1].body) {
			t.Fatalf("answers differ: %d %s / %d %s", res[0].status, res[0].body, res[1].status, res[1].body)
		}
	})

	t.Run("durable", func(t *testing.T) {
		cfg := e.s.cfg
		e.s.Close()
		s2, err := New(cfg, e.ops, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer s2.Close()
		ts := httptest.NewUnstartedServer(s2.Handler())
		ts.TLS = s2.TLSConfig()
		ts.StartTLS()
		defer ts.Close()
		e2 := &env{p: e.p, s: s2, ts: ts, ops: e.ops}
		before := e.ops.count("allocate")
		r := e2.post(t, c, "/service/allocate_spec", allocBody, h)
		if r.status != 200 || string(r.body) != string(r1.body) || e.ops.count("allocate") != before {
			t.Fatalf("after restart = %d %s; want the stored answer and no allocation", r.status, r.body)
		}
	})
}

// receiver records webhook deliveries.
type receiver struct {
	mu   sync.Mutex
	got  []delivery
	fail bool
}

type delivery struct {
	event, sig, id string
	body           []byte
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.got = append(rc.got, delivery{r.Header.Get("X-SN27-Event"), r.Header.Get("X-SN27-Signature"), r.Header.Get("X-SN27-Delivery"), b})
}

func (rc *receiver) deliveries() []delivery {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return slices.Clone(rc.got)
}

func waitFor(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// runServer runs s and returns a function that stops it and waits for Run.
func runServer(t *testing.T, s *Server) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("Run: %v", err)
				}
			case <-time.After(10 * time.Second):
				t.Errorf("Run did not return")
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

func checkSignature(t *testing.T, d delivery) Event {
	t.Helper()
	if !Verify([]byte(secret), d.body, d.sig) {
		t.Fatalf("signature %q does not verify", d.sig)
	}
	if Verify([]byte("another-secret-0123456789"), d.body, d.sig) {
		t.Fatalf("signature verifies with another secret")
	}
	var ev Event
	if err := json.Unmarshal(d.body, &ev); err != nil {
		t.Fatal(err)
	}
	if ev.Type != d.event || ev.ID != d.id {
		t.Errorf("headers event=%q id=%q; body type=%q id=%q", d.event, d.id, ev.Type, ev.ID)
	}
	return ev
}

func TestWebhookSigned(t *testing.T) {
	rc := &receiver{}
	hook := httptest.NewServer(rc)
	defer hook.Close()
	e := newEnv(t, func(c *Config) { c.WebhookURL, c.WebhookSecret = hook.URL, secret })
	stop := runServer(t, e.s)
	e.ops.allocs = []AllocationInfo{{Hotkey: hk1}}
	if r := e.post(t, e.p.httpClient(nil), "/service/deallocate", `{"hotkey":"`+hk1+`"}`, bearer(testKey)); r.status != 200 {
		t.Fatalf("deallocate = %d %s", r.status, r.body)
	}
	waitFor(t, "delivery", 5*time.Second, func() bool { return len(rc.deliveries()) == 1 })
	ev := checkSignature(t, rc.deliveries()[0])
	if ev.Type != EventEnded || !strings.Contains(string(ev.Data), `"reason":"deallocated"`) {
		t.Errorf("event = %+v %s", ev, ev.Data)
	}
	stop()
}

func TestWebhookConfigRejected(t *testing.T) {
	p := newPKI(t)
	for _, u := range []string{"http://example.com/hook", "ftp://127.0.0.1/", "https://"} {
		cfg := testConfig(t, p)
		cfg.WebhookURL, cfg.WebhookSecret = u, secret
		if _, err := New(cfg, &fakeOps{}, nil); err == nil {
			t.Errorf("webhook url %q accepted", u)
		}
	}
	cfg := testConfig(t, p)
	cfg.WebhookURL, cfg.WebhookSecret = "https://example.com/hook", "short"
	if _, err := New(cfg, &fakeOps{}, nil); err == nil {
		t.Errorf("short secret accepted")
	}
}

func TestWebhookTLSVerified(t *testing.T) {
	rc := &receiver{}
	hook := httptest.NewTLSServer(rc)
	defer hook.Close()
	caFile := filepath.Join(t.TempDir(), "hook-ca.pem")
	writeCertPEM(t, caFile, hook.Certificate().Raw)
	for _, withCA := range []bool{false, true} {
		e := newEnv(t, func(c *Config) {
			c.WebhookURL, c.WebhookSecret = hook.URL, secret
			c.WebhookBackoff = 50 * time.Millisecond
			if withCA {
				c.WebhookCAFile = caFile
			}
		})
		stop := runServer(t, e.s)
		e.s.emit(context.Background(), EventStatus, statusData{Hotkey: hk1, Status: "online"})
		if withCA {
			waitFor(t, "delivery", 5*time.Second, func() bool { return len(rc.deliveries()) == 1 })
		} else {
			waitFor(t, "failed attempt", 5*time.Second, func() bool { return outboxAttempts(t, e.s) >= 1 })
			if n := len(rc.deliveries()); n != 0 {
				t.Fatalf("delivered %d times to an unverified server", n)
			}
		}
		stop()
	}
}

func outboxAttempts(t *testing.T, s *Server) int {
	t.Helper()
	var n int
	if err := s.db.QueryRow(`SELECT COALESCE(MAX(attempts), 0) FROM outbox`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestOutboxSurvivesRestart(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // receiver down
	mod := func(c *Config) {
		c.WebhookURL, c.WebhookSecret = "http://"+addr+"/hook", secret
		c.WebhookBackoff, c.WebhookMaxBackoff = 100*time.Millisecond, 200*time.Millisecond
	}
	e := newEnv(t, mod)
	cfg := e.s.cfg
	stop := runServer(t, e.s)
	e.s.emit(context.Background(), EventEnded, endedData{Hotkey: hk1, Reason: "unhealthy"})
	waitFor(t, "a failed attempt", 5*time.Second, func() bool { return outboxAttempts(t, e.s) >= 1 })
	stop()

	rc := &receiver{}
	ln, err = net.Listen("tcp", addr)
	if err != nil {
		t.Skipf("port %s taken meanwhile: %v", addr, err)
	}
	hook := &httptest.Server{Listener: ln, Config: &http.Server{Handler: rc}}
	hook.Start()
	defer hook.Close()

	s2, err := New(cfg, e.ops, nil)
	if err != nil {
		t.Fatal(err)
	}
	stop2 := runServer(t, s2)
	waitFor(t, "delivery after restart", 5*time.Second, func() bool { return len(rc.deliveries()) >= 1 })
	time.Sleep(500 * time.Millisecond) // room for a duplicate
	stop2()
	got := rc.deliveries()
	if len(got) != 1 {
		t.Fatalf("delivered %d times; want exactly once", len(got))
	}
	ev := checkSignature(t, got[0])
	if ev.Type != EventEnded || !strings.Contains(string(ev.Data), `"unhealthy"`) {
		t.Errorf("event = %+v %s", ev, ev.Data)
	}
}

func writeCertPEM(t *testing.T, path string, der []byte) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}
