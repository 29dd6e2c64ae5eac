package hwspec

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Config says where hardware is read from. The zero value of every field
// except NvidiaSMI means its default; NvidiaSMI "" disables GPUs.
type Config struct {
	ProcRoot string // procfs mount (like node_exporter's --path.procfs), default "/proc"
	SysRoot  string // sysfs mount (like --path.sysfs), default "/sys"
	DiskPath string // statfs target and speed-probe directory, default "/"
	// NvidiaSMI is the nvidia-smi program (a name looked up in PATH, or a
	// path). "" disables GPUs: the report's gpu section is empty.
	NvidiaSMI string
	Timeout   time.Duration // per external command and Docker ping, default 10s
	CacheFor  time.Duration // how long the GPU query and speed probes are reused, default 10m; < 0 disables the cache

	// Logger receives partial failures (nvidia-smi failing, a speed probe
	// failing); nil discards. Not part of a config file.
	Logger *slog.Logger
}

// DefaultConfig returns the defaults for a miner reading its own machine.
func DefaultConfig() Config {
	return Config{
		ProcRoot:  "/proc",
		SysRoot:   "/sys",
		DiskPath:  "/",
		NvidiaSMI: "nvidia-smi",
		Timeout:   10 * time.Second,
		CacheFor:  10 * time.Minute,
	}
}

// Report is the specs JSON a miner sends and a validator stores per hotkey.
// Keys are SN27's (neurons/Validator/script.py get_perf_info).
type Report struct {
	CPU       CPU  `json:"cpu"`
	GPU       GPU  `json:"gpu"`
	HardDisk  Disk `json:"hard_disk"`
	RAM       RAM  `json:"ram"`
	HasDocker bool `json:"has_docker"`
}

// CPU is the report's cpu section.
type CPU struct {
	Count     int64   `json:"count"`     // physical cores
	Frequency float64 `json:"frequency"` // MHz
}

// GPU is the report's gpu section. With no GPUs it is
// {"count":0,"capacity":0,"details":[],...}.
type GPU struct {
	Count         int64       `json:"count"`
	Capacity      int64       `json:"capacity"` // sum of details[].capacity, MiB
	Details       []GPUDetail `json:"details"`
	GraphicsSpeed int64       `json:"graphics_speed"` // MHz, max graphics clock of the first GPU
	MemorySpeed   int64       `json:"memory_speed"`   // MHz, max memory clock of the first GPU
}

// MarshalJSON writes a nil Details as [] (the reference always sends a list).
func (g GPU) MarshalJSON() ([]byte, error) {
	type plain GPU
	if g.Details == nil {
		g.Details = []GPUDetail{}
	}
	return json.Marshal(plain(g))
}

// GPUDetail is one GPU. Only name and capacity are on the wire; the clocks
// feed GPU.GraphicsSpeed and GPU.MemorySpeed.
type GPUDetail struct {
	Name        string `json:"name"`
	Capacity    int64  `json:"capacity"` // MiB
	GraphicsMHz int64  `json:"-"`        // clocks.max.graphics
	MemoryMHz   int64  `json:"-"`        // clocks.max.memory
}

// Disk is the report's hard_disk section, for Config.DiskPath.
type Disk struct {
	Total      int64   `json:"total"`       // bytes, f_blocks*f_frsize
	Free       int64   `json:"free"`        // bytes available to unprivileged users, f_bavail*f_frsize
	Used       int64   `json:"used"`        // bytes, (f_blocks-f_bfree)*f_frsize
	ReadSpeed  float64 `json:"read_speed"`  // MB/s (2^20 bytes)
	WriteSpeed float64 `json:"write_speed"` // MB/s (2^20 bytes)
}

// RAM is the report's ram section, from /proc/meminfo.
type RAM struct {
	Total      int64   `json:"total"`     // bytes, MemTotal
	Available  int64   `json:"available"` // bytes, MemAvailable
	Used       int64   `json:"used"`      // bytes, total - available
	Free       int64   `json:"free"`      // bytes, MemFree
	SwapTotal  int64   `json:"swap_total"`
	SwapUsed   int64   `json:"swap_used"` // swap_total - swap_free
	SwapFree   int64   `json:"swap_free"`
	ReadSpeed  float64 `json:"read_speed"`  // MB/s (2^20 bytes)
	WriteSpeed float64 `json:"write_speed"` // MB/s (2^20 bytes)
}

