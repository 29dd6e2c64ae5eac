// Package scale is the SCALE codec of Substrate (and so of subtensor):
// fixed-width little-endian integers, compact integers, booleans, options,
// length-prefixed vectors and strings. The Decoder keeps the first error
// and bounds every length by the bytes left, so malformed input cannot make
// it allocate more than its input or panic.
package scale

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/big"
	"math/bits"
)

// ErrShort means the input ended before the value did.
var ErrShort = errors.New("scale: input too short")

// Encoder appends SCALE encodings to a buffer.
type Encoder struct{ buf []byte }

// NewEncoder returns an encoder appending to buf (which may be nil).
func NewEncoder(buf []byte) *Encoder { return &Encoder{buf: buf} }

// Data returns the bytes encoded so far.
func (e *Encoder) Data() []byte { return e.buf }

// U8 appends a byte.
func (e *Encoder) U8(v uint8) *Encoder { e.buf = append(e.buf, v); return e }

// U16 appends a little-endian uint16.
func (e *Encoder) U16(v uint16) *Encoder {
	e.buf = binary.LittleEndian.AppendUint16(e.buf, v)
	return e
}

// U32 appends a little-endian uint32.
func (e *Encoder) U32(v uint32) *Encoder {
	e.buf = binary.LittleEndian.AppendUint32(e.buf, v)
	return e
}

// U64 appends a little-endian uint64.
func (e *Encoder) U64(v uint64) *Encoder {
	e.buf = binary.LittleEndian.AppendUint64(e.buf, v)
	return e
}

// U128 appends a little-endian 128-bit integer given as two halves.
func (e *Encoder) U128(lo, hi uint64) *Encoder { return e.U64(lo).U64(hi) }

// Bool appends 0 or 1.
func (e *Encoder) Bool(v bool) *Encoder {
	if v {
		return e.U8(1)
	}
	return e.U8(0)
}

// Compact appends a compact (variable-length) integer.
func (e *Encoder) Compact(v uint64) *Encoder {
	switch {
	case v < 1<<6:
		return e.U8(uint8(v << 2))
	case v < 1<<14:
		return e.U16(uint16(v<<2 | 1))
	case v < 1<<30:
		return e.U32(uint32(v<<2 | 2))
	}
	n := (bits.Len64(v) + 7) / 8
	e.U8(uint8((n-4)<<2 | 3))
	for i := 0; i < n; i++ {
		e.buf = append(e.buf, byte(v>>(8*i)))
	}
	return e
}

// CompactBig appends a compact integer of any size (v >= 0).
func (e *Encoder) CompactBig(v *big.Int) *Encoder {
	if v.IsUint64() {
		return e.Compact(v.Uint64())
	}
	le := v.Bytes() // big-endian
	n := len(le)
	e.U8(uint8((n-4)<<2 | 3))
	for i := n - 1; i >= 0; i-- {
		e.buf = append(e.buf, le[i])
	}
	return e
}

// Raw appends bytes as they are (fixed-size arrays such as AccountId32).
func (e *Encoder) Raw(b []byte) *Encoder { e.buf = append(e.buf, b...); return e }

// Bytes appends a length-prefixed byte vector (Vec<u8>).
func (e *Encoder) Bytes(b []byte) *Encoder { return e.Compact(uint64(len(b))).Raw(b) }

// Str appends a length-prefixed UTF-8 string.
func (e *Encoder) Str(s string) *Encoder { return e.Compact(uint64(len(s))).Raw([]byte(s)) }

// Decoder reads SCALE values. After the first error every read returns the
// zero value and Err reports that error.
type Decoder struct {
	b   []byte
	off int
	err error
}

// NewDecoder reads from b.
func NewDecoder(b []byte) *Decoder { return &Decoder{b: b} }

// Err returns the first error met.
func (d *Decoder) Err() error { return d.err }

// Offset returns the bytes consumed.
func (d *Decoder) Offset() int { return d.off }

// Remaining returns the bytes left.
func (d *Decoder) Remaining() int { return len(d.b) - d.off }

// Done returns Err, or an error if bytes are left over.
func (d *Decoder) Done() error {
	if d.err != nil {
		return d.err
	}
	if r := d.Remaining(); r != 0 {
		return fmt.Errorf("scale: %d bytes left over", r)
	}
	return nil
}

