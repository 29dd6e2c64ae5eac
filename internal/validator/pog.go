package validator

import (
	"context"
	"crypto/ed25519"
	crand "crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/sn27/sn27/internal/allocation"
	"github.com/sn27/sn27/internal/chain"
	"github.com/sn27/sn27/internal/dendrite"
	"github.com/sn27/sn27/internal/hwspec"
	"github.com/sn27/sn27/internal/keys"
	"github.com/sn27/sn27/internal/pog"
	"github.com/sn27/sn27/internal/pogrun"
	"github.com/sn27/sn27/internal/protocol"
)

// pogState schedules proofs of GPU: each miner on its own interval, at
// most PoGConcurrent at once, never two of one miner.
type pogState struct {
	table  *pog.Table
	models []pog.Model

	mu       sync.Mutex
	next     map[string]uint64
	inflight map[string]bool
	wg       sync.WaitGroup

	binOnce sync.Once
	bin     pogrun.Binary
	binErr  error
}

func newPoGState(cfg Config) (*pogState, error) {
	t := pog.DefaultTable()
	if cfg.PoGModels != "" {
		b, err := os.ReadFile(cfg.PoGModels)
		if err != nil {
			return nil, fmt.Errorf("--validator.pog.models: %w", err)
		}
		if t, err = pog.ParseTable(b); err != nil {
			return nil, fmt.Errorf("--validator.pog.models %s: %w", cfg.PoGModels, err)
		}
	}
	return &pogState{table: t, models: t.Usable(cfg.PoGTestModels), next: map[string]uint64{}, inflight: map[string]bool{}}, nil
}

// Models are the model table entries this validator uses.
func (v *Validator) Models() []pog.Model { return v.pog.models }

// ClaimOf reads the GPUs a miner's stored hardware report claims: the
// first GPU's name and memory, and how many of its GPUs carry that name.
// ok is false when it claims none.
func ClaimOf(hotkey, specsJSON string) (pogrun.Claim, bool) {
	var rep hwspec.Report
	if json.Unmarshal([]byte(specsJSON), &rep) != nil || rep.GPU.Count <= 0 || len(rep.GPU.Details) == 0 {
		return pogrun.Claim{}, false
	}
	first := rep.GPU.Details[0]
	c := pogrun.Claim{Hotkey: hotkey, Model: strings.TrimSpace(first.Name)}
	if first.Capacity > 0 && first.Capacity < 1<<24 {
		c.MemBytes = uint64(first.Capacity) << 20
	}
	for _, d := range rep.GPU.Details {
		if strings.TrimSpace(d.Name) == c.Model {
			c.Count++
		}
	}
	if rep.CPU.Count > 0 && rep.CPU.Count < 1<<16 {
		c.HostCPUs = int(rep.CPU.Count)
	}
	c.Count = min(c.Count, int(rep.GPU.Count), pog.MaxDevices)
	return c, c.Model != "" && c.Count > 0
}

// pogTick starts the proofs that are due at block b.
func (v *Validator) pogTick(ctx context.Context, b uint64) {
	cs, byUID := v.candidates(ctx, v.snapshot())
	p := v.pog
	for _, c := range cs {
		n := byUID[c.UID]
		p.mu.Lock()
		next, seen := p.next[c.Hotkey]
		if !seen {
			// A random start spreads the miners over the interval.
			next = b + v.rnd.Uint64N(v.cfg.PoGDelayMax+1)
			p.next[c.Hotkey] = next
		}
		due := b >= next && !p.inflight[c.Hotkey] && len(p.inflight) < v.cfg.PoGConcurrent
		p.mu.Unlock()
		if !due {
			continue
		}
		// Only a due miner's specs are read: what it claims now.
		claim, ok := ClaimOf(c.Hotkey, specsOf(ctx, v, c.Hotkey))
		p.mu.Lock()
		if !ok {
			// No GPU claimed: look again when the specs are next asked for.
			p.next[c.Hotkey] = b + v.cfg.SpecsEvery
			p.mu.Unlock()
			continue
		}
		p.inflight[c.Hotkey] = true
		p.next[c.Hotkey] = b + v.cfg.PoGEvery
		p.mu.Unlock()
		p.wg.Go(func() {
			defer func() {
				p.mu.Lock()
				delete(p.inflight, c.Hotkey)
				p.mu.Unlock()
			}()
			if _, err := v.ProveMiner(ctx, n, claim, b); err != nil && ctx.Err() == nil {
				v.log.Info("proof of GPU not run", "hotkey", c.Hotkey, "why", err)
			}
		})
	}
}

