package pogrun

import (
	"context"
	"fmt"
	"sync"

	"github.com/sn27/sn27/internal/opencl"
	"github.com/sn27/sn27/internal/pog"
)

// OpenCLBackend proves the OpenCL devices of this machine (or container).
// MemoryBytes, when set, is what a CPU device says it holds: a CPU claims no
// VRAM, so tests and the devnet size it by flag, never from the host's RAM.
type OpenCLBackend struct {
	MemoryBytes uint64

	mu      sync.Mutex
	provers map[int]*opencl.Prover
}

// Devices lists the devices through OpenCL.
func (b *OpenCLBackend) Devices() ([]pog.DeviceInfo, error) {
	ds, err := opencl.DeviceInfos()
	if err != nil {
		return nil, err
	}
	for i := range ds {
		if ds[i].Type == "cpu" && b.MemoryBytes > 0 {
			ds[i].VRAMBytes = b.MemoryBytes
		}
	}
	return ds, nil
}

func (b *OpenCLBackend) prover(dev int) (*opencl.Prover, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.provers == nil {
		b.provers = map[int]*opencl.Prover{}
	}
	if p := b.provers[dev]; p != nil {
		return p, nil
	}
	p, err := opencl.NewProver(dev)
	if err != nil {
		return nil, fmt.Errorf("device %d: %w", dev, err)
	}
	b.provers[dev] = p
	return p, nil
}

// Prepare opens the device and builds its kernels.
func (b *OpenCLBackend) Prepare(_ context.Context, dev int) error {
	_, err := b.prover(dev)
	return err
}

// Matmul runs the product on the device.
func (b *OpenCLBackend) Matmul(ctx context.Context, dev, n int, seedA, seedB uint64, c []float32) error {
	p, err := b.prover(dev)
	if err != nil {
		return err
	}
	_, err = p.Matmul(ctx, n, seedA, seedB, c)
	return err
}

// Fill fills the device's memory.
func (b *OpenCLBackend) Fill(ctx context.Context, dev, chunks, words, rounds int, seed uint64) error {
	p, err := b.prover(dev)
	if err != nil {
		return err
	}
	_, err = p.Fill(ctx, chunks, words, rounds, seed)
	return err
}

// Pass digests the fill.
func (b *OpenCLBackend) Pass(ctx context.Context, dev int, seed uint64, digests []uint64) error {
	p, err := b.prover(dev)
	if err != nil {
		return err
	}
	_, err = p.Pass(ctx, seed, digests)
	return err
}

// Free frees the device's fill.
func (b *OpenCLBackend) Free(dev int) {
	b.mu.Lock()
	p := b.provers[dev]
	b.mu.Unlock()
	if p != nil {
		p.FreeMemory()
	}
}

// Close releases every device.
func (b *OpenCLBackend) Close() {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, p := range b.provers {
		p.Close()
	}
	b.provers = nil
}

// CPUBackend is a prover in plain Go on the CPU, for tests: it computes
// what an honest device would, slowly. Devs are the devices it claims.
type CPUBackend struct {
	Devs []pog.DeviceInfo
	// Limit bounds the bytes of one job (0: none).
	Limit int64

	mu   sync.Mutex
	fill map[int]cpuFill
}

type cpuFill struct {
	chunks, words int
	data          []uint64
}

// Devices returns Devs.
func (b *CPUBackend) Devices() ([]pog.DeviceInfo, error) { return b.Devs, nil }

// HostLimit is Limit.
func (b *CPUBackend) HostLimit() int64 { return b.Limit }

// Matmul computes A·B in float32, row by row.
func (b *CPUBackend) Matmul(ctx context.Context, dev, n int, seedA, seedB uint64, c []float32) error {
	bm := make([]float32, n*n)
	for k := range n {
		for j := range n {
			bm[k*n+j] = pog.Elem(seedB, uint32(k), uint32(j))
		}
	}
	a := make([]float32, n)
	for i := range n {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		for k := range n {
			a[k] = pog.Elem(seedA, uint32(i), uint32(k))
		}
		row := c[i*n : (i+1)*n]
		clear(row)
		for k, av := range a {
			for j, bv := range bm[k*n : (k+1)*n] {
				row[j] += av * bv
			}
		}
	}
	return nil
}

// Fill makes every word.
func (b *CPUBackend) Fill(ctx context.Context, dev, chunks, words, rounds int, seed uint64) error {
	data := make([]uint64, 0, chunks*words)
	for c := range chunks {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		data = append(data, pog.ChunkWords(seed, rounds, uint64(c), words, nil)...)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.fill == nil {
		b.fill = map[int]cpuFill{}
	}
	b.fill[dev] = cpuFill{chunks, words, data}
	return nil
}

// Pass digests every chunk.
func (b *CPUBackend) Pass(ctx context.Context, dev int, seed uint64, digests []uint64) error {
	b.mu.Lock()
	f, ok := b.fill[dev]
	b.mu.Unlock()
	if !ok || len(digests) != f.chunks {
		return fmt.Errorf("device %d: no fill of %d chunks", dev, len(digests))
	}
	for c := range f.chunks {
		digests[c] = pog.ChunkDigest(seed, uint64(c), f.data[c*f.words:(c+1)*f.words])
	}
	return nil
}

// Free forgets the fill.
func (b *CPUBackend) Free(dev int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.fill, dev)
}
