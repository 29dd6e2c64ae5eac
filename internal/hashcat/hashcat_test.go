package hashcat

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sn27/sn27/internal/pow"
)

const colonHash = "$BLAKE2$e7917f7d3ec823918b2b7130b1c8fbe7596768372019ea9fd96e6c47ca616d00555f73dccd42214a50f0833b864ff910a3f0c8219202250b3d3d391682a752d6"

func TestParseCracked(t *testing.T) {
	real, err := os.ReadFile("testdata/cracked-colon.stdout") // printed by hashcat 6.2.6
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name, out, hash, salt, want string
		found, wantErr              bool
	}{
		{"real hashcat, $HEX for a colon", string(real), colonHash, "00ff", "a:b", true, false},
		{"plain", "noise\n$BLAKE2$ab:0011:pa$$\n", "$BLAKE2$ab", "0011", "pa$$", true, false},
		{"hash case differs", "$BLAKE2$AB:0011:x\r\n", "$BLAKE2$ab", "0011", "x", true, false},
		{"salt must match", "$BLAKE2$ab:0012:x\n", "$BLAKE2$ab", "0011", "", false, false},
		{"empty output", "", "$BLAKE2$ab", "0011", "", false, false},
		{"password with spaces kept", "$BLAKE2$ab:0011: a b \n", "$BLAKE2$ab", "0011", " a b ", true, false},
		{"bad hex", "$BLAKE2$ab:0011:$HEX[zz]\n", "$BLAKE2$ab", "0011", "", false, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			pw, ok, err := ParseCracked([]byte(tt.out), tt.hash, tt.salt)
			if (err != nil) != tt.wantErr || ok != tt.found || pw != tt.want {
				t.Errorf("ParseCracked = %q, %v, %v; want %q, %v, error %v", pw, ok, err, tt.want, tt.found, tt.wantErr)
			}
		})
	}
}

func TestParseStatus(t *testing.T) {
	out, err := os.ReadFile("testdata/status.stdout") // hashcat 6.2.6 --status-json, PoCL CPU
	if err != nil {
		t.Fatal(err)
	}
	st, err := ParseStatus(out)
	if err != nil {
		t.Fatal(err)
	}
	if len(st) < 2 {
		t.Fatalf("got %d status lines; want at least 2", len(st))
	}
	last := st[len(st)-1]
	if last.Speed() <= 0 || len(last.Devices) != 1 || last.Devices[0].Type != "CPU" || len(last.Progress) != 2 {
		t.Errorf("last status = %+v", last)
	}
	if _, err := ParseStatus([]byte(`{"devices": [}` + "\n")); err == nil {
		t.Error("malformed status line accepted")
	}
}

func TestNewValidates(t *testing.T) {
	for _, cfg := range []Config{
		{Path: "", WorkloadProfile: 3},
		{Path: "hashcat", WorkloadProfile: 0},
		{Path: "hashcat", WorkloadProfile: 5},
		{Path: "hashcat", WorkloadProfile: 3, DeviceTypes: "2;rm"},
		{Path: "hashcat", WorkloadProfile: 3, ExtendedOptions: "-O ; rm -rf /"},
	} {
		if _, err := New(cfg); err == nil {
			t.Errorf("New(%+v) accepted", cfg)
		}
	}
}

func TestArgsHaveNoShellAndHexCharset(t *testing.T) {
	r, err := New(Config{Path: "hashcat", WorkloadProfile: 3, ExtendedOptions: "-O  --backend-ignore-cuda", DeviceTypes: "1,2"})
	if err != nil {
		t.Fatal(err)
	}
	c := pow.Challenge{Hash: "$BLAKE2$00", Salt: "ab", Chars: "$(;)", Mask: "?1?1"}
	a := r.args(c)
	joined := strings.Join(a, " ")
	for _, want := range []string{"--hex-charset -1 24283b29", "-D 1,2", "-O --backend-ignore-cuda $BLAKE2$00:ab ?1?1", "--potfile-disable", "-w 3"} {
		if !strings.Contains(joined, want) {
			t.Errorf("args %q lack %q", joined, want)
		}
	}
	session := func(a []string) string {
		for i, s := range a {
			if s == "--session" {
				return a[i+1]
			}
		}
		return ""
	}
	if s1, s2 := session(a), session(r.args(c)); s1 == "" || s1 == s2 {
		t.Errorf("sessions %q and %q: want unique, non-empty", s1, s2)
	}
}

func FuzzParseCracked(f *testing.F) {
	real, _ := os.ReadFile("testdata/cracked-colon.stdout")
	f.Add(real, colonHash, "00ff")
	f.Add([]byte("$BLAKE2$ab:0011:$HEX[]\n"), "$BLAKE2$ab", "0011")
	f.Fuzz(func(t *testing.T, out []byte, hash, salt string) {
		pw, ok, err := ParseCracked(out, hash, salt)
		if (err != nil || !ok) && pw != "" {
			t.Fatalf("password %q without success", pw)
		}
	})
}

