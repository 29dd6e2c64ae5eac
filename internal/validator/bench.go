package validator

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/sn27/sn27/internal/chain"
	"github.com/sn27/sn27/internal/dendrite"
	"github.com/sn27/sn27/internal/keys"
	"github.com/sn27/sn27/internal/pow"
	"github.com/sn27/sn27/internal/protocol"
	"github.com/sn27/sn27/internal/store"
)

// BenchReport is one validator's cost for a round against many miners.
type BenchReport struct {
	Miners     int           `json:"miners"`
	Succeeded  int           `json:"succeeded"`
	Wall       time.Duration `json:"wall_ns"`
	CPU        time.Duration `json:"cpu_ns"` // user+system of the whole process during the round
	PeakRSSKiB int64         `json:"peak_rss_kib"`
}

// BenchRound runs one challenge round of a real validator (store, dendrite,
// verification) against n light in-process responders, each on its own
// loopback address, answering correctly at the given difficulty.
func BenchRound(ctx context.Context, n, difficulty int) (BenchReport, error) {
	dir, err := os.MkdirTemp("", "sn27-bench-")
	if err != nil {
		return BenchReport{}, err
	}
	defer os.RemoveAll(dir)
	st, err := store.Open(ctx, filepath.Join(dir, "v.db"))
	if err != nil {
		return BenchReport{}, err
	}
	defer st.Close()
	hot, _ := keys.Generate()
	d, err := dendrite.New(hot, dendrite.Config{MaxConcurrent: 256})
	if err != nil {
		return BenchReport{}, err
	}
	defer d.Close()

	srv := &http.Server{Handler: http.HandlerFunc(respond), ReadHeaderTimeout: 5 * time.Second}
	var ns []chain.Neuron
	for i := 0; i < n; i++ {
		ip := fmt.Sprintf("127.1.%d.%d", i/250, i%250+1)
		ln, err := net.Listen("tcp", ip+":0")
		if err != nil {
			return BenchReport{}, fmt.Errorf("listen on %s: %w", ip, err)
		}
		go srv.Serve(ln)
		mk, _ := keys.Generate()
		ns = append(ns, chain.Neuron{UID: chain.UID(i), Hotkey: mk.Hotkey(), Axon: chain.AxonInfo{IP: ip, Port: uint16(ln.Addr().(*net.TCPAddr).Port), Version: protocol.SN27VersionInt}})
	}
	defer srv.Close()
	cfg := DefaultConfig()
	cfg.DifficultyMin, cfg.DifficultyMax, cfg.PowTimeout = difficulty, difficulty, 30*time.Second
	v, err := New(cfg, Deps{Hotkey: hot, Chain: noChain{}, Store: st, Dendrite: d})
	if err != nil {
		return BenchReport{}, err
	}
	cpu0 := cpuTime()
	start := time.Now()
	rep, err := v.ChallengeRound(ctx, ns)
	if err != nil {
		return BenchReport{}, err
	}
	return BenchReport{Miners: rep.Queried, Succeeded: rep.Succeeded, Wall: time.Since(start), CPU: cpuTime() - cpu0, PeakRSSKiB: peakRSS()}, nil
}

// respond is a light miner: it solves the challenge and answers.
func respond(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	var req protocol.Challenge
	if err := json.Unmarshal(body, &req); err != nil {
		http.Error(w, err.Error(), 400)
		return
	}
	t, err := pow.Parse(pow.Challenge{Hash: req.ChallengeHash, Salt: req.ChallengeSalt, Mode: req.ChallengeMode, Chars: req.ChallengeChars, Mask: req.ChallengeMask}, pow.Limits{})
	if err == nil {
		res, serr := (&pow.Solver{Workers: 1}).Solve(r.Context(), t)
		if serr == nil {
			req.SetAnswer(protocol.ChallengeOutput{Password: protocol.Str(res.Password)})
		}
	}
	req.Axon.StatusCode = protocol.SomeInt(200)
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(&req)
}

type noChain struct{}

func (noChain) Neurons(context.Context, chain.NetUID) ([]chain.Neuron, error) { return nil, nil }
func (noChain) BlockNumber(context.Context) (uint64, error)                   { return 0, nil }
func (noChain) Hyperparameter(context.Context, string, chain.NetUID) (uint64, error) {
	return 0, nil
}
func (noChain) CommitReveal(context.Context, chain.NetUID) (chain.CommitReveal, error) {
	return chain.CommitReveal{}, nil
}
func (noChain) CommitWeights(context.Context, *keys.Pair, chain.NetUID, []uint16, []uint16, []uint16, uint64) (*chain.Commit, error) {
	return nil, fmt.Errorf("no chain in the benchmark")
}
func (noChain) RevealWeights(context.Context, *keys.Pair, chain.NetUID, []uint16, []uint16, []uint16, uint64) (*chain.Receipt, error) {
	return nil, fmt.Errorf("no chain in the benchmark")
}
func (noChain) RevealPhase(context.Context, chain.NetUID, chain.RevealWindow) (chain.RevealPhase, error) {
	return chain.RevealWait, nil
}
func (noChain) FindCommit(context.Context, chain.NetUID, keys.PublicKey, [32]byte) (*chain.Commit, bool, error) {
	return nil, false, nil
}
func (noChain) SetWeights(context.Context, *keys.Pair, chain.NetUID, []chain.UID, []float64, uint64) (*chain.Receipt, error) {
	return nil, fmt.Errorf("no chain in the benchmark")
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func peakRSS() int64 {
	b, _ := os.ReadFile("/proc/self/status")
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			v, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return v
		}
	}
	return 0
}
