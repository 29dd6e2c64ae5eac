package hwspec

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite golden files")

// fakeSMI writes a shell script standing in for nvidia-smi: it records its
// arguments and invocations in dir, prints the fixture and exits with code.
// body, when set, replaces the fixture printing.
func fakeSMI(t *testing.T, fixture string, code int, body string) (path, dir string) {
	t.Helper()
	dir = t.TempDir()
	if body == "" && fixture != "" {
		abs, err := filepath.Abs(filepath.Join("testdata", "nvidia-smi", fixture))
		if err != nil {
			t.Fatal(err)
		}
		body = fmt.Sprintf("cat '%s'", abs)
	}
	script := fmt.Sprintf("#!/bin/sh\nprintf '%%s\\n' \"$*\" > '%[1]s/args'\necho x >> '%[1]s/calls'\n%[2]s\nexit %[3]d\n", dir, body, code)
	path = filepath.Join(dir, "nvidia-smi")
	if err := os.WriteFile(path, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return path, dir
}

func calls(t *testing.T, dir string) int {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "calls"))
	if errors.Is(err, os.ErrNotExist) {
		return 0
	}
	if err != nil {
		t.Fatal(err)
	}
	return bytes.Count(b, []byte("\n"))
}

type fakeDocker struct{ err error }

func (d fakeDocker) Ping(ctx context.Context) error { return d.err }

// stubs replaces the non-deterministic parts (statfs and speed probes) and
// counts probe runs.
type stubs struct{ probes atomic.Int32 }

func (s *stubs) install(r *Reader) {
	r.statfs = func(string) (Disk, error) {
		return Disk{Total: 3_840_000_000_000, Free: 3_500_000_000_000, Used: 340_000_000_000}, nil
	}
	r.probeRAM = func(context.Context, int) (float64, float64, error) {
		s.probes.Add(1)
		return 9876.5, 5432.25, nil
	}
	r.probeDisk = func(context.Context, string, int) (float64, float64, error) {
		return 2048.5, 1024.25, nil
	}
}

func fixtureReader(t *testing.T, machine, smi string, docker DockerChecker) (*Reader, *stubs) {
	t.Helper()
	cfg := DefaultConfig()
	cfg.ProcRoot = filepath.Join("testdata", machine, "proc")
	cfg.SysRoot = filepath.Join("testdata", machine, "sys")
	cfg.DiskPath = t.TempDir()
	cfg.NvidiaSMI = smi
	cfg.Timeout = 5 * time.Second
	r := New(cfg, docker)
	s := &stubs{}
	s.install(r)
	return r, s
}

func TestReadGPU(t *testing.T) {
	h100 := []GPUDetail{{Name: "NVIDIA H100 80GB HBM3", Capacity: 81559, GraphicsMHz: 1980, MemoryMHz: 2619}}
	tests := []struct {
		name    string
		fixture string
		code    int
		body    string
		smi     string // overrides the fake script
		timeout time.Duration
		want    GPU
	}{
		{name: "empty output", fixture: "empty.txt"},
		{name: "no devices exit 6", fixture: "no-devices.txt", code: 6},
		{name: "one H100", fixture: "h100.csv", want: GPU{Count: 1, Capacity: 81559, Details: h100, GraphicsSpeed: 1980, MemorySpeed: 2619}},
		{name: "eight A100", fixture: "a100x8.csv", want: GPU{Count: 8, Capacity: 8 * 81920, GraphicsSpeed: 1410, MemorySpeed: 1593}},
		{name: "driver failure exit 9", fixture: "failed.txt", code: 9},
		{name: "garbage exit 0", body: "echo 'not csv'"},
		{name: "killed by timeout", body: "exec sleep 30", timeout: 300 * time.Millisecond},
		{name: "runaway output", body: "yes 'NVIDIA H100 80GB HBM3, 81559, 1980, 2619' | head -c 1000000"},
		{name: "disabled", smi: "-"},
		{name: "not installed", smi: "/nonexistent/nvidia-smi"},
		{name: "not in PATH", smi: "nvidia-smi-not-installed-here"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			smi, dir := fakeSMI(t, tt.fixture, tt.code, tt.body)
			switch tt.smi {
			case "":
			case "-":
				smi = ""
			default:
				smi = tt.smi
			}
			r, _ := fixtureReader(t, "2socket", smi, nil)
			if tt.timeout > 0 {
				r.cfg.Timeout = tt.timeout
			}
			start := time.Now()
			rep, err := r.Read(context.Background())
			if err != nil {
				t.Fatalf("Read: %v", err)
			}
			if el := time.Since(start); el > 3*time.Second {
				t.Errorf("Read took %v", el)
			}
			got := rep.GPU
			if tt.want.Count == 8 {
				if len(got.Details) != 8 || got.Details[7].Name != "NVIDIA A100-SXM4-80GB" || got.Details[7].Capacity != 81920 {
					t.Errorf("details = %+v", got.Details)
				}
				got.Details = nil
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("gpu = %+v; want %+v", got, tt.want)
			}
			if tt.smi == "" {
				b, err := os.ReadFile(filepath.Join(dir, "args"))
				if err != nil {
					t.Fatal(err)
				}
				if got, want := strings.TrimSpace(string(b)), strings.Join(nvidiaSMIArgs, " "); got != want {
					t.Errorf("nvidia-smi args %q; want %q", got, want)
				}
			}
		})
	}
}

