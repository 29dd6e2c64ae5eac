package metadata

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"math/big"
	"math/bits"
	"reflect"
	"unicode/utf8"

	"github.com/sn27/sn27/internal/scale"
)

// Variant is a decoded enum value: the variant's name and index, and its
// fields shaped as for a composite (nil when it has none).
type Variant struct {
	Name   string
	Index  uint8
	Fields any
}

// DecodeValue reads one value of type t from d (see the package doc for the
// Go shapes). Errors are also recorded in d, as its own reads do.
func (m *Metadata) DecodeValue(t TypeID, d *scale.Decoder) (any, error) {
	if d == nil {
		return nil, errors.New("metadata: DecodeValue: nil decoder")
	}
	if err := d.Err(); err != nil {
		return nil, err
	}
	if int64(t) >= int64(len(m.types)) {
		err := fmt.Errorf("metadata: type %d is not in the registry (%d types)", t, len(m.types))
		d.Fail(err)
		return nil, err
	}
	vd := valueDecoder{m: m, d: d, budget: 8*d.Remaining() + 256}
	v := vd.value(t, 0)
	if err := d.Err(); err != nil {
		return nil, fmt.Errorf("metadata: decoding %s: %w", m.typeName(t), err)
	}
	return v, nil
}

type valueDecoder struct {
	m      *Metadata
	d      *scale.Decoder
	budget int // values that may still be produced
}

func (vd *valueDecoder) fail(t TypeID, format string, args ...any) {
	vd.d.Fail(fmt.Errorf("%s: %s", vd.m.typeName(t), fmt.Sprintf(format, args...)))
}

func (vd *valueDecoder) ok() bool { return vd.d.Err() == nil }

// take reserves n values from the budget.
func (vd *valueDecoder) take(t TypeID, n uint64) bool {
	if n > uint64(vd.budget) {
		vd.fail(t, "value too large for its %d input bytes", vd.d.Offset()+vd.d.Remaining())
		return false
	}
	vd.budget -= int(n)
	return true
}

func (vd *valueDecoder) value(t TypeID, depth int) any {
	if depth > maxDepth {
		vd.fail(t, "nested more than %d levels", maxDepth)
		return nil
	}
	if !vd.ok() || !vd.take(t, 1) {
		return nil
	}
	td := &vd.m.types[t]
	switch td.kind {
	case kindComposite:
		return vd.fields(td.fields, td.named, depth)
	case kindVariant:
		idx := vd.d.U8()
		if !vd.ok() {
			return nil
		}
		for i := range td.variants {
			v := &td.variants[i]
			if v.index == idx {
				f := vd.fields(v.fields, v.named, depth)
				if !vd.ok() {
					return nil
				}
				return Variant{Name: v.name, Index: v.index, Fields: f}
			}
		}
		vd.fail(t, "no variant with index %d", idx)
		return nil
	case kindSequence:
		minSize := 1
		if vd.m.empty[td.elem] {
			minSize = 0
		}
		n := vd.length(t, minSize)
		if !vd.ok() {
			return nil
		}
		if vd.isU8(td.elem) {
			return bytes.Clone(vd.d.Fixed(n))
		}
		return vd.elems(t, td.elem, uint64(n), depth)
	case kindArray:
		if vd.isU8(td.elem) {
			if uint64(td.length) > uint64(vd.d.Remaining()) {
				vd.d.Fail(fmt.Errorf("%w: %s needs %d bytes, have %d", scale.ErrShort, vd.m.typeName(t), td.length, vd.d.Remaining()))
				return nil
			}
			return bytes.Clone(vd.d.Fixed(int(td.length)))
		}
		if !vd.m.empty[td.elem] && uint64(td.length) > uint64(vd.d.Remaining()) {
			vd.d.Fail(fmt.Errorf("%w: %s needs at least %d bytes, have %d", scale.ErrShort, vd.m.typeName(t), td.length, vd.d.Remaining()))
			return nil
		}
		return vd.elems(t, td.elem, uint64(td.length), depth)
	case kindTuple:
		if len(td.tuple) == 0 {
			return nil
		}
		out := make([]any, len(td.tuple))
		for i, el := range td.tuple {
			out[i] = vd.value(el, depth+1)
			if !vd.ok() {
				return nil
			}
		}
		return out
	case kindPrimitive:
		return vd.primitive(t, td.prim)
	case kindCompact:
		return vd.compact(t, depth)
	case kindBitSequence:
		return vd.bitSequence(t)
	}
	vd.fail(t, "unknown kind %d", td.kind)
	return nil
}

