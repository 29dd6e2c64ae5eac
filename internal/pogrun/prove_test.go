package pogrun

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sn27/sn27/internal/pog"
)

// testModel is a "GPU" at the scale of a test: the CPU backend in Go is it
// when it says so, at small sizes.
var testModel = pog.Model{Name: "Test GPU", Match: []string{"Test GPU"}, Type: "gpu", VRAMGiB: [2]float64{0.005, 1},
	FP32GFLOPS: [2]float64{0.005, 1000}, ExpectGFLOPS: 0.3, MemGBps: [2]float64{0.05, 1000}, Score: 1, Rounds: 4, Words: 64, WorkSeconds: 0.2}

// fastModel claims a rate no Go loop reaches: a CPU that says it is one
// fails on time.
var fastModel = pog.Model{Name: "Fast GPU", Match: []string{"Fast GPU"}, Type: "gpu", VRAMGiB: [2]float64{0.005, 1},
	FP32GFLOPS: [2]float64{200, 1000}, ExpectGFLOPS: 400, MemGBps: [2]float64{0.05, 1000}, Score: 3, Rounds: 4, Words: 64, WorkSeconds: 0.0003}

const testMem = 8 << 20

func testDevs(name string, n int) []pog.DeviceInfo {
	var ds []pog.DeviceInfo
	for i := range n {
		ds = append(ds, pog.DeviceInfo{Index: i, Name: name, Type: "gpu", VRAMBytes: testMem})
	}
	return ds
}

func testOptions(models ...pog.Model) Options {
	return Options{Table: &pog.Table{Version: 1, Models: models}, Models: models}
}

// serve starts Serve on b and returns the validator's end. tamper, if set,
// rewrites each answer line of the prover (nil drops the line).
func serve(t *testing.T, b Backend, tamper func(line []byte) []byte) Conn {
	t.Helper()
	reqR, reqW := io.Pipe()
	outR, outW := io.Pipe()
	cliR, cliW := io.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() {
		Serve(ctx, reqR, outW, b)
		outW.Close()
	})
	wg.Go(func() {
		r := bufio.NewReader(outR)
		for {
			line, err := readLine(r, 1<<30)
			if err != nil {
				cliW.CloseWithError(err)
				return
			}
			if tamper != nil {
				if line = tamper(line); line == nil {
					continue
				}
			}
			if _, err := cliW.Write(line); err != nil {
				outR.Close()
				return
			}
		}
	})
	t.Cleanup(func() {
		cancel()
		reqR.Close()
		outR.Close()
		cliR.Close()
		wg.Wait()
	})
	return &pipeEnds{Reader: cliR, Writer: reqW, closers: []io.Closer{reqW, cliR}}
}

// rewrite decodes an answer, lets f change it and encodes it again.
func rewrite(f func(*pog.Response)) func([]byte) []byte {
	return func(line []byte) []byte {
		var r pog.Response
		if err := json.Unmarshal(line, &r); err != nil {
			return line
		}
		f(&r)
		b, _ := json.Marshal(r)
		return append(b, '\n')
	}
}

func claim(model string, n int) Claim {
	return Claim{Hotkey: "5Miner", Model: model, Count: n, MemBytes: testMem}
}

func TestHonestProverPasses(t *testing.T) {
	b := &CPUBackend{Devs: testDevs("Test GPU", 2)}
	v := Prove(context.Background(), serve(t, b, nil), claim("Test GPU", 2), testOptions(testModel))
	if !v.Passed || v.GPUs != 2 || v.Model != "Test GPU" || v.FailedStep != "" {
		t.Fatalf("honest prover: %+v", v)
	}
	for _, d := range v.Devices {
		if !d.Passed || len(d.Rows) < pog.MinOpenings || len(d.Opened) < pog.MinOpenings || d.WorkRoot.IsZero() || d.MemRoot.IsZero() || d.GFLOPS <= 0 || d.MemGBps <= 0 {
			t.Fatalf("device evidence %+v", d)
		}
		if float64(d.MemBytes) < pog.MemShare*testMem-float64(d.Words*8) {
			t.Fatalf("filled %d bytes of %d claimed", d.MemBytes, testMem)
		}
	}
}

