package metadata

import (
	"bytes"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/sn27/sn27/internal/scale"
)

// subtensorFixture is the metadata of a public subtensor runtime (where
// each file comes from: testdata/README.md).
type subtensorFixture struct {
	file    string // under testdata/
	version int    // metadata version
	spec    uint64 // System.Version spec_version
	option  bool   // Option<OpaqueMetadata> (Metadata_metadata_at_version)
}

var subtensorFixtures = []subtensorFixture{
	{"subtensor-spec224-v14.scale.gz", 14, 224, false},
	{"subtensor-spec233-v15-option.scale.gz", 15, 233, true},
	{"subtensor-spec315-v14.scale.gz", 14, 315, false},
	{"subtensor-spec315-v15-option.scale.gz", 15, 315, true},
	{"subtensor-spec320-v14.scale.gz", 14, 320, false},
	{"subtensor-spec320-v15-option.scale.gz", 15, 320, true},
	{"subtensor-spec343-v14.scale.gz", 14, 343, false},
	{"subtensor-spec343-v15-option.scale.gz", 15, 343, true},
	{"subtensor-spec346-v16.scale.gz", 16, 346, false},
	{"subtensor-spec381-v16.scale.gz", 16, 381, false},
}

var fixtureCache sync.Map // file -> *Metadata

func (f subtensorFixture) name() string {
	return fmt.Sprintf("spec%d-V%d", f.spec, f.version)
}

func (f subtensorFixture) raw(t testing.TB) []byte {
	return readGz(t, "testdata/"+f.file)
}

func (f subtensorFixture) load(t testing.TB) *Metadata {
	t.Helper()
	if m, ok := fixtureCache.Load(f.file); ok {
		return m.(*Metadata)
	}
	b := f.raw(t)
	var m *Metadata
	var err error
	if f.option {
		m, err = DecodeAtVersion(b)
	} else {
		m, err = Decode(b)
	}
	if err != nil {
		t.Fatalf("%s: %v", f.file, err)
	}
	fixtureCache.Store(f.file, m)
	return m
}

// eachFixture runs f on every subtensor fixture.
func eachFixture(t *testing.T, f func(t *testing.T, fx subtensorFixture, m *Metadata)) {
	for _, fx := range subtensorFixtures {
		t.Run(fx.name(), func(t *testing.T) { f(t, fx, fx.load(t)) })
	}
}

// shape describes how a type encodes: newtypes (one-field composites such
// as NetUid, AccountId32, H256 or BoundedVec) are replaced by what they
// wrap, so the result reads like the Rust types of CHAIN-TODAY.md.
func (m *Metadata) shape(t TypeID) string {
	return m.shapeDepth(t, 0)
}

func (m *Metadata) shapeDepth(t TypeID, depth int) string {
	if depth > 8 {
		return "…"
	}
	td := &m.types[t]
	switch td.kind {
	case kindPrimitive:
		return primNames[td.prim]
	case kindSequence:
		return "Vec<" + m.shapeDepth(td.elem, depth+1) + ">"
	case kindArray:
		return fmt.Sprintf("[%s; %d]", m.shapeDepth(td.elem, depth+1), td.length)
	case kindCompact:
		return "Compact<" + m.shapeDepth(td.elem, depth+1) + ">"
	case kindTuple:
		parts := make([]string, len(td.tuple))
		for i, e := range td.tuple {
			parts[i] = m.shapeDepth(e, depth+1)
		}
		return "(" + strings.Join(parts, ", ") + ")"
	case kindComposite:
		if len(td.fields) == 1 {
			return m.shapeDepth(td.fields[0].Type, depth+1)
		}
		if len(td.fields) == 0 {
			return "()"
		}
	}
	return m.TypePath(t)
}

