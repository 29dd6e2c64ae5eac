package pow

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/blake2b"
)

var hashRE = regexp.MustCompile(`^\$BLAKE2\$[0-9a-f]{128}$`)

func TestNewFormat(t *testing.T) {
	for _, tt := range []struct {
		name       string
		params     Params
		wantAlphab int
	}{
		{"defaults", Params{Difficulty: 6}, DefaultAlphabetSize},
		{"whole base set", Params{Difficulty: 4, AlphabetSize: len(BaseCharset)}, len(BaseCharset)},
		{"one char", Params{Difficulty: 1, AlphabetSize: 1}, 1},
		{"max difficulty", Params{Difficulty: 12, MaxDifficulty: 12}, DefaultAlphabetSize},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c, pw, err := New(nil, tt.params)
			if err != nil {
				t.Fatal(err)
			}
			if !hashRE.MatchString(c.Hash) {
				t.Errorf("hash %q does not match %v", c.Hash, hashRE)
			}
			if ok, _ := regexp.MatchString(`^[0-9a-f]{16}$`, c.Salt); !ok {
				t.Errorf("salt %q is not 16 lowercase hex", c.Salt)
			}
			if c.Mode != "610" || c.Mask != strings.Repeat("?1", tt.params.Difficulty) || c.Difficulty != tt.params.Difficulty {
				t.Errorf("got mode %q mask %q difficulty %d", c.Mode, c.Mask, c.Difficulty)
			}
			if len(c.Chars) != tt.wantAlphab {
				t.Errorf("alphabet %q has %d chars; want %d", c.Chars, len(c.Chars), tt.wantAlphab)
			}
			for _, r := range c.Chars {
				if !strings.ContainsRune(BaseCharset, r) || strings.Count(c.Chars, string(r)) != 1 {
					t.Errorf("alphabet %q: %q not in base set or repeated", c.Chars, r)
				}
			}
			for _, r := range pw {
				if !strings.ContainsRune(c.Chars, r) {
					t.Errorf("password %q has %q outside alphabet %q", pw, r, c.Chars)
				}
			}
			if ok, err := Verify(c.Hash, c.Salt, pw); !ok || err != nil {
				t.Errorf("Verify(own password) = %v, %v", ok, err)
			}
			if ok, _ := Verify(c.Hash, c.Salt, pw+"x"); ok {
				t.Error("Verify accepted a wrong password")
			}
			if _, err := Parse(c, Limits{MaxDifficulty: tt.params.MaxDifficulty}); err != nil {
				t.Errorf("Parse(New()) = %v", err)
			}
		})
	}
}

func TestNewRandomness(t *testing.T) {
	seen := map[string]bool{}
	for i := 0; i < 50; i++ {
		c, _, err := New(nil, Params{Difficulty: 5})
		if err != nil {
			t.Fatal(err)
		}
		seen[c.Chars] = true
	}
	if len(seen) < 45 {
		t.Errorf("50 challenges gave only %d distinct alphabets", len(seen))
	}
}

func TestBaseCharset(t *testing.T) {
	if len(BaseCharset) != 86 {
		t.Errorf("len(BaseCharset) = %d; want 86", len(BaseCharset))
	}
	if err := checkCharset(BaseCharset); err != nil {
		t.Error(err)
	}
}

func TestHashMatchesKnownVector(t *testing.T) {
	// Computed with Python: hashlib.blake2b(b"abc123" + b"0011223344556677").hexdigest()
	const want = "$BLAKE2$6923db371d9eff484ea9966add33a599526e59a7e513b997d1b4fa26c939ebd9169f042d177c19f701c079b793626736c1c0f19a863254738077ab5423c05290"
	if got := HashString("abc123", "0011223344556677"); got != want {
		t.Errorf("HashString = %s; want %s", got, want)
	}
}

func valid() Challenge {
	return Challenge{
		Hash:       HashString("ab", "0011223344556677"),
		Salt:       "0011223344556677",
		Mode:       "610",
		Chars:      "abc",
		Mask:       "?1?1",
		Difficulty: 2,
	}
}

