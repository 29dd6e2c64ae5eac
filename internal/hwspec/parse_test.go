package hwspec

import (
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseCPUInfo(t *testing.T) {
	tests := []struct {
		name             string
		in               string
		file             string
		phys, logical    int
		mhz              float64
		wantErrSubstring string
	}{
		// 2 sockets x 4 cores x 2 threads; core ids 0,1,8,9 repeat on both
		// sockets, so counting core ids alone would give 4.
		{name: "two sockets", file: "2socket/proc/cpuinfo", phys: 8, logical: 16, mhz: 1750.0855},
		{name: "vm without topology lines", file: "vm/proc/cpuinfo", phys: 4, logical: 4, mhz: 2399.998},
		{
			name:    "one socket with smt",
			in:      "processor : 0\nphysical id : 0\ncore id : 0\ncpu MHz : 2000\n\nprocessor : 1\nphysical id : 0\ncore id : 0\ncpu MHz : 3000\n",
			phys:    1,
			logical: 2,
			mhz:     2500,
		},
		{
			name:    "topology on some processors only falls back to logical",
			in:      "processor : 0\nphysical id : 0\ncore id : 0\n\nprocessor : 1\nphysical id : 0\n\nprocessor : 2\n",
			phys:    3,
			logical: 3,
		},
		{
			name:    "arm64 style without cpu MHz",
			in:      "processor\t: 0\nBogoMIPS\t: 50.00\nFeatures\t: fp asimd evtstrm\nCPU implementer\t: 0x41\n\nprocessor\t: 1\nBogoMIPS\t: 50.00\n\nSerial\t\t: 0000000000000000\n",
			phys:    2,
			logical: 2,
		},
		{
			name:    "lines without colon and header before processors ignored",
			in:      "core id : 7\ngarbage line\nprocessor : 0\n",
			phys:    1,
			logical: 1,
		},
		{name: "empty", in: "", wantErrSubstring: "no processor"},
		{name: "no processor lines", in: "vendor_id : GenuineIntel\ncpu MHz : 1000\n", wantErrSubstring: "no processor"},
		{name: "processor not a number", in: "processor : zero\n", wantErrSubstring: "processor"},
		{name: "bad cpu MHz", in: "processor : 0\ncpu MHz : fast\n", wantErrSubstring: "cpu MHz"},
		{name: "negative cpu MHz", in: "processor : 0\ncpu MHz : -1\n", wantErrSubstring: "cpu MHz"},
		{name: "NaN cpu MHz", in: "processor : 0\ncpu MHz : NaN\n", wantErrSubstring: "cpu MHz"},
		{name: "infinite cpu MHz", in: "processor : 0\ncpu MHz : 1e400\n", wantErrSubstring: "cpu MHz"},
		{name: "bad physical id", in: "processor : 0\nphysical id : x\n", wantErrSubstring: "physical id"},
		{name: "bad core id", in: "processor : 0\nphysical id : 0\ncore id : 1.5\n", wantErrSubstring: "core id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := []byte(tt.in)
			if tt.file != "" {
				in = readFixture(t, tt.file)
			}
			phys, logical, mhz, err := ParseCPUInfo(in)
			if tt.wantErrSubstring != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErrSubstring) {
					t.Fatalf("err = %v; want containing %q", err, tt.wantErrSubstring)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if phys != tt.phys || logical != tt.logical || math.Abs(mhz-tt.mhz) > 1e-6 {
				t.Errorf("got (%d, %d, %v); want (%d, %d, %v)", phys, logical, mhz, tt.phys, tt.logical, tt.mhz)
			}
		})
	}
}

