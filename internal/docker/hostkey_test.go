package docker

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

func TestHostKeyParse(t *testing.T) {
	priv, pub, err := NewHostKey()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(pub, "ssh-ed25519 ") || strings.Count(pub, " ") != 1 {
		t.Errorf("public line %q; want \"ssh-ed25519 AAAA…\"", pub)
	}
	if got, err := HostKeyPublic(priv); err != nil || got != pub {
		t.Errorf("HostKeyPublic = %q, %v; want %q", got, err, pub)
	}
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ecBlk, err := ssh.MarshalPrivateKey(ec, "")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		key  string
		ok   bool
	}{
		{"made by NewHostKey", priv, true},
		{"with surrounding space", "\n  " + priv + "\n\n", true},
		{"ecdsa", string(pem.EncodeToMemory(ecBlk)), false},
		{"public line", pub, false},
		{"two keys", priv + priv, false},
		{"trailing text", priv + "HostKey /etc/shadow\n", false},
		{"garbage", "-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----\n", false},
		{"empty block", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := ContainerSpec{Name: "sn27-never", SSHHostPort: 2222, RootPassword: "pw", HostKey: tt.key}
			err := spec.validate()
			if tt.key == "" {
				_, err = hostKeyFiles(tt.key)
			}
			if tt.ok && err != nil {
				t.Errorf("validate = %v; want ok", err)
			}
			if !tt.ok && !errors.Is(err, ErrBadHostKey) {
				t.Errorf("validate = %v; want ErrBadHostKey", err)
			}
		})
	}
}

// sshStrict runs true in the container with the real ssh client, checking
// the host key against known_hosts.
func sshStrict(ctx context.Context, key, knownHosts string, port int) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "ssh", "-i", key, "-p", strconv.Itoa(port),
		"-o", "StrictHostKeyChecking=yes", "-o", "UserKnownHostsFile="+knownHosts, "-o", "GlobalKnownHostsFile=/dev/null",
		"-o", "BatchMode=yes", "-o", "ConnectTimeout=3",
		"-o", "IdentitiesOnly=yes", "root@127.0.0.1", "echo in")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return strings.TrimSpace(out.String()), err
}

// TestHostKey checks that a container made with a host key offers that key
// and no other: ssh with StrictHostKeyChecking=yes and the key in
// known_hosts logs in, before and after a restart; with another key there
// it refuses the host.
func TestHostKey(t *testing.T) {
	c := newTestClient(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	priv, pub, err := NewHostKey()
	if err != nil {
		t.Fatal(err)
	}
	_, otherPub, err := NewHostKey()
	if err != nil {
		t.Fatal(err)
	}
	key, authorized := keyPair(t, "hostkey@test")
	port := freePort(t)
	id, _, err := c.Create(ctx, ContainerSpec{
		Name: testName(t), Image: testImage, Labels: map[string]string{"io.sn27.test": "hostkey"},
		SSHHostPort: port, AuthorizedKey: authorized, HostKey: priv,
	})
	if err != nil {
		t.Fatal(err)
	}
	removeLater(t, c, id)

	dir := t.TempDir()
	good, bad := filepath.Join(dir, "known_hosts"), filepath.Join(dir, "known_hosts.other")
	entry := func(line string) []byte { return []byte("[127.0.0.1]:" + strconv.Itoa(port) + " " + line + "\n") }
	if err := os.WriteFile(good, entry(pub), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bad, entry(otherPub), 0o600); err != nil {
		t.Fatal(err)
	}
	login := func(when string) {
		t.Helper()
		var out string
		var err error
		for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(300 * time.Millisecond) {
			if out, err = sshStrict(ctx, key, good, port); err == nil || time.Now().After(deadline) {
				break
			}
		}
		if err != nil || out != "in" {
			t.Fatalf("%s: ssh with the pinned host key: %v: %s", when, err, out)
		}
		out, err = sshStrict(ctx, key, bad, port)
		if err == nil || !strings.Contains(out, "REMOTE HOST IDENTIFICATION HAS CHANGED") {
			t.Errorf("%s: ssh with another host key pinned = %v: %s; want a host key mismatch", when, err, out)
		}
	}
	login("after Create")

	res, err := c.exec(ctx, id, []string{"/usr/sbin/sshd", "-T"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var hostKeys []string
	for _, l := range strings.Split(string(res.Stdout), "\n") {
		if strings.HasPrefix(l, "hostkey ") {
			hostKeys = append(hostKeys, l)
		}
	}
	if len(hostKeys) != 1 || hostKeys[0] != "hostkey "+hostKeyPath {
		t.Errorf("sshd host keys %q; want only %s", hostKeys, hostKeyPath)
	}
	res, err = c.exec(ctx, id, []string{"stat", "-c", "%a %U", hostKeyPath, hostKeyPath + ".pub"}, nil)
	if err != nil || string(res.Stdout) != "600 root\n644 root\n" {
		t.Errorf("host key modes %q, %v; want 600 and 644, root's", res.Stdout, err)
	}

	if err := c.Restart(ctx, id); err != nil {
		t.Fatal(err)
	}
	login("after Restart")
}