func (vd *valueDecoder) elems(t, elem TypeID, n uint64, depth int) any {
	// Each element takes its share of the budget in value(); check first
	// so that the slice is never larger than the budget.
	if n > uint64(vd.budget) {
		vd.take(t, n)
		return nil
	}
	out := make([]any, n)
	for i := range out {
		out[i] = vd.value(elem, depth+1)
		if !vd.ok() {
			return nil
		}
	}
	return out
}

// fields decodes composite or variant fields (see the package doc).
func (vd *valueDecoder) fields(fs []Field, named bool, depth int) any {
	switch {
	case len(fs) == 0:
		return nil
	case named:
		out := make(map[string]any, len(fs))
		for _, f := range fs {
			v := vd.value(f.Type, depth+1)
			if !vd.ok() {
				return nil
			}
			out[f.Name] = v
		}
		return out
	case len(fs) == 1:
		return vd.value(fs[0].Type, depth+1)
	default:
		out := make([]any, len(fs))
		for i, f := range fs {
			out[i] = vd.value(f.Type, depth+1)
			if !vd.ok() {
				return nil
			}
		}
		return out
	}
}

func (m *Metadata) isU8Type(t TypeID) bool {
	td := &m.types[t]
	return td.kind == kindPrimitive && td.prim == primU8
}

func (vd *valueDecoder) isU8(t TypeID) bool { return vd.m.isU8Type(t) }

// compactU64 reads a canonical compact integer that fits in 64 bits.
func (vd *valueDecoder) compactU64(t TypeID) uint64 {
	start := vd.d.Offset()
	v := vd.d.Compact()
	if !vd.ok() {
		return 0
	}
	if got, want := vd.d.Offset()-start, compactSize(v); got != want {
		vd.fail(t, "compact %d encoded in %d bytes instead of %d", v, got, want)
		return 0
	}
	return v
}

// length reads a canonical compact length of elements taking at least
// minSize bytes each. Elements of zero size are bounded by the value budget
// instead of the bytes left.
func (vd *valueDecoder) length(t TypeID, minSize int) int {
	if minSize == 0 {
		n := vd.compactU64(t)
		if !vd.ok() || n > uint64(vd.budget) {
			vd.take(t, n)
			return 0
		}
		return int(n)
	}
	start := vd.d.Offset()
	n := vd.d.Len(minSize)
	if !vd.ok() {
		return 0
	}
	if got, want := vd.d.Offset()-start, compactSize(uint64(n)); got != want {
		vd.fail(t, "length %d encoded in %d bytes instead of %d", n, got, want)
		return 0
	}
	return n
}

func compactSize(v uint64) int {
	switch {
	case v < 1<<6:
		return 1
	case v < 1<<14:
		return 2
	case v < 1<<30:
		return 4
	}
	return 1 + (bits.Len64(v)+7)/8
}

var primBits = [...]int{primU8: 8, primU16: 16, primU32: 32, primU64: 64, primU128: 128, primU256: 256,
	primI8: 8, primI16: 16, primI32: 32, primI64: 64, primI128: 128, primI256: 256}

