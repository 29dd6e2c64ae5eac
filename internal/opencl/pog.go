package opencl

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"time"
	"unsafe"

	"github.com/sn27/sn27/internal/pog"
)

//go:embed pog.cl
var pogSource string

// DeviceInfos lists every OpenCL device as pog.DeviceInfo (Index is the
// position in Devices()).
func DeviceInfos() ([]pog.DeviceInfo, error) {
	l, err := load()
	if err != nil {
		return nil, err
	}
	devs, err := l.devices()
	if err != nil {
		return nil, err
	}
	out := make([]pog.DeviceInfo, len(devs))
	for i, d := range devs {
		out[i] = l.deviceInfo(d)
	}
	return out, nil
}

// deviceInfo adds what the identity step reports to d: the allocation
// limit, fp16, and the PCI address and UUID where an extension gives them
// (only extensions the device lists are queried).
func (l *lib) deviceInfo(d Device) pog.DeviceInfo {
	info := pog.DeviceInfo{
		Index: d.Index, Name: d.Name, Vendor: d.Vendor, Type: d.Type,
		Platform: d.Platform, Driver: d.Driver,
		VRAMBytes: d.GlobalMemBytes, MaxAlloc: l.deviceUint64(d.id, clDeviceMaxMemAllocSize),
		ComputeUnits: d.ComputeUnits, ClockMHz: d.ClockMHz,
	}
	ext := strings.Fields(l.deviceString(d.id, clDeviceExtensions))
	has := func(name string) bool {
		for _, e := range ext {
			if e == name {
				return true
			}
		}
		return false
	}
	info.FP16 = has("cl_khr_fp16")
	if has("cl_khr_pci_bus_info") {
		var v [4]uint32 // domain, bus, device, function
		if l.getDeviceInfo(d.id, clDevicePCIBusInfoKHR, unsafe.Sizeof(v), unsafe.Pointer(&v), nil) == clSuccess {
			info.PCIBusID = pciBusID(v[0], v[1], v[2], v[3])
		}
	}
	if info.PCIBusID == "" && has("cl_nv_device_attribute_query") {
		var bus, slot, domain uint32
		if l.getDeviceInfo(d.id, clDevicePCIBusIDNV, 4, unsafe.Pointer(&bus), nil) == clSuccess &&
			l.getDeviceInfo(d.id, clDevicePCISlotIDNV, 4, unsafe.Pointer(&slot), nil) == clSuccess {
			if l.getDeviceInfo(d.id, clDevicePCIDomainIDNV, 4, unsafe.Pointer(&domain), nil) != clSuccess {
				domain = 0 // drivers before the domain attribute: domain 0
			}
			info.PCIBusID = pciBusID(domain, bus, slot>>3, slot&7)
		}
	}
	if has("cl_khr_device_uuid") {
		var u [16]byte
		if l.getDeviceInfo(d.id, clDeviceUUIDKHR, 16, unsafe.Pointer(&u), nil) == clSuccess {
			info.UUID = formatUUID(u)
		}
	}
	return info
}

// pciBusID formats a PCI address as "DDDD:BB:DD.F" (hex).
func pciBusID(domain, bus, dev, fn uint32) string {
	return fmt.Sprintf("%04x:%02x:%02x.%x", domain, bus, dev, fn)
}

// formatUUID formats 16 bytes as lowercase 8-4-4-4-12 hex.
func formatUUID(u [16]byte) string {
	return fmt.Sprintf("%x-%x-%x-%x-%x", u[0:4], u[4:6], u[6:8], u[8:10], u[10:16])
}

// sgemmShape is the build-time shape of the matrix kernel (pog.cl's -D
// options). The CPU kernel (tiled false) computes rm x rn of C per
// work-item from registers, rn = vectors of vw floats; the GPU kernel
// (tiled) computes a tile of rm*ly x rn*lx per work-group through local
// memory, rm x rn per work-item.
type sgemmShape struct {
	tiled  bool
	rm, rn int // rows and columns of C per work-item (multiples of 4 when tiled)
	vw     int // float vector width of the CPU kernel; rn is a multiple
	lx, ly int // work-group size: columns, rows
	tk     int // K steps per tile (tiled) or per unrolled loop (CPU)
}

