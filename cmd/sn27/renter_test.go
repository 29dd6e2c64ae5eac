package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sn27/sn27/internal/chain/chaintest"
	"github.com/sn27/sn27/internal/chain/devchain"
	"github.com/sn27/sn27/internal/docker"
	"github.com/sn27/sn27/internal/hwspec"
	"github.com/sn27/sn27/internal/keys"
	"github.com/sn27/sn27/internal/pog"
	"github.com/sn27/sn27/internal/renter"
	"github.com/sn27/sn27/internal/store"
)

// renterCLI runs `sn27 renter ARGS...` in-process (whether or not root.go
// registers the command yet) and returns exit code, stdout, stderr.
func renterCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	root := newRootCmd()
	if c, _, err := root.Find([]string{"renter"}); err != nil || c == root {
		root.AddCommand(newRenterCmd())
	}
	var out, errb bytes.Buffer
	root.SetArgs(append([]string{"renter"}, args...))
	root.SetOut(&out)
	root.SetErr(&errb)
	code := 0
	if err := root.ExecuteContext(context.Background()); err != nil {
		code = 1
		var ee *exitError
		if errors.As(err, &ee) {
			code = ee.code
		}
		errb.WriteString("sn27: " + err.Error() + "\n")
	}
	return code, out.String(), errb.String()
}

func TestRenterHelpHasExamples(t *testing.T) {
	cmd := newRenterCmd()
	for _, sub := range append(cmd.Commands(), cmd) {
		if !strings.Contains(sub.Example, "sn27 renter") {
			t.Errorf("%s has no example", sub.CommandPath())
		}
	}
	if code, out, _ := renterCLI(t, "allocate", "--help"); code != 0 || !strings.Contains(out, "--ssh-key") || !strings.Contains(out, "Examples:") {
		t.Errorf("allocate --help: exit %d\n%s", code, out)
	}
}

