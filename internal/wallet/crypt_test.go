package wallet

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"golang.org/x/crypto/nacl/secretbox"
)

// testKDF makes argon2i cheap; TestInteropPyNaCl and the CLI tests use the
// real costs.
var testKDF = kdfParams{time: 1, memory: 64}

func TestSalt(t *testing.T) {
	want := []byte{0x13, 0x71, 0x83, 0xdf, 0xf1, 0x5a, 0x09, 0xbc, 0x9c, 0x90, 0xb5, 0x51, 0x87, 0x39, 0xe9, 0xb1}
	if !bytes.Equal([]byte(naclSalt), want) {
		t.Errorf("naclSalt = %x; want %x", naclSalt, want)
	}
	if p := (kdfParams{}).orDefault(); p.time != 8 || p.memory != 512*1024 {
		t.Errorf("default KDF = %+v; want 8 passes, 512 MiB", p)
	}
}

func TestEncryptDecrypt(t *testing.T) {
	plain := Encode(devPair(t))
	for _, pw := range []string{"correct horse", "", "ünïcødé ✓", strings.Repeat("x", 1000)} {
		enc, err := encrypt(plain, pw, testKDF)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.HasPrefix(enc, []byte("$NACL")) || len(enc) != 5+24+secretbox.Overhead+len(plain) {
			t.Fatalf("encrypt: %d bytes starting %q", len(enc), enc[:8])
		}
		if bytes.Contains(enc, []byte("bottom")) {
			t.Fatal("ciphertext contains the mnemonic")
		}
		if !IsEncrypted(enc) {
			t.Error("IsEncrypted = false")
		}
		got, err := decrypt(enc, pw, testKDF)
		if err != nil || !bytes.Equal(got, plain) {
			t.Errorf("decrypt(%q) = %q, %v", pw, got, err)
		}
		again, _ := encrypt(plain, pw, testKDF)
		if bytes.Equal(again, enc) {
			t.Error("two encryptions are equal: nonce not random")
		}
	}
}

func TestDecryptErrors(t *testing.T) {
	plain := Encode(devPair(t))
	enc, err := encrypt(plain, "right", testKDF)
	if err != nil {
		t.Fatal(err)
	}
	flip := func(i int) []byte {
		b := bytes.Clone(enc)
		b[i] ^= 1
		return b
	}
	for _, tt := range []struct {
		name string
		data []byte
		pw   string
		want error
		msg  string
	}{
		{"wrong password", enc, "wrong", ErrWrongPassword, "wrong password"},
		{"empty password", enc, "", ErrWrongPassword, "wrong password"},
		{"password with newline", enc, "right\n", ErrWrongPassword, "wrong password"},
		{"flipped nonce", flip(6), "right", ErrWrongPassword, ""},
		{"flipped ciphertext", flip(len(enc) - 1), "right", ErrWrongPassword, ""},
		{"truncated ciphertext", enc[:len(enc)-1], "right", ErrWrongPassword, ""},
		{"truncated to nonce", enc[:5+24+secretbox.Overhead-1], "right", ErrMalformed, "truncated $NACL"},
		{"prefix only", []byte("$NACL"), "right", ErrMalformed, "truncated $NACL"},
		{"plain JSON", plain, "right", ErrMalformed, "not encrypted"},
		{"unknown prefix", []byte("$NaCl" + string(enc[5:])), "right", ErrMalformed, "not encrypted"},
		{"ansible vault", []byte("$ANSIBLE_VAULT;1.1;AES256\n6162"), "right", ErrLegacyEncryption, "regenerate the key with btcli or sn27 wallet regen-coldkey"},
		{"fernet", []byte("gAAAAABlegacy"), "right", ErrLegacyEncryption, "unsupported legacy encryption"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := decrypt(tt.data, tt.pw, testKDF)
			if !errors.Is(err, tt.want) || got != nil {
				t.Fatalf("decrypt = %q, %v; want %v", got, err, tt.want)
			}
			if !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("error %q does not mention %q", err, tt.msg)
			}
		})
	}
}
