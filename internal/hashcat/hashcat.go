// Package hashcat runs a real hashcat binary on SN27 challenges (mode 610,
// mask attack) and parses what it prints. It never uses a shell: every value
// is passed as its own argument, and the custom charset (and so the mask's
// literal characters) as hex.
//
// # Keyspace slicing
//
// hashcat's mask attack splits a mask of n positions into an amplifier, the
// first a positions, enumerated inside the kernel, and base words, the other
// n-a positions, enumerated with position a varying fastest (src/mpsp.c:
// mp_css_split_cnt; OpenCL/markov_le.cl: generate_pw). For hash modes
// computed inside the kernel, as mode 610 is:
//
//	n < 6: a = 1;  n == 6: a = 2;
//	n > 6: a = 3 if |pos0|*|pos1|*|pos2| > 256, else a = 4.
//
// `hashcat --keyspace` (Runner.Keyspace) prints the number of base words
// K = total/bfs, where bfs = |pos0|*...*|pos(a-1)|, and --skip S --limit L
// search base words S .. S+L-1 (hashcat adds skip to limit, and cuts the end
// at K).
//
// With --markov-disable, every position is searched in ascending byte order,
// whatever the order of the charset: hashcat always orders a position's
// characters by its Markov statistics (sp_setup_tbl, sp_tbl_to_css), and
// with the statistics zeroed the stable sort (glibc's qsort is a merge sort)
// leaves them by byte value. Without --markov-disable the order follows
// hashcat.hcstat2, and depends on the previous character.
//
// So, numbering candidates as Ordered(t) does (position 0 fastest, each
// position in ascending byte order), base word b is exactly the candidates
// b*bfs .. (b+1)*bfs-1, and Runner.SolveSlice(ctx, c, S, L) searches
// candidates S*bfs .. (S+L)*bfs-1. slice_test.go checks this against the
// real hashcat: K for masks of 1 to 12 positions, and candidates at and
// around slice boundaries for masks of 5 to 12 positions (a = 1, 2, 3, 4)
// with custom and built-in charsets and literals.
package hashcat

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/sn27/sn27/internal/pow"
)

// Config says how to run hashcat; the flag names are the Python miner's.
type Config struct {
	Path            string // --miner.hashcat.path
	WorkloadProfile int    // --miner.hashcat.workload.profile: 1 low .. 4 insane
	ExtendedOptions string // --miner.hashcat.extended.options: split on white space
	DeviceTypes     string // --miner.hashcat.device.types: hashcat -D, e.g. "2" (GPU); empty = hashcat's choice
}

// DefaultConfig returns the Python miner's defaults, except that the device
// types are left to hashcat (the reference forces -D 2, which fails on a
// machine without a GPU).
func DefaultConfig() Config {
	return Config{Path: "hashcat", WorkloadProfile: 3}
}

// Exit codes of hashcat.
const (
	exitCracked   = 0
	exitExhausted = 1
	exitRuntime   = 4 // --runtime limit reached
)

// ErrExhausted means hashcat searched the whole keyspace without a match.
var ErrExhausted = errors.New("hashcat: keyspace exhausted without a match")

// maxOutput bounds what is kept of hashcat's stdout and stderr.
const maxOutput = 1 << 20

// Runner runs one search (Solve, SolveSlice, Benchmark) at a time; Keyspace
// runs beside them.
type Runner struct {
	cfg   Config
	extra []string
	sem   chan struct{}
	seq   atomic.Uint64
}

// New validates cfg and returns a runner.
func New(cfg Config) (*Runner, error) {
	if cfg.Path == "" {
		return nil, errors.New("hashcat path is empty")
	}
	if cfg.WorkloadProfile < 1 || cfg.WorkloadProfile > 4 {
		return nil, fmt.Errorf("hashcat workload profile %d: want 1 to 4", cfg.WorkloadProfile)
	}
	for _, c := range cfg.DeviceTypes {
		if c != ',' && (c < '1' || c > '3') {
			return nil, fmt.Errorf("hashcat device types %q: want a comma-separated list of 1 (CPU), 2 (GPU), 3 (FPGA/other)", cfg.DeviceTypes)
		}
	}
	extra := strings.Fields(cfg.ExtendedOptions)
	for _, o := range extra {
		if !strings.HasPrefix(o, "-") {
			return nil, fmt.Errorf("hashcat extended option %q: every option must start with '-' (use --opt=value for values)", o)
		}
	}
	return &Runner{cfg: cfg, extra: extra, sem: make(chan struct{}, 1)}, nil
}