func TestParseErrors(t *testing.T) {
	for _, tt := range []struct {
		name  string
		edit  func(*Challenge)
		field string
	}{
		{"unknown mode", func(c *Challenge) { c.Mode = "0" }, "challenge_mode"},
		{"empty mode", func(c *Challenge) { c.Mode = "" }, "challenge_mode"},
		{"hash without prefix", func(c *Challenge) { c.Hash = c.Hash[len(HashPrefix):] }, "challenge_hash"},
		{"hash too short", func(c *Challenge) { c.Hash = c.Hash[:len(c.Hash)-2] }, "challenge_hash"},
		{"hash too long", func(c *Challenge) { c.Hash += "00" }, "challenge_hash"},
		{"hash not hex", func(c *Challenge) { c.Hash = c.Hash[:len(c.Hash)-1] + "g" }, "challenge_hash"},
		{"empty salt", func(c *Challenge) { c.Salt = "" }, "challenge_salt"},
		{"salt with colon", func(c *Challenge) { c.Salt = "00:11" }, "challenge_salt"},
		{"salt with newline", func(c *Challenge) { c.Salt = "00\n11" }, "challenge_salt"},
		{"salt with space", func(c *Challenge) { c.Salt = "00 11" }, "challenge_salt"},
		{"salt too long", func(c *Challenge) { c.Salt = strings.Repeat("a", MaxSaltLen+1) }, "challenge_salt"},
		{"empty mask", func(c *Challenge) { c.Mask = "" }, "challenge_mask"},
		{"mask lone question mark", func(c *Challenge) { c.Mask = "?1?" }, "challenge_mask"},
		{"mask unknown placeholder", func(c *Challenge) { c.Mask = "?1?z" }, "challenge_mask"},
		{"mask uses charset 2", func(c *Challenge) { c.Mask = "?1?2" }, "challenge_mask"},
		{"mask non-printable", func(c *Challenge) { c.Mask = "?1\x00" }, "challenge_mask"},
		{"mask ?1 without chars", func(c *Challenge) { c.Chars = "" }, "challenge_mask"},
		{"difficulty mismatch", func(c *Challenge) { c.Difficulty = 3 }, "challenge_difficulty"},
		{"difficulty negative", func(c *Challenge) { c.Difficulty = -1 }, "challenge_difficulty"},
		{"difficulty above max", func(c *Challenge) { c.Mask = strings.Repeat("?1", 17); c.Difficulty = 17 }, "challenge_difficulty"},
		{"mask far above max", func(c *Challenge) { c.Mask = strings.Repeat("?1", 1000); c.Difficulty = 0 }, "challenge_difficulty"},
		{"charset duplicate", func(c *Challenge) { c.Chars = "abca" }, "challenge_chars"},
		{"charset non-printable", func(c *Challenge) { c.Chars = "ab\x7f" }, "challenge_chars"},
		{"charset tab", func(c *Challenge) { c.Chars = "ab\t" }, "challenge_chars"},
		{"charset non-ascii", func(c *Challenge) { c.Chars = "abé" }, "challenge_chars"},
		{"charset too long", func(c *Challenge) { c.Chars = strings.Repeat("a", 96) }, "challenge_chars"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := valid()
			tt.edit(&c)
			_, err := Parse(c, Limits{})
			var fe *FieldError
			if !errors.As(err, &fe) || !errors.Is(err, ErrInvalid) {
				t.Fatalf("Parse = %v; want a FieldError", err)
			}
			if fe.Field != tt.field {
				t.Errorf("error %q names field %q; want %q", err, fe.Field, tt.field)
			}
		})
	}
	if _, err := Parse(valid(), Limits{}); err != nil {
		t.Errorf("Parse(valid) = %v", err)
	}
}

