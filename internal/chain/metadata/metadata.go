package metadata

import (
	"bytes"
	"errors"
	"fmt"
	"math"

	"github.com/sn27/sn27/internal/scale"
)

// TypeID identifies a type in the metadata's portable type registry.
type TypeID uint32

// Metadata is decoded runtime metadata (V14, V15 or V16).
type Metadata struct {
	// Version is the metadata version: 14, 15 or 16.
	Version int

	types   []typeDef
	empty   []bool // per type: encodes to zero bytes
	pallets []palletDef
	byName  map[string]int // pallet name -> index into pallets

	extrinsicVersions []uint8 // V14/V15: the one version; V16: all supported
	extrinsicType     TypeID  // V14 only: the UncheckedExtrinsic type
	signedExts        []SignedExtension
	runtimeType       TypeID // V14 and V15 only

	// V16 only: every transaction extension, and the indices into it of
	// the extensions used by each transaction extension version.
	txExts       []SignedExtension
	txExtsByVers map[uint8][]int

	// V15 and V16.
	apis        map[string]map[string]apiMethod // trait -> method
	apiVersions map[string]uint32               // V16 only
	outerEnums  [3]TypeID                       // call, event, module error
	custom      map[string]customValue
}

type typeKind uint8

const (
	kindComposite typeKind = iota
	kindVariant
	kindSequence
	kindArray
	kindTuple
	kindPrimitive
	kindCompact
	kindBitSequence
)

type primitive uint8

const (
	primBool primitive = iota
	primChar
	primStr
	primU8
	primU16
	primU32
	primU64
	primU128
	primU256
	primI8
	primI16
	primI32
	primI64
	primI128
	primI256
)

type typeDef struct {
	path     []string
	kind     typeKind
	fields   []Field // composite
	named    bool    // composite: every field has a name (and there is one)
	variants []variantDef
	elem     TypeID // sequence, array, compact; bit store type for bit sequences
	order    TypeID // bit order type for bit sequences
	length   uint32 // array
	tuple    []TypeID
	prim     primitive
}

type variantDef struct {
	name   string
	index  uint8
	fields []Field
	named  bool
	docs   []string
}

type palletDef struct {
	name          string
	index         uint8
	hasStorage    bool
	storagePrefix string
	storage       []StorageEntry
	hasCalls      bool
	calls         TypeID
	hasEvent      bool
	event         TypeID
	constants     []constantDef
	hasError      bool
	errType       TypeID

	// V16 only.
	deprecation Deprecation
	callDepr    map[uint8]Deprecation // by call index; nil when none is deprecated
	assocTypes  []assocType
	viewFns     []viewFunction
}

type assocType struct {
	name string
	ty   TypeID
}

type viewFunction struct {
	id     [32]byte
	name   string
	inputs []Field
	output TypeID
}

type constantDef struct {
	name  string
	ty    TypeID
	value []byte
}

type apiMethod struct {
	inputs []Field
	output TypeID
}

type customValue struct {
	ty    TypeID
	value []byte
}

// Pallet names a pallet and its index (the first byte of its calls, events
// and errors).
type Pallet struct {
	Name  string
	Index uint8
	// Deprecation is described by metadata V16 only.
	Deprecation Deprecation
}

// Call describes a dispatchable: its pallet, its index within the pallet and
// its arguments in order.
type Call struct {
	Pallet      string
	PalletIndex uint8
	Name        string
	Index       uint8
	Args        []Field
	// Deprecation is the call's deprecation status (metadata V16 describes
	// it; with V14 and V15 it is always the zero value).
	Deprecation Deprecation
}

// Deprecation is the deprecation status of an item in metadata V16.
type Deprecation struct {
	Deprecated bool
	Note       string // may be empty for a deprecated item
	Since      string // may be empty
}

// Field is a named (or unnamed, Name "") field of a struct, enum variant or
// call, with its type and the Rust type name recorded in the metadata (e.g.
// "T::AccountId", "Vec<u16>"; may be empty).
type Field struct {
	Name     string
	Type     TypeID
	TypeName string
}

// SignedExtension is one entry of the extrinsic's signed extensions, in the
// order they are encoded: Type is the data carried in the extrinsic, and
// AdditionalSigned the data only included in the signed payload. Metadata
// V16 calls them transaction extensions, and AdditionalSigned "implicit".
type SignedExtension struct {
	Identifier       string
	Type             TypeID
	AdditionalSigned TypeID
}

