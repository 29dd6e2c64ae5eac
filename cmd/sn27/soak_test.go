package main

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sn27/sn27/internal/chain"
	"github.com/sn27/sn27/internal/dendrite"
	"github.com/sn27/sn27/internal/docker"
	"github.com/sn27/sn27/internal/store"
	"github.com/sn27/sn27/internal/validator"
	"github.com/sn27/sn27/internal/wallet"
)

// TestRentalSoak follows one rental through what breaks trust: allocate →
// write a file in /data → pause → several health intervals → unpause → the
// file is intact → restart the miner → restart sn27 api → expire. At every
// step the miner, Docker, the validator's store, `sn27 renter
// list-allocations` and the API agree; after expiry nothing of the rental
// is left on the host and the validator challenges the miner again.
func TestRentalSoak(t *testing.T) {
	if testing.Short() {
		t.Skip("needs dockerd, the allocation image and ssh; skipped with -short")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	e := newMinerEnv(ctx, t)

	// sn27 api with a 1 s health loop that would end a rental after 2 failures.
	dir := t.TempDir()
	certFile, keyFile, pool := writeServerCert(t, dir)
	const apiKey = "soak-api-key-0123456789abcdef"
	keysFile := filepath.Join(dir, "api-keys")
	if err := os.WriteFile(keysFile, []byte(apiKey+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	addr := "127.0.0.1:" + strconv.Itoa(freePort(t))
	args := append([]string{"api", "--data.dir", e.DataDir, "--subtensor.chain_endpoint", e.WS,
		"--netuid", strconv.Itoa(int(e.NetUID)), "--api.addr", addr, "--api.cert", certFile, "--api.key", keyFile,
		"--api.keys-file", keysFile, "--api.health.interval", "1s", "--api.health.failures", "2", "--timeout", "20s"}, e.WalletArg...)
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}, Timeout: 90 * time.Second}
	base := "https://" + addr
	post := func(path, body string) (int, []byte) {
		t.Helper()
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, base+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+apiKey)
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatalf("POST %s: %v", path, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}
	stopAPI := startAPI(t, args, hc, base).stop

	// Allocate a 1-minute rental with a 256 MiB /data.
	key := filepath.Join(t.TempDir(), "k")
	if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", key).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen: %v: %s", err, out)
	}
	pub, _ := os.ReadFile(key + ".pub")
	body, _ := json.Marshal(map[string]any{"hotkey": e.Miner, "cpu_count": 1, "ram_bytes": 256 << 20, "disk_bytes": 256 << 20,
		"timeline": 1, "ssh_key": strings.TrimSpace(string(pub))})
	code, b := post("/service/allocate_hotkey", string(body))
	if code != http.StatusOK {
		t.Fatalf("allocate_hotkey: %d %s", code, b)
	}
	var alloc struct {
		Port       int       `json:"port"`
		Deadline   time.Time `json:"deadline"`
		SSHCommand string    `json:"ssh_command"`
	}
	if err := json.Unmarshal(b, &alloc); err != nil {
		t.Fatal(err)
	}
	rec, ok := e.Alloc.Active()
	if !ok {
		t.Fatal("the miner holds no rental after allocate_hotkey")
	}
	knownHosts := filepath.Join(e.DataDir, "renter-keys", e.Miner+".known_hosts")
	ssh := func(command string) (string, error) {
		out, err := exec.CommandContext(ctx, "ssh", "-i", key, "-p", strconv.Itoa(alloc.Port), "-o", "UserKnownHostsFile="+knownHosts,
			"-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes", "-o", "ConnectTimeout=5", "-o", "LogLevel=ERROR",
			"root@127.0.0.1", command).CombinedOutput()
		return strings.TrimSpace(string(out)), err
	}
	// The first login is already pinned to the rental's host key.
	if out, err := ssh("echo soak-data > /data/file && sync && df -B1 --output=size /data | tail -1"); err != nil {
		t.Fatalf("first ssh login with the pinned host key: %v: %s", err, out)
	} else if size, _ := strconv.ParseInt(out, 10, 64); size < 240<<20 || size > 256<<20 {
		t.Errorf("df /data size = %s bytes; want about 256 MiB", out)
	}

	// agree checks that every view says the same of the rental.
	type view struct {
		held   bool
		docker string // container state; "gone"
		status string // the API's status ("" not listed)
	}
	apiStatus := func() (string, bool) {
		code, b := post("/list/allocations_sql", "{}")
		if code != http.StatusOK {
			t.Fatalf("allocations_sql: %d %s", code, b)
		}
		var as struct {
			Allocations []struct {
				Hotkey string `json:"hotkey"`
				Status string `json:"status"`
			} `json:"allocations"`
		}
		if err := json.Unmarshal(b, &as); err != nil {
			t.Fatal(err)
		}
		for _, a := range as.Allocations {
			if a.Hotkey == e.Miner {
				return a.Status, true
			}
		}
		return "", false
	}
	look := func() (v view, stored, listed bool) {
		_, v.held = e.Alloc.Active()
		v.docker = "gone"
		if c, err := e.Docker.Inspect(ctx, rec.ContainerID); err == nil {
			v.docker = c.State
		}
		st, err := store.Open(ctx, filepath.Join(e.DataDir, "validator.db"))
		if err != nil {
			t.Fatal(err)
		}
		alloc, err := st.Allocated(ctx)
		st.Close()
		if err != nil {
			t.Fatal(err)
		}
		stored = alloc[e.Miner]
		code, out, stderr := sn27(t, "renter", "list-allocations", "--json", "--data.dir", e.DataDir)
		if code != 0 {
			t.Fatalf("renter list-allocations: exit %d: %s", code, stderr)
		}
		listed = strings.Contains(out, e.Miner)
		v.status, _ = apiStatus()
		return v, stored, listed
	}
	agree := func(step string, want view, timeout time.Duration) {
		t.Helper()
		deadline := time.Now().Add(timeout)
		for {
			v, stored, listed := look()
			if v == want && stored == want.held && listed == want.held {
				t.Logf("%s: miner held=%v, docker %s, store %v, renter list %v, api %q", step, v.held, v.docker, stored, listed, v.status)
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: miner held=%v, docker %s, store %v, renter list %v, api %q; want held=%v, docker %s, api %q",
					step, v.held, v.docker, stored, listed, v.status, want.held, want.docker, want.status)
			}
			time.Sleep(250 * time.Millisecond)
		}
	}
	agree("allocated", view{true, "running", "online"}, 10*time.Second)

	// Pause: the health loop sees SSH fail for many intervals and keeps it.
	if code, b := post("/service/pause_docker", `{"hotkey":"`+e.Miner+`"}`); code != http.StatusOK {
		t.Fatalf("pause_docker: %d %s", code, b)
	}
	agree("paused", view{true, "paused", "paused"}, 5*time.Second)
	time.Sleep(6 * time.Second) // six health intervals, three times the failures that end a running rental
	agree("paused for 6 health intervals", view{true, "paused", "paused"}, time.Second)
	if code, b := post("/service/unpause_docker", `{"hotkey":"`+e.Miner+`"}`); code != http.StatusOK {
		t.Fatalf("unpause_docker: %d %s", code, b)
	}
	agree("unpaused", view{true, "running", "online"}, 10*time.Second)
	if out, err := ssh("cat /data/file"); err != nil || out != "soak-data" {
		t.Fatalf("/data/file after pause and unpause = %q, %v", out, err)
	}

	// Restart the miner, then the API.
	e.stopMiner()
	e.startMiner(ctx)
	if now, ok := e.Alloc.Active(); !ok || now.ContainerID != rec.ContainerID {
		t.Fatalf("after the miner restart the rental is %+v, %v", now, ok)
	}
	agree("miner restarted", view{true, "running", "online"}, 10*time.Second)
	stopAPI()
	startAPI(t, args, hc, base)
	agree("api restarted", view{true, "running", "online"}, 10*time.Second)
	if out, err := ssh("cat /data/file"); err != nil || out != "soak-data" {
		t.Fatalf("/data/file after the restarts = %q, %v", out, err)
	}

	// While the rental runs, the validator does not challenge the miner.
	v := newSoakValidator(ctx, t, e)
	if rep, err := v.ChallengeRound(ctx, nil); err != nil || rep.Queried != 0 {
		t.Fatalf("challenge round while allocated: %+v, %v; want the miner skipped", rep, err)
	}

	// Expiry: every view lets go of it at the deadline.
	wait := time.Until(rec.Deadline) + 15*time.Second
	t.Logf("waiting %v for the deadline %v", wait.Round(time.Second), rec.Deadline.Format(time.TimeOnly))
	agree("expired", view{false, "gone", ""}, wait)
	st, err := store.Open(ctx, filepath.Join(e.DataDir, "validator.db"))
	if err != nil {
		t.Fatal(err)
	}
	reason, _, ok, err := st.AllocationEnded(ctx, e.Miner)
	st.Close()
	if err != nil || !ok || reason != "expired" {
		t.Errorf("end reason = %q, %v, %v; want expired", reason, ok, err)
	}

	// Nothing of the rental is left on the host (other tests' rentals on this
	// daemon carry other owners).
	mine := docker.OwnerLabel + "=" + e.acfg.DataDir
	if cs, err := e.Docker.List(ctx, map[string]string{docker.AllocationLabel: "1", docker.OwnerLabel: e.acfg.DataDir}); err != nil || len(cs) != 0 {
		t.Errorf("rental containers left: %+v, %v", cs, err)
	}
	if out, err := exec.Command("docker", "volume", "ls", "-q", "--filter", "label="+mine).Output(); err != nil || strings.TrimSpace(string(out)) != "" {
		t.Errorf("rental volumes left: %q, %v", out, err)
	}
	if mounts, _ := os.ReadFile("/proc/self/mounts"); strings.Contains(string(mounts), e.acfg.DataDir) {
		t.Errorf("a rental disk is still mounted under %s", e.acfg.DataDir)
	}
	if left, _ := filepath.Glob(filepath.Join(e.acfg.DataDir, "volumes", "*")); len(left) != 0 {
		t.Errorf("rental disk files left: %v", left)
	}

	// The validator challenges the miner again.
	if rep, err := v.ChallengeRound(ctx, nil); err != nil || rep.Queried != 1 || rep.Succeeded != 1 {
		t.Errorf("challenge round after expiry: %+v, %v; want the miner challenged and solving", rep, err)
	}
}