// specsOf is hotkey's stored specs JSON ("" when none).
func specsOf(ctx context.Context, v *Validator, hotkey string) string {
	js, _, err := v.deps.Store.Specs(ctx, hotkey)
	if err != nil {
		return ""
	}
	return js
}

// ErrRented says a miner's machine is rented: its GPUs are not proved.
var ErrRented = errors.New("the miner is rented out")

// ProveMiner allocates a short test container on the miner with the GPUs it
// claims, proves them in it (pogrun), signs and stores the verdict, and
// gives the container back. A miner that is rented out is skipped
// (ErrRented, no verdict); one that refuses or fails gets a failed verdict.
func (v *Validator) ProveMiner(ctx context.Context, n chain.Neuron, claim pogrun.Claim, block uint64) (pog.Verdict, error) {
	hotkey := string(n.Hotkey)
	start := v.deps.Now()
	verdict, err := v.prove(ctx, n, claim)
	if errors.Is(err, ErrRented) {
		return pog.Verdict{}, err
	}
	if ctx.Err() != nil {
		// The validator is stopping: a proof cut short says nothing of the
		// miner, so no verdict is kept.
		return pog.Verdict{}, ctx.Err()
	}
	if err != nil {
		verdict = pog.Verdict{Version: pog.VerdictVersion, Hotkey: hotkey, ClaimedModel: claim.Model, ClaimedGPUs: claim.Count,
			FailedStep: pog.StepAllocate, Reason: err.Error(), Millis: float64(v.deps.Now().Sub(start).Milliseconds())}
	}
	verdict.Block, verdict.Time, verdict.TableVersion = block, v.deps.Now().UTC().Truncate(time.Millisecond), v.pog.table.Version
	if err := pogrun.Sign(v.deps.Hotkey, &verdict); err != nil {
		return verdict, err
	}
	js, err := json.Marshal(verdict)
	if err != nil {
		return verdict, err
	}
	if err := v.deps.Store.AddVerdict(context.WithoutCancel(ctx), hotkey, block, verdict.Passed, string(js)); err != nil {
		return verdict, err
	}
	result := "passed"
	if !verdict.Passed {
		result = "failed_" + verdict.FailedStep
	}
	v.m.pogVerdicts.WithLabelValues(result).Inc()
	v.log.Info("proof of GPU", "hotkey", hotkey, "passed", verdict.Passed, "model", verdict.Model, "gpus", verdict.GPUs,
		"claimed", fmt.Sprintf("%d× %s", claim.Count, claim.Model), "failed_step", verdict.FailedStep, "reason", verdict.Reason,
		"seconds", verdict.Millis/1000)
	return verdict, nil
}

