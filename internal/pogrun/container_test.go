package pogrun

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/sn27/sn27/internal/docker"
	"github.com/sn27/sn27/internal/pog"
)

// TestProveInContainer proves PoCL inside a real allocation container over
// real SSH (host key pinned), with the real sn27 binary copied in; then the
// attacks on the link: a host key that is not the pinned one, and a
// container that swaps the uploaded binary.
func TestProveInContainer(t *testing.T) {
	if testing.Short() {
		t.Skip("needs dockerd, the allocation image and a built sn27; skipped with -short")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	dc, err := docker.New(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer dc.Close()
	if ok, err := dc.ImageExists(ctx, docker.DefaultImage); err != nil || !ok {
		var log bytes.Buffer
		if err := dc.BuildImage(ctx, docker.BuildOptions{Log: &log}); err != nil {
			t.Fatalf("build the allocation image: %v\n%s", err, log.String())
		}
	}
	binPath := filepath.Join(t.TempDir(), "sn27")
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-o", binPath, "github.com/sn27/sn27/cmd/sn27")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build sn27: %v\n%s", err, out)
	}
	bin, err := LoadBinary(binPath)
	if err != nil {
		t.Fatal(err)
	}

	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	signer, _ := ssh.NewSignerFromKey(priv)
	hostPriv, hostPub, err := docker.NewHostKey()
	if err != nil {
		t.Fatal(err)
	}
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	name := "sn27-test-pog-" + strconv.FormatInt(time.Now().UnixNano()%1e9, 36)
	id, _, err := dc.Create(ctx, docker.ContainerSpec{
		Name: name, Image: docker.DefaultImage, Labels: map[string]string{"io.sn27.test": "pog"},
		Resources:     docker.Resources{CPUs: 2, MemoryBytes: 1 << 30, PidsLimit: 512, ShmBytes: 64 << 20},
		SSHHostPort:   port,
		AuthorizedKey: strings.TrimSpace(string(ssh.MarshalAuthorizedKey(signer.PublicKey()))),
		HostKey:       hostPriv,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer dc.Remove(context.Background(), id)

	target := Target{Addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), User: "root", Signer: signer, HostKey: hostPub}
	models := pog.DefaultTable().Usable(true)
	opts := Options{Table: pog.DefaultTable(), Models: models}
	claim := Claim{Hotkey: "5Miner", Model: "PoCL CPU", Count: 1, MemBytes: 64 << 20}

	t.Run("honest PoCL in the container", func(t *testing.T) {
		v := ProveRemote(ctx, target, bin, claim, opts)
		if !v.Passed || v.Model != "PoCL CPU" || v.GPUs != 1 || len(v.Devices) != 1 {
			t.Fatalf("verdict: passed %v model %q step %q reason %q", v.Passed, v.Model, v.FailedStep, v.Reason)
		}
		d := v.Devices[0]
		t.Logf("proved %s in %.1f s: n=%d %.1f GFLOP/s; %.0f MiB filled in %.0f ms, pass %.0f ms (%.1f GB/s); rtt %.2f ms",
			d.Device.Name, v.Millis/1000, d.N, d.GFLOPS, float64(d.MemBytes)/(1<<20), d.FillMillis, d.PassMillis, d.MemGBps, v.RTTMillis)
	})
	t.Run("a host key that is not the pinned one", func(t *testing.T) {
		_, other, _ := docker.NewHostKey()
		bad := target
		bad.HostKey = other
		v := ProveRemote(ctx, bad, bin, claim, opts)
		expectFail(t, v, pog.StepConnect, "host key")
	})
	t.Run("a container that swaps the uploaded binary", func(t *testing.T) {
		afterUpload = func(ctx context.Context, r *Remote) error {
			_, err := r.run(ctx, "cp /bin/true "+RemotePath, nil)
			return err
		}
		defer func() { afterUpload = nil }()
		v := ProveRemote(ctx, target, bin, claim, opts)
		expectFail(t, v, pog.StepConnect, "changed in the container")
	})
}