func TestRenterRequestFlags(t *testing.T) {
	dir := t.TempDir()
	pub := filepath.Join(dir, "k.pub")
	os.WriteFile(pub, []byte("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB test\n"), 0o600)
	os.WriteFile(filepath.Join(dir, "k"), []byte("private"), 0o600)
	r := requestFlags{cpu: 2, gpuMem: "40GB", ram: "512MB", disk: "1.5GB", timeline: 10, sshKeyFile: pub}
	q, err := r.request()
	if err != nil {
		t.Fatal(err)
	}
	want := renter.Request{CPUCount: 2, GPUMemoryMiB: 40 << 10, RAMBytes: 512 << 20, DiskBytes: 3 << 29, Timeline: 10,
		SSHKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB test"}
	if q != want {
		t.Errorf("request = %+v; want %+v", q, want)
	}
	a := renter.Allocation{SSHCommand: "ssh -p 4444 root@10.0.0.1"}
	if got, want := sshCommandLine(a, pub), "ssh -i "+filepath.Join(dir, "k")+" -p 4444 root@10.0.0.1"; got != want {
		t.Errorf("ssh command = %q; want %q", got, want)
	}
	if got := sshCommandLine(a, ""); got != a.SSHCommand {
		t.Errorf("ssh command without a key file = %q", got)
	}
	for _, bad := range []requestFlags{{ram: "lots", disk: "1GB", gpuMem: "0"}, {ram: "1GB", disk: "1GB", gpuMem: "0", sshKeyFile: filepath.Join(dir, "k")}} {
		if _, err := bad.request(); err == nil {
			t.Errorf("request(%+v) accepted", bad)
		}
	}
}

func TestRenterStoreOnlyCommands(t *testing.T) {
	dir := t.TempDir()
	if code, _, stderr := renterCLI(t, "list-penalized", "--data.dir", dir); code != exitBadInput || !strings.Contains(stderr, "no validator store") {
		t.Errorf("without a store: exit %d, %s", code, stderr)
	}
	st, err := store.Open(context.Background(), filepath.Join(dir, "validator.db"))
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	hk := chaintest.Dev(t, "//Eve").SS58()
	if code, _, stderr := renterCLI(t, "penalize", hk, "--reason", "flaky", "--data.dir", dir); code != 0 {
		t.Fatal(stderr)
	}
	if _, out, _ := renterCLI(t, "list-penalized", "--data.dir", dir); !strings.Contains(out, hk) || !strings.Contains(out, "flaky") {
		t.Errorf("list-penalized:\n%s", out)
	}
	if code, _, _ := renterCLI(t, "penalize", "not-a-hotkey", "--data.dir", dir); code != exitBadInput {
		t.Errorf("penalize of a bad hotkey: exit %d", code)
	}
	renterCLI(t, "depenalize", hk, "--data.dir", dir)
	if _, out, _ := renterCLI(t, "list-penalized", "--data.dir", dir, "--json"); strings.TrimSpace(out) != "{}" {
		t.Errorf("after depenalize: %s", out)
	}
	if _, out, _ := renterCLI(t, "list-allocations", "--data.dir", dir); !strings.Contains(out, "0 allocations") {
		t.Errorf("list-allocations: %s", out)
	}
	if code, _, stderr := renterCLI(t, "deallocate", hk, "--data.dir", dir, "--subtensor.chain_endpoint", "ws://127.0.0.1:1"); code == 0 {
		t.Errorf("deallocate of nothing: exit 0, %s", stderr)
	}
}

// TestRenterListResourcesVerified: list-resources shows each miner's latest
// proof-of-GPU verdict beside its claimed specs, and --verified and
// --verified-model keep only the verified miners (a dev chain in-process
// and the validator's store; no miner runs).
func TestRenterListResourcesVerified(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, ws, _ := chaintest.ServeDevChain(t, devchain.DefaultConfig())
	c := chaintest.Connect(t, ws)
	netuid := chaintest.NewSubnet(t, c)
	dave, eve, bob, charlie := chaintest.Dev(t, "//Dave"), chaintest.Dev(t, "//Eve"), chaintest.Dev(t, "//Bob"), chaintest.Dev(t, "//Charlie")
	for _, reg := range []struct{ cold, hot *keys.Pair }{{dave, eve}, {bob, charlie}} {
		if _, err := c.BurnedRegister(ctx, reg.cold, netuid, reg.hot.Hotkey()); err != nil {
			t.Fatal(err)
		}
	}
	dir := t.TempDir()
	st, err := store.Open(ctx, filepath.Join(dir, "validator.db"))
	if err != nil {
		t.Fatal(err)
	}
	const specs = `{"cpu":{"count":4},"gpu":{"count":1,"capacity":24576,"details":[{"name":"NVIDIA GeForce RTX 4090","capacity":24576}]},
"hard_disk":{"free":53687091200},"ram":{"available":8589934592}}`
	passed, failed := string(eve.Hotkey()), string(charlie.Hotkey())
	for _, v := range []pog.Verdict{
		{Hotkey: passed, Block: 7, Time: time.Now().Add(-3*time.Minute - time.Second), Passed: true, Model: "PoCL CPU", GPUs: 1, ClaimedModel: "PoCL CPU", ClaimedGPUs: 1},
		{Hotkey: failed, Block: 8, Time: time.Now().Add(-2 * time.Hour), FailedStep: pog.StepWork, Reason: "work root mismatch", ClaimedModel: "NVIDIA GeForce RTX 4090", ClaimedGPUs: 1},
	} {
		js, _ := json.Marshal(v)
		if err := st.SetSpecs(ctx, v.Hotkey, specs); err != nil {
			t.Fatal(err)
		}
		if err := st.AddVerdict(ctx, v.Hotkey, v.Block, v.Passed, string(js)); err != nil {
			t.Fatal(err)
		}
	}
	st.Close()

	common := []string{"--subtensor.chain_endpoint", ws, "--netuid", strconv.Itoa(int(netuid)), "--data.dir", dir}
	list := func(args ...string) []renter.Resource {
		t.Helper()
		code, out, stderr := renterCLI(t, append(append([]string{"list-resources", "--json"}, args...), common...)...)
		if code != 0 {
			t.Fatalf("list-resources %v: exit %d: %s", args, code, stderr)
		}
		var rs []renter.Resource
		if err := json.Unmarshal([]byte(out), &rs); err != nil {
			t.Fatalf("%v: %s", err, out)
		}
		return rs
	}
	hotkeys := func(rs []renter.Resource) string {
		var hs []string
		for _, r := range rs {
			hs = append(hs, r.Hotkey)
		}
		return strings.Join(hs, ",")
	}

	all := list()
	if len(all) != 2 {
		t.Fatalf("resources = %+v; want Eve and Charlie", all)
	}
	for _, r := range all {
		switch r.Hotkey {
		case passed:
			if !r.Verified || r.VerifiedModel != "PoCL CPU" || r.VerifiedGPUs != 1 || r.VerdictBlock != 7 || r.VerdictAge < 180 || r.VerdictAge > 240 {
				t.Errorf("passed miner = %+v; want verified 1× PoCL CPU at block 7, about 3 minutes old", r)
			}
		case failed:
			if r.Verified || r.VerifiedModel != "" || r.VerdictFailedStep != pog.StepWork || r.GPUName != "NVIDIA GeForce RTX 4090" {
				t.Errorf("failed miner = %+v; want not verified, failed at work, claiming an RTX 4090", r)
			}
		}
	}
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"--verified"}, passed},
		{[]string{"--verified-model", "pocl cpu"}, passed},
		{[]string{"--verified", "--verified-model", "PoCL CPU"}, passed},
		{[]string{"--verified-model", "NVIDIA GeForce RTX 4090"}, ""},
	} {
		if got := hotkeys(list(tt.args...)); got != tt.want {
			t.Errorf("list-resources %v = %s; want %q", tt.args, got, tt.want)
		}
	}
	if _, out, _ := renterCLI(t, append([]string{"list-resources", "--verified-model", "nvidia geforce rtx 4090", "--json"}, common...)...); strings.TrimSpace(out) != "[]" {
		t.Errorf("JSON of an empty selection = %q; want []", out)
	}

	_, out, _ := renterCLI(t, append([]string{"list-resources"}, common...)...)
	t.Logf("list-resources:\n%s", out)
	for _, want := range []string{"VERIFIED", "AGE", "1× PoCL CPU", "3m", "no (work)", "2h", "2 miners, 2 available"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	_, out, _ = renterCLI(t, append([]string{"list-resources", "--verified"}, common...)...)
	if strings.Contains(out, failed) || !strings.Contains(out, passed) || !strings.Contains(out, "1 miners, 1 available") {
		t.Errorf("--verified table:\n%s", out)
	}
	if code, _, stderr := renterCLI(t, append([]string{"list-resources", "--verified-model", " "}, common...)...); code != exitBadInput || !strings.Contains(stderr, "--verified-model") {
		t.Errorf("--verified-model without a name: exit %d: %s", code, stderr)
	}
}