func (vd *valueDecoder) primitive(t TypeID, p primitive) any {
	d := vd.d
	switch p {
	case primBool:
		return d.Bool()
	case primChar:
		c := d.U32()
		if !vd.ok() {
			return nil
		}
		if c > utf8.MaxRune || !utf8.ValidRune(rune(c)) {
			vd.fail(t, "invalid char %#x", c)
			return nil
		}
		return rune(c)
	case primStr:
		n := vd.length(t, 1)
		b := d.Fixed(n)
		if !vd.ok() {
			return nil
		}
		if !utf8.Valid(b) {
			vd.fail(t, "string is not valid UTF-8")
			return nil
		}
		return string(b)
	case primU8:
		return uint64(d.U8())
	case primU16:
		return uint64(d.U16())
	case primU32:
		return uint64(d.U32())
	case primU64:
		return d.U64()
	case primI8:
		return int64(int8(d.U8()))
	case primI16:
		return int64(int16(d.U16()))
	case primI32:
		return int64(int32(d.U32()))
	case primI64:
		return int64(d.U64())
	case primU128, primU256, primI128, primI256:
		n := primBits[p] / 8
		le := d.Fixed(n)
		if !vd.ok() {
			return nil
		}
		v := leToBig(le)
		if (p == primI128 || p == primI256) && le[n-1]&0x80 != 0 {
			v.Sub(v, new(big.Int).Lsh(big.NewInt(1), uint(8*n)))
		}
		return v
	}
	vd.fail(t, "unknown primitive %d", p)
	return nil
}

func leToBig(le []byte) *big.Int {
	be := make([]byte, len(le))
	for i, b := range le {
		be[len(le)-1-i] = b
	}
	return new(big.Int).SetBytes(be)
}

// compactInner follows Compact<T>'s T through newtypes (single-field
// composites) to an unsigned primitive; it returns its width in bits, 0 for
// an empty type, or -1 if T is not compactable.
func (m *Metadata) compactInner(t TypeID) int {
	inner := m.types[t].elem
	for range maxDepth {
		if m.empty[inner] {
			return 0
		}
		td := &m.types[inner]
		switch {
		case td.kind == kindPrimitive:
			switch td.prim {
			case primU8, primU16, primU32, primU64, primU128, primU256:
				return primBits[td.prim]
			}
			return -1
		case td.kind == kindComposite && len(td.fields) == 1:
			inner = td.fields[0].Type
		case td.kind == kindTuple && len(td.tuple) == 1:
			inner = td.tuple[0]
		default:
			return -1
		}
	}
	return -1
}

func (vd *valueDecoder) compact(t TypeID, depth int) any {
	bits := vd.m.compactInner(t)
	switch {
	case bits < 0:
		vd.fail(t, "compact of an unsupported type %s", vd.m.typeName(vd.m.types[t].elem))
		return nil
	case bits == 0:
		return nil
	case bits <= 64:
		v := vd.compactU64(t)
		if vd.ok() && bits < 64 && v>>uint(bits) != 0 {
			vd.fail(t, "compact %d overflows u%d", v, bits)
			return nil
		}
		return v
	}
	start := vd.d.Offset()
	v := vd.d.CompactBig()
	if !vd.ok() {
		return nil
	}
	if v.BitLen() > bits {
		vd.fail(t, "compact %s overflows u%d", v, bits)
		return nil
	}
	if got, want := vd.d.Offset()-start, len(scale.NewEncoder(nil).CompactBig(v).Data()); got != want {
		vd.fail(t, "compact %s encoded in %d bytes instead of %d", v, got, want)
		return nil
	}
	if v.IsUint64() {
		return v.Uint64()
	}
	return v
}

// bitStoreBytes returns the byte size of a bit sequence's store type.
func (m *Metadata) bitStoreBytes(t TypeID) int {
	st := &m.types[m.types[t].elem]
	if st.kind != kindPrimitive {
		return 0
	}
	switch st.prim {
	case primU8:
		return 1
	case primU16:
		return 2
	case primU32:
		return 4
	case primU64:
		return 8
	}
	return 0
}

