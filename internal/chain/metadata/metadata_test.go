package metadata

import (
	"bytes"
	"compress/gzip"
	"encoding/hex"
	"io"
	"os"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/sn27/sn27/internal/scale"
)

const (
	fixtureV14 = "../testdata/raonet-spec218-metadata.scale.gz"
	fixtureV15 = "../testdata/raonet-spec218-metadata-v15-option.scale.gz"
)

func readGz(t testing.TB, path string) []byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	z, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(z)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

var fixtures struct {
	once     sync.Once
	raw14    []byte // "meta" + 14 + V14
	option15 []byte // Option<OpaqueMetadata> with V15
	m14, m15 *Metadata
	err      error
}

// load decodes both fixtures once for all tests.
func load(t testing.TB) (m14, m15 *Metadata) {
	t.Helper()
	fixtures.once.Do(func() {
		fixtures.raw14 = readGz(t, fixtureV14)
		fixtures.option15 = readGz(t, fixtureV15)
		if fixtures.m14, fixtures.err = Decode(fixtures.raw14); fixtures.err != nil {
			return
		}
		fixtures.m15, fixtures.err = DecodeAtVersion(fixtures.option15)
	})
	if fixtures.err != nil {
		t.Fatal(fixtures.err)
	}
	return fixtures.m14, fixtures.m15
}

// both runs f on the V14 and the V15 metadata.
func both(t *testing.T, f func(t *testing.T, m *Metadata)) {
	m14, m15 := load(t)
	t.Run("V14", func(t *testing.T) { f(t, m14) })
	t.Run("V15", func(t *testing.T) { f(t, m15) })
}

// inner15 returns the raw "meta"+15 bytes inside the V15 fixture.
func inner15(t testing.TB) []byte {
	load(t)
	d := scale.NewDecoder(fixtures.option15)
	if !d.Option() {
		t.Fatal("fixture is None")
	}
	b := d.Bytes()
	if err := d.Done(); err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDecodeVersions(t *testing.T) {
	m14, m15 := load(t)
	if m14.Version != 14 || m15.Version != 15 {
		t.Fatalf("versions %d, %d", m14.Version, m15.Version)
	}
	raw15 := inner15(t)
	m, err := Decode(raw15)
	if err != nil || m.Version != 15 {
		t.Fatalf("Decode(raw V15) = %v, %v", m, err)
	}
	if len(m14.types) < 400 || len(m15.types) < 400 || len(m14.pallets) != 26 || len(m15.pallets) != 26 {
		t.Errorf("types %d/%d pallets %d/%d", len(m14.types), len(m15.types), len(m14.pallets), len(m15.pallets))
	}
	if v14, v15 := m14.ExtrinsicVersions(), m15.ExtrinsicVersions(); !reflect.DeepEqual(v14, []uint8{4}) || !reflect.DeepEqual(v15, []uint8{4}) {
		t.Errorf("extrinsic versions %v %v", v14, v15)
	}
	if m15.TypePath(m15.outerEnums[0]) != "node_subtensor_runtime::RuntimeCall" ||
		m15.TypePath(m15.outerEnums[1]) != "node_subtensor_runtime::RuntimeEvent" {
		t.Errorf("outer enums %v: %q %q", m15.outerEnums, m15.TypePath(m15.outerEnums[0]), m15.TypePath(m15.outerEnums[1]))
	}
	if p := m14.TypePath(m14.runtimeType); p != "node_subtensor_runtime::Runtime" {
		t.Errorf("runtime type path %q", p)
	}
}

func TestDecodeErrors(t *testing.T) {
	load(t)
	raw14 := fixtures.raw14
	withVersion := func(v byte) []byte {
		b := bytes.Clone(raw14)
		b[4] = v
		return b
	}
	cases := []struct {
		name string
		in   []byte
		want string
	}{
		{"empty", nil, "too short"},
		{"magic", append([]byte("atem"), raw14[4:]...), "magic"},
		{"v13", withVersion(13), "version 13"},
		{"v17", withVersion(17), "version 17"},
		{"v14 as v16", withVersion(16), "V16 pallet \"System\""},
		{"truncated", raw14[:len(raw14)-1], "input too short"},
		{"trailing", append(bytes.Clone(raw14), 0), "left over"},
		{"prefix", raw14[:1000], "V14 type registry"},
	}
	for _, c := range cases {
		_, err := Decode(c.in)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want %q", c.name, err, c.want)
		}
	}
	if _, err := DecodeAtVersion([]byte{0}); err == nil || !strings.Contains(err.Error(), "None") {
		t.Errorf("None: %v", err)
	}
	if _, err := DecodeAtVersion(nil); err == nil {
		t.Error("DecodeAtVersion(nil) succeeded")
	}
	if _, err := DecodeAtVersion(append(bytes.Clone(fixtures.option15), 0)); err == nil {
		t.Error("trailing byte after Option<OpaqueMetadata> accepted")
	}
	// DecodeAtVersion of the raw bytes (no Option wrapper) must fail cleanly.
	if _, err := DecodeAtVersion(raw14); err == nil {
		t.Error("DecodeAtVersion(raw) succeeded")
	}
}

