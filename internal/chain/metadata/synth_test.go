package metadata

import (
	"bytes"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/sn27/sn27/internal/scale"
)

// synth builds small V14/V15/V16 metadata with a hand-made type registry, to test
// type kinds the subtensor runtime does not use (signed integers, u256, char,
// bit sequences, cycles, ...).
type synth struct {
	types [][]byte // encoded TypeDef (after path and params) per id
	paths [][]string
}

func (s *synth) add(path []string, def func(e *scale.Encoder)) TypeID {
	e := scale.NewEncoder(nil)
	def(e)
	s.types = append(s.types, e.Data())
	s.paths = append(s.paths, path)
	return TypeID(len(s.types) - 1)
}

func (s *synth) prim(p primitive) TypeID {
	return s.add(nil, func(e *scale.Encoder) { e.U8(5).U8(uint8(p)) })
}
func (s *synth) seq(t TypeID) TypeID {
	return s.add(nil, func(e *scale.Encoder) { e.U8(2).Compact(uint64(t)) })
}
func (s *synth) array(n uint32, t TypeID) TypeID {
	return s.add(nil, func(e *scale.Encoder) { e.U8(3).U32(n).Compact(uint64(t)) })
}
func (s *synth) tuple(ts ...TypeID) TypeID {
	return s.add(nil, func(e *scale.Encoder) {
		e.U8(4).Compact(uint64(len(ts)))
		for _, t := range ts {
			e.Compact(uint64(t))
		}
	})
}
func (s *synth) compact(t TypeID) TypeID {
	return s.add(nil, func(e *scale.Encoder) { e.U8(6).Compact(uint64(t)) })
}
func (s *synth) bits(store, order TypeID) TypeID {
	return s.add(nil, func(e *scale.Encoder) { e.U8(7).Compact(uint64(store)).Compact(uint64(order)) })
}

type sf struct {
	name string // "" for unnamed
	ty   TypeID
}

func encFields(e *scale.Encoder, fs []sf) {
	e.Compact(uint64(len(fs)))
	for _, f := range fs {
		if f.name != "" {
			e.U8(1).Str(f.name)
		} else {
			e.U8(0)
		}
		e.Compact(uint64(f.ty)).U8(0).Compact(0)
	}
}

func (s *synth) composite(path []string, fs ...sf) TypeID {
	return s.add(path, func(e *scale.Encoder) { e.U8(0); encFields(e, fs) })
}

type sv struct {
	name   string
	index  uint8
	fields []sf
}

func (s *synth) variant(path []string, vs ...sv) TypeID {
	return s.add(path, func(e *scale.Encoder) {
		e.U8(1).Compact(uint64(len(vs)))
		for _, v := range vs {
			e.Str(v.name)
			encFields(e, v.fields)
			e.U8(v.index).Compact(1).Str(" doc of " + v.name)
		}
	})
}

// bytes returns V14, V15 or V16 metadata with this registry, one pallet "Test"
// (index 42, error type errType if set) and no signed extensions.
func (s *synth) bytes(version int, errType *TypeID) []byte {
	e := scale.NewEncoder([]byte("meta")).U8(uint8(version))
	e.Compact(uint64(len(s.types)))
	for i, def := range s.types {
		e.Compact(uint64(i)).Compact(uint64(len(s.paths[i])))
		for _, p := range s.paths[i] {
			e.Str(p)
		}
		e.Compact(0).Raw(def).Compact(0)
	}
	e.Compact(1).Str("Test") // pallets
	e.U8(0).U8(0).U8(0)      // no storage, calls, event
	e.Compact(0)             // constants
	if errType != nil {
		e.U8(1).Compact(uint64(*errType))
		if version >= 16 {
			e.Compact(0) // EnumDeprecationInfo: nothing deprecated
		}
	} else {
		e.U8(0)
	}
	if version >= 16 {
		e.Compact(0).Compact(0) // associated types, view functions
	}
	e.U8(42)
	if version == 16 {
		e.Compact(0).U8(0)                                  // docs, NotDeprecated
		e.Compact(1).U8(4).Compact(0).Compact(0).Compact(0) // versions [4], address, call, signature
		e.Compact(0).Compact(0)                             // by version, extensions
		e.Compact(0)                                        // apis
		e.Compact(0).Compact(0).Compact(0)                  // outer enums
		e.Compact(1).Str("k").Compact(0).Bytes([]byte{7})   // custom
	} else if version == 15 {
		e.Compact(0) // docs
		e.U8(4).Compact(0).Compact(0).Compact(0).Compact(0).Compact(0)
		e.Compact(0)                                      // runtime type
		e.Compact(0)                                      // apis
		e.Compact(0).Compact(0).Compact(0)                // outer enums
		e.Compact(1).Str("k").Compact(0).Bytes([]byte{7}) // custom
	} else {
		e.Compact(0).U8(4).Compact(0) // extrinsic
		e.Compact(0)                  // runtime type
	}
	return e.Data()
}

