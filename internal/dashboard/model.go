package dashboard

import (
	"cmp"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/sn27/sn27/internal/chain"
	"github.com/sn27/sn27/internal/hwspec"
	"github.com/sn27/sn27/internal/pog"
	"github.com/sn27/sn27/internal/store"
)

// minerRow is one row of the miners table and of /api/miners.
type minerRow struct {
	UID     uint16 `json:"uid"`
	Hotkey  string `json:"hotkey"`
	Coldkey string `json:"coldkey"`
	Axon    string `json:"axon,omitempty"` // ip:port when serving

	HasSpecs bool       `json:"has_specs"`
	GPUs     []gpuCount `json:"gpus"`      // by model
	GPUCount int64      `json:"gpu_count"` // total GPUs
	GPUMiB   int64      `json:"gpu_mib"`   // total GPU memory
	CPUCores int64      `json:"cpu_cores"`
	CPUMHz   float64    `json:"cpu_mhz"`
	RAMBytes int64      `json:"ram_bytes"`

	// Difficulty is the mean difficulty of the last 20 successes, else the
	// last challenge's difficulty; 0 without challenges.
	Difficulty float64 `json:"difficulty"`
	Attempts   int     `json:"attempts"`  // challenges in the stats window
	Successes  int     `json:"successes"` // successes in the stats window
	// SuccessRate is Successes/Attempts, 0..1; 0 without attempts.
	SuccessRate float64 `json:"success_rate"`
	// MeanSolveSeconds is the mean solve time of successes in the window.
	MeanSolveSeconds float64 `json:"mean_solve_seconds"`
	Weight           float64 `json:"weight"`    // normalised weight the validator would set, 0..1
	Incentive        float64 `json:"incentive"` // on-chain incentive, 0..1
	Allocated        bool    `json:"allocated"`
	// Proof is the miner's latest proof-of-GPU verdict; nil (absent) when
	// it has none.
	Proof *proof `json:"gpu_proof,omitempty"`
}

// verdictsShown is the number of newest verdicts the overview lists.
const verdictsShown = 50

// proof is a proof-of-GPU verdict as the dashboard shows it: in the miners
// table (the latest of each miner), the verdicts section and /api/verdicts.
type proof struct {
	Hotkey    string    `json:"hotkey"`
	Validator string    `json:"validator,omitempty"` // the signing validator's hotkey
	Block     uint64    `json:"block"`               // the chain's block when the proof started
	Time      time.Time `json:"time"`                // when it ended
	Passed    bool      `json:"passed"`
	// Model and GPUs are what the verdict proved ("" and 0 when it failed);
	// ClaimedModel and ClaimedGPUs what the miner claimed.
	Model        string `json:"model,omitempty"`
	GPUs         int    `json:"gpus"`
	ClaimedModel string `json:"claimed_model"`
	ClaimedGPUs  int    `json:"claimed_gpus"`
	// Estimated marks a verdict resting on bands not yet measured on real
	// hardware.
	Estimated  bool   `json:"estimated,omitempty"`
	FailedStep string `json:"failed_step,omitempty"`
	Reason     string `json:"reason,omitempty"`
}

// parseProof reads a pog.Verdict JSON; hotkey, when not "", is the miner
// the store filed it under, which the verdict must name. A verdict that
// cannot be read, or names another miner, is skipped (ok false).
func parseProof(js, hotkey string) (proof, bool) {
	var v pog.Verdict
	if err := json.Unmarshal([]byte(js), &v); err != nil {
		return proof{}, false
	}
	switch {
	case hotkey != "" && v.Hotkey == "":
		v.Hotkey = hotkey
	case hotkey != "" && v.Hotkey != hotkey, v.Hotkey == "":
		return proof{}, false
	}
	p := proof{Hotkey: v.Hotkey, Validator: v.Validator, Block: v.Block, Time: v.Time, Passed: v.Passed,
		ClaimedModel: v.ClaimedModel, ClaimedGPUs: v.ClaimedGPUs, Estimated: v.Estimated, FailedStep: v.FailedStep, Reason: v.Reason}
	if v.Passed {
		p.Model, p.GPUs = v.Model, v.GPUs
	} else if p.FailedStep == "" {
		p.FailedStep = "unknown step"
	}
	return p, true
}

// Verified is what a passed verdict proved: "1× PoCL CPU"; "—" for a
// failed one.
func (p proof) Verified() string {
	if !p.Passed {
		return "—"
	}
	return fmt.Sprintf("%d× %s", p.GPUs, p.Model)
}