func TestParseMeminfo(t *testing.T) {
	const k = 1024
	tests := []struct {
		name             string
		in               string
		file             string
		want             RAM
		wantErrSubstring string
	}{
		{
			name: "server",
			file: "2socket/proc/meminfo",
			want: RAM{
				Total: 527952324 * k, Available: 498843212 * k, Used: (527952324 - 498843212) * k, Free: 402311876 * k,
				SwapTotal: 8388604 * k, SwapUsed: (8388604 - 8126460) * k, SwapFree: 8126460 * k,
			},
		},
		{
			name: "vm",
			file: "vm/proc/meminfo",
			want: RAM{
				Total: 8131452 * k, Available: 5410276 * k, Used: (8131452 - 5410276) * k, Free: 312840 * k,
				SwapTotal: 2097148 * k, SwapUsed: (2097148 - 1572860) * k, SwapFree: 1572860 * k,
			},
		},
		{
			name: "kernel without MemAvailable",
			in:   "MemTotal: 1000 kB\nMemFree: 100 kB\nBuffers: 50 kB\nCached: 300 kB\nSwapCached: 999 kB\nSReclaimable: 20 kB\n",
			want: RAM{Total: 1000 * k, Available: 470 * k, Used: 530 * k, Free: 100 * k},
		},
		{
			name: "available above total is capped",
			in:   "MemTotal: 1000 kB\nMemFree: 2000 kB\nMemAvailable: 3000 kB\nSwapTotal: 10 kB\nSwapFree: 20 kB\n",
			want: RAM{Total: 1000 * k, Available: 1000 * k, Free: 1000 * k, SwapTotal: 10 * k, SwapFree: 10 * k},
		},
		{
			name: "lines without unit ignored unless needed",
			in:   "MemTotal: 4 kB\nMemFree: 1 kB\nMemAvailable: 2 kB\nHugePages_Total: 0\nnonsense\n",
			want: RAM{Total: 4 * k, Available: 2 * k, Used: 2 * k, Free: 1 * k},
		},
		{name: "empty", in: "", wantErrSubstring: "MemTotal missing"},
		{name: "no MemFree", in: "MemTotal: 1 kB\n", wantErrSubstring: "MemFree missing"},
		{name: "not a number", in: "MemTotal: lots kB\nMemFree: 1 kB\n", wantErrSubstring: "MemTotal"},
		{name: "negative", in: "MemTotal: -1 kB\nMemFree: 1 kB\n", wantErrSubstring: "MemTotal"},
		{name: "missing unit", in: "MemTotal: 1\nMemFree: 1 kB\n", wantErrSubstring: "kB"},
		{name: "other unit", in: "MemTotal: 1 MB\nMemFree: 1 kB\n", wantErrSubstring: "kB"},
		{name: "overflows bytes", in: "MemTotal: 9223372036854775807 kB\nMemFree: 1 kB\n", wantErrSubstring: "MemTotal"},
		{name: "repeated key", in: "MemTotal: 1 kB\nMemTotal: 2 kB\nMemFree: 1 kB\n", wantErrSubstring: "repeated"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := []byte(tt.in)
			if tt.file != "" {
				in = readFixture(t, tt.file)
			}
			got, err := ParseMeminfo(in)
			if tt.wantErrSubstring != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErrSubstring) {
					t.Fatalf("err = %v; want containing %q", err, tt.wantErrSubstring)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("got  %+v;\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestParseNvidiaSMI(t *testing.T) {
	a100 := GPUDetail{Name: "NVIDIA A100-SXM4-80GB", Capacity: 81920, GraphicsMHz: 1410, MemoryMHz: 1593}
	tests := []struct {
		name             string
		in               string
		file             string
		want             []GPUDetail
		wantErrSubstring string
	}{
		{name: "empty output", file: "nvidia-smi/empty.txt", want: nil},
		{name: "no devices", file: "nvidia-smi/no-devices.txt", want: nil},
		{name: "one H100", file: "nvidia-smi/h100.csv", want: []GPUDetail{{Name: "NVIDIA H100 80GB HBM3", Capacity: 81559, GraphicsMHz: 1980, MemoryMHz: 2619}}},
		{name: "eight A100", file: "nvidia-smi/a100x8.csv", want: []GPUDetail{a100, a100, a100, a100, a100, a100, a100, a100}},
		{
			name: "unsupported clocks are zero",
			in:   "GRID A100D-40C, 40960, [N/A], [Not Supported]\n",
			want: []GPUDetail{{Name: "GRID A100D-40C", Capacity: 40960}},
		},
		{
			name: "name with comma, CRLF and blank lines",
			in:   "\r\nNVIDIA RTX A6000, Rev. 2, 49140, 2100, 8001\r\n\r\n",
			want: []GPUDetail{{Name: "NVIDIA RTX A6000, Rev. 2", Capacity: 49140, GraphicsMHz: 2100, MemoryMHz: 8001}},
		},
		{name: "driver failure text", file: "nvidia-smi/failed.txt", wantErrSubstring: "want 4 fields"},
		{name: "too few fields", in: "NVIDIA H100, 81559, 1980\n", wantErrSubstring: "want 4 fields"},
		{name: "empty name", in: " , 81559, 1980, 2619\n", wantErrSubstring: "empty name"},
		{name: "units left in", in: "NVIDIA H100, 81559 MiB, 1980 MHz, 2619 MHz\n", wantErrSubstring: "memory.total"},
		{name: "negative memory", in: "NVIDIA H100, -1, 1980, 2619\n", wantErrSubstring: "memory.total"},
		{name: "bad graphics clock", in: "NVIDIA H100, 1, x, 2619\n", wantErrSubstring: "clocks.max.graphics"},
		{name: "bad memory clock", in: "NVIDIA H100, 1, 1, 1.5\n", wantErrSubstring: "clocks.max.memory"},
		{name: "header line", in: "name, memory.total [MiB], clocks.max.graphics [MHz], clocks.max.memory [MHz]\n", wantErrSubstring: "memory.total"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := []byte(tt.in)
			if tt.file != "" {
				in = readFixture(t, tt.file)
			}
			got, err := ParseNvidiaSMI(in)
			if tt.wantErrSubstring != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErrSubstring) {
					t.Fatalf("err = %v; want containing %q", err, tt.wantErrSubstring)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v; want %+v", got, tt.want)
			}
		})
	}
}

func TestCapBuffer(t *testing.T) {
	c := &capBuffer{max: 5}
	for _, s := range []string{"abc", "defg", "h"} {
		if n, err := c.Write([]byte(s)); n != len(s) || err != nil {
			t.Fatalf("Write(%q) = %d, %v", s, n, err)
		}
	}
	if got := string(c.Bytes()); got != "abcde" || !c.truncated {
		t.Errorf("got %q, truncated %v; want \"abcde\", true", got, c.truncated)
	}
}

func FuzzParseCPUInfo(f *testing.F) {
	f.Add(readFixture(f, "2socket/proc/cpuinfo"))
	f.Add(readFixture(f, "vm/proc/cpuinfo"))
	f.Add([]byte("processor : 0\nphysical id : 0\ncore id : 0\ncpu MHz : 1\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		phys, logical, mhz, err := ParseCPUInfo(b)
		if err != nil {
			return
		}
		if logical < 1 || phys < 1 || phys > logical {
			t.Errorf("physical %d, logical %d", phys, logical)
		}
		if mhz < 0 || math.IsNaN(mhz) || math.IsInf(mhz, 0) {
			t.Errorf("mhz %v", mhz)
		}
	})
}

func FuzzParseMeminfo(f *testing.F) {
	f.Add(readFixture(f, "2socket/proc/meminfo"))
	f.Add(readFixture(f, "vm/proc/meminfo"))
	f.Add([]byte("MemTotal: 1000 kB\nMemFree: 100 kB\nBuffers: 50 kB\nCached: 300 kB\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := ParseMeminfo(b)
		if err != nil {
			return
		}
		if r.Total < 0 || r.Available < 0 || r.Available > r.Total || r.Used != r.Total-r.Available ||
			r.Free < 0 || r.Free > r.Total || r.SwapFree < 0 || r.SwapFree > r.SwapTotal || r.SwapUsed != r.SwapTotal-r.SwapFree {
			t.Errorf("inconsistent %+v", r)
		}
	})
}

func FuzzParseNvidiaSMI(f *testing.F) {
	for _, name := range []string{"empty.txt", "no-devices.txt", "h100.csv", "a100x8.csv", "failed.txt"} {
		f.Add(readFixture(f, "nvidia-smi/"+name))
	}
	f.Add([]byte("GRID A100D-40C, 40960, [N/A], [Not Supported]\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		gpus, err := ParseNvidiaSMI(b)
		if err != nil {
			return
		}
		for _, g := range gpus {
			if g.Name == "" || g.Name != strings.TrimSpace(g.Name) || g.Capacity < 0 || g.GraphicsMHz < 0 || g.MemoryMHz < 0 {
				t.Errorf("bad gpu %+v", g)
			}
		}
		s := gpuSection(gpus)
		if s.Count != int64(len(gpus)) || s.Capacity < 0 {
			t.Errorf("bad section %+v", s)
		}
	})
}