func TestPallets(t *testing.T) {
	want := map[string]uint8{"System": 0, "Balances": 5, "SubtensorModule": 7, "Utility": 11, "Sudo": 12, "Commitments": 18, "AdminUtils": 19}
	both(t, func(t *testing.T, m *Metadata) {
		for name, idx := range want {
			p, ok := m.Pallet(name)
			if !ok || p.Name != name || p.Index != idx {
				t.Errorf("Pallet(%q) = %+v, %v; want index %d", name, p, ok, idx)
			}
		}
		if _, ok := m.Pallet("Nope"); ok {
			t.Error("Pallet(Nope) found")
		}
	})
}

func TestCalls(t *testing.T) {
	type arg struct{ name, typeName string }
	cases := []struct {
		pallet, call string
		pi, ci       uint8
		args         []arg
	}{
		{"SubtensorModule", "set_weights", 7, 0, []arg{{"netuid", "u16"}, {"dests", "Vec<u16>"}, {"weights", "Vec<u16>"}, {"version_key", "u64"}}},
		{"SubtensorModule", "serve_axon", 7, 4, []arg{{"netuid", "u16"}, {"version", "u32"}, {"ip", "u128"}, {"port", "u16"}, {"ip_type", "u8"}, {"protocol", "u8"}, {"placeholder1", "u8"}, {"placeholder2", "u8"}}},
		{"SubtensorModule", "burned_register", 7, 7, []arg{{"netuid", "u16"}, {"hotkey", "T::AccountId"}}},
		{"SubtensorModule", "add_stake", 7, 2, []arg{{"hotkey", "T::AccountId"}, {"netuid", "u16"}, {"amount_staked", "u64"}}},
		{"SubtensorModule", "register_network", 7, 59, []arg{{"hotkey", "T::AccountId"}, {"mechid", "u16"}}},
		{"SubtensorModule", "commit_weights", 7, 96, []arg{{"netuid", "u16"}, {"commit_hash", "H256"}}},
		{"SubtensorModule", "reveal_weights", 7, 97, []arg{{"netuid", "u16"}, {"uids", "Vec<u16>"}, {"values", "Vec<u16>"}, {"salt", "Vec<u16>"}, {"version_key", "u64"}}},
		{"AdminUtils", "sudo_set_weights_set_rate_limit", 19, 7, []arg{{"netuid", "u16"}, {"weights_set_rate_limit", "u64"}}},
		{"AdminUtils", "sudo_set_network_rate_limit", 19, 29, []arg{{"rate_limit", "u64"}}},
		{"AdminUtils", "sudo_set_commit_reveal_weights_enabled", 19, 49, []arg{{"netuid", "u16"}, {"enabled", "bool"}}},
		{"Sudo", "sudo", 12, 0, []arg{{"call", "Box<<T as Config>::RuntimeCall>"}}},
	}
	both(t, func(t *testing.T, m *Metadata) {
		for _, c := range cases {
			call, err := m.Call(c.pallet, c.call)
			if err != nil {
				t.Errorf("%s.%s: %v", c.pallet, c.call, err)
				continue
			}
			if call.Pallet != c.pallet || call.Name != c.call || call.PalletIndex != c.pi || call.Index != c.ci {
				t.Errorf("%s.%s = %+v, want %d/%d", c.pallet, c.call, call, c.pi, c.ci)
			}
			var got []arg
			for _, a := range call.Args {
				got = append(got, arg{a.Name, a.TypeName})
			}
			if !reflect.DeepEqual(got, c.args) {
				t.Errorf("%s.%s args %v, want %v", c.pallet, c.call, got, c.args)
			}
		}
		call, _ := m.Call("Sudo", "sudo")
		if p := m.TypePath(call.Args[0].Type); p != "node_subtensor_runtime::RuntimeCall" {
			t.Errorf("Sudo.sudo call arg type path %q", p)
		}
		if _, err := m.Call("Nope", "x"); err == nil || !strings.Contains(err.Error(), `"Nope"`) {
			t.Errorf("missing pallet: %v", err)
		}
		if _, err := m.Call("SubtensorModule", "nope"); err == nil || !strings.Contains(err.Error(), `"nope"`) || !strings.Contains(err.Error(), "SubtensorModule") {
			t.Errorf("missing call: %v", err)
		}
		if _, err := m.Call("Aura", "x"); err == nil || !strings.Contains(err.Error(), "no calls") {
			t.Errorf("pallet without calls: %v", err)
		}
	})
}

