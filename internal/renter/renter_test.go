package renter

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sn27/sn27/internal/chain"
	"github.com/sn27/sn27/internal/hwspec"
	"github.com/sn27/sn27/internal/keys"
	"github.com/sn27/sn27/internal/pog"
	"github.com/sn27/sn27/internal/store"
)

func TestParseSize(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		bad  bool
	}{
		{in: "1048576", want: 1 << 20},
		{in: "512MB", want: 512 << 20},
		{in: "256mb", want: 256 << 20},
		{in: "1GB", want: 1 << 30},
		{in: "1.5GiB", want: 3 << 29},
		{in: "10G", want: 10 << 30},
		{in: " 2 TB ", want: 2 << 40},
		{in: "64KiB", want: 64 << 10},
		{in: "0", want: 0},
		{in: "", bad: true},
		{in: "GB", bad: true},
		{in: "-1GB", bad: true},
		{in: "1.5", bad: true},
		{in: "1PB", bad: true},
		{in: "1e30GB", bad: true},
		{in: "lots", bad: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseSize(tt.in)
			if tt.bad {
				if err == nil {
					t.Errorf("ParseSize(%q) = %d; want an error", tt.in, got)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("ParseSize(%q) = %d, %v; want %d", tt.in, got, err, tt.want)
			}
		})
	}
}

func hotkey(t *testing.T, uri string) keys.Hotkey {
	t.Helper()
	p, err := keys.FromURI(uri)
	if err != nil {
		t.Fatal(err)
	}
	return p.Hotkey()
}

func TestSortCandidates(t *testing.T) {
	a, b, c, d := hotkey(t, "//A"), hotkey(t, "//B"), hotkey(t, "//C"), hotkey(t, "//D")
	rep := func(gpuMiB, cpus int64) hwspec.Report {
		var r hwspec.Report
		r.GPU.Capacity, r.CPU.Count = gpuMiB, cpus
		return r
	}
	cs := []candidate{
		{n: chain.Neuron{Hotkey: a, Stake: 10}, rep: rep(0, 64)},
		{n: chain.Neuron{Hotkey: b, Stake: 10, AlphaStake: 500}, rep: rep(0, 1)},
		{n: chain.Neuron{Hotkey: c, Stake: 10}, rep: rep(80<<10, 8)},
		{n: chain.Neuron{Hotkey: d, Stake: 10}, rep: rep(0, 64)},
	}
	sortCandidates(cs)
	want := []keys.Hotkey{b, c, min(a, d), max(a, d)} // stake, then GPU memory, CPUs, then hotkey
	for i, w := range want {
		if cs[i].n.Hotkey != w {
			t.Errorf("position %d = %s; want %s", i, cs[i].n.Hotkey, w)
		}
	}
}

func TestKeyFiles(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "keys")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	kd, err := openKeyDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(dir); fi.Mode().Perm() != 0o700 {
		t.Errorf("keys dir mode %v; want 0700", fi.Mode().Perm())
	}
	priv, err := newRenterKey()
	if err != nil {
		t.Fatal(err)
	}
	h := string(hotkey(t, "//Eve"))
	path, err := kd.saveKey(h, priv)
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 || filepath.Base(path) != h+".pem" {
		t.Errorf("key file %s: %v, %v; want mode 0600", path, fi, err)
	}
	got, err := kd.loadKey(h)
	if err != nil || !got.Equal(priv) {
		t.Fatalf("loadKey = %v; want the saved key", err)
	}
	if got.N.BitLen() != RSABits {
		t.Errorf("key has %d bits", got.N.BitLen())
	}
	if _, err := kd.saveKey("../escape", priv); err == nil {
		t.Error("saveKey accepted a path as hotkey")
	}
	if err := kd.remove(h); err != nil {
		t.Fatal(err)
	}
	if _, err := kd.loadKey(h); !errors.Is(err, errNoKey) {
		t.Errorf("after remove: %v; want errNoKey", err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Errorf("left behind %v", ents)
	}
}

func TestRefusedError(t *testing.T) {
	err := error(&RefusedError{Hotkey: "5F", Op: "allocate", Message: "already allocated"})
	if !errors.Is(err, ErrRefused) || errors.Is(err, ErrNoMatch) {
		t.Errorf("errors.Is on %v", err)
	}
	if !strings.Contains(err.Error(), "already allocated") || !strings.Contains(err.Error(), "allocate") {
		t.Errorf("message %q lacks the miner's reason", err)
	}
}

type fakeChain []chain.Neuron

func (f fakeChain) Neurons(context.Context, chain.NetUID) ([]chain.Neuron, error) { return f, nil }

