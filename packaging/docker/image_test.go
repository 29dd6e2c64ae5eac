package docker

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

// user is the image's sn27 user and group.
const user = 65532

// TestImage makes the linux release tarball of this host's arch with
// tools/release, the image from it with build.sh, and runs that image on
// the real dockerd: it holds only what build.sh put in one layer (no base
// image, nothing pulled); `docker run IMAGE version` says the tarball's
// version; in a volume of its own a wallet is made, funded on a dev chain
// run from the same image, and owns a new subnet; the validator runs from
// the image and turns healthy on its metrics port; sn27 api runs from the
// image's default command (both with a read-only root and no capabilities) configured by SN27_ variables only, as uid
// 65532, turns healthy through the image's own HEALTHCHECK, serves
// /healthz and an authenticated route through a published port, and stops
// cleanly on docker stop.
func TestImage(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a release and a Docker image; skipped with -short")
	}
	if runtime.GOOS != "linux" {
		t.Skip("the image is linux only")
	}
	start := time.Now()
	if out, err := exec.Command("docker", "info", "--format", "{{.ServerVersion}}").CombinedOutput(); err != nil {
		t.Fatalf("no dockerd (make deps starts one): %v\n%s", err, out)
	}
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	suffix := randomHex(t)

	// The release tarball, as make release makes it (this arch only).
	tool := filepath.Join(tmp, "release")
	run(t, root, nil, "go", "build", "-o", tool, "./tools/release")
	run(t, root, nil, tool, "-genkey", tmp)
	dist := filepath.Join(tmp, "dist")
	run(t, root, []string{"RELEASE_KEY=" + filepath.Join(tmp, "release.key"), "SOURCE_DATE_EPOCH=1800000000"},
		tool, "-version", "v9.9.9", "-out", dist, "-arch", runtime.GOARCH, "-allow-dirty")
	tarball := filepath.Join(dist, "sn27_9.9.9_linux_"+runtime.GOARCH+".tar.gz")
	t.Logf("release tarball in %s", time.Since(start).Round(time.Second))

	// The image.
	image := "sn27-image-test:" + suffix
	t.Cleanup(func() { cleanup(t, "rmi", "-f", image) })
	id := run(t, root, nil, "packaging/docker/build.sh", tarball, image)
	if !strings.HasPrefix(id, "sha256:") {
		t.Fatalf("build.sh printed %q; want the image ID", id)
	}
	var img struct {
		RepoDigests []string
		Size        int64
		Config      struct {
			User        string
			Healthcheck struct{ Test []string }
			Volumes     map[string]any
		}
		RootFS struct{ Layers []string }
	}
	inspect(t, image, &img)
	if img.Config.User != "65532:65532" {
		t.Errorf("image user %q; want 65532:65532", img.Config.User)
	}
	if got := strings.Join(img.Config.Healthcheck.Test, " "); got != "CMD /usr/bin/sn27 healthcheck" {
		t.Errorf("HEALTHCHECK %q; want CMD /usr/bin/sn27 healthcheck (exec form: there is no shell)", got)
	}
	if _, ok := img.Config.Volumes["/var/lib/sn27"]; !ok {
		t.Errorf("volumes %v; want /var/lib/sn27", img.Config.Volumes)
	}
	if len(img.RepoDigests) != 0 || len(img.RootFS.Layers) != 1 {
		t.Errorf("image: repo digests %v, %d layers; want none and 1 (FROM scratch, built here)", img.RepoDigests, len(img.RootFS.Layers))
	}
	t.Logf("image %s: %d MiB", image, img.Size>>20)
	checkFiles(t, image, suffix)

	var v struct{ Version, Commit string }
	if out := docker(t, "run", "--rm", image, "version", "--json"); json.Unmarshal([]byte(out), &v) != nil || v.Version != "v9.9.9" || len(v.Commit) != 40 {
		t.Fatalf("docker run IMAGE version --json: %s; want version v9.9.9 and a commit", out)
	}

	// A network, a state volume, a dev chain; the wallet and its subnet.
	network, volume := "sn27-image-test-"+suffix, "sn27-image-test-"+suffix
	docker(t, "network", "create", network)
	t.Cleanup(func() { cleanup(t, "network", "rm", network) })
	docker(t, "volume", "create", volume)
	t.Cleanup(func() { cleanup(t, "volume", "rm", "-f", volume) })
	chainName, validator, api := "chain-"+suffix, "validator-"+suffix, "api-"+suffix
	t.Cleanup(func() {
		for _, c := range []string{chainName, validator, api} {
			cleanup(t, "rm", "-f", "-v", c)
		}
	})
	docker(t, "run", "-d", "--name", chainName, "--network", network, "--no-healthcheck", image,
		"devchain", "--host", "0.0.0.0", "--network-rate-limit", "0")
	endpoint := "ws://" + chainName + ":9944"
	sn27 := func(args ...string) string {
		t.Helper()
		return docker(t, append([]string{"run", "--rm", "--network", network, "-v", volume + ":/var/lib/sn27", image}, args...)...)
	}
	sn27("wallet", "create", "--no-password")
	var keys struct{ Coldkey, Hotkey string }
	if out := sn27("wallet", "show", "--json"); json.Unmarshal([]byte(out), &keys) != nil || keys.Coldkey == "" {
		t.Fatalf("wallet show --json: %q", out)
	}
	var out string
	for i := 0; ; i++ { // until the chain listens
		out, err = tryDocker("run", "--rm", "--network", network, image, "devchain", "fund", keys.Coldkey, "100000", "--subtensor.chain_endpoint", endpoint)
		if err == nil {
			break
		}
		if i == 60 {
			t.Fatalf("devchain fund: %v\n%s\n%s", err, out, docker(t, "logs", chainName))
		}
		time.Sleep(500 * time.Millisecond)
	}
	out = sn27("subnet", "create", "--no-prompt", "--subtensor.chain_endpoint", endpoint)
	netuid, ok := strings.CutPrefix(out, "netuid ")
	if !ok {
		t.Fatalf("subnet create: %q", out)
	}

	// The validator (the wallet's hotkey is uid 0 of the subnet it owns),
	// healthy on its metrics port. It and the API run as README.md
	// advises: read-only root, no capabilities, no new privileges.
	hardened := []string{"--read-only", "--tmpfs", "/tmp", "--cap-drop", "ALL", "--security-opt", "no-new-privileges"}
	docker(t, append(append([]string{"run", "-d", "--name", validator, "--network", network, "-v", volume + ":/var/lib/sn27"}, hardened...),
		"--health-interval", "1s", "-e", "SN27_HEALTHCHECK_URL=http://127.0.0.1:9101/metrics", image,
		"validator", "--config", "/etc/sn27/validator.json", "--subtensor.chain_endpoint", endpoint, "--netuid", netuid,
		"--metrics.port", "9101", "--validator.pog=false")...)
	waitHealthy(t, validator, time.Minute)
	checkUser(t, validator)

	// sn27 api: the image's own command and health check, set up by
	// environment variables, its certificate and keys from a bind mount.
	tlsDir := filepath.Join(tmp, "tls")
	pool := writeTLS(t, tlsDir)
	const bearer = "image-test-key-0123456789abcdef"
	if err := os.WriteFile(filepath.Join(tlsDir, "api-keys"), []byte(bearer+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	docker(t, append(append([]string{"run", "-d", "--name", api, "--network", network, "-v", volume + ":/var/lib/sn27", "-v", tlsDir + ":/etc/sn27/tls:ro"}, hardened...),
		"-p", "127.0.0.1::8903", "--health-interval", "1s",
		"-e", "SN27_API_CERT=/etc/sn27/tls/server.pem", "-e", "SN27_API_KEY=/etc/sn27/tls/server-key.pem",
		"-e", "SN27_API_KEYS_FILE=/etc/sn27/tls/api-keys", "-e", "SN27_SUBTENSOR_CHAIN_ENDPOINT="+endpoint, "-e", "SN27_NETUID="+netuid,
		image)...)
	waitHealthy(t, api, time.Minute)
	checkUser(t, api)
	var health struct {
		Log []struct {
			ExitCode int
			Output   string
		}
	}
	inspectFormat(t, api, "{{json .State.Health}}", &health)
	if n := len(health.Log); n == 0 || !strings.Contains(health.Log[n-1].Output, "healthy: https://127.0.0.1:8903/healthz") {
		t.Errorf("health log %+v; want the probe of https://127.0.0.1:8903/healthz", health.Log)
	}

	// Reached from this host through the published port.
	hostPort := docker(t, "port", api, "8903/tcp")
	if _, _, err := net.SplitHostPort(strings.Fields(hostPort)[0]); err != nil {
		t.Fatalf("docker port: %q", hostPort)
	}
	base := "https://" + strings.Fields(hostPort)[0]
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{Proxy: nil, TLSClientConfig: &tls.Config{RootCAs: pool}}}
	if code, body := request(t, client, http.MethodGet, base+"/healthz", ""); code != http.StatusOK || !strings.Contains(body, `"ok"`) {
		t.Errorf("GET /healthz: %d %s; want 200 ok", code, body)
	}
	if code, body := request(t, client, http.MethodPost, base+"/list/allocations_sql", ""); code != http.StatusUnauthorized {
		t.Errorf("POST /list/allocations_sql without a key: %d %s; want 401", code, body)
	}
	if code, body := request(t, client, http.MethodPost, base+"/list/allocations_sql", bearer); code != http.StatusOK {
		t.Errorf("POST /list/allocations_sql with a key: %d %s; want 200", code, body)
	}

	// PID 1 stops on SIGTERM, at once and cleanly.
	stopped := time.Now()
	docker(t, "stop", "--time", "20", api)
	var exit int
	inspectFormat(t, api, "{{json .State.ExitCode}}", &exit)
	if took := time.Since(stopped); exit != 0 || took > 15*time.Second {
		t.Errorf("docker stop: exit %d after %s; want 0, promptly\n%s", exit, took.Round(time.Millisecond), docker(t, "logs", api))
	}
	t.Logf("TestImage took %s", time.Since(start).Round(time.Second))
}