func TestNewErrors(t *testing.T) {
	for _, p := range []Params{
		{Difficulty: 0}, {Difficulty: -3}, {Difficulty: 17}, {Difficulty: 9, MaxDifficulty: 8},
		{Difficulty: 4, AlphabetSize: -1}, {Difficulty: 4, AlphabetSize: len(BaseCharset) + 1},
	} {
		if _, _, err := New(nil, p); !errors.Is(err, ErrInvalid) {
			t.Errorf("New(%+v) = %v; want ErrInvalid", p, err)
		}
	}
}

func TestParseMaskPlaceholders(t *testing.T) {
	pos, err := parseMask("?l?u?d?h?H?s?a???1x", "XY", 0)
	if err != nil {
		t.Fatal(err)
	}
	want := []int{26, 26, 10, 16, 16, 33, 95, 1, 2, 1}
	if len(pos) != len(want) {
		t.Fatalf("got %d positions; want %d", len(pos), len(want))
	}
	for i, p := range pos {
		if len(p) != want[i] {
			t.Errorf("position %d has %d chars; want %d", i, len(p), want[i])
		}
	}
}

// TestKernelMatchesBlake2b cross-checks the specialised kernel against
// golang.org/x/crypto/blake2b for every password length it handles and
// salts up to the one-block limit.
func TestKernelMatchesBlake2b(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for pass := 1; pass <= fastMaxPassword; pass++ {
		for _, saltLen := range []int{1, 7, 16, 33, 64, blake2b.BlockSize - pass} {
			msg := make([]byte, pass+saltLen)
			for i := range msg {
				msg[i] = byte(' ' + rng.IntN(95))
			}
			want := blake2b.Sum512(msg)
			var k kernel
			k.init(msg, &want)
			w01 := firstWords(msg)
			got := k.firstWord(w01[0], w01[1])
			if w := binary.LittleEndian.Uint64(want[:8]); got != w || k.target0 != w {
				t.Errorf("pass %d salt %d: kernel word %#x; blake2b %#x", pass, saltLen, got, w)
			}
		}
	}
}

// kernels lists the kernels this CPU can run; every solver test runs on each.
func kernels(t testing.TB) []Kernel {
	ks := []Kernel{KernelScalar, KernelGeneric}
	for _, k := range []Kernel{KernelAVX512, KernelAVX2} {
		if _, err := k.Resolve(); err == nil {
			ks = append(ks, k)
		} else {
			t.Logf("kernel %s not tested: %v", k, err)
		}
	}
	return ks
}

// TestSIMDMatchesBlake2b cross-checks the generated kernels against
// golang.org/x/crypto/blake2b: for every password length and salts that put
// the message in each kernel variant (3, 4 and 16 words), a scan of a range
// holding the password finds it, wherever it falls in a group or a table
// row, and a scan of the ranges around it does not.
func TestSIMDMatchesBlake2b(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, kern := range kernels(t) {
		if kern == KernelScalar || kern == KernelGeneric {
			continue
		}
		for pass := 1; pass <= fastMaxPassword; pass++ {
			for _, saltLen := range []int{1, 16, 17, 50, blake2b.BlockSize - pass} {
				salt := make([]byte, saltLen)
				for i := range salt {
					salt[i] = byte('!' + rng.IntN(90))
				}
				tg := &Target{Salt: string(salt), Positions: make([][]byte, pass)}
				pw := make([]byte, pass)
				idx, scale := uint64(0), uint64(1)
				for i := range tg.Positions {
					n := 2 + rng.IntN(12)
					perm := rng.Perm(90)
					for _, c := range perm[:n] {
						tg.Positions[i] = append(tg.Positions[i], byte('!'+c))
					}
					d := rng.IntN(n)
					pw[i] = tg.Positions[i][d]
					idx += uint64(d) * scale
					scale *= uint64(n)
				}
				tg.Digest = blake2b.Sum512(append(append([]byte{}, pw...), salt...))
				sc := newScanner(tg, kern)
				if !sc.useSIMD {
					t.Fatalf("%s pass %d salt %d: SIMD kernel not used", kern, pass, saltLen)
				}
				lo := idx - min(idx, uint64(rng.IntN(5000)))
				hi := min(scale, idx+1+uint64(rng.IntN(5000)))
				if got, ok := sc.scan(lo, hi-lo); !ok || got != string(pw) {
					t.Errorf("%s pass %d salt %d: scan [%d,%d) = %q, %v; want %q at %d", kern, pass, saltLen, lo, hi, got, ok, pw, idx)
				}
				if got, ok := sc.scan(lo, idx-lo); ok {
					t.Errorf("%s pass %d salt %d: scan [%d,%d) found %q before the password", kern, pass, saltLen, lo, idx, got)
				}
				if got, ok := sc.scan(idx+1, hi-idx-1); ok {
					t.Errorf("%s pass %d salt %d: scan (%d,%d) found %q after the password", kern, pass, saltLen, idx, hi, got)
				}
			}
		}
	}
}

