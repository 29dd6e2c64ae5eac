package wallet

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/sn27/sn27/internal/keys"
)

// The verified vector of BITTENSOR.md §2: Substrate's dev phrase.
const (
	devPhrase = keys.DevPhrase
	devSeed   = "0xfac7959dbfe72f052e5a0c3c8d6530f202b02fd8f9f5ca3580ec8deb7797479e"
	devPublic = "0x46ebddef8cd9bb167dc30878d7113b7e168e6f0646beffd77d69d39bad76b47a"
	devSS58   = "5DfhGyQdFobKM8NsWvEeAKk5EQQgYe9AydgJ7rMB6E1EqRzV"
	// aliceSS58 is //Alice, a different key than devSS58.
	aliceSS58 = "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY"
)

func devPair(t testing.TB) *keys.Pair {
	t.Helper()
	p, err := keys.FromMnemonic(devPhrase)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestEncodeFields(t *testing.T) {
	p := devPair(t)
	data := Encode(p)
	var m map[string]string
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	raw := p.Raw()
	want := map[string]string{
		"accountId":    devPublic,
		"publicKey":    devPublic,
		"privateKey":   "0x" + hex.EncodeToString(raw[:]),
		"secretPhrase": devPhrase,
		"secretSeed":   devSeed,
		"ss58Address":  devSS58,
	}
	if len(m) != len(want) {
		t.Errorf("Encode has %d fields; want %d: %s", len(m), len(want), data)
	}
	for k, v := range want {
		if m[k] != v {
			t.Errorf("%s = %q; want %q", k, m[k], v)
		}
	}
	// bittensor v6's field order.
	order := []string{"accountId", "publicKey", "privateKey", "secretPhrase", "secretSeed", "ss58Address"}
	last := -1
	for _, k := range order {
		i := strings.Index(string(data), `"`+k+`"`)
		if i < last {
			t.Errorf("field %s out of order in %s", k, data)
		}
		last = i
	}

	pub := EncodePublic(p.Public())
	wantPub := `{"accountId":"` + devPublic + `","publicKey":"` + devPublic + `","ss58Address":"` + devSS58 + `"}`
	if string(pub) != wantPub {
		t.Errorf("EncodePublic = %s; want %s", pub, wantPub)
	}
}

func TestEncodeDecodeRoundTrip(t *testing.T) {
	for _, mk := range []struct {
		name string
		pair func() (*keys.Pair, error)
	}{
		{"mnemonic", func() (*keys.Pair, error) { return keys.GenerateWords(24) }},
		{"seed", func() (*keys.Pair, error) { return keys.FromSeed([32]byte{1, 2, 3}) }},
		{"raw", func() (*keys.Pair, error) { return keys.FromRaw(devPair(t).Raw()) }},
		{"uri", func() (*keys.Pair, error) { return keys.FromURI("//Alice") }},
	} {
		t.Run(mk.name, func(t *testing.T) {
			p, err := mk.pair()
			if err != nil {
				t.Fatal(err)
			}
			k, err := Decode(Encode(p))
			if err != nil {
				t.Fatal(err)
			}
			if k.Pair == nil || k.Public != p.Public() || k.Pair.Raw() != p.Raw() || k.Pair.Mnemonic() != p.Mnemonic() {
				t.Errorf("Decode(Encode(p)) = %v; want %v", k.Pair, p)
			}
			kp, err := Decode(EncodePublic(p.Public()))
			if err != nil || kp.Pair != nil || kp.Public != p.Public() {
				t.Errorf("Decode(EncodePublic) = %+v, %v; want public only %s", kp, err, p.SS58())
			}
		})
	}
}

// TestDecodePrecedence: secretPhrase, then secretSeed, then privateKey, then
// ss58Address, whatever the others say; null and "" are absent.
func TestDecodePrecedence(t *testing.T) {
	dev := devPair(t)
	alice, err := keys.FromURI("//Alice")
	if err != nil {
		t.Fatal(err)
	}
	devRaw, aliceRaw := dev.Raw(), alice.Raw()
	aliceSeed, _ := alice.Seed()
	hx := func(b []byte) string { return "0x" + hex.EncodeToString(b) }
	for _, tt := range []struct {
		name       string
		json       string
		want       string
		publicOnly bool
	}{
		{"python v6 with nulls", `{"accountId": "` + devPublic + `", "publicKey": "` + devPublic + `", "secretPhrase": "` + devPhrase + `", "secretSeed": "` + devSeed + `", "ss58Address": "` + devSS58 + `"}`, devSS58, false},
		{"v6 coldkeypub", `{"accountId": "` + devPublic + `", "publicKey": "` + devPublic + `", "secretPhrase": null, "secretSeed": null, "ss58Address": "` + devSS58 + `"}`, devSS58, true},
		{"phrase beats seed", `{"secretPhrase": "` + devPhrase + `", "secretSeed": "` + hx(aliceSeed[:]) + `", "ss58Address": "` + aliceSS58 + `"}`, devSS58, false},
		{"seed beats private key", `{"secretPhrase": null, "secretSeed": "` + devSeed + `", "privateKey": "` + hx(aliceRaw[:]) + `"}`, devSS58, false},
		{"empty phrase is absent", `{"secretPhrase": "", "secretSeed": "` + devSeed + `"}`, devSS58, false},
		{"seed without 0x", `{"secretSeed": "` + devSeed[2:] + `"}`, devSS58, false},
		{"seed upper-case hex", `{"secretSeed": "0x` + strings.ToUpper(devSeed[2:]) + `"}`, devSS58, false},
		{"64-byte seed", `{"secretSeed": "` + hx(devRaw[:]) + `"}`, devSS58, false},
		{"private key beats address", `{"privateKey": "` + hx(devRaw[:]) + `", "ss58Address": "` + aliceSS58 + `"}`, devSS58, false},
		{"32-byte private key", `{"privateKey": "` + devSeed + `"}`, devSS58, false},
		{"address only", `{"ss58Address": "` + devSS58 + `", "foo": 1}`, devSS58, true},
		{"raw-text seed (btwallet quirk)", `{"secretSeed": "0xabcdefghijklmnopqrstuvwxyz012345"}`, "", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			k, err := Decode([]byte(tt.json))
			if err != nil {
				t.Fatal(err)
			}
			if tt.want != "" && keys.SS58(k.Public) != tt.want {
				t.Errorf("address %s; want %s", keys.SS58(k.Public), tt.want)
			}
			if (k.Pair == nil) != tt.publicOnly {
				t.Errorf("pair = %v; want public only %v", k.Pair, tt.publicOnly)
			}
			if k.Pair != nil && k.Pair.Public() != k.Public {
				t.Error("Key.Public differs from Key.Pair.Public()")
			}
		})
	}
}