func FuzzParseStatus(f *testing.F) {
	st, _ := os.ReadFile("testdata/status.stdout")
	f.Add(st)
	f.Add([]byte(`{"devices":[{"speed":1e308},{"speed":-1}],"progress":[1]}`))
	f.Fuzz(func(t *testing.T, out []byte) {
		s, _ := ParseStatus(out)
		for _, x := range s {
			_ = x.Speed()
		}
	})
}

// realRunner returns a runner for Debian's hashcat on the CPU (PoCL).
func realRunner(t *testing.T) *Runner {
	t.Helper()
	if testing.Short() {
		t.Skip("runs the real hashcat; skipped with -short")
	}
	if _, err := exec.LookPath("hashcat"); err != nil {
		t.Fatalf("hashcat not installed (make test installs it): %v", err)
	}
	r, err := New(Config{Path: "hashcat", WorkloadProfile: 3, ExtendedOptions: "-O"})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestRealHashcatSolves(t *testing.T) {
	r := realRunner(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if v, err := r.Version(ctx); err != nil || !strings.HasPrefix(v, "v6.") {
		t.Fatalf("Version = %q, %v", v, err)
	}
	var cases []struct {
		pow.Challenge
		Password string `json:"password"`
	}
	c, pw, err := pow.New(nil, pow.Params{Difficulty: 5})
	if err != nil {
		t.Fatal(err)
	}
	cases = append(cases, struct {
		pow.Challenge
		Password string `json:"password"`
	}{c, pw})
	// Challenges made by Python's hashlib, with shell metacharacters, quotes,
	// a space, a backslash and ':' in the charset.
	f, err := os.Open("../pow/testdata/python_challenges.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var fx struct {
			pow.Challenge
			Password string `json:"password"`
		}
		if err := json.Unmarshal(sc.Bytes(), &fx); err != nil {
			t.Fatal(err)
		}
		if strings.ContainsAny(fx.Chars, "$;:'\\ ") {
			cases = append(cases, fx)
		}
	}
	for _, tc := range cases {
		if _, err := pow.Parse(tc.Challenge, pow.Limits{}); err != nil {
			t.Fatal(err)
		}
		got, err := r.Solve(ctx, tc.Challenge)
		if err != nil || got != tc.Password {
			t.Errorf("Solve(chars %q) = %q, %v; want %q", tc.Chars, got, err, tc.Password)
		}
	}
}

func TestRealHashcatExhaustedTimeoutAndErrors(t *testing.T) {
	r := realRunner(t)
	ctx := context.Background()
	c := pow.Challenge{Hash: pow.HashString("zzz", "0011"), Salt: "0011", Mode: pow.Mode, Chars: "ab", Mask: "?1?1?1"}
	if _, err := r.Solve(ctx, c); !errors.Is(err, ErrExhausted) {
		t.Errorf("Solve(no answer) = %v; want ErrExhausted", err)
	}

	big := pow.Challenge{Hash: pow.HashString("zzz", "0011"), Salt: "0011", Mode: pow.Mode, Chars: pow.BaseCharset, Mask: strings.Repeat("?1", 12)}
	tctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	start := time.Now()
	if _, err := r.Solve(tctx, big); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Solve(huge keyspace, 2 s) = %v; want DeadlineExceeded", err)
	}
	if el := time.Since(start); el > 6*time.Second {
		t.Errorf("Solve returned %v after a 2 s deadline", el)
	}
	// The killed process's session files are removed.
	for _, d := range sessionDirs("hashcat") {
		if left, _ := filepath.Glob(filepath.Join(d, fmt.Sprintf("sn27-%d-*", os.Getpid()))); len(left) > 0 {
			t.Errorf("killed hashcat left %v", left)
		}
	}

	bad, err := New(Config{Path: "hashcat", WorkloadProfile: 3, ExtendedOptions: "--no-such-option"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bad.Solve(ctx, c); err == nil || !strings.Contains(err.Error(), "exited with code") {
		t.Errorf("Solve(bad option) = %v; want an exit-code error", err)
	}
	missing, _ := New(Config{Path: "/nonexistent/hashcat", WorkloadProfile: 3})
	if _, err := missing.Solve(ctx, c); err == nil || !strings.Contains(err.Error(), "/nonexistent/hashcat") {
		t.Errorf("Solve(missing binary) = %v", err)
	}
}

func TestRealHashcatBenchmark(t *testing.T) {
	r := realRunner(t)
	c := pow.Challenge{Hash: pow.HashString("zzz", "0011223344556677"), Salt: "0011223344556677", Mode: pow.Mode, Chars: "abcdefghij", Mask: strings.Repeat("?1", 12)}
	rate, err := r.Benchmark(context.Background(), c, 3*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if rate.HashesPerSecond <= 0 || len(rate.Devices) == 0 {
		t.Errorf("rate = %+v", rate)
	}
	t.Logf("hashcat: %.1f MH/s on %v, first status after %v", rate.HashesPerSecond/1e6, rate.Devices, rate.Startup)
}
