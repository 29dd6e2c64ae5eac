package opencl

import (
	"context"
	"errors"
	"math"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
	"unsafe"

	"github.com/sn27/sn27/internal/pog"
)

var (
	proverOnce   sync.Once
	sharedProver *Prover
	proverErr    error
)

// testProver returns one prover for the whole test binary, on the device
// Solver's DefaultConfig would pick. It skips like testSolver: under
// -short, without OpenCL built in, and when no driver is registered.
func testProver(tb testing.TB) *Prover {
	tb.Helper()
	skipWithoutOpenCL(tb)
	proverOnce.Do(func() { sharedProver, proverErr = newDefaultProver(proverOptions{}) })
	failOrSkip(tb, proverErr)
	return sharedProver
}

// newTestProver makes a prover with options; the caller closes it.
func newTestProver(tb testing.TB, o proverOptions) *Prover {
	tb.Helper()
	skipWithoutOpenCL(tb)
	p, err := newDefaultProver(o)
	failOrSkip(tb, err)
	return p
}

func skipWithoutOpenCL(tb testing.TB) {
	tb.Helper()
	if testing.Short() {
		tb.Skip("OpenCL tests build kernels; skipped under -short")
	}
	if !BuiltIn {
		tb.Skip("built without OpenCL (-tags noopencl)")
	}
}

func newDefaultProver(o proverOptions) (*Prover, error) {
	devs, err := Devices()
	if err != nil {
		return nil, err
	}
	d, err := pick(devs, -1)
	if err != nil {
		return nil, err
	}
	return newProver(d.Index, o)
}

// failOrSkip skips when no OpenCL driver is registered at all; a
// registered driver that fails is a test failure.
func failOrSkip(tb testing.TB, err error) {
	tb.Helper()
	if err == nil {
		return
	}
	icds, _ := filepath.Glob("/etc/OpenCL/vendors/*.icd")
	if errors.Is(err, ErrUnavailable) && len(icds) == 0 {
		tb.Skipf("no OpenCL driver on this machine (install pocl-opencl-icd): %v", err)
	}
	tb.Fatalf("OpenCL driver registered (%v) but the prover failed: %v", icds, err)
}

func TestDeviceInfos(t *testing.T) {
	testProver(t)
	infos, err := DeviceInfos()
	if err != nil {
		t.Fatal(err)
	}
	for i, d := range infos {
		if d.Index != i || d.Name == "" || d.Type == "" || d.VRAMBytes == 0 || d.MaxAlloc == 0 || d.MaxAlloc > d.VRAMBytes || d.ComputeUnits < 1 {
			t.Errorf("device %d: %+v", i, d)
		}
		t.Logf("%+v", d)
	}
}

func TestFormatIDs(t *testing.T) {
	if got, want := pciBusID(0, 0x18, 0x1f, 7), "0000:18:1f.7"; got != want {
		t.Errorf("pciBusID: got %q; want %q", got, want)
	}
	slot := uint32(3<<3 | 1) // NVIDIA's slot id: device 3, function 1
	if got, want := pciBusID(1, 0xc1, slot>>3, slot&7), "0001:c1:03.1"; got != want {
		t.Errorf("pciBusID from NVIDIA's slot: got %q; want %q", got, want)
	}
	u := [16]byte{0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 0xab, 0xcd}
	if got, want := formatUUID(u), "deadbeef-0102-0304-0506-0708090aabcd"; got != want {
		t.Errorf("formatUUID: got %q; want %q", got, want)
	}
}

