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
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sn27/sn27/internal/allocation"
	"github.com/sn27/sn27/internal/apiclient"
	"github.com/sn27/sn27/internal/chain"
	"github.com/sn27/sn27/internal/chain/chaintest"
	"github.com/sn27/sn27/internal/chain/devchain"
	"github.com/sn27/sn27/internal/docker"
	"github.com/sn27/sn27/internal/hwspec"
	"github.com/sn27/sn27/internal/keys"
	"github.com/sn27/sn27/internal/miner"
	"github.com/sn27/sn27/internal/pow"
	"github.com/sn27/sn27/internal/store"
)

// minerEnv is a dev chain with a subnet, a validator wallet on disk whose
// hotkey is staked, a real miner (//Eve) with the allocation component, and
// the validator's store (DataDir/validator.db) holding the miner's specs.
type minerEnv struct {
	WS        string   // dev chain endpoint
	NetUID    uint16   // the subnet
	WalletArg []string // --wallet.path DIR --wallet.name validator
	DataDir   string   // the validator's data dir
	Miner     string   // the miner's hotkey (SS58)
	SSHPort   int      // the port the allocation's sshd is published on
	Docker    *docker.Client
	Alloc     *allocation.Manager // the running miner's

	t         *testing.T
	acfg      allocation.Config
	chain     *chain.Client
	hotkey    *keys.Pair
	hw        hwspec.Config
	axonPort  int
	stopMiner func()
}

// newMinerEnv builds the environment of the renter and API end-to-end tests.
// Everything is torn down with t.Cleanup, and no container is left behind.
func newMinerEnv(ctx context.Context, t *testing.T) *minerEnv {
	t.Helper()
	dc, err := docker.New(ctx)
	if err != nil {
		t.Fatalf("docker: %v", err)
	}
	t.Cleanup(func() { dc.Close() })
	if err := dc.BuildImage(ctx, docker.BuildOptions{}); err != nil {
		t.Fatalf("build the allocation image: %v", err)
	}

	// The chain: the validator's wallet hotkey staked 2000 τ, the miner //Eve.
	_, ws, _ := chaintest.ServeDevChain(t, devchain.DefaultConfig())
	c := chaintest.Connect(t, ws)
	netuid := chaintest.NewSubnet(t, c)
	wdir := t.TempDir()
	w := []string{"--wallet.path", wdir, "--wallet.name", "validator"}
	if code, _, stderr := sn27(t, append([]string{"wallet", "create", "--no-password"}, w...)...); code != 0 {
		t.Fatal(stderr)
	}
	_, out, _ := sn27(t, append([]string{"wallet", "show", "--json"}, w...)...)
	var show struct{ Hotkey string }
	if err := json.Unmarshal([]byte(out), &show); err != nil {
		t.Fatal(err)
	}
	bob, dave, eve := chaintest.Dev(t, "//Bob"), chaintest.Dev(t, "//Dave"), chaintest.Dev(t, "//Eve")
	if _, err := c.BurnedRegister(ctx, bob, netuid, keys.Hotkey(show.Hotkey)); err != nil {
		t.Fatal(err)
	}
	if _, err := c.AddStake(ctx, bob, keys.Hotkey(show.Hotkey), netuid, 2000*chaintest.TAO); err != nil {
		t.Fatal(err)
	}
	if _, err := c.BurnedRegister(ctx, dave, netuid, eve.Hotkey()); err != nil {
		t.Fatal(err)
	}

	// The miner, with allocation.
	acfg := allocation.DefaultConfig()
	acfg.DataDir, acfg.SSHPort = t.TempDir(), freePort(t)
	hw := hwspec.DefaultConfig()
	hw.NvidiaSMI = ""
	specs := hwspec.New(hw, dc)
	dc.SetDiskDir(filepath.Join(acfg.DataDir, "volumes"))
	dc.SetOwner(acfg.DataDir) // leftovers of other tests on this daemon are theirs
	e := &minerEnv{WS: ws, NetUID: uint16(netuid), WalletArg: w, Miner: string(eve.Hotkey()), SSHPort: acfg.SSHPort, Docker: dc,
		t: t, acfg: acfg, chain: c, hotkey: eve, hw: hw, axonPort: freePort(t)}
	e.startMiner(ctx)
	t.Cleanup(func() { // never leave a container, volume or mounted disk behind
		e.stopMiner()
		if removed, err := dc.RemoveOrphans(context.Background(), ""); err != nil {
			t.Errorf("remove the test's rentals: %v (removed %v)", err, removed)
		}
	})

	// The validator's store, holding the miner's real specs report.
	dataDir := t.TempDir()
	st, err := store.Open(ctx, filepath.Join(dataDir, "validator.db"))
	if err != nil {
		t.Fatal(err)
	}
	rep, err := specs.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	js, _ := json.Marshal(rep)
	if err := st.SetSpecs(ctx, string(eve.Hotkey()), string(js)); err != nil {
		t.Fatal(err)
	}
	st.Close()
	e.DataDir = dataDir
	return e
}