// rowTile and colTile are the rows and columns of C per work-group; n is
// padded to them.
func (s sgemmShape) rowTile() int { return s.rm * s.ly }
func (s sgemmShape) colTile() int { return s.rn * s.lx }

// panelA and panelB are the panel widths of pog.cl's layout.
func (s sgemmShape) panelA() int {
	if s.tiled {
		return s.rowTile()
	}
	return s.rm
}

func (s sgemmShape) panelB() int {
	if s.tiled {
		return s.colTile()
	}
	return s.rn
}

func (s sgemmShape) String() string {
	if s.tiled {
		return fmt.Sprintf("tiled %dx%d per work-item, work-group %dx%d (tile %dx%d, k %d)", s.rm, s.rn, s.lx, s.ly, s.rowTile(), s.colTile(), s.tk)
	}
	return fmt.Sprintf("registers %dx%d per work-item (float%d), work-group %dx%d, k unroll %d", s.rm, s.rn, s.vw, s.lx, s.ly, s.tk)
}

func (s sgemmShape) options() string {
	tiled := 0
	if s.tiled {
		tiled = 1
	}
	opts := fmt.Sprintf("-DTILED=%d -DRM=%d -DLX=%d -DLY=%d -DTK=%d", tiled, s.rm, s.lx, s.ly, s.tk)
	if s.tiled {
		return opts + fmt.Sprintf(" -DRN=%d -DTM=%d -DTN=%d", s.rn, s.rowTile(), s.colTile())
	}
	return opts + fmt.Sprintf(" -DNV=%d -DVW=%d", s.rn/s.vw, s.vw)
}

func (s sgemmShape) valid() error {
	ok := s.rm > 0 && s.rn > 0 && s.lx > 0 && s.ly > 0 && s.tk > 0
	if s.tiled {
		wg := s.lx * s.ly
		ok = ok && s.rm%4 == 0 && s.rn%4 == 0 && (s.tk*s.rowTile()/4)%wg == 0 && (s.tk*s.colTile()/4)%wg == 0
	} else {
		ok = ok && s.vw > 0 && s.rn%s.vw == 0
	}
	if !ok {
		return fmt.Errorf("invalid sgemm shape %+v", s)
	}
	return nil
}

// Shapes per device type. GPUs: 16x16 work-items of 8x8 sums each, 128x128
// tiles 16 deep in local memory (16 KiB), float4 loads. CPUs (PoCL): no
// local memory and no barrier; one work-item keeps a block of C in vector
// registers (8 rows x 2 float16 = 16 of AVX-512's 32 registers; 6 x 2
// float8 = 12 of AVX2's 16), 8 K steps unrolled, and a work-group of 16
// work-items down one column panel, which PoCL runs on one core, reuses
// that B panel from the core's cache.
var (
	gpuShape      = sgemmShape{tiled: true, rm: 8, rn: 8, lx: 16, ly: 16, tk: 16}
	smallGPUShape = sgemmShape{tiled: true, rm: 8, rn: 8, lx: 8, ly: 8, tk: 16}
)

// cpuShape is the CPU kernel's shape for the device's native float vector
// width.
func cpuShape(floatWidth int) sgemmShape {
	s := sgemmShape{rm: 8, rn: 32, vw: 16, lx: 1, ly: 16, tk: 8}
	switch {
	case floatWidth >= 16:
	case floatWidth >= 8:
		s.rm, s.rn, s.vw = 6, 16, 8
	default:
		s.rm, s.rn, s.vw = 6, 8, 4
	}
	return s
}

