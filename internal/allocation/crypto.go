package allocation

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
)

// MinRSABits is the smallest renter key accepted.
const MinRSABits = 2048

// ParseRenterKey parses the renter's RSA public key (PEM, SubjectPublicKeyInfo
// "PUBLIC KEY" as Python's cryptography writes it, or PKCS#1 "RSA PUBLIC KEY").
func ParseRenterKey(pemText string) (*rsa.PublicKey, error) {
	if len(pemText) > 16<<10 {
		return nil, errors.New("public_key: longer than 16 KiB")
	}
	block, _ := pem.Decode([]byte(pemText))
	if block == nil {
		return nil, errors.New("public_key: not a PEM block")
	}
	var pub *rsa.PublicKey
	switch block.Type {
	case "PUBLIC KEY":
		k, err := x509.ParsePKIXPublicKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("public_key: %w", err)
		}
		var ok bool
		if pub, ok = k.(*rsa.PublicKey); !ok {
			return nil, errors.New("public_key: not an RSA key")
		}
	case "RSA PUBLIC KEY":
		k, err := x509.ParsePKCS1PublicKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("public_key: %w", err)
		}
		pub = k
	default:
		return nil, fmt.Errorf("public_key: PEM type %q, want PUBLIC KEY", block.Type)
	}
	if pub.N.BitLen() < MinRSABits {
		return nil, fmt.Errorf("public_key: %d-bit RSA, want at least %d", pub.N.BitLen(), MinRSABits)
	}
	return pub, nil
}

// Credentials are what a renter needs to log in.
type Credentials struct {
	Username string `json:"username"`
	Password string `json:"password"`
	Port     int    `json:"port"`
	// HostKey is the container's SSH host key ("ssh-ed25519 AAAA…"), made
	// for this rental, so the first login can be verified. SN27's Python
	// renters ignore it.
	HostKey string `json:"host_key,omitempty"`
}

// EncryptCredentials returns base64(RSA-OAEP(SHA-256, MGF1-SHA-256, no
// label) of the JSON credentials), the "info" SN27 renters decrypt.
func EncryptCredentials(pub *rsa.PublicKey, c Credentials) (string, error) {
	msg, err := json.Marshal(c)
	if err != nil {
		return "", err
	}
	ct, err := rsa.EncryptOAEP(sha256.New(), rand.Reader, pub, msg, nil)
	if err != nil {
		return "", fmt.Errorf("encrypt credentials: %w", err)
	}
	return base64.StdEncoding.EncodeToString(ct), nil
}

// DecryptCredentials is the renter's side (tests and the Go renter).
func DecryptCredentials(priv *rsa.PrivateKey, info string) (Credentials, error) {
	var c Credentials
	ct, err := base64.StdEncoding.DecodeString(info)
	if err != nil {
		return c, fmt.Errorf("info: %w", err)
	}
	msg, err := rsa.DecryptOAEP(sha256.New(), nil, priv, ct, nil)
	if err != nil {
		return c, fmt.Errorf("decrypt info: %w", err)
	}
	err = json.Unmarshal(msg, &c)
	return c, err
}

const passwordChars = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"

// newPassword returns a random password of n characters.
func newPassword(n int) (string, error) {
	b := make([]byte, n)
	for i := range b {
		v, err := rand.Int(rand.Reader, big.NewInt(int64(len(passwordChars))))
		if err != nil {
			return "", err
		}
		b[i] = passwordChars[v.Int64()]
	}
	return string(b), nil
}
