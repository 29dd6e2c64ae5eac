package pogrun

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"
)

// Remote is an SSH connection to the validator's test allocation.
type Remote struct {
	client *ssh.Client
}

// Dial connects to addr as user with signer, accepting only hostKey (an
// authorized_keys line: "ssh-ed25519 AAAA…"): without a pinned host key
// nothing is sent.
func Dial(ctx context.Context, addr, user string, signer ssh.Signer, hostKey string) (*Remote, error) {
	if strings.TrimSpace(hostKey) == "" {
		return nil, errors.New("the allocation sent no host key: refusing to connect unpinned")
	}
	pk, _, _, _, err := ssh.ParseAuthorizedKey([]byte(hostKey))
	if err != nil {
		return nil, fmt.Errorf("host key %q: %w", clip(hostKey, 40), err)
	}
	cfg := &ssh.ClientConfig{
		User:            user,
		Auth:            []ssh.AuthMethod{ssh.PublicKeys(signer)},
		HostKeyCallback: ssh.FixedHostKey(pk),
		Timeout:         15 * time.Second,
	}
	var dl net.Dialer
	// The container's sshd starts with it: retry refused connections a while.
	var conn net.Conn
	deadline := time.Now().Add(30 * time.Second)
	for {
		dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		conn, err = dl.DialContext(dctx, "tcp", addr)
		cancel()
		if err == nil || time.Now().After(deadline) || ctx.Err() != nil {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	if err != nil {
		return nil, fmt.Errorf("connect %s: %w", addr, err)
	}
	var c ssh.Conn
	var chans <-chan ssh.NewChannel
	var reqs <-chan *ssh.Request
	for try := 0; ; try++ {
		c, chans, reqs, err = ssh.NewClientConn(conn, addr, cfg)
		if err == nil || try == 10 || ctx.Err() != nil || strings.Contains(err.Error(), "host key mismatch") {
			break
		}
		// sshd accepted the connection before it could serve it: try again.
		time.Sleep(time.Second)
		if conn, err = dl.DialContext(ctx, "tcp", addr); err != nil {
			break
		}
	}
	if err != nil {
		return nil, fmt.Errorf("ssh %s: %w", addr, err)
	}
	return &Remote{client: ssh.NewClient(c, chans, reqs)}, nil
}

// Close ends the connection.
func (r *Remote) Close() error { return r.client.Close() }

// run runs cmd (a command of ours: no part comes from the remote side) with
// stdin, returning stdout, and stderr in the error.
func (r *Remote) run(ctx context.Context, cmd string, stdin io.Reader) ([]byte, error) {
	s, err := r.client.NewSession()
	if err != nil {
		return nil, fmt.Errorf("ssh session: %w", err)
	}
	defer s.Close()
	var out, errb bytes.Buffer
	s.Stdin, s.Stdout, s.Stderr = stdin, &limited{w: &out, n: 1 << 20}, &limited{w: &errb, n: 8 << 10}
	done := make(chan error, 1)
	go func() { done <- s.Run(cmd) }()
	select {
	case err = <-done:
	case <-ctx.Done():
		s.Close()
		return nil, ctx.Err()
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w: %s", strings.Fields(cmd)[0], err, clip(strings.TrimSpace(errb.String()), 300))
	}
	return out.Bytes(), nil
}

// limited keeps the first n bytes written to it.
type limited struct {
	w io.Writer
	n int
}

func (l *limited) Write(p []byte) (int, error) {
	if l.n > 0 {
		k := min(len(p), l.n)
		l.w.Write(p[:k])
		l.n -= k
	}
	return len(p), nil
}

// Upload writes data to path (mode 0700) and checks, in the container, that
// the file there has data's SHA-256.
func (r *Remote) Upload(ctx context.Context, path string, data []byte) error {
	if !safePath(path) {
		return fmt.Errorf("upload path %q", path)
	}
	dir := path[:strings.LastIndexByte(path, '/')]
	if _, err := r.run(ctx, "umask 077 && mkdir -p "+dir+" && cat > "+path+".part && chmod 0700 "+path+".part && mv -f "+path+".part "+path, bytes.NewReader(data)); err != nil {
		return fmt.Errorf("upload: %w", err)
	}
	return r.CheckSum(ctx, path, sha256.Sum256(data))
}

// CheckSum checks that the file at path has the SHA-256 want, as the
// container's sha256sum reads it.
func (r *Remote) CheckSum(ctx context.Context, path string, want [32]byte) error {
	out, err := r.run(ctx, "sha256sum "+path, nil)
	if err != nil {
		return fmt.Errorf("hash the uploaded binary: %w", err)
	}
	f := strings.Fields(string(out))
	if len(f) == 0 || f[0] != hex.EncodeToString(want[:]) {
		got := ""
		if len(f) > 0 {
			got = clip(f[0], 64)
		}
		return fmt.Errorf("the uploaded binary changed in the container: sha256 %s, sent %s", got, hex.EncodeToString(want[:]))
	}
	return nil
}

// safePath accepts absolute paths of letters, digits and . _ - /.
func safePath(p string) bool {
	if !strings.HasPrefix(p, "/") || strings.Contains(p, "..") || strings.Count(p, "/") < 2 {
		return false
	}
	for _, c := range p {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("._-/", c)) {
			return false
		}
	}
	return true
}

// Start runs cmd and returns its stdin and stdout as a Conn; its stderr's
// last lines are in Stderr after it ends.
func (r *Remote) Start(ctx context.Context, cmd string) (*Session, error) {
	s, err := r.client.NewSession()
	if err != nil {
		return nil, fmt.Errorf("ssh session: %w", err)
	}
	in, err := s.StdinPipe()
	if err != nil {
		s.Close()
		return nil, err
	}
	out, err := s.StdoutPipe()
	if err != nil {
		s.Close()
		return nil, err
	}
	ss := &Session{s: s, in: in, out: out}
	s.Stderr = &ss.stderr
	if err := s.Start(cmd); err != nil {
		s.Close()
		return nil, fmt.Errorf("start %s: %w", strings.Fields(cmd)[0], err)
	}
	return ss, nil
}

// Session is a running remote command.
type Session struct {
	s      *ssh.Session
	in     io.WriteCloser
	out    io.Reader
	stderr tail
	once   sync.Once
}

func (s *Session) Read(p []byte) (int, error)  { return s.out.Read(p) }
func (s *Session) Write(p []byte) (int, error) { return s.in.Write(p) }

// Close closes stdin and the session.
func (s *Session) Close() error {
	s.once.Do(func() {
		s.in.Close()
		s.s.Close()
	})
	return nil
}

// Stderr is the end of what the command wrote to stderr.
func (s *Session) Stderr() string { return s.stderr.String() }

// tail keeps the last 4 KiB written.
type tail struct {
	mu sync.Mutex
	b  []byte
}

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if len(t.b) > 4096 {
		t.b = t.b[len(t.b)-4096:]
	}
	return len(p), nil
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.b)
}
