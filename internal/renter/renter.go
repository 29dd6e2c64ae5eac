package renter

import (
	"cmp"
	"context"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
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
	"github.com/sn27/sn27/internal/protocol"
	"github.com/sn27/sn27/internal/rental"
	"github.com/sn27/sn27/internal/store"
)

// Chain is the part of the subtensor client the renter uses.
type Chain interface {
	Neurons(ctx context.Context, netuid chain.NetUID) ([]chain.Neuron, error)
}

// Config configures the Service.
type Config struct {
	NetUID  chain.NetUID
	KeysDir string        // renter RSA keys, one per allocation, 0600 in a 0700 dir
	Timeout time.Duration // per Allocate synapse
}

// DefaultConfig returns the defaults (KeysDir has none: the caller sets it).
func DefaultConfig() Config { return Config{NetUID: 27, Timeout: 2 * time.Minute} }

// Deps are the Service's collaborators. Chain and Dendrite may be nil for
// the store-only operations (Allocations, penalties).
type Deps struct {
	Chain    Chain
	Store    *store.Store
	Dendrite *dendrite.Dendrite
	Log      *slog.Logger
}

var (
	// ErrNoMatch reports that no available miner meets a request.
	ErrNoMatch = errors.New("no available miner meets the request")
	// ErrNotAllocated reports an operation on a miner this renter has not
	// allocated (or whose allocation has ended).
	ErrNotAllocated = errors.New("not allocated")
	// ErrRefused reports a miner's refusal (status false); the error's text
	// carries the miner's message. See RefusedError.
	ErrRefused = errors.New("refused by the miner")
	// ErrUnknownHotkey reports a hotkey that is not registered on the subnet.
	ErrUnknownHotkey = errors.New("hotkey not registered on the subnet")
	// ErrAlreadyAllocated reports a miner this renter already holds.
	ErrAlreadyAllocated = errors.New("already allocated")
	// ErrBusy reports a miner that another request of this Service is
	// allocating or deallocating (an allocation that loses that race also
	// wraps ErrAlreadyAllocated).
	ErrBusy = errors.New("another request is allocating or deallocating this miner")
	// ErrInvalid reports a request that is wrong in itself (a bad SSH key, a
	// timeline beyond the miner's limit, negative counts): the renter's
	// check or the miner's refusal says why.
	ErrInvalid = errors.New("invalid request")
)

// errMaybeAllocated marks an allocate request left without an answer: the
// miner may hold the allocation, so no other miner is tried.
var errMaybeAllocated = errors.New("the miner did not answer the allocate request and may have allocated anyway")

// refusedUnread reports whether an axon answers code before its handler
// runs (bittensor's order: headers, blacklist, signature and nonce, rate):
// the request was refused unread. A timeout (408) or a server error may
// come after the handler acted, so they are not.
func refusedUnread(code int) bool {
	switch code {
	case 400, 401, 403, 413, 429, 431:
		return true
	}
	return false
}

// RefusedError is a miner's refusal: errors.Is(err, ErrRefused) holds.
type RefusedError struct {
	Hotkey  string
	Op      string // check, allocate, deallocate or the docker action
	Message string // the miner's message ("" when it gave none)
	Reason  string // the sn27 miner's reason code: invalid_request, already_allocated ("" none)
}

func (e *RefusedError) Error() string {
	msg := e.Message
	if msg == "" {
		msg = "no reason given"
	}
	return fmt.Sprintf("miner %s refused %s: %s", e.Hotkey, e.Op, msg)
}

// Is makes errors.Is(err, ErrRefused) hold, and ErrInvalid or
// ErrAlreadyAllocated when the miner said that was the reason.
func (e *RefusedError) Is(target error) bool {
	switch target {
	case ErrRefused:
		return true
	case ErrInvalid:
		return e.Reason == allocation.ReasonInvalid
	case ErrAlreadyAllocated:
		return e.Reason == allocation.ReasonAlreadyAllocated
	}
	return false
}

// Service runs the renter operations.
type Service struct {
	cfg  Config
	d    Deps
	log  *slog.Logger
	keys *keyDir
	now  func() time.Time

	// The metagraph as read by Check, reused for a few seconds: the API's
	// health loop checks every rental each interval.
	cacheMu sync.Mutex
	cacheAt time.Time
	cacheNs []chain.Neuron

	// The miners an allocation or deallocation is under way on: one at a
	// time per miner, as its renter key and files are named by its hotkey.
	busyMu sync.Mutex
	busy   map[string]bool
}

// New returns a Service; it creates KeysDir (0700) if needed.
func New(cfg Config, d Deps) (*Service, error) {
	if d.Store == nil {
		return nil, errors.New("renter: no store")
	}
	if cfg.KeysDir == "" {
		return nil, errors.New("renter: no keys directory")
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultConfig().Timeout
	}
	kd, err := openKeyDir(cfg.KeysDir)
	if err != nil {
		return nil, err
	}
	log := d.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Service{cfg: cfg, d: d, log: log.With("component", "renter"), keys: kd, now: time.Now, busy: map[string]bool{}}, nil
}

