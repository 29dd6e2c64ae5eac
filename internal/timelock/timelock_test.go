package timelock

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// Quicknet round 1000 as drand serves it and as subtensor's
// pallets/drand/src/tests.rs (DRAND_PULSE) and tle/src/tlock.rs use it.
const (
	round1000Sig        = "b44679b9a59af2ec876b1a6b1ad52ea9b1615fc3982b19576350f93447cb1125e342b73a8dd2bacbe47e4b6b63ed5e39"
	round1000Randomness = "fe290beca10872ef2fb164d2aa4442de4566183ec51c56ff3cd603d930e54fdd"
)

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestQuicknetRound1000Verifies(t *testing.T) {
	qn := Quicknet()
	sig := mustHex(t, round1000Sig)
	if err := VerifyRound(qn.PublicKey, 1000, sig); err != nil {
		t.Fatalf("VerifyRound(quicknet, 1000) = %v; want nil", err)
	}
	if got := hex.EncodeToString(Randomness(sig)); got != round1000Randomness {
		t.Errorf("Randomness = %s; want %s", got, round1000Randomness)
	}
	for _, round := range []uint64{999, 1001, 0} {
		if err := VerifyRound(qn.PublicKey, round, sig); !errors.Is(err, ErrBadSignature) {
			t.Errorf("VerifyRound(round %d) = %v; want ErrBadSignature", round, err)
		}
	}
}

func TestQuicknetConstants(t *testing.T) {
	qn := Quicknet()
	if len(qn.PublicKey) != PublicKeySize {
		t.Fatalf("quicknet key of %d bytes", len(qn.PublicKey))
	}
	if _, err := parsePublicKey(qn.PublicKey); err != nil {
		t.Fatal(err)
	}
	// Round 1000 was emitted 999 periods after genesis.
	at := uint64(QuicknetGenesisUnix + 999*3)
	if got := RoundAt(at, qn); got != 1000 {
		t.Errorf("RoundAt(%d) = %d; want 1000", at, got)
	}
	if got := RoundAt(at+2, qn); got != 1000 {
		t.Errorf("RoundAt(%d) = %d; want 1000", at+2, got)
	}
	if got := RoundTime(1000, qn); got != at {
		t.Errorf("RoundTime(1000) = %d; want %d", got, at)
	}
	if got := RoundAt(QuicknetGenesisUnix-1, qn); got != 0 {
		t.Errorf("RoundAt(before genesis) = %d; want 0", got)
	}
}

// rustVectors are ciphertexts made by the Rust tle compiled to WebAssembly
// (testdata/wasm/gen.mjs), converted to the layout of the pinned tle.
type rustVectors struct {
	Source    string `json:"source"`
	Round     uint64 `json:"round"`
	Signature string `json:"signature"`
	Vectors   []struct {
		Plaintext      string `json:"plaintext"`
		Ciphertext     string `json:"ciphertext"`
		WasmCiphertext string `json:"wasm_ciphertext"`
	} `json:"vectors"`
}

func loadVectors(t testing.TB, name string) rustVectors {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", "wasm", name))
	if err != nil {
		t.Fatal(err)
	}
	var v rustVectors
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	if len(v.Vectors) == 0 {
		t.Fatalf("%s holds no vectors", name)
	}
	return v
}

