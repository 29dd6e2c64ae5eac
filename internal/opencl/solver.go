package opencl

import (
	"context"
	_ "embed"
	"encoding/binary"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"time"
	"unsafe"

	"github.com/sn27/sn27/internal/pow"
)

//go:embed search.cl
var kernelSource string

// Limits of what the kernel searches: one BLAKE2b block, and a password in
// message words 0 and 1.
const (
	MaxPassword = 16
	MaxMessage  = 128
)

// ErrUnsupported means a challenge is outside what the kernel searches (a
// password over MaxPassword bytes, or password and salt over MaxMessage);
// the native solver handles those.
var ErrUnsupported = errors.New("challenge outside the opencl kernel's limits")

const (
	maxInner      = 1 << 16 // entries of the inner table (positions 0..a-1)
	maxInnerPos   = 4       // inner positions, packed in a uint
	maxGroups     = 1 << 15 // groups per launch: dimension 1 of the grid (CUDA caps grid y at 65535)
	maxLaunch     = 1 << 30 // candidates per launch
	firstLaunch   = 1 << 20 // candidates of the first launch, before the rate is known
	defaultLaunch = 25 * time.Millisecond
	cfgWords      = 23
)

// Config says which device to use and how to drive it.
type Config struct {
	// Device is an index into Devices(); -1 picks the first GPU, else the
	// first accelerator, else the first device.
	Device int
	// LaunchTime is the aimed duration of one kernel launch; the search is
	// cancelled between launches. 0 means 25 ms.
	LaunchTime time.Duration
	// Vector is the number of candidates a work-item hashes as one vector
	// (1, 2, 4, 8 or 16); 0 means the device's native vector width for long
	// (1 on GPUs, 4 with AVX2, 8 with AVX-512 on PoCL).
	Vector int
}

// DefaultConfig picks the first GPU (else any device) and 25 ms launches.
func DefaultConfig() Config { return Config{Device: -1} }

// Solver searches SN27 challenges with the search kernel on one OpenCL
// device. The program, context, queue, kernel and buffers are made once, by
// New; each search launches the kernel over the keyspace in slices sized to
// about LaunchTime each, in internal/pow's candidate order, and stops at the
// first launch that finds the password. One search runs at a time. A Solver
// whose device failed returns errors matching ErrDevice from then on.
type Solver struct {
	l      *lib
	dev    Device
	cfg    Config
	local  uintptr // work-group size in dimension 0
	vec    int     // candidates per work-item (the kernel's VEC)
	ctx    uintptr
	queue  uintptr
	prog   uintptr
	kernel uintptr // search: any one-block message
	short  uintptr // search32: messages of at most 32 bytes

	bufCfg, bufInner, bufOuter, bufFound, bufResult uintptr

	mu     sync.Mutex
	rate   float64 // measured candidates per second; 0 until the first long launch
	broken error
	outer  []uint64
}

// New loads OpenCL, builds the kernel for the configured device and
// allocates its buffers. Errors say what is missing: the ICD loader, a
// platform or device (ErrUnavailable), or the build log.
func New(cfg Config) (*Solver, error) {
	l, err := load()
	if err != nil {
		return nil, err
	}
	devs, err := l.devices()
	if err != nil {
		return nil, err
	}
	dev, err := pick(devs, cfg.Device)
	if err != nil {
		return nil, err
	}
	if cfg.LaunchTime <= 0 {
		cfg.LaunchTime = defaultLaunch
	}
	s := &Solver{l: l, dev: dev, cfg: cfg}
	if err := s.init(); err != nil {
		s.Close()
		return nil, fmt.Errorf("opencl device %d, %s: %w", dev.Index, dev, err)
	}
	return s, nil
}

// pick returns the device with the given index, or the first GPU (else
// accelerator, else any) for index -1.
func pick(devs []Device, index int) (Device, error) {
	if index >= 0 {
		if index >= len(devs) {
			return Device{}, fmt.Errorf("%w: opencl device %d asked for, but %d device(s) exist", ErrUnavailable, index, len(devs))
		}
		return devs[index], nil
	}
	for _, want := range []string{"gpu", "accelerator"} {
		for _, d := range devs {
			if d.Type == want {
				return d, nil
			}
		}
	}
	return devs[0], nil
}