func TestSignedExtensions(t *testing.T) {
	want := []struct {
		id                   string
		empty, emptyAddition bool
	}{
		{"CheckNonZeroSender", true, true},
		{"CheckSpecVersion", true, false},
		{"CheckTxVersion", true, false},
		{"CheckGenesis", true, false},
		{"CheckMortality", false, false},
		{"CheckNonce", false, true},
		{"CheckWeight", true, true},
		{"ChargeTransactionPayment", false, true},
		{"SubtensorSignedExtension", true, true},
		{"CommitmentsSignedExtension", true, true},
		{"CheckMetadataHash", false, false},
	}
	both(t, func(t *testing.T, m *Metadata) {
		got := m.SignedExtensions()
		if len(got) != len(want) {
			t.Fatalf("%d signed extensions: %+v", len(got), got)
		}
		for i, w := range want {
			g := got[i]
			if g.Identifier != w.id || m.IsEmpty(g.Type) != w.empty || m.IsEmpty(g.AdditionalSigned) != w.emptyAddition {
				t.Errorf("#%d: %s empty=%v/%v, want %s %v/%v", i, g.Identifier, m.IsEmpty(g.Type), m.IsEmpty(g.AdditionalSigned), w.id, w.empty, w.emptyAddition)
			}
		}
		// The data a client must produce: Era, Compact<u32> nonce, Compact<u64> tip, mode byte.
		wantPaths := map[string]string{
			"CheckMortality":           "frame_system::extensions::check_mortality::CheckMortality",
			"CheckNonce":               "node_subtensor_runtime::check_nonce::CheckNonce",
			"ChargeTransactionPayment": "pallet_transaction_payment::ChargeTransactionPayment",
			"CheckMetadataHash":        "frame_metadata_hash_extension::CheckMetadataHash",
		}
		for _, g := range got {
			if p, ok := wantPaths[g.Identifier]; ok && m.TypePath(g.Type) != p {
				t.Errorf("%s type path %q, want %q", g.Identifier, m.TypePath(g.Type), p)
			}
		}
		// ChargeTransactionPayment(Compact<u64>): a tip of 5 encodes as one byte.
		var tip SignedExtension
		for _, g := range got {
			if g.Identifier == "ChargeTransactionPayment" {
				tip = g
			}
		}
		e := scale.NewEncoder(nil)
		if err := m.EncodeValue(tip.Type, uint64(5), e); err != nil || !bytes.Equal(e.Data(), []byte{5 << 2}) {
			t.Errorf("tip encoding %x, %v", e.Data(), err)
		}
		// The returned slice is a copy.
		got[0].Identifier = "x"
		if m.SignedExtensions()[0].Identifier != "CheckNonZeroSender" {
			t.Error("SignedExtensions returned internal state")
		}
	})
}