func (vd *valueDecoder) bitSequence(t TypeID) any {
	size := vd.m.bitStoreBytes(t)
	if size == 0 {
		vd.fail(t, "bit sequence store type %s is not u8, u16, u32 or u64", vd.m.typeName(vd.m.types[t].elem))
		return nil
	}
	nbits := vd.compactU64(t)
	if !vd.ok() {
		return nil
	}
	if nbits > math.MaxUint32 {
		vd.fail(t, "bit sequence of %d bits", nbits)
		return nil
	}
	storeBits := uint64(8 * size)
	nbytes := (nbits + storeBits - 1) / storeBits * uint64(size)
	if nbytes > uint64(vd.d.Remaining()) {
		vd.d.Fail(fmt.Errorf("%w: bit sequence of %d bits needs %d bytes, have %d", scale.ErrShort, nbits, nbytes, vd.d.Remaining()))
		return nil
	}
	data := vd.d.Fixed(int(nbytes))
	return scale.NewEncoder(nil).Compact(nbits).Raw(data).Data()
}

// EncodeValue appends the SCALE encoding of v as type t to e (see the
// package doc for the accepted Go shapes). On error nothing is appended.
func (m *Metadata) EncodeValue(t TypeID, v any, e *scale.Encoder) error {
	if e == nil {
		return errors.New("metadata: EncodeValue: nil encoder")
	}
	if int64(t) >= int64(len(m.types)) {
		return fmt.Errorf("metadata: type %d is not in the registry (%d types)", t, len(m.types))
	}
	tmp := scale.NewEncoder(nil)
	if err := m.encode(t, v, tmp, 0); err != nil {
		return fmt.Errorf("metadata: encoding %s: %w", m.typeName(t), err)
	}
	e.Raw(tmp.Data())
	return nil
}

func (m *Metadata) encErr(t TypeID, format string, args ...any) error {
	return fmt.Errorf("%s: %s", m.typeName(t), fmt.Sprintf(format, args...))
}

func (m *Metadata) encode(t TypeID, v any, e *scale.Encoder, depth int) error {
	if depth > maxDepth {
		return m.encErr(t, "nested more than %d levels", maxDepth)
	}
	td := &m.types[t]
	switch td.kind {
	case kindComposite:
		return m.encodeFields(t, td.fields, td.named, v, e, depth)
	case kindVariant:
		return m.encodeVariant(t, td, v, e, depth)
	case kindSequence:
		if m.isU8Type(td.elem) {
			switch b := v.(type) {
			case []byte:
				e.Bytes(b)
				return nil
			case string:
				e.Str(b)
				return nil
			}
		}
		items, err := m.items(t, v)
		if err != nil {
			return err
		}
		e.Compact(uint64(len(items)))
		for i, it := range items {
			if err := m.encode(td.elem, it, e, depth+1); err != nil {
				return fmt.Errorf("element %d: %w", i, err)
			}
		}
		return nil
	case kindArray:
		if m.isU8Type(td.elem) {
			if b, ok := v.([]byte); ok {
				if uint64(len(b)) != uint64(td.length) {
					return m.encErr(t, "need %d bytes, got %d", td.length, len(b))
				}
				e.Raw(b)
				return nil
			}
		}
		items, err := m.items(t, v)
		if err != nil {
			return err
		}
		if uint64(len(items)) != uint64(td.length) {
			return m.encErr(t, "need %d elements, got %d", td.length, len(items))
		}
		for i, it := range items {
			if err := m.encode(td.elem, it, e, depth+1); err != nil {
				return fmt.Errorf("element %d: %w", i, err)
			}
		}
		return nil
	case kindTuple:
		if len(td.tuple) == 0 && v == nil {
			return nil
		}
		items, err := m.items(t, v)
		if err != nil {
			return err
		}
		if len(items) != len(td.tuple) {
			return m.encErr(t, "need %d tuple elements, got %d", len(td.tuple), len(items))
		}
		for i, it := range items {
			if err := m.encode(td.tuple[i], it, e, depth+1); err != nil {
				return fmt.Errorf("tuple element %d: %w", i, err)
			}
		}
		return nil
	case kindPrimitive:
		return m.encodePrimitive(t, td.prim, v, e)
	case kindCompact:
		bits := m.compactInner(t)
		switch {
		case bits < 0:
			return m.encErr(t, "compact of an unsupported type %s", m.typeName(td.elem))
		case bits == 0:
			if v != nil {
				return m.encErr(t, "want nil for a compact of an empty type, got %T", v)
			}
			return nil
		}
		n, err := toBig(v)
		if err != nil {
			return m.encErr(t, "%v", err)
		}
		if n.Sign() < 0 || n.BitLen() > bits {
			return m.encErr(t, "%s out of range for Compact<u%d>", n, bits)
		}
		e.CompactBig(n)
		return nil
	case kindBitSequence:
		b, ok := v.([]byte)
		if !ok {
			return m.encErr(t, "want []byte (the encoded bit sequence), got %T", v)
		}
		d := scale.NewDecoder(b)
		vd := valueDecoder{m: m, d: d, budget: 1}
		vd.bitSequence(t)
		if err := d.Done(); err != nil {
			return m.encErr(t, "not a valid encoded bit sequence: %v", err)
		}
		e.Raw(b)
		return nil
	}
	return m.encErr(t, "unknown kind %d", td.kind)
}