func expectFail(t *testing.T, v pog.Verdict, step, reason string) {
	t.Helper()
	if v.Passed || v.GPUs != 0 || v.FailedStep != step || !strings.Contains(v.Reason, reason) {
		t.Fatalf("verdict passed=%v gpus=%d step=%q reason=%q; want step %q with %q", v.Passed, v.GPUs, v.FailedStep, v.Reason, step, reason)
	}
}

// halfSum computes C from half of the products: twice as fast, wrong.
type halfSum struct{ CPUBackend }

func (h *halfSum) Matmul(ctx context.Context, dev, n int, sa, sb uint64, c []float32) error {
	for i := range n {
		for j := range n {
			var s float32
			for k := 0; k < n; k += 2 {
				s += pog.Elem(sa, uint32(i), uint32(k)) * pog.Elem(sb, uint32(k), uint32(j))
			}
			c[i*n+j] = s
		}
	}
	return nil
}

func TestAttacks(t *testing.T) {
	honest := func() *CPUBackend { return &CPUBackend{Devs: testDevs("Test GPU", 1)} }
	ctx := context.Background()

	t.Run("wrong values under their own root", func(t *testing.T) {
		v := Prove(ctx, serve(t, &halfSum{CPUBackend{Devs: testDevs("Test GPU", 1)}}, nil), claim("Test GPU", 1), testOptions(testModel))
		expectFail(t, v, pog.StepOpen, "recomputed")
	})
	t.Run("right root, wrong values opened", func(t *testing.T) {
		v := Prove(ctx, serve(t, honest(), rewrite(func(r *pog.Response) {
			for i := range r.Opened {
				for j := range r.Opened[i].Items {
					if row := r.Opened[i].Items[j].Row; len(row) > 0 {
						row[0] ^= 0x10
					}
				}
			}
		})), claim("Test GPU", 1), testOptions(testModel))
		expectFail(t, v, pog.StepOpen, "merkle")
	})
	t.Run("random roots", func(t *testing.T) {
		v := Prove(ctx, serve(t, honest(), rewrite(func(r *pog.Response) {
			for i := range r.Results {
				r.Results[i].Root = pog.Hash{byte(i + 1), 2, 3}
			}
		})), claim("Test GPU", 1), testOptions(testModel))
		expectFail(t, v, pog.StepOpen, "merkle")
	})
	t.Run("a result copied from another miner", func(t *testing.T) {
		// Record what an honest prover answered to one validator's seeds ...
		var mu sync.Mutex
		var recorded [][]byte
		Prove(ctx, serve(t, honest(), func(l []byte) []byte {
			mu.Lock()
			recorded = append(recorded, append([]byte(nil), l...))
			mu.Unlock()
			return l
		}), claim("Test GPU", 1), testOptions(testModel))
		// ... and send the same answers, in order, to the next proof.
		i := 0
		v := Prove(ctx, serve(t, honest(), func(l []byte) []byte {
			mu.Lock()
			defer mu.Unlock()
			if i < len(recorded) {
				l = recorded[i]
			}
			i++
			return l
		}), claim("Test GPU", 1), testOptions(testModel))
		expectFail(t, v, pog.StepOpen, "")
	})
	t.Run("late answers", func(t *testing.T) {
		v := Prove(ctx, serve(t, &slowPass{CPUBackend: *honest(), delay: 3 * time.Second}, nil), claim("Test GPU", 1), testOptions(testModel))
		expectFail(t, v, pog.StepPass, "late")
	})
	t.Run("claimed memory not held: half kept, half made again", func(t *testing.T) {
		m := testModel
		m.Rounds = 1000 // making a word again costs 1001 Mix calls
		v := Prove(ctx, serve(t, &halfHeld{}, nil), claim("Test GPU", 1), testOptions(m))
		expectFail(t, v, pog.StepPass, "late")
	})
	t.Run("claimed memory not held: allocation fails", func(t *testing.T) {
		v := Prove(ctx, serve(t, &noMemory{CPUBackend: *honest()}, nil), claim("Test GPU", 1), testOptions(testModel))
		expectFail(t, v, pog.StepFill, "CL_MEM_OBJECT_ALLOCATION_FAILURE")
	})
	t.Run("a CPU claiming to be a GPU, honest about its type", func(t *testing.T) {
		b := &CPUBackend{Devs: []pog.DeviceInfo{{Index: 0, Name: "pthread-AMD EPYC", Type: "cpu", VRAMBytes: 64 << 30}}}
		v := Prove(ctx, serve(t, b, nil), claim("Fast GPU", 1), testOptions(fastModel))
		expectFail(t, v, pog.StepIdentify, "0 gpu device(s) seen")
	})
	t.Run("a CPU claiming to be a GPU, lying about its type", func(t *testing.T) {
		b := &CPUBackend{Devs: testDevs("Fast GPU", 1)}
		v := Prove(ctx, serve(t, b, nil), claim("Fast GPU", 1), testOptions(fastModel))
		if v.Passed {
			t.Fatalf("a Go loop passed as a %v GFLOP/s GPU: %+v", fastModel.FP32GFLOPS, v.Devices)
		}
		if v.FailedStep != pog.StepWork && v.FailedStep != pog.StepIdentify {
			t.Fatalf("failed at %q: %s", v.FailedStep, v.Reason)
		}
	})
	t.Run("one GPU claimed as two", func(t *testing.T) {
		b := honest()
		b.Devs = []pog.DeviceInfo{{Index: 0, Name: "Test GPU", Type: "gpu", VRAMBytes: testMem, UUID: "u-1"}, {Index: 1, Name: "Test GPU", Type: "gpu", VRAMBytes: testMem, UUID: "u-1"}}
		v := Prove(ctx, serve(t, b, nil), claim("Test GPU", 2), testOptions(testModel))
		expectFail(t, v, pog.StepIdentify, "two devices report u-1")
	})
	t.Run("less memory than claimed", func(t *testing.T) {
		b := honest()
		b.Devs[0].VRAMBytes = testMem / 4
		v := Prove(ctx, serve(t, b, nil), claim("Test GPU", 1), testOptions(testModel))
		expectFail(t, v, pog.StepIdentify, "the claim is")
	})
	t.Run("malformed answer", func(t *testing.T) {
		n := 0
		v := Prove(ctx, serve(t, honest(), func(l []byte) []byte {
			n++
			if n == 3 {
				return []byte("{\"results\": [1, 2\n")
			}
			return l
		}), claim("Test GPU", 1), testOptions(testModel))
		expectFail(t, v, pog.StepWork, "malformed answer")
	})
	t.Run("oversized answer", func(t *testing.T) {
		n := 0
		v := Prove(ctx, serve(t, honest(), func(l []byte) []byte {
			n++
			if n == 3 {
				return []byte(`{"error":"` + strings.Repeat("x", pog.MaxLine+10) + "\"}\n")
			}
			return l
		}), claim("Test GPU", 1), testOptions(testModel))
		expectFail(t, v, pog.StepWork, "line over")
	})
	t.Run("wrong number of results", func(t *testing.T) {
		v := Prove(ctx, serve(t, honest(), rewrite(func(r *pog.Response) {
			if len(r.Results) > 0 {
				r.Results = append(r.Results, r.Results[0])
			}
		})), claim("Test GPU", 1), testOptions(testModel))
		expectFail(t, v, pog.StepWork, "2 results for 1 devices")
	})
	t.Run("a prover that exits", func(t *testing.T) {
		n := 0
		c := serve(t, honest(), nil)
		pc := c.(*pipeEnds)
		r := pc.Reader
		pc.Reader = readerFunc(func(p []byte) (int, error) {
			n++
			if n > 2 {
				return 0, io.EOF
			}
			return r.Read(p)
		})
		v := Prove(ctx, pc, claim("Test GPU", 1), testOptions(testModel))
		expectFail(t, v, pog.StepWork, "ended without answering")
	})
	t.Run("an unknown model claimed", func(t *testing.T) {
		v := Prove(ctx, serve(t, honest(), nil), claim("NVIDIA B300", 1), testOptions(testModel))
		expectFail(t, v, pog.StepIdentify, "not in model table")
	})
}

