//go:build !amd64

package pow

type simdState struct {
	init    [16]uint64
	m       [16]uint64
	h0      uint64
	target0 uint64
}

const hasAVX512 = false

func firstWord8AVX512(st *simdState, m0, m1 *[8]uint64) uint16 {
	panic("pow: no AVX-512 kernel on this architecture")
}