func (s *Solver) init() error {
	l := s.l
	var code int32
	props := []uintptr{clContextPlatform, s.dev.platform, 0}
	id := s.dev.id
	s.ctx = l.createContext(&props[0], 1, &id, 0, 0, &code)
	if err := check("clCreateContext", code); err != nil {
		return err
	}
	s.queue = l.createCommandQueue(s.ctx, id, 0, &code)
	if err := check("clCreateCommandQueue", code); err != nil {
		return err
	}
	src := append([]byte(kernelSource), 0)
	p := &src[0]
	n := uintptr(len(kernelSource))
	s.prog = l.createProgramWithSrc(s.ctx, 1, &p, &n, &code)
	runtime.KeepAlive(src)
	if err := check("clCreateProgramWithSource", code); err != nil {
		return err
	}
	s.vec = s.cfg.Vector
	if s.vec == 0 {
		s.vec = int(l.deviceUint32(id, clDeviceNativeVectorWidthLong))
	}
	switch s.vec {
	case 1, 2, 4, 8, 16:
	default:
		if s.cfg.Vector != 0 {
			return fmt.Errorf("vector width %d: want 1, 2, 4, 8 or 16", s.vec)
		}
		s.vec = 1
	}
	opts := fmt.Sprintf("-DVEC=%d", s.vec)
	if err := check("clBuildProgram", l.buildProgram(s.prog, 1, &id, opts, 0, 0)); err != nil {
		return fmt.Errorf("build the search kernel: %w; build log:\n%s", err, s.buildLog())
	}
	s.kernel = l.createKernel(s.prog, "search", &code)
	if err := check("clCreateKernel(search)", code); err != nil {
		return err
	}
	s.short = l.createKernel(s.prog, "search32", &code)
	if err := check("clCreateKernel(search32)", code); err != nil {
		return err
	}
	s.local = s.workGroupSize()
	type buf struct {
		h     *uintptr
		flags uint64
		size  uintptr
	}
	for _, b := range []buf{
		{&s.bufCfg, clMemReadOnly, cfgWords * 8},
		{&s.bufInner, clMemReadOnly, (maxInner + 16) * 4},
		{&s.bufOuter, clMemReadOnly, maxGroups * 16},
		{&s.bufFound, clMemReadWrite, 4},
		{&s.bufResult, clMemReadWrite, 8},
	} {
		*b.h = l.createBuffer(s.ctx, b.flags, b.size, nil, &code)
		if err := check("clCreateBuffer", code); err != nil {
			return err
		}
	}
	for i, b := range map[uint32]uintptr{0: s.bufCfg, 1: s.bufInner, 2: s.bufOuter, 7: s.bufFound, 8: s.bufResult} {
		for _, k := range []uintptr{s.kernel, s.short} {
			if err := s.setArg(k, i, unsafe.Sizeof(b), unsafe.Pointer(&b)); err != nil {
				return err
			}
		}
	}
	s.outer = make([]uint64, 2*maxGroups)
	// A first search compiles the work-group function (PoCL does that at the
	// first launch) and measures the rate, so that challenges do not pay for it.
	return s.warmUp()
}

// workGroupSize picks the work-group size of dimension 0: 64, or less
// where the kernel allows less, in multiples of the preferred size.
func (s *Solver) workGroupSize() uintptr {
	var max, mult uintptr
	s.l.getKernelWorkGroupInfo(s.kernel, s.dev.id, clKernelWorkGroupSize, unsafe.Sizeof(max), unsafe.Pointer(&max), nil)
	s.l.getKernelWorkGroupInfo(s.kernel, s.dev.id, clKernelPreferredWorkGroupSizeMultiple, unsafe.Sizeof(mult), unsafe.Pointer(&mult), nil)
	if mult == 0 {
		mult = 1
	}
	size := uintptr(64)
	if max > 0 && size > max {
		size = max / mult * mult
		if size == 0 {
			size = max
		}
	}
	return max64(size, 1)
}

func max64(a, b uintptr) uintptr {
	if a > b {
		return a
	}
	return b
}

func (s *Solver) buildLog() string {
	var size uintptr
	if s.l.getProgramBuildInfo(s.prog, s.dev.id, clProgramBuildLog, 0, nil, &size) != clSuccess || size == 0 {
		return "(no build log)"
	}
	b := make([]byte, size)
	s.l.getProgramBuildInfo(s.prog, s.dev.id, clProgramBuildLog, size, unsafe.Pointer(&b[0]), nil)
	log := cString(b)
	if len(log) > 8000 {
		log = log[:8000] + "\n..."
	}
	return log
}

