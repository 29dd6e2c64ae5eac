// Package pogrun runs proof of GPU: the prover's side (Serve, behind
// `sn27 pog serve`, on the devices of the container it runs in) and the
// validator's (Prove, which drives a prover over a connection, checks its
// answers and writes the verdict's evidence), and the SSH link between
// them (Dial, Upload, Start).
package pogrun

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/sn27/sn27/internal/pog"
)

// Backend is the device side of a prover: internal/opencl's Prover, one per
// device, behind OpenCLBackend; tests use others.
type Backend interface {
	Devices() ([]pog.DeviceInfo, error)
	// Matmul fills c (n·n, row-major) with A·B of the seeded matrices.
	Matmul(ctx context.Context, dev, n int, seedA, seedB uint64, c []float32) error
	// Fill fills chunks×words words with pog.FillWord(seed, rounds, ·, ·).
	Fill(ctx context.Context, dev, chunks, words, rounds int, seed uint64) error
	// Pass writes the chunk digests of the fill under seed.
	Pass(ctx context.Context, dev int, seed uint64, digests []uint64) error
	// Free releases a device's fill.
	Free(dev int)
}

// devState is what the prover keeps of one device between requests.
type devState struct {
	n    int
	c    []float32
	work *pog.Tree
	mem  *pog.Tree
	dig  []uint64
}

type server struct {
	b        Backend
	devices  []pog.DeviceInfo
	state    map[int]*devState
	prepared bool
}

// limiter is a Backend that bounds the host memory one job may take.
type limiter interface {
	HostLimit() int64
}

func (s *server) tooBig(bytes int64) error {
	if l, ok := s.b.(limiter); ok && l.HostLimit() > 0 && bytes > l.HostLimit() {
		return fmt.Errorf("a job of %d bytes: this prover takes at most %d", bytes, l.HostLimit())
	}
	return nil
}

// preparer is a Backend that can get a device ready (build its kernels)
// before the timed steps.
type preparer interface {
	Prepare(ctx context.Context, dev int) error
}

