package timelock

import (
	"bytes"
	"crypto/rand"
	"errors"
	"slices"
	"testing"
)

func TestWeightsPayloadEncoding(t *testing.T) {
	hotkey := make([]byte, 32)
	for i := range hotkey {
		hotkey[i] = byte(i + 1)
	}
	p := WeightsPayload{Hotkey: hotkey, UIDs: []uint16{0, 1, 2}, Values: []uint16{65535, 100, 0}, VersionKey: 2}
	// SCALE: compact(32)=0x80, hotkey, compact(3)=0x0c, u16le…, compact(3), u16le…, u64le.
	want := append(append([]byte{0x80}, hotkey...),
		0x0c, 0, 0, 1, 0, 2, 0,
		0x0c, 0xff, 0xff, 100, 0, 0, 0,
		2, 0, 0, 0, 0, 0, 0, 0)
	if got := p.Encode(); !bytes.Equal(got, want) {
		t.Fatalf("Encode = %x; want %x", got, want)
	}
	// The same bytes that testdata/wasm/gen.mjs encrypts with Rust.
	v := loadVectors(t, "rust_quicknet_1000.json")
	if got := mustHex(t, v.Vectors[1].Plaintext); !bytes.Equal(got, want) {
		t.Errorf("gen.mjs payload = %x; want %x", got, want)
	}
	got, err := DecodeWeightsPayload(want)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Hotkey, p.Hotkey) || !slices.Equal(got.UIDs, p.UIDs) || !slices.Equal(got.Values, p.Values) || got.VersionKey != p.VersionKey {
		t.Errorf("Decode = %+v; want %+v", got, p)
	}

	legacy := LegacyWeightsPayload{UIDs: []uint16{300}, Values: []uint16{7}, VersionKey: 1 << 40}
	lb := legacy.Encode()
	if want := []byte{4, 0x2c, 1, 4, 7, 0, 0, 0, 0, 0, 0, 1, 0, 0}; !bytes.Equal(lb, want) {
		t.Fatalf("legacy Encode = %x; want %x", lb, want)
	}
	lg, err := DecodeLegacyWeightsPayload(lb)
	if err != nil || !slices.Equal(lg.UIDs, legacy.UIDs) || lg.VersionKey != legacy.VersionKey {
		t.Errorf("legacy Decode = %+v, %v", lg, err)
	}
}

func TestOpenWeights(t *testing.T) {
	me := bytes.Repeat([]byte{1}, 32)
	other := bytes.Repeat([]byte{2}, 32)
	current := WeightsPayload{Hotkey: me, UIDs: []uint16{1}, Values: []uint16{9}, VersionKey: 4}.Encode()
	legacy := LegacyWeightsPayload{UIDs: []uint16{3, 4}, Values: []uint16{5, 6}, VersionKey: 7}.Encode()
	tests := []struct {
		name    string
		plain   []byte
		want    []uint16
		wantErr error
	}{
		{"current", current, []uint16{1}, nil},
		{"legacy", legacy, []uint16{3, 4}, nil},
		{"other hotkey", WeightsPayload{Hotkey: other, UIDs: []uint16{1}, Values: []uint16{1}}.Encode(), nil, ErrHotkeyMismatch},
		{"garbage", []byte{0xff}, nil, errors.New("any")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := OpenWeights(tt.plain, me)
			if tt.wantErr != nil {
				if err == nil {
					t.Fatalf("OpenWeights = %+v; want an error", got)
				}
				if errors.Is(tt.wantErr, ErrHotkeyMismatch) && !errors.Is(err, ErrHotkeyMismatch) {
					t.Fatalf("OpenWeights error = %v; want ErrHotkeyMismatch", err)
				}
				return
			}
			if err != nil || !slices.Equal(got.UIDs, tt.want) {
				t.Errorf("OpenWeights = %+v, %v; want uids %v", got, err, tt.want)
			}
		})
	}
}

func FuzzDecodeWeightsPayload(f *testing.F) {
	f.Add(WeightsPayload{Hotkey: bytes.Repeat([]byte{1}, 32), UIDs: []uint16{0, 1}, Values: []uint16{65535, 1}, VersionKey: 2}.Encode())
	f.Add(LegacyWeightsPayload{UIDs: []uint16{3}, Values: []uint16{5}, VersionKey: 7}.Encode())
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0xff})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		if p, err := DecodeWeightsPayload(b); err == nil {
			// Re-encoding gives a canonical encoding that decodes the same.
			q, err := DecodeWeightsPayload(p.Encode())
			if err != nil || !bytes.Equal(q.Hotkey, p.Hotkey) || !slices.Equal(q.UIDs, p.UIDs) || !slices.Equal(q.Values, p.Values) || q.VersionKey != p.VersionKey {
				t.Fatalf("round trip of %+v gave %+v, %v", p, q, err)
			}
		}
		if p, err := DecodeLegacyWeightsPayload(b); err == nil {
			if _, err := DecodeLegacyWeightsPayload(p.Encode()); err != nil {
				t.Fatal(err)
			}
		}
		_, _ = OpenWeights(b, bytes.Repeat([]byte{1}, 32))
	})
}

func FuzzDecrypt(f *testing.F) {
	sk, pk, err := NewDevBeacon(rand.Reader)
	if err != nil {
		f.Fatal(err)
	}
	sig, err := Sign(sk, 3)
	if err != nil {
		f.Fatal(err)
	}
	ct, err := Encrypt(rand.Reader, pk, 3, []byte("seed"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(sig, ct)
	f.Add(sig, ct[:100])
	f.Add(sig[:10], ct)
	f.Add([]byte{}, []byte{})
	v := loadVectors(f, "rust_quicknet_1000.json")
	for _, vec := range v.Vectors {
		f.Add(mustHex(f, v.Signature), mustHex(f, vec.Ciphertext))
	}
	f.Fuzz(func(t *testing.T, sig, ct []byte) {
		msg, err := Decrypt(sig, ct)
		if err == nil && msg == nil {
			t.Fatal("nil message without an error")
		}
		_, _ = CipherSuiteOf(ct)
	})
}
