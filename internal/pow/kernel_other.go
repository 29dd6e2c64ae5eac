//go:build !amd64

package pow

const (
	hasAVX512 = false
	hasAVX2   = false
)

func searchFunc(k Kernel, words int) (func(st, tab *uint64, n int) int, int) { return nil, 0 }

const scratchBytes = 0
