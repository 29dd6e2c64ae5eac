// Package rental is the renter's and the validator's mirror of the rentals
// miners hold: the stored record of each one (deadline, the renter key the
// miner knows it by, the container's SSH host key), SN27's checking request
// that asks a miner whether it still holds a rental, and the reconcile that
// ends the rows a miner no longer holds or whose deadline has passed, with
// the exact reason. The miner's allocation state is the truth; these rows
// follow it.
package rental

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/sn27/sn27/internal/dendrite"
	"github.com/sn27/sn27/internal/protocol"
	"github.com/sn27/sn27/internal/store"
)

// Reasons a rental ends.
const (
	ReasonExpired     = "expired"     // its deadline passed
	ReasonDeallocated = "deallocated" // the renter ended it
	ReasonMinerLost   = "miner_lost"  // the miner no longer holds it
	ReasonUnhealthy   = "unhealthy"   // SSH failed while the miner said it runs
)

// Details is the stored record of one rental (the store's details JSON and
// the file beside the renter key).
type Details struct {
	Hotkey    string    `json:"hotkey"`
	Host      string    `json:"host"`
	Port      int       `json:"port"`
	Username  string    `json:"username"`
	Created   time.Time `json:"created"`
	Deadline  time.Time `json:"deadline"`
	Timeline  int64     `json:"timeline_minutes"`
	KeyFile   string    `json:"key_file"`
	PublicKey string    `json:"renter_public_key,omitempty"` // PEM the miner knows the rental by
	HostKey   string    `json:"host_key,omitempty"`          // the container's SSH host key, "ssh-ed25519 AAAA…"
}

// ParseDetails decodes a stored record.
func ParseDetails(js string) (Details, error) {
	var d Details
	if err := json.Unmarshal([]byte(js), &d); err != nil {
		return d, fmt.Errorf("rental details: %w", err)
	}
	return d, nil
}

// Status is what a miner says of a rental.
type Status struct {
	Held     bool      // it still holds an allocation of the renter key
	State    string    // the container's state ("none" when not held); "" when the miner does not say
	Deadline time.Time // zero when the miner does not say
	// Reason says why the miner stopped the container ("disk_quota"), ""
	// when it did not; DiskUsed and DiskLimit are its root filesystem's
	// use and limit in bytes (0: not said).
	Reason    string
	DiskUsed  int64
	DiskLimit int64
}

// Lost reports whether the answer proves the rental is gone. SN27's Python
// miners answer status false also while the container is paused or
// restarting, without a state: only a miner that says its state proves it.
func (s Status) Lost() bool { return !s.Held && s.State != "" }

// Caller sends one synapse (a *dendrite.Dendrite).
type Caller interface {
	Call(ctx context.Context, t dendrite.Target, m protocol.Message, timeout time.Duration) error
}

// Check asks the miner at t whether it still holds the rental of the renter
// key publicKeyPEM (SN27's checking request with no timeline). An error
// means the miner could not be asked or gave no readable answer.
func Check(ctx context.Context, c Caller, t dendrite.Target, publicKeyPEM string, timeout time.Duration) (Status, error) {
	if strings.TrimSpace(publicKeyPEM) == "" {
		return Status{}, errors.New("check rental: no renter public key recorded")
	}
	syn := protocol.NewAllocate()
	syn.Checking, syn.Timeline, syn.PublicKey = true, 0, publicKeyPEM
	if err := c.Call(ctx, t, syn, timeout); err != nil {
		return Status{}, fmt.Errorf("check rental on %s: %w", t.Hotkey, err)
	}
	if code := syn.Dendrite.StatusCode.V; code != 0 && code != 200 {
		return Status{}, fmt.Errorf("check rental on %s: status %d: %s", t.Hotkey, code, protocol.Deref(syn.Dendrite.StatusMessage))
	}
	st, err := ParseCheck(syn.Output)
	if err != nil {
		return Status{}, fmt.Errorf("check rental on %s: %w", t.Hotkey, err)
	}
	return st, nil
}

