package api

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"
)

// minKeyLen is the shortest bearer key accepted from the keys file.
const minKeyLen = 16

// keyring holds the bearer keys of the keys file as SHA-256 digests, so that
// comparisons are constant-time and of fixed length. It re-reads the file when
// its mtime or size changes, or when reload is called (SIGHUP).
type keyring struct {
	path string
	log  *slog.Logger

	mu      sync.Mutex
	mtime   time.Time
	size    int64
	digests [][sha256.Size]byte
}

func newKeyring(path string, log *slog.Logger) (*keyring, error) {
	k := &keyring{path: path, log: log}
	if err := k.reload(); err != nil {
		return nil, err
	}
	return k, nil
}

// reload reads the file unconditionally. On error the previous keys stay.
func (k *keyring) reload() error {
	fi, err := os.Stat(k.path)
	if err != nil {
		return fmt.Errorf("read keys file: %w", err)
	}
	data, err := os.ReadFile(k.path)
	if err != nil {
		return fmt.Errorf("read keys file: %w", err)
	}
	var ds [][sha256.Size]byte
	sc := bufio.NewScanner(bytes.NewReader(data))
	line := 0
	for sc.Scan() {
		line++
		s := strings.TrimSpace(sc.Text())
		if s == "" || strings.HasPrefix(s, "#") {
			continue
		}
		if len(s) < minKeyLen {
			k.log.Warn("keys file: key shorter than 16 characters skipped", "line", line)
			continue
		}
		ds = append(ds, sha256.Sum256([]byte(s)))
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("read keys file: %w", err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		k.log.Warn("keys file is readable by group or others; chmod 600 it", "path", k.path)
	}
	k.mu.Lock()
	k.digests, k.mtime, k.size = ds, fi.ModTime(), fi.Size()
	k.mu.Unlock()
	k.log.Info("bearer keys loaded", "count", len(ds))
	return nil
}

// maybeReload re-reads the file when its mtime or size changed.
func (k *keyring) maybeReload() {
	fi, err := os.Stat(k.path)
	if err != nil {
		return
	}
	k.mu.Lock()
	changed := !fi.ModTime().Equal(k.mtime) || fi.Size() != k.size
	k.mu.Unlock()
	if changed {
		if err := k.reload(); err != nil {
			k.log.Error("reload keys file; keeping the previous keys", "err", err)
		}
	}
}

// match reports whether key is one of the keys, and the principal naming it
// (a prefix of the key's digest, never the key).
func (k *keyring) match(key string) (string, bool) {
	k.maybeReload()
	d := sha256.Sum256([]byte(key))
	k.mu.Lock()
	ds := k.digests
	k.mu.Unlock()
	ok := 0
	for i := range ds {
		ok |= subtle.ConstantTimeCompare(d[:], ds[i][:])
	}
	if ok != 1 {
		return "", false
	}
	return "key:" + hex.EncodeToString(d[:8]), true
}

// authenticate returns the request's principal: "cert:<sha256 of the leaf>"
// for a client certificate that verifies against the client CA pool,
// "key:<digest prefix>" for a known bearer key. A presented certificate that
// does not verify is not an error by itself: a valid bearer key still passes.
func (s *Server) authenticate(r *http.Request) (string, bool) {
	if s.clientCAs != nil && r.TLS != nil && len(r.TLS.PeerCertificates) > 0 {
		leaf := r.TLS.PeerCertificates[0]
		inter := x509.NewCertPool()
		for _, c := range r.TLS.PeerCertificates[1:] {
			inter.AddCert(c)
		}
		_, err := leaf.Verify(x509.VerifyOptions{
			Roots:         s.clientCAs,
			Intermediates: inter,
			KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
			CurrentTime:   s.now(),
		})
		if err == nil {
			sum := sha256.Sum256(leaf.Raw)
			return "cert:" + hex.EncodeToString(sum[:]), true
		}
	}
	if s.keys != nil {
		h := r.Header.Get("Authorization")
		if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
			return s.keys.match(strings.TrimSpace(h[7:]))
		}
	}
	return "", false
}
