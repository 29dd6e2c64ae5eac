package renter

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strconv"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/sn27/sn27/internal/keys"
	"github.com/sn27/sn27/internal/rental"
)

// RSABits is the size of the per-allocation renter key.
const RSABits = 2048

var errNoKey = errors.New("no renter key")

func newRenterKey() (*rsa.PrivateKey, error) {
	k, err := rsa.GenerateKey(rand.Reader, RSABits)
	if err != nil {
		return nil, fmt.Errorf("generate renter key: %w", err)
	}
	return k, nil
}

// publicPEM is the key's SubjectPublicKeyInfo PEM, as the SN27 renter sends.
func publicPEM(k *rsa.PrivateKey) (string, error) {
	der, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		return "", err
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})), nil
}

// keyDir holds one renter key (<hotkey>.pem) and one details file
// (<hotkey>.json) per allocation.
type keyDir struct{ dir string }

func openKeyDir(dir string) (*keyDir, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(abs, 0o700); err != nil {
		return nil, fmt.Errorf("renter keys: %w", err)
	}
	if err := os.Chmod(abs, 0o700); err != nil {
		return nil, fmt.Errorf("renter keys: %w", err)
	}
	return &keyDir{dir: abs}, nil
}

func (k *keyDir) keyPath(hotkey string) string { return filepath.Join(k.dir, hotkey+".pem") }

func (k *keyDir) detailsPath(hotkey string) string { return filepath.Join(k.dir, hotkey+".json") }

// knownHostsPath is the OpenSSH known_hosts file pinning the host key of
// hotkey's rental.
func (k *keyDir) knownHostsPath(hotkey string) string {
	return filepath.Join(k.dir, hotkey+".known_hosts")
}

// KnownHostsLine is the OpenSSH known_hosts line pinning hostKey (an
// authorized_keys-format public key) for host:port; "" when hostKey is not
// a valid key.
func KnownHostsLine(host string, port int, hostKey string) string {
	pk, _, _, _, err := ssh.ParseAuthorizedKey([]byte(hostKey))
	if err != nil || hostKey == "" {
		return ""
	}
	return knownhosts.Line([]string{knownhosts.Normalize(net.JoinHostPort(host, strconv.Itoa(port)))}, pk)
}

// saveKnownHosts writes the known_hosts line of the rental's host key.
func (k *keyDir) saveKnownHosts(hotkey, host string, port int, hostKey string) (string, error) {
	if err := checkName(hotkey); err != nil {
		return "", err
	}
	if _, _, _, _, err := ssh.ParseAuthorizedKey([]byte(hostKey)); err != nil {
		return "", fmt.Errorf("the miner's host key: %w", err)
	}
	line := KnownHostsLine(host, port, hostKey) + "\n"
	path := k.knownHostsPath(hotkey)
	if err := writeFileAtomic(path, []byte(line)); err != nil {
		return "", fmt.Errorf("save known_hosts: %w", err)
	}
	return path, nil
}

// checkName refuses anything but an SS58 hotkey, so a name cannot leave dir.
func checkName(hotkey string) error {
	if _, err := keys.ParseHotkey(hotkey); err != nil {
		return fmt.Errorf("hotkey %q: %w", hotkey, err)
	}
	return nil
}

func (k *keyDir) saveKey(hotkey string, priv *rsa.PrivateKey) (string, error) {
	if err := checkName(hotkey); err != nil {
		return "", err
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return "", err
	}
	path := k.keyPath(hotkey)
	if err := writeFileAtomic(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})); err != nil {
		return "", fmt.Errorf("save renter key: %w", err)
	}
	return path, nil
}

func (k *keyDir) loadKey(hotkey string) (*rsa.PrivateKey, error) {
	if err := checkName(hotkey); err != nil {
		return nil, err
	}
	b, err := os.ReadFile(k.keyPath(hotkey))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, errNoKey
	}
	if err != nil {
		return nil, fmt.Errorf("read renter key: %w", err)
	}
	block, _ := pem.Decode(b)
	if block == nil {
		return nil, fmt.Errorf("renter key %s: not PEM", k.keyPath(hotkey))
	}
	var key any
	switch block.Type {
	case "PRIVATE KEY":
		key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	case "RSA PRIVATE KEY":
		key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	default:
		err = fmt.Errorf("PEM type %q", block.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("renter key %s: %w", k.keyPath(hotkey), err)
	}
	rk, ok := key.(*rsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("renter key %s: not RSA", k.keyPath(hotkey))
	}
	return rk, nil
}

func (k *keyDir) saveDetails(hotkey string, b []byte) error {
	if err := checkName(hotkey); err != nil {
		return err
	}
	if err := writeFileAtomic(k.detailsPath(hotkey), b); err != nil {
		return fmt.Errorf("save allocation details: %w", err)
	}
	return nil
}

func (k *keyDir) loadDetails(hotkey string) (rental.Details, error) {
	var d rental.Details
	if err := checkName(hotkey); err != nil {
		return d, err
	}
	b, err := os.ReadFile(k.detailsPath(hotkey))
	if err != nil {
		return d, err
	}
	err = json.Unmarshal(b, &d)
	return d, err
}

// remove deletes hotkey's key, details and known_hosts files (missing ones are fine).
func (k *keyDir) remove(hotkey string) error {
	if err := checkName(hotkey); err != nil {
		return err
	}
	var errs []error
	for _, p := range []string{k.keyPath(hotkey), k.detailsPath(hotkey), k.knownHostsPath(hotkey)} {
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// writeFileAtomic writes b to path with mode 0600: temp file, fsync,
// rename, fsync of the directory.
func writeFileAtomic(path string, b []byte) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, ".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp) // no-op after the rename
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}
