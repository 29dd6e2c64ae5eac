package api

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"
)

const (
	hk1     = "5F3sa2TJAWMqDhXG6jhV4N8ko9SxwGy8TpaNS1repo5EYjQX"
	hk2     = "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY"
	testKey = "test-key-0123456789abcdef"
	secret  = "webhook-secret-0123456789"
)

// pki is a CA, a server certificate for 127.0.0.1, a client certificate from
// that CA and one from another CA, as files in a temp dir.
type pki struct {
	dir                       string
	caFile, certFile, keyFile string
	caPool                    *x509.CertPool
	client, otherClient       tls.Certificate
}

type ca struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pem  []byte
}

var serial int64

func newCA(t *testing.T, name string) ca {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	serial++
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true,
		BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	return ca{c, key, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
}

func (c ca) issue(t *testing.T, name string, server bool) (certPEM, keyPEM []byte) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	serial++
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), KeyUsage: x509.KeyUsageDigitalSignature}
	if server {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
		tmpl.IPAddresses = []net.IP{net.IPv4(127, 0, 0, 1)}
		tmpl.DNSNames = []string{"localhost"}
	} else {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, c.cert, &key.PublicKey, c.key)
	if err != nil {
		t.Fatal(err)
	}
	kd, _ := x509.MarshalECPrivateKey(key)
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kd})
}

func newPKI(t *testing.T) *pki {
	t.Helper()
	dir := t.TempDir()
	root, other := newCA(t, "root"), newCA(t, "other")
	p := &pki{dir: dir, caFile: filepath.Join(dir, "ca.pem"), certFile: filepath.Join(dir, "server.pem"), keyFile: filepath.Join(dir, "server-key.pem")}
	write := func(path string, b []byte) {
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(p.caFile, root.pem)
	sc, sk := root.issue(t, "server", true)
	write(p.certFile, sc)
	write(p.keyFile, sk)
	p.caPool = x509.NewCertPool()
	p.caPool.AppendCertsFromPEM(root.pem)
	var err error
	cc, ck := root.issue(t, "client", false)
	if p.client, err = tls.X509KeyPair(cc, ck); err != nil {
		t.Fatal(err)
	}
	oc, ok := other.issue(t, "intruder", false)
	if p.otherClient, err = tls.X509KeyPair(oc, ok); err != nil {
		t.Fatal(err)
	}
	return p
}

func (p *pki) httpClient(cert *tls.Certificate) *http.Client {
	tc := &tls.Config{RootCAs: p.caPool, MinVersion: tls.VersionTLS12}
	if cert != nil {
		tc.Certificates = []tls.Certificate{*cert}
	}
	return &http.Client{Transport: &http.Transport{TLSClientConfig: tc}, Timeout: 10 * time.Second}
}

// fakeOps records calls.
type fakeOps struct {
	mu          sync.Mutex
	calls       []string
	allocs      []AllocationInfo
	allocErr    error
	deallocErr  error
	actionErr   error
	allocDelay  time.Duration
	password    string // of new allocations; "" gives a short generated one
	resources   []Resource
	deallocated []string
	// miner is what Check answers for a hotkey in allocs (default: held,
	// running); checkErr, when set for a hotkey, is its error instead.
	miner     map[string]MinerStatus
	checkErr  map[string]error
	forgotten []string          // "hotkey reason"
	endedWhy  map[string]string // Ended's answer by hotkey
}

func (f *fakeOps) record(c string) {
	f.mu.Lock()
	f.calls = append(f.calls, c)
	f.mu.Unlock()
}

func (f *fakeOps) count(c string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, x := range f.calls {
		if x == c {
			n++
		}
	}
	return n
}

func (f *fakeOps) Resources(context.Context) ([]Resource, error) {
	f.record("resources")
	return f.resources, nil
}

func (f *fakeOps) Allocate(ctx context.Context, r Request) (Allocation, error) {
	f.record("allocate")
	time.Sleep(f.allocDelay)
	if f.allocErr != nil {
		return Allocation{}, f.allocErr
	}
	f.mu.Lock()
	n := len(f.calls)
	f.mu.Unlock()
	pw := f.password
	if pw == "" {
		pw = "pw" + string(rune('a'+n%26))
	}
	return Allocation{Hotkey: hk1, Host: "203.0.113.7", Port: 4444, Username: "root", Password: pw,
		SSHCommand: "ssh root@203.0.113.7 -p 4444", Deadline: time.Unix(1900000000, 0)}, nil
}

func (f *fakeOps) AllocateHotkey(ctx context.Context, hotkey string, r Request) (Allocation, error) {
	f.record("allocate_hotkey")
	a, err := f.Allocate(ctx, r)
	a.Hotkey = hotkey
	return a, err
}

func (f *fakeOps) Deallocate(ctx context.Context, hotkey string) error {
	f.record("deallocate")
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.deallocErr != nil {
		return f.deallocErr
	}
	f.deallocated = append(f.deallocated, hotkey)
	return f.removeLocked(hotkey, ReasonDeallocated)
}

// removeLocked drops hotkey from allocs and records why it ended.
func (f *fakeOps) removeLocked(hotkey, reason string) error {
	kept := f.allocs[:0]
	found := false
	for _, a := range f.allocs {
		if a.Hotkey == hotkey {
			found = true
			continue
		}
		kept = append(kept, a)
	}
	f.allocs = kept
	if !found {
		return ErrNotAllocated
	}
	if f.endedWhy == nil {
		f.endedWhy = map[string]string{}
	}
	f.endedWhy[hotkey] = reason
	return nil
}

// remove drops hotkey as someone else using the store would (the CLI, the
// validator's reconcile).
func (f *fakeOps) remove(hotkey, reason string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.removeLocked(hotkey, reason)
}

func (f *fakeOps) setMiner(hotkey string, ms MinerStatus, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.miner == nil {
		f.miner, f.checkErr = map[string]MinerStatus{}, map[string]error{}
	}
	f.miner[hotkey], f.checkErr[hotkey] = ms, err
}

func (f *fakeOps) Check(ctx context.Context, hotkey string) (MinerStatus, error) {
	f.record("check")
	f.mu.Lock()
	defer f.mu.Unlock()
	if !slices.ContainsFunc(f.allocs, func(a AllocationInfo) bool { return a.Hotkey == hotkey }) {
		return MinerStatus{}, ErrNotAllocated
	}
	if err := f.checkErr[hotkey]; err != nil {
		return MinerStatus{}, err
	}
	if ms, ok := f.miner[hotkey]; ok {
		return ms, nil
	}
	return MinerStatus{Held: true, State: "running"}, nil
}

func (f *fakeOps) Forget(ctx context.Context, hotkey, reason string) error {
	f.record("forget")
	f.mu.Lock()
	defer f.mu.Unlock()
	f.forgotten = append(f.forgotten, hotkey+" "+reason)
	return f.removeLocked(hotkey, reason)
}

func (f *fakeOps) Ended(ctx context.Context, hotkey string) (string, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	r, ok := f.endedWhy[hotkey]
	return r, ok, nil
}

func (f *fakeOps) Allocations(context.Context) ([]AllocationInfo, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]AllocationInfo(nil), f.allocs...), nil
}

