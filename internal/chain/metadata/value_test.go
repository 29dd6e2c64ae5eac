package metadata

import (
	"bytes"
	"math/big"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/sn27/sn27/internal/scale"
)

// roundTrip decodes b as type ty (all of it) and checks that EncodeValue
// gives back the same bytes.
func roundTrip(t *testing.T, m *Metadata, what string, ty TypeID, b []byte) any {
	t.Helper()
	d := scale.NewDecoder(b)
	v, err := m.DecodeValue(ty, d)
	if err == nil {
		err = d.Done()
	}
	if err != nil {
		t.Errorf("%s: decode %x as %s: %v", what, b, m.typeName(ty), err)
		return nil
	}
	e := scale.NewEncoder(nil)
	if err := m.EncodeValue(ty, v, e); err != nil {
		t.Errorf("%s: encode %#v: %v", what, v, err)
		return v
	}
	if !bytes.Equal(e.Data(), b) {
		t.Errorf("%s: round trip\n got %x\nwant %x", what, e.Data(), b)
	}
	return v
}

// fixture reads a hex storage value saved from the chain (testdata/README.md).
func fixture(t *testing.T, name string) []byte {
	t.Helper()
	s, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return hexBytes(t, string(s))
}

func storageValue(t *testing.T, m *Metadata, pallet, item, file string) any {
	t.Helper()
	e, err := m.Storage(pallet, item)
	if err != nil {
		t.Fatal(err)
	}
	return roundTrip(t, m, file, e.Value, fixture(t, file))
}

func get(t *testing.T, v any, path ...string) any {
	t.Helper()
	for _, p := range path {
		mp, ok := v.(map[string]any)
		if !ok {
			t.Fatalf("at %q: %T is not a map", p, v)
		}
		if v, ok = mp[p]; !ok {
			t.Fatalf("no field %q in %v", p, mp)
		}
	}
	return v
}

func TestDecodeAccount(t *testing.T) {
	const tao = 1_000_000_000
	both(t, func(t *testing.T, m *Metadata) {
		a := storageValue(t, m, "System", "Account", "system-account-alice-genesis.hex")
		want := map[string]any{
			"nonce": uint64(0), "consumers": uint64(0), "providers": uint64(1), "sufficients": uint64(0),
			"data": map[string]any{"free": uint64(1_000_000 * tao), "reserved": uint64(0), "frozen": uint64(0), "flags": big.NewInt(0)},
		}
		if !deepEqual(a, want) {
			t.Errorf("Alice at genesis = %#v", a)
		}
		a = storageValue(t, m, "System", "Account", "system-account-alice.hex")
		if get(t, a, "nonce") != uint64(2) || get(t, a, "data", "free") != uint64(1_000_000*tao-12345678900-135262) {
			t.Errorf("Alice after = %v", a)
		}
		// Balances.Upgraded set the "new logic" flag, bit 127 of the u128 flags.
		if f := get(t, a, "data", "flags").(*big.Int); f.Cmp(new(big.Int).Lsh(big.NewInt(1), 127)) != 0 {
			t.Errorf("flags %v", f)
		}
		b := storageValue(t, m, "System", "Account", "system-account-bob.hex")
		if get(t, b, "nonce") != uint64(0) || get(t, b, "data", "free") != uint64(1_000_000*tao+12345678900) {
			t.Errorf("Bob = %v", b)
		}
	})
}

func TestDecodeNumber(t *testing.T) {
	both(t, func(t *testing.T, m *Metadata) {
		if v := storageValue(t, m, "System", "Number", "system-number.hex"); v != uint64(3) {
			t.Errorf("System.Number = %#v", v)
		}
	})
}