// StorageEntry describes a storage item.
type StorageEntry struct {
	Pallet, Name string
	// Optional is true for the Optional modifier (a missing value reads as
	// None) and false for Default (a missing value reads as Default).
	Optional bool
	// Hashers and KeyTypes have one element per map key; both are empty for a
	// plain value.
	Hashers  []scale.Hasher
	KeyTypes []TypeID
	Value    TypeID
	Default  []byte
	// Deprecation is described by metadata V16 only.
	Deprecation Deprecation

	prefix  string // storage prefix of the pallet (normally its name)
	keyType TypeID // of a map: the key type (a tuple for several keys)
	m       *Metadata
}

const (
	magic    = 0x6174656d // "meta", little-endian
	maxDepth = 64
)

// Decode decodes runtime metadata as returned by state_getMetadata: the
// "meta" magic, a version byte, then RuntimeMetadataV14, V15 or V16.
// Trailing bytes are an error.
func Decode(b []byte) (*Metadata, error) {
	d := scale.NewDecoder(b)
	if len(b) < 5 {
		return nil, fmt.Errorf("metadata: %d bytes is too short for metadata", len(b))
	}
	if mg := d.U32(); mg != magic {
		return nil, fmt.Errorf("metadata: bad magic %#08x (want \"meta\")", mg)
	}
	v := d.U8()
	if v < 14 || v > 16 {
		return nil, fmt.Errorf("metadata: version %d is not supported (only 14, 15 and 16)", v)
	}
	r := &reader{d: d, version: int(v)}
	m, err := r.metadata()
	if err != nil {
		return nil, err
	}
	if err := d.Done(); err != nil {
		return nil, fmt.Errorf("metadata: after the V%d metadata: %w", v, err)
	}
	return m, nil
}

// DecodeAtVersion decodes the result of the runtime call
// Metadata_metadata_at_version: Option<OpaqueMetadata>, where OpaqueMetadata
// is a Vec<u8> holding what Decode takes. None (the runtime does not offer
// that version) is an error.
func DecodeAtVersion(b []byte) (*Metadata, error) {
	d := scale.NewDecoder(b)
	if !d.Option() {
		if err := d.Err(); err != nil {
			return nil, fmt.Errorf("metadata: Option<OpaqueMetadata>: %w", err)
		}
		return nil, errors.New("metadata: the runtime returned None (metadata version not available)")
	}
	inner := d.Bytes()
	if err := d.Done(); err != nil {
		return nil, fmt.Errorf("metadata: Option<OpaqueMetadata>: %w", err)
	}
	return Decode(inner)
}

// reader decodes the metadata structures, naming where it failed.
type reader struct {
	d       *scale.Decoder
	version int
	ntypes  int // once the registry is read: every type ID must be below this
	where   string
}

func (r *reader) fail(format string, args ...any) {
	r.d.Fail(fmt.Errorf(format, args...))
}

func (r *reader) ok() bool { return r.d.Err() == nil }

// vecLen reads a vector length whose elements take at least min bytes each.
func (r *reader) vecLen(min int) int { return r.d.Len(min) }

// capFor bounds an initial slice capacity; the rest grows by append.
func capFor(n int) int { return min(n, 64) }

func (r *reader) str() string { return string(r.d.Bytes()) }

func (r *reader) strs() []string {
	n := r.vecLen(1)
	var out []string
	if n > 0 {
		out = make([]string, 0, capFor(n))
	}
	for i := 0; i < n && r.ok(); i++ {
		out = append(out, r.str())
	}
	return out
}

func (r *reader) skipStrs() {
	n := r.vecLen(1)
	for i := 0; i < n && r.ok(); i++ {
		r.d.Bytes()
	}
}

// bytesCopy reads a Vec<u8> and copies it out of the input.
func (r *reader) bytesCopy() []byte {
	b := r.d.Bytes()
	if b == nil {
		return nil
	}
	return bytes.Clone(b)
}

// typeID reads a Compact<u32> type reference, checking it against the
// registry once the registry is known.
func (r *reader) typeID() TypeID {
	v := r.d.Compact()
	if !r.ok() {
		return 0
	}
	if v > math.MaxUint32 {
		r.fail("type id %d does not fit in u32", v)
		return 0
	}
	if r.ntypes > 0 && v >= uint64(r.ntypes) {
		r.fail("type id %d is not in the registry (%d types)", v, r.ntypes)
		return 0
	}
	return TypeID(v)
}

func (r *reader) optTypeID() (TypeID, bool) {
	if !r.d.Option() {
		return 0, false
	}
	return r.typeID(), r.ok()
}

func (r *reader) err() error {
	if err := r.d.Err(); err != nil {
		return fmt.Errorf("metadata: V%d %s: %w", r.version, r.where, err)
	}
	return nil
}

