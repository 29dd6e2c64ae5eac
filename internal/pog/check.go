package pog

import (
	"encoding/binary"
	"fmt"
	"math"
)

// RowBytes is the payload of row i of C: its N float32 values, little-endian.
func RowBytes(row []float32) []byte {
	b := make([]byte, 4*len(row))
	for i, v := range row {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(v))
	}
	return b
}

// RowLeaf is row i's leaf.
func RowLeaf(i int, payload []byte) Hash { return Leaf(uint64(i), payload) }

// ChunkLeaf is chunk c's leaf: its digest, 8 bytes LE.
func ChunkLeaf(c int, digest uint64) Hash {
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], digest)
	return Leaf(uint64(c), b[:])
}

// Tolerance of a checked element of C: |c − ref| ≤ RTol·max(|ref|, σ) with
// σ = √n/3, the spread of C's elements (A and B are uniform on [−1, 1)).
// fp32 sums of n such products in any order stay far inside it; a value
// made of fewer terms, or of other seeds, is off by about σ.
const RTol = 1e-3

// CheckRow checks an opened row of C = A·B (seeds sa, sb, order n): its
// length, its path to root, and the elements at cols against the
// validator's own float64 products.
func CheckRow(root Hash, n, i int, payload []byte, path []Hash, sa, sb uint64, cols []int) error {
	if i < 0 || i >= n {
		return fmt.Errorf("row %d of %d", i, n)
	}
	if len(payload) != 4*n {
		return fmt.Errorf("row %d: %d bytes, want %d", i, len(payload), 4*n)
	}
	if err := VerifyPath(root, n, i, RowLeaf(i, payload), path); err != nil {
		return fmt.Errorf("row %d: %w", i, err)
	}
	a := make([]float64, n)
	for k := range a {
		a[k] = float64(Elem(sa, uint32(i), uint32(k)))
	}
	sigma := math.Sqrt(float64(n)) / 3
	for _, j := range cols {
		if j < 0 || j >= n {
			return fmt.Errorf("row %d: column %d of %d", i, j, n)
		}
		var ref float64
		for k := range a {
			ref += a[k] * float64(Elem(sb, uint32(k), uint32(j)))
		}
		got := float64(math.Float32frombits(binary.LittleEndian.Uint32(payload[4*j:])))
		if math.IsNaN(got) || math.Abs(got-ref) > RTol*max(math.Abs(ref), sigma) {
			return fmt.Errorf("row %d: C[%d][%d] = %g, recomputed %g", i, i, j, got, ref)
		}
	}
	return nil
}

// CheckChunk checks an opened memory chunk: the validator makes the
// chunk's words itself (fill seed, rounds, words) and its digest under the
// pass seed, and checks the digest and its path to root (of chunks leaves).
func CheckChunk(root Hash, chunks, c int, digest uint64, path []Hash, fillSeed uint64, rounds, words int, passSeed uint64, buf []uint64) error {
	if c < 0 || c >= chunks {
		return fmt.Errorf("chunk %d of %d", c, chunks)
	}
	want := ChunkDigest(passSeed, uint64(c), ChunkWords(fillSeed, rounds, uint64(c), words, buf))
	if digest != want {
		return fmt.Errorf("chunk %d: digest %016x, recomputed %016x", c, digest, want)
	}
	if err := VerifyPath(root, chunks, c, ChunkLeaf(c, digest), path); err != nil {
		return fmt.Errorf("chunk %d: %w", c, err)
	}
	return nil
}
