package hwspec

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"time"
)

// probeDisk measures sequential throughput of dir's filesystem with a
// temporary file of n bytes, removed afterwards: write = writing n bytes of
// incompressible data plus fsync; read = reading them back after asking the
// kernel to drop the file from the page cache (posix_fadvise DONTNEED; on
// filesystems that ignore it, such as tmpfs, read measures memory).
func probeDisk(ctx context.Context, dir string, n int) (read, write float64, err error) {
	const chunk = 1 << 20
	if n <= 0 {
		return 0, 0, fmt.Errorf("probe size %d", n)
	}
	f, err := os.CreateTemp(dir, ".sn27-hwspec-probe-*")
	if err != nil {
		return 0, 0, fmt.Errorf("create probe file: %w", err)
	}
	defer os.Remove(f.Name())
	defer f.Close()

	buf := make([]byte, min(chunk, n))
	rng := rand.NewChaCha8([32]byte{'s', 'n', '2', '7'})
	_, _ = rng.Read(buf) // ChaCha8.Read never fails

	t0 := time.Now()
	for done := 0; done < n; {
		if err := ctx.Err(); err != nil {
			return 0, 0, err
		}
		m, err := f.Write(buf[:min(len(buf), n-done)])
		if err != nil {
			return 0, 0, fmt.Errorf("write probe file: %w", err)
		}
		done += m
	}
	if err := f.Sync(); err != nil {
		return 0, 0, fmt.Errorf("sync probe file: %w", err)
	}
	wd := time.Since(t0)

	dropCache(f)
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return 0, 0, fmt.Errorf("seek probe file: %w", err)
	}
	t0 = time.Now()
	got := 0
	for {
		if err := ctx.Err(); err != nil {
			return 0, 0, err
		}
		m, err := f.Read(buf)
		got += m
		if err == io.EOF {
			break
		}
		if err != nil {
			return 0, 0, fmt.Errorf("read probe file: %w", err)
		}
	}
	rd := time.Since(t0)
	if got != n {
		return 0, 0, fmt.Errorf("read probe file: got %d bytes, want %d", got, n)
	}
	return mib(n, rd), mib(n, wd), nil
}
