package pow

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"
	"os"
	"runtime"
	"sync"
	"sync/atomic"

	"golang.org/x/crypto/blake2b"
)

// ErrExhausted means the whole keyspace was searched without an answer.
var ErrExhausted = errors.New("keyspace exhausted without a match")

// Result is the outcome of a search.
type Result struct {
	Password string
	Tried    uint64 // candidates hashed
}

// Solver searches a mask keyspace with BLAKE2b on all CPU cores.
type Solver struct {
	// Workers is the number of goroutines; 0 means runtime.GOMAXPROCS(0).
	Workers int
	// Kernel selects the hashing path; KernelAuto picks the fastest.
	Kernel Kernel
	// ChunkSize is the number of candidates a worker takes at a time; 0 means
	// a default of about 10 ms of work. Cancellation is noticed between chunks.
	ChunkSize uint64
}

const defaultChunk = 1 << 17

// Keyspace returns the number of candidates of t, or an error if it does not
// fit in 64 bits.
func (t *Target) Keyspace() (uint64, error) {
	n := uint64(1)
	for _, p := range t.Positions {
		hi, lo := bits.Mul64(n, uint64(len(p)))
		if hi != 0 {
			return 0, invalid("challenge_mask", "keyspace exceeds 2^64 candidates")
		}
		n = lo
	}
	return n, nil
}

// Solve searches the keyspace of t. It returns the password, or ErrExhausted,
// or the context's error when ctx ends first; Result.Tried is set in every case.
func (s *Solver) Solve(ctx context.Context, t *Target) (Result, error) {
	total, err := t.Keyspace()
	if err != nil {
		return Result{}, err
	}
	return s.solveRange(ctx, t, 0, total)
}

// SolveRange searches the candidates of t with index start <= i < end:
// mask position 0 varies fastest and each position runs through
// t.Positions[i] in order. That is the order of hashcat's mask attack (so
// --skip/--limit slices line up) when every position's bytes are sorted
// ascending and hashcat runs with --markov-disable; see hashcat.Ordered.
func (s *Solver) SolveRange(ctx context.Context, t *Target, start, end uint64) (Result, error) {
	total, err := t.Keyspace()
	if err != nil {
		return Result{}, err
	}
	if start > end || end > total {
		return Result{}, fmt.Errorf("solve range [%d, %d) outside the keyspace of %d candidates", start, end, total)
	}
	return s.solveRange(ctx, t, start, end)
}

// solveRange searches candidates first .. end-1 of t's keyspace.
func (s *Solver) solveRange(ctx context.Context, t *Target, first, end uint64) (Result, error) {
	workers := s.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	kern, err := s.Kernel.Resolve()
	if err != nil {
		return Result{}, err
	}
	chunk := s.ChunkSize
	if chunk == 0 {
		chunk = defaultChunk
	}
	var (
		next  atomic.Uint64 // next unclaimed candidate index
		tried atomic.Uint64
		stop  atomic.Bool
		once  sync.Once
		found string
		wg    sync.WaitGroup
	)
	next.Store(first)
	done := ctx.Done()
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sc := newScanner(t, kern)
			for !stop.Load() {
				select {
				case <-done:
					stop.Store(true)
					return
				default:
				}
				start := next.Add(chunk) - chunk
				if start >= end || start+chunk < start { // claimed past the end, or wrapped
					return
				}
				n := min(chunk, end-start)
				pw, ok := sc.scan(start, n)
				tried.Add(n)
				if ok {
					once.Do(func() { found = pw })
					stop.Store(true)
					return
				}
			}
		}()
	}
	wg.Wait()
	res := Result{Password: found, Tried: tried.Load()}
	if found != "" {
		return res, nil
	}
	if err := ctx.Err(); err != nil {
		return res, fmt.Errorf("solve after %d candidates: %w", res.Tried, err)
	}
	return res, ErrExhausted
}

// Kernel names a hashing path of the solver.
type Kernel string

// Kernels, fastest first. KernelAuto picks the fastest the CPU has, unless
// the environment variable SN27_POW_KERNEL names another.
const (
	KernelAuto    Kernel = ""
	KernelAVX512  Kernel = "avx512"  // 8 candidates per instruction, 24 in flight (AVX-512F)
	KernelAVX2    Kernel = "avx2"    // 4 candidates per instruction, 4 in flight (AVX2)
	KernelScalar  Kernel = "scalar"  // specialised pure Go
	KernelGeneric Kernel = "generic" // golang.org/x/crypto/blake2b per candidate
)