// startMiner runs the miner (a new allocation component on the same data
// dir, reconciled with Docker, and the axon on the same port).
func (e *minerEnv) startMiner(ctx context.Context) {
	t := e.t
	t.Helper()
	am, err := allocation.New(e.acfg, e.Docker, hwspec.New(e.hw, e.Docker), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := am.Reconcile(ctx); err != nil {
		t.Fatal(err)
	}
	var ln net.Listener
	for i := 0; ; i++ { // the previous miner's port may take a moment to free
		if ln, err = net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(e.axonPort)); err == nil || i == 50 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	mcfg := miner.DefaultConfig()
	mcfg.NetUID = chain.NetUID(e.NetUID)
	mcfg.AxonIP, mcfg.AxonPort, mcfg.ExternalIP = "127.0.0.1", e.axonPort, "127.0.0.1"
	log := slog.New(slog.NewTextHandler(t.Output(), nil))
	mn, err := miner.New(mcfg, miner.Deps{Hotkey: e.hotkey, Chain: e.chain, Solver: miner.NativeSolver{Solver: &pow.Solver{}}, Registry: prometheus.NewRegistry(),
		Listener: ln, Specs: hwspec.New(e.hw, nil), Allocator: am, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	mctx, stop := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- mn.Run(mctx) }()
	var once sync.Once
	e.Alloc = am
	e.stopMiner = func() {
		once.Do(func() {
			stop()
			if err := <-errc; err != nil {
				t.Errorf("miner Run: %v", err)
			}
			am.Close()
		})
	}
	select {
	case <-mn.Ready():
	case err := <-errc:
		t.Fatalf("miner Run: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("miner never became ready")
	}
}

// writeClientCA writes a CA certificate to dir/clients-ca.pem and returns its
// path and a client certificate it signed.
func writeClientCA(t *testing.T, dir string) (string, tls.Certificate) {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(100), Subject: pkix.Name{CommonName: "clients"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true,
		BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, _ := x509.ParseCertificate(caDER)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(101), Subject: pkix.Name{CommonName: "client"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	kd, _ := x509.MarshalECPrivateKey(key)
	cert, err := tls.X509KeyPair(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kd}))
	if err != nil {
		t.Fatal(err)
	}
	caFile := filepath.Join(dir, "clients-ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	return caFile, cert
}

// TestAPIEndToEnd: `sn27 api` on a validator's data dir, against a real
// miner with Docker; a renter with a bearer key allocates (idempotently),
// logs in with OpenSSH, lists and deallocates; one with a client certificate
// sees the miner available again.
func TestAPIEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("needs dockerd, the allocation image and ssh; skipped with -short")
	}
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	e := newMinerEnv(ctx, t)
	t.Logf("setup took %v", time.Since(start).Round(time.Millisecond))

	// sn27 api, in-process.
	dir := t.TempDir()
	certFile, keyFile, pool := writeServerCert(t, dir)
	caFile, clientCert := writeClientCA(t, dir)
	const apiKey = "e2e-api-key-0123456789abcdef"
	keysFile := filepath.Join(dir, "api-keys")
	if err := os.WriteFile(keysFile, []byte("# e2e\n"+apiKey+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	addr := "127.0.0.1:" + strconv.Itoa(freePort(t))
	args := append([]string{"api", "--data.dir", e.DataDir, "--subtensor.chain_endpoint", e.WS,
		"--netuid", strconv.Itoa(int(e.NetUID)), "--api.addr", addr, "--api.cert", certFile, "--api.key", keyFile,
		"--api.client-ca", caFile, "--api.keys-file", keysFile, "--api.health.interval", "0"}, e.WalletArg...)
	args = append(args, "--wallet.hotkey", "default")
	tlsConf := func(cert *tls.Certificate) *http.Client {
		tc := &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
		if cert != nil {
			tc.Certificates = []tls.Certificate{*cert}
		}
		return &http.Client{Transport: &http.Transport{TLSClientConfig: tc}, Timeout: 60 * time.Second}
	}
	anon, withCert := tlsConf(nil), tlsConf(&clientCert)
	base := "https://" + addr
	api := startAPI(t, args, anon, base) // stopped before the miner's cleanups
	stop, apiErr := api.stop, &api.stderr
	t.Logf("sn27 api up after %v", time.Since(start).Round(time.Millisecond))

	type result struct {
		status int
		body   []byte
	}
	post := func(c *http.Client, path, body string, hdr map[string]string) result {
		t.Helper()
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, base+path, strings.NewReader(body))
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
		return result{resp.StatusCode, b}
	}
	auth := map[string]string{"Authorization": "Bearer " + apiKey}
	decode := func(r result, v any) {
		t.Helper()
		if err := json.Unmarshal(r.body, v); err != nil {
			t.Fatalf("%v: %s", err, r.body)
		}
	}
	type resources struct {
		Resources []struct {
			Hotkey    string `json:"hotkey"`
			VCPUs     int    `json:"vcpus"`
			Allocated bool   `json:"allocated"`
		} `json:"resources"`
	}
	type allocations struct {
		Allocations []struct {
			Hotkey string `json:"hotkey"`
			Host   string `json:"host"`
			Port   int    `json:"port"`
		} `json:"allocations"`
	}
	listAllocations := func() allocations {
		t.Helper()
		r := post(anon, "/list/allocations_sql", "{}", auth)
		if r.status != http.StatusOK {
			t.Fatalf("allocations_sql: %d %s", r.status, r.body)
		}
		var a allocations
		decode(r, &a)
		return a
	}
	listResources := func(c *http.Client, path string, hdr map[string]string) resources {
		t.Helper()
		r := post(c, path, "{}", hdr)
		if r.status != http.StatusOK {
			t.Fatalf("%s: %d %s", path, r.status, r.body)
		}
		var rs resources
		decode(r, &rs)
		return rs
	}
	if rs := listResources(anon, "/list/resources_sql", auth); len(rs.Resources) != 1 || rs.Resources[0].Hotkey != e.Miner || rs.Resources[0].Allocated {
		t.Fatalf("resources before allocating: %+v", rs)
	}

	// Allocate with a bearer key and an Idempotency-Key.
	key := filepath.Join(t.TempDir(), "k")
	if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "api-e2e", "-f", key).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen: %v: %s", err, out)
	}
	pub, err := os.ReadFile(key + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	reqBody, _ := json.Marshal(map[string]any{"cpu_count": 1, "ram_bytes": 256 << 20, "disk_bytes": 1 << 30, "timeline": 10,
		"ssh_key": strings.TrimSpace(string(pub))})
	idem := map[string]string{"Authorization": "Bearer " + apiKey, "Idempotency-Key": "e2e-allocate-1"}
	allocStart := time.Now()
	first := post(anon, "/service/allocate_spec", string(reqBody), idem)
	if first.status != http.StatusOK {
		t.Fatalf("allocate_spec: %d %s\n%s", first.status, first.body, apiErr.String())
	}
	var alloc struct {
		Hotkey string `json:"hotkey"`
		Host   string `json:"host"`
		Port   int    `json:"port"`
	}
	decode(first, &alloc)
	if alloc.Hotkey != e.Miner || alloc.Host != "127.0.0.1" || alloc.Port != e.SSHPort {
		t.Fatalf("allocation = %s; want %s at 127.0.0.1:%d", first.body, e.Miner, e.SSHPort)
	}
	rec, ok := e.Alloc.Active()
	if !ok {
		t.Fatal("the miner holds no allocation")
	}

	// Log in with the real OpenSSH client.
	ssh := func(command string) (string, error) {
		b, err := exec.CommandContext(ctx, "ssh", "-i", key, "-p", strconv.Itoa(alloc.Port), "-o", "StrictHostKeyChecking=no",
			"-o", "UserKnownHostsFile=/dev/null", "-o", "BatchMode=yes", "-o", "ConnectTimeout=5", "-o", "LogLevel=ERROR",
			"root@"+alloc.Host, command).CombinedOutput()
		return strings.TrimSpace(string(b)), err
	}
	var nproc string
	for {
		if nproc, err = ssh("nproc"); err == nil || time.Since(allocStart) > 30*time.Second {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if err != nil || nproc != "1" {
		t.Fatalf("ssh nproc = %q, %v", nproc, err)
	}
	t.Logf("allocate_spec to first ssh login: %v", time.Since(allocStart).Round(time.Millisecond))

	// The same request with the same Idempotency-Key: the same answer, no second allocation.
	again := post(anon, "/service/allocate_spec", string(reqBody), idem)
	if again.status != http.StatusOK || !bytes.Equal(again.body, first.body) {
		t.Errorf("repeated allocate_spec = %d %s; want 200 %s", again.status, again.body, first.body)
	}
	if now, ok := e.Alloc.Active(); !ok || now.ContainerID != rec.ContainerID {
		t.Errorf("allocation after the repeat = %+v, %v; want container %s", now, ok, rec.ContainerID)
	}
	as := listAllocations()
	if len(as.Allocations) != 1 || as.Allocations[0].Hotkey != e.Miner || as.Allocations[0].Port != e.SSHPort {
		t.Errorf("allocations_sql = %+v; want exactly one, of %s", as, e.Miner)
	}
	if rs := listResources(anon, "/list/resources_sql", auth); len(rs.Resources) != 1 || !rs.Resources[0].Allocated {
		t.Errorf("resources_sql after allocating = %+v", rs)
	}

	// Without authentication: 401, and nothing changes.
	for _, path := range []string{"/service/deallocate", "/service/allocate_spec", "/list/allocations_sql"} {
		body := `{"hotkey":"` + e.Miner + `"}`
		switch path {
		case "/service/allocate_spec":
			body = string(reqBody)
		case "/list/allocations_sql":
			body = "{}"
		}
		if r := post(anon, path, body, nil); r.status != http.StatusUnauthorized {
			t.Errorf("%s without auth = %d %s; want 401", path, r.status, r.body)
		}
	}
	if r := post(anon, "/service/deallocate", `{"hotkey":"`+e.Miner+`"}`, map[string]string{"Authorization": "Bearer not-a-key-0123456789"}); r.status != http.StatusUnauthorized {
		t.Errorf("deallocate with a wrong key = %d %s; want 401", r.status, r.body)
	}
	if now, ok := e.Alloc.Active(); !ok || now.ContainerID != rec.ContainerID {
		t.Errorf("allocation after unauthenticated requests = %+v, %v", now, ok)
	}
	if as := listAllocations(); len(as.Allocations) != 1 {
		t.Errorf("allocations_sql after unauthenticated requests = %+v", as)
	}
	if out, err := ssh("true"); err != nil {
		t.Errorf("ssh after unauthenticated requests: %v: %s", err, out)
	}

	// Deallocate: the container is gone.
	r := post(anon, "/service/deallocate", `{"hotkey":"`+e.Miner+`"}`, auth)
	if r.status != http.StatusOK {
		t.Fatalf("deallocate: %d %s", r.status, r.body)
	}
	var dr struct {
		Hotkey      string `json:"hotkey"`
		Deallocated bool   `json:"deallocated"`
	}
	decode(r, &dr)
	if dr.Hotkey != e.Miner || !dr.Deallocated {
		t.Errorf("deallocate = %s", r.body)
	}
	if _, err := e.Docker.Inspect(ctx, rec.ContainerID); !errors.Is(err, docker.ErrNotFound) {
		t.Errorf("container after deallocate: %v; want ErrNotFound", err)
	}
	if as := listAllocations(); len(as.Allocations) != 0 {
		t.Errorf("allocations_sql after deallocate = %+v", as)
	}

	// Refusals get their own codes and carry the reason.
	type apiError struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	refusal := func(body string, wantStatus int, wantCode, wantText string) {
		t.Helper()
		r := post(anon, "/service/allocate_hotkey", body, auth)
		var ae apiError
		_ = json.Unmarshal(r.body, &ae)
		if r.status != wantStatus || ae.Error.Code != wantCode || !strings.Contains(ae.Error.Message, wantText) {
			t.Errorf("allocate_hotkey %s = %d %s; want %d %s with %q", body, r.status, r.body, wantStatus, wantCode, wantText)
		}
	}
	ferdie := chaintest.Dev(t, "//NotRegisteredAnywhere").Hotkey()
	refusal(`{"hotkey":"`+string(ferdie)+`","timeline":10}`, http.StatusNotFound, "unknown_hotkey", "not registered")
	refusal(`{"hotkey":"`+e.Miner+`","timeline":50000}`, http.StatusUnprocessableEntity, "invalid_request", "timeline 50000 minutes is outside 1..43200")
	refusal(`{"hotkey":"`+e.Miner+`","timeline":10,"ssh_key":"ssh-ed25519 AAAAnot-a-key"}`, http.StatusUnprocessableEntity, "invalid_request", "ssh key")
	held := post(anon, "/service/allocate_hotkey", `{"hotkey":"`+e.Miner+`","timeline":10,"ssh_key":"`+strings.TrimSpace(string(pub))+`"}`, auth)
	if held.status != http.StatusOK {
		t.Fatalf("allocate_hotkey: %d %s", held.status, held.body)
	}
	var heldAlloc struct {
		KnownHosts string `json:"known_hosts"`
	}
	decode(held, &heldAlloc)
	if !strings.HasPrefix(heldAlloc.KnownHosts, "[127.0.0.1]:"+strconv.Itoa(e.SSHPort)+" ssh-ed25519 ") {
		t.Errorf("known_hosts line = %q", heldAlloc.KnownHosts)
	}
	refusal(`{"hotkey":"`+e.Miner+`","timeline":10}`, http.StatusConflict, "already_allocated", "already allocated")
	if r := post(anon, "/service/deallocate", `{"hotkey":"`+e.Miner+`"}`, auth); r.status != http.StatusOK {
		t.Fatalf("deallocate: %d %s", r.status, r.body)
	}

	// Clients generated from the served OpenAPI document drive the same
	// API, on the real miner: the Go one (internal/apiclient, oapi-codegen)
	// and the TypeScript one (tools/openapi: openapi-typescript, tsc, node).
	generatedClientsCycle(ctx, t, base, apiKey, certFile, anon, e.Miner, strings.TrimSpace(string(pub)))
	if as := listAllocations(); len(as.Allocations) != 0 {
		t.Errorf("allocations_sql after the generated clients = %+v", as)
	}

	// A client certificate from --api.client-ca, no bearer key.
	rs := listResources(withCert, "/list/available", nil)
	if len(rs.Resources) != 1 || rs.Resources[0].Hotkey != e.Miner || rs.Resources[0].Allocated {
		t.Errorf("available with a client certificate = %+v; want %s free", rs, e.Miner)
	}
	if r := post(anon, "/list/available", "{}", nil); r.status != http.StatusUnauthorized {
		t.Errorf("available without a certificate = %d %s; want 401", r.status, r.body)
	}

	stop()
	t.Logf("total %v", time.Since(start).Round(time.Millisecond))
}

// runningAPI is an in-process `sn27 api`.
type runningAPI struct {
	stop   func() // ends it and checks its exit code (also at cleanup)
	stderr syncBuffer
}

// startAPI runs `sn27 ARGS` (an api command) until the test ends and
// returns once base/healthz answers through hc.
func startAPI(t *testing.T, args []string, hc *http.Client, base string) *runningAPI {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	a := &runningAPI{}
	done := make(chan int, 1)
	go func() { done <- run(ctx, args, io.Discard, &a.stderr) }()
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if resp, err := hc.Get(base + "/healthz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		select {
		case code := <-done:
			cancel()
			t.Fatalf("sn27 api exited %d before serving:\n%s", code, a.stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("sn27 api did not come up:\n%s", a.stderr.String())
		}
	}
	var once sync.Once
	a.stop = func() {
		once.Do(func() {
			cancel()
			select {
			case code := <-done:
				if code != 0 {
					t.Errorf("sn27 api: exit %d\n%s", code, a.stderr.String())
				}
			case <-time.After(15 * time.Second):
				t.Error("sn27 api did not stop")
			}
		})
	}
	t.Cleanup(a.stop)
	return a
}

// TestAPIConcurrentAllocate: sixteen allocate_hotkey calls at once for one
// free miner, as a busy client sends them, get exactly one 200 and fifteen
// 409s (never a 500); the miner runs one container, and the winner's
// rental is whole: listed, and deallocated with its own renter key.
func TestAPIConcurrentAllocate(t *testing.T) {
	if testing.Short() {
		t.Skip("needs dockerd and the allocation image; skipped with -short")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	e := newMinerEnv(ctx, t)

	dir := t.TempDir()
	certFile, keyFile, pool := writeServerCert(t, dir)
	const apiKey = "race-api-key-0123456789abcdef"
	keysFile := filepath.Join(dir, "api-keys")
	if err := os.WriteFile(keysFile, []byte(apiKey+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	addr := "127.0.0.1:" + strconv.Itoa(freePort(t))
	args := append([]string{"api", "--data.dir", e.DataDir, "--subtensor.chain_endpoint", e.WS,
		"--netuid", strconv.Itoa(int(e.NetUID)), "--api.addr", addr, "--api.cert", certFile, "--api.key", keyFile,
		"--api.keys-file", keysFile, "--api.health.interval", "0", "--wallet.hotkey", "default"}, e.WalletArg...)
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12},
		MaxIdleConnsPerHost: 32}, Timeout: 90 * time.Second}
	base := "https://" + addr
	api := startAPI(t, args, hc, base)
	post := func(path, body string) (int, []byte, error) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, base+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+apiKey)
		resp, err := hc.Do(req)
		if err != nil {
			return 0, nil, err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return resp.StatusCode, b, err
	}

	const n = 16
	body := `{"hotkey":"` + e.Miner + `","cpu_count":1,"ram_bytes":268435456,"disk_bytes":268435456,"timeline":10}`
	type answer struct {
		status int
		body   []byte
		err    error
	}
	answers := make([]answer, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range answers {
		wg.Go(func() {
			<-start
			a := &answers[i]
			a.status, a.body, a.err = post("/service/allocate_hotkey", body)
		})
	}
	close(start)
	wg.Wait()
	counts := map[int]int{}
	var winner []byte
	for i, a := range answers {
		if a.err != nil {
			t.Fatalf("call %d: %v", i, a.err)
		}
		counts[a.status]++
		switch a.status {
		case http.StatusOK:
			winner = a.body
		case http.StatusConflict:
			var ae struct {
				Error struct{ Code string } `json:"error"`
			}
			if err := json.Unmarshal(a.body, &ae); err != nil || ae.Error.Code != "already_allocated" {
				t.Errorf("call %d: 409 %s; want code already_allocated", i, a.body)
			}
		default:
			t.Errorf("call %d: %d %s", i, a.status, a.body)
		}
	}
	t.Logf("%d concurrent allocate_hotkey: %d × 200, %d × 409, %d × 500 (all: %v)", n, counts[200], counts[409], counts[500], counts)
	if counts[http.StatusOK] != 1 || counts[http.StatusConflict] != n-1 {
		t.Fatalf("answers %v; want one 200 and %d 409s\n%s", counts, n-1, api.stderr.String())
	}
	var alloc struct {
		Hotkey string `json:"hotkey"`
		Port   int    `json:"port"`
	}
	if err := json.Unmarshal(winner, &alloc); err != nil || alloc.Hotkey != e.Miner || alloc.Port != e.SSHPort {
		t.Fatalf("the 200 answer %s: %v", winner, err)
	}
	rec, ok := e.Alloc.Active()
	if !ok {
		t.Fatal("the miner holds no allocation")
	}
	cs, err := e.Docker.List(ctx, map[string]string{"sn27.allocation": "1", docker.OwnerLabel: e.acfg.DataDir})
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) != 1 || cs[0].ID != rec.ContainerID {
		t.Errorf("allocation containers %+v; want only %s", cs, rec.ContainerID)
	}
	code, b, err := post("/list/allocated_hotkeys", "{}")
	if err != nil || code != http.StatusOK || !strings.Contains(string(b), e.Miner) {
		t.Errorf("allocated_hotkeys: %d %s %v", code, b, err)
	}
	// The renter key on disk is the winner's: the miner accepts it.
	code, b, err = post("/service/deallocate", `{"hotkey":"`+e.Miner+`"}`)
	if err != nil || code != http.StatusOK {
		t.Fatalf("deallocate: %d %s %v\n%s", code, b, err, api.stderr.String())
	}
	if _, ok := e.Alloc.Active(); ok {
		t.Error("the miner still holds the allocation after deallocate")
	}
	if strings.Contains(api.stderr.String(), "Nonce is too old") {
		t.Errorf("the API log has nonce refusals:\n%s", api.stderr.String())
	}
}

// generatedClientsCycle allocates hotkey, finds it listed and deallocates
// it through the Go client oapi-codegen made (internal/apiclient), then
// does the same with the TypeScript client of tools/openapi, built with
// npm run build (openapi-typescript and tsc; node_modules from
// scripts/test-deps.sh) and run with node.
func generatedClientsCycle(ctx context.Context, t *testing.T, base, apiKey, caFile string, hc *http.Client, hotkey, sshKey string) {
	t.Helper()
	c, err := apiclient.NewClientWithResponses(base, apiclient.WithHTTPClient(hc),
		apiclient.WithRequestEditorFn(func(_ context.Context, r *http.Request) error {
			r.Header.Set("Authorization", "Bearer "+apiKey)
			return nil
		}))
	if err != nil {
		t.Fatal(err)
	}
	listed := func() []string {
		t.Helper()
		r, err := c.ListAllocationsWithResponse(ctx, apiclient.ListAllocationsJSONRequestBody{})
		if err != nil || r.JSON200 == nil || r.JSON200.Allocations == nil {
			t.Fatalf("listAllocations: %v %s %s", err, r.Status(), r.Body)
		}
		var hks []string
		for _, a := range *r.JSON200.Allocations {
			if a.Hotkey != nil {
				hks = append(hks, *a.Hotkey)
			}
		}
		return hks
	}
	idem := "e2e-generated-go-client"
	a, err := c.AllocateHotkeyWithResponse(ctx, &apiclient.AllocateHotkeyParams{IdempotencyKey: &idem},
		apiclient.AllocateHotkeyJSONRequestBody{Hotkey: hotkey, Timeline: 10, SshKey: &sshKey})
	if err != nil || a.JSON200 == nil || a.JSON200.Hotkey == nil || *a.JSON200.Hotkey != hotkey || a.JSON200.Port == nil || *a.JSON200.Port <= 0 {
		t.Fatalf("Go client allocateHotkey: %v %s %s", err, a.Status(), a.Body)
	}
	if hks := listed(); !slices.Equal(hks, []string{hotkey}) {
		t.Errorf("Go client listAllocations = %v; want [%s]", hks, hotkey)
	}
	d, err := c.DeallocateWithResponse(ctx, nil, apiclient.DeallocateJSONRequestBody{Hotkey: hotkey})
	if err != nil || d.JSON200 == nil || d.JSON200.Deallocated == nil || !*d.JSON200.Deallocated {
		t.Fatalf("Go client deallocate: %v %s %s", err, d.Status(), d.Body)
	}
	if hks := listed(); len(hks) != 0 {
		t.Errorf("Go client listAllocations after deallocate = %v", hks)
	}

	tools, _ := filepath.Abs(filepath.Join("..", "..", "tools", "openapi"))
	if _, err := os.Stat(filepath.Join(tools, "node_modules", ".bin", "tsc")); err != nil {
		t.Fatalf("tools/openapi/node_modules is missing (%v): run ./scripts/test-deps.sh", err)
	}
	npm := exec.CommandContext(ctx, "npm", "run", "--silent", "build")
	npm.Dir = tools
	if out, err := npm.CombinedOutput(); err != nil {
		t.Fatalf("npm run build (openapi-typescript, tsc): %v\n%s", err, out)
	}
	node := exec.CommandContext(ctx, "node", filepath.Join(tools, "build", "client.js"))
	node.Env = append(os.Environ(), "SN27_API_URL="+base, "SN27_API_KEY="+apiKey, "SN27_HOTKEY="+hotkey, "NODE_EXTRA_CA_CERTS="+caFile)
	out, err := node.Output()
	var res struct {
		OK            bool
		Hotkey        string
		Listed, After int
	}
	if jerr := json.Unmarshal(out, &res); err != nil || jerr != nil || !res.OK || res.Hotkey != hotkey || res.After != 0 {
		t.Fatalf("the TypeScript client: %s (%v, %v); want ok for %s and gone after deallocate", strings.TrimSpace(string(out)), err, jerr, hotkey)
	}
}