// checkFiles exports a container of image and checks that its files are
// only build.sh's (and the few Docker adds to every container): sn27, the
// loader and C libraries, the CA bundle, users, configs and the README;
// no shell. The state directory is sn27's, mode 0700; /tmp is 1777.
func checkFiles(t *testing.T, image, suffix string) {
	t.Helper()
	name := "files-" + suffix
	docker(t, "create", "--name", name, image)
	defer cleanup(t, "rm", "-f", "-v", name)
	cmd := exec.Command("docker", "export", name)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ours := map[string]bool{
		"usr/bin/sn27": true, "etc/passwd": true, "etc/group": true, "etc/nsswitch.conf": true,
		"etc/ssl/certs/ca-certificates.crt": true, "etc/sn27/api.json": true, "etc/sn27/devnet.json": true,
		"etc/sn27/miner.json": true, "etc/sn27/validator.json": true, "usr/share/doc/sn27/README.md": true,
	}
	dockers := map[string]bool{".dockerenv": true, "etc/hostname": true, "etc/hosts": true, "etc/resolv.conf": true}
	lib := regexp.MustCompile(`^(usr/)?lib(64)?/([a-z0-9_-]+/)?(ld-linux[a-z0-9_.-]*\.so\.[0-9]+|lib(c|dl|pthread)\.so\.[0-9]+)$`)
	seen := map[string]*tar.Header{}
	libs := 0
	tr := tar.NewReader(stdout)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("docker export: %v", err)
		}
		n := strings.TrimSuffix(h.Name, "/")
		seen[n] = h
		if h.Typeflag != tar.TypeReg || strings.HasPrefix(n, "dev/") {
			continue
		}
		switch {
		case ours[n], dockers[n]:
		case lib.MatchString(n):
			libs++
		default:
			t.Errorf("the image holds %s, which build.sh does not put there", n)
		}
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("docker export: %v %s", err, stderr.String())
	}
	for n := range ours {
		if seen[n] == nil {
			t.Errorf("the image lacks %s", n)
		}
	}
	if libs < 2 {
		t.Errorf("%d loader and library files; want the loader and libc at least", libs)
	}
	if h := seen["usr/bin/sn27"]; h == nil || h.Uid != 0 || h.Mode&0o777 != 0o755 {
		t.Errorf("/usr/bin/sn27: %+v; want root's, 0755", h)
	}
	if h := seen["var/lib/sn27/validator"]; h == nil || h.Uid != user || h.Gid != user || h.Mode&0o7777 != 0o700 {
		t.Errorf("/var/lib/sn27/validator: %+v; want %d:%d, 0700", h, user, user)
	}
	if h := seen["tmp"]; h == nil || h.Mode&0o7777 != 0o1777 {
		t.Errorf("/tmp: %+v; want 1777", h)
	}
}