func (s *synth) decode(t *testing.T, version int, errType *TypeID) *Metadata {
	t.Helper()
	m, err := Decode(s.bytes(version, errType))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestSyntheticKinds(t *testing.T) {
	var s synth
	u8 := s.prim(primU8)
	u32 := s.prim(primU32)
	i8 := s.prim(primI8)
	i16 := s.prim(primI16)
	i32 := s.prim(primI32)
	i64 := s.prim(primI64)
	i128 := s.prim(primI128)
	u256 := s.prim(primU256)
	i256 := s.prim(primI256)
	char := s.prim(primChar)
	str := s.prim(primStr)
	boolT := s.prim(primBool)
	u128 := s.prim(primU128)
	unit := s.tuple()
	cu128 := s.compact(u128)
	perbill := s.composite([]string{"sp_arithmetic", "Perbill"}, sf{"", u32})
	cperbill := s.compact(perbill)
	cunit := s.compact(unit)
	bits8 := s.bits(u8, unit)
	bits32 := s.bits(u32, unit)
	units := s.array(3, unit)
	empty := s.composite([]string{"Empty"})
	nested := s.composite(nil, sf{"", empty}, sf{"", units})
	one := s.tuple(u32)
	arr := s.array(2, u32)
	pair := s.composite(nil, sf{"", u8}, sf{"", boolT})
	vecUnit := s.seq(unit)
	zeroArr := s.array(0, u32)
	enum := s.variant([]string{"E"}, sv{"A", 0, nil}, sv{"B", 5, []sf{{"", u8}}}, sv{"C", 9, []sf{{"x", u8}, {"y", str}}})
	m := s.decode(t, 14, &enum)

	cases := []struct {
		name string
		ty   TypeID
		hex  string
		want any
	}{
		{"i8", i8, "fb", int64(-5)},
		{"i16", i16, "00 80", int64(-32768)},
		{"i32", i32, "ffffffff", int64(-1)},
		{"i64", i64, "feffffffffffffff", int64(-2)},
		{"i128", i128, "fe" + strings.Repeat("ff", 15), big.NewInt(-2)},
		{"i128 max", i128, strings.Repeat("ff", 15) + "7f", new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 127), big.NewInt(1))},
		{"u256", u256, "01" + strings.Repeat("00", 30) + "80", new(big.Int).Add(new(big.Int).Lsh(big.NewInt(1), 255), big.NewInt(1))},
		{"i256", i256, strings.Repeat("00", 31) + "80", new(big.Int).Neg(new(big.Int).Lsh(big.NewInt(1), 255))},
		{"char", char, "e9000000", 'é'},
		{"str", str, "0c616263", "abc"},
		{"compact u128 small", cu128, "fd03", uint64(255)},
		{"compact u128 big", cu128, "17" + "0000000000000000" + "01", new(big.Int).Lsh(big.NewInt(1), 64)},
		{"compact perbill", cperbill, "02093d00", uint64(1_000_000)},
		{"compact unit", cunit, "", nil},
		{"bits u8", bits8, "28ff03", []byte{0x28, 0xff, 0x03}},
		{"bits u32", bits32, "0401000000", []byte{0x04, 1, 0, 0, 0}},
		{"bits none", bits32, "00", []byte{0}},
		{"[();3]", units, "", []any{nil, nil, nil}},
		{"empty composite", empty, "", nil},
		{"composite of empties", nested, "", []any{nil, []any{nil, nil, nil}}},
		{"1-tuple", one, "05000000", []any{uint64(5)}},
		{"newtype", perbill, "40420f00", uint64(1_000_000)},
		{"array", arr, "0100000002000000", []any{uint64(1), uint64(2)}},
		{"unnamed pair", pair, "0701", []any{uint64(7), true}},
		{"Vec<()>", vecUnit, "0c", []any{nil, nil, nil}},
		{"[u32;0]", zeroArr, "", []any{}},
		{"variant A", enum, "00", Variant{Name: "A", Index: 0}},
		{"variant B", enum, "0507", Variant{Name: "B", Index: 5, Fields: uint64(7)}},
		{"variant C", enum, "09070468", Variant{Name: "C", Index: 9, Fields: map[string]any{"x": uint64(7), "y": "h"}}},
	}
	for _, c := range cases {
		b := hexBytes(t, strings.ReplaceAll(c.hex, " ", ""))
		v := roundTrip(t, m, c.name, c.ty, b)
		if !deepEqual(v, c.want) {
			t.Errorf("%s = %#v, want %#v", c.name, v, c.want)
		}
	}
	for _, ty := range []TypeID{unit, cunit, units, empty, nested, zeroArr} {
		if !m.IsEmpty(ty) {
			t.Errorf("IsEmpty(%s) = false", m.typeName(ty))
		}
	}
	for _, ty := range []TypeID{u8, one, arr, vecUnit, enum, bits8, perbill} {
		if m.IsEmpty(ty) {
			t.Errorf("IsEmpty(%s) = true", m.typeName(ty))
		}
	}
	if p := m.TypePath(perbill); p != "sp_arithmetic::Perbill" {
		t.Errorf("TypePath = %q", p)
	}
	if p, n, doc, ok := m.ModuleError(42, 9); !ok || p != "Test" || n != "C" || doc != "doc of C" {
		t.Errorf("ModuleError = %q %q %q %v", p, n, doc, ok)
	}

	bad := []struct {
		name string
		ty   TypeID
		hex  string
		want string
	}{
		{"bool 2", boolT, "02", "bool byte"},
		{"char surrogate", char, "00d80000", "invalid char"},
		{"str utf8", str, "04ff", "UTF-8"},
		{"compact perbill overflow", cperbill, "07" + "0000000001", "overflows u32"},
		{"compact non-canonical", cperbill, "0100", "instead of 1"},
		{"compact big non-canonical", cu128, "13" + "0100000000000000" + "00", "instead of"},
		{"compact u128 overflow", cu128, "37" + strings.Repeat("00", 16) + "01", "overflows u128"},
		{"bits short", bits32, "0801", "too short"},
		{"variant", enum, "03", "no variant with index 3"},
		{"array short", arr, "01000000", "too short"},
	}
	for _, c := range bad {
		_, err := m.DecodeValue(c.ty, scale.NewDecoder(hexBytes(t, c.hex)))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
	}
	encBad := []struct {
		name string
		ty   TypeID
		v    any
		want string
	}{
		{"i8 range", i8, 128, "out of range for i8"},
		{"u256 negative", u256, -1, "out of range"},
		{"char", char, 0xd800, "not a valid char"},
		{"bits", bits8, []byte{0x28}, "not a valid encoded bit sequence"},
		{"bits type", bits8, "x", "want []byte"},
		{"array len", arr, []any{1}, "need 2 elements"},
		{"tuple len", one, []any{1, 2}, "need 1 tuple elements"},
		{"pair len", pair, []any{1}, "need 2 fields"},
		{"compact unit", cunit, 1, "want nil"},
		{"compact range", cperbill, uint64(1) << 32, "out of range"},
		{"empty", empty, 1, "want nil"},
		{"bool", boolT, 1, "want bool"},
		{"str", str, 1, "want string"},
		{"slice", arr, 1, "want a slice"},
	}
	for _, c := range encBad {
		err := m.EncodeValue(c.ty, c.v, scale.NewEncoder(nil))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("encode %s: %v, want %q", c.name, err, c.want)
		}
	}
	// Conveniences: []byte for str, [N]T arrays, *Variant, big.Int values.
	e := scale.NewEncoder(nil)
	for _, c := range []struct {
		ty TypeID
		v  any
	}{{str, []byte("abc")}, {arr, [2]uint16{1, 2}}, {enum, &Variant{Name: "B", Fields: uint8(7)}}, {i128, *big.NewInt(-2)}, {empty, []any{}}, {char, 'é'}} {
		if err := m.EncodeValue(c.ty, c.v, e); err != nil {
			t.Errorf("encode %T: %v", c.v, err)
		}
	}
	want := "0c616263" + "0100000002000000" + "0507" + "fe" + strings.Repeat("ff", 15) + "e9000000"
	if !bytes.Equal(e.Data(), hexBytes(t, want)) {
		t.Errorf("conveniences %x", e.Data())
	}
}

