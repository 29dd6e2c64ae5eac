package protocol

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
)

func TestEmptyBodyHash(t *testing.T) {
	// sha3-256("") (bittensor's body hash of SN27's synapses).
	if EmptyBodyHash != "a7ffc6f8bf1ed76651c14756a061d662f580ff4de43b49fa82d80a4b80f8434a" {
		t.Errorf("EmptyBodyHash = %s", EmptyBodyHash)
	}
	if BodyHash(NewChallenge()) != EmptyBodyHash {
		t.Error("Challenge body hash is not the empty hash")
	}
}

func TestPyFloat(t *testing.T) {
	for f, want := range map[float64]string{
		12: "12.0", 30: "30.0", 0.1: "0.1", 0: "0.0", 1.5: "1.5", 1e16: "1e+16", 1.5e-5: "1.5e-05",
		123456789.125: "123456789.125", -2: "-2.0", 1e15: "1000000000000000.0",
	} {
		if got := PyFloat(f); got != want {
			t.Errorf("PyFloat(%v) = %q; want %q", f, got, want)
		}
	}
}

func TestDecodePythonDendriteBody(t *testing.T) {
	raw, err := os.ReadFile("testdata/allocate_v9_request.json")
	if err != nil {
		t.Fatal(err)
	}
	var a Allocate
	if err := json.Unmarshal(raw, &a); err != nil {
		t.Fatal(err)
	}
	if a.Dendrite.Nonce.V != 1739467234567891234 || !a.Dendrite.Nonce.Set {
		t.Errorf("nonce = %+v: lost precision or missing", a.Dendrite.Nonce)
	}
	if a.Timeline != 60 || a.Checking || a.Timeout.V != 30 || Deref(a.Dendrite.Hotkey) != "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY" {
		t.Errorf("decoded %+v", a)
	}
	req, err := a.Requirement()
	if err != nil || req.GPU.Capacity != 81920 || req.GPU.Type != "h100" || req.RAM.Capacity != 1<<30 {
		t.Errorf("Requirement = %+v, %v", req, err)
	}
	d, err := a.Docker()
	if err != nil || d.BaseImage != "pytorch/pytorch" || d.SSHPort != 4444 {
		t.Errorf("Docker = %+v, %v", d, err)
	}
	// Round trip: every field, the unknown one included, comes back equal.
	out, err := json.Marshal(&a)
	if err != nil {
		t.Fatal(err)
	}
	var want, got map[string]any
	_ = json.Unmarshal(raw, &want)
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatal(err)
	}
	wb, _ := json.Marshal(want)
	gb, _ := json.Marshal(got)
	if string(wb) != string(gb) {
		t.Errorf("round trip differs:\n got %s\nwant %s", gb, wb)
	}
	// Wire order: Synapse fields first, as pydantic dumps them.
	if !strings.HasPrefix(string(out), `{"name":"Allocate","timeout":30.0,"total_size":3120,"header_size":0,"dendrite":{"status_code":null,`) {
		t.Errorf("field order: %s", out[:120])
	}
}

func TestDefaults(t *testing.T) {
	var c Challenge
	if err := json.Unmarshal([]byte(`{"challenge_hash":"$BLAKE2$00"}`), &c); err != nil {
		t.Fatal(err)
	}
	if c.Name != "Challenge" || c.ChallengeDifficulty != DefaultChallengeDifficulty || string(c.Output) != "{}" || c.Timeout.V != 12 {
		t.Errorf("defaults not applied: %+v", c)
	}
	var a Allocate
	if err := json.Unmarshal([]byte(`{}`), &a); err != nil {
		t.Fatal(err)
	}
	d, _ := a.Docker()
	if !a.Checking || d.SSHPort != 4444 || d.BaseImage != "ubuntu" || d.VolumePath != "/tmp" {
		t.Errorf("Allocate defaults: %+v %+v", a, d)
	}
	b, _ := json.Marshal(NewSpecs())
	if string(b) != `{"name":"Specs","timeout":12.0,"total_size":0,"header_size":0,"dendrite":{"status_code":null,"status_message":null,"process_time":null,"ip":null,"port":null,"version":null,"nonce":null,"uuid":null,"hotkey":null,"signature":null},"axon":{"status_code":null,"status_message":null,"process_time":null,"ip":null,"port":null,"version":null,"nonce":null,"uuid":null,"hotkey":null,"signature":null},"computed_body_hash":"","specs_input":"","specs_output":""}` {
		t.Errorf("Specs JSON = %s", b)
	}
}

