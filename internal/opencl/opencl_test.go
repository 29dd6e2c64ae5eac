package opencl

import (
	"context"
	"errors"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/sn27/sn27/internal/pow"
)

var (
	sharedOnce sync.Once
	shared     *Solver
	sharedErr  error
)

// testSolver returns one solver for the whole test binary (the kernel
// build costs seconds). Tests skip under -short, and when this machine
// has no OpenCL driver registered at all; a registered driver that fails
// is a test failure.
func testSolver(tb testing.TB) *Solver {
	tb.Helper()
	if testing.Short() {
		tb.Skip("OpenCL tests build a kernel; skipped under -short")
	}
	if !BuiltIn {
		tb.Skip("built without OpenCL (-tags noopencl)")
	}
	sharedOnce.Do(func() { shared, sharedErr = New(DefaultConfig()) })
	if sharedErr != nil {
		icds, _ := filepath.Glob("/etc/OpenCL/vendors/*.icd")
		if errors.Is(sharedErr, ErrUnavailable) && len(icds) == 0 {
			tb.Skipf("no OpenCL driver on this machine (install pocl-opencl-icd): %v", sharedErr)
		}
		tb.Fatalf("OpenCL driver registered (%v) but the solver failed: %v", icds, sharedErr)
	}
	return shared
}

// indexOf returns the candidate number of pw in t's order.
func indexOf(t *pow.Target, pw string) uint64 {
	var idx, mul uint64 = 0, 1
	for i, cs := range t.Positions {
		idx += uint64(strings.IndexByte(string(cs), pw[i])) * mul
		mul *= uint64(len(cs))
	}
	return idx
}

func newChallenge(tb testing.TB, r *rand.ChaCha8, d, alphabet int) (*pow.Target, string) {
	tb.Helper()
	return newChallengeSalt(tb, r, d, alphabet, "")
}

// newChallengeSalt is newChallenge with the salt replaced when salt is not
// empty (SN27's salts are 16 bytes; longer ones run the general kernel).
func newChallengeSalt(tb testing.TB, r *rand.ChaCha8, d, alphabet int, salt string) (*pow.Target, string) {
	tb.Helper()
	c, pw, err := pow.New(r, pow.Params{Difficulty: d, AlphabetSize: alphabet})
	if err != nil {
		tb.Fatal(err)
	}
	if salt != "" {
		c.Salt = salt
		c.Hash = pow.HashString(pw, salt)
	}
	t, err := pow.Parse(c, pow.Limits{})
	if err != nil {
		tb.Fatal(err)
	}
	return t, pw
}

// agree runs the OpenCL and the native solver on [start, end) of t and
// checks they agree, and that the answer is want ("" for none).
func agree(t *testing.T, s *Solver, tg *pow.Target, start, end uint64, want string) {
	t.Helper()
	ctx := context.Background()
	got, err := s.SolveRange(ctx, tg, start, end)
	if want == "" {
		if !errors.Is(err, pow.ErrExhausted) {
			t.Fatalf("opencl [%d, %d): got %q, %v; want exhausted", start, end, got.Password, err)
		}
	} else if err != nil || got.Password != want {
		t.Fatalf("opencl [%d, %d): got %q, %v; want %q", start, end, got.Password, err, want)
	}
	nat, nerr := (&pow.Solver{}).SolveRange(ctx, tg, start, end)
	if nat.Password != got.Password || (nerr == nil) != (err == nil) {
		t.Fatalf("native [%d, %d): got %q, %v; opencl %q, %v", start, end, nat.Password, nerr, got.Password, err)
	}
}

func TestSolveSmall(t *testing.T) {
	s := testSolver(t)
	r := rand.NewChaCha8([32]byte{1})
	tg, pw := newChallenge(t, r, 4, 10)
	total, _ := tg.Keyspace()
	agree(t, s, tg, 0, total, pw)
}

