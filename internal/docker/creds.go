package docker

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/pkg/stdcopy"
	"golang.org/x/crypto/ssh"
)

// ErrBadKey reports an authorized key that is not one OpenSSH public key line.
var ErrBadKey = errors.New("not an OpenSSH public key line")

// ErrBadPassword reports a root password chpasswd cannot take as one line.
var ErrBadPassword = errors.New("unusable root password")

// keyTypes are the key types accepted in authorized_keys.
var keyTypes = map[string]bool{
	ssh.KeyAlgoRSA: true, ssh.KeyAlgoED25519: true,
	ssh.KeyAlgoECDSA256: true, ssh.KeyAlgoECDSA384: true, ssh.KeyAlgoECDSA521: true,
	ssh.KeyAlgoSKED25519: true, ssh.KeyAlgoSKECDSA256: true,
}

// normalizeKey checks that key is a single OpenSSH public key line — "type
// base64 [comment]", no options, no control characters — whose blob parses
// as a key of that type, and returns it as one line ending in a newline.
func normalizeKey(key string) (string, error) {
	key = strings.TrimSpace(key)
	if key == "" {
		return "", fmt.Errorf("authorized key: empty: %w", ErrBadKey)
	}
	for _, r := range key {
		if r < 0x20 || r == 0x7f {
			return "", fmt.Errorf("authorized key: control character %q: %w", r, ErrBadKey)
		}
	}
	fields := strings.Fields(key)
	if len(fields) < 2 || len(fields) > 3 {
		return "", fmt.Errorf("authorized key: want \"type base64 [comment]\", got %d fields: %w", len(fields), ErrBadKey)
	}
	typ, b64 := fields[0], fields[1]
	if !keyTypes[typ] {
		return "", fmt.Errorf("authorized key: unsupported type %.40q: %w", typ, ErrBadKey)
	}
	blob, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return "", fmt.Errorf("authorized key: base64: %v: %w", err, ErrBadKey)
	}
	pub, err := ssh.ParsePublicKey(blob)
	if err != nil {
		return "", fmt.Errorf("authorized key: %v: %w", err, ErrBadKey)
	}
	if pub.Type() != typ {
		return "", fmt.Errorf("authorized key: says %s but holds %s: %w", typ, pub.Type(), ErrBadKey)
	}
	line := typ + " " + b64
	if len(fields) == 3 {
		comment := fields[2]
		for _, r := range comment {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("@._+-=:/", r)) {
				return "", fmt.Errorf("authorized key: character %q in comment: %w", r, ErrBadKey)
			}
		}
		line += " " + comment
	}
	return line + "\n", nil
}

// checkPassword refuses passwords that would not reach chpasswd as one
// "root:<pw>" line.
func checkPassword(pw string) error {
	if pw == "" {
		return fmt.Errorf("root password: empty: %w", ErrBadPassword)
	}
	if len(pw) > 1024 {
		return fmt.Errorf("root password: longer than 1024 bytes: %w", ErrBadPassword)
	}
	if strings.ContainsAny(pw, "\n\r\x00") {
		return fmt.Errorf("root password: contains a line break or NUL: %w", ErrBadPassword)
	}
	return nil
}

// SetAuthorizedKey replaces the container's /root/.ssh/authorized_keys with
// key (exchange_key); the previous keys stop working at once.
func (c *Client) SetAuthorizedKey(ctx context.Context, id, key string) error {
	line, err := normalizeKey(key)
	if err != nil {
		return err
	}
	return c.copyAuthorizedKey(ctx, id, line)
}

func (c *Client) copyAuthorizedKey(ctx context.Context, id, line string) error {
	files := []tarFile{
		{name: "root/.ssh", mode: 0o700, dir: true},
		{name: "root/.ssh/authorized_keys", mode: 0o600, body: []byte(line)},
	}
	if err := c.copyFiles(ctx, id, "/", files); err != nil {
		return fmt.Errorf("install authorized key: %w", err)
	}
	return nil
}

// tarFile is one entry copied into a container, owned by root.
type tarFile struct {
	name string // relative to the destination directory
	mode int64
	dir  bool
	body []byte
}

// copyFiles writes files into the container (created, running or stopped)
// under dir, as a tar extracted by the daemon: no shell, no exec.
func (c *Client) copyFiles(ctx context.Context, id, dir string, files []tarFile) error {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	now := time.Now()
	for _, f := range files {
		h := &tar.Header{Name: f.name, Mode: f.mode, ModTime: now, Format: tar.FormatPAX}
		if f.dir {
			h.Typeflag, h.Name = tar.TypeDir, f.name+"/"
		} else {
			h.Typeflag, h.Size = tar.TypeReg, int64(len(f.body))
		}
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		if _, err := tw.Write(f.body); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return wrap("copy to container "+id, c.api.CopyToContainer(ctx, id, dir, &buf, container.CopyToContainerOptions{}))
}

// setRootPassword runs chpasswd in the container, giving it "root:<pw>" on
// stdin.
func (c *Client) setRootPassword(ctx context.Context, id, pw string) error {
	if err := checkPassword(pw); err != nil {
		return err
	}
	res, err := c.exec(ctx, id, []string{"/usr/sbin/chpasswd"}, strings.NewReader("root:"+pw+"\n"))
	if err != nil {
		return fmt.Errorf("set root password: %w", err)
	}
	if res.ExitCode != 0 {
		return fmt.Errorf("set root password: chpasswd exited %d: %s", res.ExitCode, strings.TrimSpace(string(res.Stderr)))
	}
	return nil
}

// execResult is the outcome of a command run in a container.
type execResult struct {
	ExitCode       int
	Stdout, Stderr []byte
}

// exec runs argv (no shell) as root in the running container, feeding it
// stdin when not nil, and waits for it to exit.
func (c *Client) exec(ctx context.Context, id string, argv []string, stdin io.Reader) (execResult, error) {
	cr, err := c.api.ContainerExecCreate(ctx, id, container.ExecOptions{
		User:         "root",
		Cmd:          argv,
		AttachStdin:  stdin != nil,
		AttachStdout: true,
		AttachStderr: true,
	})
	if err != nil {
		return execResult{}, wrap("exec in container "+id, err)
	}
	hj, err := c.api.ContainerExecAttach(ctx, cr.ID, container.ExecAttachOptions{})
	if err != nil {
		return execResult{}, wrap("attach to exec in container "+id, err)
	}
	defer hj.Close()
	stop := context.AfterFunc(ctx, func() { hj.Close() })
	defer stop()

	if stdin != nil {
		if _, err := io.Copy(hj.Conn, stdin); err != nil {
			return execResult{}, fmt.Errorf("exec %s: write stdin: %w", argv[0], err)
		}
		if err := hj.CloseWrite(); err != nil {
			return execResult{}, fmt.Errorf("exec %s: close stdin: %w", argv[0], err)
		}
	}
	var stdout, stderr bytes.Buffer
	if _, err := stdcopy.StdCopy(&stdout, &stderr, hj.Reader); err != nil {
		if ctx.Err() != nil {
			return execResult{}, ctx.Err()
		}
		return execResult{}, fmt.Errorf("exec %s: read output: %w", argv[0], err)
	}
	// The stream ends when the process does; its exit code may lag a little.
	for {
		in, err := c.api.ContainerExecInspect(ctx, cr.ID)
		if err != nil {
			return execResult{}, wrap("inspect exec in container "+id, err)
		}
		if !in.Running {
			return execResult{ExitCode: in.ExitCode, Stdout: stdout.Bytes(), Stderr: stderr.Bytes()}, nil
		}
		select {
		case <-ctx.Done():
			return execResult{}, ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}
