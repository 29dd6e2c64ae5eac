package metadata

import (
	"bytes"
	"reflect"
	"strings"
	"testing"

	"github.com/sn27/sn27/internal/scale"
)

// v16Opts varies v16Synth to make bad metadata.
type v16Opts struct {
	itemTag    uint8            // deprecation tag of the storage item (2: Deprecated)
	variantTag uint8            // deprecation tag of call 1 (2: Deprecated)
	byVersion  map[uint8][]uint // transaction extension indices per version
}

// v16Synth returns V16 metadata using every V16 addition: pallet P
// (index 9) with a deprecated storage item, a deprecated call, a
// constant, an associated type and a view function; two extrinsic
// versions; transaction extensions by version; a versioned runtime API.
func v16Synth(o *v16Opts) []byte {
	if o == nil {
		o = &v16Opts{itemTag: 2, variantTag: 2, byVersion: map[uint8][]uint{0: {0, 1}, 1: {1}}}
	}
	var s synth
	s.prim(primU8)                                                     // 0
	s.prim(primBool)                                                   // 1
	s.variant([]string{"P", "Call"}, sv{"a", 0, nil}, sv{"b", 1, nil}) // 2
	s.prim(primU32)                                                    // 3
	s.tuple()                                                          // 4
	s.compact(3)                                                       // 5
	e := scale.NewEncoder([]byte("meta")).U8(16)
	e.Compact(uint64(len(s.types)))
	for i, def := range s.types {
		e.Compact(uint64(i)).Compact(uint64(len(s.paths[i])))
		for _, p := range s.paths[i] {
			e.Str(p)
		}
		e.Compact(0).Raw(def).Compact(0)
	}
	deprecated := func(tag uint8, note string, since string) {
		e.U8(tag)
		if tag == 2 {
			e.Str(note)
			if since != "" {
				e.U8(1).Str(since)
			} else {
				e.U8(0)
			}
		}
	}
	e.Compact(1).Str("P")
	// storage: prefix, one plain u32 item, Default modifier, default 0
	e.U8(1).Str("P").Compact(1).Str("Item").U8(1).U8(0).Compact(3).Bytes([]byte{0, 0, 0, 0}).Compact(1).Str("doc")
	deprecated(o.itemTag, "old", "v2")
	// calls: type 2, call 1 deprecated
	e.U8(1).Compact(2).Compact(1).U8(1)
	deprecated(o.variantTag, "use a", "")
	e.U8(0) // no event
	// constants
	e.Compact(1).Str("C").Compact(0).Bytes([]byte{7}).Compact(0)
	deprecated(1, "", "")
	e.U8(0) // no error
	// associated types
	e.Compact(1).Str("AccountId").Compact(3).Compact(1).Str("doc")
	// view functions
	e.Compact(1).Raw(bytes.Repeat([]byte{0xab}, 32)).Str("get").Compact(1).Str("x").Compact(3).Compact(1).Compact(0)
	deprecated(0, "", "")
	e.U8(9).Compact(0) // index, docs
	deprecated(1, "", "")
	// extrinsic
	e.Compact(2).U8(4).U8(5).Compact(3).Compact(2).Compact(3)
	keys := make([]int, 0, len(o.byVersion))
	for v := range o.byVersion {
		keys = append(keys, int(v))
	}
	for i := 1; i < len(keys); i++ { // BTreeMap: sorted keys
		for j := i; j > 0 && keys[j] < keys[j-1]; j-- {
			keys[j], keys[j-1] = keys[j-1], keys[j]
		}
	}
	e.Compact(uint64(len(keys)))
	for _, v := range keys {
		idx := o.byVersion[uint8(v)]
		e.U8(uint8(v)).Compact(uint64(len(idx)))
		for _, x := range idx {
			e.Compact(uint64(x))
		}
	}
	e.Compact(2).Str("CheckNonce").Compact(5).Compact(4).Str("Empty").Compact(4).Compact(4)
	// runtime APIs
	e.Compact(1).Str("Api").Compact(1).Str("m").Compact(1).Str("a").Compact(3).Compact(1).Compact(0)
	deprecated(2, "n", "")
	e.Compact(0).Compact(3)
	deprecated(0, "", "")
	e.Compact(2).Compact(2).Compact(2) // outer enums
	e.Compact(0)                       // custom
	return e.Data()
}