// checkUser reads the container's PID 1 from this host's /proc: every
// uid and gid is the image's user.
func checkUser(t *testing.T, name string) {
	t.Helper()
	var pid int
	inspectFormat(t, name, "{{json .State.Pid}}", &pid)
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	want := strings.Repeat("\t"+strconv.Itoa(user), 4) // real, effective, saved, filesystem
	found := 0
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, _ := strings.Cut(line, ":"); k == "Uid" || k == "Gid" {
			found++
			if v != want {
				t.Errorf("%s runs with %s %q; want %q (sn27, never root)", name, k, v, want)
			}
		}
	}
	if found != 2 {
		t.Errorf("/proc/%d/status has no Uid and Gid lines:\n%s", pid, b)
	}
}

// waitHealthy waits until Docker says the container is healthy.
func waitHealthy(t *testing.T, name string, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		out := docker(t, "inspect", "--format", "{{.State.Status}} {{.State.Health.Status}}", name)
		if out == "running healthy" {
			return
		}
		if !strings.HasPrefix(out, "running") || time.Now().After(deadline) {
			t.Fatalf("%s is %q, not running and healthy, after %s:\nhealth: %s\nlogs:\n%s", name, out, within,
				docker(t, "inspect", "--format", "{{json .State.Health}}", name), docker(t, "logs", name))
		}
		time.Sleep(250 * time.Millisecond)
	}
}