// DockerChecker reports whether a Docker engine answers. Implemented by the
// docker adapter; nil means no Docker.
type DockerChecker interface {
	Ping(ctx context.Context) error
}

// Probe sizes: small enough to run in well under a second on a real machine.
const (
	defaultRAMProbeBytes  = 64 << 20
	defaultDiskProbeBytes = 32 << 20
	failedRetryAfter      = time.Minute // a failed nvidia-smi is retried sooner than CacheFor
)

// Reader reads Reports. It is safe for concurrent use; concurrent Reads
// share one refresh of the cached parts.
type Reader struct {
	cfg    Config
	docker DockerChecker
	log    *slog.Logger

	// Test seams.
	now            func() time.Time
	statfs         func(path string) (Disk, error)
	probeRAM       func(ctx context.Context, n int) (read, write float64, err error)
	probeDisk      func(ctx context.Context, dir string, n int) (read, write float64, err error)
	ramProbeBytes  int
	diskProbeBytes int

	// sem guards the cache below and serialises refreshes (capacity 1).
	sem   chan struct{}
	gpu   cached[GPU]
	speed cached[speeds]
}

type cached[T any] struct {
	val     T
	expires time.Time
}

type speeds struct {
	ramRead, ramWrite, diskRead, diskWrite float64
}