// Bad metadata is rejected, and hostile registries cannot make value
// decoding loop, recurse without bound or allocate without bound.
func TestSyntheticHostile(t *testing.T) {
	var s synth
	u8 := s.prim(primU8)
	selfRef := s.composite(nil, sf{"a", 1}) // type 1 contains itself
	unit := s.tuple()
	vecUnit := s.seq(unit)
	vecVecUnit := s.seq(vecUnit)
	bigUnits := s.array(1<<32-1, unit)
	bigBytes := s.array(1<<32-1, u8)
	bigU32s := s.array(1<<32-1, s.prim(primU32))
	wide := s.composite(nil, sf{"", unit}, sf{"", unit}, sf{"", unit}, sf{"", unit})
	var deep TypeID = wide
	for range 40 {
		deep = s.composite(nil, sf{"", deep}, sf{"", deep})
	}
	m := s.decode(t, 15, nil)
	if m.IsEmpty(selfRef) || !m.IsEmpty(deep) || !m.IsEmpty(bigUnits) {
		t.Errorf("IsEmpty self=%v deep=%v", m.IsEmpty(selfRef), m.IsEmpty(deep))
	}
	cases := []struct {
		name string
		ty   TypeID
		in   []byte
		want string
	}{
		{"self", selfRef, make([]byte, 100), "nested more than 64"},
		{"vec vec unit", vecVecUnit, []byte{0x04, 0xfe, 0xff, 0xff, 0xff}, "too large"},
		{"vec vec unit budget", vecVecUnit, append([]byte{0x28}, bytes.Repeat([]byte{0x28}, 10)...), ""},
		{"big unit array", bigUnits, nil, "too large"},
		{"big byte array", bigBytes, make([]byte, 10), "too short"},
		{"big u32 array", bigU32s, make([]byte, 10), "too short"},
		{"deep", deep, nil, "too large"},
	}
	for _, c := range cases {
		start := time.Now()
		_, err := m.DecodeValue(c.ty, scale.NewDecoder(c.in))
		if c.want == "" {
			if err != nil {
				t.Errorf("%s: %v", c.name, err)
			}
		} else if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
		if d := time.Since(start); d > time.Second {
			t.Errorf("%s took %v", c.name, d)
		}
	}
	// Budget: 8 values per byte + 256. Vec<Vec<()>> of 100 inner vecs of
	// 63 units each is 1+100+6300 values for 102 bytes: too many.
	in2 := append([]byte{0x91, 0x01}, bytes.Repeat([]byte{0xfc}, 100)...)
	if _, err := m.DecodeValue(vecVecUnit, scale.NewDecoder(in2)); err == nil || !strings.Contains(err.Error(), "too large") {
		t.Errorf("budget: %v", err)
	}
	if err := m.EncodeValue(selfRef, map[string]any{}, scale.NewEncoder(nil)); err == nil {
		t.Error("encoded a self-referential type")
	}

	// Broken registries.
	reg := func(defs ...[]byte) []byte {
		e := scale.NewEncoder([]byte("meta")).U8(14).Compact(uint64(len(defs)))
		for i, d := range defs {
			e.Compact(uint64(i)).Compact(0).Compact(0).Raw(d).Compact(0)
		}
		return e.Compact(0).Compact(0).U8(4).Compact(0).Compact(0).Data()
	}
	for _, c := range []struct {
		name string
		in   []byte
		want string
	}{
		{"ok", reg([]byte{5, 3}), ""},
		{"empty registry", reg(), "empty type registry"},
		{"dangling", reg([]byte{2, 7 << 2}), "type 0 refers to type 7"},
		{"primitive", reg([]byte{5, 15}), "unknown primitive 15"},
		{"kind", reg([]byte{8}), "unknown type definition 8"},
		{"ids", append(append([]byte("meta\x0e\x04"), 0x04, 0, 0, 5, 3, 0), 0, 0, 4, 0, 0), "ids must be sequential"},
		{"bad option", reg([]byte{0, 4, 2, 0, 0, 0}), "bool byte"},
	} {
		_, err := Decode(c.in)
		if c.want == "" {
			if err != nil {
				t.Errorf("%s: %v", c.name, err)
			}
		} else if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
	}
}

func TestSyntheticV15(t *testing.T) {
	var s synth
	s.prim(primU8)
	m := s.decode(t, 15, nil)
	if m.Version != 15 || len(m.custom) != 1 || !bytes.Equal(m.custom["k"].value, []byte{7}) {
		t.Errorf("V15 synthetic: %d %v", m.Version, m.custom)
	}
	if _, _, err := m.RuntimeAPI("A", "b"); err == nil {
		t.Error("RuntimeAPI on empty apis")
	}
	if len(m.SignedExtensions()) != 0 {
		t.Error("signed extensions")
	}
}