// Prover runs proof-of-GPU work on one device: matrix products of seeded
// matrices (Matmul) and the memory fill and pass (Fill, Pass). Long work is
// split into launches of about launchTime each, and ctx is checked between
// launches. Not safe for concurrent use; one per device.
type Prover struct {
	l     *lib
	dev   Device
	info  pog.DeviceInfo
	shape sgemmShape
	gpu   bool    // GPU choices: fill interleaved across the whole buffer
	pv    int     // 64-bit lanes per vector in fill and pass
	pu    int     // vectors per work-item in fill and pass
	local uintptr // work-group size of gen, fill and pass

	ctx, queue, prog           uintptr
	kGen, kSgemm, kFill, kPass uintptr

	launchTime time.Duration // aimed duration of one launch (defaultLaunch)
	maxBuffer  uint64        // per-buffer limit of the fill; 0: the device's CL_DEVICE_MAX_MEM_ALLOC_SIZE

	// Launch sizing per kernel: gen in elements, sgemm in flops, fill in
	// Mix calls, pass in words.
	paceGen, paceMM, paceFill, pacePass pace

	mm   matmulBufs
	fill []fillBuf
	// The fill's shape, and its digest state (one word per chunk).
	chunks, words, rounds int
	state                 uintptr
}

// matmulBufs are the buffers of one matrix size, kept for the next call.
type matmulBufs struct {
	n, mp, np, kp int
	a, b, c       uintptr
}

// fillBuf is one buffer of the fill: chunks first .. first+count-1.
type fillBuf struct {
	mem          uintptr
	first, count int
}

// proverOptions override the per-device choices (tests and benchmarks).
type proverOptions struct {
	gpu    bool         // make the GPU choices whatever the device
	shapes []sgemmShape // matrix kernel shapes to try, in order
}

// NewProver builds the proof-of-GPU kernels for device index (into
// Devices()) and warms them up. Errors match ErrUnavailable when OpenCL or
// the device is missing.
func NewProver(index int) (*Prover, error) {
	return newProver(index, proverOptions{})
}

func newProver(index int, o proverOptions) (*Prover, error) {
	l, err := load()
	if err != nil {
		return nil, err
	}
	devs, err := l.devices()
	if err != nil {
		return nil, err
	}
	if index < 0 || index >= len(devs) {
		return nil, fmt.Errorf("%w: opencl device %d asked for, but %d device(s) exist", ErrUnavailable, index, len(devs))
	}
	dev := devs[index]
	p := &Prover{l: l, dev: dev, info: l.deviceInfo(dev), launchTime: defaultLaunch}
	p.paceGen, p.paceMM, p.paceFill, p.pacePass = newPaces()
	if err := p.init(o); err != nil {
		p.Close()
		return nil, fmt.Errorf("opencl device %d, %s: %w", dev.Index, dev, err)
	}
	return p, nil
}

func (p *Prover) init(o proverOptions) error {
	l, id := p.l, p.dev.id
	p.gpu = o.gpu || p.dev.Type != "cpu"
	var shapes []sgemmShape // to try in order
	switch {
	case len(o.shapes) > 0:
		shapes = o.shapes
	case p.gpu:
		shapes = []sgemmShape{gpuShape, smallGPUShape}
	default:
		shapes = []sgemmShape{cpuShape(int(l.deviceUint32(id, clDeviceNativeVectorWidthFloat)))}
	}
	// Fill and pass: on GPUs one chunk a work-item, many work-items; on
	// CPUs eight vectors of the native width a work-item (independent
	// chains of Mix to cover its multiply latency).
	p.pv, p.pu, p.local = 1, 1, 256
	if !p.gpu {
		p.pv, p.pu, p.local = int(l.deviceUint32(id, clDeviceNativeVectorWidthLong)), 8, 8
		switch p.pv {
		case 1, 2, 4, 8, 16:
		default:
			p.pv = 1
		}
	}

	var code int32
	props := []uintptr{clContextPlatform, p.dev.platform, 0}
	p.ctx = l.createContext(&props[0], 1, &id, 0, 0, &code)
	if err := check("clCreateContext", code); err != nil {
		return err
	}
	p.queue = l.createCommandQueue(p.ctx, id, 0, &code)
	if err := check("clCreateCommandQueue", code); err != nil {
		return err
	}
	// The first shape that builds and runs (a GPU may refuse the large
	// one: work-group size, local memory, registers).
	var errs []error
	for _, s := range shapes {
		err := p.build(s)
		if err == nil {
			if err = p.warmUp(); err == nil {
				return nil
			}
		}
		errs = append(errs, err)
		p.FreeMemory()
		p.freeMatmul()
		p.releaseProgram()
	}
	return errors.Join(errs...)
}

