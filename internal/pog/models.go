package pog

import (
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"
)

//go:embed models.json
var modelsJSON []byte

// Model is one entry of the model table: the bands a device's measured
// figures must lie in to be that model, and what proving it costs.
type Model struct {
	Name         string     `json:"name"`
	Match        []string   `json:"match"` // substrings of device or claimed names
	Type         string     `json:"type"`  // "gpu" or "cpu"
	VRAMGiB      [2]float64 `json:"vram_gib"`
	FP32GFLOPS   [2]float64 `json:"fp32_gflops"`
	ExpectGFLOPS float64    `json:"expect_gflops"` // sizes the work step
	MemGBps      [2]float64 `json:"mem_gbps"`
	Score        float64    `json:"score"`
	Rounds       int        `json:"rounds"` // FillWord rounds
	Words        int        `json:"words"`  // words per memory chunk
	TestOnly     bool       `json:"test_only,omitempty"`
	Estimated    bool       `json:"estimated"`
	WorkSeconds  float64    `json:"work_seconds,omitempty"` // aimed duration of the work step (default 2)
}

// Table is the versioned model table.
type Table struct {
	Version int     `json:"version"`
	Kernel  string  `json:"kernel"`
	About   string  `json:"about"`
	Models  []Model `json:"models"`
}

// DefaultTable is the table built into this binary (models.json).
func DefaultTable() *Table {
	t, err := ParseTable(modelsJSON)
	if err != nil {
		panic("pog: built-in models.json: " + err.Error()) // caught by TestDefaultTable
	}
	return t
}

// ParseTable reads and checks a model table.
func ParseTable(b []byte) (*Table, error) {
	var t Table
	if err := json.Unmarshal(b, &t); err != nil {
		return nil, fmt.Errorf("model table: %w", err)
	}
	if t.Version < 1 || len(t.Models) == 0 {
		return nil, errors.New("model table: no version or no models")
	}
	for i, m := range t.Models {
		band := func(what string, b [2]float64) error {
			if !(b[0] >= 0 && b[1] > b[0]) || math.IsInf(b[1], 0) {
				return fmt.Errorf("model table: %s: %s band %v", m.Name, what, b)
			}
			return nil
		}
		if m.Name == "" || len(m.Match) == 0 || (m.Type != "gpu" && m.Type != "cpu") {
			return nil, fmt.Errorf("model table: entry %d: name, match and type (gpu|cpu) are required", i)
		}
		for _, e := range []error{band("vram_gib", m.VRAMGiB), band("fp32_gflops", m.FP32GFLOPS), band("mem_gbps", m.MemGBps)} {
			if e != nil {
				return nil, e
			}
		}
		if m.Score < 0 || m.ExpectGFLOPS <= 0 || m.Rounds < 1 || m.Rounds > MaxRounds || m.Words < 64 || m.Words > MaxChunkWords || m.WorkSeconds < 0 {
			return nil, fmt.Errorf("model table: %s: score, expect_gflops, rounds or words out of range", m.Name)
		}
		if t.Models[i].WorkSeconds == 0 {
			t.Models[i].WorkSeconds = 2
		}
	}
	return &t, nil
}

// Usable returns the entries a validator uses (test-only ones with
// testModels).
func (t *Table) Usable(testModels bool) []Model {
	var out []Model
	for _, m := range t.Models {
		if !m.TestOnly || testModels {
			out = append(out, m)
		}
	}
	return out
}

// Claimed finds the entry a claimed GPU name (the miner's hardware report,
// e.g. "NVIDIA H100 80GB HBM3") stands for: an exact name first, then the
// entry with the longest matching substring. ok is false for a name no
// entry knows.
func Claimed(models []Model, name string) (Model, bool) {
	for _, m := range models {
		if strings.EqualFold(m.Name, name) {
			return m, true
		}
	}
	best, bestLen := Model{}, 0
	for _, m := range models {
		for _, s := range m.Match {
			if len(s) > bestLen && containsFold(name, s) {
				best, bestLen = m, len(s)
			}
		}
	}
	return best, bestLen > 0
}

func containsFold(s, sub string) bool {
	return strings.Contains(strings.ToLower(s), strings.ToLower(sub))
}

// Measured is what the validator measured of one device.
type Measured struct {
	Type       string  // the device type reported
	Name       string  // the device name reported
	VRAMBytes  uint64  // reported global memory (a CPU device: the claimed size)
	FP32GFLOPS float64 // work step rate
	MemGBps    float64 // pass step rate
}