func TestFixturesDecode(t *testing.T) {
	eachFixture(t, func(t *testing.T, fx subtensorFixture, m *Metadata) {
		if m.Version != fx.version {
			t.Errorf("version %d", m.Version)
		}
		b, ty, err := m.Constant("System", "Version")
		if err != nil {
			t.Fatal(err)
		}
		v, err := m.DecodeValue(ty, scale.NewDecoder(b))
		rv, _ := v.(map[string]any)
		if err != nil || rv["spec_name"] != "node-subtensor" || rv["spec_version"] != fx.spec || rv["transaction_version"] != uint64(1) {
			t.Errorf("System.Version = %v, %v", v, err)
		}
		wantVersions := []uint8{4}
		if fx.version == 16 {
			wantVersions = []uint8{4, 5}
		}
		if got := m.ExtrinsicVersions(); !reflect.DeepEqual(got, wantVersions) {
			t.Errorf("extrinsic versions %v, want %v", got, wantVersions)
		}
		if fx.version >= 15 {
			for i, want := range []string{"RuntimeCall", "RuntimeEvent", "RuntimeError"} {
				if p := m.TypePath(m.outerEnums[i]); p != "node_subtensor_runtime::"+want {
					t.Errorf("outer enum %d: %q", i, p)
				}
			}
		}
		if fx.version < 16 {
			if p := m.TypePath(m.runtimeType); p != "node_subtensor_runtime::Runtime" {
				t.Errorf("runtime type %q", p)
			}
		}
		if fx.option { // the inner bytes decode alone too
			d := scale.NewDecoder(fx.raw(t))
			d.Option()
			if m2, err := Decode(d.Bytes()); err != nil || m2.Version != fx.version || len(m2.types) != len(m.types) {
				t.Errorf("inner V%d: %v", fx.version, err)
			}
		}
		// Truncated or extended input is an error, never a panic.
		raw := fx.raw(t)
		dec := Decode
		if fx.option {
			dec = DecodeAtVersion
		}
		for _, n := range []int{len(raw) - 1, len(raw) / 2, len(raw) - 40} {
			if _, err := dec(raw[:n]); err == nil {
				t.Errorf("%d of %d bytes decoded", n, len(raw))
			}
		}
		if _, err := dec(append(bytes.Clone(raw), 0)); err == nil {
			t.Error("trailing byte accepted")
		}
	})
}

func TestFixturesPallets(t *testing.T) {
	want := map[string]uint8{"System": 0, "Balances": 5, "SubtensorModule": 7, "Utility": 11, "Sudo": 12, "Commitments": 18, "AdminUtils": 19, "Drand": 26}
	eachFixture(t, func(t *testing.T, fx subtensorFixture, m *Metadata) {
		for name, idx := range want {
			if p, ok := m.Pallet(name); !ok || p.Index != idx {
				t.Errorf("Pallet(%q) = %+v, %v; want index %d", name, p, ok, idx)
			}
		}
	})
}