// checkProduct compares c with a float64 product of the seeded matrices.
func checkProduct(t *testing.T, n int, seedA, seedB uint64, c []float32) {
	t.Helper()
	a := make([]float64, n*n)
	b := make([]float64, n*n)
	for i := range n {
		for k := range n {
			a[i*n+k] = float64(pog.Elem(seedA, uint32(i), uint32(k)))
			b[i*n+k] = float64(pog.Elem(seedB, uint32(i), uint32(k)))
		}
	}
	row := make([]float64, n)
	bad := 0
	for i := range n {
		clear(row)
		for k := range n {
			aik := a[i*n+k]
			for j, bkj := range b[k*n : k*n+n] {
				row[j] += aik * bkj
			}
		}
		for j, ref := range row {
			got := float64(c[i*n+j])
			if math.Abs(got-ref) > 1e-4*(math.Abs(ref)+math.Sqrt(float64(n))) {
				if bad++; bad <= 5 {
					t.Errorf("n=%d: C[%d][%d] = %v; want %v", n, i, j, got, ref)
				}
			}
		}
	}
	if bad > 0 {
		t.Fatalf("n=%d: %d of %d elements wrong", n, bad, n*n)
	}
}

func testMatmul(t *testing.T, p *Prover, sizes []int) {
	for _, n := range sizes {
		seedA, seedB := uint64(n)*0x1234567+1, ^uint64(n)
		c := make([]float32, n*n)
		for i := range c {
			c[i] = float32(math.NaN())
		}
		d, err := p.Matmul(context.Background(), n, seedA, seedB, c)
		if err != nil {
			t.Fatalf("n=%d: %v", n, err)
		}
		if d <= 0 {
			t.Errorf("n=%d: duration %v", n, d)
		}
		checkProduct(t, n, seedA, seedB, c)
	}
}

func TestMatmul(t *testing.T) {
	p := testProver(t)
	t.Logf("%s: %v", p.dev, p.shape)
	testMatmul(t, p, []int{1, 7, 64, 130, 257})
	// Generation is bit-exact: C of n=1 is one product, exact in fp32
	// (24-bit by 24-bit significands round once).
	for _, s := range [][2]uint64{{1, 2}, {0xfeed, 0xbeef}, {math.MaxUint64, 0}} {
		c := make([]float32, 1)
		if _, err := p.Matmul(context.Background(), 1, s[0], s[1], c); err != nil {
			t.Fatal(err)
		}
		if want := pog.Elem(s[0], 0, 0) * pog.Elem(s[1], 0, 0); c[0] != want {
			t.Errorf("seeds %x: C = %v; want %v", s, c[0], want)
		}
	}
}

// TestGPUChoices runs what a GPU runs (the tiled matrix kernel with local
// memory and barriers, the fill interleaved across a buffer, one chunk a
// work-item) on whatever device is here, so that a machine without a GPU
// checks it too.
func TestGPUChoices(t *testing.T) {
	for _, s := range []sgemmShape{gpuShape, smallGPUShape} {
		t.Run(s.String(), func(t *testing.T) {
			p := newTestProver(t, proverOptions{gpu: true, shapes: []sgemmShape{s}})
			defer p.Close()
			testMatmul(t, p, []int{1, 7, 130, 257})
			testGenerate(t, p)
			testFillPass(t, p)
		})
	}
}

// TestShapeFallback: a shape the device cannot run (a work-group over its
// limit) gives way to the next.
func TestShapeFallback(t *testing.T) {
	huge := sgemmShape{tiled: true, rm: 4, rn: 4, lx: 128, ly: 64, tk: 128} // 8192 work-items
	p := newTestProver(t, proverOptions{gpu: true, shapes: []sgemmShape{huge, smallGPUShape}})
	defer p.Close()
	if p.shape != smallGPUShape {
		t.Fatalf("shape %v; want %v", p.shape, smallGPUShape)
	}
	testMatmul(t, p, []int{65})
	p.Close()
	if _, err := p.Matmul(context.Background(), 1, 1, 2, make([]float32, 1)); err == nil {
		t.Error("Matmul after Close succeeded")
	}
	if _, err := newDefaultProver(proverOptions{shapes: []sgemmShape{huge}}); err == nil || !strings.Contains(err.Error(), "work-groups") {
		t.Errorf("only an impossible shape: got %v; want an error about work-groups", err)
	}
}