func TestDecryptRustCiphertexts(t *testing.T) {
	v := loadVectors(t, "rust_quicknet_1000.json")
	sig := mustHex(t, v.Signature)
	if err := VerifyRound(Quicknet().PublicKey, v.Round, sig); err != nil {
		t.Fatal(err)
	}
	for i, vec := range v.Vectors {
		ct := mustHex(t, vec.Ciphertext)
		// The pinned layout is the wasm one with u64le(32) before V and W.
		wasm := mustHex(t, vec.WasmCiphertext)
		conv := append(append(append(append(bytes.Clone(wasm[:96]), le64(32)...), wasm[96:128]...), le64(32)...), wasm[128:]...)
		if !bytes.Equal(conv, ct) {
			t.Fatalf("vector %d: ciphertext is not the converted wasm ciphertext", i)
		}
		got, err := Decrypt(sig, ct)
		if err != nil {
			t.Fatalf("vector %d: Decrypt = %v", i, err)
		}
		if want := mustHex(t, vec.Plaintext); !bytes.Equal(got, want) {
			t.Errorf("vector %d: Decrypt = %x; want %x", i, got, want)
		}
		if suite, err := CipherSuiteOf(ct); err != nil || suite != CipherSuite {
			t.Errorf("vector %d: suite %q, %v", i, suite, err)
		}
		// The wrong round's signature does not open it.
		sk, _, err := NewDevBeacon(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		other, err := Sign(sk, v.Round)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Decrypt(other, ct); !errors.Is(err, ErrDecrypt) {
			t.Errorf("vector %d: Decrypt with another signature = %v; want ErrDecrypt", i, err)
		}
	}
}

// TestGoVectorsDecrypt keeps testdata/wasm/go_quicknet_1000.json, ciphertexts
// made by this package that `node gen.mjs check` opened with the Rust tld.
func TestGoVectorsDecrypt(t *testing.T) {
	v := loadVectors(t, "go_quicknet_1000.json")
	sig := mustHex(t, v.Signature)
	for i, vec := range v.Vectors {
		got, err := Decrypt(sig, mustHex(t, vec.Ciphertext))
		if err != nil {
			t.Fatalf("vector %d: %v", i, err)
		}
		if want := mustHex(t, vec.Plaintext); !bytes.Equal(got, want) {
			t.Errorf("vector %d: Decrypt = %x; want %x", i, got, want)
		}
	}
}

func le64(n uint64) []byte { return binary.LittleEndian.AppendUint64(nil, n) }

func TestRoundTripDevBeacon(t *testing.T) {
	sk, pk, err := NewDevBeacon(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		round uint64
		msg   []byte
	}{
		{"empty", 1, nil},
		{"short", 42, []byte("hello, bittensor!")},
		{"payload", 1 << 40, WeightsPayload{Hotkey: bytes.Repeat([]byte{7}, 32), UIDs: []uint16{0, 5}, Values: []uint16{65535, 1}, VersionKey: 3}.Encode()},
		{"large", 123456789, bytes.Repeat([]byte{0xab}, 10000)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ct, err := Encrypt(rand.Reader, pk, tt.round, tt.msg)
			if err != nil {
				t.Fatal(err)
			}
			sig, err := Sign(sk, tt.round)
			if err != nil {
				t.Fatal(err)
			}
			if err := VerifyRound(pk, tt.round, sig); err != nil {
				t.Fatalf("VerifyRound = %v", err)
			}
			got, err := Decrypt(sig, ct)
			if err != nil {
				t.Fatalf("Decrypt = %v", err)
			}
			if !bytes.Equal(got, tt.msg) {
				t.Errorf("Decrypt = %x; want %x", got, tt.msg)
			}
			// Layout: U, Vec V, Vec W, Vec body, Vec suite.
			if n := binary.LittleEndian.Uint64(ct[96:]); n != 32 {
				t.Errorf("len(V) = %d; want 32", n)
			}
			if n := binary.LittleEndian.Uint64(ct[136:]); n != 32 {
				t.Errorf("len(W) = %d; want 32", n)
			}
			body := binary.LittleEndian.Uint64(ct[176:])
			if want := uint64(8 + len(tt.msg) + 16 + 8 + 12); body != want {
				t.Errorf("len(body) = %d; want %d", body, want)
			}
			if tail := ct[len(ct)-16:]; !bytes.Equal(tail, append(le64(8), CipherSuite...)) {
				t.Errorf("suite tail = %x", tail)
			}
			if want := 184 + int(body) + 16; len(ct) != want {
				t.Errorf("len(ct) = %d; want %d", len(ct), want)
			}

			// Wrong round, wrong key: clean errors.
			wrong, err := Sign(sk, tt.round+1)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := Decrypt(wrong, ct); !errors.Is(err, ErrDecrypt) {
				t.Errorf("Decrypt(next round's signature) = %v; want ErrDecrypt", err)
			}
			if err := VerifyRound(pk, tt.round+1, sig); !errors.Is(err, ErrBadSignature) {
				t.Errorf("VerifyRound(wrong round) = %v; want ErrBadSignature", err)
			}
			// A tampered AES body fails authentication.
			bad := bytes.Clone(ct)
			bad[184+8]++
			if _, err := Decrypt(sig, bad); !errors.Is(err, ErrDecrypt) {
				t.Errorf("Decrypt(tampered body) = %v; want ErrDecrypt", err)
			}
			// A tampered W gives another key, caught by the U check.
			bad = bytes.Clone(ct)
			bad[144]++
			if _, err := Decrypt(sig, bad); !errors.Is(err, ErrDecrypt) {
				t.Errorf("Decrypt(tampered W) = %v; want ErrDecrypt", err)
			}
		})
	}
}

