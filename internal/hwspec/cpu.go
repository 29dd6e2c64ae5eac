package hwspec

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// ErrNoProcessors is returned by ParseCPUInfo for input without any
// "processor" entry.
var ErrNoProcessors = errors.New("no processor entries")

// ParseCPUInfo parses /proc/cpuinfo. logical is the number of "processor"
// entries. physicalCores is the number of distinct (physical id, core id)
// pairs, or logical when any entry lacks those lines (many VMs, containers
// and arm64 kernels). mhz is the mean of the "cpu MHz" lines, 0 without any.
func ParseCPUInfo(b []byte) (physicalCores, logical int, mhz float64, err error) {
	type core struct{ pkg, id int64 }
	var (
		cur              = -1 // index of the current processor
		hasPkg, hasCore  []bool
		pkgs, cores      []int64
		mhzSum           float64
		mhzN             int
		sc               = bufio.NewScanner(bytes.NewReader(b))
		lineNo           int
		topologyComplete = true
	)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		lineNo++
		key, val, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		key, val = strings.TrimSpace(key), strings.TrimSpace(val)
		switch key {
		case "processor":
			if _, err := strconv.ParseUint(val, 10, 32); err != nil {
				return 0, 0, 0, fmt.Errorf("line %d: processor %q: not a number", lineNo, val)
			}
			cur++
			hasPkg, hasCore = append(hasPkg, false), append(hasCore, false)
			pkgs, cores = append(pkgs, 0), append(cores, 0)
		case "physical id", "core id":
			if cur < 0 {
				continue // before any processor entry: not per-CPU
			}
			n, err := strconv.ParseInt(val, 10, 64)
			if err != nil {
				return 0, 0, 0, fmt.Errorf("line %d: %s %q: not a number", lineNo, key, val)
			}
			if key == "physical id" {
				pkgs[cur], hasPkg[cur] = n, true
			} else {
				cores[cur], hasCore[cur] = n, true
			}
		case "cpu MHz":
			f, err := strconv.ParseFloat(val, 64)
			if err != nil || f < 0 || math.IsInf(f, 0) || math.IsNaN(f) {
				return 0, 0, 0, fmt.Errorf("line %d: cpu MHz %q: not a frequency", lineNo, val)
			}
			mhzSum += f
			mhzN++
		}
	}
	if err := sc.Err(); err != nil {
		return 0, 0, 0, err
	}
	logical = cur + 1
	if logical == 0 {
		return 0, 0, 0, ErrNoProcessors
	}
	for i := range logical {
		if !hasPkg[i] || !hasCore[i] {
			topologyComplete = false
			break
		}
	}
	physicalCores = logical
	if topologyComplete {
		seen := make(map[core]struct{}, logical)
		for i := range logical {
			seen[core{pkgs[i], cores[i]}] = struct{}{}
		}
		physicalCores = len(seen)
	}
	if mhzN > 0 {
		mhz = mhzSum / float64(mhzN)
		if math.IsInf(mhz, 0) {
			return 0, 0, 0, fmt.Errorf("cpu MHz: sum overflows")
		}
	}
	return physicalCores, logical, mhz, nil
}