// claim marks hotkey busy until release is called, or returns ErrBusy. A
// request that loses the race for a miner so gets its answer at once,
// without touching the winner's renter key (saving its own over it, or
// removing it after the miner's refusal).
func (s *Service) claim(hotkey string) (release func(), err error) {
	s.busyMu.Lock()
	defer s.busyMu.Unlock()
	if s.busy[hotkey] {
		return nil, ErrBusy
	}
	s.busy[hotkey] = true
	return func() {
		s.busyMu.Lock()
		defer s.busyMu.Unlock()
		delete(s.busy, hotkey)
	}, nil
}

// KeyFile returns the path of the renter key of hotkey's allocation.
func (s *Service) KeyFile(hotkey string) string { return s.keys.keyPath(hotkey) }

// Resource is a miner with stored specs: what it offers, whether this
// validator has allocated it, and what the validator's proof of GPU found.
// GPUName and GPUCount are what the miner claims; the Verified fields are
// what its latest verdict proved.
type Resource struct {
	Hotkey      string  `json:"hotkey"`
	GPUName     string  `json:"gpu_name"`
	GPUMemoryGB float64 `json:"gpu_memory_gb"` // total, GiB
	GPUCount    int     `json:"gpu_count"`
	VCPUs       int     `json:"vcpus"`   // physical cores reported
	RAMGB       float64 `json:"ram_gb"`  // available RAM, GiB
	DiskGB      float64 `json:"disk_gb"` // free disk, GiB
	Allocated   bool    `json:"allocated"`

	// Verified: the miner's latest proof-of-GPU verdict passed.
	Verified bool `json:"verified"`
	// VerifiedModel and VerifiedGPUs are the model and the number of its
	// devices the latest verdict proved; "" and 0 unless Verified.
	VerifiedModel string `json:"verified_model,omitempty"`
	VerifiedGPUs  int    `json:"verified_gpus,omitempty"`
	// VerdictAge is the latest verdict's age in seconds, and -1 when the
	// miner has no verdict (never proved, or its verdict is unreadable).
	VerdictAge float64 `json:"verdict_age_s"`
	// VerdictBlock is the block the latest verdict's proof started at; 0
	// without a verdict.
	VerdictBlock uint64 `json:"verdict_block,omitempty"`
	// VerdictFailedStep is the step a failed latest verdict failed at
	// (pog.StepAllocate, StepConnect, StepIdentify, StepWork, ...); "" when
	// it passed or there is none.
	VerdictFailedStep string `json:"verdict_failed_step,omitempty"`
}

// HasVerdict reports whether the miner has a (readable) verdict.
func (r Resource) HasVerdict() bool { return r.VerdictAge >= 0 }

const gib = 1 << 30

// ResourceFilter selects resources by their proof of GPU. The zero value
// selects every resource.
type ResourceFilter struct {
	// Verified keeps only the miners whose latest verdict passed.
	Verified bool
	// VerifiedModel keeps only the miners whose latest verdict passed and
	// proved this model (the whole name, case-insensitive, such as
	// "nvidia h100 80gb hbm3"); it implies Verified.
	VerifiedModel string
}

// FilterResources returns the resources of rs that f selects, in order.
func FilterResources(rs []Resource, f ResourceFilter) []Resource {
	model := strings.TrimSpace(f.VerifiedModel)
	var out []Resource
	for _, r := range rs {
		switch {
		case (f.Verified || model != "") && !r.Verified:
			continue
		case model != "" && !strings.EqualFold(r.VerifiedModel, model):
			continue
		}
		out = append(out, r)
	}
	return out
}

// applyVerdict fills r's proof-of-GPU fields from the verdict JSON js
// ("" none); a verdict that cannot be read, or is of another miner, counts
// as none.
func applyVerdict(r *Resource, js string, now time.Time) {
	r.VerdictAge = -1
	if js == "" {
		return
	}
	var v pog.Verdict
	if err := json.Unmarshal([]byte(js), &v); err != nil || v.Hotkey != "" && v.Hotkey != r.Hotkey || v.Time.IsZero() {
		return
	}
	r.VerdictAge = max(now.Sub(v.Time).Seconds(), 0)
	r.VerdictBlock = v.Block
	if v.Passed {
		r.Verified, r.VerifiedModel, r.VerifiedGPUs = true, v.Model, v.GPUs
		return
	}
	r.VerdictFailedStep = cmp.Or(v.FailedStep, "unknown")
}