// fixtureCalls are the calls SN27 uses, with the spec that introduced them
// in these fixtures (0: all) and the one that removed them (0: none), as
// CHAIN-TODAY.md lists them: argument names and how they encode.
var fixtureCalls = []struct {
	pallet, call string
	pi, ci       uint8
	from, until  uint64
	args         []string // name:shape
}{
	{"SubtensorModule", "serve_axon", 7, 4, 0, 0, []string{"netuid:u16", "version:u32", "ip:u128", "port:u16", "ip_type:u8", "protocol:u8", "placeholder1:u8", "placeholder2:u8"}},
	{"SubtensorModule", "set_weights", 7, 0, 0, 0, []string{"netuid:u16", "dests:Vec<u16>", "weights:Vec<u16>", "version_key:u64"}},
	{"SubtensorModule", "set_mechanism_weights", 7, 119, 320, 0, []string{"netuid:u16", "mecid:u8", "dests:Vec<u16>", "weights:Vec<u16>", "version_key:u64"}},
	{"SubtensorModule", "commit_weights", 7, 96, 0, 0, []string{"netuid:u16", "commit_hash:[u8; 32]"}},
	{"SubtensorModule", "reveal_weights", 7, 97, 0, 0, []string{"netuid:u16", "uids:Vec<u16>", "values:Vec<u16>", "salt:Vec<u16>", "version_key:u64"}},
	{"SubtensorModule", "commit_mechanism_weights", 7, 115, 320, 0, []string{"netuid:u16", "mecid:u8", "commit_hash:[u8; 32]"}},
	{"SubtensorModule", "reveal_mechanism_weights", 7, 116, 320, 0, []string{"netuid:u16", "mecid:u8", "uids:Vec<u16>", "values:Vec<u16>", "salt:Vec<u16>", "version_key:u64"}},
	{"SubtensorModule", "commit_crv3_weights", 7, 99, 0, 315, []string{"netuid:u16", "commit:Vec<u8>", "reveal_round:u64"}},
	{"SubtensorModule", "commit_timelocked_weights", 7, 113, 315, 0, []string{"netuid:u16", "commit:Vec<u8>", "reveal_round:u64", "commit_reveal_version:u16"}},
	{"SubtensorModule", "commit_timelocked_mechanism_weights", 7, 118, 320, 0, []string{"netuid:u16", "mecid:u8", "commit:Vec<u8>", "reveal_round:u64", "commit_reveal_version:u16"}},
	{"SubtensorModule", "add_stake", 7, 2, 0, 0, []string{"hotkey:[u8; 32]", "netuid:u16", "amount_staked:u64"}},
	{"SubtensorModule", "add_stake_limit", 7, 88, 233, 0, []string{"hotkey:[u8; 32]", "netuid:u16", "amount_staked:u64", "limit_price:u64", "allow_partial:bool"}},
	{"SubtensorModule", "burned_register", 7, 7, 0, 0, []string{"netuid:u16", "hotkey:[u8; 32]"}},
	{"SubtensorModule", "register_network", 7, 59, 0, 0, []string{"hotkey:[u8; 32]"}},
	{"SubtensorModule", "start_call", 7, 92, 315, 0, []string{"netuid:u16"}},
	{"AdminUtils", "sudo_set_commit_reveal_weights_enabled", 19, 49, 0, 0, []string{"netuid:u16", "enabled:bool"}},
	{"AdminUtils", "sudo_set_tempo", 19, 30, 0, 0, []string{"netuid:u16", "tempo:u16"}},
	{"AdminUtils", "sudo_set_weights_set_rate_limit", 19, 7, 0, 0, []string{"netuid:u16", "weights_set_rate_limit:u64"}},
	{"Sudo", "sudo", 12, 0, 0, 0, []string{"call:node_subtensor_runtime::RuntimeCall"}},
}

func TestFixturesCalls(t *testing.T) {
	eachFixture(t, func(t *testing.T, fx subtensorFixture, m *Metadata) {
		for _, c := range fixtureCalls {
			call, err := m.Call(c.pallet, c.call)
			present := fx.spec >= c.from && (c.until == 0 || fx.spec < c.until)
			if !present {
				if err == nil {
					t.Errorf("%s.%s present", c.pallet, c.call)
				}
				continue
			}
			if err != nil {
				t.Errorf("%s.%s: %v", c.pallet, c.call, err)
				continue
			}
			if call.PalletIndex != c.pi || call.Index != c.ci {
				t.Errorf("%s.%s index %d/%d, want %d/%d", c.pallet, c.call, call.PalletIndex, call.Index, c.pi, c.ci)
			}
			var got []string
			for _, a := range call.Args {
				got = append(got, a.Name+":"+m.shape(a.Type))
			}
			if !reflect.DeepEqual(got, c.args) {
				t.Errorf("%s.%s args %v, want %v", c.pallet, c.call, got, c.args)
			}
			if call.Deprecation.Deprecated {
				t.Errorf("%s.%s deprecated: %+v", c.pallet, c.call, call.Deprecation)
			}
		}
	})
}