// Config returns the runner's configuration.
func (r *Runner) Config() Config { return r.cfg }

// Version returns what `hashcat --version` prints, e.g. "v6.2.6".
func (r *Runner) Version(ctx context.Context) (string, error) {
	out, err := exec.CommandContext(ctx, r.cfg.Path, "--version").Output()
	if err != nil {
		return "", fmt.Errorf("run %s --version: %w", r.cfg.Path, err)
	}
	return strings.TrimSpace(string(out)), nil
}

func (r *Runner) acquire(ctx context.Context) error {
	select {
	case r.sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("wait for hashcat: %w", ctx.Err())
	}
}

func (r *Runner) release() { <-r.sem }

// args returns hashcat's arguments for a mask attack on c, options first.
func (r *Runner) args(c pow.Challenge, more ...string) []string {
	return r.argsFor(c, c.Hash+":"+c.Salt, more...)
}

// argsFor is args with the hash argument given: "hash:salt", the path of a
// file of such lines (tests crack several candidates in one run), or ""
// for none (--keyspace).
func (r *Runner) argsFor(c pow.Challenge, hashArg string, more ...string) []string {
	var rnd [4]byte
	_, _ = rand.Read(rnd[:])
	session := fmt.Sprintf("sn27-%d-%d-%x", os.Getpid(), r.seq.Add(1), rnd)
	a := []string{
		"-m", pow.Mode, "-a", "3",
		"-w", strconv.Itoa(r.cfg.WorkloadProfile),
		"--potfile-disable", "--restore-disable", "--logfile-disable",
		"--session", session, "--quiet",
		"--hex-charset", "-1", hex.EncodeToString([]byte(c.Chars)),
	}
	if r.cfg.DeviceTypes != "" {
		a = append(a, "-D", r.cfg.DeviceTypes)
	}
	a = append(a, more...)
	a = append(a, r.extra...)
	if hashArg != "" {
		a = append(a, hashArg)
	}
	return append(a, hexMask(c.Mask))
}

// hexMask rewrites the literal characters of a mask as the two hex digits
// --hex-charset makes hashcat expect: with that option hashcat reads a
// literal "ab" as the single byte 0xab, not as 'a' then 'b'. Placeholders
// (?1, ?l, ...) stay; "??", a literal '?', becomes "3f".
func hexMask(mask string) string {
	var b strings.Builder
	for i := 0; i < len(mask); i++ {
		c := mask[i]
		if c == '?' && i+1 < len(mask) {
			i++
			if mask[i] != '?' {
				b.WriteByte('?')
				b.WriteByte(mask[i])
				continue
			}
		} else if c == '?' { // a lone '?' at the end: leave hashcat's syntax error
			b.WriteByte(c)
			continue
		}
		b.WriteString(hex.EncodeToString([]byte{c}))
	}
	return b.String()
}

// Solve cracks c with hashcat. c must have passed pow.Parse. It returns the
// password, ErrExhausted, or an error saying what hashcat printed. When ctx
// ends, the process is killed.
func (r *Runner) Solve(ctx context.Context, c pow.Challenge) (string, error) {
	return r.solve(ctx, c)
}

// Keyspace returns hashcat's base keyspace K of c's mask: the number of base
// words SolveSlice's skip and limit count (see above); the total keyspace is
// K times the amplifier. It runs `hashcat --keyspace`, which reads no hash
// and uses no device, so it does not wait for a running Solve. c must have
// passed pow.Parse.
func (r *Runner) Keyspace(ctx context.Context, c pow.Challenge) (uint64, error) {
	stdout, stderr, code, err := r.run(ctx, r.argsFor(c, "", "--markov-disable", "--keyspace"))
	if err != nil {
		return 0, err
	}
	if code != exitCracked {
		return 0, exitError(code, stdout, stderr)
	}
	return ParseKeyspace(stdout)
}

// maxKeyspaceOutput bounds what ParseKeyspace accepts: 20 digits and a line end.
const maxKeyspaceOutput = 22

