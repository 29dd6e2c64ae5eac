package hwspec

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// nvidiaSMIArgs is the query whose output ParseNvidiaSMI reads: one line per
// GPU, "name, memory.total (MiB), clocks.max.graphics (MHz),
// clocks.max.memory (MHz)".
var nvidiaSMIArgs = []string{
	"--query-gpu=name,memory.total,clocks.max.graphics,clocks.max.memory",
	"--format=csv,noheader,nounits",
}

// noDevices is what nvidia-smi prints (exit status 6) when the driver is
// loaded but sees no GPU.
const noDevices = "No devices were found"

// maxNvidiaSMIOutput bounds what is kept of nvidia-smi's stdout and stderr.
const maxNvidiaSMIOutput = 256 << 10

// ParseNvidiaSMI parses the CSV of nvidiaSMIArgs (noheader, nounits). Blank
// lines and a "No devices were found" line are skipped, so empty output is
// zero GPUs. Values nvidia-smi cannot read ("[N/A]", "[Not Supported]")
// count as 0. The last three fields are numeric; the fields before them are
// the name, so a name containing a comma survives.
func ParseNvidiaSMI(csv []byte) ([]GPUDetail, error) {
	var gpus []GPUDetail
	for i, line := range strings.Split(string(csv), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || line == noDevices {
			continue
		}
		f := strings.Split(line, ",")
		if len(f) < 4 {
			return nil, fmt.Errorf("line %d: want 4 fields, got %d", i+1, len(f))
		}
		n := len(f) - 3
		d := GPUDetail{Name: strings.TrimSpace(strings.Join(f[:n], ","))}
		if d.Name == "" {
			return nil, fmt.Errorf("line %d: empty name", i+1)
		}
		var err error
		if d.Capacity, err = parseSMIInt(f[n]); err != nil {
			return nil, fmt.Errorf("line %d: memory.total: %w", i+1, err)
		}
		if d.GraphicsMHz, err = parseSMIInt(f[n+1]); err != nil {
			return nil, fmt.Errorf("line %d: clocks.max.graphics: %w", i+1, err)
		}
		if d.MemoryMHz, err = parseSMIInt(f[n+2]); err != nil {
			return nil, fmt.Errorf("line %d: clocks.max.memory: %w", i+1, err)
		}
		gpus = append(gpus, d)
	}
	return gpus, nil
}

func parseSMIInt(s string) (int64, error) {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "[") && strings.HasSuffix(s, "]") || s == "N/A" {
		return 0, nil // [N/A], [Not Supported], [Unknown Error]
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil || v < 0 {
		return 0, fmt.Errorf("%q: not a non-negative integer", s)
	}
	return v, nil
}

// gpuSection builds the report's gpu section: capacity is the sum of the
// GPUs' memory, speeds are the first GPU's max clocks.
func gpuSection(details []GPUDetail) GPU {
	g := GPU{Count: int64(len(details)), Details: details}
	for _, d := range details {
		g.Capacity = satAdd(g.Capacity, d.Capacity)
	}
	if len(details) > 0 {
		g.GraphicsSpeed, g.MemorySpeed = details[0].GraphicsMHz, details[0].MemoryMHz
	}
	return g
}

// queryGPU runs nvidia-smi. No configured program, no such program or "No
// devices were found" give an empty section and no error.
func (r *Reader) queryGPU(ctx context.Context) (GPU, error) {
	if r.cfg.NvidiaSMI == "" {
		return GPU{}, nil
	}
	ctx, cancel := context.WithTimeout(ctx, r.cfg.Timeout)
	defer cancel()
	stdout := &capBuffer{max: maxNvidiaSMIOutput}
	stderr := &capBuffer{max: maxNvidiaSMIOutput}
	cmd := exec.CommandContext(ctx, r.cfg.NvidiaSMI, nvidiaSMIArgs...)
	cmd.Stdout, cmd.Stderr = stdout, stderr
	cmd.WaitDelay = time.Second // don't wait for grandchildren holding the pipes
	err := cmd.Run()
	switch {
	case errors.Is(err, exec.ErrNotFound) || errors.Is(err, fs.ErrNotExist):
		r.log.Debug("nvidia-smi not found; reporting no gpus", "program", r.cfg.NvidiaSMI)
		return GPU{}, nil
	case bytes.Contains(stdout.Bytes(), []byte(noDevices)):
		return GPU{}, nil
	case ctx.Err() != nil:
		return GPU{}, fmt.Errorf("run nvidia-smi: %w", ctx.Err())
	case err != nil:
		msg := firstLine(stdout.Bytes())
		if msg == "" {
			msg = firstLine(stderr.Bytes())
		}
		return GPU{}, fmt.Errorf("run nvidia-smi: %w: %q", err, msg)
	case stdout.truncated:
		return GPU{}, fmt.Errorf("run nvidia-smi: output longer than %d bytes", maxNvidiaSMIOutput)
	}
	details, err := ParseNvidiaSMI(stdout.Bytes())
	if err != nil {
		return GPU{}, fmt.Errorf("parse nvidia-smi output: %w", err)
	}
	return gpuSection(details), nil
}

// firstLine returns b's first non-blank line, at most 200 bytes.
func firstLine(b []byte) string {
	for _, l := range strings.Split(string(b), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			if len(l) > 200 {
				l = l[:200]
			}
			return l
		}
	}
	return ""
}

// capBuffer keeps the first max bytes written to it and discards the rest,
// so a runaway child cannot grow our memory.
type capBuffer struct {
	buf       bytes.Buffer
	max       int
	truncated bool
}

func (c *capBuffer) Write(p []byte) (int, error) {
	if room := c.max - c.buf.Len(); len(p) > room {
		c.buf.Write(p[:max(room, 0)])
		c.truncated = true
		return len(p), nil
	}
	return c.buf.Write(p)
}

func (c *capBuffer) Bytes() []byte { return c.buf.Bytes() }