// TestToAPIResource: the API gets every field of a renter.Resource, the
// proof-of-GPU ones included.
func TestToAPIResource(t *testing.T) {
	r := renter.Resource{Hotkey: "5F", GPUName: "NVIDIA H100 80GB HBM3", GPUMemoryGB: 80, GPUCount: 8, VCPUs: 64, RAMGB: 512, DiskGB: 2000,
		Allocated: true, Verified: true, VerifiedModel: "NVIDIA H100 80GB HBM3", VerifiedGPUs: 7, VerdictAge: 12.5, VerdictBlock: 99,
		VerdictFailedStep: "work"}
	got := reflect.ValueOf(toAPIResource(r))
	want := reflect.ValueOf(r)
	for i := range got.NumField() {
		name := got.Type().Field(i).Name
		w := want.FieldByName(name)
		if !w.IsValid() {
			t.Errorf("api.Resource.%s has no renter.Resource field", name)
			continue
		}
		if got.Field(i).Interface() != w.Interface() {
			t.Errorf("%s = %v; want %v", name, got.Field(i), w)
		}
	}
	if got.NumField() != want.NumField() {
		t.Errorf("api.Resource has %d fields, renter.Resource %d", got.NumField(), want.NumField())
	}
}

func TestRenterVerdictColumns(t *testing.T) {
	tests := []struct {
		r        renter.Resource
		verified string
		age      string
	}{
		{renter.Resource{Verified: true, VerifiedModel: "PoCL CPU", VerifiedGPUs: 1, VerdictAge: 180}, "1× PoCL CPU", "3m"},
		{renter.Resource{Verified: true, VerifiedModel: "NVIDIA H100 80GB HBM3", VerifiedGPUs: 8, VerdictAge: 0}, "8× NVIDIA H100 80GB HBM3", "0s"},
		{renter.Resource{VerdictFailedStep: pog.StepIdentify, VerdictAge: 59.9}, "no (identify)", "59s"},
		{renter.Resource{VerdictFailedStep: pog.StepWork, VerdictAge: 5 * 3600}, "no (work)", "5h"},
		{renter.Resource{VerdictFailedStep: pog.StepConnect, VerdictAge: 3 * 86400}, "no (connect)", "3d"},
		{renter.Resource{VerdictAge: -1}, "-", "-"},
	}
	for _, tt := range tests {
		if got := verifiedText(tt.r); got != tt.verified {
			t.Errorf("verifiedText(%+v) = %q; want %q", tt.r, got, tt.verified)
		}
		if got := fmtAge(tt.r.VerdictAge); got != tt.age {
			t.Errorf("fmtAge(%v) = %q; want %q", tt.r.VerdictAge, got, tt.age)
		}
	}
}