// ParseKeyspace parses what `hashcat --keyspace` prints: one positive
// decimal number (no sign, no leading zero) on one line, and nothing else.
func ParseKeyspace(out []byte) (uint64, error) {
	if len(out) > maxKeyspaceOutput {
		return 0, fmt.Errorf("hashcat --keyspace printed %d bytes, want one number: %q", len(out), tail(out))
	}
	s := strings.TrimSuffix(strings.TrimSuffix(string(out), "\n"), "\r")
	if s == "" || strings.Trim(s, "0123456789") != "" || (s[0] == '0' && s != "0") {
		return 0, fmt.Errorf("hashcat --keyspace printed %q, want one decimal number", out)
	}
	k, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("hashcat --keyspace printed %q: %w", s, err)
	}
	if k == 0 {
		return 0, errors.New("hashcat --keyspace printed 0")
	}
	return k, nil
}

// SolveSlice is Solve restricted to the base words skip .. skip+limit-1 of
// c's mask, in the order Ordered gives (--markov-disable): candidates
// skip*bfs .. (skip+limit)*bfs-1 of Ordered(t), where bfs is the total
// keyspace divided by Keyspace. limit must be positive; a slice that ends
// past the keyspace is cut at its end.
func (r *Runner) SolveSlice(ctx context.Context, c pow.Challenge, skip, limit uint64) (string, error) {
	if limit == 0 {
		return "", errors.New("hashcat slice: limit must be positive")
	}
	if skip+limit < skip {
		return "", fmt.Errorf("hashcat slice: skip %d + limit %d overflows", skip, limit)
	}
	return r.solve(ctx, c, sliceArgs(skip, limit)...)
}

// sliceArgs are the options that make hashcat search base words
// skip .. skip+limit-1 in a fixed order.
func sliceArgs(skip, limit uint64) []string {
	a := []string{"--markov-disable"}
	if skip > 0 {
		a = append(a, "--skip", strconv.FormatUint(skip, 10))
	}
	return append(a, "--limit", strconv.FormatUint(limit, 10))
}

// PredictKeyspace returns the base keyspace K that `hashcat --keyspace`
// prints for t's mask, by hashcat 6.2's split rule (see the package doc),
// without the seconds a hashcat start costs. Callers that cannot afford a
// wrong split must confirm it with Keyspace.
func PredictKeyspace(t *pow.Target) uint64 {
	n := len(t.Positions)
	amp := 1
	switch {
	case n == 6:
		amp = 2
	case n > 6:
		amp = 4
		if len(t.Positions[0])*len(t.Positions[1])*len(t.Positions[2]) > 256 {
			amp = 3
		}
	}
	k := uint64(1)
	for _, p := range t.Positions[min(amp, n):] {
		k *= uint64(len(p))
	}
	return k
}

// Ordered returns a copy of t whose positions list their characters in the
// order hashcat tries them with --markov-disable: ascending byte value. The
// candidate numbering of pow.Solver.SolveRange on the copy is then
// hashcat's, so the two can split one keyspace (see SolveSlice).
func Ordered(t *pow.Target) *pow.Target {
	o := *t
	o.Positions = make([][]byte, len(t.Positions))
	for i, p := range t.Positions {
		o.Positions[i] = slices.Clone(p)
		slices.Sort(o.Positions[i])
	}
	return &o
}

func (r *Runner) solve(ctx context.Context, c pow.Challenge, more ...string) (string, error) {
	if err := r.acquire(ctx); err != nil {
		return "", err
	}
	defer r.release()
	stdout, stderr, code, err := r.run(ctx, r.args(c, more...))
	if err != nil {
		return "", err
	}
	switch code {
	case exitCracked:
		pw, ok, err := ParseCracked(stdout, c.Hash, c.Salt)
		if err != nil {
			return "", err
		}
		if !ok {
			return "", fmt.Errorf("hashcat exited 0 but printed no cracked line for the hash; output: %s", tail(stdout))
		}
		return pw, nil
	case exitExhausted:
		return "", ErrExhausted
	default:
		return "", exitError(code, stdout, stderr)
	}
}

func exitError(code int, stdout, stderr []byte) error {
	msg := tail(stderr)
	if msg == "" {
		msg = tail(stdout)
	}
	return fmt.Errorf("hashcat exited with code %d: %s", code, msg)
}