// Resources lists the metagraph's miners that have stored specs, in uid
// order, with their latest proof-of-GPU verdict.
func (s *Service) Resources(ctx context.Context) ([]Resource, error) {
	ns, err := s.neurons(ctx)
	if err != nil {
		return nil, err
	}
	allocated, err := s.d.Store.Allocated(ctx)
	if err != nil {
		return nil, err
	}
	verdicts, err := s.d.Store.LatestVerdicts(ctx)
	if err != nil {
		return nil, err
	}
	now := s.now()
	var out []Resource
	for _, n := range ns {
		rep, ok, err := s.specs(ctx, string(n.Hotkey))
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		r := Resource{
			Hotkey: string(n.Hotkey), GPUMemoryGB: float64(rep.GPU.Capacity) / 1024, GPUCount: int(rep.GPU.Count),
			VCPUs: int(rep.CPU.Count), RAMGB: float64(rep.RAM.Available) / gib, DiskGB: float64(rep.HardDisk.Free) / gib,
			Allocated: allocated[string(n.Hotkey)],
		}
		if len(rep.GPU.Details) > 0 {
			r.GPUName = rep.GPU.Details[0].Name
		}
		applyVerdict(&r, verdicts[r.Hotkey], now)
		out = append(out, r)
	}
	return out, nil
}

// Request is what a renter asks for. Zero fields ask for nothing.
type Request struct {
	CPUCount     int64
	GPUCount     int64
	GPUType      string // case-insensitive substring of the GPU name
	GPUMemoryMiB int64  // total GPU memory; the miner's must exceed it
	RAMBytes     int64
	DiskBytes    int64
	Timeline     int64  // minutes, at least 1
	SSHKey       string // OpenSSH public key line; "" makes the miner set a root password
}

func (r Request) requirement() hwspec.Requirement {
	return hwspec.Requirement{CPUCount: r.CPUCount, GPUCount: r.GPUCount, GPUCapacityMiB: r.GPUMemoryMiB,
		GPUType: r.GPUType, DiskBytes: r.DiskBytes, RAMBytes: r.RAMBytes}
}

// MaxTimeline is the longest rental a request may ask for, in minutes (ten
// years): far beyond any miner's limit, far below an overflow.
const MaxTimeline = 10 * 365 * 24 * 60

func (r Request) check() error {
	switch {
	case r.Timeline < 1 || r.Timeline > MaxTimeline:
		return fmt.Errorf("%w: timeline %d minutes is outside 1..%d", ErrInvalid, r.Timeline, MaxTimeline)
	case r.CPUCount < 0 || r.GPUCount < 0 || r.GPUMemoryMiB < 0 || r.RAMBytes < 0 || r.DiskBytes < 0:
		return fmt.Errorf("%w: negative resource request", ErrInvalid)
	}
	if key := strings.TrimSpace(r.SSHKey); key != "" {
		if strings.ContainsAny(key, "\r\n") {
			return fmt.Errorf("%w: ssh key must be one OpenSSH public key line", ErrInvalid)
		}
		if _, _, _, _, err := ssh.ParseAuthorizedKey([]byte(key)); err != nil {
			return fmt.Errorf("%w: ssh key: not an OpenSSH public key: %v", ErrInvalid, err)
		}
	}
	return nil
}

// Allocation is a successful allocation: how to log in.
type Allocation struct {
	Hotkey     string    `json:"hotkey"`
	Host       string    `json:"host"`
	Port       int       `json:"port"`
	Username   string    `json:"username"`
	Password   string    `json:"password,omitempty"` // "" when an SSH key was given
	SSHCommand string    `json:"ssh_command"`
	Deadline   time.Time `json:"deadline"`
	// HostKey is the container's SSH host key the miner sent (encrypted),
	// and KnownHosts the file pinning it, which SSHCommand uses; both
	// empty when the miner sent none (SSHCommand then trusts on first use).
	HostKey    string `json:"host_key,omitempty"`
	KnownHosts string `json:"known_hosts,omitempty"`
}

// candidate is a miner that meets a request.
type candidate struct {
	n   chain.Neuron
	rep hwspec.Report
}

// sortCandidates orders by stake (highest first), then free resources (GPU
// memory, GPU count, CPU cores, available RAM, free disk; most first), then
// hotkey.
func sortCandidates(cs []candidate) {
	slices.SortStableFunc(cs, func(a, b candidate) int {
		return cmp.Or(
			cmp.Compare(b.n.TotalStake(), a.n.TotalStake()),
			cmp.Compare(b.rep.GPU.Capacity, a.rep.GPU.Capacity),
			cmp.Compare(b.rep.GPU.Count, a.rep.GPU.Count),
			cmp.Compare(b.rep.CPU.Count, a.rep.CPU.Count),
			cmp.Compare(b.rep.RAM.Available, a.rep.RAM.Available),
			cmp.Compare(b.rep.HardDisk.Free, a.rep.HardDisk.Free),
			cmp.Compare(a.n.Hotkey, b.n.Hotkey),
		)
	})
}

// candidates returns the available miners meeting r, best first, or an
// ErrNoMatch error saying why none does.
func (s *Service) candidates(ctx context.Context, r Request) ([]candidate, error) {
	ns, err := s.neurons(ctx)
	if err != nil {
		return nil, err
	}
	allocated, err := s.d.Store.Allocated(ctx)
	if err != nil {
		return nil, err
	}
	penalised, err := s.d.Store.Penalties(ctx)
	if err != nil {
		return nil, err
	}
	var (
		out                                        []candidate
		withSpecs, nAlloc, nPen, nServe, nTooSmall int
		example                                    string
	)
	req := r.requirement()
	for _, n := range ns {
		rep, ok, err := s.specs(ctx, string(n.Hotkey))
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		withSpecs++
		h := string(n.Hotkey)
		switch _, pen := penalised[h]; {
		case allocated[h]:
			nAlloc++
		case pen:
			nPen++
		case !n.Axon.Serving():
			nServe++
		default:
			if ok, why := rep.Meets(req); !ok {
				nTooSmall++
				if example == "" {
					example = fmt.Sprintf(" (%s: %s)", h, why)
				}
				continue
			}
			out = append(out, candidate{n: n, rep: rep})
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: of %d miners with specs, %d do not meet it%s, %d are allocated, %d penalised, %d not serving",
			ErrNoMatch, withSpecs, nTooSmall, example, nAlloc, nPen, nServe)
	}
	sortCandidates(out)
	return out, nil
}

// Allocate allocates the best available miner meeting r (see the package
// doc for the order). Each candidate is asked first whether it could serve
// r; one that refuses or cannot be reached is skipped.
func (s *Service) Allocate(ctx context.Context, r Request) (Allocation, error) {
	if err := r.check(); err != nil {
		return Allocation{}, err
	}
	cs, err := s.candidates(ctx, r)
	if err != nil {
		return Allocation{}, err
	}
	priv, err := newRenterKey()
	if err != nil {
		return Allocation{}, err
	}
	var errs []error
	for _, c := range cs {
		a, err := s.allocateOn(ctx, c.n, r, priv)
		if err == nil {
			return a, nil
		}
		var de *dendrite.Error
		if errors.Is(err, errMaybeAllocated) || !errors.Is(err, ErrRefused) && !errors.Is(err, ErrBusy) && !errors.As(err, &de) {
			return Allocation{}, err
		}
		if ctx.Err() != nil {
			return Allocation{}, ctx.Err()
		}
		s.log.Info("candidate skipped", "hotkey", c.n.Hotkey, "err", err)
		errs = append(errs, err)
	}
	return Allocation{}, fmt.Errorf("%w: all %d matching miners declined: %w", ErrNoMatch, len(cs), errors.Join(errs...))
}

// AllocateHotkey allocates the miner of hotkey. Its stored specs, if any,
// must meet r; the miner decides in the end.
func (s *Service) AllocateHotkey(ctx context.Context, hotkey string, r Request) (Allocation, error) {
	if err := r.check(); err != nil {
		return Allocation{}, err
	}
	n, err := s.neuron(ctx, hotkey)
	if err != nil {
		return Allocation{}, err
	}
	allocated, err := s.d.Store.Allocated(ctx)
	if err != nil {
		return Allocation{}, err
	}
	if allocated[hotkey] {
		return Allocation{}, fmt.Errorf("%w: miner %s is already allocated by this validator", ErrAlreadyAllocated, hotkey)
	}
	penalised, err := s.d.Store.Penalties(ctx)
	if err != nil {
		return Allocation{}, err
	}
	if why, ok := penalised[hotkey]; ok {
		return Allocation{}, fmt.Errorf("miner %s is penalised (%s); depenalize it first", hotkey, why)
	}
	if rep, ok, err := s.specs(ctx, hotkey); err != nil {
		return Allocation{}, err
	} else if ok {
		if meets, why := rep.Meets(r.requirement()); !meets {
			return Allocation{}, fmt.Errorf("%w: miner %s: %s", ErrNoMatch, hotkey, why)
		}
	}
	if !n.Axon.Serving() {
		return Allocation{}, fmt.Errorf("%w: miner %s serves no axon", ErrNoMatch, hotkey)
	}
	priv, err := newRenterKey()
	if err != nil {
		return Allocation{}, err
	}
	return s.allocateOn(ctx, n, r, priv)
}

// allocateOn checks, then allocates n with the renter key priv. While it
// runs, other requests for n fail with ErrBusy (and ErrAlreadyAllocated).
func (s *Service) allocateOn(ctx context.Context, n chain.Neuron, r Request, priv *rsa.PrivateKey) (Allocation, error) {
	hotkey := string(n.Hotkey)
	release, err := s.claim(hotkey)
	if err != nil {
		return Allocation{}, fmt.Errorf("%w: miner %s: %w", ErrAlreadyAllocated, hotkey, err)
	}
	defer release()
	pubPEM, err := publicPEM(priv)
	if err != nil {
		return Allocation{}, err
	}
	t := target(n)
	syn, err := allocateSynapse(r, pubPEM)
	if err != nil {
		return Allocation{}, err
	}
	syn.Checking = true
	if _, err := s.call(ctx, t, syn, "check"); err != nil {
		return Allocation{}, err
	}
	// The key is on disk before the miner holds an allocation for it.
	keyFile, err := s.keys.saveKey(hotkey, priv)
	if err != nil {
		return Allocation{}, err
	}
	syn, _ = allocateSynapse(r, pubPEM)
	syn.Checking = false
	start := s.now()
	out, err := s.call(ctx, t, syn, "allocate")
	if errors.Is(err, ErrRefused) {
		s.keys.remove(hotkey)
		return Allocation{}, err
	}
	if err != nil {
		// No answer: the miner may hold an allocation anyway. The key
		// stays so that Deallocate can release it.
		return Allocation{}, fmt.Errorf("%w: %w (its key is kept: deallocate %s to release it)", errMaybeAllocated, err, hotkey)
	}
	creds, err := allocation.DecryptCredentials(priv, out.Info)
	if err != nil {
		// The miner holds an allocation we cannot use: give it back.
		s.release(ctx, t, pubPEM)
		s.keys.remove(hotkey)
		return Allocation{}, fmt.Errorf("miner %s: credentials: %w", hotkey, err)
	}
	if creds.Username == "" {
		creds.Username = "root"
	}
	if creds.Port <= 0 || creds.Port > 65535 {
		s.release(ctx, t, pubPEM)
		s.keys.remove(hotkey)
		return Allocation{}, fmt.Errorf("miner %s: credentials: port %d out of range", hotkey, creds.Port)
	}
	d := rental.Details{Hotkey: hotkey, Host: n.Axon.IP, Port: creds.Port, Username: creds.Username, Created: start.UTC(),
		Deadline: start.Add(time.Duration(r.Timeline) * time.Minute).UTC(), Timeline: r.Timeline, KeyFile: keyFile,
		PublicKey: pubPEM}
	knownHosts := ""
	if creds.HostKey != "" {
		if knownHosts, err = s.keys.saveKnownHosts(hotkey, d.Host, d.Port, creds.HostKey); err != nil {
			s.release(ctx, t, pubPEM)
			s.keys.remove(hotkey)
			return Allocation{}, fmt.Errorf("miner %s: %w", hotkey, err)
		}
		d.HostKey = strings.TrimSpace(creds.HostKey)
	}
	if err := s.record(ctx, d); err != nil {
		s.release(ctx, t, pubPEM)
		s.keys.remove(hotkey)
		return Allocation{}, err
	}
	for _, w := range out.Warnings {
		s.log.Warn("miner could not apply a limit", "hotkey", hotkey, "warning", w)
	}
	s.log.Info("allocated", "hotkey", hotkey, "host", d.Host, "port", d.Port, "minutes", r.Timeline)
	return Allocation{Hotkey: hotkey, Host: d.Host, Port: d.Port, Username: d.Username, Password: creds.Password,
		SSHCommand: SSHCommand(d.Username, d.Host, d.Port, knownHosts), Deadline: d.Deadline, HostKey: d.HostKey, KnownHosts: knownHosts}, nil
}

// SSHCommand returns "ssh -p PORT USER@HOST", pinned to the known_hosts
// file knownHosts when there is one (the rental's host key is then checked
// strictly, from the first login on).
func SSHCommand(user, host string, port int, knownHosts string) string {
	if knownHosts == "" {
		return fmt.Sprintf("ssh -p %d %s@%s", port, user, host)
	}
	return fmt.Sprintf("ssh -p %d -o UserKnownHostsFile=%s -o StrictHostKeyChecking=yes %s@%s", port, knownHosts, user, host)
}

// record stores d in the store and next to the key.
func (s *Service) record(ctx context.Context, d rental.Details) error {
	b, err := json.Marshal(d)
	if err != nil {
		return err
	}
	if err := s.keys.saveDetails(d.Hotkey, b); err != nil {
		return err
	}
	if err := s.d.Store.SetAllocation(ctx, d.Hotkey, string(b), d.Deadline); err != nil {
		return fmt.Errorf("record allocation: %w", err)
	}
	return nil
}

// release deallocates after a failure of ours; errors are only logged.
func (s *Service) release(ctx context.Context, t dendrite.Target, pubPEM string) {
	syn := protocol.NewAllocate()
	syn.Checking, syn.Timeline, syn.PublicKey = false, 0, pubPEM
	if _, err := s.call(ctx, t, syn, "deallocate"); err != nil {
		s.log.Error("could not give back an allocation", "hotkey", t.Hotkey, "err", err)
	}
}

// Deallocate ends the allocation of hotkey and forgets its key. When the
// miner holds no allocation of this key any more (it expired, or the miner
// restarted without its state), the local record is removed too and the
// error wraps ErrNotAllocated.
func (s *Service) Deallocate(ctx context.Context, hotkey string) error {
	return s.DeallocateReason(ctx, hotkey, rental.ReasonDeallocated)
}

// DeallocateReason is Deallocate with the reason the store records
// (unhealthy, for the API's health loop).
func (s *Service) DeallocateReason(ctx context.Context, hotkey, why string) error {
	release, err := s.claim(hotkey)
	if err != nil {
		return fmt.Errorf("miner %s: %w", hotkey, err)
	}
	defer release()
	_, pubPEM, err := s.loadKey(ctx, hotkey)
	if err != nil {
		return err
	}
	n, err := s.neuron(ctx, hotkey)
	if err != nil {
		return err
	}
	syn := protocol.NewAllocate()
	syn.Checking, syn.Timeline, syn.PublicKey = false, 0, pubPEM
	_, err = s.call(ctx, target(n), syn, "deallocate")
	var refused *RefusedError
	if err != nil && !errors.As(err, &refused) {
		return err
	}
	reason := why
	if refused != nil {
		reason = rental.ReasonMinerLost
	}
	if cerr := s.Forget(ctx, hotkey, reason); cerr != nil {
		return cerr
	}
	if refused != nil {
		return fmt.Errorf("%w: %w; local record removed", ErrNotAllocated, refused)
	}
	s.log.Info("deallocated", "hotkey", hotkey)
	return nil
}

// Forget ends the local record of hotkey's rental with reason (the store
// row, the renter key and its files) without asking the miner: use it when
// the miner no longer holds the rental or its deadline passed.
func (s *Service) Forget(ctx context.Context, hotkey, reason string) error {
	if err := checkName(hotkey); err != nil {
		return err
	}
	if _, err := s.d.Store.EndAllocation(ctx, hotkey, reason); err != nil {
		return err
	}
	return s.keys.remove(hotkey)
}

// Ended says why the last rental of hotkey ended (by this renter, the API or
// the validator's reconcile: they share the store).
func (s *Service) Ended(ctx context.Context, hotkey string) (string, bool, error) {
	r, _, ok, err := s.d.Store.AllocationEnded(ctx, hotkey)
	return r, ok, err
}

// Check asks the miner of hotkey whether it still holds this renter's
// rental, and in what state.
func (s *Service) Check(ctx context.Context, hotkey string) (rental.Status, error) {
	_, pubPEM, err := s.loadKey(ctx, hotkey)
	if err != nil {
		return rental.Status{}, err
	}
	n, err := s.cachedNeuron(ctx, hotkey)
	if err != nil {
		return rental.Status{}, err
	}
	if s.d.Dendrite == nil {
		return rental.Status{}, errors.New("renter: no dendrite")
	}
	return rental.Check(ctx, s.d.Dendrite, target(n), pubPEM, min(s.cfg.Timeout, 30*time.Second))
}

// Reconcile ends the rentals whose deadline passed (expired) and those the
// miner says it no longer holds (miner_lost), and forgets their keys; a
// miner that cannot be asked keeps its rental. It returns what ended.
func (s *Service) Reconcile(ctx context.Context) ([]rental.Ended, error) {
	targets := map[string]dendrite.Target{}
	var caller rental.Caller
	if s.d.Chain != nil && s.d.Dendrite != nil {
		ns, err := s.neurons(ctx)
		if err != nil {
			return nil, err
		}
		for _, n := range ns {
			targets[string(n.Hotkey)] = target(n)
		}
		caller = s.d.Dendrite
	}
	ended, err := rental.Reconciler{Store: s.d.Store, Caller: caller, Timeout: min(s.cfg.Timeout, 30*time.Second), Log: s.log}.
		Reconcile(ctx, targets, s.now())
	for _, e := range ended {
		s.log.Info("rental ended", "hotkey", e.Hotkey, "reason", e.Reason)
		if rerr := s.keys.remove(e.Hotkey); rerr != nil {
			err = errors.Join(err, rerr)
		}
	}
	return ended, err
}

// removeEndedKeys deletes the renter keys of rentals someone else ended
// (the validator's status round shares the store but not the keys): a key
// without an allocation row whose rental ended after the key was written.
// A key without a row and without a later end is kept: an allocation may
// be in flight, or unanswered (the miner may hold it; Deallocate needs it).
func (s *Service) removeEndedKeys(ctx context.Context) error {
	rows, err := s.d.Store.Allocations(ctx)
	if err != nil {
		return err
	}
	held := map[string]bool{}
	for _, r := range rows {
		held[r.Hotkey] = true
	}
	pems, err := filepath.Glob(filepath.Join(s.keys.dir, "*.pem"))
	if err != nil {
		return err
	}
	var errs []error
	for _, p := range pems {
		hotkey := strings.TrimSuffix(filepath.Base(p), ".pem")
		if held[hotkey] || checkName(hotkey) != nil {
			continue
		}
		_, at, ok, err := s.d.Store.AllocationEnded(ctx, hotkey)
		fi, serr := os.Stat(p)
		if err != nil || serr != nil || !ok || !at.After(fi.ModTime()) {
			continue
		}
		s.log.Info("removing the renter key of a rental that ended elsewhere", "hotkey", hotkey)
		if err := s.keys.remove(hotkey); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// AllocationInfo is one of this validator's allocations.
type AllocationInfo struct {
	Hotkey     string    `json:"hotkey"`
	Host       string    `json:"host"`
	Port       int       `json:"port"`
	Username   string    `json:"username"`
	KeyFile    string    `json:"key_file"`
	KnownHosts string    `json:"known_hosts,omitempty"`
	Created    time.Time `json:"created"`
	Deadline   time.Time `json:"deadline"`
}

// Allocations lists this validator's allocations, oldest first, expired
// ones included until a Reconcile (or the validator's) ends them. It first
// removes the keys of rentals that ended elsewhere.
func (s *Service) Allocations(ctx context.Context) ([]AllocationInfo, error) {
	if err := s.removeEndedKeys(ctx); err != nil {
		s.log.Warn("remove the keys of rentals that ended elsewhere", "err", err)
	}
	rows, err := s.d.Store.Allocations(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]AllocationInfo, 0, len(rows))
	for _, row := range rows {
		a := AllocationInfo{Hotkey: row.Hotkey, Created: row.Created, Deadline: row.Deadline}
		d, err := rental.ParseDetails(row.Details)
		if err != nil || d.Hotkey == "" {
			// An older row without details in the store: the file beside the key.
			if d, err = s.keys.loadDetails(row.Hotkey); err != nil {
				s.log.Warn("allocation without details", "hotkey", row.Hotkey, "err", err)
			}
		}
		if d.Hotkey != "" {
			a.Host, a.Port, a.Username, a.KeyFile, a.Created = d.Host, d.Port, d.Username, d.KeyFile, d.Created
			if a.Deadline.IsZero() {
				a.Deadline = d.Deadline
			}
			if d.HostKey != "" {
				a.KnownHosts = s.keys.knownHostsPath(row.Hotkey)
			}
		}
		out = append(out, a)
	}
	slices.SortFunc(out, func(a, b AllocationInfo) int {
		return cmp.Or(a.Created.Compare(b.Created), cmp.Compare(a.Hotkey, b.Hotkey))
	})
	return out, nil
}

// Actions a renter may ask of an allocation's container.
var Actions = []string{"restart", "pause", "unpause", "exchange_key"}

// Action asks the miner of hotkey to restart, pause or unpause the
// allocation's container, or to replace its authorised SSH key by sshKey
// (exchange_key).
func (s *Service) Action(ctx context.Context, hotkey, action, sshKey string) error {
	if !slices.Contains(Actions, action) {
		return fmt.Errorf("unknown action %q (want %s)", action, strings.Join(Actions, ", "))
	}
	sshKey = strings.TrimSpace(sshKey)
	if action == "exchange_key" && sshKey == "" {
		return errors.New("exchange_key needs an SSH public key")
	}
	if strings.ContainsAny(sshKey, "\r\n") {
		return errors.New("ssh key must be one OpenSSH public key line")
	}
	_, pubPEM, err := s.loadKey(ctx, hotkey)
	if err != nil {
		return err
	}
	n, err := s.neuron(ctx, hotkey)
	if err != nil {
		return err
	}
	syn := protocol.NewAllocate()
	syn.Checking, syn.DockerChange, syn.PublicKey = false, true, pubPEM
	act, err := json.Marshal(protocol.DockerAction{Action: action, SSHKey: sshKey, KeyType: "user"})
	if err != nil {
		return err
	}
	syn.DockerAction = act
	if _, err := s.call(ctx, target(n), syn, action); err != nil {
		return err
	}
	s.log.Info("docker action", "hotkey", hotkey, "action", action)
	return nil
}

// Penalize excludes hotkey from allocation, for reason.
func (s *Service) Penalize(ctx context.Context, hotkey, reason string) error {
	if _, err := keys.ParseHotkey(hotkey); err != nil {
		return fmt.Errorf("hotkey %q: %w", hotkey, err)
	}
	return s.d.Store.AddPenalty(ctx, hotkey, reason)
}

// Depenalize lifts the penalty of hotkey, if any.
func (s *Service) Depenalize(ctx context.Context, hotkey string) error {
	return s.d.Store.RemovePenalty(ctx, hotkey)
}

// Penalized returns the penalised hotkeys and their reasons.
func (s *Service) Penalized(ctx context.Context) (map[string]string, error) {
	return s.d.Store.Penalties(ctx)
}

// loadKey returns the renter key of hotkey's allocation, or ErrNotAllocated.
func (s *Service) loadKey(ctx context.Context, hotkey string) (*rsa.PrivateKey, string, error) {
	if _, err := keys.ParseHotkey(hotkey); err != nil {
		return nil, "", fmt.Errorf("hotkey %q: %w", hotkey, err)
	}
	priv, err := s.keys.loadKey(hotkey)
	if errors.Is(err, errNoKey) {
		allocated, aerr := s.d.Store.Allocated(ctx)
		if aerr == nil && allocated[hotkey] {
			return nil, "", fmt.Errorf("miner %s is recorded as allocated but its renter key %s is missing", hotkey, s.keys.keyPath(hotkey))
		}
		return nil, "", fmt.Errorf("miner %s: %w by this validator", hotkey, ErrNotAllocated)
	}
	if err != nil {
		return nil, "", err
	}
	pubPEM, err := publicPEM(priv)
	return priv, pubPEM, err
}

func (s *Service) neurons(ctx context.Context) ([]chain.Neuron, error) {
	if s.d.Chain == nil {
		return nil, errors.New("renter: no chain client")
	}
	ns, err := s.d.Chain.Neurons(ctx, s.cfg.NetUID)
	if err != nil {
		return nil, fmt.Errorf("query neurons: %w", err)
	}
	return ns, nil
}

// cachedNeuron is neuron on a metagraph at most 10 s old.
func (s *Service) cachedNeuron(ctx context.Context, hotkey string) (chain.Neuron, error) {
	s.cacheMu.Lock()
	defer s.cacheMu.Unlock()
	if s.cacheNs == nil || s.now().Sub(s.cacheAt) > 10*time.Second {
		ns, err := s.neurons(ctx)
		if err != nil {
			return chain.Neuron{}, err
		}
		s.cacheNs, s.cacheAt = ns, s.now()
	}
	return s.find(s.cacheNs, hotkey)
}

func (s *Service) neuron(ctx context.Context, hotkey string) (chain.Neuron, error) {
	ns, err := s.neurons(ctx)
	if err != nil {
		return chain.Neuron{}, err
	}
	return s.find(ns, hotkey)
}

// find returns hotkey's neuron among ns, or ErrUnknownHotkey.
func (s *Service) find(ns []chain.Neuron, hotkey string) (chain.Neuron, error) {
	for _, n := range ns {
		if string(n.Hotkey) == hotkey {
			return n, nil
		}
	}
	return chain.Neuron{}, fmt.Errorf("%w: hotkey %s is not registered on subnet %d", ErrUnknownHotkey, hotkey, s.cfg.NetUID)
}

// specs returns the stored report of hotkey; ok is false without one.
func (s *Service) specs(ctx context.Context, hotkey string) (hwspec.Report, bool, error) {
	js, _, err := s.d.Store.Specs(ctx, hotkey)
	if errors.Is(err, store.ErrNotFound) {
		return hwspec.Report{}, false, nil
	}
	if err != nil {
		return hwspec.Report{}, false, err
	}
	var rep hwspec.Report
	if err := json.Unmarshal([]byte(js), &rep); err != nil || rep.CPU.Count <= 0 {
		return hwspec.Report{}, false, nil // "{}" or a report we cannot read
	}
	return rep, true, nil
}

func target(n chain.Neuron) dendrite.Target {
	return dendrite.Target{IP: n.Axon.IP, Port: int(n.Axon.Port), Hotkey: n.Hotkey}
}

func allocateSynapse(r Request, pubPEM string) (*protocol.Allocate, error) {
	var dr protocol.DeviceRequirement
	dr.CPU.Count = r.CPUCount
	dr.GPU.Count, dr.GPU.Capacity, dr.GPU.Type = r.GPUCount, r.GPUMemoryMiB, r.GPUType
	dr.HardDisk.Capacity, dr.RAM.Capacity = r.DiskBytes, r.RAMBytes
	dev, err := json.Marshal(dr)
	if err != nil {
		return nil, err
	}
	dock, err := json.Marshal(protocol.DockerRequirement{BaseImage: "ubuntu", SSHKey: strings.TrimSpace(r.SSHKey), SSHPort: 4444, VolumePath: "/tmp"})
	if err != nil {
		return nil, err
	}
	syn := protocol.NewAllocate()
	syn.Timeline, syn.DeviceRequirement, syn.DockerRequirement, syn.PublicKey = r.Timeline, dev, dock, pubPEM
	return syn, nil
}

// output is a miner's Allocate answer.
type output struct {
	Status   bool     `json:"status"`
	Message  string   `json:"message"`
	Info     string   `json:"info"`
	Warnings []string `json:"warnings"`
	Reason   string   `json:"reason"` // sn27 miners: why a refusal
}

// call sends syn and returns the miner's answer; status false is a
// *RefusedError.
func (s *Service) call(ctx context.Context, t dendrite.Target, syn *protocol.Allocate, op string) (output, error) {
	if s.d.Dendrite == nil {
		return output{}, errors.New("renter: no dendrite")
	}
	if err := s.d.Dendrite.Call(ctx, t, syn, s.cfg.Timeout); err != nil {
		var de *dendrite.Error
		if errors.As(err, &de) && refusedUnread(de.Code) {
			// The axon turned the request away before its handler ran: a
			// refusal, and nothing was allocated.
			return output{}, &RefusedError{Hotkey: string(t.Hotkey), Op: op, Message: de.Error()}
		}
		return output{}, fmt.Errorf("%s on miner %s at %s: %w", op, t.Hotkey, t, err)
	}
	var out output
	if err := json.Unmarshal(syn.Output, &out); err != nil {
		return output{}, fmt.Errorf("%s on miner %s: answer %s: %w", op, t.Hotkey, syn.Output, err)
	}
	if !out.Status {
		return out, &RefusedError{Hotkey: string(t.Hotkey), Op: op, Message: out.Message, Reason: out.Reason}
	}
	return out, nil
}