func (m *Metadata) encodeFields(t TypeID, fs []Field, named bool, v any, e *scale.Encoder, depth int) error {
	switch {
	case len(fs) == 0:
		switch x := v.(type) {
		case nil:
			return nil
		case []any:
			if len(x) == 0 {
				return nil
			}
		case map[string]any:
			if len(x) == 0 {
				return nil
			}
		}
		return m.encErr(t, "want nil for a value without fields, got %T", v)
	case named:
		mp, ok := v.(map[string]any)
		if !ok {
			return m.encErr(t, "want map[string]any with fields %s, got %T", fieldNames(fs), v)
		}
		for _, f := range fs {
			fv, ok := mp[f.Name]
			if !ok {
				return m.encErr(t, "missing field %q", f.Name)
			}
			if err := m.encode(f.Type, fv, e, depth+1); err != nil {
				return fmt.Errorf("field %q: %w", f.Name, err)
			}
		}
		if len(mp) != len(fs) {
			for k := range mp {
				if !hasField(fs, k) {
					return m.encErr(t, "unknown field %q (fields: %s)", k, fieldNames(fs))
				}
			}
		}
		return nil
	case len(fs) == 1:
		return m.encode(fs[0].Type, v, e, depth+1)
	default:
		items, err := m.items(t, v)
		if err != nil {
			return err
		}
		if len(items) != len(fs) {
			return m.encErr(t, "need %d fields, got %d", len(fs), len(items))
		}
		for i, f := range fs {
			if err := m.encode(f.Type, items[i], e, depth+1); err != nil {
				return fmt.Errorf("field %d: %w", i, err)
			}
		}
		return nil
	}
}

func hasField(fs []Field, name string) bool {
	for _, f := range fs {
		if f.Name == name {
			return true
		}
	}
	return false
}

func fieldNames(fs []Field) string {
	var b bytes.Buffer
	for i, f := range fs {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(f.Name)
	}
	return b.String()
}