type readerFunc func([]byte) (int, error)

func (f readerFunc) Read(p []byte) (int, error) { return f(p) }

type slowPass struct {
	CPUBackend
	delay time.Duration
}

func (s *slowPass) Pass(ctx context.Context, dev int, seed uint64, d []uint64) error {
	select {
	case <-time.After(s.delay):
	case <-ctx.Done():
	}
	return s.CPUBackend.Pass(ctx, dev, seed, d)
}

type noMemory struct{ CPUBackend }

func (*noMemory) Fill(context.Context, int, int, int, int, uint64) error {
	return errors.New("clCreateBuffer: CL_MEM_OBJECT_ALLOCATION_FAILURE (-4)")
}

// halfHeld keeps the first half of its chunks and makes the rest again at
// pass time.
type halfHeld struct {
	chunks, words, rounds int
	seed                  uint64
	kept                  [][]uint64
}

func (h *halfHeld) Devices() ([]pog.DeviceInfo, error) { return testDevs("Test GPU", 1), nil }
func (h *halfHeld) Matmul(ctx context.Context, dev, n int, sa, sb uint64, c []float32) error {
	return (&CPUBackend{}).Matmul(ctx, dev, n, sa, sb, c)
}
func (h *halfHeld) Fill(ctx context.Context, dev, chunks, words, rounds int, seed uint64) error {
	h.chunks, h.words, h.rounds, h.seed = chunks, words, rounds, seed
	h.kept = nil
	for c := range chunks / 2 {
		h.kept = append(h.kept, pog.ChunkWords(seed, rounds, uint64(c), words, nil))
	}
	return nil
}
func (h *halfHeld) Pass(ctx context.Context, dev int, seed uint64, d []uint64) error {
	for c := range h.chunks {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		w := []uint64(nil)
		if c < len(h.kept) {
			w = h.kept[c]
		} else {
			w = pog.ChunkWords(h.seed, h.rounds, uint64(c), h.words, nil)
		}
		d[c] = pog.ChunkDigest(seed, uint64(c), w)
	}
	return nil
}
func (h *halfHeld) Free(int) {}