func request(t *testing.T, c *http.Client, method, url, bearer string) (int, string) {
	t.Helper()
	var body io.Reader
	if method == http.MethodPost {
		body = strings.NewReader("{}")
	}
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// writeTLS writes a self-signed server certificate for 127.0.0.1 and
// localhost to dir/server.pem and dir/server-key.pem, readable by the
// image's user, and returns a pool that trusts it.
func writeTLS(t *testing.T, dir string) *x509.CertPool {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "localhost"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	os.Chmod(dir, 0o755) // the container's user reads it
	os.WriteFile(filepath.Join(dir, "server.pem"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
	if err := os.WriteFile(filepath.Join(dir, "server-key.pem"), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kb}), 0o644); err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return pool
}

func inspect(t *testing.T, name string, v any) {
	t.Helper()
	var list []json.RawMessage
	if err := json.Unmarshal([]byte(docker(t, "image", "inspect", name)), &list); err != nil || len(list) != 1 {
		t.Fatalf("docker image inspect %s: %v", name, err)
	}
	if err := json.Unmarshal(list[0], v); err != nil {
		t.Fatal(err)
	}
}

func inspectFormat(t *testing.T, name, format string, v any) {
	t.Helper()
	if out := docker(t, "inspect", "--format", format, name); json.Unmarshal([]byte(out), v) != nil {
		t.Fatalf("docker inspect %s %s: %q", format, name, out)
	}
}

// docker runs the docker CLI for at most two minutes and returns its
// trimmed stdout; an error fails the test.
func docker(t *testing.T, args ...string) string {
	t.Helper()
	out, err := tryDocker(args...)
	if err != nil {
		t.Fatalf("docker %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// cleanup runs docker to remove what the test made; a failure other than
// "no such" is an error, reported without stopping the other cleanups.
func cleanup(t *testing.T, args ...string) {
	t.Helper()
	if out, err := tryDocker(args...); err != nil && !strings.Contains(strings.ToLower(out), "no such") {
		t.Errorf("clean up: docker %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

func tryDocker(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, "docker", args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return strings.TrimSpace(stdout.String() + "\n" + stderr.String()), err
	}
	return strings.TrimSpace(stdout.String()), nil
}

// run runs a program in dir for at most five minutes with env added and
// returns its trimmed stdout; an error fails the test, with the output.
func run(t *testing.T, dir string, env []string, name string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir, cmd.Env = dir, append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\n%s\n%s", name, strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	return strings.TrimSpace(stdout.String())
}

func randomHex(t *testing.T) string {
	t.Helper()
	b := make([]byte, 5)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}
