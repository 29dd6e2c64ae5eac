package renter

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// ParseSize parses a size such as "512MB", "1GB", "1.5GiB", "10G" or
// "1048576" (bytes). Units are binary: KB = KiB = K = 1024 bytes, and so on
// up to TB, as SN27's renter multiplies by 1024.
func ParseSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	i := strings.IndexFunc(t, func(r rune) bool { return (r < '0' || r > '9') && r != '.' })
	num, unit := t, ""
	if i >= 0 {
		num, unit = strings.TrimSpace(t[:i]), strings.ToUpper(strings.TrimSpace(t[i:]))
	}
	shift := map[string]uint{"": 0, "B": 0, "K": 10, "KB": 10, "KIB": 10, "M": 20, "MB": 20, "MIB": 20,
		"G": 30, "GB": 30, "GIB": 30, "T": 40, "TB": 40, "TIB": 40}
	sh, ok := shift[unit]
	if !ok || num == "" {
		return 0, fmt.Errorf("size %q: want a number with an optional unit B, KB, MB, GB or TB", s)
	}
	v, err := strconv.ParseFloat(num, 64)
	if err != nil || v < 0 || math.IsInf(v, 0) {
		return 0, fmt.Errorf("size %q: bad number", s)
	}
	b := v * float64(int64(1)<<sh)
	if b >= math.MaxInt64 {
		return 0, fmt.Errorf("size %q: too large", s)
	}
	if unit == "" || unit == "B" {
		if b != math.Trunc(b) {
			return 0, fmt.Errorf("size %q: fractional bytes", s)
		}
	}
	return int64(b), nil
}