// newSoakValidator is the validator of the soak test's wallet, on its store.
func newSoakValidator(ctx context.Context, t *testing.T, e *minerEnv) *soakValidator {
	t.Helper()
	w := wallet.Wallet{Path: e.WalletArg[1], Name: e.WalletArg[3], Hotkey: "default"}
	hot, err := w.LoadHotkey(ctx)
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(ctx, filepath.Join(e.DataDir, "validator.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	d, err := dendrite.New(hot, dendrite.Config{ExternalIP: "127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.Close)
	cfg := validator.DefaultConfig()
	cfg.NetUID, cfg.DifficultyMin, cfg.DifficultyMax, cfg.PowTimeout = chain.NetUID(e.NetUID), 3, 4, 20*time.Second
	v, err := validator.New(cfg, validator.Deps{Hotkey: hot, Chain: e.chain, Store: st, Dendrite: d})
	if err != nil {
		t.Fatal(err)
	}
	return &soakValidator{v: v, t: t}
}

type soakValidator struct {
	v *validator.Validator
	t *testing.T
}

// ChallengeRound syncs the metagraph and runs one round.
func (s *soakValidator) ChallengeRound(ctx context.Context, _ any) (validator.RoundReport, error) {
	if err := s.v.Sync(ctx); err != nil {
		return validator.RoundReport{}, fmt.Errorf("sync: %w", err)
	}
	return s.v.ChallengeRound(ctx, s.v.Neurons())
}

// TestLostRentalLeavesEveryView: the miner loses a rental (its container is
// removed behind its back); the validator's status check ends it as
// miner_lost, `renter list-allocations` and the store drop it, and the
// validator challenges the miner again.
func TestLostRentalLeavesEveryView(t *testing.T) {
	if testing.Short() {
		t.Skip("needs dockerd, the allocation image and ssh; skipped with -short")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	e := newMinerEnv(ctx, t)
	common := append([]string{"--subtensor.chain_endpoint", e.WS, "--netuid", strconv.Itoa(int(e.NetUID)), "--data.dir", e.DataDir}, e.WalletArg...)
	if code, out, stderr := sn27(t, append([]string{"renter", "allocate-hotkey", e.Miner, "--timeline", "10", "--ram", "256MB", "--disk", "64MB"}, common...)...); code != 0 {
		t.Fatalf("allocate-hotkey: exit %d: %s%s", code, out, stderr)
	}
	rec, ok := e.Alloc.Active()
	if !ok {
		t.Fatal("the miner holds no rental")
	}
	v := newSoakValidator(ctx, t, e)
	if err := v.v.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if ended := v.v.RentalsRound(ctx); len(ended) != 0 {
		t.Fatalf("status check of a held rental ended %v", ended)
	}
	if b, err := exec.Command("docker", "rm", "-f", rec.ContainerID).CombinedOutput(); err != nil {
		t.Fatalf("docker rm: %v: %s", err, b)
	}
	ended := v.v.RentalsRound(ctx)
	if len(ended) != 1 || ended[0].Hotkey != e.Miner || ended[0].Reason != "miner_lost" {
		t.Fatalf("status check after the container vanished ended %v; want %s miner_lost", ended, e.Miner)
	}
	if e.Alloc.Allocated() {
		t.Error("the miner still holds the lost rental")
	}
	if _, out, _ := sn27(t, append([]string{"renter", "list-allocations"}, common...)...); strings.Contains(out, e.Miner) || !strings.Contains(out, "0 allocations") {
		t.Errorf("list-allocations after the loss:\n%s", out)
	}
	if rep, err := v.ChallengeRound(ctx, nil); err != nil || rep.Queried != 1 {
		t.Errorf("challenge round after the loss: %+v, %v; want the miner challenged", rep, err)
	}
}

// TestDevnetRents: `sn27 devnet` with Docker rents out its miners, and the
// commands it prints (rent one, log in, end it) work as printed.
func TestDevnetRents(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a devnet with Docker rentals; skipped with -short")
	}
	home := t.TempDir()
	t.Setenv("HOME", home)
	if err := os.MkdirAll(filepath.Join(home, ".ssh"), 0o700); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", filepath.Join(home, ".ssh", "id_ed25519")).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen: %v: %s", err, out)
	}
	dataDir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	var out, errb syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"devnet", "--miners", "1", "--block-time", "250ms", "--data.dir", dataDir,
			"--chain.port", strconv.Itoa(freePort(t)), "--axon.port", strconv.Itoa(freePort(t)), "--ssh.port", strconv.Itoa(freePort(t)),
			"--dashboard.addr", ""}, &out, &errb)
	}()
	defer func() {
		cancel()
		if code := <-done; code != 0 {
			t.Errorf("sn27 devnet exit %d:\n%s", code, errb.String())
		}
		// Nothing of the rental is left behind.
		if b, _ := exec.Command("docker", "ps", "-aq", "--filter", "label=io.sn27.owner="+filepath.Join(dataDir, "miner-0")).Output(); len(strings.TrimSpace(string(b))) != 0 {
			t.Errorf("devnet rental containers left: %s", b)
		}
	}()
	for deadline := time.Now().Add(2 * time.Minute); !strings.Contains(out.String(), "Ctrl-C"); {
		select {
		case code := <-done:
			done <- code
			t.Fatalf("sn27 devnet exited %d:\n%s", code, errb.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("sn27 devnet did not come up:\n%s\n%s", out.String(), errb.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	printed := out.String()
	t.Logf("devnet printed:\n%s", printed)
	command := func(label string) []string {
		for _, line := range strings.Split(printed, "\n") {
			if rest, ok := strings.CutPrefix(strings.TrimSpace(line), label); ok {
				fields := strings.Fields(rest)
				// "sn27", or this binary's path when the PATH's sn27 is
				// another (here: the test binary, as ./bin/sn27 after make run).
				if len(fields) == 0 || (fields[0] != "sn27" && fields[0] != selfCommand()) {
					t.Fatalf("%q line is not an sn27 command: %q", label, line)
				}
				for i, f := range fields { // the shell would expand ~
					if strings.HasPrefix(f, "~/") {
						fields[i] = filepath.Join(home, f[2:])
					}
				}
				return fields[1:]
			}
		}
		t.Fatalf("devnet printed no %q line:\n%s", label, printed)
		return nil
	}
	rent, end := command("rent one"), command("end it")
	code, allocOut, stderr := sn27(t, rent...)
	if code != 0 {
		t.Fatalf("the printed rent command: exit %d: %s%s", code, allocOut, stderr)
	}
	var sshLine string
	lines := strings.Split(allocOut, "\n")
	for i, l := range lines {
		if strings.TrimSpace(l) == "Log in with:" && i+1 < len(lines) {
			sshLine = strings.TrimSpace(lines[i+1])
		}
	}
	f := strings.Fields(sshLine)
	if len(f) < 2 || f[0] != "ssh" || !strings.Contains(sshLine, "StrictHostKeyChecking=yes") {
		t.Fatalf("allocate printed no pinned ssh command:\n%s", allocOut)
	}
	b, err := exec.Command("ssh", append(append([]string{"-o", "BatchMode=yes", "-o", "ConnectTimeout=5"}, f[1:]...), "hostname")...).CombinedOutput()
	if err != nil || !strings.HasPrefix(strings.TrimSpace(string(b)), "sn27-alloc-") {
		t.Fatalf("the printed ssh command: %v: %s", err, b)
	}
	if code, o, stderr := sn27(t, end...); code != 0 || !strings.Contains(o, "Deallocated") {
		t.Fatalf("the printed end command: exit %d: %s%s", code, o, stderr)
	}
}
