package pow

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/big"
	"strings"

	"golang.org/x/crypto/blake2b"
)

// Mode is the hashcat hash mode of SN27 challenges: BLAKE2b-512($pass.$salt).
const Mode = "610"

// HashPrefix starts every SN27 challenge hash.
const HashPrefix = "$BLAKE2$"

// BaseCharset is the set SN27 validators draw challenge alphabets from:
// Python's string.ascii_letters + string.digits + "!@#$%^&*()-_+=[]{};:,.<>".
const BaseCharset = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ" +
	"0123456789" + "!@#$%^&*()-_+=[]{};:,.<>"

// Defaults and bounds of challenge parameters.
const (
	DefaultAlphabetSize  = 10
	DefaultMaxDifficulty = 16
	// MaxSaltLen bounds the salt accepted from the network. SN27 salts are 16
	// bytes; hashcat accepts up to 256.
	MaxSaltLen = 256
	// saltBytes is the number of random bytes in a created salt (hex encoded).
	saltBytes = 8
)

// ErrInvalid is matched (errors.Is) by every validation error of this package.
var ErrInvalid = errors.New("invalid challenge")

// FieldError says which challenge field is wrong and why.
type FieldError struct {
	Field  string // wire name, e.g. "challenge_hash"
	Reason string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Reason }

// Is makes errors.Is(err, ErrInvalid) true for every FieldError.
func (e *FieldError) Is(target error) bool { return target == ErrInvalid }

func invalid(field, format string, args ...any) error {
	return &FieldError{Field: field, Reason: fmt.Sprintf(format, args...)}
}

// Challenge is a proof-of-work challenge with the field names of the SN27
// Challenge synapse.
type Challenge struct {
	Hash       string `json:"challenge_hash"`
	Salt       string `json:"challenge_salt"`
	Mode       string `json:"challenge_mode"`
	Chars      string `json:"challenge_chars"`
	Mask       string `json:"challenge_mask"`
	Difficulty int    `json:"challenge_difficulty"`
}

// Params says how to create a challenge.
type Params struct {
	Difficulty    int // password length
	AlphabetSize  int // characters drawn from BaseCharset; 0 means DefaultAlphabetSize
	MaxDifficulty int // 0 means DefaultMaxDifficulty
}

// New creates a challenge and returns it with its password. rnd is the source
// of randomness; nil means crypto/rand.
func New(rnd io.Reader, p Params) (Challenge, string, error) {
	if rnd == nil {
		rnd = rand.Reader
	}
	if p.AlphabetSize == 0 {
		p.AlphabetSize = DefaultAlphabetSize
	}
	if p.AlphabetSize < 1 || p.AlphabetSize > len(BaseCharset) {
		return Challenge{}, "", invalid("challenge_chars", "alphabet size %d out of range 1..%d", p.AlphabetSize, len(BaseCharset))
	}
	if err := checkDifficulty(p.Difficulty, p.MaxDifficulty); err != nil {
		return Challenge{}, "", err
	}
	alphabet := []byte(BaseCharset)
	// Fisher-Yates shuffle of the first AlphabetSize positions.
	for i := 0; i < p.AlphabetSize; i++ {
		j, err := randIntn(rnd, len(alphabet)-i)
		if err != nil {
			return Challenge{}, "", err
		}
		alphabet[i], alphabet[i+j] = alphabet[i+j], alphabet[i]
	}
	alphabet = alphabet[:p.AlphabetSize]
	pw := make([]byte, p.Difficulty)
	for i := range pw {
		j, err := randIntn(rnd, len(alphabet))
		if err != nil {
			return Challenge{}, "", err
		}
		pw[i] = alphabet[j]
	}
	var salt [saltBytes]byte
	if _, err := io.ReadFull(rnd, salt[:]); err != nil {
		return Challenge{}, "", fmt.Errorf("read random salt: %w", err)
	}
	c := Challenge{
		Salt:       hex.EncodeToString(salt[:]),
		Mode:       Mode,
		Chars:      string(alphabet),
		Mask:       strings.Repeat("?1", p.Difficulty),
		Difficulty: p.Difficulty,
	}
	c.Hash = HashString(string(pw), c.Salt)
	return c, string(pw), nil
}

func randIntn(rnd io.Reader, n int) (int, error) {
	v, err := rand.Int(rnd, big.NewInt(int64(n)))
	if err != nil {
		return 0, fmt.Errorf("read randomness: %w", err)
	}
	return int(v.Int64()), nil
}

// Digest returns BLAKE2b-512(password + salt).
func Digest(password, salt string) [64]byte {
	buf := make([]byte, 0, len(password)+len(salt))
	buf = append(append(buf, password...), salt...)
	return blake2b.Sum512(buf)
}

// HashString returns the challenge hash of password and salt:
// "$BLAKE2$" + lowercase hex digest.
func HashString(password, salt string) string {
	d := Digest(password, salt)
	return HashPrefix + hex.EncodeToString(d[:])
}

// ParseHash parses "$BLAKE2$" + 128 hex digits (either case).
func ParseHash(s string) ([64]byte, error) {
	var d [64]byte
	if !strings.HasPrefix(s, HashPrefix) {
		return d, invalid("challenge_hash", "must start with %q", HashPrefix)
	}
	h := s[len(HashPrefix):]
	if len(h) != 2*len(d) {
		return d, invalid("challenge_hash", "want %d hex digits after %q, got %d characters", 2*len(d), HashPrefix, min(len(h), 1<<20))
	}
	if _, err := hex.Decode(d[:], []byte(h)); err != nil {
		return d, invalid("challenge_hash", "not hexadecimal: %v", err)
	}
	return d, nil
}