func newTestService(t *testing.T, ns []chain.Neuron) (*Service, *store.Store) {
	t.Helper()
	st, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "validator.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	s, err := New(Config{NetUID: 1, KeysDir: filepath.Join(t.TempDir(), "keys")}, Deps{Chain: fakeChain(ns), Store: st})
	if err != nil {
		t.Fatal(err)
	}
	return s, st
}

const specs4 = `{"cpu":{"count":4,"frequency":3000},"gpu":{"count":1,"capacity":24576,"details":[{"name":"NVIDIA GeForce RTX 4090","capacity":24576}]},
"hard_disk":{"total":107374182400,"free":53687091200,"used":0},"ram":{"total":17179869184,"available":8589934592},"has_docker":true}`

func TestResourcesAndCandidates(t *testing.T) {
	ctx := context.Background()
	axon := chain.AxonInfo{IP: "10.0.0.2", Port: 8091}
	a, b, c, v := hotkey(t, "//A"), hotkey(t, "//B"), hotkey(t, "//C"), hotkey(t, "//V")
	s, st := newTestService(t, []chain.Neuron{
		{UID: 0, Hotkey: v, Stake: 1e12}, // no specs: not listed
		{UID: 1, Hotkey: a, Axon: axon, Stake: 3},
		{UID: 2, Hotkey: b, Axon: axon, Stake: 2},
		{UID: 3, Hotkey: c, Axon: axon, Stake: 1},
	})
	for _, h := range []keys.Hotkey{a, b, c} {
		if err := st.SetSpecs(ctx, string(h), specs4); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.SetAllocation(ctx, string(a), `{}`, time.Time{}); err != nil {
		t.Fatal(err)
	}
	if err := s.Penalize(ctx, string(b), "flaky"); err != nil {
		t.Fatal(err)
	}
	rs, err := s.Resources(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := Resource{Hotkey: string(a), GPUName: "NVIDIA GeForce RTX 4090", GPUMemoryGB: 24, GPUCount: 1, VCPUs: 4, RAMGB: 8, DiskGB: 50, Allocated: true,
		VerdictAge: -1}
	if len(rs) != 3 || rs[0] != want || rs[1].Allocated {
		t.Errorf("resources = %+v; want 3 starting with %+v", rs, want)
	}

	cs, err := s.candidates(ctx, Request{CPUCount: 2, GPUType: "4090", Timeline: 1})
	if err != nil || len(cs) != 1 || cs[0].n.Hotkey != c {
		t.Errorf("candidates = %v, %v; want only %s (a allocated, b penalised)", cs, err, c)
	}
	_, err = s.Allocate(ctx, Request{CPUCount: 8, Timeline: 1})
	if !errors.Is(err, ErrNoMatch) || !strings.Contains(err.Error(), "cpu count 4 < 8") || !strings.Contains(err.Error(), "1 are allocated, 1 penalised") {
		t.Errorf("oversized Allocate = %v; want ErrNoMatch with the reasons", err)
	}
	if _, err := s.AllocateHotkey(ctx, string(c), Request{GPUType: "h100", Timeline: 1}); !errors.Is(err, ErrNoMatch) {
		t.Errorf("AllocateHotkey of a miner without the GPU = %v; want ErrNoMatch", err)
	}
	if _, err := s.Allocate(ctx, Request{CPUCount: 1}); err == nil || !strings.Contains(err.Error(), "timeline") {
		t.Errorf("Allocate without a timeline = %v", err)
	}
	if err := s.Deallocate(ctx, string(c)); !errors.Is(err, ErrNotAllocated) {
		t.Errorf("Deallocate of a miner not allocated = %v; want ErrNotAllocated", err)
	}
	if err := s.Action(ctx, string(c), "pause", ""); !errors.Is(err, ErrNotAllocated) {
		t.Errorf("Action on a miner not allocated = %v; want ErrNotAllocated", err)
	}
	if err := s.Action(ctx, string(c), "explode", ""); err == nil {
		t.Error("unknown action accepted")
	}
	if err := s.Action(ctx, string(c), "exchange_key", ""); err == nil {
		t.Error("exchange_key without a key accepted")
	}
	if ps, _ := s.Penalized(ctx); ps[string(b)] != "flaky" {
		t.Errorf("penalized = %v", ps)
	}
	if err := s.Depenalize(ctx, string(b)); err != nil {
		t.Fatal(err)
	}
	if err := s.Penalize(ctx, "nope", ""); err == nil {
		t.Error("penalize of a bad hotkey accepted")
	}
}

func TestSSHCommand(t *testing.T) {
	if got := SSHCommand("root", "10.0.0.1", 4444, "/k/5F.known_hosts"); got != "ssh -p 4444 -o UserKnownHostsFile=/k/5F.known_hosts -o StrictHostKeyChecking=yes root@10.0.0.1" {
		t.Errorf("got %q", got)
	}
	if got := SSHCommand("root", "10.0.0.1", 4444, ""); got != "ssh -p 4444 root@10.0.0.1" {
		t.Errorf("got %q", got)
	}
	if got := SSHCommand("root", "2001:db8::1", 22, ""); got != "ssh -p 22 root@2001:db8::1" {
		t.Errorf("got %q", got)
	}
}

// A rental the validator's status round ended (it shares the store, not the
// keys) loses its renter key at the renter's next reconcile; a key with no
// row and no later end (an allocation in flight, or one the miner may hold
// without having answered) is kept.
func TestListingRemovesKeysOfRentalsEndedElsewhere(t *testing.T) {
	ctx := context.Background()
	s, st := newTestService(t, nil)
	a, b := hotkey(t, "//Alice"), hotkey(t, "//Bob")
	for _, h := range []keys.Hotkey{a, b} {
		priv, err := newRenterKey()
		if err != nil {
			t.Fatal(err)
		}
		p, err := s.keys.saveKey(string(h), priv)
		if err != nil {
			t.Fatal(err)
		}
		old := time.Now().Add(-time.Hour)
		if err := os.Chtimes(p, old, old); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.SetAllocation(ctx, string(a), `{}`, time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, err := st.EndAllocation(ctx, string(a), "miner_lost"); err != nil { // the validator's round
		t.Fatal(err)
	}
	if _, err := s.Allocations(ctx); err != nil { // what list-allocations and the API's health loop call
		t.Fatal(err)
	}
	if _, err := os.Stat(s.KeyFile(string(a))); !os.IsNotExist(err) {
		t.Errorf("key of the rental ended elsewhere: %v; want removed", err)
	}
	if _, err := os.Stat(s.KeyFile(string(b))); err != nil {
		t.Errorf("key without a row or an end: %v; want kept", err)
	}
}

func TestFilterResources(t *testing.T) {
	rs := []Resource{
		{Hotkey: "cpu", Verified: true, VerifiedModel: "PoCL CPU", VerifiedGPUs: 1},
		{Hotkey: "h100", Verified: true, VerifiedModel: "NVIDIA H100 80GB HBM3", VerifiedGPUs: 8},
		{Hotkey: "failed", VerdictAge: 60, VerdictFailedStep: pog.StepWork},
		{Hotkey: "never", VerdictAge: -1},
	}
	tests := []struct {
		name string
		f    ResourceFilter
		want []string
	}{
		{"zero filter keeps all", ResourceFilter{}, []string{"cpu", "h100", "failed", "never"}},
		{"verified", ResourceFilter{Verified: true}, []string{"cpu", "h100"}},
		{"model, any case", ResourceFilter{VerifiedModel: "pocl cpu"}, []string{"cpu"}},
		{"model with verified", ResourceFilter{Verified: true, VerifiedModel: "NVIDIA H100 80GB HBM3"}, []string{"h100"}},
		{"model is the whole name", ResourceFilter{VerifiedModel: "H100"}, nil},
		{"model spaces trimmed", ResourceFilter{VerifiedModel: "  PoCL CPU "}, []string{"cpu"}},
		{"unknown model", ResourceFilter{VerifiedModel: "NVIDIA B200"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, r := range FilterResources(rs, tt.f) {
				got = append(got, r.Hotkey)
			}
			if strings.Join(got, ",") != strings.Join(tt.want, ",") {
				t.Errorf("FilterResources(%+v) = %v; want %v", tt.f, got, tt.want)
			}
		})
	}
	if len(rs) != 4 || rs[2].Hotkey != "failed" {
		t.Errorf("FilterResources changed its input: %+v", rs)
	}
}

// Resources shows the latest verdict of each miner beside its claimed
// specs: a passed one as verified with its model and count, a failed one as
// not verified with the failing step, none (or an unreadable one) as never
// proved.
func TestResourcesShowVerdicts(t *testing.T) {
	ctx := context.Background()
	axon := chain.AxonInfo{IP: "10.0.0.2", Port: 8091}
	a, b, c, d := hotkey(t, "//A"), hotkey(t, "//B"), hotkey(t, "//C"), hotkey(t, "//D")
	s, st := newTestService(t, []chain.Neuron{
		{UID: 1, Hotkey: a, Axon: axon}, {UID: 2, Hotkey: b, Axon: axon}, {UID: 3, Hotkey: c, Axon: axon}, {UID: 4, Hotkey: d, Axon: axon},
	})
	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	s.now = func() time.Time { return now }
	for _, h := range []keys.Hotkey{a, b, c, d} {
		if err := st.SetSpecs(ctx, string(h), specs4); err != nil {
			t.Fatal(err)
		}
	}
	add := func(v pog.Verdict) {
		t.Helper()
		js, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		if err := st.AddVerdict(ctx, v.Hotkey, v.Block, v.Passed, string(js)); err != nil {
			t.Fatal(err)
		}
	}
	// a: failed first, then passed; the latest counts.
	add(pog.Verdict{Hotkey: string(a), Block: 90, Time: now.Add(-time.Hour), FailedStep: pog.StepConnect, ClaimedModel: "PoCL CPU", ClaimedGPUs: 1})
	add(pog.Verdict{Hotkey: string(a), Block: 100, Time: now.Add(-3 * time.Minute), Passed: true, Model: "PoCL CPU", GPUs: 1,
		ClaimedModel: "PoCL CPU", ClaimedGPUs: 1})
	// b: passed first, then failed at work.
	add(pog.Verdict{Hotkey: string(b), Block: 80, Time: now.Add(-2 * time.Hour), Passed: true, Model: "NVIDIA GeForce RTX 4090", GPUs: 1})
	add(pog.Verdict{Hotkey: string(b), Block: 110, Time: now.Add(-30 * time.Second), Model: "NVIDIA GeForce RTX 4090",
		ClaimedModel: "NVIDIA GeForce RTX 4090", ClaimedGPUs: 1, FailedStep: pog.StepWork, Reason: "work root mismatch"})
	// c: a row that is not a verdict.
	if err := st.AddVerdict(ctx, string(c), 120, true, `{"passed":"yes","time":12}`); err != nil {
		t.Fatal(err)
	}
	// d: never proved.

	rs, err := s.Resources(ctx)
	if err != nil {
		t.Fatalf("Resources with an unreadable verdict: %v", err)
	}
	if len(rs) != 4 {
		t.Fatalf("resources = %+v; want 4", rs)
	}
	byKey := map[keys.Hotkey]Resource{}
	for _, r := range rs {
		byKey[keys.Hotkey(r.Hotkey)] = r
	}
	claimed := Resource{GPUName: "NVIDIA GeForce RTX 4090", GPUMemoryGB: 24, GPUCount: 1, VCPUs: 4, RAMGB: 8, DiskGB: 50}
	with := func(h keys.Hotkey, f func(*Resource)) Resource {
		r := claimed
		r.Hotkey = string(h)
		f(&r)
		return r
	}
	want := map[keys.Hotkey]Resource{
		a: with(a, func(r *Resource) {
			r.Verified, r.VerifiedModel, r.VerifiedGPUs, r.VerdictAge, r.VerdictBlock = true, "PoCL CPU", 1, 180, 100
		}),
		b: with(b, func(r *Resource) { r.VerdictAge, r.VerdictBlock, r.VerdictFailedStep = 30, 110, pog.StepWork }),
		c: with(c, func(r *Resource) { r.VerdictAge = -1 }),
		d: with(d, func(r *Resource) { r.VerdictAge = -1 }),
	}
	for h, w := range want {
		if got := byKey[h]; got != w {
			t.Errorf("resource %s:\n got %+v\nwant %+v", h, got, w)
		}
	}
	if byKey[c].HasVerdict() || !byKey[b].HasVerdict() {
		t.Errorf("HasVerdict: unreadable %v, failed %v; want false, true", byKey[c].HasVerdict(), byKey[b].HasVerdict())
	}
	if got := FilterResources(rs, ResourceFilter{Verified: true}); len(got) != 1 || got[0].Hotkey != string(a) {
		t.Errorf("verified resources = %+v; want only %s", got, a)
	}

	js, err := json.Marshal(byKey[a])
	if err != nil {
		t.Fatal(err)
	}
	for _, field := range []string{`"verified":true`, `"verified_model":"PoCL CPU"`, `"verified_gpus":1`, `"verdict_age_s":180`, `"verdict_block":100`} {
		if !strings.Contains(string(js), field) {
			t.Errorf("JSON %s lacks %s", js, field)
		}
	}
	if js, _ := json.Marshal(byKey[d]); !strings.Contains(string(js), `"verdict_age_s":-1`) || strings.Contains(string(js), "verified_model") {
		t.Errorf("JSON of a miner never proved = %s; want verdict_age_s -1 and no verified_model", js)
	}
}
