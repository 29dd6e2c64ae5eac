package metadata

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/sn27/sn27/internal/scale"
)

func (m *Metadata) pallet(name string) (*palletDef, error) {
	i, ok := m.byName[name]
	if !ok {
		return nil, fmt.Errorf("metadata: no pallet %q", name)
	}
	return &m.pallets[i], nil
}

// Pallet returns the pallet with this name.
func (m *Metadata) Pallet(name string) (Pallet, bool) {
	p, err := m.pallet(name)
	if err != nil {
		return Pallet{}, false
	}
	return Pallet{Name: p.name, Index: p.index, Deprecation: p.deprecation}, true
}

// Call returns the dispatchable pallet.call with its indices and arguments.
func (m *Metadata) Call(pallet, call string) (Call, error) {
	p, err := m.pallet(pallet)
	if err != nil {
		return Call{}, err
	}
	if !p.hasCalls {
		return Call{}, fmt.Errorf("metadata: pallet %q has no calls", pallet)
	}
	t := &m.types[p.calls]
	if t.kind != kindVariant {
		return Call{}, fmt.Errorf("metadata: the call type %d of pallet %q is not an enum", p.calls, pallet)
	}
	for _, v := range t.variants {
		if v.name == call {
			return Call{
				Pallet: p.name, PalletIndex: p.index,
				Name: v.name, Index: v.index,
				Args:        append([]Field(nil), v.fields...),
				Deprecation: p.callDepr[v.index],
			}, nil
		}
	}
	return Call{}, fmt.Errorf("metadata: pallet %q has no call %q", pallet, call)
}

// Storage returns the storage item pallet.item. The result is a copy.
func (m *Metadata) Storage(pallet, item string) (*StorageEntry, error) {
	p, err := m.pallet(pallet)
	if err != nil {
		return nil, err
	}
	if !p.hasStorage {
		return nil, fmt.Errorf("metadata: pallet %q has no storage", pallet)
	}
	for i := range p.storage {
		if e := &p.storage[i]; e.Name == item {
			c := *e
			c.Hashers = append([]scale.Hasher(nil), e.Hashers...)
			c.KeyTypes = append([]TypeID(nil), e.KeyTypes...)
			c.Default = bytes.Clone(e.Default)
			return &c, nil
		}
	}
	return nil, fmt.Errorf("metadata: pallet %q has no storage item %q", pallet, item)
}

// Key returns the storage key twox128(prefix) ‖ twox128(item) ‖ hasher_i(key_i),
// where prefix is the pallet's storage prefix (its name in FRAME). Each key
// is the SCALE encoding of the corresponding KeyTypes entry; it must decode
// as that type exactly, or Key returns an error. Fewer keys than hashers
// give a prefix for iterating the rest of the map.
func (e *StorageEntry) Key(keys ...[]byte) ([]byte, error) {
	if len(keys) > len(e.Hashers) {
		if len(e.Hashers) == 0 {
			return nil, fmt.Errorf("metadata: storage %s.%s is a plain value and takes no keys (got %d)", e.Pallet, e.Name, len(keys))
		}
		return nil, fmt.Errorf("metadata: storage %s.%s takes at most %d keys, got %d", e.Pallet, e.Name, len(e.Hashers), len(keys))
	}
	prefix := e.prefix
	if prefix == "" {
		prefix = e.Pallet
	}
	out := append(scale.Twox128([]byte(prefix)), scale.Twox128([]byte(e.Name))...)
	for i, k := range keys {
		if e.m != nil && i < len(e.KeyTypes) {
			d := scale.NewDecoder(k)
			e.m.DecodeValue(e.KeyTypes[i], d) // the error is also in d
			if err := d.Done(); err != nil {
				return nil, fmt.Errorf("metadata: storage %s.%s key %d is not a valid %s: %w",
					e.Pallet, e.Name, i, e.m.typeName(e.KeyTypes[i]), err)
			}
		}
		out = append(out, e.Hashers[i].Hash(k)...)
	}
	return out, nil
}

