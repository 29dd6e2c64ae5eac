package chain

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"
)

func TestWeightsForEmitMatchesPython(t *testing.T) {
	// Expected values computed by Python: round(float(w) / max(ws) * 65535),
	// where round is half-to-even.
	for _, tt := range []struct {
		w    []float64
		want []uint16
		uids []UID
	}{
		{[]float64{2.5, 3.5, 65535, 0.4, 0, 1.5, 32767.5}, []uint16{2, 4, 65535, 2, 32768}, []UID{0, 1, 2, 5, 6}},
		{[]float64{0.5, 1.0, 0.25}, []uint16{32768, 65535, 16384}, []UID{0, 1, 2}},
		{[]float64{0, 0}, nil, nil},
	} {
		uids := make([]UID, len(tt.w))
		for i := range uids {
			uids[i] = UID(i)
		}
		gu, gw, err := WeightsForEmit(uids, tt.w)
		if err != nil {
			t.Fatal(err)
		}
		if len(gw) != len(tt.want) || len(gu) != len(tt.uids) {
			t.Fatalf("WeightsForEmit(%v) = %v %v; want %v %v", tt.w, gu, gw, tt.uids, tt.want)
		}
		for i := range gw {
			if gw[i] != tt.want[i] || gu[i] != tt.uids[i] {
				t.Errorf("WeightsForEmit(%v) = %v %v; want %v %v", tt.w, gu, gw, tt.uids, tt.want)
				break
			}
		}
	}
	if _, _, err := WeightsForEmit([]UID{1}, []float64{-1}); err == nil {
		t.Error("negative weight accepted")
	}
	if _, _, err := WeightsForEmit([]UID{1, 2}, []float64{1}); err == nil {
		t.Error("length mismatch accepted")
	}
}

func TestMortalEra(t *testing.T) {
	// Substrate's Era::mortal(period, current).encode(); polkadot.js agrees
	// (TestAgainstPolkadotJS in chain_test.go).
	for _, tt := range []struct {
		current, period uint64
		want            string
	}{
		{4, 64, "4500"},      // period 64 → 5 | phase 4 << 4
		{100, 64, "4502"},    // phase 36
		{1, 5, "1200"},       // period rounds up to 8 → 2 | 1<<4
		{1000, 4096, "8b3e"}, // phase 1000, factor 1
	} {
		if got := hex.EncodeToString(mortalEra(tt.current, tt.period)); got != tt.want {
			t.Errorf("mortalEra(%d, %d) = %s; want %s", tt.current, tt.period, got, tt.want)
		}
	}
}

func TestTxStatus(t *testing.T) {
	for _, tt := range []struct {
		raw     string
		done    bool
		invalid bool
	}{
		{`"ready"`, false, false},
		{`{"broadcast":["peer"]}`, false, false},
		{`{"inBlock":"0x` + strings.Repeat("ab", 32) + `"}`, true, false},
		{`{"finalized":"0x` + strings.Repeat("cd", 32) + `"}`, true, false},
		{`"invalid"`, false, true},
		{`{"dropped":null}`, false, true},
	} {
		h, done, err := txStatus(json.RawMessage(tt.raw))
		if done != tt.done || errors.Is(err, ErrInvalidTransaction) != tt.invalid {
			t.Errorf("txStatus(%s) = %x %v %v", tt.raw, h, done, err)
		}
	}
	if _, _, err := txStatus(json.RawMessage(`{"inBlock":"0x12"}`)); err == nil {
		t.Error("short block hash accepted")
	}
}

func TestDecodeGenesisNeurons(t *testing.T) {
	// get_neurons_lite(1) of the raonet genesis (spec 218): one neuron, the
	// all-zero account, wrapped in Vec<u8>.
	raw, err := os.ReadFile("testdata/neurons_lite_netuid1.hex")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := hex.DecodeString(strings.TrimPrefix(strings.TrimSpace(string(raw)), "0x"))
	ns, err := DecodeNeuronsLite(b)
	if err != nil {
		t.Fatal(err)
	}
	if len(ns) != 1 || ns[0].UID != 0 || ns[0].NetUID != 1 || ns[0].Hotkey != "5C4hrfjw9DjXZTzV3MwzrrAr9P1MJhSrvWGWqi1eSuyUpnhM" {
		t.Errorf("neurons = %+v", ns)
	}
}

func TestEndpoint(t *testing.T) {
	for _, tt := range []struct{ network, endpoint, want string }{
		{"finney", "", Networks["finney"]},
		{"", "", Networks["finney"]},
		{"local", "", "ws://127.0.0.1:9944"},
		{"finney", "127.0.0.1:9946", "ws://127.0.0.1:9946"},
		{"", "http://10.0.0.1:9944", "ws://10.0.0.1:9944"},
	} {
		got, err := Endpoint(tt.network, tt.endpoint)
		if err != nil || got != tt.want {
			t.Errorf("Endpoint(%q, %q) = %q, %v; want %q", tt.network, tt.endpoint, got, err, tt.want)
		}
	}
	if _, err := Endpoint("nope", ""); err == nil {
		t.Error("unknown network accepted")
	}
}

func FuzzDecodeNeuronsLite(f *testing.F) {
	raw, _ := os.ReadFile("testdata/neurons_lite_netuid1.hex")
	b, _ := hex.DecodeString(strings.TrimPrefix(strings.TrimSpace(string(raw)), "0x"))
	f.Add(b)
	f.Add([]byte{0x00})
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = DecodeNeuronsLite(b)
	})
}