// TestReadGolden pins the JSON a miner sends for a fixture machine: two
// sockets (8 cores), 8 A100s, Docker answering.
func TestReadGolden(t *testing.T) {
	smi, _ := fakeSMI(t, "a100x8.csv", 0, "")
	r, _ := fixtureReader(t, "2socket", smi, fakeDocker{})
	rep, err := r.Read(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	got, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	golden := filepath.Join("testdata", "2socket-a100x8.golden.json")
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("report JSON differs from %s (run with -update to accept):\n%s", golden, got)
	}

	// The keys are SN27's, at every level.
	var top map[string]json.RawMessage
	if err := json.Unmarshal(got, &top); err != nil {
		t.Fatal(err)
	}
	wantKeys := map[string]string{
		"cpu":        "count frequency",
		"gpu":        "capacity count details graphics_speed memory_speed",
		"hard_disk":  "free read_speed total used write_speed",
		"ram":        "available free read_speed swap_free swap_total swap_used total used write_speed",
		"has_docker": "",
	}
	if got, want := strings.Join(slices.Sorted(maps.Keys(top)), " "), strings.Join(slices.Sorted(maps.Keys(wantKeys)), " "); got != want {
		t.Errorf("top-level keys %q; want %q", got, want)
	}
	for sec, keys := range wantKeys {
		if keys == "" {
			continue
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal(top[sec], &m); err != nil {
			t.Fatal(err)
		}
		if got := strings.Join(slices.Sorted(maps.Keys(m)), " "); got != keys {
			t.Errorf("%s keys %q; want %q", sec, got, keys)
		}
	}
	var gpu struct{ Details []map[string]json.RawMessage }
	if err := json.Unmarshal(top["gpu"], &gpu); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(slices.Sorted(maps.Keys(gpu.Details[0])), " "); got != "capacity name" {
		t.Errorf("gpu.details keys %q; want \"capacity name\"", got)
	}
}

func TestReadVM(t *testing.T) {
	tests := []struct {
		name       string
		docker     DockerChecker
		wantDocker bool
	}{
		{name: "no docker checker", docker: nil},
		{name: "docker down", docker: fakeDocker{err: errors.New("connection refused")}},
		{name: "docker up", docker: fakeDocker{}, wantDocker: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, _ := fixtureReader(t, "vm", "", tt.docker)
			rep, err := r.Read(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			// No cpufreq in the VM: frequency is the cpuinfo mean.
			if rep.CPU != (CPU{Count: 4, Frequency: 2399.998}) {
				t.Errorf("cpu = %+v", rep.CPU)
			}
			if rep.RAM.Available != 5410276*1024 || rep.RAM.ReadSpeed != 9876.5 || rep.HardDisk.WriteSpeed != 1024.25 {
				t.Errorf("ram %+v disk %+v", rep.RAM, rep.HardDisk)
			}
			if rep.HasDocker != tt.wantDocker {
				t.Errorf("has_docker = %v; want %v", rep.HasDocker, tt.wantDocker)
			}
			if rep.GPU.Count != 0 || len(rep.GPU.Details) != 0 {
				t.Errorf("gpu = %+v", rep.GPU)
			}
		})
	}
}

func TestReadErrors(t *testing.T) {
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name             string
		mod              func(r *Reader)
		ctx              context.Context
		wantErrSubstring string
	}{
		{name: "no cpuinfo", mod: func(r *Reader) { r.cfg.ProcRoot = t.TempDir() }, wantErrSubstring: "read cpuinfo"},
		{name: "bad cpuinfo", mod: func(r *Reader) { r.cfg.ProcRoot = filepath.Join("testdata", "nvidia-smi") }, wantErrSubstring: "cpuinfo"},
		{
			name: "no meminfo",
			mod: func(r *Reader) {
				dir := t.TempDir()
				if err := os.WriteFile(filepath.Join(dir, "cpuinfo"), []byte("processor : 0\n"), 0o644); err != nil {
					t.Fatal(err)
				}
				r.cfg.ProcRoot = dir
			},
			wantErrSubstring: "read meminfo",
		},
		{
			name:             "statfs fails",
			mod:              func(r *Reader) { r.statfs = statfs; r.cfg.DiskPath = "/nonexistent/disk" },
			wantErrSubstring: "statfs /nonexistent/disk",
		},
		{name: "cancelled", ctx: cancelled, wantErrSubstring: context.Canceled.Error()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, _ := fixtureReader(t, "2socket", "", nil)
			if tt.mod != nil {
				tt.mod(r)
			}
			ctx := tt.ctx
			if ctx == nil {
				ctx = context.Background()
			}
			_, err := r.Read(ctx)
			if err == nil || !strings.Contains(err.Error(), tt.wantErrSubstring) {
				t.Fatalf("err = %v; want containing %q", err, tt.wantErrSubstring)
			}
		})
	}
}

