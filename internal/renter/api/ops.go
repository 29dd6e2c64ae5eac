package api

import (
	"context"
	"errors"
	"time"
)

// Sentinel errors an [Ops] implementation returns (wrapped or bare) so that
// handlers can pick an HTTP status. The answer's message is the error's text
// (trimmed, less a leading "<sentinel text>: "), so wrap the sentinel with
// the reason the renter should read: fmt.Errorf("%w: timeline 100000 minutes
// is outside 1..43200", ErrInvalid) answers 422 invalid_request with the
// message "timeline 100000 minutes is outside 1..43200".
// Any other error becomes a 500 whose body does not contain the error text.
var (
	// ErrNoMatch: no miner satisfies the requested spec, or the requested
	// hotkey does not (HTTP 404, code "no_match").
	ErrNoMatch = errors.New("no miner matches the request")
	// ErrUnknownHotkey: the hotkey is not a miner this renter knows (not in
	// the metagraph, or never seen) (HTTP 404, code "unknown_hotkey").
	ErrUnknownHotkey = errors.New("unknown hotkey")
	// ErrNotAllocated: the hotkey has no allocation held by this renter
	// (HTTP 404, code "not_allocated").
	ErrNotAllocated = errors.New("hotkey is not allocated")
	// ErrAlreadyAllocated: the miner is already allocated, by this renter or
	// another (HTTP 409, code "already_allocated").
	ErrAlreadyAllocated = errors.New("hotkey is already allocated")
	// ErrRefused: the miner or the renter's state refused the operation for
	// another reason, for example the miner declined (HTTP 409, code
	// "refused").
	ErrRefused = errors.New("refused")
	// ErrInvalid: the miner or the renter found the request invalid: an SSH
	// key the miner refused, a timeline above the miner's limit, a negative
	// count (HTTP 422, code "invalid_request").
	ErrInvalid = errors.New("invalid request")
)

// Reasons an allocation ends, in [Ops.Forget], [Ops.Ended] and the
// allocation.ended webhook.
const (
	ReasonExpired     = "expired"     // its deadline passed
	ReasonDeallocated = "deallocated" // the renter ended it
	ReasonMinerLost   = "miner_lost"  // the miner no longer holds it
	ReasonUnhealthy   = "unhealthy"   // its SSH port stayed down while the miner said it ran
)

// MinerStatus is what a miner says of this renter's rental (SN27's checking
// request).
type MinerStatus struct {
	// Held: the miner still holds an allocation of this renter's key.
	Held bool
	// State is the container's state: "running", "paused", "restarting",
	// "exited", ...; "" when the miner does not say (Python miners answer
	// only the status).
	State string
	// Deadline is the end of the rental as the miner sees it; zero when the
	// miner does not say.
	Deadline time.Time
	// Reason says why the miner stopped the container ("disk_quota": its
	// root filesystem reached its limit); "" when it did not.
	Reason string
	// DiskUsed and DiskLimit are the root filesystem's use and limit in
	// bytes, 0 when the miner does not say.
	DiskUsed, DiskLimit int64
}

// Resource is one miner's hardware as the renter sees it: what the miner
// claims (GPUName, GPUCount, ...) and what the validator's latest
// proof-of-GPU verdict proved.
type Resource struct {
	Hotkey      string
	GPUName     string
	GPUMemoryGB float64
	GPUCount    int
	VCPUs       int
	RAMGB       float64
	DiskGB      float64
	Allocated   bool

	// Verified: the latest verdict passed, proving VerifiedGPUs devices of
	// VerifiedModel ("" and 0 unless Verified).
	Verified      bool
	VerifiedModel string
	VerifiedGPUs  int
	// VerdictAge is the latest verdict's age in seconds, -1 when the miner
	// has none.
	VerdictAge float64
	// VerdictBlock is the block the latest verdict's proof started at (0:
	// none); VerdictFailedStep the step a failed one failed at.
	VerdictBlock      uint64
	VerdictFailedStep string
}

// Request is a rental request. Zero numeric fields mean "no requirement".
type Request struct {
	CPUCount     int64
	GPUCount     int64
	GPUType      string
	GPUMemoryMiB int64
	RAMBytes     int64
	DiskBytes    int64
	Timeline     int64 // minutes
	SSHKey       string
}

// Allocation is the result of a successful rental.
type Allocation struct {
	Hotkey     string
	Host       string
	Port       int
	Username   string
	Password   string
	SSHCommand string
	Deadline   time.Time
	// KnownHosts is the OpenSSH known_hosts line of the rental's own SSH host
	// key ("[host]:port ssh-ed25519 AAAA…"), "" when the miner sent none:
	// put it in a known_hosts file to verify the first login.
	KnownHosts string
}

// AllocationInfo describes a rental held by this renter.
type AllocationInfo struct {
	Hotkey   string
	Host     string
	Port     int
	Created  time.Time
	Deadline time.Time
}

// Ops is what the API needs from the renter service. Implementations must be
// safe for concurrent use.
type Ops interface {
	Resources(ctx context.Context) ([]Resource, error)
	Allocate(ctx context.Context, r Request) (Allocation, error)
	AllocateHotkey(ctx context.Context, hotkey string, r Request) (Allocation, error)
	Deallocate(ctx context.Context, hotkey string) error
	Allocations(ctx context.Context) ([]AllocationInfo, error)
	// Action is one of "restart", "pause", "unpause", "exchange_key"; sshKey
	// is set only for "exchange_key".
	Action(ctx context.Context, hotkey, action, sshKey string) error
	// Check asks the miner about this renter's rental of hotkey. An error
	// means the miner could not be asked (unreachable, timeout), or, with
	// ErrNotAllocated, that this renter holds no record of hotkey.
	Check(ctx context.Context, hotkey string) (MinerStatus, error)
	// Forget drops the local record (and key) of hotkey's rental without
	// asking the miner, recording reason (one of the Reason constants).
	// ErrNotAllocated: there was no record.
	Forget(ctx context.Context, hotkey, reason string) error
	// Ended reports why the last rental of hotkey ended (a Reason constant),
	// if anyone using the same store ended it (this API, the CLI, or the
	// validator's reconcile); ok is false when no end is recorded.
	Ended(ctx context.Context, hotkey string) (reason string, ok bool, err error)
}
