//go:build amd64

package pow

import "golang.org/x/sys/cpu"

var (
	hasAVX512 = cpu.X86.HasAVX512F
	hasAVX2   = cpu.X86.HasAVX2
)

// searchFunc returns the generated kernel for k and a message of the given
// number of 64-bit words, and how many candidates it hashes per group.
func searchFunc(k Kernel, words int) (func(st, tab *uint64, n int) int, int) {
	type variant struct {
		words int
		f     func(st, tab *uint64, n int) int
	}
	var vs []variant
	group := 0
	switch k {
	case KernelAVX512:
		vs, group = []variant{{3, searchAVX512W3}, {4, searchAVX512W4}, {16, searchAVX512W16}}, groupAVX512
	case KernelAVX2:
		vs, group = []variant{{3, searchAVX2W3}, {4, searchAVX2W4}, {16, searchAVX2W16}}, groupAVX2
	default:
		return nil, 0
	}
	for _, v := range vs {
		if words <= v.words {
			return v.f, group
		}
	}
	return nil, 0
}
