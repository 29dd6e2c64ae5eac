package pogrun

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/sn27/sn27/internal/keys"
	"github.com/sn27/sn27/internal/pog"
)

func TestVerdictSignature(t *testing.T) {
	val, _ := keys.FromSeed([32]byte{})
	other, _ := keys.FromSeed([32]byte{1})
	v := pog.Verdict{Version: pog.VerdictVersion, Hotkey: "5Miner", Block: 1200, Time: time.Date(2026, 12, 7, 1, 0, 0, 123, time.UTC),
		Passed: true, Model: "NVIDIA H100 80GB HBM3", GPUs: 8, Devices: []pog.DeviceVerdict{{N: 512, SeedA: 1 << 63, WorkRoot: pog.Hash{9}}}}
	if err := Sign(val, &v); err != nil {
		t.Fatal(err)
	}
	js, _ := json.Marshal(v)
	got, err := ParseVerdict(js)
	if err != nil {
		t.Fatal(err)
	}
	if err := Verify(got, val.SS58()); err != nil {
		t.Fatalf("own verdict: %v", err)
	}
	for name, f := range map[string]func(*pog.Verdict){
		"more GPUs":                    func(v *pog.Verdict) { v.GPUs = 9 },
		"a failed verdict made passed": func(v *pog.Verdict) { v.Passed = !v.Passed },
		"another miner":                func(v *pog.Verdict) { v.Hotkey = "5Other" },
		"an old verdict as new":        func(v *pog.Verdict) { v.Block += 360 },
		"changed evidence":             func(v *pog.Verdict) { v.Devices[0].WorkRoot[0] ^= 1 },
		"signed by someone else":       func(v *pog.Verdict) { Sign(other, v) },
	} {
		w, _ := ParseVerdict(js)
		f(&w)
		if err := Verify(w, val.SS58()); !errors.Is(err, ErrBadVerdict) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := ParseVerdict([]byte("{")); !errors.Is(err, ErrBadVerdict) {
		t.Fatal("bad JSON")
	}
}

func FuzzParseVerdict(f *testing.F) {
	f.Add([]byte(`{"version":1,"hotkey":"x","signature":"0x00"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := ParseVerdict(b)
		if err == nil {
			_ = Verify(v, "")
		}
	})
}