func TestDecodeEvents(t *testing.T) {
	alice := hexBytes(t, alicePub)
	both(t, func(t *testing.T, m *Metadata) {
		evs, ok := storageValue(t, m, "System", "Events", "system-events-transfer.hex").([]any)
		if !ok || len(evs) != 8 {
			t.Fatalf("events: %#v", evs)
		}
		want := []string{"System.ExtrinsicSuccess", "Balances.Upgraded", "Balances.Withdraw", "Balances.Upgraded",
			"Balances.Transfer", "Balances.Deposit", "TransactionPayment.TransactionFeePaid", "System.ExtrinsicSuccess"}
		for i, ev := range evs {
			outer := get(t, ev, "event").(Variant)
			inner := outer.Fields.(Variant)
			if got := outer.Name + "." + inner.Name; got != want[i] {
				t.Errorf("event %d = %s, want %s", i, got, want[i])
			}
			if topics := get(t, ev, "topics").([]any); len(topics) != 0 {
				t.Errorf("topics %v", topics)
			}
		}
		phase := get(t, evs[4], "phase").(Variant)
		if phase.Name != "ApplyExtrinsic" || phase.Index != 0 || phase.Fields != uint64(1) {
			t.Errorf("phase %#v", phase)
		}
		tr := get(t, evs[4], "event").(Variant)
		if tr.Index != 5 || tr.Fields.(Variant).Index != 2 {
			t.Errorf("transfer indices %d/%d", tr.Index, tr.Fields.(Variant).Index)
		}
		f := tr.Fields.(Variant).Fields
		if !bytes.Equal(get(t, f, "from").([]byte), alice) || len(get(t, f, "to").([]byte)) != 32 || get(t, f, "amount") != uint64(12345678900) {
			t.Errorf("transfer %#v", f)
		}
		// ExtrinsicSuccess{dispatch_info: {weight: {ref_time: Compact<u64>, proof_size}, class, pays_fee}}
		di := get(t, get(t, evs[0], "event").(Variant).Fields.(Variant).Fields, "dispatch_info")
		if get(t, di, "weight", "ref_time") != uint64(265758000) || get(t, di, "weight", "proof_size") != uint64(1493) ||
			get(t, di, "class").(Variant).Name != "Mandatory" || get(t, di, "pays_fee").(Variant) != (Variant{Name: "Yes", Index: 0}) {
			t.Errorf("dispatch info %#v", di)
		}

		// sudo(AdminUtils.sudo_set_tempo(99, 10)) fails inside: Sudid{sudo_result: Err(Module{index: 19, error})}.
		evs = storageValue(t, m, "System", "Events", "system-events-sudo-failed.hex").([]any)
		if len(evs) != 6 {
			t.Fatalf("%d sudo events", len(evs))
		}
		sudid := get(t, evs[2], "event").(Variant).Fields.(Variant)
		if sudid.Name != "Sudid" {
			t.Fatalf("event 2 is %s", sudid.Name)
		}
		res := get(t, sudid.Fields, "sudo_result").(Variant)
		de := res.Fields.(Variant)
		if res.Name != "Err" || de.Name != "Module" {
			t.Fatalf("sudo_result %#v", res)
		}
		me := de.Fields
		idx, errb := get(t, me, "index").(uint64), get(t, me, "error").([]byte)
		p, name, _, ok := m.ModuleError(uint8(idx), errb[0])
		if !ok || p != "AdminUtils" || name != "SubnetDoesNotExist" || !bytes.Equal(errb, []byte{0, 0, 0, 0}) {
			t.Errorf("module error %d %x = %s.%s %v", idx, errb, p, name, ok)
		}
	})
	// Both registries give the same values although their type ids differ.
	m14, m15 := load(t)
	for _, f := range []string{"system-events-transfer.hex", "system-events-sudo-failed.hex"} {
		e14, _ := m14.Storage("System", "Events")
		e15, _ := m15.Storage("System", "Events")
		v14, _ := m14.DecodeValue(e14.Value, scale.NewDecoder(fixture(t, f)))
		v15, _ := m15.DecodeValue(e15.Value, scale.NewDecoder(fixture(t, f)))
		if v14 == nil || !reflect.DeepEqual(v14, v15) {
			t.Errorf("%s: V14 and V15 decode differently", f)
		}
	}
}