func solveT(t *testing.T, c Challenge, s *Solver) (Result, error) {
	t.Helper()
	tg, err := Parse(c, Limits{})
	if err != nil {
		t.Fatalf("Parse(%+v): %v", c, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	return s.Solve(ctx, tg)
}

func TestSolve(t *testing.T) {
	long := strings.Repeat("s", 120) // password+salt over one block: generic path
	for _, tt := range []struct {
		name, pw, salt, chars, mask string
		workers                     int
		chunk                       uint64
	}{
		{"sn27 shape", "c$a(b", "00112233aabbccdd", "abc$(", "?1?1?1?1?1", 0, 0},
		{"one position", "z", "ff", "xyz", "?1", 0, 0},
		{"literal and builtins", "a?Z9", "salt", "ab", "?1???u?d", 2, 1000},
		{"sixteen positions", "aaaaaaaaaaaaaaab", "0011223344556677", "ab", strings.Repeat("?1", 16), 0, 0},
		{"salt crosses word", "ba", "0123456789abcdef0123", "ab", "?1?1", 1, 1},
		{"two blocks, generic path", "abcd", long, "abcd", "?1?1?1?1", 0, 7},
		{"tiny chunks many workers", "dcba", "0011", "abcd", "?1?1?1?1", 5, 3},
		{"shell metacharacters", "$(;)", "00", "$();&<>*", "?1?1?1?1", 0, 0},
	} {
		for _, kern := range kernels(t) {
			t.Run(tt.name+"/"+string(kern), func(t *testing.T) {
				c := Challenge{Hash: HashString(tt.pw, tt.salt), Salt: tt.salt, Mode: Mode, Chars: tt.chars, Mask: tt.mask}
				res, err := solveT(t, c, &Solver{Workers: tt.workers, ChunkSize: tt.chunk, Kernel: kern})
				if err != nil || res.Password != tt.pw {
					t.Fatalf("Solve = %q, %v; want %q", res.Password, err, tt.pw)
				}
				if res.Tried == 0 {
					t.Error("Tried = 0")
				}
			})
		}
	}
}

func TestSolveExhausted(t *testing.T) {
	c := Challenge{Hash: HashString("zzz", "00"), Salt: "00", Mode: Mode, Chars: "abc", Mask: "?1?1?1"}
	for _, kern := range kernels(t) {
		res, err := solveT(t, c, &Solver{ChunkSize: 5, Kernel: kern})
		if !errors.Is(err, ErrExhausted) {
			t.Fatalf("%s: Solve = %q, %v; want ErrExhausted", kern, res.Password, err)
		}
		if res.Tried != 27 {
			t.Errorf("%s: Tried = %d; want the whole keyspace, 27", kern, res.Tried)
		}
	}
}

func TestKernelResolve(t *testing.T) {
	if _, err := Kernel("sse9").Resolve(); err == nil {
		t.Error("unknown kernel resolved")
	}
	t.Setenv("SN27_POW_KERNEL", "scalar")
	if k, err := KernelAuto.Resolve(); k != KernelScalar || err != nil {
		t.Errorf("auto with SN27_POW_KERNEL=scalar = %q, %v", k, err)
	}
}

func TestSolveCancel(t *testing.T) {
	c := Challenge{Hash: HashString("zzzzzzzzzzzz", "00"), Salt: "00", Mode: Mode, Chars: BaseCharset[:40], Mask: strings.Repeat("?1", 12)}
	tg, err := Parse(c, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	res, err := (&Solver{}).Solve(ctx, tg)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Solve = %v; want DeadlineExceeded", err)
	}
	if el := time.Since(start); el > 5*time.Second {
		t.Errorf("Solve returned %v after the deadline", el)
	}
	if res.Tried == 0 {
		t.Error("Tried = 0 after 200 ms of work")
	}
}

// TestSolvePythonFixtures solves challenges made by Python's hashlib: the
// committed fixture, and with python3 on PATH fresh ones made now.
func TestSolvePythonFixtures(t *testing.T) {
	data, err := os.ReadFile("testdata/python_challenges.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	check := func(t *testing.T, data []byte) {
		t.Helper()
		n := 0
		sc := bufio.NewScanner(bytes.NewReader(data))
		for sc.Scan() {
			var fx struct {
				Challenge
				Password string `json:"password"`
			}
			if err := json.Unmarshal(sc.Bytes(), &fx); err != nil {
				t.Fatal(err)
			}
			for _, kern := range kernels(t) {
				res, err := solveT(t, fx.Challenge, &Solver{Kernel: kern})
				if err != nil || res.Password != fx.Password {
					t.Errorf("%s %+v: Solve = %q, %v; want %q", kern, fx.Challenge, res.Password, err, fx.Password)
				}
			}
			if ok, err := Verify(fx.Hash, fx.Salt, fx.Password); !ok || err != nil {
				t.Errorf("Verify(%q) = %v, %v", fx.Password, ok, err)
			}
			n++
		}
		if n == 0 {
			t.Fatal("no fixtures")
		}
	}
	t.Run("committed", func(t *testing.T) { check(t, data) })
	t.Run("live", func(t *testing.T) {
		if testing.Short() {
			t.Skip("runs python3; skipped with -short")
		}
		out, err := exec.Command("python3", "testdata/python_challenges.py", "8", time.Now().Format("150405")).Output()
		if err != nil {
			t.Fatalf("python3 (make test installs it): %v", err)
		}
		check(t, out)
	})
}

// TestSolveRange: a range holds the password exactly when it covers the
// password's index in hashcat's order (position 0 fastest).
func TestSolveRange(t *testing.T) {
	const chars = "abcde"
	pw := "dbe" // index 3 + 1*5 + 4*25 = 108
	const idx = 108
	c := Challenge{Hash: HashString(pw, "0011223344556677"), Salt: "0011223344556677", Mode: Mode, Chars: chars, Mask: "?1?1?1"}
	tg, err := Parse(c, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	for _, kern := range kernels(t) {
		for _, tt := range []struct {
			start, end uint64
			found      bool
		}{
			{0, 125, true}, {idx, idx + 1, true}, {100, 110, true}, {0, idx, false}, {idx + 1, 125, false}, {50, 50, false},
		} {
			res, err := (&Solver{Kernel: kern, Workers: 2, ChunkSize: 3}).SolveRange(context.Background(), tg, tt.start, tt.end)
			if tt.found && (err != nil || res.Password != pw) {
				t.Errorf("%s [%d,%d): %q, %v; want %q", kern, tt.start, tt.end, res.Password, err, pw)
			}
			if !tt.found && (!errors.Is(err, ErrExhausted) || res.Tried != tt.end-tt.start) {
				t.Errorf("%s [%d,%d): %q, %v, tried %d; want exhausted after %d", kern, tt.start, tt.end, res.Password, err, res.Tried, tt.end-tt.start)
			}
		}
	}
	if _, err := (&Solver{}).SolveRange(context.Background(), tg, 10, 126); err == nil {
		t.Error("range past the keyspace accepted")
	}
}