// TestDeviceInfoExtensions: the PCI address and UUID come from the
// extensions the device lists, and nothing else is queried.
func TestDeviceInfoExtensions(t *testing.T) {
	base := testProver(t).l
	for _, tt := range []struct {
		name, ext string
		nvDomain  bool // the driver knows CL_DEVICE_PCI_DOMAIN_ID_NV
		pci, uuid string
		fp16      bool
	}{
		{"khr", "cl_khr_fp16 cl_khr_pci_bus_info cl_khr_device_uuid cl_nv_device_attribute_query", true, "0002:c1:1f.3", "00112233-4455-6677-8899-aabbccddeeff", true},
		{"nvidia", "cl_khr_fp64 cl_nv_device_attribute_query cl_khr_device_uuid", false, "0000:41:03.1", "00112233-4455-6677-8899-aabbccddeeff", false},
		{"nvidia with domain", "cl_nv_device_attribute_query", true, "0005:41:03.1", "", false},
		{"none", "cl_khr_fp16x cl_khr_byte_addressable_store", false, "", "", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			fake := *base
			fake.getDeviceInfo = func(dev uintptr, param uint32, size uintptr, value unsafe.Pointer, sizeRet *uintptr) int32 {
				var data []byte
				u32 := func(vs ...uint32) []byte {
					return unsafe.Slice((*byte)(unsafe.Pointer(&vs[0])), 4*len(vs))
				}
				has := true
				switch param {
				case clDeviceExtensions:
					data = append([]byte(tt.ext), 0)
				case clDeviceMaxMemAllocSize:
					data = u32(1<<30, 0)
				case clDevicePCIBusInfoKHR:
					has = strings.Contains(tt.ext, "cl_khr_pci_bus_info")
					data = u32(2, 0xc1, 0x1f, 3)
				case clDeviceUUIDKHR:
					has = strings.Contains(tt.ext, "cl_khr_device_uuid")
					data = []byte{0, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff}
				case clDevicePCIBusIDNV:
					has = strings.Contains(tt.ext, "cl_nv_device_attribute_query")
					data = u32(0x41)
				case clDevicePCISlotIDNV:
					has = strings.Contains(tt.ext, "cl_nv_device_attribute_query")
					data = u32(3<<3 | 1)
				case clDevicePCIDomainIDNV:
					has = strings.Contains(tt.ext, "cl_nv_device_attribute_query")
					if !tt.nvDomain {
						return -30 // CL_INVALID_VALUE
					}
					data = u32(5)
				default:
					t.Errorf("queried parameter %#x", param)
					return -30
				}
				if !has {
					t.Errorf("queried %#x without its extension listed", param)
				}
				if sizeRet != nil {
					*sizeRet = uintptr(len(data))
				}
				if value != nil {
					copy(unsafe.Slice((*byte)(value), size), data)
				}
				return clSuccess
			}
			info := fake.deviceInfo(Device{Index: 3, Name: "fake", Type: "gpu"})
			if info.PCIBusID != tt.pci || info.UUID != tt.uuid || info.FP16 != tt.fp16 || info.MaxAlloc != 1<<30 || info.Index != 3 {
				t.Errorf("got %+v; want PCI %q, UUID %q, FP16 %v, MaxAlloc 1 GiB", info, tt.pci, tt.uuid, tt.fp16)
			}
		})
	}
}

// TestGenerate reads the generated matrices back: every element, padding
// included, is the one of pog.cl's layout, bit for bit.
func TestGenerate(t *testing.T) { testGenerate(t, testProver(t)) }