// The shapes a dev chain or client builds by hand encode as expected.
func TestEncodeCalls(t *testing.T) {
	both(t, func(t *testing.T, m *Metadata) {
		sudo, _ := m.Call("Sudo", "sudo")
		runtimeCall := sudo.Args[0].Type
		setWeights := Variant{Name: "SubtensorModule", Fields: Variant{Name: "set_weights", Fields: map[string]any{
			"netuid": uint16(3), "dests": []uint16{1, 2}, "weights": []any{65535, uint64(1)}, "version_key": 7,
		}}}
		e := scale.NewEncoder(nil)
		if err := m.EncodeValue(runtimeCall, setWeights, e); err != nil {
			t.Fatal(err)
		}
		want := hexBytes(t, "0700"+"0300"+"08"+"0100"+"0200"+"08"+"ffff"+"0100"+"0700000000000000")
		if !bytes.Equal(e.Data(), want) {
			t.Errorf("set_weights = %x, want %x", e.Data(), want)
		}
		// sudo(AdminUtils.sudo_set_network_rate_limit(0)), the argument in a Box.
		e = scale.NewEncoder(nil)
		err := m.EncodeValue(runtimeCall, Variant{Name: "Sudo", Fields: Variant{Name: "sudo", Fields: map[string]any{
			"call": Variant{Name: "AdminUtils", Fields: &Variant{Name: "sudo_set_network_rate_limit", Fields: map[string]any{"rate_limit": 0}}},
		}}}, e)
		if err != nil || !bytes.Equal(e.Data(), hexBytes(t, "0c00"+"131d"+"0000000000000000")) {
			t.Errorf("sudo = %x, %v", e.Data(), err)
		}
		roundTrip(t, m, "sudo call", runtimeCall, e.Data())
		// serve_axon with an IPv4 u128 and a Variant selected by index only.
		e = scale.NewEncoder(nil)
		err = m.EncodeValue(runtimeCall, Variant{Index: 7, Fields: Variant{Index: 4, Fields: map[string]any{
			"netuid": 1, "version": 1, "ip": big.NewInt(203<<24 | 113<<8 | 7), "port": 8091, "ip_type": 4, "protocol": 4,
			"placeholder1": 0, "placeholder2": 0,
		}}}, e)
		if err != nil || !bytes.Equal(e.Data(), hexBytes(t, "0704"+"0100"+"01000000"+"077100cb000000000000000000000000"+"9b1f"+"04040000")) {
			t.Errorf("serve_axon = %x, %v", e.Data(), err)
		}
		v := roundTrip(t, m, "serve_axon", runtimeCall, e.Data())
		if ip := get(t, v.(Variant).Fields.(Variant).Fields, "ip"); ip.(*big.Int).Int64() != 203<<24|113<<8|7 {
			t.Errorf("ip decodes as %v", ip)
		}
		// Option<T> is a Variant; a fieldless variant may be given by name.
		_, mh := m.SignedExtensions()[10].Type, m.SignedExtensions()[10].AdditionalSigned
		for _, c := range []struct {
			v    any
			want string
		}{
			{"None", "00"},
			{Variant{Name: "Some", Fields: bytes.Repeat([]byte{0xaa}, 32)}, "01" + strings.Repeat("aa", 32)},
		} {
			e = scale.NewEncoder(nil)
			if err := m.EncodeValue(mh, c.v, e); err != nil || !bytes.Equal(e.Data(), hexBytes(t, c.want)) {
				t.Errorf("Option<[u8;32]> %v = %x, %v", c.v, e.Data(), err)
			}
		}
	})
}