// warmUp searches a 12-position challenge without an answer for about two
// launches of each kernel.
func (s *Solver) warmUp() error {
	for _, salt := range []string{"5c1b7e0a9d3f62845c1b7e0a9d3f6284", "5c1b7e0a9d3f6284"} {
		c := pow.Challenge{Hash: pow.HashString("-", salt), Salt: salt, Mode: pow.Mode, Chars: "abcdefghij", Mask: "?1?1?1?1?1?1?1?1?1?1?1?1"}
		t, err := pow.Parse(c, pow.Limits{})
		if err != nil {
			return err
		}
		for i := 0; i < 2; i++ {
			if _, err := s.SolveRange(context.Background(), t, 0, firstLaunch); !errors.Is(err, pow.ErrExhausted) {
				return fmt.Errorf("warm-up search: %v", err)
			}
		}
	}
	return nil
}

func (s *Solver) setArg(kernel uintptr, i uint32, size uintptr, v unsafe.Pointer) error {
	return check(fmt.Sprintf("clSetKernelArg(%d)", i), s.l.setKernelArg(kernel, i, size, v))
}

// Device returns the device the solver runs on.
func (s *Solver) Device() Device { return s.dev }

// Rate returns the last measured rate in candidates per second (0 before
// any search).
func (s *Solver) Rate() float64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rate
}

// Close releases the OpenCL objects. The solver must not be used after.
func (s *Solver) Close() error {
	if s == nil || s.l == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	l := s.l
	for _, b := range []*uintptr{&s.bufCfg, &s.bufInner, &s.bufOuter, &s.bufFound, &s.bufResult} {
		if *b != 0 {
			l.releaseMemObject(*b)
			*b = 0
		}
	}
	for _, k := range []uintptr{s.kernel, s.short} {
		if k != 0 {
			l.releaseKernel(k)
		}
	}
	if s.prog != 0 {
		l.releaseProgram(s.prog)
	}
	if s.queue != 0 {
		l.releaseCommandQueue(s.queue)
	}
	if s.ctx != 0 {
		l.releaseContext(s.ctx)
	}
	s.kernel, s.short, s.prog, s.queue, s.ctx = 0, 0, 0, 0, 0
	s.broken = errors.New("opencl solver closed")
	return nil
}

// Supports reports whether the kernel can search t (ErrUnsupported if not).
func Supports(t *pow.Target) error {
	d := len(t.Positions)
	if d == 0 || d > MaxPassword {
		return fmt.Errorf("%w: %d password positions (at most %d)", ErrUnsupported, d, MaxPassword)
	}
	if d+len(t.Salt) > MaxMessage {
		return fmt.Errorf("%w: password and salt are %d bytes (at most %d)", ErrUnsupported, d+len(t.Salt), MaxMessage)
	}
	return nil
}

// Solve searches the whole keyspace of t.
func (s *Solver) Solve(ctx context.Context, t *pow.Target) (pow.Result, error) {
	total, err := t.Keyspace()
	if err != nil {
		return pow.Result{}, err
	}
	return s.SolveRange(ctx, t, 0, total)
}

