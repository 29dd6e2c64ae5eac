// Package pog is proof of GPU's pure part: the seeded data both sides
// generate (matrix elements, memory words), the digests and Merkle trees
// that commit to it, the checks the validator runs on openings, the model
// table that turns measured figures into a model, the verdict a validator
// signs, and the messages of the prover protocol. It does no I/O; the
// OpenCL prover (internal/opencl), the SSH driver (internal/pogrun) and the
// validator build on it. docs/proof-of-gpu.md explains the design.
package pog

// Mix is splitmix64's finaliser: a bijection on 64-bit words whose output
// bits each depend on every input bit. Every value of the proof is built from
// it; the OpenCL kernels compute it with the same 64-bit integer operations,
// so both sides agree bit for bit.
func Mix(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

const (
	golden = 0x9e3779b97f4a7c15 // 2^64 / φ
	odd2   = 0xd1b54a32d192ed03
)

// Elem is element (i, j) of the matrix seeded with seed: a multiple of 2^-23
// in [-1, 1), exact in float32 (24 significant bits), so generating it on a
// device gives the very value the validator computes.
func Elem(seed uint64, i, j uint32) float32 {
	h := Mix(seed ^ Mix(uint64(i)<<32|uint64(j)))
	v := int32(h>>40) - 1<<23
	return float32(v) * (1.0 / (1 << 23))
}

// FillWord is word t of memory chunk c for seed: rounds applications of Mix
// after the first, so that making the word again costs rounds+1 Mix calls
// while reading it back costs a load. The memory step's deadline rests on
// that ratio (docs/proof-of-gpu.md).
func FillWord(seed uint64, rounds int, c uint64, t uint32) uint64 {
	x := Mix(seed + c*golden + uint64(t)*odd2)
	for r := 0; r < rounds; r++ {
		x = Mix(x + golden)
	}
	return x
}

// ChunkDigest folds the words of chunk c, in order, under the pass seed:
// h = Mix(seed ^ c); h = Mix(h ^ w) for each word. The pass seed is sent only
// after the fill, so no digest can be made before the data exists.
func ChunkDigest(seed, c uint64, words []uint64) uint64 {
	h := Mix(seed ^ c)
	for _, w := range words {
		h = Mix(h ^ w)
	}
	return h
}

// ChunkWords makes the words of chunk c as the fill does (for the
// validator's check of an opening, and for CPU provers).
func ChunkWords(seed uint64, rounds int, c uint64, n int, dst []uint64) []uint64 {
	dst = dst[:0]
	for t := 0; t < n; t++ {
		dst = append(dst, FillWord(seed, rounds, c, uint32(t)))
	}
	return dst
}