func TestFixturesSignedExtensions(t *testing.T) {
	type ext struct {
		id                   string
		empty, emptyImplicit bool
	}
	head := []ext{
		{"CheckNonZeroSender", true, true},
		{"CheckSpecVersion", true, false},
		{"CheckTxVersion", true, false},
		{"CheckGenesis", true, false},
		{"CheckMortality", false, false},
		{"CheckNonce", false, true},
		{"CheckWeight", true, true},
		{"ChargeTransactionPayment", false, true},
	}
	custom := map[uint64][]string{ // between ChargeTransactionPayment and CheckMetadataHash
		224: {"SubtensorSignedExtension", "CommitmentsSignedExtension"},
		233: {"SubtensorSignedExtension", "CommitmentsSignedExtension"},
		315: {"SubtensorTransactionExtension", "DrandPriority"},
		320: {"SubtensorTransactionExtension", "DrandPriority"},
		343: {"SubtensorTransactionExtension", "DrandPriority"},
		346: {"SubtensorTransactionExtension", "DrandPriority"},
		381: {"SudoTransactionExtension", "SubtensorTransactionExtension", "DrandPriority"},
	}
	eachFixture(t, func(t *testing.T, fx subtensorFixture, m *Metadata) {
		want := append([]ext(nil), head...)
		for _, id := range custom[fx.spec] {
			want = append(want, ext{id, true, true})
		}
		want = append(want, ext{"CheckMetadataHash", false, false})
		got := m.SignedExtensions()
		var gotExt []ext
		for _, g := range got {
			gotExt = append(gotExt, ext{g.Identifier, m.IsEmpty(g.Type), m.IsEmpty(g.AdditionalSigned)})
		}
		if !reflect.DeepEqual(gotExt, want) {
			t.Errorf("signed extensions\n got %v\nwant %v", gotExt, want)
		}
		// The data a client produces for the non-empty ones.
		shapes := map[string][2]string{
			"CheckSpecVersion":         {"()", "u32"},
			"CheckTxVersion":           {"()", "u32"},
			"CheckGenesis":             {"()", "[u8; 32]"},
			"CheckMortality":           {"sp_runtime::generic::era::Era", "[u8; 32]"},
			"CheckNonce":               {"Compact<u32>", "()"},
			"ChargeTransactionPayment": {"Compact<u64>", "()"},
			"CheckMetadataHash":        {"frame_metadata_hash_extension::Mode", "Option"},
		}
		for _, g := range got {
			if s, ok := shapes[g.Identifier]; ok {
				if a, b := m.shape(g.Type), m.shape(g.AdditionalSigned); a != s[0] || b != s[1] {
					t.Errorf("%s: %s / %s, want %s / %s", g.Identifier, a, b, s[0], s[1])
				}
			}
			if g.Identifier == "CheckMetadataHash" {
				// mode Disabled is variant 0; the implicit data None is 0.
				e := scale.NewEncoder(nil)
				err := m.EncodeValue(g.Type, map[string]any{"mode": "Disabled"}, e)
				err2 := m.EncodeValue(g.AdditionalSigned, Variant{Name: "None"}, e)
				if err != nil || err2 != nil || !bytes.Equal(e.Data(), []byte{0, 0}) {
					t.Errorf("CheckMetadataHash disabled: %x %v %v", e.Data(), err, err2)
				}
			}
		}
		// With V16 the list is the one of transaction extension version 0,
		// which here is every extension in order.
		if v0, ok := m.TransactionExtensions(0); !ok || !reflect.DeepEqual(v0, got) {
			t.Errorf("TransactionExtensions(0) = %v, %v", v0, ok)
		}
		if _, ok := m.TransactionExtensions(1); ok {
			t.Error("TransactionExtensions(1) found")
		}
		if fx.version == 16 && !reflect.DeepEqual(m.txExts, got) {
			t.Errorf("all transaction extensions %v", m.txExts)
		}
	})
}

