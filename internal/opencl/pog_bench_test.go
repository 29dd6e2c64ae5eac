//go:build linux && (amd64 || arm64)

package opencl

import (
	"context"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/ebitengine/purego"
)

// clblast is CLBlast's C API (clblast_c.h), loaded at run time to compare
// our SGEMM kernel with it on the same context and queue.
type clblast struct {
	sgemm func(layout, transA, transB int32, m, n, k uintptr, alpha float32,
		a, aOffset, lda, b, bOffset, ldb uintptr, beta float32,
		c, cOffset, ldc uintptr, queue, event *uintptr) int32
}

// clblast_c.h's enums.
const (
	clblastLayoutRowMajor = 101
	clblastTransposeNo    = 111
)

func loadCLBlast() (cb *clblast, err error) {
	const path = "libclblast.so.1"
	h, err := purego.Dlopen(path, purego.RTLD_NOW|purego.RTLD_GLOBAL)
	if err != nil {
		return nil, fmt.Errorf("load %s (Debian's libclblast1): %v", path, err)
	}
	defer func() {
		if r := recover(); r != nil { // RegisterLibFunc panics on a missing symbol
			cb, err = nil, fmt.Errorf("%s: %v", path, r)
		}
	}()
	cb = &clblast{}
	purego.RegisterLibFunc(&cb.sgemm, h, "CLBlastSgemm")
	return cb, nil
}

// run computes C = A·B for row-major n x n buffers and waits for it.
func (cb *clblast) run(p *Prover, n int, a, b, c uintptr) error {
	q := p.queue
	nn := uintptr(n)
	if st := cb.sgemm(clblastLayoutRowMajor, clblastTransposeNo, clblastTransposeNo, nn, nn, nn, 1,
		a, 0, nn, b, 0, nn, 0, c, 0, nn, &q, nil); st != 0 {
		return fmt.Errorf("CLBlastSgemm: status %d", st)
	}
	return p.finish()
}

var benchSizes = []int{1024, 2048, 4096}

// BenchmarkSGEMM compares the matrix kernel alone (A and B made before
// the timer) with CLBlast's SGEMM on the same device, context and queue.
// GFLOP/s is 2n³ over the time of the product.
func BenchmarkSGEMM(b *testing.B) {
	p := testProver(b)
	b.Logf("%s: %v", p.dev, p.shape)
	cb, cbErr := loadCLBlast()
	for _, n := range benchSizes {
		b.Run(fmt.Sprintf("ours/n=%d", n), func(b *testing.B) {
			ctx := context.Background()
			if err := p.generate(ctx, n, 1, 2); err != nil {
				b.Fatal(err)
			}
			if err := p.multiply(ctx); err != nil { // sizes the launches
				b.Fatal(err)
			}
			for b.Loop() {
				if err := p.multiply(ctx); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(2*math.Pow(float64(n), 3)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
		b.Run(fmt.Sprintf("clblast/n=%d", n), func(b *testing.B) {
			if cbErr != nil {
				b.Skip(cbErr)
			}
			bufs, err := rowMajor(p, n)
			defer func() {
				for i := range bufs {
					p.release(&bufs[i])
				}
			}()
			if err != nil {
				b.Fatal(err)
			}
			if err := cb.run(p, n, bufs[0], bufs[1], bufs[2]); err != nil { // builds CLBlast's kernels
				b.Fatal(err)
			}
			if err := sameProduct(p, n, bufs[2]); err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				if err := cb.run(p, n, bufs[0], bufs[1], bufs[2]); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(2*math.Pow(float64(n), 3)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}

// rowMajor allocates and generates row-major A and B (the matrices of
// Matmul with seeds 1 and 2) and a C, for CLBlast.
func rowMajor(p *Prover, n int) ([]uintptr, error) {
	var bufs []uintptr
	for range 3 {
		m, err := p.alloc(4 * uint64(n) * uint64(n))
		if err != nil {
			return bufs, err
		}
		bufs = append(bufs, m)
	}
	ctx := context.Background()
	if err := p.genMatrix(ctx, bufs[0], 1, n, n, 1, n, false); err != nil { // panels of one row: row-major A
		return bufs, err
	}
	if err := p.genMatrix(ctx, bufs[1], 2, n, n, n, n, true); err != nil { // one panel of n columns: row-major B
		return bufs, err
	}
	return bufs, nil
}

// sameProduct checks CLBlast's C against Matmul's on a few rows.
func sameProduct(p *Prover, n int, c uintptr) error {
	ours := make([]float32, n*n)
	if _, err := p.Matmul(context.Background(), n, 1, 2, ours); err != nil {
		return err
	}
	theirs := make([]float32, n*n)
	if err := p.read(c, theirs); err != nil {
		return err
	}
	for i := 0; i < n*n; i += 997 {
		if d := math.Abs(float64(ours[i] - theirs[i])); d > 1e-3*(math.Abs(float64(ours[i]))+math.Sqrt(float64(n))) {
			return fmt.Errorf("CLBlast's C[%d] = %v, ours %v", i, theirs[i], ours[i])
		}
	}
	return nil
}

// BenchmarkMatmul is the whole call: generation, product and read-back.
func BenchmarkMatmul(b *testing.B) {
	p := testProver(b)
	for _, n := range benchSizes {
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			c := make([]float32, n*n)
			ctx := context.Background()
			if _, err := p.Matmul(ctx, n, 3, 4, c); err != nil {
				b.Fatal(err)
			}
			var total time.Duration
			for b.Loop() {
				d, err := p.Matmul(ctx, n, 3, 4, c)
				if err != nil {
					b.Fatal(err)
				}
				total += d
			}
			b.ReportMetric(float64(total.Milliseconds())/float64(b.N), "ms/matmul")
			b.ReportMetric(2*math.Pow(float64(n), 3)*float64(b.N)/total.Seconds()/1e9, "GFLOP/s")
		})
	}
}

// BenchmarkFillPass fills 256 MiB (chunks of 8192 words, 64 rounds) and
// passes over it; GB/s is the fill's bytes over each step's time. fill is
// the whole call (allocation, the first touch of fresh memory, the
// kernels); fill-kernel writes the same buffers again, the kernels alone.
func BenchmarkFillPass(b *testing.B) {
	p := testProver(b)
	const words, rounds = 8192, 64
	const bytes = 256 << 20
	const chunks = bytes / (8 * words)
	ctx := context.Background()
	b.Run("fill", func(b *testing.B) {
		defer p.FreeMemory()
		var total time.Duration
		for b.Loop() {
			d, err := p.Fill(ctx, chunks, words, rounds, uint64(b.N))
			if err != nil {
				b.Fatal(err)
			}
			total += d
		}
		b.ReportMetric(bytes*float64(b.N)/total.Seconds()/1e9, "GB/s")
	})
	b.Run("fill-kernel", func(b *testing.B) {
		defer p.FreeMemory()
		if _, err := p.Fill(ctx, chunks, words, rounds, 1); err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			if err := p.write(ctx, 1); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(bytes*float64(b.N)/b.Elapsed().Seconds()/1e9, "GB/s")
	})
	b.Run("pass", func(b *testing.B) {
		defer p.FreeMemory()
		if _, err := p.Fill(ctx, chunks, words, rounds, 1); err != nil {
			b.Fatal(err)
		}
		digests := make([]uint64, chunks)
		var total time.Duration
		for b.Loop() {
			d, err := p.Pass(ctx, 2, digests)
			if err != nil {
				b.Fatal(err)
			}
			total += d
		}
		b.ReportMetric(bytes*float64(b.N)/total.Seconds()/1e9, "GB/s")
	})
}