// Verify reports whether password solves the challenge hash with salt. The
// digest comparison takes constant time.
func Verify(hash, salt, password string) (bool, error) {
	want, err := ParseHash(hash)
	if err != nil {
		return false, err
	}
	if err := checkSalt(salt); err != nil {
		return false, err
	}
	got := Digest(password, salt)
	return subtle.ConstantTimeCompare(got[:], want[:]) == 1, nil
}

func checkDifficulty(d, max int) error {
	if max <= 0 {
		max = DefaultMaxDifficulty
	}
	if d <= 0 {
		return invalid("challenge_difficulty", "must be positive, got %d", d)
	}
	if d > max {
		return invalid("challenge_difficulty", "%d is above the maximum %d", d, max)
	}
	return nil
}

func checkSalt(s string) error {
	if s == "" {
		return invalid("challenge_salt", "empty")
	}
	if len(s) > MaxSaltLen {
		return invalid("challenge_salt", "longer than %d bytes", MaxSaltLen)
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c > '~' || c == ':' {
			return invalid("challenge_salt", "byte %d (0x%02x) is not a printable ASCII character other than ':'", i, c)
		}
	}
	return nil
}

// Target is a validated challenge, ready to solve.
type Target struct {
	Digest    [64]byte
	Salt      string
	Positions [][]byte // the candidate characters of each password position
}

// Limits bound what Parse accepts.
type Limits struct {
	MaxDifficulty int // 0 means DefaultMaxDifficulty
}

// Parse validates a challenge received from the network (or typed by a user)
// and returns it ready to solve. Difficulty 0 means "take it from the mask".
func Parse(c Challenge, lim Limits) (*Target, error) {
	if c.Mode != Mode {
		return nil, invalid("challenge_mode", "unsupported hash mode %q (want %q)", truncate(c.Mode), Mode)
	}
	d, err := ParseHash(c.Hash)
	if err != nil {
		return nil, err
	}
	if err := checkSalt(c.Salt); err != nil {
		return nil, err
	}
	if err := checkCharset(c.Chars); err != nil {
		return nil, err
	}
	pos, err := parseMask(c.Mask, c.Chars, lim.MaxDifficulty)
	if err != nil {
		return nil, err
	}
	if c.Difficulty != 0 && c.Difficulty != len(pos) {
		return nil, invalid("challenge_difficulty", "%d does not match the mask's %d positions", c.Difficulty, len(pos))
	}
	return &Target{Digest: d, Salt: c.Salt, Positions: pos}, nil
}

func truncate(s string) string {
	if len(s) > 32 {
		return s[:32] + "..."
	}
	return s
}

func checkCharset(cs string) error {
	if len(cs) > 95 {
		return invalid("challenge_chars", "%d characters; at most 95 distinct printable ASCII characters exist", len(cs))
	}
	var seen [128]bool
	for i := 0; i < len(cs); i++ {
		c := cs[i]
		if c < ' ' || c > '~' {
			return invalid("challenge_chars", "byte %d (0x%02x) is not printable ASCII", i, c)
		}
		if seen[c] {
			return invalid("challenge_chars", "character %q appears twice", c)
		}
		seen[c] = true
	}
	return nil
}

// Built-in hashcat charsets usable in masks.
var builtin = map[byte]string{
	'l': "abcdefghijklmnopqrstuvwxyz",
	'u': "ABCDEFGHIJKLMNOPQRSTUVWXYZ",
	'd': "0123456789",
	'h': "0123456789abcdef",
	'H': "0123456789ABCDEF",
	's': " !\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~",
}

func init() {
	builtin['a'] = builtin['l'] + builtin['u'] + builtin['d'] + builtin['s']
}

// parseMask turns a hashcat mask into per-position charsets. It knows ?1
// (custom charset 1, chars), ?l ?u ?d ?h ?H ?s ?a, ?? (a literal '?') and
// printable literal characters.
func parseMask(mask, chars string, maxDifficulty int) ([][]byte, error) {
	if maxDifficulty <= 0 {
		maxDifficulty = DefaultMaxDifficulty
	}
	if mask == "" {
		return nil, invalid("challenge_mask", "empty")
	}
	if len(mask) > 2*maxDifficulty {
		return nil, invalid("challenge_difficulty", "mask %q... has more than the maximum %d positions", truncate(mask), maxDifficulty)
	}
	var pos [][]byte
	for i := 0; i < len(mask); i++ {
		c := mask[i]
		if c < ' ' || c > '~' {
			return nil, invalid("challenge_mask", "byte %d (0x%02x) is not printable ASCII", i, c)
		}
		if c != '?' {
			pos = append(pos, []byte{c})
			continue
		}
		i++
		if i == len(mask) {
			return nil, invalid("challenge_mask", "ends with a lone '?'")
		}
		switch k := mask[i]; {
		case k == '?':
			pos = append(pos, []byte{'?'})
		case k == '1':
			if chars == "" {
				return nil, invalid("challenge_mask", "uses ?1 but challenge_chars is empty")
			}
			pos = append(pos, []byte(chars))
		case k == '2' || k == '3' || k == '4':
			return nil, invalid("challenge_mask", "uses ?%c but only custom charset 1 (challenge_chars) exists", k)
		case builtin[k] != "":
			pos = append(pos, []byte(builtin[k]))
		default:
			return nil, invalid("challenge_mask", "unknown placeholder ?%c at byte %d", k, i-1)
		}
	}
	if err := checkDifficulty(len(pos), maxDifficulty); err != nil {
		return nil, err
	}
	return pos, nil
}
