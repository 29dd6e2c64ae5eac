package dendrite

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/sn27/sn27/internal/keys"
	"github.com/sn27/sn27/internal/protocol"
)

func newClient(t *testing.T, cfg Config) *Dendrite {
	t.Helper()
	p, err := keys.FromURI("//Alice")
	if err != nil {
		t.Fatal(err)
	}
	d, err := New(p, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.Close)
	return d
}

func target(t *testing.T, srv *httptest.Server) Target {
	host, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	p, _ := strconv.Atoi(port)
	return Target{IP: host, Port: p, Hotkey: "5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty"}
}

func TestPrepareSignsLikePython(t *testing.T) {
	d := newClient(t, Config{ExternalIP: "203.0.113.9"})
	c := protocol.NewChallenge()
	tg := Target{IP: "203.0.113.7", Port: 8091, Hotkey: "5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty"}
	body, h, err := d.Prepare(tg, c, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]string{
		"name": "Challenge", "timeout": "30.0", "bt_header_dendrite_version": "9000000", "bt_header_dendrite_ip": "203.0.113.9",
		"bt_header_axon_ip": "203.0.113.7", "bt_header_axon_port": "8091", "computed_body_hash": protocol.EmptyBodyHash,
		"bt_header_dendrite_hotkey": "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY",
	} {
		if h[k] != want {
			t.Errorf("header %s = %q; want %q", k, h[k], want)
		}
	}
	nonce, _ := strconv.ParseInt(h["bt_header_dendrite_nonce"], 10, 64)
	if d := time.Since(time.Unix(0, nonce)); d < 0 || d > time.Minute {
		t.Errorf("nonce %d is not wall-clock nanoseconds", nonce)
	}
	id, err := uuid.Parse(h["bt_header_dendrite_uuid"])
	if err != nil || id.Version() != 1 {
		t.Errorf("uuid %q: %v, version %d; want a uuid1", h["bt_header_dendrite_uuid"], err, id.Version())
	}
	msg := protocol.SignedMessage(nonce, h["bt_header_dendrite_hotkey"], string(tg.Hotkey), h["bt_header_dendrite_uuid"], protocol.EmptyBodyHash)
	if err := keys.VerifyHex(h["bt_header_dendrite_hotkey"], []byte(msg), h["bt_header_dendrite_signature"]); err != nil {
		t.Errorf("signature: %v", err)
	}
	// The body carries the same blocks (the miner reads dendrite.hotkey from it).
	for _, want := range []string{`"computed_body_hash":""`, `"hotkey":"5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY"`, `"version":9000000`, `"signature":"0x`} {
		if !strings.Contains(string(body), want) {
			t.Errorf("body lacks %s: %s", want, body)
		}
	}
	// Each request has its own uuid, signed (see the package doc).
	_, h2, _ := d.Prepare(tg, protocol.NewChallenge(), time.Second)
	n2, _ := strconv.ParseInt(h2["bt_header_dendrite_nonce"], 10, 64)
	if n2 <= nonce || h2["bt_header_dendrite_uuid"] == h["bt_header_dendrite_uuid"] {
		t.Errorf("second request: nonce %d after %d, uuid %s after %s", n2, nonce, h2["bt_header_dendrite_uuid"], h["bt_header_dendrite_uuid"])
	}
	msg2 := protocol.SignedMessage(n2, h2["bt_header_dendrite_hotkey"], string(tg.Hotkey), h2["bt_header_dendrite_uuid"], protocol.EmptyBodyHash)
	if err := keys.VerifyHex(h2["bt_header_dendrite_hotkey"], []byte(msg2), h2["bt_header_dendrite_signature"]); err != nil {
		t.Errorf("second signature: %v", err)
	}
}

func TestFailureStatusCodes(t *testing.T) {
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	}))
	defer slow.Close()
	notJSON := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte("<html>"))
	}))
	defer notJSON.Close()
	huge := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(strings.Repeat("x", 5000)))
	}))
	defer huge.Close()
	refusing := httptest.NewServer(http.NotFoundHandler())
	refusedTarget := target(t, refusing)
	refusing.Close()
	forbidden := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header()["bt_header_axon_status_code"] = []string{"403"}
		w.WriteHeader(403)
		w.Write([]byte(`{"message":"Forbidden. Key is blacklisted: Not enough stake!."}`))
	}))
	defer forbidden.Close()

	d := newClient(t, Config{MaxResponseBytes: 1000})
	for _, tt := range []struct {
		name string
		t    Target
		code int
		msg  string
	}{
		{"timeout", target(t, slow), 408, "Request timeout after 0.3 seconds"},
		{"not json", target(t, notJSON), 422, "Failed to parse response"},
		{"too large", target(t, huge), 400, "larger than 1000"},
		{"refused", refusedTarget, 503, "unavailable"},
		{"axon refusal", target(t, forbidden), 403, "Not enough stake"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := protocol.NewChallenge()
			err := d.Call(context.Background(), tt.t, c, 300*time.Millisecond)
			var e *Error
			if !errors.As(err, &e) || e.Code != tt.code || !strings.Contains(e.Message, tt.msg) {
				t.Fatalf("Call = %v; want %d %q", err, tt.code, tt.msg)
			}
			if c.Dendrite.StatusCode.V != int64(tt.code) || c.Axon.StatusCode.V != int64(tt.code) || !strings.Contains(protocol.Deref(c.Dendrite.StatusMessage), tt.msg) {
				t.Errorf("synapse status: dendrite %+v axon %+v", c.Dendrite.StatusCode, c.Axon.StatusCode)
			}
		})
	}
}

func TestQueryBoundsConcurrency(t *testing.T) {
	var inFlight, peak atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := inFlight.Add(1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		time.Sleep(50 * time.Millisecond)
		inFlight.Add(-1)
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"challenge_salt":"` + r.Header.Get("bt_header_axon_port") + `","axon":{"status_code":200}}`))
	}))
	defer srv.Close()
	d := newClient(t, Config{MaxConcurrent: 3})
	tg := target(t, srv)
	targets := make([]Target, 10)
	for i := range targets {
		targets[i] = tg
	}
	res := Query(context.Background(), d, targets, func(int, Target) *protocol.Challenge { return protocol.NewChallenge() }, 5*time.Second)
	if len(res) != 10 {
		t.Fatalf("%d results", len(res))
	}
	for i, c := range res {
		if c.Dendrite.StatusCode.V != 200 || c.ChallengeSalt != strconv.Itoa(tg.Port) {
			t.Errorf("result %d: status %+v salt %q", i, c.Dendrite.StatusCode, c.ChallengeSalt)
		}
	}
	if p := peak.Load(); p > 3 || p < 2 {
		t.Errorf("peak concurrency %d; want at most 3 (and more than 1)", p)
	}
}