// Serve answers requests read from in, one JSON line each, on out, until
// "bye", EOF or ctx ends. A request that fails is answered with its error;
// only I/O errors end Serve.
func Serve(ctx context.Context, in io.Reader, out io.Writer, b Backend) error {
	s := &server{b: b, state: map[int]*devState{}}
	r := bufio.NewReaderSize(in, 64<<10)
	enc := json.NewEncoder(out)
	for {
		line, err := readLine(r, pog.MaxLine)
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		var req pog.Request
		var resp pog.Response
		if err := json.Unmarshal(line, &req); err != nil {
			resp.Error = "bad request: " + err.Error()
		} else if req.Op == pog.OpBye {
			return enc.Encode(pog.Response{})
		} else if resp, err = s.handle(ctx, req); err != nil {
			resp = pog.Response{Error: err.Error()}
		}
		if err := enc.Encode(resp); err != nil {
			return fmt.Errorf("write answer: %w", err)
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
}

// readLine reads one line of at most limit bytes.
func readLine(r *bufio.Reader, limit int) ([]byte, error) {
	var line []byte
	for {
		chunk, err := r.ReadSlice('\n')
		line = append(line, chunk...)
		if len(line) > limit {
			return nil, fmt.Errorf("line over %d bytes", limit)
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if err == io.EOF && len(line) > 0 {
			return line, nil
		}
		return line, err
	}
}

func (s *server) device(i int) error {
	if s.devices == nil {
		ds, err := s.b.Devices()
		if err != nil {
			return err
		}
		s.devices = ds
	}
	if i < 0 || i >= len(s.devices) {
		return fmt.Errorf("device %d: %d device(s) here", i, len(s.devices))
	}
	return nil
}

func (s *server) st(i int) *devState {
	if s.state[i] == nil {
		s.state[i] = &devState{}
	}
	return s.state[i]
}

// each runs f for every job index at once and collects the results.
func each(n int, f func(i int) pog.Result) []pog.Result {
	out := make([]pog.Result, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { out[i] = f(i) })
	}
	wg.Wait()
	return out
}

func distinct(devs []int) error {
	if len(devs) > pog.MaxDevices {
		return fmt.Errorf("%d jobs: at most %d", len(devs), pog.MaxDevices)
	}
	seen := map[int]bool{}
	for _, d := range devs {
		if seen[d] {
			return fmt.Errorf("device %d twice in one request", d)
		}
		seen[d] = true
	}
	return nil
}

func (s *server) handle(ctx context.Context, req pog.Request) (pog.Response, error) {
	switch req.Op {
	case pog.OpIdentify:
		if err := s.device(0); err != nil && s.devices == nil {
			return pog.Response{}, err
		}
		if p, ok := s.b.(preparer); ok && !s.prepared {
			// Kernels are built now, outside the timed steps (PoCL compiles
			// them for seconds in a fresh container). A device that fails
			// here fails again, with its error, when it is asked to work.
			s.prepared = true
			// On a GPU host, only the GPUs: the CPU's PoCL device would
			// compile for seconds and never be asked.
			gpus := slices.ContainsFunc(s.devices, func(d pog.DeviceInfo) bool { return d.Type == "gpu" || d.Type == "accelerator" })
			each(len(s.devices), func(i int) pog.Result {
				if !gpus || s.devices[i].Type != "cpu" {
					p.Prepare(ctx, i)
				}
				return pog.Result{}
			})
		}
		return pog.Response{Devices: s.devices}, nil
	case pog.OpWork:
		devs := make([]int, len(req.Work))
		for i, j := range req.Work {
			if err := s.device(j.Device); err != nil {
				return pog.Response{}, err
			}
			if j.N < 1 || j.N > pog.MaxN {
				return pog.Response{}, fmt.Errorf("work: n %d out of 1..%d", j.N, pog.MaxN)
			}
			if err := s.tooBig(4 * int64(j.N) * int64(j.N)); err != nil {
				return pog.Response{}, err
			}
			devs[i] = j.Device
		}
		if err := distinct(devs); err != nil {
			return pog.Response{}, err
		}
		return pog.Response{Results: each(len(req.Work), func(i int) pog.Result { return s.work(ctx, req.Work[i]) })}, nil
	case pog.OpOpen, pog.OpOpenMem:
		jobs := req.Open
		if req.Op == pog.OpOpenMem {
			jobs = req.OpenMem
		}
		var out []pog.Opened
		for _, j := range jobs {
			o, err := s.open(j, req.Op == pog.OpOpenMem)
			if err != nil {
				return pog.Response{}, err
			}
			out = append(out, o)
		}
		return pog.Response{Opened: out}, nil
	case pog.OpFill:
		devs := make([]int, len(req.Fill))
		for i, j := range req.Fill {
			if err := s.device(j.Device); err != nil {
				return pog.Response{}, err
			}
			if j.Chunks < 1 || j.Chunks > pog.MaxChunks || j.Words < 1 || j.Words > pog.MaxChunkWords || j.Rounds < 0 || j.Rounds > pog.MaxRounds {
				return pog.Response{}, fmt.Errorf("fill: %d chunks of %d words, %d rounds: out of range", j.Chunks, j.Words, j.Rounds)
			}
			if err := s.tooBig(8 * int64(j.Chunks) * int64(j.Words)); err != nil {
				return pog.Response{}, err
			}
			devs[i] = j.Device
		}
		if err := distinct(devs); err != nil {
			return pog.Response{}, err
		}
		return pog.Response{Results: each(len(req.Fill), func(i int) pog.Result { return s.fill(ctx, req.Fill[i]) })}, nil
	case pog.OpPass:
		devs := make([]int, len(req.Pass))
		for i, j := range req.Pass {
			if err := s.device(j.Device); err != nil {
				return pog.Response{}, err
			}
			devs[i] = j.Device
		}
		if err := distinct(devs); err != nil {
			return pog.Response{}, err
		}
		return pog.Response{Results: each(len(req.Pass), func(i int) pog.Result { return s.pass(ctx, req.Pass[i]) })}, nil
	}
	return pog.Response{}, fmt.Errorf("unknown op %q", req.Op)
}

func fail(dev int, err error) pog.Result { return pog.Result{Device: dev, Error: err.Error()} }

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func (s *server) work(ctx context.Context, j pog.WorkJob) pog.Result {
	st := s.st(j.Device)
	st.c, st.work = nil, nil // the previous product goes first
	start := time.Now()
	c := make([]float32, j.N*j.N)
	if err := s.b.Matmul(ctx, j.Device, j.N, j.SeedA, j.SeedB, c); err != nil {
		return fail(j.Device, err)
	}
	leaves := make([]pog.Hash, j.N)
	parallel(j.N, func(i int) { leaves[i] = pog.RowLeaf(i, pog.RowBytes(c[i*j.N:(i+1)*j.N])) })
	t, err := pog.NewTreeParallel(leaves, runtime.GOMAXPROCS(0))
	if err != nil {
		return fail(j.Device, err)
	}
	st.n, st.c, st.work = j.N, c, t
	return pog.Result{Device: j.Device, Root: t.Root(), Millis: ms(time.Since(start))}
}

func (s *server) fill(ctx context.Context, j pog.FillJob) pog.Result {
	st := s.st(j.Device)
	st.c, st.work, st.mem, st.dig = nil, nil, nil, nil
	s.b.Free(j.Device)
	start := time.Now()
	if err := s.b.Fill(ctx, j.Device, j.Chunks, j.Words, j.Rounds, j.Seed); err != nil {
		return fail(j.Device, err)
	}
	st.dig = make([]uint64, j.Chunks)
	return pog.Result{Device: j.Device, Millis: ms(time.Since(start))}
}

func (s *server) pass(ctx context.Context, j pog.PassJob) pog.Result {
	st := s.st(j.Device)
	if st.dig == nil {
		return fail(j.Device, errors.New("pass before fill"))
	}
	start := time.Now()
	if err := s.b.Pass(ctx, j.Device, j.Seed, st.dig); err != nil {
		return fail(j.Device, err)
	}
	leaves := make([]pog.Hash, len(st.dig))
	parallel(len(leaves), func(i int) { leaves[i] = pog.ChunkLeaf(i, st.dig[i]) })
	t, err := pog.NewTreeParallel(leaves, runtime.GOMAXPROCS(0))
	if err != nil {
		return fail(j.Device, err)
	}
	st.mem = t
	return pog.Result{Device: j.Device, Root: t.Root(), Millis: ms(time.Since(start))}
}

func (s *server) open(j pog.OpenJob, mem bool) (pog.Opened, error) {
	if len(j.Indices) > pog.MaxOpenings {
		return pog.Opened{}, fmt.Errorf("%d openings: at most %d", len(j.Indices), pog.MaxOpenings)
	}
	st := s.state[j.Device]
	out := pog.Opened{Device: j.Device}
	for _, i := range j.Indices {
		switch {
		case st == nil || (!mem && st.work == nil) || (mem && st.mem == nil):
			return pog.Opened{}, fmt.Errorf("device %d: nothing committed to open", j.Device)
		case mem:
			p, err := st.mem.Path(i)
			if err != nil {
				return pog.Opened{}, err
			}
			out.Items = append(out.Items, pog.Opening{Index: i, Digest: st.dig[i], Path: p})
		default:
			p, err := st.work.Path(i)
			if err != nil {
				return pog.Opened{}, err
			}
			out.Items = append(out.Items, pog.Opening{Index: i, Row: pog.RowBytes(st.c[i*st.n : (i+1)*st.n]), Path: p})
		}
	}
	return out, nil
}

// parallel runs f(0..n-1) on every CPU.
func parallel(n int, f func(i int)) {
	w := min(runtime.GOMAXPROCS(0), n)
	var wg sync.WaitGroup
	for g := range w {
		wg.Go(func() {
			for i := g; i < n; i += w {
				f(i)
			}
		})
	}
	wg.Wait()
}