// ParseCheck reads a miner's answer to a checking request.
func ParseCheck(out json.RawMessage) (Status, error) {
	var a protocol.AllocationCheck
	if len(out) > 64<<10 {
		return Status{}, errors.New("answer longer than 64 KiB")
	}
	if err := json.Unmarshal(out, &a); err != nil {
		return Status{}, fmt.Errorf("answer %.200s: %w", out, err)
	}
	st := Status{Held: a.Status, State: a.State, Reason: a.Reason}
	if len(st.State) > 32 {
		st.State = st.State[:32]
	}
	if len(st.Reason) > 32 {
		st.Reason = st.Reason[:32]
	}
	const maxBytes = 1 << 60 // far beyond any disk: a bigger figure is nonsense
	if a.DiskUsed >= 0 && a.DiskUsed <= maxBytes && a.DiskLimit > 0 && a.DiskLimit <= maxBytes {
		st.DiskUsed, st.DiskLimit = a.DiskUsed, a.DiskLimit
	}
	if a.Deadline != "" {
		if d, err := time.Parse(time.RFC3339Nano, a.Deadline); err == nil {
			st.Deadline = d.UTC()
		}
	}
	return st, nil
}

// Store is where the rows live (*store.Store).
type Store interface {
	Allocations(ctx context.Context) ([]store.AllocationRow, error)
	EndAllocation(ctx context.Context, hotkey, reason string) (bool, error)
}

// Ended is a rental Reconcile ended.
type Ended struct {
	Hotkey string
	Reason string
}

// Reconciler brings the stored rows into agreement with the miners.
type Reconciler struct {
	Store   Store
	Caller  Caller // nil: only deadlines are enforced
	Timeout time.Duration
	Log     *slog.Logger
}

// Reconcile ends the rows whose deadline has passed (expired) and, for the
// others, asks each miner in targets whether it still holds the rental:
// one that says no, with its state, ends it (miner_lost); a bare "no" from
// a miner that does not say its state (a paused rental looks like that on
// SN27's Python miners) keeps it until its deadline. A miner that cannot be asked, a
// hotkey without a target and a row without a recorded renter key keep
// their rows: only evidence ends a rental.
func (r Reconciler) Reconcile(ctx context.Context, targets map[string]dendrite.Target, now time.Time) ([]Ended, error) {
	log := r.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	timeout := r.Timeout
	if timeout <= 0 {
		timeout = 12 * time.Second
	}
	rows, err := r.Store.Allocations(ctx)
	if err != nil {
		return nil, err
	}
	var (
		mu    sync.Mutex
		ended []Ended
		errs  []error
		wg    sync.WaitGroup
	)
	end := func(hotkey, reason string) {
		ok, err := r.Store.EndAllocation(ctx, hotkey, reason)
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			errs = append(errs, err)
			return
		}
		if ok {
			ended = append(ended, Ended{Hotkey: hotkey, Reason: reason})
		}
	}
	sem := make(chan struct{}, 16)
	for _, row := range rows {
		if !row.Deadline.IsZero() && !now.Before(row.Deadline) {
			end(row.Hotkey, ReasonExpired)
			continue
		}
		t, ok := targets[row.Hotkey]
		if !ok || r.Caller == nil {
			continue
		}
		d, err := ParseDetails(row.Details)
		if err != nil || d.PublicKey == "" {
			continue // recorded before renter keys were kept: the deadline still ends it
		}
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			st, err := Check(ctx, r.Caller, t, d.PublicKey, timeout)
			if err != nil {
				log.Debug("rental check: miner not asked; keeping the rental", "hotkey", row.Hotkey, "err", err)
				return
			}
			switch {
			case st.Lost():
				log.Info("the miner no longer holds the rental; ending it", "hotkey", row.Hotkey)
				end(row.Hotkey, ReasonMinerLost)
			case !st.Held:
				log.Debug("the miner answers false without a state (paused or gone); keeping the rental until its deadline", "hotkey", row.Hotkey)
			}
		})
	}
	wg.Wait()
	return ended, errors.Join(errs...)
}