func TestFixturesStorage(t *testing.T) {
	type item struct {
		pallet, name string
		from         uint64
		hashers      []scale.Hasher
		value        string // shape
	}
	items := []item{
		{"SubtensorModule", "CommitRevealWeightsEnabled", 0, []scale.Hasher{scale.Identity}, "bool"},
		{"SubtensorModule", "RevealPeriodEpochs", 0, []scale.Hasher{scale.Twox64Concat}, "u64"},
		{"SubtensorModule", "CommitRevealWeightsVersion", 315, nil, "u16"},
		{"SubtensorModule", "TimelockedWeightCommits", 315, []scale.Hasher{scale.Twox64Concat, scale.Twox64Concat}, ""},
		{"SubtensorModule", "WeightCommits", 0, []scale.Hasher{scale.Twox64Concat, scale.Twox64Concat}, ""},
		{"SubtensorModule", "Weights", 0, []scale.Hasher{scale.Identity, scale.Identity}, "Vec<(u16, u16)>"},
		{"SubtensorModule", "Axons", 0, []scale.Hasher{scale.Identity, scale.Blake2_128Concat}, "pallet_subtensor::pallet::AxonInfo"},
		{"SubtensorModule", "MechanismCountCurrent", 320, []scale.Hasher{scale.Twox64Concat}, "u8"},
		{"Drand", "Pulses", 0, []scale.Hasher{scale.Blake2_128Concat}, "pallet_drand::types::Pulse"},
		{"Drand", "LastStoredRound", 0, nil, "u64"},
		{"Drand", "BeaconConfig", 0, nil, "pallet_drand::types::BeaconConfiguration"},
		{"System", "Account", 0, []scale.Hasher{scale.Blake2_128Concat}, "frame_system::AccountInfo"},
		{"System", "Events", 0, nil, ""},
	}
	eachFixture(t, func(t *testing.T, fx subtensorFixture, m *Metadata) {
		for _, it := range items {
			e, err := m.Storage(it.pallet, it.name)
			if fx.spec < it.from {
				if err == nil {
					t.Errorf("%s.%s present", it.pallet, it.name)
				}
				continue
			}
			if err != nil {
				t.Errorf("%s.%s: %v", it.pallet, it.name, err)
				continue
			}
			if !reflect.DeepEqual(e.Hashers, it.hashers) && !(len(e.Hashers) == 0 && len(it.hashers) == 0) {
				t.Errorf("%s.%s hashers %v, want %v", it.pallet, it.name, e.Hashers, it.hashers)
			}
			if it.value != "" && m.shape(e.Value) != it.value {
				t.Errorf("%s.%s value %s, want %s", it.pallet, it.name, m.shape(e.Value), it.value)
			}
			if e.Deprecation.Deprecated {
				t.Errorf("%s.%s deprecated", it.pallet, it.name)
			}
		}
		// The beacon is drand quicknet in every runtime's default.
		bc, _ := m.Storage("Drand", "BeaconConfig")
		v, err := m.DecodeValue(bc.Value, scale.NewDecoder(bc.Default))
		info, _ := v.(map[string]any)
		if err != nil || fmt.Sprintf("%x", info["hash"]) != "52db9ba70e0cc0f6eaf7803dd07447a1f5477735fd3f661792ba94600c84e971" ||
			info["genesis_time"] != uint64(1692803367) || info["period"] != uint64(3) {
			t.Errorf("BeaconConfig default %v, %v", v, err)
		}
		// Every default and constant decodes and re-encodes exactly.
		n := 0
		for _, p := range m.pallets {
			for _, e := range p.storage {
				if len(e.KeyTypes) != len(e.Hashers) {
					t.Errorf("%s.%s: %d key types for %d hashers", p.name, e.Name, len(e.KeyTypes), len(e.Hashers))
				}
				if !e.Optional {
					roundTrip(t, m, p.name+"."+e.Name, e.Value, e.Default)
					n++
				}
			}
			for _, c := range p.constants {
				roundTrip(t, m, p.name+"."+c.name, c.ty, c.value)
				n++
			}
		}
		if n < 250 {
			t.Errorf("only %d defaults and constants", n)
		}
	})
}

