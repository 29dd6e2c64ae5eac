package metadata

import (
	"bytes"
	"encoding/hex"
	"os"
	"strings"
	"testing"

	"github.com/sn27/sn27/internal/scale"
)

// FuzzDecode feeds mutated and truncated metadata to Decode and
// DecodeAtVersion, and exercises every query on what decodes.
func FuzzDecode(f *testing.F) {
	load(f)
	raw15 := inner15(f)
	seeds := [][]byte{fixtures.raw14, raw15, fixtures.option15}
	for _, fx := range subtensorFixtures {
		seeds = append(seeds, fx.raw(f))
	}
	for _, b := range seeds {
		f.Add(b)
		for _, n := range []int{0, 4, 5, 6, 16, 100, 1000, 10000} {
			f.Add(b[:n])
		}
	}
	var s synth
	u8 := s.prim(primU8)
	unit := s.tuple()
	s.seq(s.seq(unit))
	s.composite(nil, sf{"a", 3})
	s.array(1<<32-1, unit)
	s.bits(u8, unit)
	s.compact(s.composite(nil, sf{"", s.prim(primU128)}))
	f.Add(s.bytes(14, nil))
	f.Add(s.bytes(15, nil))
	f.Add(s.bytes(16, nil))
	f.Add(v16Synth(nil))

	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := Decode(b)
		if err != nil {
			if m, err = DecodeAtVersion(b); err != nil {
				return
			}
		}
		exercise(t, m)
	})
}

var junk = []byte{
	0x08, 0x01, 0x00, 0x04, 0xff, 0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x02, 0x09, 0x3d, 0x00, 0x0c, 0x61, 0x62, 0x63, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
}

// exercise runs the queries and a value round trip per type on m.
func exercise(t *testing.T, m *Metadata) {
	if m.Version < 14 || m.Version > 16 {
		t.Fatalf("version %d", m.Version)
	}
	m.ExtrinsicVersions()
	for v := range 2 {
		m.TransactionExtensions(uint8(v))
	}
	for i := range m.pallets {
		p := &m.pallets[i]
		if got, ok := m.Pallet(p.name); !ok || got.Name != p.name {
			t.Fatalf("Pallet(%q) = %v %v", p.name, got, ok)
		}
		m.Call(p.name, "x")
		for j, e := range p.storage {
			if j > 4 {
				break
			}
			se, err := m.Storage(p.name, e.Name)
			if err != nil {
				t.Fatal(err)
			}
			keys := make([][]byte, len(se.KeyTypes))
			for k := range keys {
				keys[k] = junk[:k+1]
			}
			se.Key(keys...)
		}
		for _, c := range p.constants {
			v, ty, err := m.Constant(p.name, c.name)
			if err != nil {
				t.Fatal(err)
			}
			valueRoundTrip(t, m, ty, v)
		}
		for e := 0; e < 4; e++ {
			m.ModuleError(p.index, uint8(e))
		}
		for _, a := range p.assocTypes {
			if ty, err := m.AssociatedType(p.name, a.name); err != nil || m.TypePath(ty) != m.TypePath(a.ty) {
				t.Fatalf("AssociatedType(%q, %q) = %d, %v", p.name, a.name, ty, err)
			}
		}
		for _, v := range p.viewFns {
			if _, _, _, err := m.ViewFunction(p.name, v.name); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, se := range m.SignedExtensions() {
		m.IsEmpty(se.Type)
		m.IsEmpty(se.AdditionalSigned)
	}
	m.RuntimeAPI("A", "b")
	m.RuntimeAPIVersion("A")
	for i := 0; i < len(m.types) && i < 300; i++ {
		m.TypePath(TypeID(i))
		for _, n := range []int{0, 1, 2, 5, len(junk)} {
			valueRoundTrip(t, m, TypeID(i), junk[:n])
		}
	}
}

// valueRoundTrip decodes b as ty; if that works, EncodeValue must give back
// exactly the bytes consumed.
func valueRoundTrip(t *testing.T, m *Metadata, ty TypeID, b []byte) {
	d := scale.NewDecoder(b)
	v, err := m.DecodeValue(ty, d)
	if err != nil {
		if d.Err() == nil {
			t.Fatalf("type %d: error %v not recorded in the decoder", ty, err)
		}
		return
	}
	e := scale.NewEncoder(nil)
	if err := m.EncodeValue(ty, v, e); err != nil {
		t.Fatalf("%s: decoded %x to %#v, which does not encode: %v", m.typeName(ty), b[:d.Offset()], v, err)
	}
	if !bytes.Equal(e.Data(), b[:d.Offset()]) {
		t.Fatalf("%s: round trip of %x gave %x (value %#v)", m.typeName(ty), b[:d.Offset()], e.Data(), v)
	}
}

// FuzzDecodeValue decodes random bytes as a handful of real subtensor types
// and checks the round trip.
func FuzzDecodeValue(f *testing.F) {
	_, m := load(f)
	tys := fuzzTypes(f, m)
	for i, name := range []string{"system-account-alice.hex", "system-events-transfer.hex", "system-events-sudo-failed.hex", "system-number.hex"} {
		b, err := readHex("testdata/" + name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(uint8([]int{0, 1, 1, 2}[i]), b)
	}
	for i := range tys {
		f.Add(uint8(i), []byte{})
		f.Add(uint8(i), junk)
	}
	f.Add(uint8(5), hexMust("0c00"+"131d"+"0000000000000000"))
	f.Fuzz(func(t *testing.T, sel uint8, b []byte) {
		valueRoundTrip(t, m, tys[int(sel)%len(tys)], b)
	})
}

// fuzzTypes: AccountInfo, Vec<EventRecord>, u32, AxonInfo, DispatchError,
// RuntimeCall, the V15 module error enum, Option<[u8;32]>, Era.
func fuzzTypes(tb testing.TB, m *Metadata) []TypeID {
	var tys []TypeID
	for _, s := range [][2]string{{"System", "Account"}, {"System", "Events"}, {"System", "Number"}, {"SubtensorModule", "Axons"}} {
		e, err := m.Storage(s[0], s[1])
		if err != nil {
			tb.Fatal(err)
		}
		tys = append(tys, e.Value)
	}
	for i := range m.types {
		if m.TypePath(TypeID(i)) == "sp_runtime::DispatchError" {
			tys = append(tys, TypeID(i))
		}
	}
	tys = append(tys, m.outerEnums[0], m.outerEnums[2])
	exts := m.SignedExtensions()
	tys = append(tys, exts[10].AdditionalSigned, exts[4].Type)
	if len(tys) != 9 {
		tb.Fatalf("fuzz types %v", tys)
	}
	return tys
}

func readHex(path string) ([]byte, error) {
	s, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return hex.DecodeString(strings.TrimPrefix(strings.TrimSpace(string(s)), "0x"))
}

func hexMust(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}
