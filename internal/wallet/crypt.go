package wallet

import (
	"bytes"
	"crypto/rand"
	"fmt"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/nacl/secretbox"
)

// Prefixes that mark an encrypted key file.
const (
	naclPrefix    = "$NACL"          // current: argon2i + XSalsa20-Poly1305
	ansiblePrefix = "$ANSIBLE_VAULT" // legacy Ansible Vault
	fernetPrefix  = "gAAAAA"         // very old Fernet
)

// naclSalt is btwallet's and bittensor's fixed 16-byte NACL_SALT, spelled as
// in their source: b"\x13q\x83\xdf\xf1Z\t\xbc\x9c\x90\xb5Q\x879\xe9\xb1".
const naclSalt = "\x13q\x83\xdf\xf1Z\t\xbc\x9c\x90\xb5Q\x879\xe9\xb1"

const nonceSize = 24

// libsodium's crypto_pwhash_argon2i OPSLIMIT_SENSITIVE and MEMLIMIT_SENSITIVE
// (512 MiB, in KiB): what btwallet, PyNaCl and btcli use.
const (
	opslimitSensitive = 8
	memlimitSensitive = 512 * 1024
)

// kdfParams are argon2i costs; tests use cheap ones. The zero value means
// the real, sensitive ones.
type kdfParams struct {
	time   uint32 // passes (libsodium opslimit)
	memory uint32 // KiB (libsodium memlimit / 1024)
}

func (p kdfParams) orDefault() kdfParams {
	if p.time == 0 || p.memory == 0 {
		return kdfParams{time: opslimitSensitive, memory: memlimitSensitive}
	}
	return p
}

// deriveKey derives the secretbox key from a password as libsodium's
// crypto_pwhash_argon2i (v1.3, one lane) does.
func deriveKey(password string, p kdfParams) *[32]byte {
	p = p.orDefault()
	var k [32]byte
	copy(k[:], argon2.Key([]byte(password), []byte(naclSalt), p.time, p.memory, 1, 32))
	return &k
}

// IsEncrypted reports whether data is an encrypted key file ($NACL, or one
// of the legacy formats, which this package cannot decrypt).
func IsEncrypted(data []byte) bool {
	return bytes.HasPrefix(data, []byte(naclPrefix)) ||
		bytes.HasPrefix(data, []byte(ansiblePrefix)) ||
		bytes.HasPrefix(data, []byte(fernetPrefix))
}

// Encrypt encrypts key file data as btwallet does: "$NACL" ‖ nonce(24) ‖
// secretbox(data) under argon2i(password) with the sensitive limits. It takes
// a few seconds and 512 MiB of memory.
func Encrypt(data []byte, password string) ([]byte, error) {
	return encrypt(data, password, kdfParams{})
}

// Decrypt opens a "$NACL" key file. A wrong password (or a damaged file)
// gives ErrWrongPassword; legacy formats give ErrLegacyEncryption; anything
// else, including a plain JSON key file, gives ErrMalformed.
func Decrypt(data []byte, password string) ([]byte, error) {
	return decrypt(data, password, kdfParams{})
}

func encrypt(data []byte, password string, p kdfParams) ([]byte, error) {
	return seal(deriveKey(password, p), data)
}

func decrypt(data []byte, password string, p kdfParams) ([]byte, error) {
	if err := checkEncrypted(data); err != nil {
		return nil, err
	}
	return open(deriveKey(password, p), data)
}

// checkEncrypted tells whether open can work on data, before the costly KDF.
func checkEncrypted(data []byte) error {
	switch {
	case bytes.HasPrefix(data, []byte(naclPrefix)):
		if len(data) < len(naclPrefix)+nonceSize+secretbox.Overhead {
			return fmt.Errorf("%w: truncated $NACL data (%d bytes)", ErrMalformed, len(data))
		}
		return nil
	case bytes.HasPrefix(data, []byte(ansiblePrefix)):
		return fmt.Errorf("ansible vault: %w", ErrLegacyEncryption)
	case bytes.HasPrefix(data, []byte(fernetPrefix)):
		return fmt.Errorf("fernet: %w", ErrLegacyEncryption)
	default:
		return fmt.Errorf("%w: not encrypted (no $NACL prefix)", ErrMalformed)
	}
}

func seal(key *[32]byte, data []byte) ([]byte, error) {
	var nonce [nonceSize]byte
	if _, err := rand.Read(nonce[:]); err != nil {
		return nil, fmt.Errorf("random nonce: %w", err)
	}
	out := make([]byte, 0, len(naclPrefix)+nonceSize+secretbox.Overhead+len(data))
	out = append(out, naclPrefix...)
	out = append(out, nonce[:]...)
	return secretbox.Seal(out, data, &nonce, key), nil
}

func open(key *[32]byte, data []byte) ([]byte, error) {
	if err := checkEncrypted(data); err != nil {
		return nil, err
	}
	var nonce [nonceSize]byte
	body := data[len(naclPrefix):]
	copy(nonce[:], body)
	plain, ok := secretbox.Open(nil, body[nonceSize:], &nonce, key)
	if !ok {
		return nil, ErrWrongPassword
	}
	return plain, nil
}