// Resolve returns the kernel that k means on this machine, or an error if
// the CPU lacks it.
func (k Kernel) Resolve() (Kernel, error) {
	switch k {
	case KernelAuto:
		if env := os.Getenv("SN27_POW_KERNEL"); env != "" {
			return Kernel(env).Resolve()
		}
		if hasAVX512 {
			return KernelAVX512, nil
		}
		if hasAVX2 {
			return KernelAVX2, nil
		}
		return KernelScalar, nil
	case KernelAVX512:
		if !hasAVX512 {
			return "", fmt.Errorf("kernel %q: this CPU has no AVX-512F", k)
		}
		return k, nil
	case KernelAVX2:
		if !hasAVX2 {
			return "", fmt.Errorf("kernel %q: this CPU has no AVX2", k)
		}
		return k, nil
	case KernelScalar, KernelGeneric:
		return k, nil
	}
	return "", fmt.Errorf("unknown kernel %q (want avx512, avx2, scalar or generic)", string(k))
}

// scanner is one worker's search state.
type scanner struct {
	t       *Target
	kernel  Kernel // resolved; the fast kernels fall back to generic where they cannot apply
	k       kernel
	simd    simdScan
	useSIMD bool
	buf     []byte // current candidate followed by the salt (odometer order)
	tmp     []byte // candidate to confirm followed by the salt
	digit   []int  // odometer, position 0 varies fastest
	base    []int  // radix of each position
	lane    []int  // per position: message word (0 or 1) holding it
	sh      []uint // per position: bit shift within that word
}

// fastMaxPassword is the longest password whose bytes live in message words
// 0 and 1 (the only words the specialised kernels vary).
const fastMaxPassword = 16

func newScanner(t *Target, kern Kernel) *scanner {
	d := len(t.Positions)
	sc := &scanner{
		t:      t,
		kernel: kern,
		buf:    make([]byte, d+len(t.Salt)),
		tmp:    make([]byte, d+len(t.Salt)),
		digit:  make([]int, d),
		base:   make([]int, d),
		lane:   make([]int, d),
		sh:     make([]uint, d),
	}
	copy(sc.buf[d:], t.Salt)
	copy(sc.tmp[d:], t.Salt)
	for i, p := range t.Positions {
		sc.base[i] = len(p)
		sc.lane[i] = i / 8
		sc.sh[i] = uint(8 * (i % 8))
	}
	if d > fastMaxPassword || len(sc.buf) > blake2b.BlockSize {
		sc.kernel = KernelGeneric
	}
	if sc.kernel != KernelGeneric {
		sc.k.init(sc.buf, &t.Digest)
		if sc.kernel != KernelScalar {
			sc.useSIMD = sc.initSIMD()
		}
	}
	return sc
}

// setIndex sets the odometer to candidate idx.
func (sc *scanner) setIndex(idx uint64) {
	for i, b := range sc.base {
		sc.digit[i] = int(idx % uint64(b))
		idx /= uint64(b)
		sc.buf[i] = sc.t.Positions[i][sc.digit[i]]
	}
}

// scan hashes candidates start .. start+n-1.
func (sc *scanner) scan(start, n uint64) (string, bool) {
	if sc.useSIMD {
		return sc.scanSIMD(start, n)
	}
	sc.setIndex(start)
	if sc.kernel == KernelGeneric {
		return sc.scanGeneric(n)
	}
	m := firstWords(sc.buf)
	p0 := sc.t.Positions[0]
	target := sc.k.target0
	for n > 0 {
		// Inner loop: position 0 runs through its charset.
		base0 := m[0] &^ 0xff
		for j := sc.digit[0]; j < len(p0) && n > 0; j++ {
			m0 := base0 | uint64(p0[j])
			n--
			if sc.k.firstWord(m0, m[1]) == target {
				if pw, ok := sc.confirm(m0, m[1]); ok {
					return pw, true
				}
			}
		}
		if n == 0 {
			break
		}
		// Carry into positions 1.. (once per len(p0) candidates).
		sc.digit[0] = 0
		m[0] = base0 | uint64(p0[0])
		for i := 1; i < len(sc.digit); i++ {
			sc.digit[i]++
			if sc.digit[i] == sc.base[i] {
				sc.digit[i] = 0
			}
			c := sc.t.Positions[i][sc.digit[i]]
			w := sc.lane[i]
			m[w] = m[w]&^(0xff<<sc.sh[i]) | uint64(c)<<sc.sh[i]
			if sc.digit[i] != 0 {
				break
			}
		}
	}
	return "", false
}