// ModuleError names the error of DispatchError::Module{index, error}: the
// pallet with that index, the variant of its Error enum with the first error
// byte as index, and the variant's doc comment (lines trimmed and joined with
// spaces).
func (m *Metadata) ModuleError(palletIndex uint8, errorIndex uint8) (pallet, name, doc string, ok bool) {
	for i := range m.pallets {
		p := &m.pallets[i]
		if p.index != palletIndex {
			continue
		}
		if !p.hasError {
			return p.name, "", "", false
		}
		t := &m.types[p.errType]
		if t.kind != kindVariant {
			return p.name, "", "", false
		}
		for _, v := range t.variants {
			if v.index == errorIndex {
				return p.name, v.name, joinDocs(v.docs), true
			}
		}
		return p.name, "", "", false
	}
	return "", "", "", false
}

func joinDocs(docs []string) string {
	parts := make([]string, 0, len(docs))
	for _, l := range docs {
		if l = strings.TrimSpace(l); l != "" {
			parts = append(parts, l)
		}
	}
	return strings.Join(parts, " ")
}

// SignedExtensions returns the signed extensions of v4 signed extrinsics in
// extrinsic order. With metadata V16 these are the transaction extensions of
// transaction extension version 0 (or, if the metadata lists none for
// version 0, all of them, as polkadot.js assumes).
func (m *Metadata) SignedExtensions() []SignedExtension {
	return append([]SignedExtension(nil), m.signedExts...)
}

// IsEmpty reports whether values of type t encode to zero bytes (the unit
// tuple, a composite or tuple of such types or of none, an array of length
// 0 or of such types). An unknown type is not empty.
func (m *Metadata) IsEmpty(t TypeID) bool {
	return int64(t) < int64(len(m.empty)) && m.empty[t]
}

// Constant returns the SCALE-encoded value of pallet constant pallet.name and
// its type.
func (m *Metadata) Constant(pallet, name string) (value []byte, t TypeID, err error) {
	p, err := m.pallet(pallet)
	if err != nil {
		return nil, 0, err
	}
	for _, c := range p.constants {
		if c.name == name {
			return bytes.Clone(c.value), c.ty, nil
		}
	}
	return nil, 0, fmt.Errorf("metadata: pallet %q has no constant %q", pallet, name)
}

// TypePath returns the Rust path of type t joined with "::" (e.g.
// "sp_runtime::DispatchError"), or "" for types without a path (primitives,
// tuples, sequences, ...) and unknown types.
func (m *Metadata) TypePath(t TypeID) string {
	if int64(t) >= int64(len(m.types)) {
		return ""
	}
	return strings.Join(m.types[t].path, "::")
}

// typeName describes a type for error messages.
func (m *Metadata) typeName(t TypeID) string {
	if p := m.TypePath(t); p != "" {
		return fmt.Sprintf("type %d (%s)", t, p)
	}
	if int64(t) < int64(len(m.types)) {
		td := &m.types[t]
		switch td.kind {
		case kindPrimitive:
			return fmt.Sprintf("type %d (%s)", t, primNames[td.prim])
		case kindSequence:
			return fmt.Sprintf("type %d (Vec<type %d>)", t, td.elem)
		case kindArray:
			return fmt.Sprintf("type %d ([type %d; %d])", t, td.elem, td.length)
		case kindCompact:
			return fmt.Sprintf("type %d (Compact<type %d>)", t, td.elem)
		case kindTuple:
			return fmt.Sprintf("type %d (%d-tuple)", t, len(td.tuple))
		}
	}
	return fmt.Sprintf("type %d", t)
}

var primNames = [...]string{"bool", "char", "str", "u8", "u16", "u32", "u64", "u128", "u256", "i8", "i16", "i32", "i64", "i128", "i256"}

// RuntimeAPI returns the inputs (Field.TypeName is empty) and the output
// type of runtime API method trait_method, e.g. ("NeuronInfoRuntimeApi",
// "get_neurons_lite"). Runtime APIs are described only by metadata V15.
func (m *Metadata) RuntimeAPI(trait, method string) (inputs []Field, output TypeID, err error) {
	if m.Version < 15 {
		return nil, 0, fmt.Errorf("metadata: runtime APIs are described from metadata V15 on; this is V%d (use DecodeAtVersion with Metadata_metadata_at_version(15))", m.Version)
	}
	methods, ok := m.apis[trait]
	if !ok {
		return nil, 0, fmt.Errorf("metadata: no runtime API %q", trait)
	}
	am, ok := methods[method]
	if !ok {
		return nil, 0, fmt.Errorf("metadata: runtime API %q has no method %q", trait, method)
	}
	return append([]Field(nil), am.inputs...), am.output, nil
}