// TestSolveRandom: random challenges of every length and several alphabet
// sizes, searched over windows that put the password at the first and last
// candidate of the range, at group (inner table) and launch edges, and just
// outside the range; the native solver must agree each time.
func TestSolveRandom(t *testing.T) {
	s := testSolver(t)
	r := rand.NewChaCha8([32]byte{17})
	rr := rand.New(r)
	for d := 1; d <= 16; d++ {
		for _, alphabet := range []int{1, 2, 3, 10, 15, 26, 72} {
			salt := ""
			if alphabet == 15 || alphabet == 3 {
				salt = strings.Repeat("0123456789abcdef", 8)[:16+d*6] // 22..112 bytes: the general kernel
			}
			tg, pw := newChallengeSalt(t, r, d, alphabet, salt)
			total, err := tg.Keyspace()
			if err != nil {
				continue // over 2^64 candidates: no solver takes it
			}
			idx := indexOf(tg, pw)
			p := newPlan(tg, s.vec)
			window := uint64(1 + rr.IntN(1<<12))
			type rng struct{ a, b uint64 }
			cases := []rng{
				{idx, min(idx+window, total)},                            // first candidate of the range
				{idx - min(idx, window), idx + 1},                        // last candidate
				{idx - idx%p.count, min(idx-idx%p.count+p.count, total)}, // its inner group
				{idx + 1, min(idx+1+window, total)},                      // just after: none
				{idx - min(idx, window), idx},                            // just before: none
			}
			if total <= 1<<22 {
				cases = append(cases, rng{0, total})
			}
			for _, c := range cases {
				want := ""
				if c.a <= idx && idx < c.b {
					want = pw
				}
				if c.a == c.b {
					continue
				}
				t.Run("", func(t *testing.T) {
					t.Logf("d=%d alphabet=%d salt %d bytes, password %q index %d, range [%d, %d)", d, alphabet, len(tg.Salt), pw, idx, c.a, c.b)
					agree(t, s, tg, c.a, c.b, want)
				})
			}
		}
	}
}

// TestLaunchEdges puts the password at the first and the last candidate of
// a launch by forcing tiny launches.
func TestLaunchEdges(t *testing.T) {
	s := testSolver(t)
	r := rand.NewChaCha8([32]byte{23})
	tg, pw := newChallenge(t, r, 7, 10)
	idx := indexOf(tg, pw)
	p := newPlan(tg, s.vec)
	g := idx / p.count
	// Launches of one group starting at idx's group, or ending just before.
	for _, start := range []uint64{g * p.count, (g - min(g, 3)) * p.count, idx, idx - idx%uint64(s.vec)} {
		s.mu.Lock()
		saved := s.rate
		s.rate = 1 // one group a launch
		s.mu.Unlock()
		agree(t, s, tg, start, idx+1, pw)
		s.mu.Lock()
		s.rate = saved
		s.mu.Unlock()
	}
}

// TestOrdered: on hashcat.Ordered's order the numbering is hashcat's; the
// OpenCL solver numbers candidates like the native one on any order, so a
// shuffled alphabet must agree too (checked in TestSolveRandom); here a mask
// with literals and built-in charsets.
func TestMaskKinds(t *testing.T) {
	s := testSolver(t)
	const salt = "a1b2c3d4e5f60718"
	for _, m := range []struct{ mask, chars, pw string }{
		{"?d?d?d?d?d?d", "", "907134"},
		{"x?1?l?1?d!", "q9Z", "xZkq4!"},
		{"?h?H?s?u?1?1?1?1", "0a", "fE{Q0aa0"},
		{"????", "", "??"},
	} {
		c := pow.Challenge{Hash: pow.HashString(m.pw, salt), Salt: salt, Mode: pow.Mode, Chars: m.chars, Mask: m.mask}
		tg, err := pow.Parse(c, pow.Limits{})
		if err != nil {
			t.Fatal(err)
		}
		total, _ := tg.Keyspace()
		agree(t, s, tg, 0, total, m.pw)
	}
}

