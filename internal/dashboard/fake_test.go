package dashboard

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/sn27/sn27/internal/chain"
	"github.com/sn27/sn27/internal/keys"
	"github.com/sn27/sn27/internal/pog"
	"github.com/sn27/sn27/internal/store"
)

// fakeSource is an in-memory Source. Every Scores call advances a round,
// so weights change over successive snapshots.
type fakeSource struct {
	mu      sync.Mutex
	neurons []chain.Neuron
	block   uint64
	stats   map[string]store.Stats
	specs   map[string]string
	alloc   map[string]bool
	round   int
	err     error    // returned by Neurons when set
	verdict []string // pog.Verdict JSON, oldest first
}

var gpuModels = []string{"NVIDIA A100-SXM4-80GB", "NVIDIA H100 80GB HBM3", "NVIDIA GeForce RTX 4090", "NVIDIA RTX A6000"}

// newFake returns a source with miners miners (UIDs 0..miners-1) and two
// validators after them. Every fifth miner has no specs, every fourth is
// allocated.
func newFake(miners int) *fakeSource {
	f := &fakeSource{block: 4_200_000, stats: map[string]store.Stats{}, specs: map[string]string{}, alloc: map[string]bool{}}
	for i := range miners + 2 {
		hk := fmt.Sprintf("5Hotkey%03dxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx%03d", i, i)
		n := chain.Neuron{
			UID:       chain.UID(i),
			NetUID:    27,
			Hotkey:    keys.Hotkey(hk),
			Coldkey:   keys.Coldkey(fmt.Sprintf("5Coldkey%03dyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy", i)),
			Active:    true,
			Axon:      chain.AxonInfo{IP: fmt.Sprintf("10.0.0.%d", i+1), Port: 8091},
			Incentive: float64(i%7) / 10,
		}
		if i >= miners {
			n.ValidatorPermit, n.AlphaStake = true, 2000e9
			f.neurons = append(f.neurons, n)
			continue
		}
		f.neurons = append(f.neurons, n)
		att := 20 + i%5
		succ := att - i%4
		f.stats[hk] = store.Stats{
			Attempts: att, Successes: succ,
			AvgDifficultyLast20Successes: 7 + float64(i%6)*0.5,
			AvgElapsedSeconds:            0.5 + float64(i*7%23)/2,
			LastDifficulty:               7 + i%6,
		}
		if i%5 != 4 {
			f.specs[hk] = specsJSON(gpuModels[i%len(gpuModels)], 1+i%4, 8+i%3*8)
		}
		if i%4 == 1 {
			f.alloc[hk] = true
		}
		model := gpuModels[i%len(gpuModels)]
		v := pog.Verdict{Version: pog.VerdictVersion, Hotkey: hk, Block: uint64(4_100_000 + i), Time: time.Date(2025, 3, 1, 11, i, 0, 0, time.UTC),
			ClaimedModel: model, ClaimedGPUs: 1 + i%4}
		switch i % 6 {
		case 0: // passed
			v.Passed, v.Model, v.GPUs = true, model, v.ClaimedGPUs
		case 3: // failed
			v.FailedStep, v.Reason = pog.StepIdentify, "device 0: measured 310 GFLOP/s, 40.2 GB/s, 1.0 GiB: no model of the table fits, not the claimed "+model
		default:
			continue // never proved
		}
		f.addVerdict(v)
	}
	return f
}

// addVerdict stores v as the newest verdict.
func (f *fakeSource) addVerdict(v pog.Verdict) {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.verdict = append(f.verdict, string(b))
}

func (f *fakeSource) LatestVerdicts(context.Context) (map[string]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[string]string{}
	for _, js := range f.verdict {
		var v pog.Verdict
		if json.Unmarshal([]byte(js), &v) == nil {
			out[v.Hotkey] = js
		}
	}
	return out, nil
}

func (f *fakeSource) Verdicts(_ context.Context, limit int) ([]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for i := len(f.verdict) - 1; i >= 0 && len(out) < limit; i-- {
		out = append(out, f.verdict[i])
	}
	return out, nil
}

func specsJSON(model string, gpus, cores int) string {
	details := ""
	for j := range gpus {
		if j > 0 {
			details += ","
		}
		details += fmt.Sprintf(`{"name":%q,"capacity":81920}`, model)
	}
	return fmt.Sprintf(`{"cpu":{"count":%d,"frequency":3500},"gpu":{"count":%d,"capacity":%d,"details":[%s],"graphics_speed":1410,"memory_speed":1593},"hard_disk":{"total":1000000000000,"free":500000000000,"used":500000000000,"read_speed":1000,"write_speed":800},"ram":{"total":%d,"available":1,"used":1,"free":1,"swap_total":0,"swap_used":0,"swap_free":0,"read_speed":1,"write_speed":1},"has_docker":true}`,
		cores, gpus, gpus*81920, details, int64(cores)*8<<30)
}

func (f *fakeSource) Neurons(context.Context) ([]chain.Neuron, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return nil, f.err
	}
	return append([]chain.Neuron(nil), f.neurons...), nil
}

func (f *fakeSource) Block(context.Context) (uint64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.block += 50
	return f.block, nil
}

func (f *fakeSource) Stats(context.Context) (map[string]store.Stats, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make(map[string]store.Stats, len(f.stats))
	for k, v := range f.stats {
		v.Attempts += f.round * 3
		v.Successes += f.round * 2
		out[k] = v
	}
	return out, nil
}

func (f *fakeSource) Specs(_ context.Context, hotkey string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.specs[hotkey], nil
}

func (f *fakeSource) Allocated(context.Context) (map[string]bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make(map[string]bool, len(f.alloc))
	for k, v := range f.alloc {
		out[k] = v
	}
	return out, nil
}

func (f *fakeSource) Scores(_ context.Context, ns []chain.Neuron) (map[chain.UID]float64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.round++
	raw := map[chain.UID]float64{}
	sum := 0.0
	for _, n := range ns {
		if isValidator(n) {
			continue
		}
		v := 1 + float64(n.UID%9) + math.Sin(float64(f.round)/2+float64(n.UID))
		raw[n.UID] = v
		sum += v
	}
	for k := range raw {
		raw[k] /= sum
	}
	return raw, nil
}

// testClock is a manual clock.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}
