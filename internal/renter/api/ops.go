package api

import (
	"context"
	"errors"
	"time"
)

// Sentinel errors an [Ops] implementation returns (wrapped or bare) so that
// handlers can pick an HTTP status. Any other error becomes a 500 whose body
// does not contain the error text.
var (
	// ErrNoMatch: no miner satisfies the requested spec, or the requested
	// hotkey does not (HTTP 404, code "no_match").
	ErrNoMatch = errors.New("no miner matches the request")
	// ErrNotAllocated: the hotkey has no allocation held by this renter
	// (HTTP 404, code "not_allocated").
	ErrNotAllocated = errors.New("hotkey is not allocated")
	// ErrRefused: the miner or the renter's state refused the operation, for
	// example the hotkey is already allocated or the miner declined
	// (HTTP 409, code "refused").
	ErrRefused = errors.New("refused")
)

// Resource is one miner's hardware as the renter sees it.
type Resource struct {
	Hotkey      string
	GPUName     string
	GPUMemoryGB float64
	GPUCount    int
	VCPUs       int
	RAMGB       float64
	DiskGB      float64
	Allocated   bool
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
}