func TestDecodeErrors(t *testing.T) {
	for _, body := range []string{
		`[]`, `{"timeline":"x"}`, `{"device_requirement":[1]}`, `{"output":"str"}`, `{"dendrite":{"nonce":"abc"}}`,
		`{"timeout":"NaN"}`, `{`,
	} {
		var a Allocate
		if err := json.Unmarshal([]byte(body), &a); err == nil {
			t.Errorf("Allocate accepted %s", body)
		}
	}
	var c Challenge
	if err := json.Unmarshal([]byte(`{"output":null}`), &c); err == nil {
		t.Error("Challenge accepted output null")
	}
}

func TestNumbersAsStrings(t *testing.T) {
	// The Python SN27 axon sets axon.status_code to the string "100".
	var ti TerminalInfo
	if err := json.Unmarshal([]byte(`{"status_code":"100","process_time":"0.25","port":8091}`), &ti); err != nil {
		t.Fatal(err)
	}
	if ti.StatusCode.V != 100 || ti.ProcessTime.V != 0.25 || ti.Port.V != 8091 {
		t.Errorf("%+v", ti)
	}
}

func TestHeadersRoundTrip(t *testing.T) {
	c := NewChallenge()
	c.Timeout = SomeFloat(30)
	c.Dendrite.Nonce = SomeInt(1739467234567891234)
	c.Dendrite.Version = SomeInt(BittensorVersionInt)
	c.Dendrite.Hotkey = Str("5Grw")
	c.Dendrite.Signature = Str("0xab")
	c.Dendrite.UUID = Str("u-1")
	c.Dendrite.IP = Str("203.0.113.9")
	c.Axon.Port = SomeInt(8091)
	c.Axon.ProcessTime = SomeFloat(0.5)
	c.ComputedBodyHash = EmptyBodyHash
	h := ToHeaders(&c.Synapse)
	for k, want := range map[string]string{
		"name": "Challenge", "timeout": "30.0", "bt_header_dendrite_nonce": "1739467234567891234",
		"bt_header_dendrite_version": "9000000", "bt_header_axon_port": "8091", "bt_header_axon_process_time": "0.5",
		"computed_body_hash": EmptyBodyHash,
	} {
		if h[k] != want {
			t.Errorf("header %s = %q; want %q", k, h[k], want)
		}
	}
	if _, ok := h["bt_header_axon_hotkey"]; ok {
		t.Error("unset field sent as a header")
	}
	// Canonicalised names (as Go's net/http delivers them) parse too.
	in := map[string][]string{}
	for k, v := range h {
		in[strings.ToUpper(k[:1])+k[1:]] = []string{v}
	}
	s, err := ParseHeaders(in)
	if err != nil {
		t.Fatal(err)
	}
	if s.Dendrite.Nonce != c.Dendrite.Nonce || Deref(s.Dendrite.Hotkey) != "5Grw" || s.Timeout.V != 30 || s.Name != "Challenge" || s.Axon.Port.V != 8091 {
		t.Errorf("parsed %+v", s)
	}
	if _, err := ParseHeaders(map[string][]string{"bt_header_dendrite_nonce": {"12x"}}); err == nil {
		t.Error("bad nonce header accepted")
	}
}

func TestSignedMessage(t *testing.T) {
	got := SignedMessage(17, "5D", "5A", "u", EmptyBodyHash)
	if got != "17.5D.5A.u."+EmptyBodyHash {
		t.Errorf("SignedMessage = %q", got)
	}
}

func FuzzDecodeSynapses(f *testing.F) {
	raw, _ := os.ReadFile("testdata/allocate_v9_request.json")
	f.Add(raw)
	f.Add([]byte(`{"challenge_hash":"$BLAKE2$00","output":{"password":"x"},"dendrite":{"nonce":"5"}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, m := range []Message{NewAllocate(), NewChallenge(), NewSpecs(), NewPing()} {
			if err := json.Unmarshal(b, m); err != nil {
				continue
			}
			out, err := json.Marshal(m)
			if err != nil {
				t.Fatalf("%T: marshal after decode: %v", m, err)
			}
			again := map[string]json.RawMessage{}
			if err := json.Unmarshal(out, &again); err != nil {
				t.Fatalf("%T: re-encoded JSON invalid: %v\n%s", m, err, out)
			}
		}
		if c := NewChallenge(); json.Unmarshal(b, c) == nil {
			_, _ = c.Answer()
		}
	})
}

func FuzzParseHeaders(f *testing.F) {
	f.Add("bt_header_dendrite_nonce", "1739467234567891234", "timeout", "12.0")
	f.Add("Bt_header_axon_port", "-1", "total_size", "1e3")
	f.Fuzz(func(t *testing.T, k1, v1, k2, v2 string) {
		s, err := ParseHeaders(map[string][]string{k1: {v1}, k2: {v2}})
		if err != nil {
			return
		}
		_ = ToHeaders(&s)
	})
}