// build builds the program with the matrix kernel in shape s and creates
// the kernels; it fails when the device cannot run s (work-group size,
// local memory).
func (p *Prover) build(s sgemmShape) error {
	l, id := p.l, p.dev.id
	if err := s.valid(); err != nil {
		return err
	}
	if limit := l.deviceSize(id, clDeviceMaxWorkGroupSize); limit > 0 && limit < uintptr(s.lx*s.ly) {
		return fmt.Errorf("sgemm shape %v: the device allows work-groups of %d", s, limit)
	}
	if s.tiled {
		need := uint64(4 * s.tk * (s.rowTile() + s.colTile()))
		if have := l.deviceUint64(id, clDeviceLocalMemSize); have < need {
			return fmt.Errorf("sgemm shape %v needs %d bytes of local memory, the device has %d", s, need, have)
		}
	}
	p.shape = s
	var code int32
	src := append([]byte(pogSource), 0)
	ptr := &src[0]
	n := uintptr(len(pogSource))
	p.prog = l.createProgramWithSrc(p.ctx, 1, &ptr, &n, &code)
	runtime.KeepAlive(src)
	if err := check("clCreateProgramWithSource", code); err != nil {
		return err
	}
	opts := fmt.Sprintf("%s -DPV=%d -DPU=%d", s.options(), p.pv, p.pu)
	if err := check("clBuildProgram", l.buildProgram(p.prog, 1, &id, opts, 0, 0)); err != nil {
		return fmt.Errorf("build the proof-of-GPU kernels (%s): %w; build log:\n%s", opts, err, buildLog(l, p.prog, id))
	}
	for _, k := range []struct {
		h    *uintptr
		name string
	}{{&p.kGen, "gen"}, {&p.kSgemm, "sgemm"}, {&p.kFill, "fill"}, {&p.kPass, "pass"}} {
		*k.h = l.createKernel(p.prog, k.name, &code)
		if err := check("clCreateKernel("+k.name+")", code); err != nil {
			return err
		}
	}
	var limit uintptr
	l.getKernelWorkGroupInfo(p.kSgemm, id, clKernelWorkGroupSize, unsafe.Sizeof(limit), unsafe.Pointer(&limit), nil)
	if limit > 0 && limit < uintptr(s.lx*s.ly) {
		return fmt.Errorf("sgemm shape %v: the built kernel allows work-groups of %d", s, limit)
	}
	for _, k := range []uintptr{p.kGen, p.kFill, p.kPass} {
		limit = 0
		l.getKernelWorkGroupInfo(k, id, clKernelWorkGroupSize, unsafe.Sizeof(limit), unsafe.Pointer(&limit), nil)
		if limit > 0 && p.local > limit {
			p.local = limit
		}
	}
	return nil
}

// releaseProgram releases the kernels and the program.
func (p *Prover) releaseProgram() {
	for _, h := range []*uintptr{&p.kGen, &p.kSgemm, &p.kFill, &p.kPass} {
		if *h != 0 {
			p.l.releaseKernel(*h)
			*h = 0
		}
	}
	if p.prog != 0 {
		p.l.releaseProgram(p.prog)
		p.prog = 0
	}
}

// warmUp runs each kernel once on a small problem: drivers that compile
// at the first launch (PoCL) do it here, not in a measured call.
func (p *Prover) warmUp() error {
	ctx := context.Background()
	n := max(p.shape.rowTile(), p.shape.colTile())
	c := make([]float32, n*n)
	if _, err := p.Matmul(ctx, n, 1, 2, c); err != nil {
		return fmt.Errorf("warm-up matmul: %w", err)
	}
	p.freeMatmul()
	if _, err := p.Fill(ctx, 2*p.pv*p.pu+1, 4, 1, 3); err != nil {
		return fmt.Errorf("warm-up fill: %w", err)
	}
	if _, err := p.Pass(ctx, 4, make([]uint64, 2*p.pv*p.pu+1)); err != nil {
		return fmt.Errorf("warm-up pass: %w", err)
	}
	p.FreeMemory()
	// Rates of tiny problems measure overheads: start from the guesses.
	p.paceGen, p.paceMM, p.paceFill, p.pacePass = newPaces()
	return nil
}

