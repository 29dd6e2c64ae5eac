package update

import (
	_ "embed"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"

	"aead.dev/minisign"
)

// releasePub is the project's release public key (a minisign public key
// file). Release manifests signed by its private key are trusted by every
// sn27 build.
//
// This key was generated when sn27 update was written and ONLY its public
// half was kept: the private key was discarded on the spot, so nobody can
// sign a release with it. That is deliberate and safe (it trusts nothing
// anyone holds). When the release process gets a real key holder, the
// project's real release public key replaces this file; until then
// operators name the keys they trust with --update.trusted-key.
//
//go:embed release.pub
var releasePub []byte

var builtIn = sync.OnceValues(func() ([]minisign.PublicKey, error) {
	k, err := ParseKey(releasePub)
	if err != nil {
		return nil, fmt.Errorf("built-in release key: %w", err)
	}
	return []minisign.PublicKey{k}, nil
})

// TrustedKeys returns the release public keys built into this binary.
func TrustedKeys() []minisign.PublicKey {
	keys, err := builtIn()
	if err != nil {
		panic(err) // release.pub is embedded and tested: this is a broken build
	}
	return append([]minisign.PublicKey(nil), keys...)
}

// maxKeyFile bounds a public key file (a minisign one is 114 bytes).
const maxKeyFile = 4 << 10

// ParseKey parses a minisign public key: the two-line file `minisign -G`
// writes ("untrusted comment: …" then the base64 key) or the bare base64
// line (`minisign -P`).
func ParseKey(b []byte) (minisign.PublicKey, error) {
	var k minisign.PublicKey
	if err := k.UnmarshalText([]byte(strings.TrimSpace(string(b)))); err != nil {
		return k, err
	}
	return k, nil
}

// ReadKeyFile reads a minisign public key file.
func ReadKeyFile(path string) (minisign.PublicKey, error) {
	f, err := os.Open(path)
	if err != nil {
		return minisign.PublicKey{}, fmt.Errorf("trusted key: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxKeyFile+1))
	if err != nil {
		return minisign.PublicKey{}, fmt.Errorf("trusted key %s: %w", path, err)
	}
	if len(b) > maxKeyFile {
		return minisign.PublicKey{}, fmt.Errorf("trusted key %s: larger than %d bytes: not a minisign public key", path, maxKeyFile)
	}
	k, err := ParseKey(b)
	if err != nil {
		return k, fmt.Errorf("trusted key %s: %w", path, err)
	}
	return k, nil
}

// KeyID formats a key id as minisign prints it.
func KeyID(id uint64) string { return fmt.Sprintf("%X", id) }

// verify checks that sig is a minisign signature of msg by one of keys:
// ErrBadSignature when it is malformed or does not match, ErrUntrustedKey
// when no key of keys made it.
func verify(keys []minisign.PublicKey, msg, sig []byte) error {
	var s minisign.Signature
	if err := s.UnmarshalText(sig); err != nil {
		return fmt.Errorf("%w: %v", ErrBadSignature, err)
	}
	known := false
	for _, k := range keys {
		if k.ID() != s.KeyID {
			continue
		}
		known = true
		if minisign.Verify(k, msg, sig) {
			return nil
		}
	}
	if known {
		return fmt.Errorf("%w: the manifest does not match its signature by key %s (changed after signing?)", ErrBadSignature, KeyID(s.KeyID))
	}
	ids := make([]string, len(keys))
	for i, k := range keys {
		ids[i] = KeyID(k.ID())
	}
	return fmt.Errorf("%w: the manifest is signed by key %s; trusted: %s (add a key with --update.trusted-key)", ErrUntrustedKey, KeyID(s.KeyID), strings.Join(ids, ", "))
}
