package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/sn27/sn27/internal/renter/api"
)

type fakeAPIOps struct {
	mu    sync.Mutex
	calls []string
}

func (f *fakeAPIOps) rec(s string) { f.mu.Lock(); f.calls = append(f.calls, s); f.mu.Unlock() }
func (f *fakeAPIOps) Resources(context.Context) ([]api.Resource, error) {
	f.rec("resources")
	return []api.Resource{{Hotkey: "5F3sa2TJAWMqDhXG6jhV4N8ko9SxwGy8TpaNS1repo5EYjQX", GPUName: "NVIDIA A100", GPUCount: 2}}, nil
}
func (f *fakeAPIOps) Allocate(context.Context, api.Request) (api.Allocation, error) {
	f.rec("allocate")
	return api.Allocation{Hotkey: "5F3sa2TJAWMqDhXG6jhV4N8ko9SxwGy8TpaNS1repo5EYjQX"}, nil
}
func (f *fakeAPIOps) AllocateHotkey(context.Context, string, api.Request) (api.Allocation, error) {
	return api.Allocation{}, api.ErrNoMatch
}
func (f *fakeAPIOps) Deallocate(context.Context, string) error                  { return api.ErrNotAllocated }
func (f *fakeAPIOps) Allocations(context.Context) ([]api.AllocationInfo, error) { return nil, nil }
func (f *fakeAPIOps) Action(context.Context, string, string, string) error      { return nil }
func (f *fakeAPIOps) Check(context.Context, string) (api.MinerStatus, error) {
	return api.MinerStatus{}, api.ErrNotAllocated
}
func (f *fakeAPIOps) Forget(context.Context, string, string) error { return nil }
func (f *fakeAPIOps) Ended(context.Context, string) (string, bool, error) {
	return "", false, nil
}

// writeServerCert writes a self-signed certificate for 127.0.0.1 and returns
// the cert and key paths and a pool trusting it.
func writeServerCert(t *testing.T, dir string) (string, string, *x509.CertPool) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "api"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, IsCA: true, BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kd, _ := x509.MarshalECPrivateKey(key)
	cert, keyf := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(cert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyf, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kd}), 0o600)
	c, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(c)
	return cert, keyf, pool
}

func execAPI(ctx context.Context, newOps func(*cobra.Command) (api.Ops, func(), error), args ...string) (string, error) {
	cmd := newAPICmd(newOps)
	var out bytes.Buffer
	cmd.SetArgs(args)
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SilenceUsage = true
	err := cmd.ExecuteContext(ctx)
	return out.String(), err
}