// FuzzServe: whatever lines reach the prover, it answers each (or ends on
// an I/O error) and never panics.
func FuzzServe(f *testing.F) {
	f.Add([]byte(`{"op":"identify"}` + "\n" + `{"op":"work","work":[{"device":0,"n":8,"seed_a":1,"seed_b":2}]}` + "\n" + `{"op":"open","open":[{"device":0,"indices":[0,7]}]}` + "\n"))
	f.Add([]byte(`{"op":"fill","fill":[{"device":0,"chunks":4,"words":8,"rounds":1,"seed":3}]}` + "\n" + `{"op":"pass","pass":[{"device":0,"seed":4}]}` + "\n" + `{"op":"open_mem","open_mem":[{"device":0,"indices":[3]}]}` + "\n"))
	f.Add([]byte(`{"op":"open_mem","open_mem":[{"device":0,"indices":[-1]}]}` + "\n{\n" + `{"op":"bye"}`))
	f.Fuzz(func(t *testing.T, in []byte) {
		b := &CPUBackend{Devs: testDevs("Test GPU", 2), Limit: 1 << 16}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		var out strings.Builder
		if err := Serve(ctx, strings.NewReader(string(in)), &out, b); err != nil && ctx.Err() == nil && !strings.Contains(err.Error(), "line over") {
			t.Fatalf("Serve: %v", err)
		}
	})
}
