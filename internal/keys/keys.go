// Package keys holds Bittensor identities: sr25519 key pairs (schnorrkel,
// signing context "substrate"), Substrate's BIP39 derivation, hard-junction
// URIs (//Alice), SS58 addresses (prefix 42) and the distinct Hotkey and
// Coldkey address types. Private keys never print: Pair redacts itself in
// fmt and slog.
package keys

import (
	"bytes"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"

	schnorrkel "github.com/ChainSafe/go-schnorrkel"
	"github.com/cosmos/go-bip39"
	"golang.org/x/crypto/blake2b"
)

// SigningContext is Substrate's sr25519 signing context.
const SigningContext = "substrate"

// Sentinel errors.
var (
	ErrBadSignature = errors.New("bad signature")
	ErrBadMnemonic  = errors.New("invalid mnemonic")
	ErrBadAddress   = errors.New("invalid ss58 address")
)

// PublicKey is an sr25519 public key (also the AccountId32 on chain).
type PublicKey [32]byte

// Hex returns "0x" + lowercase hex, as in keyfiles' accountId/publicKey.
func (p PublicKey) Hex() string { return "0x" + hex.EncodeToString(p[:]) }

// Pair is an sr25519 key pair. It cannot be compared with == and never
// prints its secret.
type Pair struct {
	_      [0]func() // not comparable
	pub    PublicKey
	sk     *schnorrkel.SecretKey
	raw    [64]byte  // schnorrkel SecretKey::to_bytes: key scalar ‖ nonce (keyfile "privateKey")
	seed   *[32]byte // mini secret ("secretSeed"), when known
	phrase string    // BIP39 mnemonic ("secretPhrase"), when known
}

// Generate creates a pair from a new 12-word mnemonic.
func Generate() (*Pair, error) {
	return GenerateWords(12)
}

// GenerateWords creates a pair from a new mnemonic of 12, 15, 18, 21 or 24 words.
func GenerateWords(words int) (*Pair, error) {
	bitsize := map[int]int{12: 128, 15: 160, 18: 192, 21: 224, 24: 256}[words]
	if bitsize == 0 {
		return nil, fmt.Errorf("mnemonic length %d: want 12, 15, 18, 21 or 24 words", words)
	}
	ent, err := bip39.NewEntropy(bitsize)
	if err != nil {
		return nil, fmt.Errorf("generate entropy: %w", err)
	}
	phrase, err := bip39.NewMnemonic(ent)
	if err != nil {
		return nil, fmt.Errorf("make mnemonic: %w", err)
	}
	return FromMnemonic(phrase)
}

// FromMnemonic derives a pair as Substrate does (substrate-bip39): the
// mnemonic's entropy through PBKDF2-HMAC-SHA512 with salt "mnemonic",
// 2048 rounds; the first 32 bytes are the mini secret.
func FromMnemonic(phrase string) (*Pair, error) {
	phrase = strings.Join(strings.Fields(phrase), " ")
	if !bip39.IsMnemonicValid(phrase) {
		return nil, ErrBadMnemonic
	}
	seed, err := schnorrkel.SeedFromMnemonic(phrase, "")
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadMnemonic, err)
	}
	var mini [32]byte
	copy(mini[:], seed[:32])
	p, err := FromSeed(mini)
	if err != nil {
		return nil, err
	}
	p.phrase = phrase
	return p, nil
}

// FromSeed makes a pair from a 32-byte mini secret (keyfile "secretSeed").
func FromSeed(mini [32]byte) (*Pair, error) {
	msk, err := schnorrkel.NewMiniSecretKeyFromRaw(mini)
	if err != nil {
		return nil, fmt.Errorf("mini secret: %w", err)
	}
	sk := msk.ExpandEd25519()
	h := sha512.Sum512(mini[:])
	var raw [64]byte
	key := sk.Encode()
	copy(raw[:32], key[:])
	copy(raw[32:], h[32:]) // ExpandEd25519's nonce
	p, err := fromSecret(sk, raw)
	if err != nil {
		return nil, err
	}
	p.seed = &mini
	return p, nil
}

// FromRaw makes a pair from schnorrkel's 64-byte secret key encoding
// (keyfile "privateKey": key scalar ‖ nonce).
func FromRaw(raw [64]byte) (*Pair, error) {
	var key, nonce [32]byte
	copy(key[:], raw[:32])
	copy(nonce[:], raw[32:])
	return fromSecret(schnorrkel.NewSecretKey(key, nonce), raw)
}

func fromSecret(sk *schnorrkel.SecretKey, raw [64]byte) (*Pair, error) {
	pk, err := sk.Public()
	if err != nil {
		return nil, fmt.Errorf("derive public key: %w", err)
	}
	return &Pair{pub: pk.Encode(), sk: sk, raw: raw}, nil
}

// DevPhrase is Substrate's well-known development mnemonic.
const DevPhrase = "bottom drive obey lake curtain smoke basket hold race lonely fit walk"