// TestLongSalt: the longest message the kernel takes, and one byte more.
func TestLongSalt(t *testing.T) {
	s := testSolver(t)
	salt := strings.Repeat("s", MaxMessage-5)
	c := pow.Challenge{Hash: pow.HashString("ab1a2", salt), Salt: salt, Mode: pow.Mode, Chars: "ab12", Mask: "?1?1?1?1?1"}
	tg, err := pow.Parse(c, pow.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	agree(t, s, tg, 0, 1024, "ab1a2")
	c.Salt += "s"
	c.Hash = pow.HashString("ab1a2", c.Salt)
	tg, _ = pow.Parse(c, pow.Limits{})
	if _, err := s.Solve(context.Background(), tg); !errors.Is(err, ErrUnsupported) {
		t.Fatalf("salt of %d bytes: got %v; want ErrUnsupported", len(c.Salt), err)
	}
}

func TestCancel(t *testing.T) {
	s := testSolver(t)
	r := rand.NewChaCha8([32]byte{5})
	tg, _ := newChallenge(t, r, 16, 10)
	tg.Digest[0] ^= 1 // no answer
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.Solve(ctx, tg); !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v; want context.Canceled", err)
	}
}

// FuzzSolveRange cross-checks the OpenCL kernel against the native solver on
// challenges and ranges drawn from the fuzz input.
func FuzzSolveRange(f *testing.F) {
	f.Add(uint64(1), uint8(6), uint8(10), uint64(0), uint16(1000))
	f.Add(uint64(2), uint8(1), uint8(1), uint64(0), uint16(1))
	f.Add(uint64(3), uint8(16), uint8(15), uint64(1<<40), uint16(65535))
	f.Add(uint64(4), uint8(12), uint8(72), uint64(12345678), uint16(5000))
	f.Fuzz(func(t *testing.T, seed uint64, d, alphabet uint8, start uint64, width uint16) {
		s := testSolver(t)
		var key [32]byte
		for i := range 8 {
			key[i] = byte(seed >> (8 * i))
		}
		dd := 1 + int(d)%16
		aa := 1 + int(alphabet)%len(pow.BaseCharset)
		salt := "" // SN27's 16 bytes, or a third of the time a longer one
		if seed%3 == 0 {
			salt = strings.Repeat("fedcba9876543210", 8)[:min(MaxMessage-dd, 17+int(seed>>8)%96)]
		}
		tg, pw := newChallengeSalt(t, rand.NewChaCha8(key), dd, aa, salt)
		total, err := tg.Keyspace()
		if err != nil {
			return
		}
		idx := indexOf(tg, pw)
		// Half the inputs aim at the password's neighbourhood.
		if seed%2 == 0 {
			start = idx - min(idx, uint64(width)/2)
		}
		start %= total
		end := min(start+uint64(width)+1, total)
		want := ""
		if start <= idx && idx < end {
			want = pw
		}
		agree(t, s, tg, start, end, want)
	})
}

// BenchmarkSolve reports the kernel's rate on an SN27-shaped challenge
// without an answer (10-character alphabet, 12 positions).
func BenchmarkSolve(b *testing.B) {
	s := testSolver(b)
	const salt = "0123456789abcdef"
	c := pow.Challenge{Hash: pow.HashString("-", salt), Salt: salt, Mode: pow.Mode, Chars: "abcdefghij", Mask: strings.Repeat("?1", 12)}
	tg, err := pow.Parse(c, pow.Limits{})
	if err != nil {
		b.Fatal(err)
	}
	const n = 1 << 24
	var from uint64
	for b.Loop() {
		if _, err := s.SolveRange(context.Background(), tg, from, from+n); !errors.Is(err, pow.ErrExhausted) {
			b.Fatal(err)
		}
		from += n
	}
	b.ReportMetric(float64(b.N)*n/b.Elapsed().Seconds()/1e6, "MH/s")
	b.Logf("%s, vector %d, work-group %d", s.Device(), s.vec, s.local)
}

// TestFirstWordOnlyMatch: the kernel compares digest word 0 only; a
// candidate matching it but not the rest (here by a doctored target) is
// caught on the host, the launch is searched exactly on the CPU, and the
// search goes on to the end.
func TestFirstWordOnlyMatch(t *testing.T) {
	s := testSolver(t)
	r := rand.NewChaCha8([32]byte{77})
	tg, pw := newChallenge(t, r, 6, 10)
	tg.Digest[63] ^= 1
	total, _ := tg.Keyspace()
	res, err := s.Solve(context.Background(), tg)
	if !errors.Is(err, pow.ErrExhausted) || res.Password != "" || res.Tried != total {
		t.Fatalf("got %+v, %v; want the whole keyspace exhausted (word 0 matched %q)", res, err, pw)
	}
}