func buildLog(l *lib, prog, dev uintptr) string {
	var size uintptr
	if l.getProgramBuildInfo(prog, dev, clProgramBuildLog, 0, nil, &size) != clSuccess || size == 0 {
		return "(no build log)"
	}
	b := make([]byte, size)
	l.getProgramBuildInfo(prog, dev, clProgramBuildLog, size, unsafe.Pointer(&b[0]), nil)
	log := cString(b)
	if len(log) > 8000 {
		log = log[:8000] + "\n..."
	}
	return log
}

// Info returns the device's identity.
func (p *Prover) Info() pog.DeviceInfo { return p.info }

// Close releases every OpenCL object. The prover must not be used after.
func (p *Prover) Close() error {
	if p == nil || p.l == nil {
		return nil
	}
	p.FreeMemory()
	p.freeMatmul()
	p.releaseProgram()
	if p.queue != 0 {
		p.l.releaseCommandQueue(p.queue)
	}
	if p.ctx != 0 {
		p.l.releaseContext(p.ctx)
	}
	p.queue, p.ctx = 0, 0
	p.l = nil
	return nil
}

var errClosed = errors.New("opencl prover closed")

func (p *Prover) alive() error {
	if p == nil || p.l == nil {
		return errClosed
	}
	return nil
}

// args sets a kernel's arguments in order; each is a uintptr (a cl_mem),
// uint32 or uint64.
func (p *Prover) args(kernel uintptr, name string, args ...any) error {
	for i, a := range args {
		var code int32
		switch v := a.(type) {
		case uintptr:
			code = p.l.setKernelArg(kernel, uint32(i), unsafe.Sizeof(v), unsafe.Pointer(&v))
		case uint32:
			code = p.l.setKernelArg(kernel, uint32(i), 4, unsafe.Pointer(&v))
		case uint64:
			code = p.l.setKernelArg(kernel, uint32(i), 8, unsafe.Pointer(&v))
		default:
			return fmt.Errorf("kernel %s argument %d: unsupported type %T", name, i, a)
		}
		if err := check(fmt.Sprintf("clSetKernelArg(%s, %d)", name, i), code); err != nil {
			return err
		}
	}
	return nil
}

func (p *Prover) enqueue(kernel uintptr, name string, global, local []uintptr) error {
	return check("clEnqueueNDRangeKernel("+name+")",
		p.l.enqueueNDRangeKernel(p.queue, kernel, uint32(len(global)), nil, &global[0], &local[0], 0, nil, nil))
}

func (p *Prover) finish() error { return check("clFinish", p.l.finish(p.queue)) }

func (p *Prover) alloc(size uint64) (uintptr, error) {
	if limit := p.info.MaxAlloc; limit > 0 && size > limit {
		return 0, fmt.Errorf("buffer of %d bytes over the device's CL_DEVICE_MAX_MEM_ALLOC_SIZE %d", size, limit)
	}
	var code int32
	m := p.l.createBuffer(p.ctx, clMemReadWrite, uintptr(size), nil, &code)
	if err := check(fmt.Sprintf("clCreateBuffer(%d bytes)", size), code); err != nil {
		return 0, err
	}
	return m, nil
}

// read copies the start of buf into dst (blocking).
func (p *Prover) read(buf uintptr, dst []float32) error {
	return check("clEnqueueReadBuffer", p.l.enqueueReadBuffer(p.queue, buf, 1, 0, uintptr(4*len(dst)), unsafe.Pointer(&dst[0]), 0, nil, nil))
}

func (p *Prover) release(m *uintptr) {
	if *m != 0 {
		p.l.releaseMemObject(*m)
		*m = 0
	}
}

// pace sizes one kernel's launches: rate is the measured work per second
// (0 until measured), guess the rate assumed until then (low: a CPU's).
type pace struct{ rate, guess float64 }

func newPaces() (gen, mm, fill, pass pace) {
	return pace{guess: 1e8}, pace{guess: 2e9}, pace{guess: 1e8}, pace{guess: 1e8}
}