func TestModuleError(t *testing.T) {
	cases := []struct {
		pi, ei       uint8
		pallet, name string
		doc          string
	}{
		{7, 30, "SubtensorModule", "SettingWeightsTooFast", ""},
		{7, 57, "SubtensorModule", "CommitRevealEnabled", ""},
		{7, 5, "SubtensorModule", "HotKeyNotRegisteredInSubNet", ""},
		{7, 34, "SubtensorModule", "NetworkTxRateLimitExceeded", ""},
		{7, 88, "SubtensorModule", "MechanismDoesNotExist", ""},
		{19, 0, "AdminUtils", "SubnetDoesNotExist", "The subnet does not exist, check the netuid parameter"},
	}
	both(t, func(t *testing.T, m *Metadata) {
		for _, c := range cases {
			p, n, doc, ok := m.ModuleError(c.pi, c.ei)
			if !ok || p != c.pallet || n != c.name || (c.doc != "" && doc != c.doc) {
				t.Errorf("ModuleError(%d, %d) = %q %q %q %v, want %s.%s", c.pi, c.ei, p, n, doc, ok, c.pallet, c.name)
			}
			if doc == "" || strings.Contains(doc, "\n") {
				t.Errorf("ModuleError(%d, %d) doc %q", c.pi, c.ei, doc)
			}
		}
		if _, _, _, ok := m.ModuleError(7, 250); ok {
			t.Error("error 7/250 found")
		}
		if _, _, _, ok := m.ModuleError(200, 0); ok {
			t.Error("pallet 200 found")
		}
	})
}

func hexBytes(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(s), "0x")))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

var alicePub = "d43593c715fdd31c61141abd04a99fd6822c8558854ccde39a5684e7a56da27d"

