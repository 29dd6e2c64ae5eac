package hashcat

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sn27/sn27/internal/pow"
)

const sliceSalt = "0011223344556677"

// candidate returns candidate idx of t: position 0 varies fastest.
func candidate(t *pow.Target, idx uint64) string {
	b := make([]byte, len(t.Positions))
	for i, p := range t.Positions {
		b[i] = p[idx%uint64(len(p))]
		idx /= uint64(len(p))
	}
	return string(b)
}

// TestRealHashcatSliceMapping checks the keyspace mapping documented at
// Keyspace against the real hashcat: K from --keyspace, and that --skip S
// --limit L cracks the candidates S*bfs and (S+L)*bfs-1 of Ordered(t) (and
// one between) but not S*bfs-1 nor (S+L)*bfs. One hashcat run cracks all of
// a case's candidates from a hash file.
func TestRealHashcatSliceMapping(t *testing.T) {
	for _, tt := range []struct {
		name         string
		chars, mask  string
		wantK        uint64
		skip, limit  uint64
		keyspaceOnly bool
	}{
		{"1 position, no base word to split", "ba", "?1", 1, 0, 1, true},
		{"5 positions: amplifier 1", "cbaed", "?1?1?1?1?1", 625, 7, 3, false},
		{"6 positions: amplifier 2", "9876543210", strings.Repeat("?1", 6), 10000, 41, 7, false},
		{"7 positions, 10*10*10 > 256: amplifier 3", "5094837261", strings.Repeat("?1", 7), 10000, 3, 2, false},
		{"8 positions, 5*5*5 <= 256: amplifier 4", "cbaed", strings.Repeat("?1", 8), 625, 100, 200, false},
		{"literals and built-ins, 10*6*1 <= 256: amplifier 4", "fedcba", "?d?1A?1?1?1??", 36, 5, 10, false},
		{"12 positions with ?l, 26*26*2 > 256: amplifier 3", "ba", "?l?l" + strings.Repeat("?1", 10), 512, 300, 2, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := realRunner(t)
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			c := pow.Challenge{Hash: pow.HashString("-", sliceSalt), Salt: sliceSalt, Mode: pow.Mode, Chars: tt.chars, Mask: tt.mask}
			tg, err := pow.Parse(c, pow.Limits{})
			if err != nil {
				t.Fatal(err)
			}
			total, _ := tg.Keyspace()
			k, err := r.Keyspace(ctx, c)
			if err != nil || k != tt.wantK {
				t.Fatalf("Keyspace = %d, %v; want %d", k, err, tt.wantK)
			}
			if p := PredictKeyspace(tg); p != k {
				t.Errorf("PredictKeyspace = %d; hashcat says %d", p, k)
			}
			if tt.keyspaceOnly {
				return
			}
			bfs := total / k
			lo, hi := tt.skip*bfs, min((tt.skip+tt.limit)*bfs, total)
			want := map[uint64]bool{lo: true, hi - 1: true, (lo + hi) / 2: true}
			if lo > 0 {
				want[lo-1] = false
			}
			if hi < total {
				want[hi] = false
			}
			o := Ordered(tg)
			var lines []string
			for idx := range want {
				lines = append(lines, pow.HashString(candidate(o, idx), sliceSalt)+":"+sliceSalt)
			}
			file := filepath.Join(t.TempDir(), "hashes")
			if err := os.WriteFile(file, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			stdout, stderr, code, err := r.run(ctx, r.argsFor(c, file, sliceArgs(tt.skip, tt.limit)...))
			if err != nil || (code != exitCracked && code != exitExhausted) {
				t.Fatalf("hashcat = code %d, %v: %s", code, err, tail(stderr))
			}
			for idx, in := range want {
				pw := candidate(o, idx)
				got, found, err := ParseCracked(stdout, pow.HashString(pw, sliceSalt), sliceSalt)
				if err != nil || found != in || (found && got != pw) {
					t.Errorf("candidate %d %q (slice [%d, %d) of %d, bfs %d): cracked %v (%q, %v); want %v",
						idx, pw, lo, hi, total, bfs, found, got, err, in)
				}
			}
		})
	}
}

func TestParseKeyspace(t *testing.T) {
	for _, tt := range []struct {
		out     string
		want    uint64
		wantErr bool
	}{
		{"81\n", 81, false}, // what hashcat 6.2.6 prints
		{"10000\r\n", 10000, false},
		{"18446744073709551615\n", 1<<64 - 1, false},
		{"7", 7, false},
		{"18446744073709551616\n", 0, true}, // 2^64
		{"0\n", 0, true},
		{"", 0, true},
		{"\n", 0, true},
		{"-1\n", 0, true},
		{"+5\n", 0, true},
		{" 81\n", 0, true},
		{"81\n\n", 0, true},
		{"81\n82\n", 0, true},
		{"0x51\n", 0, true},
		{"081\n", 0, true},
		{"Skipping mask '?1' because it is smaller than the minimum password length.\n", 0, true},
		{strings.Repeat("9", 100), 0, true},
	} {
		got, err := ParseKeyspace([]byte(tt.out))
		if got != tt.want || (err != nil) != tt.wantErr {
			t.Errorf("ParseKeyspace(%q) = %d, %v; want %d, error %v", tt.out, got, err, tt.want, tt.wantErr)
		}
	}
}