func testGenerate(t *testing.T, p *Prover) {
	const n = 130
	const seedA, seedB = 0xa11ce, 0xb0b
	if err := p.generate(context.Background(), n, seedA, seedB); err != nil {
		t.Fatal(err)
	}
	m := p.mm
	for _, mat := range []struct {
		name       string
		buf        uintptr
		outer, pw  int
		seed       uint64
		transposed bool
	}{{"A", m.a, m.mp, p.shape.panelA(), seedA, false}, {"B", m.b, m.np, p.shape.panelB(), seedB, true}} {
		got := make([]float32, mat.outer*m.kp)
		if err := check("clEnqueueReadBuffer", p.l.enqueueReadBuffer(p.queue, mat.buf, 1, 0, uintptr(4*len(got)), unsafe.Pointer(&got[0]), 0, nil, nil)); err != nil {
			t.Fatal(err)
		}
		bad := 0
		for x := range mat.outer {
			for k := range m.kp {
				var want float32
				switch {
				case x >= n || k >= n:
				case mat.transposed:
					want = pog.Elem(mat.seed, uint32(k), uint32(x))
				default:
					want = pog.Elem(mat.seed, uint32(x), uint32(k))
				}
				at := x/mat.pw*m.kp*mat.pw + k*mat.pw + x%mat.pw
				if math.Float32bits(got[at]) != math.Float32bits(want) {
					if bad++; bad <= 5 {
						t.Errorf("%s outer %d, k %d: %v; want %v", mat.name, x, k, got[at], want)
					}
				}
			}
		}
	}
}

// checkDigests compares Pass with pog.ChunkDigest over pog.ChunkWords.
func checkDigests(t *testing.T, p *Prover, chunks, words, rounds int, seed, passSeed uint64) {
	t.Helper()
	got := make([]uint64, chunks)
	if _, err := p.Pass(context.Background(), passSeed, got); err != nil {
		t.Fatal(err)
	}
	var buf []uint64
	for ch := range chunks {
		buf = pog.ChunkWords(seed, rounds, uint64(ch), words, buf)
		if want := pog.ChunkDigest(passSeed, uint64(ch), buf); got[ch] != want {
			t.Fatalf("chunk %d of %d (%d words, %d rounds): digest %x; want %x", ch, chunks, words, rounds, got[ch], want)
		}
	}
}

func TestFillPass(t *testing.T) { testFillPass(t, testProver(t)) }

func testFillPass(t *testing.T, p *Prover) {
	defer func() { p.maxBuffer = 0; p.FreeMemory() }()
	pl := p.pv * p.pu
	for _, tt := range []struct {
		name                  string
		chunks, words, rounds int
		maxBuffer             uint64 // 0: the device's limit
		buffers               int
	}{
		{"one word", 1, 1, 0, 0, 1},
		{"odd chunks", 3*pl + 5, 33, 2, 0, 1},
		{"more chunks than a work-group", 3*int(p.local)*pl + 1, 64, 1, 0, 1},
		{"rounds 64", 40, 257, 64, 0, 1},
		{"split by whole work-items", 7*pl + 3, 50, 3, 8 * 50 * uint64(2*pl+1), 4},
		{"split below a vector", 11, 20, 1, 8 * 20 * 3, 4},
		{"one chunk a buffer", 5, 128, 2, 8 * 128, 5},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p.maxBuffer = tt.maxBuffer
			const seed = 0x5eed
			if _, err := p.Fill(context.Background(), tt.chunks, tt.words, tt.rounds, seed); err != nil {
				t.Fatal(err)
			}
			if len(p.fill) != tt.buffers {
				t.Errorf("%d buffers; want %d", len(p.fill), tt.buffers)
			}
			checkDigests(t, p, tt.chunks, tt.words, tt.rounds, seed, 0x9a55)
			checkDigests(t, p, tt.chunks, tt.words, tt.rounds, seed, 1) // a second pass of the same fill
		})
	}
}