// launches runs total units of work in launches of about launchTime each,
// at pc's rate; cost is the work of one unit. ctx is checked before every
// launch; launch(lo, hi) enqueues units [lo, hi) (at most most units, when
// most > 0), and each launch is waited for.
func (p *Prover) launches(ctx context.Context, pc *pace, cost float64, total, most int, launch func(lo, hi int) error) error {
	for lo := 0; lo < total; {
		if err := ctx.Err(); err != nil {
			return err
		}
		rate := pc.rate
		if rate == 0 {
			rate = pc.guess
		}
		n := int(min(rate*p.launchTime.Seconds()/cost, 1<<40))
		if most > 0 {
			n = min(n, most)
		}
		n = min(max(n, 1), total-lo)
		began := time.Now()
		if err := launch(lo, lo+n); err != nil {
			return err
		}
		if err := p.finish(); err != nil {
			return err
		}
		// Short launches mostly measure their overhead: they may only
		// raise the rate (an early underestimate must not stick).
		if el := time.Since(began); el > 0 {
			if r := float64(n) * cost / el.Seconds(); pc.rate == 0 || r > pc.rate || el >= p.launchTime/4 {
				pc.rate = r
			}
		}
		lo += n
	}
	return nil
}

// roundUp rounds n up to a multiple of m.
func roundUp(n, m int) int { return (n + m - 1) / m * m }

// maxMatrix bounds n: the kernels index within a matrix with 32-bit
// integers.
const maxMatrix = 1 << 15

// Matmul generates A and B on the device, A[i][k] = pog.Elem(seedA, i, k)
// and B[k][j] = pog.Elem(seedB, k, j), computes C = A·B in fp32 and reads
// C into c (n*n floats, row-major). It returns the time the device work
// took: generation, the product and the read-back. ctx is checked between
// launches; once it is done the error matches ctx.Err() (errors.Is).
func (p *Prover) Matmul(ctx context.Context, n int, seedA, seedB uint64, c []float32) (time.Duration, error) {
	if err := p.alive(); err != nil {
		return 0, err
	}
	if n < 1 || n > maxMatrix {
		return 0, fmt.Errorf("matmul of n=%d: want 1 <= n <= %d", n, maxMatrix)
	}
	if len(c) != n*n {
		return 0, fmt.Errorf("matmul of n=%d: c has %d elements, want %d", n, len(c), n*n)
	}
	began := time.Now()
	if err := p.generate(ctx, n, seedA, seedB); err != nil {
		return 0, err
	}
	if err := p.multiply(ctx); err != nil {
		return 0, err
	}
	if err := p.read(p.mm.c, c); err != nil {
		return 0, err
	}
	return time.Since(began), nil
}

// matrices (re)allocates the buffers for n.
func (p *Prover) matrices(n int) error {
	if p.mm.n == n && p.mm.a != 0 {
		return nil
	}
	p.freeMatmul()
	s := p.shape
	m := matmulBufs{n: n, mp: roundUp(n, s.rowTile()), np: roundUp(n, s.colTile()), kp: roundUp(n, s.tk)}
	var err error
	if m.a, err = p.alloc(4 * uint64(m.mp) * uint64(m.kp)); err != nil {
		return fmt.Errorf("matrix A: %w", err)
	}
	p.mm = m
	if p.mm.b, err = p.alloc(4 * uint64(m.np) * uint64(m.kp)); err != nil {
		return fmt.Errorf("matrix B: %w", err)
	}
	if p.mm.c, err = p.alloc(4 * uint64(n) * uint64(n)); err != nil {
		return fmt.Errorf("matrix C: %w", err)
	}
	return nil
}

func (p *Prover) freeMatmul() {
	if p.l == nil {
		return
	}
	p.release(&p.mm.a)
	p.release(&p.mm.b)
	p.release(&p.mm.c)
	p.mm = matmulBufs{}
}