// confirm checks the full digest of the candidate whose first 16 bytes are
// the little-endian words m0 and m1.
func (sc *scanner) confirm(m0, m1 uint64) (string, bool) {
	var w [16]byte
	binary.LittleEndian.PutUint64(w[0:], m0)
	binary.LittleEndian.PutUint64(w[8:], m1)
	d := len(sc.t.Positions)
	copy(sc.tmp[:d], w[:d])
	return sc.check(sc.tmp)
}

// check compares the full digest of msg (candidate followed by salt).
func (sc *scanner) check(msg []byte) (string, bool) {
	got := blake2b.Sum512(msg)
	if subtle.ConstantTimeCompare(got[:], sc.t.Digest[:]) == 1 {
		return string(msg[:len(sc.t.Positions)]), true
	}
	return "", false
}

func (sc *scanner) scanGeneric(n uint64) (string, bool) {
	d := len(sc.t.Positions)
	for ; n > 0; n-- {
		got := blake2b.Sum512(sc.buf)
		if bytes.Equal(got[:8], sc.t.Digest[:8]) {
			if pw, ok := sc.check(sc.buf); ok {
				return pw, true
			}
		}
		for i := 0; i < d; i++ {
			sc.digit[i]++
			if sc.digit[i] == sc.base[i] {
				sc.digit[i] = 0
			}
			sc.buf[i] = sc.t.Positions[i][sc.digit[i]]
			if sc.digit[i] != 0 {
				break
			}
		}
	}
	return "", false
}

// BLAKE2b initialisation vector.
var iv = [8]uint64{
	0x6a09e667f3bcc908, 0xbb67ae8584caa73b, 0x3c6ef372fe94f82b, 0xa54ff53a5f1d36f1,
	0x510e527fade682d1, 0x9b05688c2b3e6c1f, 0x1f83d9abfb41bd6b, 0x5be0cd19137e2179,
}

// kernel is the per-challenge precomputation of the specialised BLAKE2b.
type kernel struct {
	h       [8]uint64  // chaining value: IV xor parameter block (64-byte digest, no key)
	m       [16]uint64 // message words of the single final block (words 0, 1 vary)
	t0      uint64     // message length in bytes
	pre     [12]uint64 // round 1, columns 1-3, after G: v1 v5 v9 v13, v2 v6 v10 v14, v3 v7 v11 v15
	target0 uint64     // first word of the wanted digest
}

// init prepares the kernel for messages of len(msg) bytes (one block) whose
// first 16 bytes at most vary; msg holds a candidate and the salt.
func (k *kernel) init(msg []byte, digest *[64]byte) {
	var block [blake2b.BlockSize]byte
	copy(block[:], msg)
	for i := range k.m {
		k.m[i] = binary.LittleEndian.Uint64(block[8*i:])
	}
	k.h = iv
	k.h[0] ^= 0x01010000 | blake2b.Size
	k.t0 = uint64(len(msg))
	k.target0 = binary.LittleEndian.Uint64(digest[:8])
	v := [16]uint64{
		k.h[0], k.h[1], k.h[2], k.h[3], k.h[4], k.h[5], k.h[6], k.h[7],
		iv[0], iv[1], iv[2], iv[3], iv[4] ^ k.t0, iv[5], ^iv[6], iv[7],
	}
	for c := 1; c < 4; c++ {
		a, b, cc, d := v[c], v[c+4], v[c+8], v[c+12]
		a, b, cc, d = g(a, b, cc, d, k.m[2*c], k.m[2*c+1])
		k.pre[4*(c-1)+0], k.pre[4*(c-1)+1], k.pre[4*(c-1)+2], k.pre[4*(c-1)+3] = a, b, cc, d
	}
}

// firstWords returns message words 0 and 1 of msg, zero padded.
func firstWords(msg []byte) [2]uint64 {
	var b [16]byte
	copy(b[:], msg)
	return [2]uint64{binary.LittleEndian.Uint64(b[0:8]), binary.LittleEndian.Uint64(b[8:16])}
}

func g(a, b, c, d, x, y uint64) (uint64, uint64, uint64, uint64) {
	a += b + x
	d = bits.RotateLeft64(d^a, -32)
	c += d
	b = bits.RotateLeft64(b^c, -24)
	a += b + y
	d = bits.RotateLeft64(d^a, -16)
	c += d
	b = bits.RotateLeft64(b^c, -63)
	return a, b, c, d
}