func FuzzParseKeyspace(f *testing.F) {
	for _, s := range []string{"81\n", "10000\r\n", "0\n", "18446744073709551616\n", "1\n2\n", ""} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, out []byte) {
		k, err := ParseKeyspace(out)
		if err != nil {
			if k != 0 {
				t.Fatalf("ParseKeyspace(%q) = %d with error %v", out, k, err)
			}
			return
		}
		// Accepted: exactly the decimal form of k, and a line end.
		if k == 0 || strings.TrimRight(string(out), "\r\n") != strconv.FormatUint(k, 10) || len(out) > maxKeyspaceOutput {
			t.Fatalf("ParseKeyspace(%q) = %d", out, k)
		}
	})
}

func TestHexMask(t *testing.T) {
	for _, tt := range []struct{ mask, want string }{
		{"?1?1?1", "?1?1?1"},
		{"ab?1", "6162?1"},
		{"?d?1A?1??", "?d?141?13f"},
		{"?l ?u:", "?l20?u3a"},
		{"??", "3f"},
		{"?1?", "?1?"}, // hashcat reports the lone '?'
	} {
		if got := hexMask(tt.mask); got != tt.want {
			t.Errorf("hexMask(%q) = %q; want %q", tt.mask, got, tt.want)
		}
	}
}

func TestSliceAndKeyspaceArgs(t *testing.T) {
	r, err := New(Config{Path: "hashcat", WorkloadProfile: 3, DeviceTypes: "2"})
	if err != nil {
		t.Fatal(err)
	}
	c := pow.Challenge{Hash: "$BLAKE2$00", Salt: "ab", Chars: "xy", Mask: "a?1"}
	for _, tt := range []struct {
		name string
		args []string
		want string
	}{
		{"slice", r.args(c, sliceArgs(5, 7)...), "-D 2 --markov-disable --skip 5 --limit 7 $BLAKE2$00:ab 61?1"},
		{"slice from 0", r.args(c, sliceArgs(0, 7)...), "-D 2 --markov-disable --limit 7 $BLAKE2$00:ab 61?1"},
		{"keyspace: no hash", r.argsFor(c, "", "--keyspace"), "-D 2 --keyspace 61?1"},
	} {
		if got := strings.Join(tt.args, " "); !strings.HasSuffix(got, tt.want) {
			t.Errorf("%s: args %q do not end in %q", tt.name, got, tt.want)
		}
	}
	for _, tt := range []struct{ skip, limit uint64 }{{1, 0}, {1 << 63, 1 << 63}} {
		if _, err := r.SolveSlice(context.Background(), c, tt.skip, tt.limit); err == nil {
			t.Errorf("SolveSlice(skip %d, limit %d) accepted", tt.skip, tt.limit)
		}
	}
}

func TestOrdered(t *testing.T) {
	tg := &pow.Target{Salt: "s", Positions: [][]byte{[]byte("cab"), []byte("x"), []byte("91")}}
	o := Ordered(tg)
	if got := [3]string{string(o.Positions[0]), string(o.Positions[1]), string(o.Positions[2])}; got != [3]string{"abc", "x", "19"} {
		t.Errorf("Ordered positions = %q", got)
	}
	if string(tg.Positions[0]) != "cab" || o.Salt != "s" {
		t.Error("Ordered changed its argument or lost the salt")
	}
	if got := candidate(o, 4); got != "bx9" { // 4 = 1 + 3*(0 + 1*1)
		t.Errorf("candidate 4 = %q; want %q", got, "bx9")
	}
}

// TestPredictKeyspace: the split rule without hashcat, for every mask length
// and the amplifier's boundary (|pos0|*|pos1|*|pos2| = 256 or 257).
func TestPredictKeyspace(t *testing.T) {
	sizes := func(ns ...int) *pow.Target {
		tg := &pow.Target{}
		for _, n := range ns {
			tg.Positions = append(tg.Positions, make([]byte, n))
		}
		return tg
	}
	for _, tt := range []struct {
		tg   *pow.Target
		want uint64
	}{
		{sizes(10), 1},
		{sizes(10, 10, 10, 10, 10), 10_000},
		{sizes(10, 10, 10, 10, 10, 10), 10_000},
		{sizes(10, 10, 10, 10, 10, 10, 10), 10_000},
		{sizes(8, 8, 4, 3, 5, 7, 2), 5 * 7 * 2},       // 256: amplifier 4
		{sizes(257, 1, 1, 3, 5, 7, 2), 3 * 5 * 7 * 2}, // 257: amplifier 3
		{sizes(10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10), 1_000_000_000},
	} {
		if got := PredictKeyspace(tt.tg); got != tt.want {
			t.Errorf("PredictKeyspace(%d positions) = %d; want %d", len(tt.tg.Positions), got, tt.want)
		}
	}
}