// generate makes A and B for n in the panel layout.
func (p *Prover) generate(ctx context.Context, n int, seedA, seedB uint64) error {
	if err := p.matrices(n); err != nil {
		return err
	}
	m := p.mm
	if err := p.genMatrix(ctx, m.a, seedA, n, m.kp, p.shape.panelA(), m.mp, false); err != nil {
		return fmt.Errorf("generate A: %w", err)
	}
	if err := p.genMatrix(ctx, m.b, seedB, n, m.kp, p.shape.panelB(), m.np, true); err != nil {
		return fmt.Errorf("generate B: %w", err)
	}
	return nil
}

// genMatrix runs the gen kernel over a padded matrix of outer x kp
// elements in panels of pw (pog.cl).
func (p *Prover) genMatrix(ctx context.Context, buf uintptr, seed uint64, n, kp, pw, outer int, swap bool) error {
	sw := uint32(0)
	if swap {
		sw = 1
	}
	count := outer * kp
	const unit = 1 << 12 // elements per unit of the launch loop
	return p.launches(ctx, &p.paceGen, unit, (count+unit-1)/unit, 1<<18, func(lo, hi int) error {
		g0, end := lo*unit, min(hi*unit, count)
		if err := p.args(p.kGen, "gen", buf, seed, uint32(n), uint32(kp), uint32(pw), sw, uint64(g0), uint64(end)); err != nil {
			return err
		}
		items := (end - g0 + p.pv - 1) / p.pv
		return p.enqueue(p.kGen, "gen", []uintptr{uintptr(roundUp(items, int(p.local)))}, []uintptr{p.local})
	})
}

// multiply runs the sgemm kernel on the current matrices, split by rows of
// work-group tiles.
func (p *Prover) multiply(ctx context.Context) error {
	s, m := p.shape, p.mm
	tiles := m.mp / s.rowTile()
	cost := 2 * float64(s.rowTile()) * float64(m.np) * float64(m.kp)
	return p.launches(ctx, &p.paceMM, cost, tiles, 0, func(lo, hi int) error {
		ib0 := lo
		if !s.tiled {
			ib0 = lo * s.ly
		}
		if err := p.args(p.kSgemm, "sgemm", m.a, m.b, m.c, uint32(m.n), uint32(m.kp), uint32(ib0)); err != nil {
			return err
		}
		global := []uintptr{uintptr(m.np / s.rn), uintptr((hi - lo) * s.ly)}
		return p.enqueue(p.kSgemm, "sgemm", global, []uintptr{uintptr(s.lx), uintptr(s.ly)})
	})
}

// Fill allocates chunks*words 64-bit words on the device, in as many
// buffers as the allocation limit needs (whole chunks each), and writes
// word t of chunk ch = pog.FillWord(seed, rounds, ch, t). A previous fill
// is freed first, and a fill that fails or whose ctx is done (checked
// between launches) is freed. It returns the time allocation and fill
// took.
func (p *Prover) Fill(ctx context.Context, chunks, words, rounds int, seed uint64) (time.Duration, error) {
	if err := p.alive(); err != nil {
		return 0, err
	}
	if chunks < 1 || words < 1 || rounds < 0 || words > 1<<31 || rounds > 1<<31 {
		return 0, fmt.Errorf("fill of %d chunks of %d words, %d rounds: want chunks, words >= 1, rounds >= 0", chunks, words, rounds)
	}
	// The memory step fills 80 % of the device: the product's buffers
	// (about 3n² floats) and any previous fill go first.
	p.FreeMemory()
	limit := p.info.MaxAlloc
	if p.maxBuffer > 0 && (limit == 0 || p.maxBuffer < limit) {
		limit = p.maxBuffer
	}
	chunkBytes := 8 * uint64(words)
	if limit > 0 && chunkBytes > limit {
		return 0, fmt.Errorf("fill: a chunk of %d words (%d bytes) is over the per-buffer limit of %d bytes", words, chunkBytes, limit)
	}
	per := chunks
	if limit > 0 {
		per = int(min(limit/chunkBytes, 1<<30))
	}
	if pl := p.pv * p.pu; per >= pl {
		per -= per % pl // whole work-items in every buffer but the last
	}
	began := time.Now()
	var err error
	if p.state, err = p.alloc(8 * uint64(chunks)); err != nil {
		return 0, fmt.Errorf("fill: digest state: %w", err)
	}
	for first := 0; first < chunks; first += per {
		b := fillBuf{first: first, count: min(per, chunks-first)}
		if b.mem, err = p.alloc(uint64(b.count) * chunkBytes); err != nil {
			p.FreeMemory()
			return 0, fmt.Errorf("fill: buffer %d (chunks %d..%d): %w", len(p.fill), b.first, b.first+b.count-1, err)
		}
		p.fill = append(p.fill, b)
	}
	p.chunks, p.words, p.rounds = chunks, words, rounds
	if err := p.write(ctx, seed); err != nil {
		p.FreeMemory()
		return 0, err
	}
	return time.Since(began), nil
}