func (v *Validator) prove(ctx context.Context, n chain.Neuron, claim pogrun.Claim) (pog.Verdict, error) {
	v.pog.binOnce.Do(func() { v.pog.bin, v.pog.binErr = pogrun.LoadBinary(v.cfg.PoGBinary) })
	if v.pog.binErr != nil {
		return pog.Verdict{}, v.pog.binErr
	}
	rsaKey, err := rsa.GenerateKey(crand.Reader, 2048)
	if err != nil {
		return pog.Verdict{}, err
	}
	der, err := x509.MarshalPKIXPublicKey(&rsaKey.PublicKey)
	if err != nil {
		return pog.Verdict{}, err
	}
	pubPEM := string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
	_, sshPriv, err := ed25519.GenerateKey(crand.Reader)
	if err != nil {
		return pog.Verdict{}, err
	}
	signer, err := ssh.NewSignerFromKey(sshPriv)
	if err != nil {
		return pog.Verdict{}, err
	}
	t := dendrite.Target{IP: n.Axon.IP, Port: int(n.Axon.Port), Hotkey: n.Hotkey}

	// The allocation: the claimed GPUs, and RAM for the prover's copy of C
	// (4n² bytes per GPU) and, on a CPU device, for the memory it fills.
	var dr protocol.DeviceRequirement
	// The prover hashes every GPU's C on the host inside the timed work
	// step: up to 4 cores per GPU, as many as the miner reports having.
	dr.CPU.Count = int64(max(1, min(4*claim.Count, claim.HostCPUs)))
	dr.GPU.Count = int64(claim.Count)
	ram := int64(1 << 30)
	if m, ok := pog.Claimed(v.pog.models, claim.Model); ok {
		if p, err := pog.PlanFor(m, max(claim.MemBytes, 1<<20), 0); err == nil {
			ram += int64(claim.Count) * 4 * int64(p.N) * int64(p.N)
			if m.Type == "cpu" {
				ram += int64(claim.Count) * p.Bytes()
			}
		}
	}
	dr.RAM.Capacity = ram
	dev, _ := json.Marshal(dr)
	dock, _ := json.Marshal(protocol.DockerRequirement{BaseImage: "ubuntu", SSHKey: strings.TrimSpace(string(ssh.MarshalAuthorizedKey(signer.PublicKey()))), SSHPort: 4444, VolumePath: "/tmp"})
	syn := protocol.NewAllocate()
	syn.Checking, syn.Timeline, syn.DeviceRequirement, syn.DockerRequirement, syn.PublicKey = false, v.cfg.PoGTimeline, dev, dock, pubPEM
	// Written down before it is asked for: a validator that dies before it
	// gives the allocation back does so when it starts again.
	left := leftover{IP: t.IP, Port: t.Port, PublicKey: pubPEM}
	if b, err := json.Marshal(left); err == nil {
		if err := v.deps.Store.SetMeta(ctx, pogAllocKey+hotkeyOf(t), string(b)); err != nil {
			return pog.Verdict{}, err
		}
	}
	defer v.giveBack(context.WithoutCancel(ctx), t, pubPEM)
	if err := v.deps.Dendrite.Call(ctx, t, syn, 2*time.Minute); err != nil {
		return pog.Verdict{}, fmt.Errorf("test allocation on %s: %w", t, err)
	}
	var out struct {
		Status  bool   `json:"status"`
		Message string `json:"message"`
		Info    string `json:"info"`
		Reason  string `json:"reason"`
	}
	if err := json.Unmarshal(syn.Output, &out); err != nil {
		return pog.Verdict{}, fmt.Errorf("test allocation: answer: %w", err)
	}
	if !out.Status {
		if out.Reason == allocation.ReasonAlreadyAllocated {
			return pog.Verdict{}, ErrRented
		}
		return pog.Verdict{}, fmt.Errorf("test allocation refused: %s", out.Message)
	}
	creds, err := allocation.DecryptCredentials(rsaKey, out.Info)
	if err != nil {
		return pog.Verdict{}, fmt.Errorf("test allocation: credentials: %w", err)
	}
	if creds.Port <= 0 || creds.Port > 65535 {
		return pog.Verdict{}, fmt.Errorf("test allocation: port %d", creds.Port)
	}
	user := creds.Username
	if user == "" {
		user = "root"
	}
	target := pogrun.Target{Addr: net.JoinHostPort(n.Axon.IP, strconv.Itoa(creds.Port)), User: user, Signer: signer, HostKey: creds.HostKey}
	pctx, cancel := context.WithTimeout(ctx, time.Duration(v.cfg.PoGTimeline)*time.Minute-30*time.Second)
	defer cancel()
	return pogrun.ProveRemote(pctx, target, v.pog.bin, claim, pogrun.Options{Table: v.pog.table, Models: v.pog.models, Log: v.log}), nil
}

// pogAllocKey prefixes the store's record of a test allocation not yet
// given back.
const pogAllocKey = "pog_alloc:"

// leftover is that record: enough to deallocate.
type leftover struct {
	IP        string `json:"ip"`
	Port      int    `json:"port"`
	PublicKey string `json:"public_key"`
}