func (m *Metadata) encodeVariant(t TypeID, td *typeDef, v any, e *scale.Encoder, depth int) error {
	var want Variant
	switch x := v.(type) {
	case Variant:
		want = x
	case *Variant:
		if x == nil {
			return m.encErr(t, "nil *Variant")
		}
		want = *x
	case string:
		want = Variant{Name: x}
	default:
		return m.encErr(t, "want Variant, got %T", v)
	}
	for i := range td.variants {
		vr := &td.variants[i]
		if (want.Name != "" && vr.name == want.Name) || (want.Name == "" && vr.index == want.Index) {
			if _, isName := v.(string); isName && len(vr.fields) > 0 {
				return m.encErr(t, "variant %q has fields; pass a Variant", vr.name)
			}
			e.U8(vr.index)
			if err := m.encodeFields(t, vr.fields, vr.named, want.Fields, e, depth); err != nil {
				return fmt.Errorf("variant %q: %w", vr.name, err)
			}
			return nil
		}
	}
	if want.Name != "" {
		return m.encErr(t, "no variant %q", want.Name)
	}
	return m.encErr(t, "no variant with index %d", want.Index)
}

// items turns v into a list: []any, or any Go slice or array.
func (m *Metadata) items(t TypeID, v any) ([]any, error) {
	switch x := v.(type) {
	case []any:
		return x, nil
	case nil:
		return nil, nil
	}
	rv := reflect.ValueOf(v)
	if k := rv.Kind(); k != reflect.Slice && k != reflect.Array {
		return nil, m.encErr(t, "want a slice, got %T", v)
	}
	out := make([]any, rv.Len())
	for i := range out {
		out[i] = rv.Index(i).Interface()
	}
	return out, nil
}

func (m *Metadata) encodePrimitive(t TypeID, p primitive, v any, e *scale.Encoder) error {
	switch p {
	case primBool:
		b, ok := v.(bool)
		if !ok {
			return m.encErr(t, "want bool, got %T", v)
		}
		e.Bool(b)
		return nil
	case primStr:
		switch s := v.(type) {
		case string:
			e.Str(s)
		case []byte:
			e.Bytes(s)
		default:
			return m.encErr(t, "want string, got %T", v)
		}
		return nil
	case primChar:
		n, err := toBig(v)
		if err != nil {
			return m.encErr(t, "%v", err)
		}
		if !n.IsInt64() || n.Int64() < 0 || n.Int64() > utf8.MaxRune || !utf8.ValidRune(rune(n.Int64())) {
			return m.encErr(t, "%s is not a valid char", n)
		}
		e.U32(uint32(n.Int64()))
		return nil
	}
	if int(p) >= len(primBits) || primBits[p] == 0 {
		return m.encErr(t, "unknown primitive %d", p)
	}
	bits := primBits[p]
	signed := p >= primI8
	n, err := toBig(v)
	if err != nil {
		return m.encErr(t, "%v", err)
	}
	lo, hi := new(big.Int), new(big.Int).Lsh(big.NewInt(1), uint(bits))
	if signed {
		hi.Rsh(hi, 1)
		lo.Neg(hi)
	}
	if n.Cmp(lo) < 0 || n.Cmp(hi) >= 0 {
		return m.encErr(t, "%s out of range for %s", n, primNames[p])
	}
	if n.Sign() < 0 {
		n = new(big.Int).Add(n, new(big.Int).Lsh(big.NewInt(1), uint(bits)))
	}
	be := n.FillBytes(make([]byte, bits/8))
	for i := len(be) - 1; i >= 0; i-- {
		e.U8(be[i])
	}
	return nil
}

// toBig converts any Go integer, *big.Int or big.Int to a *big.Int.
func toBig(v any) (*big.Int, error) {
	switch x := v.(type) {
	case *big.Int:
		if x == nil {
			return nil, errors.New("nil *big.Int")
		}
		return x, nil
	case big.Int:
		return &x, nil
	case uint64:
		return new(big.Int).SetUint64(x), nil
	case int64:
		return big.NewInt(x), nil
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return big.NewInt(rv.Int()), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return new(big.Int).SetUint64(rv.Uint()), nil
	}
	return nil, fmt.Errorf("want an integer, got %T", v)
}
