package docker

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

// testImage is built at most once per test run, and not at all when the
// tag already exists.
const testImage = DefaultImage

var (
	buildOnce sync.Once
	buildErr  error
)

// newTestClient connects to the real dockerd and makes sure the allocation
// image exists, building it (minutes, once) if not.
func newTestClient(t *testing.T) *Client {
	t.Helper()
	if testing.Short() {
		t.Skip("needs a running dockerd (skipped with -short)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	c, err := New(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	buildOnce.Do(func() {
		var log bytes.Buffer
		buildErr = c.BuildImage(ctx, BuildOptions{Tag: testImage, Log: &log})
		if buildErr != nil {
			buildErr = fmt.Errorf("%w\nlog:\n%s", buildErr, tail(log.String(), 4000))
		} else {
			t.Logf("%s", strings.TrimSpace(log.String()))
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return c
}

// keyPair makes an ed25519 key pair: the private key file for ssh -i and
// the authorized_keys line.
func keyPair(t *testing.T, comment string) (privPath, authorized string) {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	blk, err := ssh.MarshalPrivateKey(priv, comment)
	if err != nil {
		t.Fatal(err)
	}
	privPath = filepath.Join(t.TempDir(), "id_ed25519")
	if err := os.WriteFile(privPath, pem.EncodeToMemory(blk), 0o600); err != nil {
		t.Fatal(err)
	}
	sp, err := ssh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return privPath, strings.TrimSpace(string(ssh.MarshalAuthorizedKey(sp))) + " " + comment
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// sshRun runs command in the container with the real OpenSSH client.
func sshRun(ctx context.Context, key string, port int, command string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "ssh", "-i", key, "-p", strconv.Itoa(port),
		"-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
		"-o", "BatchMode=yes", "-o", "ConnectTimeout=3", "-o", "LogLevel=ERROR",
		"-o", "IdentitiesOnly=yes", "root@127.0.0.1", command)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return string(out), fmt.Errorf("ssh %s: %w: %s", command, err, strings.TrimSpace(stderr.String()))
	}
	return strings.TrimSpace(string(out)), nil
}

// sshWait retries until sshd answers (host keys are made at start).
func sshWait(t *testing.T, key string, port int, command string) string {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		out, err := sshRun(context.Background(), key, port, command)
		if err == nil {
			return out
		}
		if time.Now().After(deadline) {
			t.Fatalf("ssh never succeeded: %v", err)
		}
		time.Sleep(300 * time.Millisecond)
	}
}

// testName gives each run's containers distinct names.
func testName(t *testing.T) string {
	return fmt.Sprintf("sn27-test-%s-%d", strings.ToLower(strings.ReplaceAll(t.Name(), "/", "-")), time.Now().UnixNano()%1e6)
}

// removeLater makes sure the container goes even when the test fails.
func removeLater(t *testing.T, c *Client, id string) {
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := c.Remove(ctx, id); err != nil && !errors.Is(err, ErrNotFound) {
			t.Errorf("cleanup: %v", err)
		}
	})
}