// TestReadCancelledDuringGPUQuery: a caller giving up is an error, and the
// empty result is not cached.
func TestReadCancelledDuringGPUQuery(t *testing.T) {
	smi, dir := fakeSMI(t, "", 0, "exec sleep 30")
	r, _ := fixtureReader(t, "2socket", smi, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if _, err := r.Read(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v; want deadline exceeded", err)
	}
	if !r.gpu.expires.IsZero() {
		t.Errorf("gpu result cached after cancellation")
	}
	if n := calls(t, dir); n != 1 {
		t.Errorf("nvidia-smi ran %d times; want 1", n)
	}
}

func TestReadCache(t *testing.T) {
	type step struct {
		advance              time.Duration
		wantCalls, wantProbe int
	}
	tests := []struct {
		name     string
		fixture  string
		code     int
		cacheFor time.Duration
		steps    []step
	}{
		{
			name: "healthy gpus cached for CacheFor", fixture: "h100.csv", cacheFor: 10 * time.Minute,
			steps: []step{{0, 1, 1}, {time.Minute, 1, 1}, {9*time.Minute - 1, 1, 1}, {1, 2, 2}},
		},
		{
			name: "failing nvidia-smi retried after a minute", fixture: "failed.txt", code: 9, cacheFor: 10 * time.Minute,
			steps: []step{{0, 1, 1}, {30 * time.Second, 1, 1}, {30 * time.Second, 2, 1}, {9 * time.Minute, 3, 2}},
		},
		{
			name: "negative CacheFor disables the cache", fixture: "h100.csv", cacheFor: -1,
			steps: []step{{0, 1, 1}, {0, 2, 2}, {0, 3, 3}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			smi, dir := fakeSMI(t, tt.fixture, tt.code, "")
			r, s := fixtureReader(t, "2socket", smi, nil)
			r.cfg.CacheFor = tt.cacheFor
			now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
			r.now = func() time.Time { return now }
			for i, st := range tt.steps {
				now = now.Add(st.advance)
				if _, err := r.Read(context.Background()); err != nil {
					t.Fatal(err)
				}
				if c, p := calls(t, dir), int(s.probes.Load()); c != st.wantCalls || p != st.wantProbe {
					t.Errorf("step %d: nvidia-smi calls %d, probes %d; want %d, %d", i, c, p, st.wantCalls, st.wantProbe)
				}
			}
		})
	}
}

func TestReadConcurrent(t *testing.T) {
	smi, dir := fakeSMI(t, "a100x8.csv", 0, "")
	r, _ := fixtureReader(t, "2socket", smi, nil)
	var wg sync.WaitGroup
	reps := make([]Report, 8)
	for i := range reps {
		wg.Go(func() {
			rep, err := r.Read(context.Background())
			if err != nil {
				t.Error(err)
			}
			reps[i] = rep
		})
	}
	wg.Wait()
	if n := calls(t, dir); n != 1 {
		t.Errorf("nvidia-smi ran %d times; want 1", n)
	}
	reps[0].GPU.Details[0].Name = "changed"
	if reps[1].GPU.Details[0].Name != "NVIDIA A100-SXM4-80GB" {
		t.Errorf("reports share GPU details")
	}
}

func TestGPUJSONEmpty(t *testing.T) {
	b, err := json.Marshal(Report{})
	if err != nil {
		t.Fatal(err)
	}
	const want = `{"cpu":{"count":0,"frequency":0},"gpu":{"count":0,"capacity":0,"details":[],"graphics_speed":0,"memory_speed":0},` +
		`"hard_disk":{"total":0,"free":0,"used":0,"read_speed":0,"write_speed":0},` +
		`"ram":{"total":0,"available":0,"used":0,"free":0,"swap_total":0,"swap_used":0,"swap_free":0,"read_speed":0,"write_speed":0},"has_docker":false}`
	if string(b) != want {
		t.Errorf("got  %s\nwant %s", b, want)
	}
}

func TestProbeDisk(t *testing.T) {
	dir := t.TempDir()
	read, write, err := probeDisk(context.Background(), dir, 3<<20+123)
	if err != nil {
		t.Fatal(err)
	}
	if read <= 0 || write <= 0 {
		t.Errorf("read %v, write %v MB/s", read, write)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Errorf("probe left %d files behind", len(ents))
	}
	if _, _, err := probeDisk(context.Background(), filepath.Join(dir, "missing"), 1<<20); err == nil {
		t.Errorf("probe in a missing directory: no error")
	}
}

func TestProbeRAM(t *testing.T) {
	read, write, err := probeRAM(context.Background(), 4<<20)
	if err != nil {
		t.Fatal(err)
	}
	if read <= 0 || write <= 0 {
		t.Errorf("read %v, write %v MB/s", read, write)
	}
}

// TestReadHost sanity-checks a report of the machine running the tests.
func TestReadHost(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc")
	}
	cfg := DefaultConfig()
	cfg.DiskPath = t.TempDir()
	r := New(cfg, nil)
	r.ramProbeBytes, r.diskProbeBytes = 8<<20, 4<<20
	rep, err := r.Read(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("host: cpu %+v, ram total %d, disk total %d, gpus %d, ram %.0f/%.0f MB/s, disk %.0f/%.0f MB/s",
		rep.CPU, rep.RAM.Total, rep.HardDisk.Total, rep.GPU.Count,
		rep.RAM.ReadSpeed, rep.RAM.WriteSpeed, rep.HardDisk.ReadSpeed, rep.HardDisk.WriteSpeed)
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		t.Fatal(err)
	}
	_, logical, _, err := ParseCPUInfo(b)
	if err != nil {
		t.Fatal(err)
	}
	if rep.CPU.Count < 1 || rep.CPU.Count > int64(logical) || logical < runtime.NumCPU() {
		t.Errorf("physical %d, logical %d, NumCPU %d", rep.CPU.Count, logical, runtime.NumCPU())
	}
	if rep.RAM.Total <= 0 || rep.RAM.Available > rep.RAM.Total || rep.RAM.Used != rep.RAM.Total-rep.RAM.Available {
		t.Errorf("ram %+v", rep.RAM)
	}
	if rep.HardDisk.Total <= 0 || rep.HardDisk.Free > rep.HardDisk.Total || rep.HardDisk.Used > rep.HardDisk.Total {
		t.Errorf("disk %+v", rep.HardDisk)
	}
	if rep.RAM.ReadSpeed <= 0 || rep.RAM.WriteSpeed <= 0 || rep.HardDisk.ReadSpeed <= 0 || rep.HardDisk.WriteSpeed <= 0 {
		t.Errorf("speeds ram %v/%v disk %v/%v", rep.RAM.ReadSpeed, rep.RAM.WriteSpeed, rep.HardDisk.ReadSpeed, rep.HardDisk.WriteSpeed)
	}
	if rep.GPU.Count != int64(len(rep.GPU.Details)) {
		t.Errorf("gpu %+v", rep.GPU)
	}
	if ents, _ := os.ReadDir(cfg.DiskPath); len(ents) != 0 {
		t.Errorf("disk probe left %d files behind", len(ents))
	}
}
