package docker

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/ssh"
)

// ErrBadHostKey reports a host key that is not an OpenSSH ed25519 private key.
var ErrBadHostKey = errors.New("not an OpenSSH ed25519 private key")

// hostKeyPath is where sshd reads the allocation's host key; the drop-in
// sorts before the image's 50-sn27.conf, and with a HostKey line sshd
// offers only the keys named (the entrypoint's ssh-keygen -A still makes
// the other types, unused).
const (
	hostKeyPath    = "/etc/ssh/ssh_host_ed25519_key"
	hostKeyConfig  = "/etc/ssh/sshd_config.d/01-sn27-hostkey.conf"
	hostKeyComment = "sn27-allocation"
)

// NewHostKey makes an ed25519 host key for an allocation: the private key
// as OpenSSH PEM (for ContainerSpec.HostKey) and the public key as one
// "ssh-ed25519 AAAA…" line, for the renter's known_hosts.
func NewHostKey() (privatePEM, publicLine string, err error) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return "", "", fmt.Errorf("new host key: %w", err)
	}
	blk, err := ssh.MarshalPrivateKey(priv, hostKeyComment)
	if err != nil {
		return "", "", fmt.Errorf("new host key: %w", err)
	}
	privatePEM = string(pem.EncodeToMemory(blk))
	publicLine, err = HostKeyPublic(privatePEM)
	if err != nil {
		return "", "", err
	}
	return privatePEM, publicLine, nil
}

// HostKeyPublic returns the "ssh-ed25519 AAAA…" line of a host key made by
// NewHostKey, or ErrBadHostKey.
func HostKeyPublic(privatePEM string) (string, error) {
	priv, err := parseHostKey(privatePEM)
	if err != nil {
		return "", err
	}
	pub, err := ssh.NewPublicKey(priv.Public())
	if err != nil {
		return "", fmt.Errorf("host key: %v: %w", err, ErrBadHostKey)
	}
	return strings.TrimSpace(string(ssh.MarshalAuthorizedKey(pub))), nil
}

// parseHostKey checks that s is one unencrypted OpenSSH ed25519 private key.
func parseHostKey(s string) (ed25519.PrivateKey, error) {
	blk, rest := pem.Decode([]byte(strings.TrimSpace(s)))
	if blk == nil || blk.Type != "OPENSSH PRIVATE KEY" || len(strings.TrimSpace(string(rest))) != 0 {
		return nil, fmt.Errorf("host key: want one OPENSSH PRIVATE KEY block: %w", ErrBadHostKey)
	}
	raw, err := ssh.ParseRawPrivateKey(pem.EncodeToMemory(blk))
	if err != nil {
		return nil, fmt.Errorf("host key: %v: %w", err, ErrBadHostKey)
	}
	switch k := raw.(type) {
	case *ed25519.PrivateKey:
		return *k, nil
	case ed25519.PrivateKey:
		return k, nil
	default:
		return nil, fmt.Errorf("host key: %T is not ed25519: %w", raw, ErrBadHostKey)
	}
}

// hostKeyFiles are the files that make sshd use the host key s: the key
// (re-encoded, so nothing but the key is written), its public half and the
// sshd drop-in naming it.
const unusedKey = "# unused: this rental's sshd offers only its ed25519 host key (sshd_config.d/01-sn27-hostkey.conf)\n"

func hostKeyFiles(s string) ([]tarFile, error) {
	priv, err := parseHostKey(s)
	if err != nil {
		return nil, err
	}
	blk, err := ssh.MarshalPrivateKey(priv, hostKeyComment)
	if err != nil {
		return nil, fmt.Errorf("host key: %w", err)
	}
	pub, err := ssh.NewPublicKey(priv.Public())
	if err != nil {
		return nil, fmt.Errorf("host key: %v: %w", err, ErrBadHostKey)
	}
	pubLine := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(pub))) + " " + hostKeyComment + "\n"
	return []tarFile{
		{name: strings.TrimPrefix(hostKeyPath, "/"), mode: 0o600, body: pem.EncodeToMemory(blk)},
		{name: strings.TrimPrefix(hostKeyPath, "/") + ".pub", mode: 0o644, body: []byte(pubLine)},
		{name: strings.TrimPrefix(hostKeyConfig, "/"), mode: 0o644, body: []byte("# sn27: the allocation's own host key, which the renter was given.\nHostKey " + hostKeyPath + "\n")},
		// Placeholders: the entrypoint's `ssh-keygen -A` then makes no RSA
		// and ECDSA keys (a second of start-up) that sshd, told to use only
		// the key above, would never offer.
		{name: "etc/ssh/ssh_host_rsa_key", mode: 0o600, body: []byte(unusedKey)},
		{name: "etc/ssh/ssh_host_ecdsa_key", mode: 0o600, body: []byte(unusedKey)},
	}, nil
}
