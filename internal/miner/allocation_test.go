package miner_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sn27/sn27/internal/allocation"
	"github.com/sn27/sn27/internal/docker"
	"github.com/sn27/sn27/internal/hwspec"
	"github.com/sn27/sn27/internal/miner"
	"github.com/sn27/sn27/internal/pow"
	"github.com/sn27/sn27/internal/protocol"
)

// renterKey is an RSA key as the SN27 renter makes one.
func renterKey(t testing.TB) (*rsa.PrivateKey, string) {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKIXPublicKey(&k.PublicKey)
	return k, string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

// sshKey makes an ed25519 key pair with ssh-keygen; returns the private key
// path and the public key line.
func sshKey(t testing.TB, name string) (string, string) {
	path := filepath.Join(t.TempDir(), name)
	if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name, "-f", path).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen: %v: %s", err, out)
	}
	pub, _ := os.ReadFile(path + ".pub")
	return path, strings.TrimSpace(string(pub))
}

// sshRun runs a command in the allocation with the real OpenSSH client.
func sshRun(key string, port int, command string) (string, error) {
	out, err := exec.Command("ssh", "-i", key, "-p", strconv.Itoa(port), "-o", "StrictHostKeyChecking=no",
		"-o", "UserKnownHostsFile=/dev/null", "-o", "BatchMode=yes", "-o", "ConnectTimeout=5", "-o", "LogLevel=ERROR",
		"root@127.0.0.1", command).CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

type allocEnv struct {
	n       *net27
	dataDir string
	port    int
	dc      *docker.Client
}

func newAllocEnv(t testing.TB) *allocEnv {
	if testing.Short() {
		t.Skip("needs dockerd, the allocation image and ssh; skipped with -short")
	}
	ctx := context.Background()
	dc, err := docker.New(ctx)
	if err != nil {
		t.Fatalf("docker (make test starts dockerd): %v", err)
	}
	t.Cleanup(func() { dc.Close() })
	if err := dc.BuildImage(ctx, docker.BuildOptions{}); err != nil {
		t.Fatalf("build the allocation image: %v", err)
	}
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	dataDir := t.TempDir()
	dc.SetDiskDir(filepath.Join(dataDir, "volumes"))
	dc.SetOwner(dataDir) // leftovers of other tests on this daemon are theirs
	t.Cleanup(func() {   // no container, volume or mounted disk outlives the test
		if removed, err := dc.RemoveOrphans(context.Background(), ""); err != nil {
			t.Errorf("remove the test's rentals: %v (removed %v)", err, removed)
		}
	})
	return &allocEnv{n: newNet(t), dataDir: dataDir, port: port, dc: dc}
}

// start runs a miner with the allocation component; clock shifts its time.
func (e *allocEnv) start(t *testing.T, shift time.Duration) (*runningMiner, *allocation.Manager, context.CancelFunc) {
	cfg := allocation.DefaultConfig()
	cfg.DataDir, cfg.SSHPort = e.dataDir, e.port
	return e.startWith(t, cfg, shift)
}

// startWith is start with an allocation configuration.
func (e *allocEnv) startWith(t testing.TB, cfg allocation.Config, shift time.Duration) (*runningMiner, *allocation.Manager, context.CancelFunc) {
	hw := hwspec.DefaultConfig()
	hw.NvidiaSMI = ""
	m, err := allocation.New(cfg, e.dc, hwspec.New(hw, e.dc), nil)
	if err != nil {
		t.Fatal(err)
	}
	m.SetClock(func() time.Time { return time.Now().Add(shift) })
	if err := m.Reconcile(context.Background()); err != nil {
		t.Fatal(err)
	}
	rm, stop := startMinerWith(t, e.n, miner.DefaultConfig(), miner.NativeSolver{Solver: &pow.Solver{}}, m)
	return rm, m, func() { stop(); m.Close() }
}

func allocate(t *testing.T, rm *runningMiner, edit func(*protocol.Allocate)) map[string]any {
	t.Helper()
	req := protocol.NewAllocate()
	edit(req)
	if err := client(t, "//Charlie").Call(context.Background(), rm.target, req, 2*time.Minute); err != nil {
		t.Fatalf("Allocate: %v", err)
	}
	var out map[string]any
	if err := json.Unmarshal(req.Output, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestAllocationLifecycle(t *testing.T) {
	e := newAllocEnv(t)
	rm, m1, stop := e.start(t, 0)
	priv, pubPEM := renterKey(t)
	key1, pub1 := sshKey(t, "renter1")
	key2, pub2 := sshKey(t, "renter2")

	if out := allocate(t, rm, func(a *protocol.Allocate) {
		a.Checking, a.Timeline = true, 60
		a.DeviceRequirement = json.RawMessage(`{"cpu":{"count":999}}`)
	}); out["status"] != false || !strings.Contains(fmt.Sprint(out["message"]), "exceeds") {
		t.Errorf("oversized check = %v; want refused with a reason", out)
	}

	start := time.Now()
	out := allocate(t, rm, func(a *protocol.Allocate) {
		a.Checking, a.Timeline, a.PublicKey = false, 60, pubPEM
		a.DeviceRequirement = json.RawMessage(`{"cpu":{"count":1},"ram":{"capacity":268435456},"hard_disk":{"capacity":1073741824}}`)
		a.DockerRequirement = json.RawMessage(`{"base_image":"ubuntu","ssh_key":"` + pub1 + `","ssh_port":4444,"volume_path":"/tmp","dockerfile":""}`)
	})
	if out["status"] != true {
		t.Fatalf("allocate = %v", out)
	}
	creds, err := allocation.DecryptCredentials(priv, out["info"].(string))
	if err != nil || creds.Username != "root" || creds.Port != e.port {
		t.Fatalf("credentials %+v, %v", creds, err)
	}
	var nproc string
	for {
		if nproc, err = sshRun(key1, creds.Port, "nproc"); err == nil || time.Since(start) > time.Minute {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Logf("Allocate request to first successful SSH login: %v", time.Since(start).Round(time.Millisecond))
	if err != nil || nproc != "1" {
		t.Fatalf("ssh nproc = %q, %v", nproc, err)
	}
	if mem, err := sshRun(key1, creds.Port, "cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max"); err != nil || mem != "268435456" {
		t.Errorf("memory limit = %q, %v", mem, err)
	}

	// A second allocation is refused cleanly.
	_, otherPEM := renterKey(t)
	if out := allocate(t, rm, func(a *protocol.Allocate) { a.Checking, a.Timeline, a.PublicKey = false, 60, otherPEM }); out["status"] != false {
		t.Errorf("second allocation = %v", out)
	}
	action := func(pem, act, key string) map[string]any {
		return allocate(t, rm, func(a *protocol.Allocate) {
			a.DockerChange, a.PublicKey, a.Checking = true, pem, false
			a.DockerAction = json.RawMessage(fmt.Sprintf(`{"action":%q,"ssh_key":%q,"key_type":"user"}`, act, key))
		})
	}
	if out := action(pubPEM, "exchange_key", pub2); out["status"] != true {
		t.Fatalf("exchange_key = %v", out)
	}
	if _, err := sshRun(key1, creds.Port, "true"); err == nil {
		t.Error("old key still logs in after exchange_key")
	}
	if _, err := sshRun(key2, creds.Port, "true"); err != nil {
		t.Errorf("new key refused after exchange_key: %v", err)
	}
	if out := action(otherPEM, "pause", ""); out["status"] != false {
		t.Errorf("pause by another key = %v", out)
	}
	if out := action(pubPEM, "pause", ""); out["status"] != true {
		t.Fatalf("pause = %v", out)
	}
	if _, err := sshRun(key2, creds.Port, "true"); err == nil {
		t.Error("ssh works while paused")
	}
	if out := action(pubPEM, "unpause", ""); out["status"] != true {
		t.Fatalf("unpause = %v", out)
	}
	if _, err := sshRun(key2, creds.Port, "true"); err != nil {
		t.Errorf("ssh after unpause: %v", err)
	}
	if out := allocate(t, rm, func(a *protocol.Allocate) { a.Checking, a.Timeline, a.PublicKey = true, 0, pubPEM }); out["status"] != true {
		t.Errorf("check allocated to this key = %v", out)
	}

	// Drained for an update's restart: changes are refused with a reason,
	// checks still say the rental is held, and it runs on; undrained,
	// changes are served again.
	if ok, why := m1.Drain(); !ok {
		t.Fatalf("Drain with no request being served = false, %q", why)
	}
	if out := action(pubPEM, "pause", ""); out["status"] != false || out["reason"] != allocation.ReasonRestarting {
		t.Errorf("pause while drained = %v; want refused, reason %s", out, allocation.ReasonRestarting)
	}
	if out := allocate(t, rm, func(a *protocol.Allocate) { a.Checking, a.Timeline, a.PublicKey = false, 0, pubPEM }); out["status"] != false || out["reason"] != allocation.ReasonRestarting {
		t.Errorf("deallocate while drained = %v; want refused, reason %s", out, allocation.ReasonRestarting)
	}
	if out := allocate(t, rm, func(a *protocol.Allocate) { a.Checking, a.Timeline, a.PublicKey = true, 0, pubPEM }); out["status"] != true {
		t.Errorf("check while drained = %v; want the rental still held", out)
	}
	if _, err := sshRun(key2, creds.Port, "true"); err != nil {
		t.Errorf("ssh while the miner is drained: %v", err)
	}
	m1.Undrain()
	if out := action(pubPEM, "pause", ""); out["status"] != true {
		t.Errorf("pause after Undrain = %v", out)
	}
	if out := action(pubPEM, "unpause", ""); out["status"] != true {
		t.Errorf("unpause after Undrain = %v", out)
	}

	// Kill the miner mid-allocation; a new one resumes it, and it still
	// expires on time: its clock runs ahead so that 3 s are left.
	first, _ := m1.Active()
	stop()
	rm2, m2, stop2 := e.start(t, time.Until(first.Deadline)-3*time.Second)
	defer stop2()
	if out := allocate(t, rm2, func(a *protocol.Allocate) { a.Checking, a.Timeline, a.PublicKey = true, 0, pubPEM }); out["status"] != true {
		t.Errorf("after restart, check allocated = %v", out)
	}
	if out := allocate(t, rm2, func(a *protocol.Allocate) { a.Checking, a.Timeline, a.PublicKey = false, 0, otherPEM }); out["status"] != false {
		t.Errorf("deallocate by another key = %v", out)
	}
	rec, _ := m2.Active()
	if rec.ContainerID != first.ContainerID {
		t.Fatalf("after restart the allocation is %+v; want %+v", rec, first)
	}
	start = time.Now()
	for m2.Allocated() {
		if time.Since(start) > 20*time.Second {
			t.Fatal("allocation did not expire")
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("expired %v after the restart, due after about 3 s", time.Since(start).Round(100*time.Millisecond))
	if _, err := e.dc.Inspect(context.Background(), rec.ContainerID); err == nil {
		t.Error("expired container still exists")
	}
}

func TestDeallocateRemovesContainer(t *testing.T) {
	e := newAllocEnv(t)
	rm, m, stop := e.start(t, 0)
	defer stop()
	_, pubPEM := renterKey(t)
	if out := allocate(t, rm, func(a *protocol.Allocate) {
		a.Checking, a.Timeline, a.PublicKey = false, 5, pubPEM
		a.DeviceRequirement = json.RawMessage(`{"cpu":{"count":1},"ram":{"capacity":134217728}}`)
	}); out["status"] != true {
		t.Fatalf("allocate = %v", out)
	}
	rec, _ := m.Active()
	if out := allocate(t, rm, func(a *protocol.Allocate) { a.Checking, a.Timeline, a.PublicKey = false, 0, pubPEM }); out["status"] != true {
		t.Fatalf("deallocate = %v", out)
	}
	if _, err := e.dc.Inspect(context.Background(), rec.ContainerID); err == nil {
		t.Error("container still exists after deallocate")
	}
}