// TestFillFreesPrevious: a second Fill releases every buffer of the first,
// and of the product before it, before it allocates (the fill takes 80 % of
// a GPU: the product's buffers must not stay beside it).
func TestFillFreesPrevious(t *testing.T) {
	p := testProver(t)
	p.maxBuffer = 8 * 16 * 4
	orig := p.l
	defer func() { p.l, p.maxBuffer = orig, 0; p.FreeMemory() }()
	if _, err := p.Fill(context.Background(), 10, 16, 1, 7); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Matmul(context.Background(), 64, 1, 2, make([]float32, 64*64)); err != nil {
		t.Fatal(err)
	}
	live := map[uintptr]bool{p.state: true, p.mm.a: true, p.mm.b: true, p.mm.c: true}
	for _, b := range p.fill {
		live[b.mem] = true
	}
	counting := *orig
	counting.createBuffer = func(ctx uintptr, flags uint64, size uintptr, host unsafe.Pointer, errRet *int32) uintptr {
		if len(live) > 0 {
			t.Errorf("buffer allocated while %d of the first fill's are live", len(live))
		}
		return orig.createBuffer(ctx, flags, size, host, errRet)
	}
	counting.releaseMemObject = func(m uintptr) int32 {
		delete(live, m)
		return orig.releaseMemObject(m)
	}
	p.l = &counting
	if _, err := p.Fill(context.Background(), 3, 40, 2, 8); err != nil {
		t.Fatal(err)
	}
	if len(live) > 0 {
		t.Errorf("%d buffers of the first fill or the product not released", len(live))
	}
	checkDigests(t, p, 3, 40, 2, 8, 9)
	p.FreeMemory()
	if _, err := p.Pass(context.Background(), 1, make([]uint64, 3)); err == nil {
		t.Error("Pass after FreeMemory succeeded")
	}
}

func TestProverCancel(t *testing.T) {
	p := testProver(t)
	defer p.FreeMemory()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := p.Matmul(ctx, 64, 1, 2, make([]float32, 64*64)); !errors.Is(err, context.Canceled) {
		t.Errorf("Matmul: got %v; want context.Canceled", err)
	}
	if _, err := p.Fill(ctx, 16, 16, 1, 1); !errors.Is(err, context.Canceled) {
		t.Errorf("Fill: got %v; want context.Canceled", err)
	}
	if _, err := p.Fill(context.Background(), 16, 16, 1, 1); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Pass(ctx, 1, make([]uint64, 16)); !errors.Is(err, context.Canceled) {
		t.Errorf("Pass: got %v; want context.Canceled", err)
	}

	// A fill of minutes stops at the first launch after the deadline.
	ctx, cancel = context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	began := time.Now()
	_, err := p.Fill(ctx, 1<<12, 1<<12, 1<<14, 1)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("long Fill: got %v; want context.DeadlineExceeded", err)
	}
	if el := time.Since(began); el > 2*time.Second {
		t.Errorf("long Fill returned %v after its deadline", el)
	}
	if len(p.fill) != 0 || p.state != 0 {
		t.Error("a cancelled Fill kept its buffers")
	}
}

func TestProverErrors(t *testing.T) {
	p := testProver(t)
	ctx := context.Background()
	devs, _ := Devices()
	for _, i := range []int{-1, len(devs)} {
		if _, err := NewProver(i); !errors.Is(err, ErrUnavailable) {
			t.Errorf("NewProver(%d) of %d devices: got %v; want ErrUnavailable", i, len(devs), err)
		}
	}
	if _, err := p.Matmul(ctx, 0, 1, 2, nil); err == nil {
		t.Error("Matmul n=0 succeeded")
	}
	if _, err := p.Matmul(ctx, 3, 1, 2, make([]float32, 8)); err == nil {
		t.Error("Matmul with a short c succeeded")
	}
	if _, err := p.Fill(ctx, 0, 1, 1, 1); err == nil {
		t.Error("Fill of no chunks succeeded")
	}
	p.maxBuffer = 8
	_, err := p.Fill(ctx, 2, 2, 1, 1)
	p.maxBuffer = 0
	if err == nil {
		t.Error("Fill of chunks over the buffer limit succeeded")
	}
	if _, err := p.Fill(ctx, 4, 4, 1, 1); err != nil {
		t.Fatal(err)
	}
	defer p.FreeMemory()
	if _, err := p.Pass(ctx, 1, make([]uint64, 3)); err == nil {
		t.Error("Pass with 3 digests for 4 chunks succeeded")
	}
}