// write runs the fill kernel over every buffer of the fill.
func (p *Prover) write(ctx context.Context, seed uint64) error {
	for i, b := range p.fill {
		items := p.items(b)
		cost := float64(b.count) * float64(p.rounds+1) // Mix calls per row
		err := p.launches(ctx, &p.paceFill, cost, p.words, max(1, (1<<30)/items), func(lo, hi int) error {
			if err := p.args(p.kFill, "fill", b.mem, seed, uint32(p.rounds), uint64(b.first), uint32(b.count), p.groupWidth(b), uint32(p.words), uint32(lo), uint32(hi-lo)); err != nil {
				return err
			}
			return p.enqueue(p.kFill, "fill", []uintptr{uintptr(roundUp((hi-lo)*items, int(p.local)))}, []uintptr{p.local})
		})
		if err != nil {
			return fmt.Errorf("fill buffer %d: %w", i, err)
		}
	}
	return nil
}

// Pass computes, for every chunk ch of the current fill,
// pog.ChunkDigest(seed, ch, words of chunk ch) into digests (one per
// chunk). It returns the time the pass and the read-back took. ctx is
// checked between launches; a cancelled pass leaves the fill in place.
func (p *Prover) Pass(ctx context.Context, seed uint64, digests []uint64) (time.Duration, error) {
	if err := p.alive(); err != nil {
		return 0, err
	}
	if len(p.fill) == 0 {
		return 0, errors.New("pass: no fill on the device")
	}
	if len(digests) != p.chunks {
		return 0, fmt.Errorf("pass: %d digests for %d chunks", len(digests), p.chunks)
	}
	began := time.Now()
	for i, b := range p.fill {
		items := p.items(b)
		err := p.launches(ctx, &p.pacePass, float64(b.count), p.words, 0, func(lo, hi int) error {
			if err := p.args(p.kPass, "pass", b.mem, p.state, seed, uint64(b.first), uint32(b.count), p.groupWidth(b), uint32(p.words), uint32(lo), uint32(hi)); err != nil {
				return err
			}
			return p.enqueue(p.kPass, "pass", []uintptr{uintptr(roundUp(items, int(p.local)))}, []uintptr{p.local})
		})
		if err != nil {
			return 0, fmt.Errorf("pass buffer %d: %w", i, err)
		}
	}
	if err := check("clEnqueueReadBuffer(digests)", p.l.enqueueReadBuffer(p.queue, p.state, 1, 0, uintptr(8*p.chunks), unsafe.Pointer(&digests[0]), 0, nil, nil)); err != nil {
		return 0, err
	}
	return time.Since(began), nil
}

// items is the number of work-items of one row of a fill buffer.
func (p *Prover) items(b fillBuf) int {
	pl := p.pv * p.pu
	return (b.count + pl - 1) / pl
}

// groupWidth is pog.cl's w for a fill buffer: all its chunks on GPUs, one
// work-item's on CPUs.
func (p *Prover) groupWidth(b fillBuf) uint32 {
	if p.gpu {
		return uint32(b.count)
	}
	return uint32(p.pv * p.pu)
}

// FreeMemory frees the device memory the prover holds: the fill and the
// buffers of the last product.
func (p *Prover) FreeMemory() {
	if p.l == nil {
		return
	}
	p.freeMatmul()
	for i := range p.fill {
		p.release(&p.fill[i].mem)
	}
	p.fill = nil
	p.release(&p.state)
	p.chunks, p.words, p.rounds = 0, 0, 0
}