// SolveRange searches the candidates of t with index start <= i < end, in
// the numbering of pow.Solver.SolveRange (position 0 fastest, each position
// through t.Positions[i] in order; on hashcat.Ordered(t) that is hashcat's
// order, so hybrid splits line up). It returns the password, pow.ErrExhausted,
// the context's error (checked between launches), ErrUnsupported, or an
// OpenCL error (matching ErrDevice when the device failed).
func (s *Solver) SolveRange(ctx context.Context, t *pow.Target, start, end uint64) (pow.Result, error) {
	if err := Supports(t); err != nil {
		return pow.Result{}, err
	}
	total, err := t.Keyspace()
	if err != nil {
		return pow.Result{}, err
	}
	if start > end || end > total {
		return pow.Result{}, fmt.Errorf("solve range [%d, %d) outside the keyspace of %d candidates", start, end, total)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.broken != nil {
		return pow.Result{}, s.broken
	}
	res, err := s.search(ctx, t, start, end)
	if errors.Is(err, ErrDevice) {
		s.broken = fmt.Errorf("opencl device %s failed earlier: %w", s.dev, err)
	}
	return res, err
}

// plan is the per-challenge layout of the search.
type plan struct {
	inner     int      // positions 0..inner-1 are in the inner table
	count     uint64   // entries of the inner table (their keyspace)
	table     []uint32 // packed bytes of the inner positions
	cfg       [cfgWords]uint64
	base0     uint64 // message words 0 and 1 with the salt and no password bytes
	base1     uint64
	positions [][]byte
}

func newPlan(t *pow.Target, vec int) *plan {
	p := &plan{positions: t.Positions, count: 1}
	d := len(t.Positions)
	for p.inner < min(d, maxInnerPos) && p.count*uint64(len(t.Positions[p.inner])) <= maxInner {
		p.count *= uint64(len(t.Positions[p.inner]))
		p.inner++
	}
	p.table = make([]uint32, 0, p.count)
	digit := make([]int, p.inner)
	for range p.count {
		var w uint32
		for i := 0; i < p.inner; i++ {
			w |= uint32(t.Positions[i][digit[i]]) << (8 * i)
		}
		p.table = append(p.table, w)
		for i := 0; i < p.inner; i++ {
			if digit[i]++; digit[i] < len(t.Positions[i]) {
				break
			}
			digit[i] = 0
		}
	}
	for len(p.table)%vec != 0 { // whole vectors: pad with the last entry
		p.table = append(p.table, p.table[len(p.table)-1])
	}
	var block [MaxMessage]byte
	copy(block[d:], t.Salt)
	p.base0 = binary.LittleEndian.Uint64(block[0:])
	p.base1 = binary.LittleEndian.Uint64(block[8:])
	for i := 2; i < 16; i++ {
		p.cfg[i-2] = binary.LittleEndian.Uint64(block[8*i:])
	}
	p.cfg[14] = uint64(d + len(t.Salt))
	for i := 0; i < 8; i++ {
		p.cfg[15+i] = binary.LittleEndian.Uint64(t.Digest[8*i:])
	}
	return p
}

// fillOuter writes message words 0 and 1 of groups g .. g+n-1 into out:
// the outer positions inner..d-1 of candidate g*count, position inner
// fastest.
func (p *plan) fillOuter(out []uint64, g, n uint64) {
	d := len(p.positions)
	digit := make([]int, d)
	for i, r := p.inner, g; i < d; i++ {
		b := uint64(len(p.positions[i]))
		digit[i] = int(r % b)
		r /= b
	}
	word := func() (uint64, uint64) {
		w := [2]uint64{p.base0, p.base1}
		for i := p.inner; i < d; i++ {
			w[i/8] |= uint64(p.positions[i][digit[i]]) << (8 * (i % 8))
		}
		return w[0], w[1]
	}
	for k := range n {
		out[2*k], out[2*k+1] = word()
		for i := p.inner; i < d; i++ {
			if digit[i]++; digit[i] < len(p.positions[i]) {
				break
			}
			digit[i] = 0
		}
	}
}

// password returns candidate idx.
func (p *plan) password(idx uint64) string {
	b := make([]byte, len(p.positions))
	for i, cs := range p.positions {
		b[i] = cs[idx%uint64(len(cs))]
		idx /= uint64(len(cs))
	}
	return string(b)
}

func (s *Solver) write(buf uintptr, size uintptr, ptr unsafe.Pointer) error {
	return check("clEnqueueWriteBuffer", s.l.enqueueWriteBuffer(s.queue, buf, 1, 0, size, ptr, 0, nil, nil))
}

func (s *Solver) read(buf uintptr, size uintptr, ptr unsafe.Pointer) error {
	return check("clEnqueueReadBuffer", s.l.enqueueReadBuffer(s.queue, buf, 1, 0, size, ptr, 0, nil, nil))
}

func (s *Solver) search(ctx context.Context, t *pow.Target, start, end uint64) (pow.Result, error) {
	var res pow.Result
	if start == end {
		return res, pow.ErrExhausted
	}
	p := newPlan(t, s.vec)
	if err := s.write(s.bufCfg, cfgWords*8, unsafe.Pointer(&p.cfg[0])); err != nil {
		return res, err
	}
	if err := s.write(s.bufInner, uintptr(len(p.table))*4, unsafe.Pointer(&p.table[0])); err != nil {
		return res, err
	}
	var zero uint32
	if err := s.write(s.bufFound, 4, unsafe.Pointer(&zero)); err != nil {
		return res, err
	}
	kernel := s.kernel
	if len(t.Positions)+len(t.Salt) <= 32 {
		kernel = s.short
	}
	count := uint32(p.count)
	if err := s.setArg(kernel, 3, 4, unsafe.Pointer(&count)); err != nil {
		return res, err
	}
	lo, hi := start, end
	if err := s.setArg(kernel, 5, 8, unsafe.Pointer(&lo)); err != nil {
		return res, err
	}
	if err := s.setArg(kernel, 6, 8, unsafe.Pointer(&hi)); err != nil {
		return res, err
	}
	items := (uintptr(p.count) + uintptr(s.vec) - 1) / uintptr(s.vec)
	padded := (items + s.local - 1) / s.local * s.local
	gEnd := (end + p.count - 1) / p.count
	launches := 0
	for g := start / p.count; g < gEnd; {
		if err := ctx.Err(); err != nil {
			return res, fmt.Errorf("opencl solve after %d candidates: %w", res.Tried, err)
		}
		n := min(s.groupsPerLaunch(p.count, launches), gEnd-g)
		launches++
		s.fillOuter(p, g, n)
		if err := s.write(s.bufOuter, uintptr(n)*16, unsafe.Pointer(&s.outer[0])); err != nil {
			return res, err
		}
		first := g * p.count
		if err := s.setArg(kernel, 4, 8, unsafe.Pointer(&first)); err != nil {
			return res, err
		}
		global := [2]uintptr{padded, uintptr(n)}
		local := [2]uintptr{s.local, 1}
		began := time.Now()
		if err := check("clEnqueueNDRangeKernel", s.l.enqueueNDRangeKernel(s.queue, kernel, 2, nil, &global[0], &local[0], 0, nil, nil)); err != nil {
			return res, err
		}
		var found uint32
		if err := s.read(s.bufFound, 4, unsafe.Pointer(&found)); err != nil {
			return res, err
		}
		el := time.Since(began)
		from, to := max(first, start), min((g+n)*p.count, end)
		res.Tried += to - from
		if el >= s.cfg.LaunchTime/4 || s.rate == 0 { // short launches mostly measure their overhead
			s.rate = float64(n*p.count) / el.Seconds()
		}
		if found != 0 {
			var jk [2]uint32
			if err := s.read(s.bufResult, 8, unsafe.Pointer(&jk)); err != nil {
				return res, err
			}
			idx := (g+uint64(jk[1]))*p.count + uint64(jk[0])
			if idx < from || idx >= to {
				return res, fmt.Errorf("%w: the kernel reported candidate %d outside its launch [%d, %d)", ErrDevice, idx, from, to)
			}
			if pw := p.password(idx); pow.Digest(pw, t.Salt) == t.Digest {
				res.Password = pw
				return res, nil
			}
			// Only the first digest word matched (odds 2^-64 a candidate):
			// the CPU searches this launch's candidates exactly.
			r, err := (&pow.Solver{}).SolveRange(ctx, t, from, to)
			if err == nil || !errors.Is(err, pow.ErrExhausted) {
				res.Password = r.Password
				return res, err
			}
			if err := s.write(s.bufFound, 4, unsafe.Pointer(&zero)); err != nil {
				return res, err
			}
		}
		g += n
	}
	return res, pow.ErrExhausted
}

func (s *Solver) fillOuter(p *plan, g, n uint64) { p.fillOuter(s.outer, g, n) }

// groupsPerLaunch sizes launch number i of a search to about LaunchTime at
// the measured rate, after a ramp from LaunchTime/16 (doubling each launch)
// so that a small keyspace's answer is found in the first few
// milliseconds rather than at the end of one long launch.
func (s *Solver) groupsPerLaunch(count uint64, i int) uint64 {
	want := uint64(firstLaunch)
	if s.rate > 0 {
		want = uint64(s.rate * s.cfg.LaunchTime.Seconds() / float64(uint64(1)<<max(4-i, 0)))
	}
	want = min(max(want, count), maxLaunch)
	return min(max(want/count, 1), maxGroups)
}