func TestEncodeErrors(t *testing.T) {
	_, m := load(t)
	acc, _ := m.Storage("System", "Account")
	sudo, _ := m.Call("Sudo", "sudo")
	call := sudo.Args[0].Type
	num, _ := m.Storage("System", "Number")
	good := map[string]any{"nonce": 1, "consumers": 0, "providers": 1, "sufficients": 0,
		"data": map[string]any{"free": 5, "reserved": 0, "frozen": 0, "flags": 0}}
	e := scale.NewEncoder(nil)
	if err := m.EncodeValue(acc.Value, good, e); err != nil || len(e.Data()) != 4*4+8*3+16 {
		t.Fatalf("good account: %x %v", e.Data(), err)
	}
	cases := []struct {
		name string
		ty   TypeID
		v    any
		want string
	}{
		{"missing field", acc.Value, map[string]any{"nonce": 1}, `missing field "consumers"`},
		{"unknown field", acc.Value, withKey(good, "extra", 1), `unknown field "extra"`},
		{"nested", acc.Value, withKey(good, "data", map[string]any{"free": -1, "reserved": 0, "frozen": 0, "flags": 0}), `field "data": field "free"`},
		{"range", num.Value, uint64(1) << 32, "out of range for u32"},
		{"negative", num.Value, -1, "out of range"},
		{"not int", num.Value, "3", "want an integer"},
		{"nil big", num.Value, (*big.Int)(nil), "nil"},
		{"not map", acc.Value, []any{1}, "want map[string]any"},
		{"variant name", call, Variant{Name: "Nope"}, `no variant "Nope"`},
		{"variant index", call, Variant{Index: 200}, "no variant with index 200"},
		{"variant type", call, 3, "want Variant"},
		{"string for fields", call, "Sudo", "has fields"},
		{"type", TypeID(1 << 30), nil, "not in the registry"},
		{"cycle", call, cyclic(), "nested more than"},
	}
	for _, c := range cases {
		e := scale.NewEncoder([]byte{9})
		err := m.EncodeValue(c.ty, c.v, e)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
		if !bytes.Equal(e.Data(), []byte{9}) {
			t.Errorf("%s: wrote %x on error", c.name, e.Data())
		}
	}
	if err := m.EncodeValue(0, nil, nil); err == nil {
		t.Error("nil encoder")
	}
}

// deepEqual is reflect.DeepEqual, except that *big.Int values compare by value.
func deepEqual(a, b any) bool {
	switch x := a.(type) {
	case *big.Int:
		y, ok := b.(*big.Int)
		return ok && x.Cmp(y) == 0
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, v := range x {
			w, ok := y[k]
			if !ok || !deepEqual(v, w) {
				return false
			}
		}
		return true
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) || (x == nil) != (y == nil) {
			return false
		}
		for i := range x {
			if !deepEqual(x[i], y[i]) {
				return false
			}
		}
		return true
	case Variant:
		y, ok := b.(Variant)
		return ok && x.Name == y.Name && x.Index == y.Index && deepEqual(x.Fields, y.Fields)
	}
	return reflect.DeepEqual(a, b)
}

func withKey(m map[string]any, k string, v any) map[string]any {
	out := map[string]any{}
	for a, b := range m {
		out[a] = b
	}
	out[k] = v
	return out
}

// cyclic returns a Sudo.sudo call that contains itself.
func cyclic() any {
	args := map[string]any{}
	v := Variant{Name: "Sudo", Fields: Variant{Name: "sudo", Fields: args}}
	args["call"] = v
	return v
}

func TestDecodeStrict(t *testing.T) {
	_, m := load(t)
	acc, _ := m.Storage("System", "Account")
	ev, _ := m.Storage("System", "Events")
	good := fixture(t, "system-events-transfer.hex")
	cases := []struct {
		name string
		ty   TypeID
		in   []byte
		want string
	}{
		{"short", acc.Value, fixture(t, "system-account-alice.hex")[:20], "too short"},
		{"empty", acc.Value, nil, "too short"},
		{"non-canonical length", ev.Value, append([]byte{0x21, 0x00}, good[1:]...), "instead of 1"},
		{"huge length", ev.Value, []byte{0xfe, 0xff, 0xff, 0xff, 0}, "exceeds"},
		{"bad variant", ev.Value, []byte{4, 9}, "no variant with index 9"},
		{"type", TypeID(1 << 30), []byte{0}, "not in the registry"},
	}
	for _, c := range cases {
		d := scale.NewDecoder(c.in)
		_, err := m.DecodeValue(c.ty, d)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
		if d.Err() == nil {
			t.Errorf("%s: error not recorded in the decoder", c.name)
		}
	}
	if _, err := m.DecodeValue(0, nil); err == nil {
		t.Error("nil decoder")
	}
	// A decoder that already failed stays failed.
	d := scale.NewDecoder(nil)
	d.U8()
	if _, err := m.DecodeValue(acc.Value, d); err == nil {
		t.Error("failed decoder accepted")
	}
}