// TestRenterEndToEnd: a real miner with the allocation component on a dev
// chain, the validator's store holding its specs, and the renter CLI
// allocating it, logging in with OpenSSH, pausing, unpausing and
// deallocating it.
func TestRenterEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("needs dockerd, the allocation image and ssh; skipped with -short")
	}
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	env := newMinerEnv(ctx, t)
	ws, netuid, w, dataDir := env.WS, env.NetUID, env.WalletArg, env.DataDir
	dc, am, sshPort, eve := env.Docker, env.Alloc, env.SSHPort, chaintest.Dev(t, "//Eve")
	hw := hwspec.DefaultConfig()
	hw.NvidiaSMI = ""
	rep, err := hwspec.New(hw, nil).Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("setup took %v", time.Since(start).Round(time.Millisecond))

	common := append([]string{"--subtensor.chain_endpoint", ws, "--netuid", strconv.Itoa(int(netuid)), "--data.dir", dataDir}, w...)
	cli := func(args ...string) (int, string, string) {
		t.Helper()
		return renterCLI(t, append(args, common...)...)
	}
	resources := func() []renter.Resource {
		t.Helper()
		code, out, stderr := cli("list-resources", "--json")
		if code != 0 {
			t.Fatalf("list-resources: exit %d: %s", code, stderr)
		}
		var rs []renter.Resource
		if err := json.Unmarshal([]byte(out), &rs); err != nil {
			t.Fatalf("%v: %s", err, out)
		}
		return rs
	}
	if rs := resources(); len(rs) != 1 || rs[0].Hotkey != string(eve.Hotkey()) || rs[0].Allocated || rs[0].VCPUs != int(rep.CPU.Count) {
		t.Fatalf("resources = %+v", rs)
	}
	if _, out, _ := cli("list-resources"); !strings.Contains(out, string(eve.Hotkey())) || !strings.Contains(out, "Avail.") {
		t.Errorf("list-resources table:\n%s", out)
	}

	// A request no miner meets.
	code, _, stderr := cli("allocate", "--cpu.count", "999", "--timeline", "10")
	if code != exitFailed || !strings.Contains(stderr, "no available miner meets the request") || !strings.Contains(stderr, "cpu count") {
		t.Errorf("oversized allocate: exit %d: %s", code, stderr)
	}

	keyDir := t.TempDir()
	key := filepath.Join(keyDir, "k")
	if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "renter", "-f", key).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen: %v: %s", err, out)
	}
	allocStart := time.Now()
	code, out, stderr := cli("allocate", "--cpu.count", "1", "--ram", "256MB", "--timeline", "10", "--ssh-key", key+".pub")
	if code != 0 {
		t.Fatalf("allocate: exit %d: %s", code, stderr)
	}
	t.Logf("allocate output:\n%s", out)
	knownHosts := filepath.Join(dataDir, "renter-keys", string(eve.Hotkey())+".known_hosts")
	wantCmd := "ssh -i " + key + " -p " + strconv.Itoa(sshPort) + " -o UserKnownHostsFile=" + knownHosts + " -o StrictHostKeyChecking=yes root@127.0.0.1"
	if !strings.Contains(out, wantCmd) {
		t.Fatalf("allocate output lacks %q", wantCmd)
	}
	rec, ok := am.Active()
	if !ok {
		t.Fatal("the miner holds no allocation")
	}
	renterKey := filepath.Join(dataDir, "renter-keys", string(eve.Hotkey())+".pem")
	if fi, err := os.Stat(renterKey); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("renter key %v, %v; want mode 0600", fi, err)
	}
	if fi, err := os.Stat(filepath.Dir(renterKey)); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("renter keys dir %v, %v; want mode 0700", fi, err)
	}

	// Log in with the printed command (its host key pinned: the first
	// login is verified) and the real OpenSSH client, at once: the miner
	// answered only once sshd did.
	args := strings.Fields(wantCmd)
	batch := []string{"-o", "BatchMode=yes", "-o", "ConnectTimeout=5", "-o", "LogLevel=ERROR"}
	ssh := func(command string) (string, error) {
		b, err := exec.Command(args[0], append(append(append([]string{}, batch...), args[1:]...), command)...).CombinedOutput()
		return strings.TrimSpace(string(b)), err
	}
	if nproc, err := ssh("nproc"); err != nil || nproc != "1" {
		t.Fatalf("ssh nproc right after allocate = %q, %v", nproc, err)
	}
	t.Logf("allocate command to first ssh login: %v", time.Since(allocStart).Round(time.Millisecond))

	if _, out, _ := cli("list-allocations"); !strings.Contains(out, string(eve.Hotkey())) || !strings.Contains(out, "root@127.0.0.1:"+strconv.Itoa(sshPort)) {
		t.Errorf("list-allocations:\n%s", out)
	}
	if code, out, stderr := cli("status", string(eve.Hotkey()), "--json"); code != 0 || !strings.Contains(out, `"held": true`) ||
		!strings.Contains(out, `"state": "running"`) || !strings.Contains(out, `"disk_limit_bytes": `) {
		t.Errorf("status: exit %d: %s%s; want held, running, with the root filesystem's limit", code, out, stderr)
	}
	if code, out, _ := cli("status", string(eve.Hotkey())); code != 0 || !strings.Contains(out, "state:    running") || !strings.Contains(out, "root filesystem: ") {
		t.Errorf("status: exit %d:\n%s", code, out)
	}
	if rs := resources(); len(rs) != 1 || !rs[0].Allocated {
		t.Errorf("resources after allocate = %+v", rs)
	}
	if _, out, _ := cli("list-resources"); !strings.Contains(out, "Res.") {
		t.Errorf("list-resources after allocate:\n%s", out)
	}
	if code, _, stderr := cli("allocate-hotkey", string(eve.Hotkey()), "--timeline", "10"); code == 0 || !strings.Contains(stderr, "already allocated") {
		t.Errorf("allocate-hotkey of an allocated miner: exit %d: %s", code, stderr)
	}

	if code, _, stderr := cli("pause", string(eve.Hotkey())); code != 0 {
		t.Fatalf("pause: %s", stderr)
	}
	if _, err := ssh("true"); err == nil {
		t.Error("ssh works while paused")
	}
	if code, _, stderr := cli("unpause", string(eve.Hotkey())); code != 0 {
		t.Fatalf("unpause: %s", stderr)
	}
	if _, err := ssh("true"); err != nil {
		t.Errorf("ssh after unpause: %v", err)
	}
	// exchange-key: the new key logs in, the old one no longer does.
	key2 := filepath.Join(keyDir, "k2")
	if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "renter2", "-f", key2).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen: %v: %s", err, out)
	}
	if code, out, stderr := cli("exchange-key", string(eve.Hotkey()), "--ssh-key", key2+".pub"); code != 0 {
		t.Fatalf("exchange-key: exit %d: %s%s", code, out, stderr)
	}
	withKey := func(k string) error {
		a := append(append([]string{}, batch...), "-o", "UserKnownHostsFile="+knownHosts, "-i", k, "-p", strconv.Itoa(sshPort), "root@127.0.0.1", "true")
		return exec.Command("ssh", a...).Run()
	}
	if err := withKey(key2); err != nil {
		t.Errorf("ssh with the exchanged key: %v", err)
	}
	if err := withKey(key); err == nil {
		t.Error("the old key still logs in after exchange-key")
	}
	args[2] = key2 // the printed command, with the key now in force
	if code, _, stderr := cli("restart", "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY"); code != exitFailed || !strings.Contains(stderr, "not allocated") {
		t.Errorf("restart of a miner not allocated: exit %d: %s", code, stderr)
	}

	if code, out, stderr := cli("deallocate", string(eve.Hotkey())); code != 0 || !strings.Contains(out, "Deallocated") {
		t.Fatalf("deallocate: exit %d: %s%s", code, out, stderr)
	}
	if _, err := dc.Inspect(ctx, rec.ContainerID); !errors.Is(err, docker.ErrNotFound) {
		t.Errorf("container after deallocate: %v; want ErrNotFound", err)
	}
	if _, err := os.Stat(renterKey); !os.IsNotExist(err) {
		t.Errorf("renter key after deallocate: %v", err)
	}
	if _, out, _ := cli("list-allocations"); !strings.Contains(out, "0 allocations") {
		t.Errorf("list-allocations after deallocate:\n%s", out)
	}
	if rs := resources(); len(rs) != 1 || rs[0].Allocated {
		t.Errorf("resources after deallocate = %+v", rs)
	}
	if code, _, stderr := cli("deallocate", string(eve.Hotkey())); code != exitFailed || !strings.Contains(stderr, "not allocated") {
		t.Errorf("second deallocate: exit %d: %s", code, stderr)
	}
}