// FromURI makes a pair from a secret URI: a mnemonic or "0x" + 64 hex digits
// (mini secret), optionally followed by hard junctions ("//Alice"). An URI
// starting with "//" uses DevPhrase. Soft junctions and passwords ("/x",
// "///pw") are not supported.
func FromURI(uri string) (*Pair, error) {
	base, path, _ := strings.Cut(uri, "//")
	base = strings.TrimSpace(base)
	if base == "" {
		base = DevPhrase
	}
	var p *Pair
	var err error
	if strings.HasPrefix(base, "0x") {
		var b []byte
		if b, err = hex.DecodeString(base[2:]); err != nil || len(b) != 32 {
			return nil, errors.New("secret uri: want 0x + 64 hex digits of seed")
		}
		p, err = FromSeed([32]byte(b))
	} else {
		p, err = FromMnemonic(base)
	}
	if err != nil || !strings.Contains(uri, "//") {
		return p, err
	}
	for _, j := range strings.Split(path, "//") {
		if j == "" || strings.Contains(j, "/") {
			return nil, fmt.Errorf("secret uri: junction %q: only hard junctions (//name) are supported", j)
		}
		if p, err = p.deriveHard(j); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// deriveHard applies one hard junction as sp-core does.
func (p *Pair) deriveHard(junction string) (*Pair, error) {
	var cc [32]byte
	var enc []byte
	if n, err := strconv.ParseUint(junction, 10, 64); err == nil {
		enc = le64(n)
	} else {
		enc = append(compactLen(len(junction)), junction...)
	}
	if len(enc) > 32 {
		h := blake2b.Sum256(enc)
		enc = h[:]
	}
	copy(cc[:], enc)
	msk, _, err := p.sk.HardDeriveMiniSecretKey(nil, cc)
	if err != nil {
		return nil, fmt.Errorf("derive //%s: %w", junction, err)
	}
	return FromSeed(msk.Encode())
}

func le64(n uint64) []byte {
	b := make([]byte, 8)
	for i := range b {
		b[i] = byte(n >> (8 * i))
	}
	return b
}

// compactLen is SCALE's compact encoding of a length (enough for junctions).
func compactLen(n int) []byte {
	switch {
	case n < 1<<6:
		return []byte{byte(n << 2)}
	case n < 1<<14:
		return []byte{byte(n<<2) | 1, byte(n >> 6)}
	default:
		v := uint32(n<<2) | 2
		return []byte{byte(v), byte(v >> 8), byte(v >> 16), byte(v >> 24)}
	}
}

// Public returns the public key.
func (p *Pair) Public() PublicKey { return p.pub }

// Raw returns the 64-byte secret key (keyfile "privateKey"). Handle with care.
func (p *Pair) Raw() [64]byte { return p.raw }

// Seed returns the 32-byte mini secret, when the pair was made from one.
func (p *Pair) Seed() ([32]byte, bool) {
	if p.seed == nil {
		return [32]byte{}, false
	}
	return *p.seed, true
}

// Mnemonic returns the BIP39 phrase, when the pair was made from one.
func (p *Pair) Mnemonic() string { return p.phrase }

// Sign signs msg with the "substrate" context and returns the 64-byte
// signature.
func (p *Pair) Sign(msg []byte) ([64]byte, error) {
	sig, err := p.sk.Sign(schnorrkel.NewSigningContext([]byte(SigningContext), msg))
	if err != nil {
		return [64]byte{}, fmt.Errorf("sign: %w", err)
	}
	return sig.Encode(), nil
}

// SignHex signs msg and returns "0x" + lowercase hex, as Bittensor sends it.
func (p *Pair) SignHex(msg []byte) (string, error) {
	sig, err := p.Sign(msg)
	if err != nil {
		return "", err
	}
	return "0x" + hex.EncodeToString(sig[:]), nil
}

// String shows only the public side.
func (p *Pair) String() string { return "sr25519 key " + SS58(p.pub) + " (secret redacted)" }

// GoString keeps %#v from printing the secret.
func (p *Pair) GoString() string { return p.String() }

// Format keeps every fmt verb from printing the secret.
func (p *Pair) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(p.String())) }

// LogValue shows only the address in logs.
func (p *Pair) LogValue() slog.Value {
	return slog.GroupValue(slog.String("ss58", SS58(p.pub)), slog.String("secret", "REDACTED"))
}

// Verify reports whether sig is pub's "substrate" signature of msg, also
// accepting a signature of "<Bytes>" + msg + "</Bytes>" as Substrate does.
func Verify(pub PublicKey, msg []byte, sig [64]byte) bool {
	pk, err := schnorrkel.NewPublicKey(pub)
	if err != nil {
		return false
	}
	var s schnorrkel.Signature
	if err := s.Decode(sig); err != nil {
		return false
	}
	for _, m := range [][]byte{msg, wrapBytes(msg)} {
		if ok, err := pk.Verify(&s, schnorrkel.NewSigningContext([]byte(SigningContext), m)); err == nil && ok {
			return true
		}
	}
	return false
}

func wrapBytes(msg []byte) []byte {
	return bytes.Join([][]byte{[]byte("<Bytes>"), msg, []byte("</Bytes>")}, nil)
}

// ParseSignatureHex parses "0x" + 128 hex digits.
func ParseSignatureHex(s string) ([64]byte, error) {
	var sig [64]byte
	h, ok := strings.CutPrefix(s, "0x")
	if !ok {
		return sig, fmt.Errorf("%w: expected hex string starting with 0x", ErrBadSignature)
	}
	if len(h) != 128 {
		return sig, fmt.Errorf("%w: want 128 hex digits, got %d characters", ErrBadSignature, len(h))
	}
	if _, err := hex.Decode(sig[:], []byte(h)); err != nil {
		return sig, fmt.Errorf("%w: %v", ErrBadSignature, err)
	}
	return sig, nil
}

// VerifyHex verifies a "0x"-hex signature of msg by the SS58 address addr.
func VerifyHex(addr string, msg []byte, sigHex string) error {
	pub, err := ParseSS58(addr)
	if err != nil {
		return err
	}
	sig, err := ParseSignatureHex(sigHex)
	if err != nil {
		return err
	}
	if !Verify(pub, msg, sig) {
		return ErrBadSignature
	}
	return nil
}
