package wallet

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/sn27/sn27/internal/keys"
)

// Key is a decoded key file: a key pair, or only the public key when the file
// holds no secret (coldkeypub.txt).
type Key struct {
	Public keys.PublicKey
	Pair   *keys.Pair // nil for a public-only file
}

// keyfileJSON is the key file's JSON, in the field order bittensor v6 wrote;
// absent values are left out, as btwallet does.
type keyfileJSON struct {
	AccountID    string `json:"accountId,omitempty"`
	PublicKey    string `json:"publicKey,omitempty"`
	PrivateKey   string `json:"privateKey,omitempty"`
	SecretPhrase string `json:"secretPhrase,omitempty"`
	SecretSeed   string `json:"secretSeed,omitempty"`
	SS58Address  string `json:"ss58Address,omitempty"`
}

// Encode returns p's plain key file JSON (btwallet's
// serialized_keypair_to_keyfile_data): accountId, publicKey, privateKey,
// secretPhrase and secretSeed when known, ss58Address. It holds secrets.
func Encode(p *keys.Pair) []byte {
	pub := p.Public()
	raw := p.Raw()
	kf := keyfileJSON{
		AccountID:    pub.Hex(),
		PublicKey:    pub.Hex(),
		PrivateKey:   "0x" + hex.EncodeToString(raw[:]),
		SecretPhrase: p.Mnemonic(),
		SS58Address:  p.SS58(),
	}
	if seed, ok := p.Seed(); ok {
		kf.SecretSeed = "0x" + hex.EncodeToString(seed[:])
	}
	return marshal(kf)
}

// EncodePublic returns the public-only key file JSON of coldkeypub.txt:
// accountId, publicKey and ss58Address.
func EncodePublic(pub keys.PublicKey) []byte {
	return marshal(keyfileJSON{AccountID: pub.Hex(), PublicKey: pub.Hex(), SS58Address: keys.SS58(pub)})
}

func marshal(kf keyfileJSON) []byte {
	b, err := json.Marshal(kf)
	if err != nil { // only strings: cannot happen
		panic(fmt.Sprintf("wallet: marshal key file: %v", err))
	}
	return b
}

// Decode parses a plain (decrypted) key file as btwallet's
// deserialize_keypair_from_keyfile_data does, taking the first present field
// of secretPhrase, secretSeed (32-byte mini secret or 64-byte secret key),
// privateKey, ss58Address (public only). JSON null and "" count as absent.
// Encrypted data gives ErrEncrypted or ErrLegacyEncryption; anything else
// unusable gives ErrMalformed, or keys.ErrBadMnemonic for a bad phrase.
func Decode(data []byte) (Key, error) {
	if IsEncrypted(data) {
		if bytes.HasPrefix(data, []byte(naclPrefix)) {
			return Key{}, ErrEncrypted
		}
		return Key{}, checkEncrypted(data) // legacy
	}
	if !utf8.Valid(data) {
		return Key{}, fmt.Errorf("%w: not UTF-8 text", ErrMalformed)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(data, &m); err != nil {
		switch t := bytes.TrimSpace(data); {
		case json.Valid(t):
			return Key{}, fmt.Errorf("%w: not a JSON object", ErrMalformed)
		case len(t) > 0 && t[0] == '{':
			return Key{}, fmt.Errorf("%w: bad JSON: %v", ErrMalformed, err)
		default:
			return Key{}, fmt.Errorf("%w: unknown format (neither JSON nor $NACL)", ErrMalformed)
		}
	}
	field := func(name string) (string, error) {
		raw, ok := m[name]
		if !ok {
			return "", nil
		}
		var s *string
		if err := json.Unmarshal(raw, &s); err != nil {
			return "", fmt.Errorf("%w: %s is not a string", ErrMalformed, name)
		}
		if s == nil {
			return "", nil
		}
		return *s, nil
	}
	var f [4]string
	for i, name := range []string{"secretPhrase", "secretSeed", "privateKey", "ss58Address"} {
		var err error
		if f[i], err = field(name); err != nil {
			return Key{}, err
		}
	}
	phrase, seed, priv, addr := f[0], f[1], f[2], f[3]
	var (
		p   *keys.Pair
		err error
	)
	switch {
	case phrase != "":
		if p, err = keys.FromMnemonic(phrase); err != nil {
			return Key{}, fmt.Errorf("secretPhrase: %w", err)
		}
	case seed != "":
		if p, err = fromSeedSlice(seed, true); err != nil {
			return Key{}, fmt.Errorf("secretSeed: %w", err)
		}
	case priv != "":
		if p, err = fromSeedSlice(priv, false); err != nil {
			return Key{}, fmt.Errorf("privateKey: %w", err)
		}
	case addr != "":
		pub, err := keys.ParseSS58(addr)
		if err != nil {
			return Key{}, fmt.Errorf("%w: ss58Address: %v", ErrMalformed, err)
		}
		return Key{Public: pub}, nil
	default:
		return Key{}, fmt.Errorf("%w: none of secretPhrase, secretSeed, privateKey, ss58Address", ErrMalformed)
	}
	return Key{Public: p.Public(), Pair: p}, nil
}

// fromSeedSlice is sp-core's Pair::from_seed_slice on "0x"-hex: 32 bytes are
// a mini secret, 64 bytes a schnorrkel secret key. With rawText, a value that
// is not hex but 32 bytes of text is taken as the seed itself: btwallet writes
// "0x" + the raw seed when its bytes happen to be valid UTF-8.
func fromSeedSlice(s string, rawText bool) (*keys.Pair, error) {
	for strings.HasPrefix(s, "0x") { // Rust trim_start_matches("0x")
		s = s[2:]
	}
	b, err := hex.DecodeString(s)
	if err != nil {
		if rawText && len(s) == 32 {
			return keys.FromSeed([32]byte([]byte(s)))
		}
		return nil, fmt.Errorf("%w: not hex", ErrMalformed)
	}
	switch len(b) {
	case 32:
		return keys.FromSeed([32]byte(b))
	case 64:
		p, err := keys.FromRaw([64]byte(b))
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
		}
		return p, nil
	default:
		return nil, fmt.Errorf("%w: %d bytes, want 32 or 64", ErrMalformed, len(b))
	}
}