func hotkeyOf(t dendrite.Target) string { return string(t.Hotkey) }

// giveBack deallocates the test allocation of pubPEM on t (a miner that
// holds none answers so too) and forgets it once the miner has answered.
func (v *Validator) giveBack(ctx context.Context, t dendrite.Target, pubPEM string) {
	rel := protocol.NewAllocate()
	rel.Checking, rel.Timeline, rel.PublicKey = false, 0, pubPEM
	dctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := v.deps.Dendrite.Call(dctx, t, rel, time.Minute); err != nil {
		v.log.Warn("could not give back the proof-of-GPU allocation; it ends at its deadline", "hotkey", t.Hotkey, "minutes", v.cfg.PoGTimeline, "err", err)
		return
	}
	if err := v.deps.Store.DeleteMeta(ctx, pogAllocKey+hotkeyOf(t)); err != nil {
		v.log.Warn("forget a given-back test allocation", "hotkey", t.Hotkey, "err", err)
	}
}

// giveBackLeftovers deallocates the test allocations an earlier run did
// not give back (it stopped mid-proof).
func (v *Validator) giveBackLeftovers(ctx context.Context) {
	left, err := v.deps.Store.MetaPrefix(ctx, pogAllocKey)
	if err != nil {
		v.log.Warn("read leftover test allocations", "err", err)
		return
	}
	for k, js := range left {
		var l leftover
		hotkey := strings.TrimPrefix(k, pogAllocKey)
		if json.Unmarshal([]byte(js), &l) != nil || l.PublicKey == "" {
			v.deps.Store.DeleteMeta(ctx, k)
			continue
		}
		v.log.Info("giving back a test allocation an earlier run left", "hotkey", hotkey)
		v.giveBack(ctx, dendrite.Target{IP: l.IP, Port: l.Port, Hotkey: keys.Hotkey(hotkey)}, l.PublicKey)
	}
}

// VerdictsHandler serves the signed verdict feed: GET /v1/verdicts, a JSON
// array of verdicts, newest first; ?hotkey=SS58 one miner's, ?latest=1 the
// newest of each miner, ?limit=N at most N (default 100, at most 1000).
func (v *Validator) VerdictsHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/verdicts", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		hotkey := q.Get("hotkey")
		if hotkey != "" {
			if _, err := keys.ParseSS58(hotkey); err != nil {
				http.Error(w, `{"error":"hotkey: not an SS58 address"}`, http.StatusBadRequest)
				return
			}
		}
		limit := 100
		if s := q.Get("limit"); s != "" {
			n, err := strconv.Atoi(s)
			if err != nil || n < 1 || n > 1000 {
				http.Error(w, `{"error":"limit: want 1..1000"}`, http.StatusBadRequest)
				return
			}
			limit = n
		}
		var rows []string
		var err error
		if q.Get("latest") == "1" {
			var m map[string]string
			if m, err = v.deps.Store.LatestVerdicts(r.Context()); err == nil {
				for h, js := range m {
					if hotkey == "" || h == hotkey {
						rows = append(rows, js)
					}
				}
			}
		} else {
			rows, err = v.deps.Store.Verdicts(r.Context(), hotkey, limit)
		}
		if err != nil {
			http.Error(w, `{"error":"store"}`, http.StatusInternalServerError)
			return
		}
		out := make([]json.RawMessage, 0, len(rows))
		for _, js := range rows {
			out = append(out, json.RawMessage(js))
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(out)
	})
	return mux
}

// pogCredits are the miners' GPU credits under --validator.scoring pog:
// the latest verdict's model score × verified GPUs (at most 8).
func (v *Validator) pogCredits(ctx context.Context) map[string]float64 {
	latest, err := v.deps.Store.LatestVerdicts(ctx)
	if err != nil {
		v.log.Warn("read verdicts", "err", err)
		return nil
	}
	out := map[string]float64{}
	for h, js := range latest {
		var vd pog.Verdict
		if json.Unmarshal([]byte(js), &vd) == nil {
			out[h] = pog.Credit(vd, v.pog.models)
		}
	}
	return out
}