func TestDecodeErrors(t *testing.T) {
	for _, tt := range []struct {
		name string
		data string
		want error
		msg  string
	}{
		{"empty", ``, ErrMalformed, "unknown format"},
		{"unknown prefix", `$AGE-ENCRYPTION-1 whatever`, ErrMalformed, "unknown format"},
		{"truncated JSON", `{"secretPhrase": "bottom dr`, ErrMalformed, "bad JSON"},
		{"array", `["` + devPhrase + `"]`, ErrMalformed, "not a JSON object"},
		{"null", `null`, ErrMalformed, "none of"},
		{"no known field", `{"accountId": "` + devPublic + `"}`, ErrMalformed, "none of"},
		{"number phrase", `{"secretPhrase": 12}`, ErrMalformed, "secretPhrase is not a string"},
		{"not utf-8", "{\"secretPhrase\": \"\xff\"}", ErrMalformed, "UTF-8"},
		{"bad mnemonic", `{"secretPhrase": "bottom drive obey lake curtain smoke basket hold race lonely fit fit"}`, keys.ErrBadMnemonic, "secretPhrase"},
		{"seed not hex", `{"secretSeed": "0xzz"}`, ErrMalformed, "secretSeed"},
		{"seed short", `{"secretSeed": "0x0102"}`, ErrMalformed, "2 bytes"},
		{"private key short", `{"privateKey": "0x` + strings.Repeat("ab", 48) + `"}`, ErrMalformed, "48 bytes"},
		{"bad address", `{"ss58Address": "5DfhGyQdFobKM8NsWvEeAKk5EQQgYe9AydgJ7rMB6E1EqRzW"}`, ErrMalformed, "ss58Address"},
		{"encrypted", "$NACL" + strings.Repeat("x", 60), ErrEncrypted, "encrypted"},
		{"ansible", "$ANSIBLE_VAULT;1.1;AES256\n3338", ErrLegacyEncryption, "regen-coldkey"},
		{"fernet", "gAAAAABkxyz", ErrLegacyEncryption, "unsupported legacy encryption"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			k, err := Decode([]byte(tt.data))
			if !errors.Is(err, tt.want) {
				t.Fatalf("Decode = %+v, %v; want %v", k, err, tt.want)
			}
			if !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("error %q does not mention %q", err, tt.msg)
			}
		})
	}
}
