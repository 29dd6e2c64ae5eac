package pow

import (
	"context"
	"strings"
	"testing"

	"golang.org/x/crypto/blake2b"
)

// FuzzParse: no input panics Parse; what it accepts is consistent.
func FuzzParse(f *testing.F) {
	c := valid()
	f.Add(c.Hash, c.Salt, c.Mode, c.Chars, c.Mask, c.Difficulty)
	f.Add(c.Hash, "x", "610", BaseCharset, "?a?l?u?d?h?H?s??x?1", 0)
	f.Add("$BLAKE2$", "", "", "", "?", -1)
	f.Add(strings.ToUpper(c.Hash), c.Salt, "610", "aa", "?2", 1<<40)
	f.Fuzz(func(t *testing.T, hash, salt, mode, chars, mask string, difficulty int) {
		tg, err := Parse(Challenge{Hash: hash, Salt: salt, Mode: mode, Chars: chars, Mask: mask, Difficulty: difficulty}, Limits{})
		if err != nil {
			if tg != nil {
				t.Fatal("error with a target")
			}
			return
		}
		if len(tg.Positions) == 0 || len(tg.Positions) > DefaultMaxDifficulty {
			t.Fatalf("accepted %d positions", len(tg.Positions))
		}
		for _, p := range tg.Positions {
			if len(p) == 0 {
				t.Fatal("empty position")
			}
			for _, ch := range p {
				if ch < ' ' || ch > '~' {
					t.Fatalf("non-printable candidate byte %#x", ch)
				}
			}
		}
		if _, err := tg.Keyspace(); err != nil && len(tg.Positions) < 9 {
			t.Fatalf("keyspace of %d positions: %v", len(tg.Positions), err)
		}
	})
}

// FuzzSolve: every kernel finds the password of a small random challenge,
// whatever its charset, salt and password length (differential check of the
// kernels against each other and against x/crypto/blake2b).
func FuzzSolve(f *testing.F) {
	f.Add("$();&<>*", "0011223344556677", []byte{1, 2, 3})
	f.Add("ab", strings.Repeat("s", 126), []byte{1, 0})
	f.Add("xyz", "a", []byte{0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2, 0})
	f.Fuzz(func(t *testing.T, chars, salt string, pick []byte) {
		chars = dedupPrintable(chars, 6)
		if chars == "" || checkSalt(salt) != nil || len(pick) == 0 || len(pick) > 16 {
			return
		}
		// Keep the keyspace small: at most 4 positions vary, the rest are literals.
		pw := make([]byte, len(pick))
		var mask strings.Builder
		for i, b := range pick {
			pw[i] = chars[int(b)%len(chars)]
			if i < 4 {
				mask.WriteString("?1")
			} else if pw[i] == '?' {
				mask.WriteString("??")
			} else {
				mask.WriteByte(pw[i])
			}
		}
		c := Challenge{Hash: HashString(string(pw), salt), Salt: salt, Mode: Mode, Chars: chars, Mask: mask.String()}
		tg, err := Parse(c, Limits{})
		if err != nil {
			t.Fatalf("Parse(%+v): %v", c, err)
		}
		for _, kern := range kernels(t) {
			res, err := (&Solver{Kernel: kern, Workers: 2, ChunkSize: 37}).Solve(context.Background(), tg)
			if err != nil || res.Password != string(pw) {
				t.Fatalf("%s: Solve(%+v) = %q, %v; want %q", kern, c, res.Password, err, pw)
			}
		}
	})
}

func dedupPrintable(s string, max int) string {
	var b []byte
	for i := 0; i < len(s) && len(b) < max; i++ {
		if c := s[i]; c >= ' ' && c <= '~' && !strings.ContainsRune(string(b), rune(c)) {
			b = append(b, c)
		}
	}
	return string(b)
}

// FuzzScanRange: every kernel finds the password in any range that holds
// it and nothing in the ranges beside it, wherever the range starts and ends
// relative to the SIMD groups and table rows.
func FuzzScanRange(f *testing.F) {
	f.Add("abcdefghij", "0011223344556677", []byte{3, 1, 4, 1, 5, 9}, uint16(17), uint16(4000))
	f.Add("$();&<>*", "x", []byte{7, 7, 7, 7, 7, 7, 7, 7, 7, 1}, uint16(0), uint16(0))
	f.Add("xy", "0123456789abcdef0123456789abcdef", []byte{1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 1}, uint16(24), uint16(23))
	f.Fuzz(func(t *testing.T, chars, salt string, pick []byte, before, after uint16) {
		chars = dedupPrintable(chars, 12)
		if chars == "" || checkSalt(salt) != nil || len(pick) == 0 || len(pick) > fastMaxPassword {
			return
		}
		tg := &Target{Salt: salt, Positions: make([][]byte, len(pick))}
		pw := make([]byte, len(pick))
		idx, total := uint64(0), uint64(1)
		for i, b := range pick {
			tg.Positions[i] = []byte(chars)
			pw[i] = chars[int(b)%len(chars)]
			idx += uint64(int(b)%len(chars)) * total
			total *= uint64(len(chars))
		}
		tg.Digest = blake2b.Sum512(append(append([]byte{}, pw...), salt...))
		lo := idx - min(idx, uint64(before))
		hi := min(total, idx+1+uint64(after))
		for _, kern := range kernels(t) {
			sc := newScanner(tg, kern)
			if got, ok := sc.scan(lo, hi-lo); !ok || got != string(pw) {
				t.Fatalf("%s: scan [%d,%d) = %q, %v; want %q at %d", kern, lo, hi, got, ok, pw, idx)
			}
			if got, ok := sc.scan(lo, idx-lo); ok {
				t.Fatalf("%s: scan [%d,%d) found %q", kern, lo, idx, got)
			}
			if got, ok := sc.scan(idx+1, hi-idx-1); ok {
				t.Fatalf("%s: scan (%d,%d) found %q", kern, idx, hi, got)
			}
		}
	})
}