func TestAPICommand(t *testing.T) {
	dir := t.TempDir()
	cert, key, pool := writeServerCert(t, dir)
	keys := filepath.Join(dir, "keys")
	os.WriteFile(keys, []byte("cmd-test-key-0123456789\n"), 0o600)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()

	ops := &fakeAPIOps{}
	released := make(chan struct{})
	newOps := func(*cobra.Command) (api.Ops, func(), error) {
		return ops, func() { close(released) }, nil
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := execAPI(ctx, newOps, "--api.addr", addr, "--api.cert", cert, "--api.key", key,
			"--api.keys-file", keys, "--data.dir", filepath.Join(dir, "data"), "--api.health.interval", "0")
		done <- err
	}()
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}, Timeout: 5 * time.Second}
	deadline := time.Now().Add(5 * time.Second)
	for {
		resp, err := c.Get("https://" + addr + "/healthz")
		if err == nil {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("api did not come up: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	req, _ := http.NewRequest(http.MethodPost, "https://"+addr+"/list/count_all_gpus", nil)
	req.Header.Set("Authorization", "Bearer cmd-test-key-0123456789")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || strings.TrimSpace(string(b)) != `{"gpu_count":2}` {
		t.Fatalf("count_all_gpus = %d %s", resp.StatusCode, b)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("sn27 api: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("sn27 api did not stop")
	}
	select {
	case <-released:
	default:
		t.Error("the ops release function was not called")
	}
}

func TestAPICommandBadConfig(t *testing.T) {
	newOps := func(*cobra.Command) (api.Ops, func(), error) { return &fakeAPIOps{}, nil, nil }
	_, err := execAPI(context.Background(), newOps, "--data.dir", t.TempDir())
	var ee *exitError
	if err == nil || !errors.As(err, &ee) || ee.code != exitBadInput || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("without a certificate: %v; want exit %d about the certificate", err, exitBadInput)
	}
	out, err := execAPI(context.Background(), newOps, "--help")
	if err != nil || !strings.Contains(out, "Examples:") || !strings.Contains(out, "--api.client-ca") {
		t.Fatalf("--help = %v\n%s", err, out)
	}
}

// The README's `sn27 api` example: the webhook secret comes from
// --api.webhook-secret-file; a missing or short one says how to make one.
func TestAPICommandWebhookSecretFile(t *testing.T) {
	dir := t.TempDir()
	cert, key, pool := writeServerCert(t, dir)
	keys := filepath.Join(dir, "keys")
	os.WriteFile(keys, []byte("cmd-test-key-0123456789\n"), 0o600)
	good := filepath.Join(dir, "hook.secret")
	os.WriteFile(good, []byte("c2VjcmV0IHNlY3JldCBzZWNyZXQgc2VjcmV0IQ==\n"), 0o600)
	short := filepath.Join(dir, "short.secret")
	os.WriteFile(short, []byte("tooshort\n"), 0o600)
	newOps := func(*cobra.Command) (api.Ops, func(), error) { return &fakeAPIOps{}, nil, nil }
	base := []string{"--api.cert", cert, "--api.key", key, "--api.keys-file", keys, "--data.dir", filepath.Join(dir, "data"),
		"--api.health.interval", "0", "--api.webhook-url", "https://hooks.example.com/sn27"}
	for _, tt := range []struct {
		args []string
		want string
	}{
		{nil, "--api.webhook-secret-file"},
		{[]string{"--api.webhook-secret-file", short}, "want at least 16 bytes, have 8"},
		{[]string{"--api.webhook-secret-file", filepath.Join(dir, "none")}, "no such file"},
		{[]string{"--api.webhook-secret-file", good, "--api.webhook-secret", "0123456789abcdef0123"}, "give one"},
	} {
		_, err := execAPI(context.Background(), newOps, append(append([]string{}, base...), tt.args...)...)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%v: %v; want an error saying %q", tt.args, err, tt.want)
		}
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := execAPI(ctx, newOps, append(base, "--api.addr", addr, "--api.webhook-secret-file", good)...)
		done <- err
	}()
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}, Timeout: 5 * time.Second}
	for start := time.Now(); ; time.Sleep(20 * time.Millisecond) {
		resp, err := c.Get("https://" + addr + "/healthz")
		if err == nil {
			resp.Body.Close()
			break
		}
		select {
		case err := <-done:
			t.Fatalf("sn27 api with --api.webhook-secret-file exited: %v", err)
		default:
		}
		if time.Since(start) > 5*time.Second {
			t.Fatalf("api did not come up: %v", err)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("sn27 api: %v", err)
	}
}

// An api.db left in the old default folder is pointed out, not ignored.
func TestAPICommandWarnsOfOldDataDir(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	if err := os.MkdirAll(filepath.Join(home, ".sn27", "api"), 0o700); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(home, ".sn27", "api", "api.db"), nil, 0o600)
	newOps := func(*cobra.Command) (api.Ops, func(), error) { return &fakeAPIOps{}, nil, nil }
	out, _ := execAPI(context.Background(), newOps)
	if !strings.Contains(out, "older sn27 api") || !strings.Contains(out, filepath.Join(home, ".sn27", "validator")) {
		t.Errorf("no warning about ~/.sn27/api/api.db: %q", out)
	}
}