// Claimed is what the miner claimed: "1× PoCL CPU"; "—" when the verdict
// does not say.
func (p proof) Claimed() string {
	if p.ClaimedModel == "" && p.ClaimedGPUs == 0 {
		return "—"
	}
	return fmt.Sprintf("%d× %s", p.ClaimedGPUs, cmp.Or(p.ClaimedModel, "unknown model"))
}

// proofRank orders the GPU proof column: failed, none, passed.
func proofRank(p *proof) int {
	switch {
	case p == nil:
		return 1
	case p.Passed:
		return 2
	}
	return 0
}

func verifiedGPUs(p *proof) int {
	if p == nil || !p.Passed {
		return 0
	}
	return p.GPUs
}

// gpuCount is a number of GPUs of one model.
type gpuCount struct {
	Model string `json:"model"`
	Count int64  `json:"count"`
}

// bin is one bar of a histogram: Count values in [Lo, Hi).
type bin struct {
	Lo    float64 `json:"lo"`
	Hi    float64 `json:"hi"`
	Count int     `json:"count"`
}

// snapshot is one reading of the source.
type snapshot struct {
	At         time.Time
	Block      uint64
	Validators int
	Miners     []minerRow // by UID
	Verdicts   []proof    // the newest verdicts, newest first (at most verdictsShown)
}

// summary is the network summary of /api/summary.
type summary struct {
	Title         string     `json:"title"`
	Time          time.Time  `json:"time"`
	Block         uint64     `json:"block"`
	Neurons       int        `json:"neurons"`
	Miners        int        `json:"miners"`
	Validators    int        `json:"validators"`
	GPUs          []gpuCount `json:"gpus"` // over all miners, by model, most first
	GPUTotal      int64      `json:"gpu_total"`
	Allocated     int        `json:"allocated"`      // allocated miners
	Available     int        `json:"available"`      // miners with specs that are not allocated
	AllocatedGPUs int64      `json:"allocated_gpus"` // GPUs of allocated miners
	AvailableGPUs int64      `json:"available_gpus"` // GPUs of available miners
	Attempts      int        `json:"attempts"`       // challenges in the stats window, all miners
	Successes     int        `json:"successes"`      // successes in the stats window, all miners
	// ProofsPassed and ProofsFailed count the miners whose latest
	// proof-of-GPU verdict passed or failed; VerifiedGPUs the GPUs the
	// passed ones proved.
	ProofsPassed int `json:"gpu_proofs_passed"`
	ProofsFailed int `json:"gpu_proofs_failed"`
	VerifiedGPUs int `json:"verified_gpus"`
	// SolveTimeHistogram bins the miners' mean solve times (miners with at
	// least one success in the window).
	SolveTimeHistogram []bin `json:"solve_time_histogram"`
	// Error is the last refresh failure since the snapshot was taken; the
	// data shown is then stale.
	Error string `json:"error,omitempty"`
}

// buildSnapshot joins the source's readings into table rows. Neurons with a
// validator permit count as validators; the others are miners.
func buildSnapshot(at time.Time, block uint64, ns []chain.Neuron, stats map[string]store.Stats,
	alloc map[string]bool, scores map[chain.UID]float64, specs map[string]string, proofs map[string]proof) *snapshot {
	snap := &snapshot{At: at, Block: block, Miners: []minerRow{}, Verdicts: []proof{}}
	for _, n := range ns {
		if isValidator(n) {
			snap.Validators++
			continue
		}
		hk := string(n.Hotkey)
		st := stats[hk]
		r := minerRow{
			UID:              uint16(n.UID),
			Hotkey:           hk,
			Coldkey:          string(n.Coldkey),
			Difficulty:       st.AvgDifficultyLast20Successes,
			Attempts:         st.Attempts,
			Successes:        st.Successes,
			MeanSolveSeconds: st.AvgElapsedSeconds,
			Weight:           scores[n.UID],
			Incentive:        n.Incentive,
			Allocated:        alloc[hk],
			GPUs:             []gpuCount{},
		}
		if r.Difficulty == 0 {
			r.Difficulty = float64(st.LastDifficulty)
		}
		if st.Attempts > 0 {
			r.SuccessRate = float64(st.Successes) / float64(st.Attempts)
		}
		if n.Axon.Serving() {
			r.Axon = fmt.Sprintf("%s:%d", n.Axon.IP, n.Axon.Port)
			if strings.Contains(n.Axon.IP, ":") {
				r.Axon = fmt.Sprintf("[%s]:%d", n.Axon.IP, n.Axon.Port)
			}
		}
		applySpecs(&r, specs[hk])
		if p, ok := proofs[hk]; ok {
			r.Proof = &p
		}
		snap.Miners = append(snap.Miners, r)
	}
	slices.SortFunc(snap.Miners, func(a, b minerRow) int { return cmp.Compare(a.UID, b.UID) })
	return snap
}

