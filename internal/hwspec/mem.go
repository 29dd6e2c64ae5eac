package hwspec

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// ParseMeminfo parses /proc/meminfo into the ram section (speeds left 0).
// MemTotal and MemFree are required. available is MemAvailable, or on
// kernels without it (< 3.14) MemFree+Buffers+Cached+SReclaimable capped at
// MemTotal; used is total-available (what free(1) prints since procps-ng
// 4.0.1). Swap lines are optional (0 when absent).
func ParseMeminfo(b []byte) (RAM, error) {
	want := map[string]bool{
		"MemTotal": true, "MemFree": true, "MemAvailable": true, "Buffers": true,
		"Cached": true, "SReclaimable": true, "SwapTotal": true, "SwapFree": true,
	}
	vals := make(map[string]int64, len(want))
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 0, 4<<10), 1<<20)
	lineNo := 0
	for sc.Scan() {
		lineNo++
		key, rest, ok := strings.Cut(sc.Text(), ":")
		if !ok || !want[key] {
			continue
		}
		if _, dup := vals[key]; dup {
			return RAM{}, fmt.Errorf("line %d: %s repeated", lineNo, key)
		}
		f := strings.Fields(rest)
		if len(f) != 2 || f[1] != "kB" {
			return RAM{}, fmt.Errorf("line %d: %s: want \"<n> kB\", got %q", lineNo, key, strings.TrimSpace(rest))
		}
		kb, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil || kb < 0 || kb > math.MaxInt64/1024 {
			return RAM{}, fmt.Errorf("line %d: %s %q: not a size in kB", lineNo, key, f[0])
		}
		vals[key] = kb * 1024
	}
	if err := sc.Err(); err != nil {
		return RAM{}, err
	}
	for _, k := range []string{"MemTotal", "MemFree"} {
		if _, ok := vals[k]; !ok {
			return RAM{}, fmt.Errorf("%s missing", k)
		}
	}
	ram := RAM{
		Total:     vals["MemTotal"],
		Free:      min(vals["MemFree"], vals["MemTotal"]),
		SwapTotal: vals["SwapTotal"],
		SwapFree:  min(vals["SwapFree"], vals["SwapTotal"]),
	}
	if avail, ok := vals["MemAvailable"]; ok {
		ram.Available = avail
	} else {
		ram.Available = satAdd(ram.Free, vals["Buffers"], vals["Cached"], vals["SReclaimable"])
	}
	ram.Available = min(ram.Available, ram.Total)
	ram.Used = ram.Total - ram.Available
	ram.SwapUsed = ram.SwapTotal - ram.SwapFree
	return ram, nil
}

// satAdd adds non-negative values, saturating at MaxInt64.
func satAdd(vs ...int64) int64 {
	var s int64
	for _, v := range vs {
		if s > math.MaxInt64-v {
			return math.MaxInt64
		}
		s += v
	}
	return s
}

// mib converts n bytes moved in d to MB/s with 1 MB = 2^20 bytes, as the
// reference does (size_mb = 100 for 100*1024*1024 bytes).
func mib(n int, d time.Duration) float64 {
	if d <= 0 {
		d = time.Nanosecond
	}
	return float64(n) / (1 << 20) / d.Seconds()
}

// probeRAM measures memory bandwidth on two pre-faulted n-byte buffers, best
// of three: write = clearing a buffer, read = copying one buffer into the
// other (n bytes read and n written; reported as n bytes read).
func probeRAM(ctx context.Context, n int) (read, write float64, err error) {
	if n <= 0 {
		return 0, 0, fmt.Errorf("probe size %d", n)
	}
	src, dst := make([]byte, n), make([]byte, n)
	// Touch every page and give src a non-zero pattern.
	src[0] = 0x5a
	for k := 1; k < n; k *= 2 {
		copy(src[k:], src[:k])
	}
	copy(dst, src)
	var bestR, bestW time.Duration
	for range 3 {
		if err := ctx.Err(); err != nil {
			return 0, 0, err
		}
		t0 := time.Now()
		clear(dst)
		w := time.Since(t0)
		t0 = time.Now()
		copy(dst, src)
		r := time.Since(t0)
		if bestW == 0 || w < bestW {
			bestW = w
		}
		if bestR == 0 || r < bestR {
			bestR = r
		}
	}
	return mib(n, bestR), mib(n, bestW), nil
}
