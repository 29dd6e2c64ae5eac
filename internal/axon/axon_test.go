package axon_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sn27/sn27/internal/axon"
	"github.com/sn27/sn27/internal/buildinfo"
	"github.com/sn27/sn27/internal/dendrite"
	"github.com/sn27/sn27/internal/keys"
	"github.com/sn27/sn27/internal/polkadotjs"
	"github.com/sn27/sn27/internal/protocol"
)

type env struct {
	ax     *axon.Axon
	srv    *httptest.Server
	target dendrite.Target
	client *dendrite.Dendrite
	alice  *keys.Pair
	bob    *keys.Pair
}

func pair(t testing.TB, uri string) *keys.Pair {
	t.Helper()
	p, err := keys.FromURI(uri)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// newEnv serves an axon for //Bob whose Challenge handler answers the
// password "pw" (or runs handler); the client is //Alice.
func newEnv(t *testing.T, cfg axon.Config, handler func(context.Context, *protocol.Challenge) error) *env {
	t.Helper()
	e := &env{alice: pair(t, "//Alice"), bob: pair(t, "//Bob")}
	e.ax = axon.New(cfg, e.bob, nil)
	if handler == nil {
		handler = func(ctx context.Context, c *protocol.Challenge) error {
			c.SetAnswer(protocol.ChallengeOutput{Password: protocol.Str("pw:" + c.ChallengeSalt)})
			return nil
		}
	}
	axon.Handle(e.ax, handler)
	e.srv = httptest.NewServer(e.ax)
	t.Cleanup(e.srv.Close)
	host, port, _ := net.SplitHostPort(e.srv.Listener.Addr().String())
	p, _ := strconv.Atoi(port)
	e.target = dendrite.Target{IP: host, Port: p, Hotkey: e.bob.Hotkey()}
	var err error
	if e.client, err = dendrite.New(e.alice, dendrite.Config{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.client.Close)
	return e
}

// raw sends a prepared request with edits and returns status and message.
func (e *env) raw(t *testing.T, name string, body []byte, headers map[string]string) (int, string, http.Header) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/"+name, bytes.NewReader(body))
	for k, v := range headers {
		req.Header[k] = []string{v}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var m struct{ Message string }
	_ = json.Unmarshal(b, &m)
	return resp.StatusCode, m.Message, resp.Header
}

func (e *env) prepared(t *testing.T) ([]byte, map[string]string) {
	t.Helper()
	c := protocol.NewChallenge()
	c.ChallengeSalt = "salt"
	body, h, err := e.client.Prepare(e.target, c, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	return body, h
}

func TestValidRequest(t *testing.T) {
	e := newEnv(t, axon.Config{}, nil)
	c := protocol.NewChallenge()
	c.ChallengeSalt = "0011"
	if err := e.client.Call(context.Background(), e.target, c, 5*time.Second); err != nil {
		t.Fatalf("Call: %v", err)
	}
	ans, err := c.Answer()
	if err != nil || protocol.Deref(ans.Password) != "pw:0011" {
		t.Errorf("answer %+v, %v", ans, err)
	}
	if c.Dendrite.StatusCode.V != 200 || c.Axon.StatusCode.V != 200 || protocol.Deref(c.Axon.StatusMessage) != "Success" || !c.Axon.ProcessTime.Set {
		t.Errorf("status: dendrite %+v axon %+v", c.Dendrite, c.Axon)
	}
	if protocol.Deref(c.Axon.Hotkey) != e.bob.SS58() || c.Axon.Version.V != protocol.SN27VersionInt {
		t.Errorf("axon block %+v", c.Axon)
	}
}

// TestResponseHeadersLowerCase: Python dendrites match "bt_header_axon_"
// case-sensitively, so the raw response must carry lower-case names.
func TestResponseHeadersLowerCase(t *testing.T) {
	e := newEnv(t, axon.Config{}, nil)
	body, h := e.prepared(t)
	conn, err := net.Dial("tcp", e.srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var req bytes.Buffer
	fmt.Fprintf(&req, "POST /Challenge HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\n", len(body))
	for k, v := range h {
		fmt.Fprintf(&req, "%s: %s\r\n", k, v)
	}
	req.WriteString("\r\n")
	req.Write(body)
	conn.Write(req.Bytes())
	resp, _ := io.ReadAll(conn)
	head, jsonBody, _ := strings.Cut(string(resp), "\r\n\r\n")
	for _, want := range []string{"HTTP/1.1 200", "\r\nbt_header_axon_status_code: 200\r\n", "\r\nbt_header_axon_status_message: Success\r\n", "\r\nContent-Type: application/json",
		"\r\nServer: sn27/" + buildinfo.Read().Version + " (SN27 " + protocol.SN27Version + ")\r\n"} {
		if !strings.Contains(head, want) {
			t.Errorf("response head lacks %q:\n%s", want, head)
		}
	}
	if !strings.Contains(jsonBody, `"axon":{"status_code":200,"status_message":"Success"`) || !strings.Contains(jsonBody, `"challenge_salt":"salt"`) {
		t.Errorf("body %s", jsonBody)
	}
}

func TestRefusals(t *testing.T) {
	e := newEnv(t, axon.Config{MaxBodyBytes: 4096}, nil)
	e.ax.SetBlacklist(func(ctx context.Context, r axon.Request) string {
		if r.Hotkey == pair(t, "//Eve").Hotkey() {
			return "Unrecognized hotkey"
		}
		return ""
	})
	eve, _ := dendrite.New(pair(t, "//Eve"), dendrite.Config{})
	for _, tt := range []struct {
		name   string
		synth  string
		edit   func(body []byte, h map[string]string) ([]byte, map[string]string)
		status int
		msg    string
	}{
		{"bad signature", "Challenge", func(b []byte, h map[string]string) ([]byte, map[string]string) {
			s := h["bt_header_dendrite_signature"]
			h["bt_header_dendrite_signature"] = s[:len(s)-2] + map[bool]string{true: "00", false: "11"}[s[len(s)-2:] != "00"]
			return b, h
		}, 401, "Signature mismatch"},
		{"signature without 0x", "Challenge", func(b []byte, h map[string]string) ([]byte, map[string]string) {
			h["bt_header_dendrite_signature"] = h["bt_header_dendrite_signature"][2:]
			return b, h
		}, 401, "0x"},
		{"missing nonce", "Challenge", func(b []byte, h map[string]string) ([]byte, map[string]string) {
			delete(h, "bt_header_dendrite_nonce")
			return b, h
		}, 401, "Missing Nonce"},
		{"old nonce", "Challenge", func(b []byte, h map[string]string) ([]byte, map[string]string) {
			// Signed 60 s ago under a uuid the axon has not seen: the
			// time window applies.
			return b, resign(t, h, time.Now().Add(-60*time.Second).UnixNano(), "fresh-uuid")
		}, 401, "Nonce is too old"},
		{"body hash mismatch", "Challenge", func(b []byte, h map[string]string) ([]byte, map[string]string) {
			h["computed_body_hash"] = strings.Repeat("0", 64)
			return b, h
		}, 401, "computed_body_hash"},
		{"unknown synapse", "Allocate", nil, 404, "not found"},
		{"oversized body", "Challenge", func(b []byte, h map[string]string) ([]byte, map[string]string) {
			return append(b[:len(b)-1], []byte(`,"pad":"`+strings.Repeat("x", 5000)+`"}`)...), h
		}, 413, "larger"},
		{"malformed body", "Challenge", func(b []byte, h map[string]string) ([]byte, map[string]string) {
			return []byte(`{"output":[1]}`), h
		}, 400, "invalid Challenge body"},
		{"malformed header", "Challenge", func(b []byte, h map[string]string) ([]byte, map[string]string) {
			h["bt_header_dendrite_version"] = "nine"
			return b, h
		}, 400, "invalid headers"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			body, h := e.prepared(t)
			if tt.edit != nil {
				body, h = tt.edit(body, h)
			}
			code, msg, _ := e.raw(t, tt.synth, body, h)
			if code != tt.status || !strings.Contains(msg, tt.msg) {
				t.Errorf("got %d %q; want %d containing %q", code, msg, tt.status, tt.msg)
			}
		})
	}
	t.Run("blacklisted", func(t *testing.T) {
		c := protocol.NewChallenge()
		err := eve.Call(context.Background(), e.target, c, 5*time.Second)
		var de *dendrite.Error
		if !errors.As(err, &de) || de.Code != 403 || de.Message != "Forbidden. Key is blacklisted: Unrecognized hotkey." {
			t.Errorf("Call = %v", err)
		}
		if c.Dendrite.StatusCode.V != 403 {
			t.Errorf("dendrite status %+v", c.Dendrite.StatusCode)
		}
	})
	t.Run("replayed nonce", func(t *testing.T) {
		body, h := e.prepared(t)
		if code, msg, _ := e.raw(t, "Challenge", body, h); code != 200 {
			t.Fatalf("first: %d %s", code, msg)
		}
		if code, msg, _ := e.raw(t, "Challenge", body, h); code != 401 || !strings.Contains(msg, "newer one was last processed") {
			t.Errorf("replay: %d %q", code, msg)
		}
	})
}

// resign replaces uuid and re-signs headers for //Alice → //Bob.
func resign(t *testing.T, h map[string]string, nonce int64, uuid string) map[string]string {
	msg := protocol.SignedMessage(nonce, pair(t, "//Alice").SS58(), pair(t, "//Bob").SS58(), uuid, protocol.EmptyBodyHash)
	sig, _ := pair(t, "//Alice").SignHex([]byte(msg))
	h["bt_header_dendrite_nonce"] = strconv.FormatInt(nonce, 10)
	h["bt_header_dendrite_uuid"] = uuid
	h["bt_header_dendrite_signature"] = sig
	return h
}

func TestHandlerTimeoutIsAnswered(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	e := newEnv(t, axon.Config{}, func(ctx context.Context, c *protocol.Challenge) error {
		<-release // ignores ctx on purpose
		return nil
	})
	body, h := e.prepared(t)
	h["timeout"] = "0.5"
	start := time.Now()
	code, msg, _ := e.raw(t, "Challenge", body, resign(t, h, time.Now().UnixNano(), "u-timeout"))
	if code != 408 || !strings.Contains(msg, "timeout") {
		t.Errorf("got %d %q; want 408", code, msg)
	}
	if el := time.Since(start); el > 3*time.Second {
		t.Errorf("answered after %v", el)
	}
}

func TestHandlerErrorAndPanic(t *testing.T) {
	e := newEnv(t, axon.Config{}, func(ctx context.Context, c *protocol.Challenge) error {
		if c.ChallengeSalt == "panic" {
			panic("boom")
		}
		return errors.New("secret detail")
	})
	for _, salt := range []string{"err", "panic"} {
		c := protocol.NewChallenge()
		c.ChallengeSalt = salt
		err := e.client.Call(context.Background(), e.target, c, 5*time.Second)
		var de *dendrite.Error
		if !errors.As(err, &de) || de.Code != 500 || !strings.HasPrefix(de.Message, "Internal Server Error #") || strings.Contains(de.Message, "secret") {
			t.Errorf("%s: Call = %v", salt, err)
		}
	}
	// The axon still serves afterwards.
	c := protocol.NewPing()
	if err := e.client.Call(context.Background(), e.target, c, 5*time.Second); err != nil {
		t.Errorf("ping after panic: %v", err)
	}
}

func TestRateAndHeaderLimits(t *testing.T) {
	e := newEnv(t, axon.Config{RatePerIP: 0.001, BurstPerIP: 3, MaxHeaderCount: 30}, nil)
	body, h := e.prepared(t)
	many := map[string]string{}
	for k, v := range h {
		many[k] = v
	}
	for i := 0; i < 40; i++ {
		many[fmt.Sprintf("X-Pad-%d", i)] = "1"
	}
	if code, _, _ := e.raw(t, "Challenge", body, many); code != 431 {
		t.Errorf("40 extra headers: %d; want 431", code)
	}
	codes := []int{}
	for i := 0; i < 3; i++ {
		code, _, _ := e.raw(t, "Challenge", body, resign(t, h, time.Now().UnixNano(), fmt.Sprintf("u%d", i)))
		codes = append(codes, code)
	}
	if codes[len(codes)-1] != 429 {
		t.Errorf("codes %v; want the burst exhausted with 429", codes)
	}
}

// TestSlowClientDoesNotBlockOthers: a client that sends half its headers
// and stalls holds no slot; others are served, and the stall is cut off.
func TestSlowClientDoesNotBlockOthers(t *testing.T) {
	alice, bob := pair(t, "//Alice"), pair(t, "//Bob")
	ax := axon.New(axon.Config{ReadHeaderTimeout: 500 * time.Millisecond, MaxConcurrent: 1}, bob, nil)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); _ = ax.Serve(ctx, ln) }()
	defer func() { cancel(); wg.Wait() }()

	slow, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Close()
	slow.Write([]byte("POST /Synapse HTTP/1.1\r\nHost: x\r\n"))

	d, _ := dendrite.New(alice, dendrite.Config{})
	defer d.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	for i := 0; i < 3; i++ {
		if err := d.Call(context.Background(), dendrite.Target{IP: "127.0.0.1", Port: port, Hotkey: bob.Hotkey()}, protocol.NewPing(), 2*time.Second); err != nil {
			t.Fatalf("call %d while a client stalls: %v", i, err)
		}
	}
	slow.SetReadDeadline(time.Now().Add(3 * time.Second))
	line, _ := bufio.NewReader(slow).ReadString('\n')
	if line != "" && !strings.Contains(line, "408") {
		t.Errorf("stalled client got %q", line)
	}
}

// TestPolkadotJSInterop: a request signed by polkadot.js (an sr25519 we did
// not write) is accepted, and our dendrite's signature verifies in it.
func TestPolkadotJSInterop(t *testing.T) {
	if testing.Short() {
		t.Skip("runs node with polkadot.js; skipped with -short")
	}
	e := newEnv(t, axon.Config{}, nil)
	ctx := context.Background()
	body, h := e.prepared(t)
	nonce := time.Now().UnixNano()
	uuid := "5f0c7a1e-e9f1-11ef-8a4c-0242ac120002"
	msg := protocol.SignedMessage(nonce, e.alice.SS58(), e.bob.SS58(), uuid, protocol.EmptyBodyHash)
	addr, sig, err := polkadotjs.Sign(ctx, "//Alice", msg)
	if err != nil {
		t.Fatal(err)
	}
	if addr != e.alice.SS58() {
		t.Fatalf("polkadot.js //Alice = %s", addr)
	}
	h["bt_header_dendrite_nonce"] = strconv.FormatInt(nonce, 10)
	h["bt_header_dendrite_uuid"] = uuid
	h["bt_header_dendrite_signature"] = sig
	if code, m, _ := e.raw(t, "Challenge", body, h); code != 200 {
		t.Errorf("polkadot.js-signed request: %d %s", code, m)
	}

	_, h2 := e.prepared(t)
	n2, _ := strconv.ParseInt(h2["bt_header_dendrite_nonce"], 10, 64)
	msg2 := protocol.SignedMessage(n2, h2["bt_header_dendrite_hotkey"], h2["bt_header_axon_hotkey"], h2["bt_header_dendrite_uuid"], h2["computed_body_hash"])
	if ok, err := polkadotjs.Verify(ctx, e.alice.SS58(), msg2, h2["bt_header_dendrite_signature"]); err != nil || !ok {
		t.Errorf("polkadot.js rejects our dendrite's signature: %v %v", ok, err)
	}
}

func FuzzServeHTTP(f *testing.F) {
	bob := pair(f, "//Bob")
	ax := axon.New(axon.Config{RatePerIP: 1e9, BurstPerIP: 1 << 30}, bob, nil)
	axon.Handle(ax, func(ctx context.Context, c *protocol.Challenge) error { return nil })
	f.Add("Challenge", "bt_header_dendrite_nonce", "1", "timeout", "1e309", []byte(`{}`))
	f.Add("Synapse", "bt_header_dendrite_signature", "0x00", "bt_header_dendrite_hotkey", "5Grw", []byte(`{"name":null}`))
	f.Fuzz(func(t *testing.T, path, k1, v1, k2, v2 string, body []byte) {
		req := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
		req.URL.Path = "/" + path
		req.Header[k1] = []string{v1}
		req.Header[k2] = []string{v2}
		rec := httptest.NewRecorder()
		ax.ServeHTTP(rec, req)
		if rec.Code == 200 {
			t.Fatalf("unsigned request answered 200")
		}
		if rec.Code >= 500 && rec.Code != 503 {
			t.Fatalf("status %d for bad input: %s", rec.Code, rec.Body)
		}
	})
}

// TestConcurrentCallsVerified: one dendrite's concurrent calls to one axon
// are all verified, however they arrive (issue 22: under one uuid, calls
// that overtook each other were refused as "Nonce is too old").
func TestConcurrentCallsVerified(t *testing.T) {
	const n = 64
	e := newEnv(t, axon.Config{MaxConcurrent: n, RatePerIP: 1e6, BurstPerIP: 1e6}, nil)
	var wg sync.WaitGroup
	errs := make([]error, n)
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			c := protocol.NewChallenge()
			c.ChallengeSalt = strconv.Itoa(i)
			errs[i] = e.client.Call(context.Background(), e.target, c, 10*time.Second)
		})
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("call %d: %v", i, err)
		}
	}
}

// TestOutOfOrderNonces: under one hotkey:uuid, nonces inside the window are
// accepted in any order, each once.
func TestOutOfOrderNonces(t *testing.T) {
	e := newEnv(t, axon.Config{}, nil)
	body, h := e.prepared(t)
	now := time.Now().UnixNano()
	signed := make([]map[string]string, 5)
	for i := range signed {
		hi := map[string]string{}
		for k, v := range h {
			hi[k] = v
		}
		signed[i] = resign(t, hi, now+int64(i), "one-uuid")
	}
	for i := len(signed) - 1; i >= 0; i-- { // newest first
		if code, msg, _ := e.raw(t, "Challenge", body, signed[i]); code != 200 {
			t.Errorf("nonce %d after newer ones: %d %q; want 200", i, code, msg)
		}
	}
	for i, hi := range signed {
		if code, msg, _ := e.raw(t, "Challenge", body, hi); code != 401 || !strings.Contains(msg, "newer one was last processed") {
			t.Errorf("repeat of nonce %d: %d %q; want 401", i, code, msg)
		}
	}
}