func TestStorage(t *testing.T) {
	both(t, func(t *testing.T, m *Metadata) {
		acc, err := m.Storage("System", "Account")
		if err != nil {
			t.Fatal(err)
		}
		if acc.Pallet != "System" || acc.Name != "Account" || acc.Optional ||
			!reflect.DeepEqual(acc.Hashers, []scale.Hasher{scale.Blake2_128Concat}) || len(acc.KeyTypes) != 1 {
			t.Fatalf("System.Account = %+v", acc)
		}
		if p := m.TypePath(acc.Value); p != "frame_system::AccountInfo" {
			t.Errorf("System.Account value %q", p)
		}
		if p := m.TypePath(acc.KeyTypes[0]); p != "sp_core::crypto::AccountId32" {
			t.Errorf("System.Account key %q", p)
		}
		prefix, err := acc.Key()
		if err != nil || hex.EncodeToString(prefix) != "26aa394eea5630e07c48ae0c9558cef7b99d880ec681799c0cf30e8886371da9" {
			t.Errorf("System.Account prefix %x, %v", prefix, err)
		}
		key, err := acc.Key(hexBytes(t, alicePub))
		if err != nil || hex.EncodeToString(key) != "26aa394eea5630e07c48ae0c9558cef7b99d880ec681799c0cf30e8886371da9de1e86a9a8c739864cf3cc5ec2bea59f"+alicePub {
			t.Errorf("System.Account(Alice) key %x, %v", key, err)
		}
		if _, err := acc.Key([]byte{1, 2, 3}); err == nil || !strings.Contains(err.Error(), "AccountId32") {
			t.Errorf("short AccountId accepted: %v", err)
		}
		if _, err := acc.Key(hexBytes(t, alicePub), []byte{0}); err == nil {
			t.Error("two keys for a one-key map accepted")
		}

		axons, err := m.Storage("SubtensorModule", "Axons")
		if err != nil {
			t.Fatal(err)
		}
		if !axons.Optional || !reflect.DeepEqual(axons.Hashers, []scale.Hasher{scale.Identity, scale.Blake2_128Concat}) ||
			len(axons.KeyTypes) != 2 || m.TypePath(axons.Value) != "pallet_subtensor::pallet::AxonInfo" {
			t.Errorf("Axons = %+v (value %q)", axons, m.TypePath(axons.Value))
		}
		k, err := axons.Key([]byte{3, 0}, hexBytes(t, alicePub))
		if err != nil || !bytes.HasPrefix(k, scale.StorageKey("SubtensorModule", "Axons")) ||
			!bytes.Equal(k, scale.StorageKey("SubtensorModule", "Axons",
				scale.HashedKey{Hasher: scale.Identity, Key: []byte{3, 0}},
				scale.HashedKey{Hasher: scale.Blake2_128Concat, Key: hexBytes(t, alicePub)})) {
			t.Errorf("Axons key %x, %v", k, err)
		}
		if _, err := axons.Key([]byte{3, 0, 0}); err == nil || !strings.Contains(err.Error(), "key 0") {
			t.Errorf("u32 for a u16 netuid accepted: %v", err)
		}
		if k1, err := axons.Key([]byte{3, 0}); err != nil || len(k1) != 34 {
			t.Errorf("Axons(netuid) prefix %x, %v", k1, err)
		}

		w, err := m.Storage("SubtensorModule", "Weights")
		if err != nil || !reflect.DeepEqual(w.Hashers, []scale.Hasher{scale.Identity, scale.Identity}) {
			t.Errorf("Weights %+v %v", w, err)
		}
		num, err := m.Storage("System", "Number")
		if err != nil || len(num.Hashers) != 0 || len(num.KeyTypes) != 0 || num.Optional {
			t.Fatalf("System.Number %+v %v", num, err)
		}
		if k, err := num.Key(); err != nil || hex.EncodeToString(k) != "26aa394eea5630e07c48ae0c9558cef702a5c1b19ab7a04f536c519aca4983ac" {
			t.Errorf("System.Number key %x %v", k, err)
		}
		if _, err := num.Key([]byte{0}); err == nil || !strings.Contains(err.Error(), "plain") {
			t.Errorf("key for a plain value: %v", err)
		}
		if !bytes.Equal(num.Default, []byte{0, 0, 0, 0}) {
			t.Errorf("System.Number default %x", num.Default)
		}
		if _, err := m.Storage("System", "Nope"); err == nil || !strings.Contains(err.Error(), `"Nope"`) {
			t.Errorf("missing item: %v", err)
		}
		if _, err := m.Storage("Nope", "Account"); err == nil || !strings.Contains(err.Error(), `"Nope"`) {
			t.Errorf("missing pallet: %v", err)
		}
		if _, err := m.Storage("Utility", "Account"); err == nil || !strings.Contains(err.Error(), "no storage") {
			t.Errorf("pallet without storage: %v", err)
		}
		// Storage returns copies.
		acc.Hashers[0] = scale.Identity
		if again, _ := m.Storage("System", "Account"); again.Hashers[0] != scale.Blake2_128Concat {
			t.Error("Storage returned internal state")
		}
	})
}

// Every map's KeyTypes matches its Hashers, and every Default-modifier
// default value decodes and re-encodes exactly.
func TestAllStorageDefaults(t *testing.T) {
	both(t, func(t *testing.T, m *Metadata) {
		n := 0
		for _, p := range m.pallets {
			for _, e := range p.storage {
				if len(e.KeyTypes) != len(e.Hashers) {
					t.Errorf("%s.%s: %d key types for %d hashers", p.name, e.Name, len(e.KeyTypes), len(e.Hashers))
				}
				if e.Optional {
					if !bytes.Equal(e.Default, []byte{0}) {
						t.Errorf("%s.%s: optional default %x", p.name, e.Name, e.Default)
					}
					continue
				}
				roundTrip(t, m, p.name+"."+e.Name, e.Value, e.Default)
				n++
			}
		}
		if n < 150 {
			t.Errorf("only %d defaults", n)
		}
	})
}

