package scale

import (
	"encoding/hex"
	"errors"
	"math"
	"math/big"
	"testing"
)

func TestCompactVectors(t *testing.T) {
	for _, tt := range []struct {
		v    uint64
		want string
	}{
		{0, "00"}, {1, "04"}, {63, "fc"}, {64, "0101"}, {16383, "fdff"}, {16384, "02000100"},
		{1<<30 - 1, "feffffff"}, {1 << 30, "0300000040"}, {1<<32 - 1, "03ffffffff"}, {1 << 32, "070000000001"},
		{math.MaxUint64, "13ffffffffffffffff"}, {1_000_000_000, "02286bee"},
	} {
		got := hex.EncodeToString(NewEncoder(nil).Compact(tt.v).Data())
		if got != tt.want {
			t.Errorf("Compact(%d) = %s; want %s", tt.v, got, tt.want)
		}
		b, _ := hex.DecodeString(tt.want)
		d := NewDecoder(b)
		if v := d.Compact(); v != tt.v || d.Done() != nil {
			t.Errorf("decode %s = %d, %v", tt.want, v, d.Done())
		}
		if v := NewDecoder(b).CompactBig(); v.Cmp(new(big.Int).SetUint64(tt.v)) != 0 {
			t.Errorf("CompactBig(%s) = %v", tt.want, v)
		}
	}
	// u128 max
	max128 := new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 128), big.NewInt(1))
	enc := NewEncoder(nil).CompactBig(max128).Data()
	if hex.EncodeToString(enc) != "33ffffffffffffffffffffffffffffffff" {
		t.Errorf("CompactBig(u128 max) = %x", enc)
	}
	if v := NewDecoder(enc).CompactBig(); v.Cmp(max128) != 0 {
		t.Errorf("round trip u128 max = %v", v)
	}
	if d := NewDecoder(enc); d.Compact() != 0 || d.Err() == nil {
		t.Error("Compact accepted a 16-byte integer")
	}
}

func TestFixedAndVectors(t *testing.T) {
	e := NewEncoder(nil).U8(7).U16(0x1234).U32(0xdeadbeef).U64(1<<40).Bool(true).Str("Alice").Bytes([]byte{1, 2}).U128(5, 6)
	d := NewDecoder(e.Data())
	if d.U8() != 7 || d.U16() != 0x1234 || d.U32() != 0xdeadbeef || d.U64() != 1<<40 || !d.Bool() || d.Str() != "Alice" {
		t.Fatal("round trip mismatch")
	}
	if b := d.Bytes(); len(b) != 2 || b[1] != 2 {
		t.Errorf("Bytes = %v", b)
	}
	if lo, hi := d.U128(); lo != 5 || hi != 6 {
		t.Errorf("U128 = %d %d", lo, hi)
	}
	if err := d.Done(); err != nil {
		t.Error(err)
	}
	if hex.EncodeToString(NewEncoder(nil).Str("Alice").Data()) != "14416c696365" {
		t.Error("Str encoding")
	}
}

func TestDecodeErrors(t *testing.T) {
	for name, in := range map[string]string{
		"short u32":       "0102",
		"bad bool":        "02",
		"vec longer":      "0c0102",
		"huge vec length": "13ffffffffffffffff",
	} {
		b, _ := hex.DecodeString(in)
		d := NewDecoder(b)
		switch name {
		case "short u32":
			d.U32()
		case "bad bool":
			d.Bool()
		default:
			d.Bytes()
		}
		if d.Err() == nil {
			t.Errorf("%s: no error", name)
		}
	}
	d := NewDecoder([]byte{1})
	d.U32()
	if !errors.Is(d.Err(), ErrShort) {
		t.Errorf("Err = %v; want ErrShort", d.Err())
	}
	if d.U8() != 0 {
		t.Error("read after error returned data")
	}
	if err := NewDecoder([]byte{0, 1}).Done(); err == nil {
		t.Error("Done ignored leftover bytes")
	}
}

func TestStorageKeys(t *testing.T) {
	got := hex.EncodeToString(StorageKey("System", "Account"))
	if got != "26aa394eea5630e07c48ae0c9558cef7b99d880ec681799c0cf30e8886371da9" {
		t.Errorf("System.Account prefix = %s", got)
	}
	// Blake2_128Concat keeps the key after its hash.
	k := Blake2_128Concat.Hash([]byte{1, 2, 3})
	if len(k) != 19 || k[16] != 1 {
		t.Errorf("Blake2_128Concat = %x", k)
	}
	if hex.EncodeToString(Identity.Hash([]byte{0x1b, 0})) != "1b00" {
		t.Error("Identity")
	}
	if len(Twox64Concat.Hash([]byte{9})) != 9 || len(Twox256Hasher.Hash(nil)) != 32 || len(Blake2_256Hasher.Hash(nil)) != 32 {
		t.Error("hasher lengths")
	}
}

func FuzzDecoder(f *testing.F) {
	f.Add([]byte{0x13, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
	f.Add([]byte{0x14, 'A', 'l', 'i', 'c', 'e', 1, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		d := NewDecoder(b)
		for d.Err() == nil && d.Remaining() > 0 {
			switch d.U8() % 6 {
			case 0:
				v := d.Compact()
				if d.Err() == nil {
					// re-encoding is canonical only for canonical input; decode again
					if w := NewDecoder(NewEncoder(nil).Compact(v).Data()).Compact(); w != v {
						t.Fatalf("compact %d re-decodes to %d", v, w)
					}
				}
			case 1:
				_ = d.Bytes()
			case 2:
				_ = d.CompactBig()
			case 3:
				_ = d.Bool()
			case 4:
				_, _ = d.U128()
			case 5:
				_ = d.Len(8)
			}
		}
		if d.Offset() > len(b) {
			t.Fatal("read past the end")
		}
	})
}