func TestEncryptDeterministicFromRNG(t *testing.T) {
	pk := Quicknet().PublicKey
	seed := bytes.Repeat([]byte{9}, 76)
	a, err := Encrypt(bytes.NewReader(seed), pk, 7, []byte("x"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := Encrypt(bytes.NewReader(seed), pk, 7, []byte("x"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, b) {
		t.Error("same randomness gave different ciphertexts")
	}
	if _, err := Encrypt(bytes.NewReader(seed[:10]), pk, 7, nil); err == nil {
		t.Error("Encrypt with short randomness succeeded")
	}
}

func TestMalformedInputs(t *testing.T) {
	sk, pk, err := NewDevBeacon(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	sig, err := Sign(sk, 5)
	if err != nil {
		t.Fatal(err)
	}
	ct, err := Encrypt(rand.Reader, pk, 5, []byte("weights"))
	if err != nil {
		t.Fatal(err)
	}
	set := func(off int, b ...byte) []byte {
		c := bytes.Clone(ct)
		copy(c[off:], b)
		return c
	}
	tests := []struct {
		name    string
		sig, ct []byte
	}{
		{"empty ciphertext", sig, nil},
		{"truncated U", sig, ct[:50]},
		{"truncated", sig, ct[:len(ct)-1]},
		{"U not on curve", sig, set(0, 0xff, 0xff, 0xff)},
		{"V length 31", sig, set(96, 31)},
		{"V length huge", sig, set(96, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff)},
		{"W length 33", sig, set(136, 33)},
		{"body length huge", sig, set(176, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f)},
		{"nonce length 11", sig, set(len(ct)-16-12-8, 11)},
		{"short signature", sig[:47], ct},
		{"signature not on curve", bytes.Repeat([]byte{0xff}, 48), ct},
		{"no signature", nil, ct},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Decrypt(tt.sig, tt.ct); err == nil {
				t.Fatal("Decrypt succeeded")
			}
		})
	}

	if _, err := Encrypt(rand.Reader, pk[:95], 1, nil); !errors.Is(err, ErrMalformed) {
		t.Errorf("Encrypt(short key) = %v; want ErrMalformed", err)
	}
	if _, err := Encrypt(rand.Reader, append([]byte{0xc0}, make([]byte, 95)...), 1, nil); !errors.Is(err, ErrMalformed) {
		t.Errorf("Encrypt(identity key) = %v; want ErrMalformed", err)
	}
	if _, err := Sign(make([]byte, 32), 1); !errors.Is(err, ErrMalformed) {
		t.Errorf("Sign(zero key) = %v; want ErrMalformed", err)
	}
	if _, err := Sign(bytes.Repeat([]byte{0xff}, 32), 1); !errors.Is(err, ErrMalformed) {
		t.Errorf("Sign(key ≥ q) = %v; want ErrMalformed", err)
	}
	if err := VerifyRound(pk, 5, append([]byte{0xc0}, make([]byte, 47)...)); !errors.Is(err, ErrBadSignature) {
		t.Errorf("VerifyRound(identity) = %v; want ErrBadSignature", err)
	}
}

// Like tle, Decrypt ignores trailing bytes and the suite's name.
func TestDecryptLenientLikeTle(t *testing.T) {
	sk, pk, err := NewDevBeacon(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	sig, _ := Sign(sk, 9)
	ct, err := Encrypt(rand.Reader, pk, 9, []byte("m"))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := Decrypt(sig, append(bytes.Clone(ct), 1, 2, 3)); err != nil || string(got) != "m" {
		t.Errorf("Decrypt(trailing bytes) = %q, %v", got, err)
	}
	renamed := bytes.Clone(ct)
	copy(renamed[len(ct)-8:], "XXXXXXXX")
	if got, err := Decrypt(sig, renamed); err != nil || string(got) != "m" {
		t.Errorf("Decrypt(other suite name) = %q, %v", got, err)
	}
}

func TestWeightsCommitSize(t *testing.T) {
	hotkey := bytes.Repeat([]byte{1}, 32)
	// 289 bytes of framing and payload header, 4 per uid: 1177 uids fit.
	for _, n := range []int{256, 1024, 1177, 1178} {
		p := WeightsPayload{Hotkey: hotkey, UIDs: make([]uint16, n), Values: make([]uint16, n), VersionKey: 1}
		for i := range n {
			p.UIDs[i], p.Values[i] = uint16(i), 65535
		}
		ct, err := Encrypt(rand.Reader, Quicknet().PublicKey, 1, p.Encode())
		if err != nil {
			t.Fatal(err)
		}
		if fits := len(ct) <= MaxCommitSize; fits != (n <= 1177) {
			t.Errorf("%d uids: commit of %d bytes, fits in %d = %v", n, len(ct), MaxCommitSize, fits)
		}
		if want := 289 + 4*n; len(ct) != want {
			t.Errorf("%d uids: commit of %d bytes; want %d", n, len(ct), want)
		}
	}
}

func TestRevealRound(t *testing.T) {
	qn := Quicknet()
	now := time.Unix(QuicknetGenesisUnix+3000, 0)
	s := RevealSchedule{CurrentBlock: 1000, Tempo: 20, NetUID: 1, RevealPeriodEpochs: 3, BlockTime: 12 * time.Second}
	// bittensor-drand: epoch (1000+2)/21 = 47, reveal epoch 50, first block
	// 50·21−2 = 1048, target 1051: 51 blocks · 12 s = 612 s ahead.
	if got := s.RevealBlock(); got != 1051 {
		t.Fatalf("RevealBlock = %d; want 1051", got)
	}
	if got, want := RevealRound(qn, now, s), uint64((3000+612)/3); got != want {
		t.Errorf("RevealRound = %d; want %d", got, want)
	}
	// Past the target: no lead time; before genesis: round 1.
	late := s
	late.CurrentBlock = 5000
	late.RevealPeriodEpochs = 0
	late.Tempo = 0
	if got := RevealRound(qn, now, late); got < 1000 {
		t.Errorf("RevealRound(late) = %d", got)
	}
	if got := RevealRound(qn, time.Unix(0, 0), RevealSchedule{Tempo: 1}); got != 1 {
		t.Errorf("RevealRound(before genesis) = %d; want 1", got)
	}
}