func TestConstants(t *testing.T) {
	both(t, func(t *testing.T, m *Metadata) {
		b, ty, err := m.Constant("System", "SS58Prefix")
		if err != nil {
			t.Fatal(err)
		}
		v, err := m.DecodeValue(ty, scale.NewDecoder(b))
		if err != nil || v != uint64(42) {
			t.Errorf("SS58Prefix = %v (%T), %v", v, v, err)
		}
		b, ty, err = m.Constant("Balances", "ExistentialDeposit")
		if v, err2 := m.DecodeValue(ty, scale.NewDecoder(b)); err != nil || err2 != nil || v != uint64(500) {
			t.Errorf("ExistentialDeposit = %v, %v %v", v, err, err2)
		}
		b, ty, _ = m.Constant("System", "Version")
		v, err = m.DecodeValue(ty, scale.NewDecoder(b))
		rv, _ := v.(map[string]any)
		if err != nil || rv["spec_name"] != "node-subtensor" || rv["spec_version"] != uint64(218) || rv["transaction_version"] != uint64(1) {
			t.Errorf("System.Version = %v, %v", v, err)
		}
		if _, _, err := m.Constant("System", "Nope"); err == nil || !strings.Contains(err.Error(), `"Nope"`) {
			t.Errorf("missing constant: %v", err)
		}
		// Every constant of every pallet decodes and re-encodes exactly.
		n := 0
		for _, p := range m.pallets {
			for _, c := range p.constants {
				roundTrip(t, m, p.name+"."+c.name, c.ty, c.value)
				n++
			}
		}
		if n < 50 {
			t.Errorf("only %d constants", n)
		}
	})
}

func TestRuntimeAPI(t *testing.T) {
	m14, m15 := load(t)
	in, out, err := m15.RuntimeAPI("NeuronInfoRuntimeApi", "get_neurons_lite")
	if err != nil || len(in) != 1 || in[0].Name != "netuid" || !m15.isU16(in[0].Type) {
		t.Fatalf("get_neurons_lite = %+v %d %v", in, out, err)
	}
	// In this runtime the subtensor APIs return Vec<u8> holding SCALE data.
	if td := m15.types[out]; td.kind != kindSequence || !m15.isU8Type(td.elem) {
		t.Errorf("get_neurons_lite output %s", m15.typeName(out))
	}
	if _, out, err := m15.RuntimeAPI("SubnetRegistrationRuntimeApi", "get_network_registration_cost"); err != nil || m15.typeName(out) != "type 6 (u64)" {
		t.Errorf("get_network_registration_cost: %s %v", m15.typeName(out), err)
	}
	if in, _, err := m15.RuntimeAPI("Metadata", "metadata_at_version"); err != nil || len(in) != 1 || in[0].Name != "version" {
		t.Errorf("metadata_at_version %+v %v", in, err)
	}
	if _, _, err := m15.RuntimeAPI("NeuronInfoRuntimeApi", "nope"); err == nil || !strings.Contains(err.Error(), `"nope"`) {
		t.Errorf("missing method: %v", err)
	}
	if _, _, err := m15.RuntimeAPI("Nope", "x"); err == nil || !strings.Contains(err.Error(), `"Nope"`) {
		t.Errorf("missing trait: %v", err)
	}
	if _, _, err := m14.RuntimeAPI("NeuronInfoRuntimeApi", "get_neurons_lite"); err == nil || !strings.Contains(err.Error(), "V15") {
		t.Errorf("V14 RuntimeAPI: %v", err)
	}
}

func (m *Metadata) isU16(t TypeID) bool {
	td := m.types[t]
	return td.kind == kindPrimitive && td.prim == primU16
}

func TestTypePathAndIsEmpty(t *testing.T) {
	both(t, func(t *testing.T, m *Metadata) {
		found := false
		for i := range m.types {
			if m.TypePath(TypeID(i)) == "sp_runtime::DispatchError" {
				found = true
			}
		}
		if !found {
			t.Error("no sp_runtime::DispatchError")
		}
		if m.TypePath(TypeID(len(m.types))) != "" || m.IsEmpty(TypeID(len(m.types))) || m.IsEmpty(^TypeID(0)) {
			t.Error("out-of-range type")
		}
		num, _ := m.Storage("System", "Number")
		if m.TypePath(num.Value) != "" || m.IsEmpty(num.Value) {
			t.Error("u32")
		}
		// This runtime has a Compact<()>, which is empty.
		for i, td := range m.types {
			if td.kind == kindCompact && m.IsEmpty(td.elem) && !m.IsEmpty(TypeID(i)) {
				t.Errorf("Compact<()> %d not empty", i)
			}
		}
	})
}