// Unknown is the model of a device no band fits.
const Unknown = "unknown"

// Identify returns the model whose bands hold every measured figure. Where
// several entries hold them (models the figures cannot tell apart: an
// H100 SXM and PCIe at the rate measured), the claimed model wins if it is
// one of them, then the one whose match strings name the device. It
// returns Unknown when no entry fits or the tie stays: a guess is never
// made, not even of the nearest model.
func Identify(models []Model, m Measured, claimed string) (Model, bool) {
	gib := float64(m.VRAMBytes) / (1 << 30)
	var fit []Model
	for _, e := range models {
		if e.Type != m.Type && !(e.Type == "gpu" && m.Type == "accelerator") {
			continue
		}
		if in(gib, e.VRAMGiB) && in(m.FP32GFLOPS, e.FP32GFLOPS) && in(m.MemGBps, e.MemGBps) {
			fit = append(fit, e)
		}
	}
	if len(fit) == 1 {
		return fit[0], true
	}
	for _, e := range fit {
		if strings.EqualFold(e.Name, claimed) {
			return e, true
		}
	}
	var named []Model
	for _, e := range fit {
		for _, s := range e.Match {
			if containsFold(m.Name, s) {
				named = append(named, e)
				break
			}
		}
	}
	if len(named) == 1 {
		return named[0], true
	}
	return Model{Name: Unknown}, false
}

func in(v float64, b [2]float64) bool { return v >= b[0] && v <= b[1] }

// Plan is what the validator asks of one device, sized for its claim.
type Plan struct {
	Model Model // the claimed model
	N     int   // matrix order of the work step
	// Memory: Chunks chunks of Words words (8 bytes each).
	Chunks, Words, Rounds      int
	WorkDeadline, PassDeadline time.Duration
	FillDeadline               time.Duration
}

// Bytes is the memory the plan fills.
func (p Plan) Bytes() int64 { return int64(p.Chunks) * int64(p.Words) * 8 }

// Flops is the work step's floating-point operations.
func (p Plan) Flops() float64 { n := float64(p.N); return 2 * n * n * n }

// MemShare is the share of the claimed memory the memory step fills.
const MemShare = 0.8

// PlanFor sizes the steps for a device claimed to be m with claimedBytes of
// memory, over a link whose round trip is rtt. The work step's order makes
// it last about m.WorkSeconds at m.ExpectGFLOPS (its three matrices within
// 30 % of the memory); the memory step fills MemShare of the claim. The
// deadlines are the times at the slow end of the model's bands, with room
// for the round trip.
func PlanFor(m Model, claimedBytes uint64, rtt time.Duration) (Plan, error) {
	if claimedBytes < 1<<20 {
		return Plan{}, fmt.Errorf("claimed memory %d bytes: too small to prove", claimedBytes)
	}
	n := int(math.Cbrt(m.ExpectGFLOPS*1e9*m.WorkSeconds/2)) / 32 * 32
	if capN := int(math.Sqrt(0.3*float64(claimedBytes)/12)) / 32 * 32; n > capN {
		n = capN
	}
	n = max(64, min(n, MaxN))
	words := m.Words
	chunks := int(MemShare * float64(claimedBytes) / float64(words*8))
	if chunks < MinOpenings {
		return Plan{}, fmt.Errorf("claimed memory %d bytes: fewer than %d chunks of %d words", claimedBytes, MinOpenings, words)
	}
	if chunks > MaxChunks {
		return Plan{}, fmt.Errorf("claimed memory %d bytes: more than %d chunks", claimedBytes, MaxChunks)
	}
	p := Plan{Model: m, N: n, Chunks: chunks, Words: words, Rounds: m.Rounds}
	slack := 4*rtt + 250*time.Millisecond
	p.WorkDeadline = seconds(p.Flops()/(m.FP32GFLOPS[0]*1e9)) + 2*time.Second + slack
	// The prover also hashes the chunk digests into its tree on the host
	// (one core per device): about 250 ns a chunk.
	p.PassDeadline = seconds(float64(p.Bytes())/(m.MemGBps[0]*1e9)*1.25) + time.Duration(chunks)*250*time.Nanosecond + slack
	// The fill is the honest side's slow step; its deadline only bounds a
	// prover that never answers.
	p.FillDeadline = 5 * time.Minute
	return p, nil
}

func seconds(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }
