package pogrun

import (
	"bufio"
	"context"
	crand "crypto/rand"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/sn27/sn27/internal/pog"
)

// Conn is the validator's link to a prover: its stdin (Write), its stdout
// (Read). Close ends it (and unblocks a read).
type Conn interface {
	io.Reader
	io.Writer
	Close() error
}

// Claim is what a miner says it has.
type Claim struct {
	Hotkey   string
	Model    string // GPU name from its hardware report, e.g. "NVIDIA H100 80GB HBM3"
	Count    int
	MemBytes uint64 // memory of one GPU as claimed (a CPU device: its flag-sized share)
	// HostCPUs are the cores the miner reports: the test allocation asks
	// for up to 4 per GPU, for the prover's hashing of C's rows.
	HostCPUs int
}

// Options tune Prove.
type Options struct {
	Table    *pog.Table
	Models   []pog.Model // the usable entries of Table
	Openings int         // k, rows and chunks opened per device (at least pog.MinOpenings)
	Cols     int         // elements recomputed per opened row (default 8)
	Log      *slog.Logger
}

// Prove drives one proof over c and returns the verdict's findings
// (unsigned: hotkey, claim, steps, evidence). It never returns an error: a
// prover that fails, lies, is late or sends garbage fails the verdict, with
// the step and why. c is closed when Prove returns.
func Prove(ctx context.Context, c Conn, claim Claim, o Options) pog.Verdict {
	start := time.Now()
	if o.Openings < pog.MinOpenings {
		o.Openings = pog.MinOpenings
	}
	if o.Cols <= 0 {
		o.Cols = 8
	}
	o.Log = o.logger()
	d := &driver{c: c, r: bufio.NewReaderSize(c, 64<<10), o: o, claim: claim,
		rnd: rand.New(rand.NewChaCha8(seed32()))}
	v := pog.Verdict{Version: pog.VerdictVersion, Hotkey: claim.Hotkey, ClaimedModel: claim.Model, ClaimedGPUs: claim.Count}
	if o.Table != nil {
		v.TableVersion = o.Table.Version
	}
	err := d.run(ctx, &v)
	d.bye()
	c.Close()
	v.Millis = ms(time.Since(start))
	v.RTTMillis = ms(d.rtt)
	if err != nil {
		var se *stepError
		if errors.As(err, &se) {
			v.FailedStep, v.Reason = se.step, se.msg
		} else {
			v.FailedStep, v.Reason = pog.StepIdentify, err.Error()
		}
		v.Passed, v.GPUs = false, 0
		return v
	}
	return v
}

func (o Options) logger() *slog.Logger {
	if o.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return o.Log
}

type stepError struct{ step, msg string }

func (e *stepError) Error() string { return e.step + ": " + e.msg }

func stepErr(step, format string, a ...any) error {
	return &stepError{step: step, msg: fmt.Sprintf(format, a...)}
}

type driver struct {
	c     Conn
	r     *bufio.Reader
	o     Options
	claim Claim
	rnd   *rand.Rand
	rtt   time.Duration
	dead  bool
}

// seed32 seeds the choice of openings. crypto/rand's Read never fails
// (Go 1.24 and later).
func seed32() [32]byte {
	var s [32]byte
	crand.Read(s[:])
	return s
}

// seed is a fresh unpredictable 64-bit seed.
func seed() uint64 {
	var b [8]byte
	crand.Read(b[:])
	return binary.LittleEndian.Uint64(b[:])
}

// call sends req and waits at most limit for the answer.
func (d *driver) call(ctx context.Context, step string, req pog.Request, limit time.Duration) (pog.Response, time.Duration, error) {
	if d.dead {
		return pog.Response{}, 0, stepErr(step, "connection closed")
	}
	b, err := json.Marshal(req)
	if err != nil {
		return pog.Response{}, 0, err
	}
	start := time.Now()
	type answer struct {
		line []byte
		err  error
	}
	ch := make(chan answer, 1)
	go func() {
		l, err := readLine(d.r, pog.MaxLine)
		ch <- answer{l, err}
	}()
	if _, err := d.c.Write(append(b, '\n')); err != nil {
		d.kill()
		<-ch
		return pog.Response{}, 0, stepErr(step, "send: %v", err)
	}
	t := time.NewTimer(limit)
	defer t.Stop()
	var a answer
	select {
	case a = <-ch:
	case <-t.C:
		d.kill()
		<-ch
		return pog.Response{}, time.Since(start), stepErr(step, "no answer within %.2f s (late)", limit.Seconds())
	case <-ctx.Done():
		d.kill()
		<-ch
		return pog.Response{}, time.Since(start), stepErr(step, "cancelled: %v", ctx.Err())
	}
	took := time.Since(start)
	if a.err != nil {
		d.kill()
		if errors.Is(a.err, io.EOF) {
			return pog.Response{}, took, stepErr(step, "the prover ended without answering")
		}
		return pog.Response{}, took, stepErr(step, "read answer: %v", a.err)
	}
	var resp pog.Response
	if err := json.Unmarshal(a.line, &resp); err != nil {
		d.kill()
		return pog.Response{}, took, stepErr(step, "malformed answer (%d bytes): %v", len(a.line), err)
	}
	if resp.Error != "" {
		return resp, took, stepErr(step, "prover: %s", clip(resp.Error, 300))
	}
	return resp, took, nil
}

func (d *driver) kill() {
	d.dead = true
	d.c.Close()
}

func (d *driver) bye() {
	if d.dead {
		return
	}
	b, _ := json.Marshal(pog.Request{Op: pog.OpBye})
	d.c.Write(append(b, '\n'))
}

func clip(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// dev is one device under proof.
type dev struct {
	info pog.DeviceInfo
	plan pog.Plan
	v    *pog.DeviceVerdict
}

func (d *driver) run(ctx context.Context, v *pog.Verdict) error {
	o, claim := d.o, d.claim
	if claim.Count <= 0 {
		return stepErr(pog.StepIdentify, "the miner claims no GPU")
	}
	model, ok := pog.Claimed(o.Models, claim.Model)
	if !ok {
		return stepErr(pog.StepIdentify, "claimed model %q is not in model table v%d", claim.Model, v.TableVersion)
	}
	v.Estimated = model.Estimated

	// Identify (twice: the second answer times the round trip).
	resp, _, err := d.call(ctx, pog.StepIdentify, pog.Request{Op: pog.OpIdentify}, 60*time.Second)
	if err != nil {
		return err
	}
	if _, d.rtt, err = d.call(ctx, pog.StepIdentify, pog.Request{Op: pog.OpIdentify}, 10*time.Second); err != nil {
		return err
	}
	if len(resp.Devices) > pog.MaxDevices*4 {
		return stepErr(pog.StepIdentify, "%d devices reported", len(resp.Devices))
	}
	devs, err := d.pick(resp.Devices, model)
	if err != nil {
		return err
	}
	for _, x := range devs {
		v.Devices = append(v.Devices, pog.DeviceVerdict{Device: x.info})
	}
	for i := range devs {
		devs[i].v = &v.Devices[i]
	}
	claimed := claim.MemBytes
	if claimed == 0 {
		claimed = uint64(model.VRAMGiB[0] * (1 << 30))
	}
	plan, err := pog.PlanFor(model, claimed, d.rtt)
	if err != nil {
		return stepErr(pog.StepIdentify, "%v", err)
	}
	for i := range devs {
		x := &devs[i]
		x.plan = plan
		x.v.N, x.v.SeedA, x.v.SeedB = plan.N, seed(), seed()
		x.v.MemBytes, x.v.Chunks, x.v.Words, x.v.Rounds = plan.Bytes(), plan.Chunks, plan.Words, plan.Rounds
		x.v.FillSeed, x.v.PassSeed = seed(), seed()
		x.v.Cols = o.Cols
	}
	if err := d.work(ctx, devs); err != nil {
		return err
	}
	if err := d.memory(ctx, devs); err != nil {
		return err
	}

	// Every check held: which model do the figures say?
	verified := 0
	for _, x := range devs {
		mem := x.info.VRAMBytes
		if x.info.Type == "cpu" {
			mem = claimed
		}
		m, _ := pog.Identify(o.Models, pog.Measured{Type: x.info.Type, Name: x.info.Name, VRAMBytes: mem,
			FP32GFLOPS: x.v.GFLOPS, MemGBps: x.v.MemGBps}, model.Name)
		x.v.Model = m.Name
		if m.Name == model.Name {
			x.v.Passed = true
			verified++
			continue
		}
		x.v.FailedStep = pog.StepIdentify
		x.v.Reason = fmt.Sprintf("measured %.0f GFLOP/s, %.1f GB/s, %.1f GiB: %s, not the claimed %s",
			x.v.GFLOPS, x.v.MemGBps, float64(mem)/(1<<30), describe(m.Name), model.Name)
	}
	if verified < len(devs) {
		for _, x := range devs {
			if !x.v.Passed {
				return stepErr(pog.StepIdentify, "device %d: %s", x.info.Index, x.v.Reason)
			}
		}
	}
	v.Passed, v.Model, v.GPUs = true, model.Name, verified
	return nil
}

func describe(name string) string {
	if name == pog.Unknown {
		return "no model of the table fits"
	}
	return "that is a " + name
}

// pick chooses the devices that must prove the claim: the first Count of the
// claimed model's type, distinct by bus id and UUID where reported, each
// holding the claimed memory.
func (d *driver) pick(all []pog.DeviceInfo, m pog.Model) ([]dev, error) {
	var out []dev
	var seen []string
	for i, info := range all {
		if info.Index != i {
			return nil, stepErr(pog.StepIdentify, "device %d reports index %d", i, info.Index)
		}
		ok := info.Type == m.Type || (m.Type == "gpu" && info.Type == "accelerator")
		if !ok || len(out) == d.claim.Count {
			continue
		}
		for _, id := range []string{info.PCIBusID, info.UUID} {
			if id == "" {
				continue
			}
			for _, s := range seen {
				if strings.EqualFold(s, id) {
					return nil, stepErr(pog.StepIdentify, "two devices report %s", id)
				}
			}
			seen = append(seen, id)
		}
		if m.Type == "gpu" && d.claim.MemBytes > 0 && float64(info.VRAMBytes) < 0.95*float64(d.claim.MemBytes) {
			return nil, stepErr(pog.StepIdentify, "device %d (%s) holds %.1f GiB, the claim is %.1f GiB", i, info.Name,
				float64(info.VRAMBytes)/(1<<30), float64(d.claim.MemBytes)/(1<<30))
		}
		out = append(out, dev{info: info})
	}
	if len(out) < d.claim.Count {
		types := make([]string, len(all))
		for i, x := range all {
			types[i] = x.Type + " " + x.Name
		}
		return nil, stepErr(pog.StepIdentify, "claimed %d× %s; %d %s device(s) seen: [%s]", d.claim.Count, d.claim.Model,
			len(out), m.Type, strings.Join(types, "; "))
	}
	return out, nil
}

// maxDeadline is the longest of the devices' deadlines.
func maxDeadline(devs []dev, f func(pog.Plan) time.Duration) time.Duration {
	var m time.Duration
	for _, x := range devs {
		m = max(m, f(x.plan))
	}
	return m
}

// results checks that resp has one good result per device, in order.
func results(step string, resp pog.Response, devs []dev, wantRoot bool) error {
	if len(resp.Results) != len(devs) {
		return stepErr(step, "%d results for %d devices", len(resp.Results), len(devs))
	}
	for i, r := range resp.Results {
		if r.Device != devs[i].info.Index {
			return stepErr(step, "result %d is for device %d, not %d", i, r.Device, devs[i].info.Index)
		}
		if r.Error != "" {
			return stepErr(step, "device %d: %s", r.Device, clip(r.Error, 300))
		}
		if wantRoot && r.Root.IsZero() {
			return stepErr(step, "device %d: no root", r.Device)
		}
	}
	return nil
}

// sample returns k distinct indices of [0, n) (all of them when n <= k).
func (d *driver) sample(n, k int) []int {
	if n <= k {
		out := make([]int, n)
		for i := range out {
			out[i] = i
		}
		return out
	}
	seen := map[int]bool{}
	var out []int
	for len(out) < k {
		i := d.rnd.IntN(n)
		if !seen[i] {
			seen[i] = true
			out = append(out, i)
		}
	}
	return out
}

func (d *driver) opened(step string, resp pog.Response, devs []dev, asked [][]int) error {
	if len(resp.Opened) != len(devs) {
		return stepErr(step, "%d openings for %d devices", len(resp.Opened), len(devs))
	}
	for i, o := range resp.Opened {
		if o.Device != devs[i].info.Index || len(o.Items) != len(asked[i]) {
			return stepErr(step, "device %d: %d items for %d asked", o.Device, len(o.Items), len(asked[i]))
		}
		for j, it := range o.Items {
			if it.Index != asked[i][j] {
				return stepErr(step, "device %d: item %d opens %d, not %d", o.Device, j, it.Index, asked[i][j])
			}
			if len(it.Path) > 64 {
				return stepErr(step, "device %d: path of %d hashes", o.Device, len(it.Path))
			}
		}
	}
	return nil
}

func (d *driver) work(ctx context.Context, devs []dev) error {
	req := pog.Request{Op: pog.OpWork}
	for _, x := range devs {
		req.Work = append(req.Work, pog.WorkJob{Device: x.info.Index, N: x.v.N, SeedA: x.v.SeedA, SeedB: x.v.SeedB})
	}
	limit := maxDeadline(devs, func(p pog.Plan) time.Duration { return p.WorkDeadline })
	resp, took, err := d.call(ctx, pog.StepWork, req, limit)
	if err != nil {
		return err
	}
	if err := results(pog.StepWork, resp, devs, true); err != nil {
		return err
	}
	compute := max(took-d.rtt, time.Millisecond)
	for i, x := range devs {
		x.v.WorkRoot = resp.Results[i].Root
		x.v.WorkMillis = ms(took)
		x.v.GFLOPS = x.plan.Flops() / compute.Seconds() / 1e9
	}
	// Openings, chosen only now that the roots are committed.
	open := pog.Request{Op: pog.OpOpen}
	asked := make([][]int, len(devs))
	for i, x := range devs {
		asked[i] = d.sample(x.v.N, d.o.Openings)
		x.v.Rows = asked[i]
		open.Open = append(open.Open, pog.OpenJob{Device: x.info.Index, Indices: asked[i]})
	}
	resp, _, err = d.call(ctx, pog.StepOpen, open, 60*time.Second+20*d.rtt)
	if err != nil {
		return err
	}
	if err := d.opened(pog.StepOpen, resp, devs, asked); err != nil {
		return err
	}
	for i, o := range resp.Opened {
		x := devs[i]
		for _, it := range o.Items {
			cols := d.sample(x.v.N, d.o.Cols)
			if err := pog.CheckRow(x.v.WorkRoot, x.v.N, it.Index, it.Row, it.Path, x.v.SeedA, x.v.SeedB, cols); err != nil {
				return stepErr(pog.StepOpen, "device %d: %v", x.info.Index, err)
			}
		}
	}
	return nil
}

func (d *driver) memory(ctx context.Context, devs []dev) error {
	fill := pog.Request{Op: pog.OpFill}
	for _, x := range devs {
		fill.Fill = append(fill.Fill, pog.FillJob{Device: x.info.Index, Chunks: x.v.Chunks, Words: x.v.Words, Rounds: x.v.Rounds, Seed: x.v.FillSeed})
	}
	resp, took, err := d.call(ctx, pog.StepFill, fill, maxDeadline(devs, func(p pog.Plan) time.Duration { return p.FillDeadline }))
	if err != nil {
		return err
	}
	if err := results(pog.StepFill, resp, devs, false); err != nil {
		return err
	}
	for _, x := range devs {
		x.v.FillMillis = ms(took)
	}
	// The pass seed is sent only now: no digest can exist before the fill.
	pass := pog.Request{Op: pog.OpPass}
	for _, x := range devs {
		pass.Pass = append(pass.Pass, pog.PassJob{Device: x.info.Index, Seed: x.v.PassSeed})
	}
	resp, took, err = d.call(ctx, pog.StepPass, pass, maxDeadline(devs, func(p pog.Plan) time.Duration { return p.PassDeadline }))
	if err != nil {
		return err
	}
	if err := results(pog.StepPass, resp, devs, true); err != nil {
		return err
	}
	compute := max(took-d.rtt, time.Millisecond)
	for i, x := range devs {
		x.v.MemRoot = resp.Results[i].Root
		x.v.PassMillis = ms(took)
		x.v.MemGBps = float64(x.v.MemBytes) / compute.Seconds() / 1e9
	}
	open := pog.Request{Op: pog.OpOpenMem}
	asked := make([][]int, len(devs))
	for i, x := range devs {
		asked[i] = d.sample(x.v.Chunks, d.o.Openings)
		x.v.Opened = asked[i]
		open.OpenMem = append(open.OpenMem, pog.OpenJob{Device: x.info.Index, Indices: asked[i]})
	}
	resp, _, err = d.call(ctx, pog.StepOpenMem, open, 30*time.Second+20*d.rtt)
	if err != nil {
		return err
	}
	if err := d.opened(pog.StepOpenMem, resp, devs, asked); err != nil {
		return err
	}
	buf := make([]uint64, 0, 1<<12)
	for i, o := range resp.Opened {
		x := devs[i]
		for _, it := range o.Items {
			if err := pog.CheckChunk(x.v.MemRoot, x.v.Chunks, it.Index, it.Digest, it.Path, x.v.FillSeed, x.v.Rounds, x.v.Words, x.v.PassSeed, buf); err != nil {
				return stepErr(pog.StepOpenMem, "device %d: %v", x.info.Index, err)
			}
		}
	}
	return nil
}

// ProveLocal runs a whole proof in this process: Serve on b and Prove
// against it, joined by pipes (sn27 pog prove; nothing is signed or sent).
func ProveLocal(ctx context.Context, b Backend, claim Claim, o Options) pog.Verdict {
	reqR, reqW := io.Pipe()
	respR, respW := io.Pipe()
	done := make(chan struct{})
	go func() {
		defer close(done)
		Serve(ctx, reqR, respW, b)
		respW.Close()
	}()
	v := Prove(ctx, pipeEnds{Reader: respR, Writer: reqW, closers: []io.Closer{reqW, respR}}, claim, o)
	reqR.Close()
	<-done
	return v
}

// pipeEnds is the validator's end of an in-process prover.
type pipeEnds struct {
	io.Reader
	io.Writer
	closers []io.Closer
}

func (p pipeEnds) Close() error {
	for _, c := range p.closers {
		c.Close()
	}
	return nil
}