// New returns a Reader for cfg; zero fields of cfg take DefaultConfig values
// (except NvidiaSMI). docker may be nil.
func New(cfg Config, docker DockerChecker) *Reader {
	def := DefaultConfig()
	if cfg.ProcRoot == "" {
		cfg.ProcRoot = def.ProcRoot
	}
	if cfg.SysRoot == "" {
		cfg.SysRoot = def.SysRoot
	}
	if cfg.DiskPath == "" {
		cfg.DiskPath = def.DiskPath
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = def.Timeout
	}
	if cfg.CacheFor == 0 {
		cfg.CacheFor = def.CacheFor
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Reader{
		cfg:            cfg,
		docker:         docker,
		log:            log.With("component", "hwspec"),
		now:            time.Now,
		statfs:         statfs,
		probeRAM:       probeRAM,
		probeDisk:      probeDisk,
		ramProbeBytes:  defaultRAMProbeBytes,
		diskProbeBytes: defaultDiskProbeBytes,
		sem:            make(chan struct{}, 1),
	}
}

// Read returns the current report. CPU, RAM and disk capacity failures are
// errors; a missing or failing nvidia-smi gives an empty gpu section, a
// failing speed probe gives zero speeds and an unreachable Docker gives
// has_docker false.
func (r *Reader) Read(ctx context.Context) (Report, error) {
	if err := ctx.Err(); err != nil {
		return Report{}, err
	}
	var rep Report
	var err error
	if rep.CPU, err = r.readCPU(); err != nil {
		return Report{}, err
	}
	if rep.RAM, err = r.readRAM(); err != nil {
		return Report{}, err
	}
	if rep.HardDisk, err = r.statfs(r.cfg.DiskPath); err != nil {
		return Report{}, fmt.Errorf("statfs %s: %w", r.cfg.DiskPath, err)
	}

	gpu, sp, err := r.slowParts(ctx)
	if err != nil {
		return Report{}, err
	}
	rep.GPU = gpu
	rep.RAM.ReadSpeed, rep.RAM.WriteSpeed = sp.ramRead, sp.ramWrite
	rep.HardDisk.ReadSpeed, rep.HardDisk.WriteSpeed = sp.diskRead, sp.diskWrite

	rep.HasDocker = r.hasDocker(ctx)
	if err := ctx.Err(); err != nil {
		return Report{}, err
	}
	return rep, nil
}

// slowParts returns the GPU section and the speed probes, refreshing
// whichever has expired. Only a cancelled ctx is an error.
func (r *Reader) slowParts(ctx context.Context) (GPU, speeds, error) {
	select {
	case r.sem <- struct{}{}:
	case <-ctx.Done():
		return GPU{}, speeds{}, ctx.Err()
	}
	defer func() { <-r.sem }()

	now := r.now()
	if !now.Before(r.gpu.expires) {
		gpu, err := r.queryGPU(ctx)
		if ctx.Err() != nil {
			return GPU{}, speeds{}, ctx.Err()
		}
		ttl := r.cfg.CacheFor
		if err != nil {
			r.log.Warn("gpu query failed; reporting no gpus", "err", err)
			ttl = min(ttl, failedRetryAfter)
		}
		r.gpu = cached[GPU]{val: gpu, expires: now.Add(ttl)}
	}
	if !now.Before(r.speed.expires) {
		var sp speeds
		var err error
		if sp.ramRead, sp.ramWrite, err = r.probeRAM(ctx, r.ramProbeBytes); err != nil && ctx.Err() == nil {
			r.log.Warn("ram speed probe failed", "err", err)
		}
		if sp.diskRead, sp.diskWrite, err = r.probeDisk(ctx, r.cfg.DiskPath, r.diskProbeBytes); err != nil && ctx.Err() == nil {
			r.log.Warn("disk speed probe failed", "err", err, "path", r.cfg.DiskPath)
		}
		if ctx.Err() != nil {
			return GPU{}, speeds{}, ctx.Err()
		}
		r.speed = cached[speeds]{val: sp, expires: now.Add(r.cfg.CacheFor)}
	}
	gpu := r.gpu.val
	gpu.Details = append([]GPUDetail(nil), gpu.Details...) // callers may not alias the cache
	return gpu, r.speed.val, nil
}

func (r *Reader) hasDocker(ctx context.Context) bool {
	if r.docker == nil {
		return false
	}
	ctx, cancel := context.WithTimeout(ctx, r.cfg.Timeout)
	defer cancel()
	if err := r.docker.Ping(ctx); err != nil {
		r.log.Debug("docker ping failed", "err", err)
		return false
	}
	return true
}

func (r *Reader) readCPU() (CPU, error) {
	b, err := readFile(filepath.Join(r.cfg.ProcRoot, "cpuinfo"))
	if err != nil {
		return CPU{}, fmt.Errorf("read cpuinfo: %w", err)
	}
	phys, _, mhz, err := ParseCPUInfo(b)
	if err != nil {
		return CPU{}, fmt.Errorf("parse cpuinfo: %w", err)
	}
	if m, ok := r.maxFreqMHz(); ok {
		mhz = m
	}
	return CPU{Count: int64(phys), Frequency: mhz}, nil
}

// maxFreqMHz reads cpu0's cpufreq cpuinfo_max_freq (kHz), absent in most
// VMs and containers without cpufreq.
func (r *Reader) maxFreqMHz() (float64, bool) {
	b, err := readFile(filepath.Join(r.cfg.SysRoot, "devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq"))
	if err != nil {
		return 0, false
	}
	khz, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	if err != nil || khz <= 0 {
		return 0, false
	}
	return float64(khz) / 1000, true
}

func (r *Reader) readRAM() (RAM, error) {
	b, err := readFile(filepath.Join(r.cfg.ProcRoot, "meminfo"))
	if err != nil {
		return RAM{}, fmt.Errorf("read meminfo: %w", err)
	}
	ram, err := ParseMeminfo(b)
	if err != nil {
		return RAM{}, fmt.Errorf("parse meminfo: %w", err)
	}
	return ram, nil
}

// maxFileBytes bounds what is read from a proc or sys file (a 512-thread
// machine's cpuinfo is well under 1 MiB).
const maxFileBytes = 8 << 20

func readFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxFileBytes+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxFileBytes {
		return nil, fmt.Errorf("%s: larger than %d bytes", path, maxFileBytes)
	}
	return b, nil
}