// applySpecs fills the hardware columns from a specs report; a missing or
// malformed report leaves them empty.
func applySpecs(r *minerRow, js string) {
	if js == "" {
		return
	}
	var rep hwspec.Report
	if err := json.Unmarshal([]byte(js), &rep); err != nil {
		return
	}
	r.HasSpecs = true
	r.CPUCores, r.CPUMHz, r.RAMBytes = rep.CPU.Count, rep.CPU.Frequency, rep.RAM.Total
	r.GPUMiB = rep.GPU.Capacity
	counts := map[string]int64{}
	for _, d := range rep.GPU.Details {
		counts[d.Name]++
	}
	for m, c := range counts {
		r.GPUs = append(r.GPUs, gpuCount{Model: m, Count: c})
		r.GPUCount += c
	}
	// A report may give a count without details.
	if extra := rep.GPU.Count - r.GPUCount; extra > 0 {
		r.GPUs = append(r.GPUs, gpuCount{Model: "unknown GPU", Count: extra})
		r.GPUCount += extra
	}
	sortGPUs(r.GPUs)
}

func sortGPUs(g []gpuCount) {
	slices.SortFunc(g, func(a, b gpuCount) int {
		if c := cmp.Compare(b.Count, a.Count); c != 0 {
			return c
		}
		return strings.Compare(a.Model, b.Model)
	})
}

// summary computes the network summary of the snapshot.
func (s *snapshot) summary(title string) summary {
	sum := summary{
		Title: title, Time: s.At, Block: s.Block,
		Miners: len(s.Miners), Validators: s.Validators, Neurons: len(s.Miners) + s.Validators,
		GPUs: []gpuCount{},
	}
	models := map[string]int64{}
	var solve []float64
	for _, m := range s.Miners {
		for _, g := range m.GPUs {
			models[g.Model] += g.Count
		}
		sum.GPUTotal += m.GPUCount
		switch {
		case m.Allocated:
			sum.Allocated++
			sum.AllocatedGPUs += m.GPUCount
		case m.HasSpecs:
			sum.Available++
			sum.AvailableGPUs += m.GPUCount
		}
		sum.Attempts += m.Attempts
		sum.Successes += m.Successes
		switch {
		case m.Proof == nil:
		case m.Proof.Passed:
			sum.ProofsPassed++
			sum.VerifiedGPUs += m.Proof.GPUs
		default:
			sum.ProofsFailed++
		}
		if m.Successes > 0 {
			solve = append(solve, m.MeanSolveSeconds)
		}
	}
	for m, c := range models {
		sum.GPUs = append(sum.GPUs, gpuCount{Model: m, Count: c})
	}
	sortGPUs(sum.GPUs)
	sum.SolveTimeHistogram = histogram(solve, 10)
	return sum
}

// histogram bins non-negative values into n equal bins from 0 to a round
// number at or above the largest value. It returns no bins without values.
func histogram(vals []float64, n int) []bin {
	if len(vals) == 0 {
		return []bin{}
	}
	top := niceCeil(slices.Max(vals))
	w := top / float64(n)
	bins := make([]bin, n)
	for i := range bins {
		bins[i] = bin{Lo: float64(i) * w, Hi: float64(i+1) * w}
	}
	for _, v := range vals {
		i := int(v / w)
		i = max(0, min(i, n-1))
		bins[i].Count++
	}
	return bins
}

// niceCeil returns the smallest of 1, 2, 2.5 or 5 times a power of ten that
// is at least v, and 1 for v ≤ 0.
func niceCeil(v float64) float64 {
	if v <= 0 || math.IsNaN(v) || math.IsInf(v, 0) {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if m*p >= v*(1-1e-12) {
			return m * p
		}
	}
	return 10 * p
}

// point is one entry of the chart history and of /api/history.
type point struct {
	Time      time.Time          `json:"time"`
	Block     uint64             `json:"block"`
	Attempts  int                `json:"attempts"`  // challenges in the stats window, all miners
	Successes int                `json:"successes"` // successes in the stats window, all miners
	Weights   map[uint16]float64 `json:"weights"`   // by UID
}

func (s *snapshot) point() point {
	p := point{Time: s.At, Block: s.Block, Weights: make(map[uint16]float64, len(s.Miners))}
	for _, m := range s.Miners {
		p.Attempts += m.Attempts
		p.Successes += m.Successes
		p.Weights[m.UID] = m.Weight
	}
	return p
}