func TestSyntheticV16(t *testing.T) {
	var s synth
	s.prim(primU8)
	m := s.decode(t, 16, nil)
	if m.Version != 16 || len(m.custom) != 1 || !reflect.DeepEqual(m.ExtrinsicVersions(), []uint8{4}) || len(m.SignedExtensions()) != 0 {
		t.Errorf("minimal V16: %d %v %v", m.Version, m.custom, m.ExtrinsicVersions())
	}
	enum := s.variant(nil, sv{"E", 3, nil})
	if m := s.decode(t, 16, &enum); func() bool { _, n, _, ok := m.ModuleError(42, 3); return !ok || n != "E" }() {
		t.Error("V16 module error")
	}

	m, err := Decode(v16Synth(nil))
	if err != nil {
		t.Fatal(err)
	}
	if p, ok := m.Pallet("P"); !ok || p.Index != 9 || p.Deprecation != (Deprecation{Deprecated: true}) {
		t.Errorf("pallet %+v %v", p, ok)
	}
	if !reflect.DeepEqual(m.ExtrinsicVersions(), []uint8{4, 5}) {
		t.Errorf("versions %v", m.ExtrinsicVersions())
	}
	ids := func(exts []SignedExtension) []string {
		var out []string
		for _, x := range exts {
			out = append(out, x.Identifier)
		}
		return out
	}
	if got := ids(m.SignedExtensions()); !reflect.DeepEqual(got, []string{"CheckNonce", "Empty"}) {
		t.Errorf("signed extensions %v", got)
	}
	if x, ok := m.TransactionExtensions(1); !ok || !reflect.DeepEqual(ids(x), []string{"Empty"}) || !m.IsEmpty(x[0].Type) {
		t.Errorf("version 1 extensions %v %v", x, ok)
	}
	if _, ok := m.TransactionExtensions(2); ok {
		t.Error("version 2 extensions")
	}
	st, err := m.Storage("P", "Item")
	if err != nil || st.Deprecation != (Deprecation{true, "old", "v2"}) || !bytes.Equal(st.Default, []byte{0, 0, 0, 0}) {
		t.Errorf("storage %+v %v", st, err)
	}
	if c, err := m.Call("P", "b"); err != nil || c.Index != 1 || c.Deprecation != (Deprecation{true, "use a", ""}) {
		t.Errorf("call b %+v %v", c, err)
	}
	if c, err := m.Call("P", "a"); err != nil || c.Deprecation.Deprecated {
		t.Errorf("call a %+v %v", c, err)
	}
	if v, ty, err := m.Constant("P", "C"); err != nil || !bytes.Equal(v, []byte{7}) || ty != 0 {
		t.Errorf("constant %x %d %v", v, ty, err)
	}
	if ty, err := m.AssociatedType("P", "AccountId"); err != nil || ty != 3 {
		t.Errorf("associated type %d %v", ty, err)
	}
	id, in, out, err := m.ViewFunction("P", "get")
	if err != nil || id[0] != 0xab || id[31] != 0xab || len(in) != 1 || in[0] != (Field{Name: "x", Type: 3}) || out != 1 {
		t.Errorf("view function %x %v %d %v", id, in, out, err)
	}
	if in, out, err := m.RuntimeAPI("Api", "m"); err != nil || len(in) != 1 || in[0].Name != "a" || out != 1 {
		t.Errorf("runtime API %v %d %v", in, out, err)
	}
	if v, ok := m.RuntimeAPIVersion("Api"); !ok || v != 3 {
		t.Errorf("API version %d %v", v, ok)
	}
	if m.TypePath(m.outerEnums[0]) != "P::Call" {
		t.Errorf("outer enum %v", m.outerEnums)
	}
	exercise(t, m)

	// Without a version 0 list, v4 extrinsics use every extension.
	m, err = Decode(v16Synth(&v16Opts{2, 2, map[uint8][]uint{1: {1}}}))
	if err != nil || !reflect.DeepEqual(ids(m.SignedExtensions()), []string{"CheckNonce", "Empty"}) {
		t.Errorf("no version 0: %v %v", err, m)
	}

	for _, c := range []struct {
		name string
		o    v16Opts
		want string
	}{
		{"item deprecation tag", v16Opts{3, 2, nil}, `V16 pallet "P": unknown deprecation info 3`},
		{"variant deprecation tag", v16Opts{2, 0, nil}, "unknown variant deprecation info 0"},
		{"extension index", v16Opts{2, 2, map[uint8][]uint{0: {0, 2}}}, "transaction extension version 0 uses extension 2 of 2"},
	} {
		if _, err := Decode(v16Synth(&c.o)); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
	}
	b := v16Synth(nil)
	for n := range len(b) { // every truncation fails cleanly
		if _, err := Decode(b[:n]); err == nil {
			t.Fatalf("%d of %d bytes decoded", n, len(b))
		}
	}
}
