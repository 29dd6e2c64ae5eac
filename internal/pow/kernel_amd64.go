//go:build amd64

package pow

import "golang.org/x/sys/cpu"

// simdState is what the AVX-512 kernel reads; offsets are fixed in
// gen_avx512.go.
type simdState struct {
	init    [16]uint64 // v0..v15 before round 1, columns 1-3 already applied
	m       [16]uint64
	h0      uint64
	target0 uint64
}

// firstWord8AVX512 hashes eight candidates (message words 0 and 1 per lane)
// and returns a bit per lane whose output word 0 equals st.target0.
//
//go:noescape
func firstWord8AVX512(st *simdState, m0, m1 *[8]uint64) uint16

var hasAVX512 = cpu.X86.HasAVX512F