func TestFixturesRuntimeAPIs(t *testing.T) {
	eachFixture(t, func(t *testing.T, fx subtensorFixture, m *Metadata) {
		in, out, err := m.RuntimeAPI("NeuronInfoRuntimeApi", "get_neurons_lite")
		if fx.version == 14 {
			if err == nil {
				t.Error("V14 describes runtime APIs")
			}
			return
		}
		if err != nil || len(in) != 1 || in[0].Name != "netuid" || m.shape(in[0].Type) != "u16" {
			t.Fatalf("get_neurons_lite %+v %v", in, err)
		}
		if s := m.shape(out); !strings.HasPrefix(s, "Vec<") {
			t.Errorf("get_neurons_lite output %s", s)
		}
		if in, _, err := m.RuntimeAPI("Metadata", "metadata_at_version"); err != nil || len(in) != 1 || m.shape(in[0].Type) != "u32" {
			t.Errorf("metadata_at_version %+v %v", in, err)
		}
		v, ok := m.RuntimeAPIVersion("Metadata")
		if fx.version == 16 {
			if !ok || v != 2 {
				t.Errorf("Metadata API version %d %v", v, ok)
			}
			if v, ok := m.RuntimeAPIVersion("Core"); !ok || v != 5 {
				t.Errorf("Core API version %d %v", v, ok)
			}
		} else if ok {
			t.Error("V15 API version")
		}
	})
}

// What only V16 describes: associated types, view functions, deprecations.
func TestFixturesV16Extras(t *testing.T) {
	for _, fx := range subtensorFixtures {
		m := fx.load(t)
		if fx.version < 16 {
			if _, err := m.AssociatedType("System", "AccountId"); err == nil {
				t.Errorf("%s: associated type", fx.name())
			}
			continue
		}
		t.Run(fx.name(), func(t *testing.T) {
			for _, c := range []struct{ pallet, name, path string }{
				{"System", "AccountId", "sp_core::crypto::AccountId32"},
				{"System", "RuntimeCall", "node_subtensor_runtime::RuntimeCall"},
				{"Proxy", "ProxyType", "subtensor_runtime_common::ProxyType"},
			} {
				ty, err := m.AssociatedType(c.pallet, c.name)
				if err != nil || m.TypePath(ty) != c.path {
					t.Errorf("%s::%s = %s, %v", c.pallet, c.name, m.typeName(ty), err)
				}
			}
			if ty, err := m.AssociatedType("Balances", "Balance"); err != nil || m.shape(ty) != "u64" {
				t.Errorf("Balances::Balance %s %v", m.typeName(ty), err)
			}
			if _, err := m.AssociatedType("System", "Nope"); err == nil {
				t.Error("System::Nope found")
			}
			id, in, out, err := m.ViewFunction("Proxy", "is_superset")
			if err != nil || fmt.Sprintf("%x", id) != "1809d78346727a0ef58c0fa03bafa3231714b0607d62af0a3b3b0ad2c5d55c58" ||
				len(in) != 2 || in[0].Name != "to_check" || m.shape(out) != "bool" {
				t.Errorf("Proxy.is_superset %x %+v %s %v", id, in, m.typeName(out), err)
			}
			if _, _, _, err := m.ViewFunction("Proxy", "nope"); err == nil {
				t.Error("view function nope found")
			}
			c, err := m.Call("Contracts", "call_old_weight")
			if err != nil || !c.Deprecation.Deprecated || !strings.Contains(c.Deprecation.Note, "1D weight") {
				t.Errorf("Contracts.call_old_weight %+v %v", c.Deprecation, err)
			}
			c, err = m.Call("SubtensorModule", "schedule_swap_coldkey")
			if fx.spec == 381 && (err != nil || !c.Deprecation.Deprecated || !strings.Contains(c.Deprecation.Note, "announce_coldkey_swap")) {
				t.Errorf("schedule_swap_coldkey %+v %v", c.Deprecation, err)
			}
			if fx.spec == 346 && (err != nil || c.Deprecation.Deprecated) {
				t.Errorf("schedule_swap_coldkey %+v %v", c.Deprecation, err)
			}
		})
	}
}