// run starts hashcat and waits. It returns the exit code; err is set only
// when hashcat could not run or ctx ended.
func (r *Runner) run(ctx context.Context, args []string) (stdout, stderr []byte, code int, err error) {
	cmd := exec.CommandContext(ctx, r.cfg.Path, args...)
	var out, errb limitedBuffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	cmd.WaitDelay = 2 * time.Second
	err = cmd.Run()
	if ctx.Err() != nil {
		removeSession(r.cfg.Path, sessionOf(args))
		return out.Bytes(), errb.Bytes(), -1, fmt.Errorf("hashcat stopped: %w", ctx.Err())
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return out.Bytes(), errb.Bytes(), ee.ExitCode(), nil
	}
	if err != nil {
		return nil, nil, -1, fmt.Errorf("run hashcat %s: %w", r.cfg.Path, err)
	}
	return out.Bytes(), errb.Bytes(), 0, nil
}

// sessionOf returns the value of --session in args.
func sessionOf(args []string) string {
	for i, a := range args[:max(len(args)-1, 0)] {
		if a == "--session" {
			return args[i+1]
		}
	}
	return ""
}

// removeSession deletes what a killed hashcat leaves of its session: the pid
// file and the (empty) outfile-check folder. hashcat removes both when it
// exits, but SIGKILL gives it no chance, and SIGINT or SIGTERM are lost while
// it starts up (tried with 6.2.6). Without this, every hybrid challenge the
// native solver wins would leave two entries behind. The places are
// hashcat's (src/folder.c): the sessions folder of ~/.hashcat, or else of
// $XDG_DATA_HOME/hashcat or ~/.local/share/hashcat, or the folder of the
// binary for a portable install. Only the names of this session are removed,
// and a folder only when it is empty.
func removeSession(path, session string) {
	if session == "" {
		return
	}
	for _, d := range sessionDirs(path) {
		_ = os.Remove(filepath.Join(d, session+".pid"))
		_ = os.Remove(filepath.Join(d, session+".outfiles"))
	}
}

// sessionDirs returns where the hashcat binary path may keep its sessions.
func sessionDirs(path string) []string {
	var dirs []string
	if u, err := user.Current(); err == nil && u.HomeDir != "" {
		dot := filepath.Join(u.HomeDir, ".hashcat")
		switch xdg := os.Getenv("XDG_DATA_HOME"); {
		case isDir(dot):
			dirs = append(dirs, filepath.Join(dot, "sessions"))
		case xdg != "":
			dirs = append(dirs, filepath.Join(xdg, "hashcat", "sessions"))
		default:
			dirs = append(dirs, filepath.Join(u.HomeDir, ".local", "share", "hashcat", "sessions"))
		}
	}
	if exe, err := exec.LookPath(path); err == nil {
		if real, err := filepath.EvalSymlinks(exe); err == nil {
			dirs = append(dirs, filepath.Dir(real))
		}
	}
	return dirs
}

func isDir(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.IsDir()
}

// ParseCracked finds the line "<hash>:<salt>:<password>" in hashcat's output
// and returns the password, decoding hashcat's $HEX[...] form. The hash is
// matched without regard to case.
func ParseCracked(out []byte, hash, salt string) (string, bool, error) {
	prefix := hash + ":" + salt + ":"
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 0, 4096), maxOutput)
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), "\r")
		if len(line) < len(prefix) || !strings.EqualFold(line[:len(prefix)], prefix) {
			continue
		}
		pw := line[len(prefix):]
		if strings.HasPrefix(pw, "$HEX[") && strings.HasSuffix(pw, "]") {
			b, err := hex.DecodeString(pw[5 : len(pw)-1])
			if err != nil {
				return "", false, fmt.Errorf("hashcat printed a malformed $HEX[] password: %w", err)
			}
			pw = string(b)
		}
		return pw, true, nil
	}
	if err := sc.Err(); err != nil {
		return "", false, fmt.Errorf("read hashcat output: %w", err)
	}
	return "", false, nil
}

// Status is the part of one hashcat --status-json line we use.
type Status struct {
	Progress []uint64 `json:"progress"`
	Devices  []struct {
		Name  string  `json:"device_name"`
		Type  string  `json:"device_type"`
		Speed float64 `json:"speed"` // hashes per second
	} `json:"devices"`
}