// at names the part being decoded, for errors; it sticks after a failure.
func (r *reader) at(format string, args ...any) {
	if r.ok() {
		r.where = fmt.Sprintf(format, args...)
	}
}

func (r *reader) metadata() (*Metadata, error) {
	m := &Metadata{Version: r.version}
	r.at("type registry")
	m.types = r.registry()
	if err := r.err(); err != nil {
		return nil, err
	}
	if len(m.types) == 0 {
		return nil, errors.New("metadata: empty type registry")
	}
	r.ntypes = len(m.types)
	if err := m.checkTypeRefs(); err != nil {
		return nil, err
	}
	m.computeEmpty()

	r.at("pallets")
	n := r.vecLen(7)
	m.pallets = make([]palletDef, 0, capFor(n))
	m.byName = make(map[string]int, capFor(n))
	for i := 0; i < n && r.ok(); i++ {
		p := r.pallet(m)
		if !r.ok() {
			break
		}
		if _, dup := m.byName[p.name]; !dup {
			m.byName[p.name] = len(m.pallets)
		}
		m.pallets = append(m.pallets, p)
	}
	if err := r.err(); err != nil {
		return nil, err
	}

	r.at("extrinsic")
	switch r.version {
	case 14:
		m.extrinsicType = r.typeID()
		m.extrinsicVersions = []uint8{r.d.U8()}
		m.signedExts = r.extensions()
	case 15:
		m.extrinsicVersions = []uint8{r.d.U8()}
		for i := 0; i < 4; i++ { // address, call, signature, extra
			r.typeID()
		}
		m.signedExts = r.extensions()
	case 16:
		r.extrinsicV16(m)
	}
	if r.version < 16 {
		r.at("runtime type")
		m.runtimeType = r.typeID()
	}
	if err := r.err(); err != nil {
		return nil, err
	}
	if r.version >= 15 {
		r.v15(m)
		if err := r.err(); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// extensions reads Vec<SignedExtensionMetadata{identifier, ty,
// additional_signed}> (V16: TransactionExtensionMetadata{identifier, ty,
// implicit}, the same layout).
func (r *reader) extensions() []SignedExtension {
	n := r.vecLen(3)
	exts := make([]SignedExtension, 0, capFor(n))
	for i := 0; i < n && r.ok(); i++ {
		var se SignedExtension
		se.Identifier = r.str()
		se.Type = r.typeID()
		se.AdditionalSigned = r.typeID()
		exts = append(exts, se)
	}
	return exts
}

// v15 reads what follows the runtime type in V15, and the extrinsic in V16:
// runtime APIs, outer enums and custom metadata. V16 adds a version and
// deprecation information to each API, and deprecation information to each
// method.
func (r *reader) v15(m *Metadata) {
	r.at("runtime APIs")
	n := r.vecLen(3)
	m.apis = make(map[string]map[string]apiMethod, capFor(n))
	if r.version >= 16 {
		m.apiVersions = make(map[string]uint32, capFor(n))
	}
	for i := 0; i < n && r.ok(); i++ {
		trait := r.str()
		r.at("runtime API %q", trait)
		k := r.vecLen(4)
		methods := make(map[string]apiMethod, capFor(k))
		for j := 0; j < k && r.ok(); j++ {
			name := r.str()
			var am apiMethod
			am.inputs = r.params()
			am.output = r.typeID()
			r.skipStrs()
			if r.version >= 16 {
				r.itemDeprecation()
			}
			if _, dup := methods[name]; !dup && r.ok() {
				methods[name] = am
			}
		}
		r.skipStrs()
		var version uint32
		if r.version >= 16 {
			version = r.compactU32()
			r.itemDeprecation()
		}
		if _, dup := m.apis[trait]; !dup && r.ok() {
			m.apis[trait] = methods
			if m.apiVersions != nil {
				m.apiVersions[trait] = version
			}
		}
	}
	if !r.ok() {
		return
	}
	r.at("outer enums")
	for i := range m.outerEnums {
		m.outerEnums[i] = r.typeID()
	}
	r.at("custom metadata")
	n = r.vecLen(3)
	m.custom = make(map[string]customValue, capFor(n))
	for i := 0; i < n && r.ok(); i++ {
		key := r.str()
		var cv customValue
		cv.ty = r.typeID()
		cv.value = r.bytesCopy()
		if r.ok() {
			m.custom[key] = cv
		}
	}
}

// registry reads the PortableRegistry: Vec<PortableType{id, Type}>. IDs
// must be 0, 1, 2, ... in order, as scale-info always writes them.
func (r *reader) registry() []typeDef {
	n := r.vecLen(6)
	types := make([]typeDef, 0, capFor(n))
	for i := 0; i < n && r.ok(); i++ {
		id := r.d.Compact()
		if r.ok() && id != uint64(i) {
			r.fail("type #%d has id %d (ids must be sequential)", i, id)
			break
		}
		types = append(types, r.typeDef(i))
	}
	return types
}

func (r *reader) typeDef(id int) typeDef {
	var t typeDef
	t.path = r.strs()
	np := r.vecLen(2)
	for i := 0; i < np && r.ok(); i++ { // type parameters: name, Option<type>
		r.d.Bytes()
		r.optTypeID()
	}
	tag := r.d.U8()
	if !r.ok() {
		return t
	}
	switch tag {
	case 0:
		t.kind = kindComposite
		t.fields, t.named = r.fields()
	case 1:
		t.kind = kindVariant
		n := r.vecLen(4)
		t.variants = make([]variantDef, 0, capFor(n))
		for i := 0; i < n && r.ok(); i++ {
			var v variantDef
			v.name = r.str()
			v.fields, v.named = r.fields()
			v.index = r.d.U8()
			v.docs = r.strs()
			t.variants = append(t.variants, v)
		}
	case 2:
		t.kind = kindSequence
		t.elem = r.typeID()
	case 3:
		t.kind = kindArray
		t.length = r.d.U32()
		t.elem = r.typeID()
	case 4:
		t.kind = kindTuple
		n := r.vecLen(1)
		t.tuple = make([]TypeID, 0, capFor(n))
		for i := 0; i < n && r.ok(); i++ {
			t.tuple = append(t.tuple, r.typeID())
		}
	case 5:
		t.kind = kindPrimitive
		p := r.d.U8()
		if p > uint8(primI256) {
			r.fail("type %d: unknown primitive %d", id, p)
		}
		t.prim = primitive(p)
	case 6:
		t.kind = kindCompact
		t.elem = r.typeID()
	case 7:
		t.kind = kindBitSequence
		t.elem = r.typeID()
		t.order = r.typeID()
	default:
		r.fail("type %d: unknown type definition %d", id, tag)
	}
	r.skipStrs() // docs
	return t
}

// fields reads Vec<Field{name: Option<String>, ty, type_name: Option<String>, docs}>.
func (r *reader) fields() ([]Field, bool) {
	n := r.vecLen(4)
	if n == 0 {
		return nil, false
	}
	fs := make([]Field, 0, capFor(n))
	named := true
	for i := 0; i < n && r.ok(); i++ {
		var f Field
		if r.d.Option() {
			f.Name = r.str()
		} else {
			named = false
		}
		f.Type = r.typeID()
		if r.d.Option() {
			f.TypeName = r.str()
		}
		r.skipStrs()
		fs = append(fs, f)
	}
	return fs, named
}

func (r *reader) pallet(m *Metadata) palletDef {
	var p palletDef
	p.name = r.str()
	r.at("pallet %q", p.name)
	if r.d.Option() {
		p.hasStorage = true
		p.storagePrefix = r.str()
		n := r.vecLen(6)
		p.storage = make([]StorageEntry, 0, capFor(n))
		for i := 0; i < n && r.ok(); i++ {
			e := r.storageEntry(m, p.name, p.storagePrefix)
			p.storage = append(p.storage, e)
		}
	}
	if r.version >= 16 { // PalletCallMetadata{ty, deprecation_info}
		if r.d.Option() {
			p.calls, p.hasCalls = r.typeID(), true
			p.callDepr = r.enumDeprecation()
		}
		if r.d.Option() {
			p.event, p.hasEvent = r.typeID(), true
			r.enumDeprecation()
		}
	} else {
		p.calls, p.hasCalls = r.optTypeID()
		p.event, p.hasEvent = r.optTypeID()
	}
	n := r.vecLen(4)
	p.constants = make([]constantDef, 0, capFor(n))
	for i := 0; i < n && r.ok(); i++ {
		var c constantDef
		c.name = r.str()
		c.ty = r.typeID()
		c.value = r.bytesCopy()
		r.skipStrs()
		if r.version >= 16 {
			r.itemDeprecation()
		}
		p.constants = append(p.constants, c)
	}
	if r.version >= 16 {
		if r.d.Option() {
			p.errType, p.hasError = r.typeID(), true
			r.enumDeprecation()
		}
		r.palletV16(&p)
	} else {
		p.errType, p.hasError = r.optTypeID()
	}
	p.index = r.d.U8()
	if r.version >= 15 {
		r.skipStrs()
	}
	if r.version >= 16 {
		p.deprecation = r.itemDeprecation()
	}
	return p
}

func (r *reader) storageEntry(m *Metadata, pallet, prefix string) StorageEntry {
	e := StorageEntry{Pallet: pallet, prefix: prefix, m: m}
	e.Name = r.str()
	switch mod := r.d.U8(); {
	case !r.ok():
	case mod == 0:
		e.Optional = true
	case mod == 1:
	default:
		r.fail("storage %q: unknown modifier %d", e.Name, mod)
	}
	switch tag := r.d.U8(); {
	case !r.ok():
	case tag == 0:
		e.Value = r.typeID()
	case tag == 1:
		n := r.vecLen(1)
		e.Hashers = make([]scale.Hasher, 0, capFor(n))
		for i := 0; i < n && r.ok(); i++ {
			h := r.d.U8()
			if h > uint8(scale.Identity) {
				r.fail("storage %q: unknown hasher %d", e.Name, h)
			}
			e.Hashers = append(e.Hashers, scale.Hasher(h))
		}
		key := r.typeID()
		e.keyType = key
		e.Value = r.typeID()
		if !r.ok() {
			break
		}
		switch {
		case len(e.Hashers) == 0:
			r.fail("storage %q: map without hashers", e.Name)
		case len(e.Hashers) == 1:
			e.KeyTypes = []TypeID{key}
		default:
			kt := &m.types[key]
			if kt.kind != kindTuple || len(kt.tuple) != len(e.Hashers) {
				r.fail("storage %q: %d hashers but key type %d is not a %d-tuple",
					e.Name, len(e.Hashers), key, len(e.Hashers))
				break
			}
			e.KeyTypes = append([]TypeID(nil), kt.tuple...)
		}
	default:
		r.fail("storage %q: unknown entry type %d", e.Name, tag)
	}
	e.Default = r.bytesCopy()
	r.skipStrs()
	if r.version >= 16 {
		e.Deprecation = r.itemDeprecation()
	}
	return e
}

// checkTypeRefs verifies that every type reference inside the registry
// points into it, so later lookups cannot go out of range.
func (m *Metadata) checkTypeRefs() error {
	n := TypeID(len(m.types))
	bad := func(id int, ref TypeID) error {
		return fmt.Errorf("metadata: type %d refers to type %d, which is not in the registry (%d types)", id, ref, n)
	}
	for id := range m.types {
		t := &m.types[id]
		for _, f := range t.fields {
			if f.Type >= n {
				return bad(id, f.Type)
			}
		}
		for _, v := range t.variants {
			for _, f := range v.fields {
				if f.Type >= n {
					return bad(id, f.Type)
				}
			}
		}
		for _, e := range t.tuple {
			if e >= n {
				return bad(id, e)
			}
		}
		switch t.kind {
		case kindSequence, kindArray, kindCompact:
			if t.elem >= n {
				return bad(id, t.elem)
			}
		case kindBitSequence:
			if t.elem >= n {
				return bad(id, t.elem)
			}
			if t.order >= n {
				return bad(id, t.order)
			}
		}
	}
	return nil
}

// computeEmpty works out which types encode to zero bytes: unit tuples,
// composites and tuples of such types (including none), and arrays of length
// 0 or of such types. A type that contains itself without indirection is
// treated as not empty.
func (m *Metadata) computeEmpty() {
	const (
		unknown = iota
		visiting
		isEmpty
		notEmpty
	)
	state := make([]uint8, len(m.types))
	var visit func(t TypeID) bool
	visit = func(t TypeID) bool {
		switch state[t] {
		case isEmpty:
			return true
		case notEmpty, visiting:
			return false
		}
		state[t] = visiting
		td := &m.types[t]
		e := false
		switch td.kind {
		case kindComposite:
			e = true
			for _, f := range td.fields {
				if !visit(f.Type) {
					e = false
					break
				}
			}
		case kindTuple:
			e = true
			for _, el := range td.tuple {
				if !visit(el) {
					e = false
					break
				}
			}
		case kindArray:
			e = td.length == 0 || visit(td.elem)
		case kindCompact:
			e = visit(td.elem) // Compact<()> encodes to nothing
		}
		if e {
			state[t] = isEmpty
		} else {
			state[t] = notEmpty
		}
		return e
	}
	m.empty = make([]bool, len(m.types))
	for t := range m.types {
		m.empty[t] = visit(TypeID(t))
	}
}