func (f *fakeOps) Action(ctx context.Context, hotkey, action, sshKey string) error {
	f.record("action:" + action)
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.actionErr != nil {
		return f.actionErr
	}
	if action == "pause" || action == "unpause" {
		if f.miner == nil {
			f.miner, f.checkErr = map[string]MinerStatus{}, map[string]error{}
		}
		state := map[string]string{"pause": "paused", "unpause": "running"}[action]
		f.miner[hotkey] = MinerStatus{Held: true, State: state}
	}
	return nil
}

// env is a Server behind an httptest TLS server.
type env struct {
	p   *pki
	s   *Server
	ts  *httptest.Server
	ops *fakeOps
}

func testConfig(t *testing.T, p *pki) Config {
	t.Helper()
	keys := filepath.Join(p.dir, "keys")
	if _, err := os.Stat(keys); err != nil {
		if err := os.WriteFile(keys, []byte("# test keys\n"+testKey+"\nshort\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cfg := DefaultConfig()
	cfg.Addr = "127.0.0.1:0"
	cfg.CertFile, cfg.KeyFile, cfg.ClientCAFile, cfg.KeysFile = p.certFile, p.keyFile, p.caFile, keys
	cfg.DataDir = filepath.Join(p.dir, "data")
	cfg.HealthInterval = 0
	cfg.MaxBody = 4096
	return cfg
}

func newEnv(t *testing.T, mod func(*Config)) *env {
	t.Helper()
	p := newPKI(t)
	cfg := testConfig(t, p)
	if mod != nil {
		mod(&cfg)
	}
	ops := &fakeOps{}
	s, err := New(cfg, ops, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	ts := httptest.NewUnstartedServer(s.Handler())
	ts.TLS = s.TLSConfig()
	ts.StartTLS()
	t.Cleanup(ts.Close)
	return &env{p: p, s: s, ts: ts, ops: ops}
}

type result struct {
	status int
	body   []byte
	header http.Header
}

func (r result) errCode(t *testing.T) string {
	t.Helper()
	var e apiError
	if err := json.Unmarshal(r.body, &e); err != nil {
		t.Fatalf("error body %q: %v", r.body, err)
	}
	return e.Error.Code
}

func (e *env) post(t *testing.T, c *http.Client, path, body string, hdr map[string]string) result {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, e.ts.URL+path, bytes.NewBufferString(body))
	req.Header.Set("Content-Type", "application/json")
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return result{resp.StatusCode, b, resp.Header}
}

func bearer(k string) map[string]string { return map[string]string{"Authorization": "Bearer " + k} }