// ring keeps the last cap points.
type ring struct {
	buf  []point
	next int
	full bool
}

func newRing(n int) ring { return ring{buf: make([]point, n)} }

func (r *ring) add(p point) {
	r.buf[r.next] = p
	r.next = (r.next + 1) % len(r.buf)
	if r.next == 0 {
		r.full = true
	}
}

// points returns the points oldest first.
func (r *ring) points() []point {
	if !r.full {
		return slices.Clone(r.buf[:r.next])
	}
	return append(slices.Clone(r.buf[r.next:]), r.buf[:r.next]...)
}

// sortOrder is a validated ?sort=&dir= pair.
type sortOrder struct {
	Col  string `json:"sort"`
	Desc bool   `json:"-"`
}

func (o sortOrder) Dir() string {
	if o.Desc {
		return "desc"
	}
	return "asc"
}

// columns are the sortable columns of the miners table, in display order.
// Numeric columns sort descending by default.
var columns = []struct {
	Key, Label string
	DescFirst  bool
	cmp        func(a, b *minerRow) int
}{
	{"uid", "UID", false, func(a, b *minerRow) int { return cmp.Compare(a.UID, b.UID) }},
	{"hotkey", "Hotkey", false, func(a, b *minerRow) int { return strings.Compare(a.Hotkey, b.Hotkey) }},
	{"gpu", "GPU", true, func(a, b *minerRow) int {
		return cmp.Or(cmp.Compare(a.GPUCount, b.GPUCount), cmp.Compare(a.GPUMiB, b.GPUMiB))
	}},
	{"proof", "GPU proof", true, func(a, b *minerRow) int {
		return cmp.Or(cmp.Compare(proofRank(a.Proof), proofRank(b.Proof)), cmp.Compare(verifiedGPUs(a.Proof), verifiedGPUs(b.Proof)))
	}},
	{"cpu", "CPU", true, func(a, b *minerRow) int {
		return cmp.Or(cmp.Compare(a.CPUCores, b.CPUCores), cmp.Compare(a.CPUMHz, b.CPUMHz))
	}},
	{"difficulty", "Difficulty", true, func(a, b *minerRow) int { return cmp.Compare(a.Difficulty, b.Difficulty) }},
	{"success", "Success", true, func(a, b *minerRow) int {
		return cmp.Or(cmp.Compare(a.SuccessRate, b.SuccessRate), cmp.Compare(a.Attempts, b.Attempts))
	}},
	{"solve", "Mean solve", true, func(a, b *minerRow) int { return cmp.Compare(a.MeanSolveSeconds, b.MeanSolveSeconds) }},
	{"weight", "Weight", true, func(a, b *minerRow) int { return cmp.Compare(a.Weight, b.Weight) }},
	{"incentive", "Incentive", true, func(a, b *minerRow) int { return cmp.Compare(a.Incentive, b.Incentive) }},
	{"allocated", "Allocated", true, func(a, b *minerRow) int {
		return cmp.Compare(boolInt(a.Allocated), boolInt(b.Allocated))
	}},
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// parseSort validates the sort parameters; unknown values fall back to the
// UID column and the column's default direction.
func parseSort(col, dir string) sortOrder {
	for _, c := range columns {
		if c.Key != col {
			continue
		}
		switch dir {
		case "asc":
			return sortOrder{Col: c.Key}
		case "desc":
			return sortOrder{Col: c.Key, Desc: true}
		}
		return sortOrder{Col: c.Key, Desc: c.DescFirst}
	}
	return sortOrder{Col: "uid"}
}

// sortRows returns the rows sorted by o, ties broken by UID ascending.
func sortRows(rows []minerRow, o sortOrder) []minerRow {
	out := slices.Clone(rows)
	var f func(a, b *minerRow) int
	for _, c := range columns {
		if c.Key == o.Col {
			f = c.cmp
		}
	}
	slices.SortStableFunc(out, func(a, b minerRow) int {
		c := f(&a, &b)
		if o.Desc {
			c = -c
		}
		return cmp.Or(c, cmp.Compare(a.UID, b.UID))
	})
	return out
}

// validatorStakeRao is SN27's validator threshold (validator_permit_stake).
const validatorStakeRao = 1024 * 1_000_000_000

// isValidator: a permit alone is not enough (every neuron of a subnet with
// at most 64 has one); SN27 validators also hold 1024 τ.
func isValidator(n chain.Neuron) bool {
	return n.ValidatorPermit && n.TotalStake() >= validatorStakeRao
}
