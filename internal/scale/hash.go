package scale

import (
	"encoding/binary"

	"github.com/cespare/xxhash/v2"
	"golang.org/x/crypto/blake2b"
)

// Twox128 is Substrate's 128-bit xxhash: xxh64 with seeds 0 and 1, each
// little-endian.
func Twox128(b []byte) []byte {
	out := make([]byte, 16)
	binary.LittleEndian.PutUint64(out, xxhash64(b, 0))
	binary.LittleEndian.PutUint64(out[8:], xxhash64(b, 1))
	return out
}

// Twox64 is xxh64 with seed 0, little-endian.
func Twox64(b []byte) []byte {
	return binary.LittleEndian.AppendUint64(nil, xxhash64(b, 0))
}

func xxhash64(b []byte, seed uint64) uint64 {
	d := xxhash.NewWithSeed(seed)
	_, _ = d.Write(b)
	return d.Sum64()
}

// Blake2_128 is the 16-byte BLAKE2b digest.
func Blake2_128(b []byte) []byte {
	h, _ := blake2b.New(16, nil)
	h.Write(b)
	return h.Sum(nil)
}

// Blake2_256 is the 32-byte BLAKE2b digest.
func Blake2_256(b []byte) []byte {
	s := blake2b.Sum256(b)
	return s[:]
}

// Hasher is a storage key hasher, named as in runtime metadata.
type Hasher int

// Storage hashers in metadata order.
const (
	Blake2_128Hasher Hasher = iota
	Blake2_256Hasher
	Blake2_128Concat
	Twox128Hasher
	Twox256Hasher
	Twox64Concat
	Identity
)

// Hash applies h to key.
func (h Hasher) Hash(key []byte) []byte {
	switch h {
	case Blake2_128Hasher:
		return Blake2_128(key)
	case Blake2_256Hasher:
		return Blake2_256(key)
	case Blake2_128Concat:
		return append(Blake2_128(key), key...)
	case Twox128Hasher:
		return Twox128(key)
	case Twox256Hasher:
		return append(Twox128(key), append(xxh(key, 2), xxh(key, 3)...)...)
	case Twox64Concat:
		return append(Twox64(key), key...)
	default:
		return append([]byte{}, key...)
	}
}

func xxh(b []byte, seed uint64) []byte {
	return binary.LittleEndian.AppendUint64(nil, xxhash64(b, seed))
}

// StorageKey returns twox128(pallet) ‖ twox128(item) ‖ hashed keys.
func StorageKey(pallet, item string, keys ...HashedKey) []byte {
	k := append(Twox128([]byte(pallet)), Twox128([]byte(item))...)
	for _, hk := range keys {
		k = append(k, hk.Hasher.Hash(hk.Key)...)
	}
	return k
}

// HashedKey is one SCALE-encoded map key and its hasher.
type HashedKey struct {
	Hasher Hasher
	Key    []byte
}
