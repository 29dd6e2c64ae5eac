package keys

import (
	"bytes"
	"fmt"
	"math/big"

	"golang.org/x/crypto/blake2b"
)

// SS58Prefix is Bittensor's address format (generic Substrate).
const SS58Prefix = 42

const b58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"

var b58idx = func() (t [256]int8) {
	for i := range t {
		t[i] = -1
	}
	for i := 0; i < len(b58); i++ {
		t[b58[i]] = int8(i)
	}
	return t
}()

func ss58Checksum(data []byte) []byte {
	h, _ := blake2b.New512(nil)
	h.Write([]byte("SS58PRE"))
	h.Write(data)
	return h.Sum(nil)[:2]
}

// SS58 encodes pub as an SS58 address with prefix 42.
func SS58(pub PublicKey) string {
	data := append([]byte{SS58Prefix}, pub[:]...)
	data = append(data, ss58Checksum(data)...)
	return base58(data)
}

// ParseSS58 decodes a prefix-42 SS58 address of a 32-byte account.
func ParseSS58(s string) (PublicKey, error) {
	var pub PublicKey
	if len(s) == 0 || len(s) > 64 {
		return pub, fmt.Errorf("%w: %q: bad length", ErrBadAddress, trunc(s))
	}
	data, err := unbase58(s)
	if err != nil {
		return pub, fmt.Errorf("%w: %q: %v", ErrBadAddress, trunc(s), err)
	}
	if len(data) != 35 {
		return pub, fmt.Errorf("%w: %q: decodes to %d bytes, want 35", ErrBadAddress, trunc(s), len(data))
	}
	if data[0] != SS58Prefix {
		return pub, fmt.Errorf("%w: %q: network prefix %d, want %d", ErrBadAddress, trunc(s), data[0], SS58Prefix)
	}
	if !bytes.Equal(ss58Checksum(data[:33]), data[33:]) {
		return pub, fmt.Errorf("%w: %q: checksum mismatch", ErrBadAddress, trunc(s))
	}
	copy(pub[:], data[1:33])
	return pub, nil
}

func trunc(s string) string {
	if len(s) > 64 {
		return s[:64] + "..."
	}
	return s
}

func base58(b []byte) string {
	x := new(big.Int).SetBytes(b)
	var out []byte
	mod, base := new(big.Int), big.NewInt(58)
	for x.Sign() > 0 {
		x.DivMod(x, base, mod)
		out = append(out, b58[mod.Int64()])
	}
	for _, c := range b {
		if c != 0 {
			break
		}
		out = append(out, '1')
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return string(out)
}

func unbase58(s string) ([]byte, error) {
	x, base := new(big.Int), big.NewInt(58)
	zeros := 0
	for i := 0; i < len(s); i++ {
		v := b58idx[s[i]]
		if v < 0 {
			return nil, fmt.Errorf("character %q is not base58", s[i])
		}
		if v == 0 && x.Sign() == 0 {
			zeros++
		}
		x.Mul(x, base).Add(x, big.NewInt(int64(v)))
	}
	return append(make([]byte, zeros), x.Bytes()...), nil
}

// Hotkey is the SS58 address of a hotkey (a neuron's identity on a subnet).
type Hotkey string

// Coldkey is the SS58 address of a coldkey (the owner of hotkeys and funds).
type Coldkey string

// ParseHotkey validates an SS58 hotkey address.
func ParseHotkey(s string) (Hotkey, error) {
	if _, err := ParseSS58(s); err != nil {
		return "", fmt.Errorf("hotkey: %w", err)
	}
	return Hotkey(s), nil
}

// ParseColdkey validates an SS58 coldkey address.
func ParseColdkey(s string) (Coldkey, error) {
	if _, err := ParseSS58(s); err != nil {
		return "", fmt.Errorf("coldkey: %w", err)
	}
	return Coldkey(s), nil
}

// PublicKey decodes the address.
func (h Hotkey) PublicKey() (PublicKey, error) { return ParseSS58(string(h)) }

// PublicKey decodes the address.
func (c Coldkey) PublicKey() (PublicKey, error) { return ParseSS58(string(c)) }

// Hotkey returns the pair's address typed as a hotkey.
func (p *Pair) Hotkey() Hotkey { return Hotkey(SS58(p.pub)) }

// Coldkey returns the pair's address typed as a coldkey.
func (p *Pair) Coldkey() Coldkey { return Coldkey(SS58(p.pub)) }

// SS58 returns the pair's address.
func (p *Pair) SS58() string { return SS58(p.pub) }