// Speed returns the sum of the devices' speeds in hashes per second.
func (s Status) Speed() float64 {
	var sum float64
	for _, d := range s.Devices {
		sum += d.Speed
	}
	return sum
}

// ParseStatus returns the status lines (JSON objects with "devices") found in
// hashcat's --status-json output, in order. Other lines are ignored.
func ParseStatus(out []byte) ([]Status, error) {
	var st []Status
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 0, 4096), maxOutput)
	for sc.Scan() {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 || line[0] != '{' || !bytes.Contains(line, []byte(`"devices"`)) {
			continue
		}
		var s Status
		if err := json.Unmarshal(line, &s); err != nil {
			return st, fmt.Errorf("parse hashcat status line: %w", err)
		}
		st = append(st, s)
	}
	if err := sc.Err(); err != nil {
		return st, fmt.Errorf("read hashcat output: %w", err)
	}
	return st, nil
}

// Rate is a measured hashcat speed.
type Rate struct {
	HashesPerSecond float64 // the last status line's speed, summed over devices
	Devices         []string
	Startup         time.Duration // from process start to the first status line
}

// Benchmark runs a real mask attack on c (which must have no answer within
// the time) for the given duration and returns hashcat's reported speed.
func (r *Runner) Benchmark(ctx context.Context, c pow.Challenge, d time.Duration) (Rate, error) {
	if err := r.acquire(ctx); err != nil {
		return Rate{}, err
	}
	defer r.release()
	secs := max(int(d.Seconds()), 2)
	args := r.args(c, "--status", "--status-json", "--status-timer", "1", "--runtime", strconv.Itoa(secs))
	cmd := exec.CommandContext(ctx, r.cfg.Path, args...)
	var errb limitedBuffer
	cmd.Stderr = &errb
	cmd.WaitDelay = 2 * time.Second
	pipe, err := cmd.StdoutPipe()
	if err != nil {
		return Rate{}, fmt.Errorf("hashcat stdout: %w", err)
	}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return Rate{}, fmt.Errorf("start hashcat %s: %w", r.cfg.Path, err)
	}
	var rate Rate
	var all limitedBuffer
	sc := bufio.NewScanner(pipe)
	sc.Buffer(make([]byte, 0, 4096), maxOutput)
	for sc.Scan() {
		_, _ = all.Write(append(sc.Bytes(), '\n'))
		st, err := ParseStatus(sc.Bytes())
		if err != nil || len(st) == 0 {
			continue
		}
		if rate.Startup == 0 {
			rate.Startup = time.Since(start)
		}
		if s := st[0].Speed(); s > 0 {
			rate.HashesPerSecond = s
			rate.Devices = rate.Devices[:0]
			for _, dv := range st[0].Devices {
				rate.Devices = append(rate.Devices, dv.Name)
			}
		}
	}
	err = cmd.Wait()
	if ctx.Err() != nil {
		removeSession(r.cfg.Path, sessionOf(args))
		return rate, fmt.Errorf("hashcat benchmark stopped: %w", ctx.Err())
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if c := ee.ExitCode(); c != exitRuntime && c != exitExhausted {
			return rate, exitError(c, all.Bytes(), errb.Bytes())
		}
	} else if err != nil {
		return rate, fmt.Errorf("wait for hashcat: %w", err)
	}
	if rate.HashesPerSecond == 0 {
		return rate, fmt.Errorf("hashcat reported no speed in %d s; output: %s", secs, tail(all.Bytes()))
	}
	return rate, nil
}

// limitedBuffer keeps the last maxOutput bytes written to it.
type limitedBuffer struct{ b []byte }

func (l *limitedBuffer) Write(p []byte) (int, error) {
	l.b = append(l.b, p...)
	if over := len(l.b) - maxOutput; over > 0 {
		l.b = append(l.b[:0], l.b[over:]...)
	}
	return len(p), nil
}

func (l *limitedBuffer) Bytes() []byte { return l.b }

// tail returns the last lines of out, trimmed, for error messages.
func tail(out []byte) string {
	s := strings.TrimSpace(string(out))
	if len(s) > 600 {
		s = "..." + s[len(s)-600:]
	}
	return s
}
