package keys

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

func TestDevPhraseVector(t *testing.T) {
	p, err := FromMnemonic(DevPhrase)
	if err != nil {
		t.Fatal(err)
	}
	if got := p.SS58(); got != "5DfhGyQdFobKM8NsWvEeAKk5EQQgYe9AydgJ7rMB6E1EqRzV" {
		t.Errorf("ss58 = %s", got)
	}
	if got := p.Public().Hex(); got != "0x46ebddef8cd9bb167dc30878d7113b7e168e6f0646beffd77d69d39bad76b47a" {
		t.Errorf("public = %s", got)
	}
	seed, ok := p.Seed()
	if !ok || hex.EncodeToString(seed[:]) != "fac7959dbfe72f052e5a0c3c8d6530f202b02fd8f9f5ca3580ec8deb7797479e" {
		t.Errorf("seed = %x, %v", seed, ok)
	}
	// The 64-byte private key reloads to the same pair.
	q, err := FromRaw(p.Raw())
	if err != nil || q.Public() != p.Public() {
		t.Errorf("FromRaw = %v, %v", q, err)
	}
}

func TestDevURIs(t *testing.T) {
	for uri, want := range map[string]string{
		"//Alice":             "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY",
		"//Bob":               "5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty",
		DevPhrase + "//Alice": "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY",
		"//Alice//stash":      "5GNJqTPyNqANBkUVMN1LPPrxXnFouWXoe2wNSmmEoLctxiZY",
		DevPhrase:             "5DfhGyQdFobKM8NsWvEeAKk5EQQgYe9AydgJ7rMB6E1EqRzV",
	} {
		p, err := FromURI(uri)
		if err != nil {
			t.Errorf("FromURI(%q): %v", uri, err)
			continue
		}
		if got := p.SS58(); got != want {
			t.Errorf("FromURI(%q) = %s; want %s", uri, got, want)
		}
	}
	for _, bad := range []string{"//Alice/soft", "0x12//Alice", "not a mnemonic"} {
		if _, err := FromURI(bad); err == nil {
			t.Errorf("FromURI(%q) accepted", bad)
		}
	}
}

func TestSignVerify(t *testing.T) {
	p, err := Generate()
	if err != nil {
		t.Fatal(err)
	}
	if n := len(strings.Fields(p.Mnemonic())); n != 12 {
		t.Errorf("mnemonic has %d words", n)
	}
	msg := []byte("1700000000000000000.5Dfh.5Grw.uuid.a7ffc6f8bf1ed76651c14756a061d662f580ff4de43b49fa82d80a4b80f8434a")
	sig, err := p.Sign(msg)
	if err != nil {
		t.Fatal(err)
	}
	if !Verify(p.Public(), msg, sig) {
		t.Error("own signature rejected")
	}
	if Verify(p.Public(), append(msg, '.'), sig) {
		t.Error("signature of another message accepted")
	}
	wrapped, _ := p.Sign([]byte("<Bytes>" + string(msg) + "</Bytes>"))
	if !Verify(p.Public(), msg, wrapped) {
		t.Error("<Bytes>-wrapped signature rejected")
	}
	h, _ := p.SignHex(msg)
	if !strings.HasPrefix(h, "0x") || len(h) != 130 || strings.ToLower(h) != h {
		t.Errorf("SignHex = %q", h)
	}
	if err := VerifyHex(p.SS58(), msg, h); err != nil {
		t.Error(err)
	}
	for _, bad := range []string{h[2:], "0x" + h[4:], "0xzz" + h[4:], ""} {
		if err := VerifyHex(p.SS58(), msg, bad); !errors.Is(err, ErrBadSignature) {
			t.Errorf("VerifyHex(%q) = %v; want ErrBadSignature", bad, err)
		}
	}
}

func TestSS58(t *testing.T) {
	const alice = "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY"
	pub, err := ParseSS58(alice)
	if err != nil {
		t.Fatal(err)
	}
	if SS58(pub) != alice {
		t.Errorf("round trip = %s", SS58(pub))
	}
	var zero PublicKey
	if got := SS58(zero); got != "5C4hrfjw9DjXZTzV3MwzrrAr9P1MJhSrvWGWqi1eSuyUpnhM" {
		t.Errorf("SS58(zero) = %s", got)
	}
	for _, tt := range []struct{ name, addr string }{
		{"checksum", alice[:len(alice)-1] + "Z"},
		{"not base58", "0GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY"},
		{"short", alice[:40]},
		{"empty", ""},
		{"polkadot prefix 0", "15oF4uVJwmo4TdGW7VfQxNLavjCXviqxT9S1MgbjMNHr6Sp5"},
		{"huge", strings.Repeat("z", 500)},
	} {
		if _, err := ParseSS58(tt.addr); !errors.Is(err, ErrBadAddress) {
			t.Errorf("%s: ParseSS58 = %v; want ErrBadAddress", tt.name, err)
		}
	}
	if _, err := ParseHotkey(alice); err != nil {
		t.Error(err)
	}
	if _, err := ParseColdkey("nope"); err == nil {
		t.Error("ParseColdkey accepted garbage")
	}
}

func TestSecretsNeverPrint(t *testing.T) {
	p, err := FromMnemonic(DevPhrase)
	if err != nil {
		t.Fatal(err)
	}
	seed, _ := p.Seed()
	raw := p.Raw()
	var logs bytes.Buffer
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("key", "pair", p)
	slog.New(slog.NewTextHandler(&logs, nil)).Info("key", "pair", p)
	out := logs.String() + fmt.Sprintf("%v %+v %#v %s %q", p, p, p, p, p)
	for _, secret := range []string{hex.EncodeToString(seed[:]), hex.EncodeToString(raw[:32]), "bottom drive"} {
		if strings.Contains(out, secret) {
			t.Errorf("secret %q printed in %s", secret, out)
		}
	}
	if !strings.Contains(out, p.SS58()) {
		t.Errorf("address missing from %s", out)
	}
}

func TestBadMnemonic(t *testing.T) {
	if _, err := FromMnemonic("bottom drive obey lake curtain smoke basket hold race lonely fit fit"); !errors.Is(err, ErrBadMnemonic) {
		t.Errorf("bad checksum: %v", err)
	}
	if _, err := GenerateWords(13); err == nil {
		t.Error("13 words accepted")
	}
	p, err := GenerateWords(24)
	if err != nil || len(strings.Fields(p.Mnemonic())) != 24 {
		t.Errorf("24 words: %v", err)
	}
}

func FuzzParseSS58(f *testing.F) {
	f.Add("5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY")
	f.Add("1111111111111111111111111111111111111111111111111")
	f.Fuzz(func(t *testing.T, s string) {
		pub, err := ParseSS58(s)
		if err == nil && SS58(pub) != s {
			t.Fatalf("accepted %q but re-encodes to %q", s, SS58(pub))
		}
	})
}