func TestContainerLifecycle(t *testing.T) {
	c := newTestClient(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	key1, pub1 := keyPair(t, "renter1@test")
	key2, pub2 := keyPair(t, "renter2@test")
	port := freePort(t)
	name := testName(t)
	run := strconv.FormatInt(time.Now().UnixNano(), 36)
	labels := map[string]string{"io.sn27.test": "lifecycle", "io.sn27.run": run}
	spec := ContainerSpec{
		Name: name, Image: testImage, Labels: labels,
		Resources:     Resources{CPUs: 1, MemoryBytes: 256 << 20, PidsLimit: 256, ShmBytes: 32 << 20, DiskBytes: 1 << 30, RootBytes: 1 << 30},
		SSHHostPort:   port,
		Volume:        name + "-data",
		AuthorizedKey: pub1,
	}
	id, warnings, err := c.Create(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	removeLater(t, c, id)
	t.Logf("warnings: %q", warnings)
	if !containsSubstring(warnings, "root filesystem limit") {
		in, _ := c.api.Info(ctx)
		if ok, _ := storageOptSupported(in); !ok {
			t.Errorf("warnings %q do not mention the root filesystem limit the %s driver cannot enforce", warnings, in.Driver)
		}
	}
	if in, err := c.api.ContainerInspect(ctx, id); err != nil {
		t.Fatal(err)
	} else if in.Config.Labels[RootLimitLabel] != strconv.Itoa(1<<30) || in.HostConfig.LogConfig.Config["max-size"] == "" {
		t.Errorf("labels %v log config %+v; want the root limit labelled and the log bounded", in.Config.Labels, in.HostConfig.LogConfig)
	}

	if got := sshWait(t, key1, port, "nproc"); got != "1" {
		t.Errorf("nproc = %q; want 1", got)
	}
	if got, err := sshRun(ctx, key1, port, "cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max"); err != nil || got != strconv.Itoa(256<<20) {
		t.Errorf("memory.limit_in_bytes = %q, %v; want %d", got, err, 256<<20)
	}
	if got, err := sshRun(ctx, key1, port, "cat /sys/fs/cgroup/pids/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids.max"); err != nil || got != "256" {
		t.Errorf("pids.max = %q, %v; want 256", got, err)
	}
	if got, err := sshRun(ctx, key1, port, "stat -c %a /root/.ssh /root/.ssh/authorized_keys; test -d /data && touch /data/x && echo data-ok; grep NoNewPrivs /proc/self/status"); err != nil ||
		!strings.Contains(got, "700\n600") || !strings.Contains(got, "data-ok") || !strings.Contains(got, "NoNewPrivs:\t1") {
		t.Errorf("modes/volume/no_new_privs = %q, %v", got, err)
	}
	// Password logins stay off for a key allocation.
	if res, err := c.exec(ctx, id, []string{"/usr/sbin/sshd", "-T"}, nil); err != nil || !strings.Contains(string(res.Stdout), "passwordauthentication no") || !strings.Contains(string(res.Stdout), "permitrootlogin without-password") {
		t.Errorf("sshd -T: %v\n%s", err, res.Stdout)
	}

	raw, err := c.api.ContainerInspect(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	hc := raw.HostConfig
	if hc.Privileged || len(hc.CapAdd) != 0 || len(hc.Binds) != 0 || hc.CpusetCpus != "0-0" || hc.NanoCPUs != 1e9 || hc.MemorySwap != 256<<20 ||
		hc.RestartPolicy.Name != "unless-stopped" || len(hc.DeviceRequests) != 0 || !containsSubstring(hc.SecurityOpt, "no-new-privileges") {
		t.Errorf("host config: privileged %v capadd %v binds %v cpuset %q nanocpus %d swap %d restart %q devices %v secopt %v",
			hc.Privileged, hc.CapAdd, hc.Binds, hc.CpusetCpus, hc.NanoCPUs, hc.MemorySwap, hc.RestartPolicy.Name, hc.DeviceRequests, hc.SecurityOpt)
	}
	lx := c.LXCFS()
	for _, m := range raw.Mounts {
		if lx != "" && m.Type == "bind" && strings.HasPrefix(m.Source, lx+"/") && !m.RW && m.Source == filepath.Join(lx, m.Destination) {
			continue // LXCFS's view of /proc, read-only
		}
		if m.Type != "volume" || m.Name != spec.Volume || m.Destination != DataPath {
			t.Errorf("mount %+v; want only volume %s at %s (and LXCFS files read-only)", m, spec.Volume, DataPath)
		}
	}

	got, err := c.Inspect(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if got.State != "running" || got.Name != name || got.SSHHostPort != port || got.Labels["io.sn27.run"] != run {
		t.Errorf("Inspect = %+v; want running %s on port %d with the labels", got, name, port)
	}
	list, err := c.List(ctx, map[string]string{"io.sn27.run": run})
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[0].ID != id || list[0].SSHHostPort != port || list[0].State != "running" {
		t.Errorf("List = %+v; want just %s", list, id)
	}
	if list, err := c.List(ctx, map[string]string{"io.sn27.run": run + "-other"}); err != nil || len(list) != 0 {
		t.Errorf("List(other run) = %+v, %v; want none", list, err)
	}

	// exchange_key: the first key stops working, the second works.
	if err := c.SetAuthorizedKey(ctx, id, pub2); err != nil {
		t.Fatal(err)
	}
	if out, err := sshRun(ctx, key1, port, "true"); err == nil {
		t.Errorf("old key still logs in (%q)", out)
	}
	if got, err := sshRun(ctx, key2, port, "hostname"); err != nil {
		t.Errorf("new key: %v", err)
	} else {
		t.Logf("hostname %s", got)
	}
	if err := c.SetAuthorizedKey(ctx, id, pub2+"\n"+pub1); !errors.Is(err, ErrBadKey) {
		t.Errorf("SetAuthorizedKey(two lines) = %v; want ErrBadKey", err)
	}

	if err := c.Pause(ctx, id); err != nil {
		t.Fatal(err)
	}
	if st, _ := c.Inspect(ctx, id); st.State != "paused" {
		t.Errorf("state after Pause = %q; want paused", st.State)
	}
	if out, err := sshRun(ctx, key2, port, "true"); err == nil {
		t.Errorf("ssh into a paused container succeeded (%q)", out)
	}
	if err := c.Unpause(ctx, id); err != nil {
		t.Fatal(err)
	}
	if _, err := sshRun(ctx, key2, port, "true"); err != nil {
		t.Errorf("ssh after Unpause: %v", err)
	}

	// Restart keeps the credentials and the host keys.
	hostKey := func() string {
		res, err := c.exec(ctx, id, []string{"cat", "/etc/ssh/ssh_host_ed25519_key.pub"}, nil)
		if err != nil {
			t.Fatal(err)
		}
		return string(res.Stdout)
	}
	before := hostKey()
	if err := c.Restart(ctx, id); err != nil {
		t.Fatal(err)
	}
	sshWait(t, key2, port, "true")
	if after := hostKey(); after != before || before == "" {
		t.Errorf("host key changed across Restart: %q -> %q", before, after)
	}

	if err := c.Remove(ctx, id); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Inspect(ctx, id); !errors.Is(err, ErrNotFound) {
		t.Errorf("Inspect after Remove = %v; want ErrNotFound", err)
	}
	if err := c.Remove(ctx, id); !errors.Is(err, ErrNotFound) {
		t.Errorf("second Remove = %v; want ErrNotFound", err)
	}
	if _, err := c.api.VolumeInspect(ctx, spec.Volume); err == nil {
		t.Errorf("volume %s survived Remove", spec.Volume)
	}
	if err := c.Pause(ctx, id); !errors.Is(err, ErrNotFound) {
		t.Errorf("Pause after Remove = %v; want ErrNotFound", err)
	}
}

func TestPasswordAllocation(t *testing.T) {
	c := newTestClient(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	const pw = `s3cret 'pw"; $(touch /pwned) :x`
	id, _, err := c.Create(ctx, ContainerSpec{
		Name: testName(t), Image: testImage, Labels: map[string]string{"io.sn27.test": "password"},
		Resources:    Resources{CPUs: 1, MemoryBytes: 128 << 20, PidsLimit: 64},
		SSHHostPort:  freePort(t),
		RootPassword: pw,
	})
	if err != nil {
		t.Fatal(err)
	}
	removeLater(t, c, id)

	res, err := c.exec(ctx, id, []string{"getent", "shadow", "root"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	fields := strings.Split(strings.TrimSpace(string(res.Stdout)), ":")
	if len(fields) < 2 || !strings.HasPrefix(fields[1], "$") {
		t.Fatalf("root's shadow entry %q has no password hash", res.Stdout)
	}
	// The hash is of the whole password, metacharacters included.
	check, err := c.exec(ctx, id, []string{"perl", "-e", `print crypt($ARGV[0], $ARGV[1]) eq $ARGV[1] ? "match" : "differ"`, pw, fields[1]}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if string(check.Stdout) != "match" {
		t.Errorf("shadow hash does not match the password: %q %q", check.Stdout, check.Stderr)
	}
	if res, _ := c.exec(ctx, id, []string{"test", "-e", "/pwned"}, nil); res.ExitCode == 0 {
		t.Error("the password was run by a shell")
	}
	// sshd, once the entrypoint has run (it writes the password policy
	// after making host keys, then starts sshd), allows passwords in this
	// case only. sshd -T works earlier (the image's placeholder keys), so
	// wait for the sshd the entrypoint started.
	var conf string
	for deadline := time.Now().Add(20 * time.Second); ; {
		up, _ := c.exec(ctx, id, []string{"pgrep", "-f", "sshd -D"}, nil)
		res, err := c.exec(ctx, id, []string{"/usr/sbin/sshd", "-T"}, nil)
		if err == nil && res.ExitCode == 0 && up.ExitCode == 0 {
			conf = string(res.Stdout)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("sshd -T: %v %s", err, res.Stderr)
		}
		time.Sleep(300 * time.Millisecond)
	}
	if !strings.Contains(conf, "passwordauthentication yes") || !strings.Contains(conf, "permitrootlogin yes") {
		t.Errorf("sshd config does not allow root password logins:\n%s", conf)
	}
	if res, _ := c.exec(ctx, id, []string{"test", "-e", "/root/.ssh/authorized_keys"}, nil); res.ExitCode == 0 {
		t.Error("a password allocation has an authorized_keys file")
	}
}

func TestBadCredentialsRefused(t *testing.T) {
	_, good := keyPair(t, "ok@test")
	fields := strings.Fields(good)
	tests := []struct {
		name, key, pw string
		want          error
	}{
		{"two lines", good + "\n" + good, "", ErrBadKey},
		{"shell metacharacters in comment", fields[0] + " " + fields[1] + " x;rm${IFS}-rf$(id)", "", ErrBadKey},
		{"options", `command="/bin/sh" ` + good, "", ErrBadKey},
		{"not base64", fields[0] + " AAAA$(reboot)", "", ErrBadKey},
		{"type mismatch", "ssh-rsa " + fields[1], "", ErrBadKey},
		{"carriage return", good + "\r", "", nil}, // trailing space is trimmed
		{"embedded CR", fields[0] + "\r" + fields[1], "", ErrBadKey},
		{"password with newline", "", "pw\nevil:x", ErrBadPassword},
		{"nothing", "", "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := ContainerSpec{Name: "sn27-never", SSHHostPort: 2222, AuthorizedKey: tt.key, RootPassword: tt.pw}
			err := spec.validate()
			switch {
			case tt.name == "carriage return":
				if err != nil {
					t.Errorf("validate = %v; want ok", err)
				}
			case tt.want == nil:
				if err == nil {
					t.Error("validate = nil; want an error")
				}
			case !errors.Is(err, tt.want):
				t.Errorf("validate = %v; want %v", err, tt.want)
			}
		})
	}
	if got, err := normalizeKey("  " + good + "  \n"); err != nil || got != good+"\n" {
		t.Errorf("normalizeKey = %q, %v; want %q", got, err, good+"\n")
	}

	// Against the daemon: nothing is created for a bad key.
	c := newTestClient(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	name := testName(t)
	_, _, err := c.Create(ctx, ContainerSpec{Name: name, Image: testImage, SSHHostPort: freePort(t), Volume: name + "-data", AuthorizedKey: good + "\n" + good})
	if !errors.Is(err, ErrBadKey) {
		t.Errorf("Create(two-line key) = %v; want ErrBadKey", err)
	}
	if _, err := c.Inspect(ctx, name); !errors.Is(err, ErrNotFound) {
		t.Errorf("Inspect(%s) = %v; want ErrNotFound", name, err)
	}
	if _, err := c.api.VolumeInspect(ctx, name+"-data"); err == nil {
		t.Errorf("volume %s-data was created", name)
	}
}

// TestCreateFailureCleansUp checks that a Create the daemon refuses (port
// already taken) leaves neither container nor volume behind.
func TestCreateFailureCleansUp(t *testing.T) {
	c := newTestClient(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	l, err := net.Listen("tcp", ":0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	_, pub := keyPair(t, "x@test")
	name := testName(t)
	_, _, err = c.Create(ctx, ContainerSpec{Name: name, Image: testImage, SSHHostPort: l.Addr().(*net.TCPAddr).Port, Volume: name + "-data", AuthorizedKey: pub})
	if err == nil {
		t.Fatal("Create on a taken port succeeded")
	}
	t.Logf("Create: %v", err)
	if _, err := c.Inspect(ctx, name); !errors.Is(err, ErrNotFound) {
		t.Errorf("Inspect(%s) after failed Create = %v; want ErrNotFound", name, err)
	}
	if _, err := c.api.VolumeInspect(ctx, name+"-data"); err == nil {
		t.Errorf("volume %s-data left behind", name)
	}
	if ok, err := c.ImageExists(ctx, "sn27/no-such-image:never"); ok || err != nil {
		t.Errorf("ImageExists(missing) = %v, %v; want false, nil", ok, err)
	}
}

func containsSubstring(list []string, sub string) bool {
	for _, s := range list {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}