// Fail records err (the first one wins).
func (d *Decoder) Fail(err error) {
	if d.err == nil {
		d.err = err
	}
}

// Fixed reads n bytes (a view into the input).
func (d *Decoder) Fixed(n int) []byte {
	if d.err != nil {
		return nil
	}
	if n < 0 || n > d.Remaining() {
		d.err = fmt.Errorf("%w: need %d bytes at offset %d, have %d", ErrShort, n, d.off, d.Remaining())
		return nil
	}
	b := d.b[d.off : d.off+n]
	d.off += n
	return b
}

// U8 reads a byte.
func (d *Decoder) U8() uint8 {
	if b := d.Fixed(1); b != nil {
		return b[0]
	}
	return 0
}

// U16 reads a little-endian uint16.
func (d *Decoder) U16() uint16 {
	if b := d.Fixed(2); b != nil {
		return binary.LittleEndian.Uint16(b)
	}
	return 0
}

// U32 reads a little-endian uint32.
func (d *Decoder) U32() uint32 {
	if b := d.Fixed(4); b != nil {
		return binary.LittleEndian.Uint32(b)
	}
	return 0
}

// U64 reads a little-endian uint64.
func (d *Decoder) U64() uint64 {
	if b := d.Fixed(8); b != nil {
		return binary.LittleEndian.Uint64(b)
	}
	return 0
}

// U128 reads a little-endian 128-bit integer as two halves.
func (d *Decoder) U128() (lo, hi uint64) { return d.U64(), d.U64() }

// Bool reads a boolean; bytes other than 0 and 1 are an error.
func (d *Decoder) Bool() bool {
	switch v := d.U8(); v {
	case 0:
		return false
	case 1:
		return true
	default:
		d.Fail(fmt.Errorf("scale: bool byte %#x at offset %d", v, d.off-1))
		return false
	}
}

// Option reads an option tag and reports whether a value follows.
func (d *Decoder) Option() bool { return d.Bool() }

// CompactBig reads a compact integer of any size.
func (d *Decoder) CompactBig() *big.Int {
	first := d.U8()
	if d.err != nil {
		return new(big.Int)
	}
	if first&3 != 3 {
		d.off--
		return new(big.Int).SetUint64(d.Compact())
	}
	n := int(first>>2) + 4
	b := d.Fixed(n)
	if b == nil {
		return new(big.Int)
	}
	be := make([]byte, n)
	for i := range b {
		be[n-1-i] = b[i]
	}
	return new(big.Int).SetBytes(be)
}

// Compact reads a compact integer that fits in 64 bits.
func (d *Decoder) Compact() uint64 {
	first := d.U8()
	if d.err != nil {
		return 0
	}
	switch first & 3 {
	case 0:
		return uint64(first >> 2)
	case 1:
		second := d.U8()
		return (uint64(first) | uint64(second)<<8) >> 2
	case 2:
		rest := d.Fixed(3)
		if rest == nil {
			return 0
		}
		return (uint64(first) | uint64(rest[0])<<8 | uint64(rest[1])<<16 | uint64(rest[2])<<24) >> 2
	}
	n := int(first>>2) + 4
	if n > 8 {
		d.Fail(fmt.Errorf("scale: compact of %d bytes does not fit in 64 bits", n))
		return 0
	}
	b := d.Fixed(n)
	var v uint64
	for i := range b {
		v |= uint64(b[i]) << (8 * i)
	}
	return v
}

// Len reads a compact length and checks that at least min*len bytes remain
// (min >= 1 for element types that take at least a byte; 0 skips the check).
func (d *Decoder) Len(min int) int {
	n := d.Compact()
	if d.err != nil {
		return 0
	}
	if n > uint64(d.Remaining()) || (min > 0 && n*uint64(min) > uint64(d.Remaining())) {
		d.Fail(fmt.Errorf("%w: length %d at offset %d exceeds the %d bytes left", ErrShort, n, d.off, d.Remaining()))
		return 0
	}
	return int(n)
}

// Bytes reads a length-prefixed byte vector (a view into the input).
func (d *Decoder) Bytes() []byte { return d.Fixed(d.Len(1)) }

// Str reads a length-prefixed string.
func (d *Decoder) Str() string { return string(d.Bytes()) }
