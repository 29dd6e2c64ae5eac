package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/sn27/sn27/internal/renter"
	"github.com/sn27/sn27/internal/renter/api"
	"github.com/sn27/sn27/internal/wallet"
)

// newRenterAPICmd is `sn27 api` backed by the renter service on the
// validator's data dir (validator.db and renter keys next to api.db).
func newRenterAPICmd() *cobra.Command {
	var f renterFlags
	cmd := newAPICmd(func(cmd *cobra.Command) (api.Ops, func(), error) {
		dir, err := cmd.Flags().GetString("data.dir")
		if err != nil {
			return nil, nil, err
		}
		if f.dataDir, err = wallet.ExpandPath(dir); err != nil {
			return nil, nil, withCode(exitBadInput, err)
		}
		svc, release, err := f.open(cmd, renterNeeds{chain: true, miners: true})
		if err != nil {
			return nil, nil, err
		}
		return renterOps{svc}, release, nil
	})
	fs := cmd.Flags()
	f.wf.register(fs)
	f.sf.register(fs)
	fs.Uint16Var(&f.netuid, "netuid", uint16(renter.DefaultConfig().NetUID), "subnet")
	fs.DurationVar(&f.timeout, "timeout", renter.DefaultConfig().Timeout, "time a miner has to answer each Allocate request")
	return cmd
}

// renterOps adapts renter.Service to api.Ops.
type renterOps struct{ s *renter.Service }

func apiErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, renter.ErrInvalid):
		return fmt.Errorf("%w: %w", api.ErrInvalid, err)
	case errors.Is(err, renter.ErrUnknownHotkey):
		return fmt.Errorf("%w: %w", api.ErrUnknownHotkey, err)
	case errors.Is(err, renter.ErrAlreadyAllocated):
		return fmt.Errorf("%w: %w", api.ErrAlreadyAllocated, err)
	case errors.Is(err, renter.ErrNoMatch):
		return fmt.Errorf("%w: %w", api.ErrNoMatch, err)
	case errors.Is(err, renter.ErrNotAllocated):
		return fmt.Errorf("%w: %w", api.ErrNotAllocated, err)
	case errors.Is(err, renter.ErrRefused), errors.Is(err, renter.ErrBusy):
		return fmt.Errorf("%w: %w", api.ErrRefused, err)
	}
	return err
}

func toRequest(r api.Request) renter.Request {
	return renter.Request{CPUCount: r.CPUCount, GPUCount: r.GPUCount, GPUType: r.GPUType, GPUMemoryMiB: r.GPUMemoryMiB,
		RAMBytes: r.RAMBytes, DiskBytes: r.DiskBytes, Timeline: r.Timeline, SSHKey: r.SSHKey}
}

// toAllocation gives API clients the known_hosts line itself (the file the
// renter wrote is on this machine, not theirs) and a plain ssh command.
func toAllocation(a renter.Allocation) api.Allocation {
	return api.Allocation{Hotkey: a.Hotkey, Host: a.Host, Port: a.Port, Username: a.Username, Password: a.Password,
		SSHCommand: renter.SSHCommand(a.Username, a.Host, a.Port, ""), Deadline: a.Deadline,
		KnownHosts: renter.KnownHostsLine(a.Host, a.Port, a.HostKey)}
}

func toAPIResource(r renter.Resource) api.Resource {
	return api.Resource{Hotkey: r.Hotkey, GPUName: r.GPUName, GPUMemoryGB: r.GPUMemoryGB, GPUCount: r.GPUCount,
		VCPUs: r.VCPUs, RAMGB: r.RAMGB, DiskGB: r.DiskGB, Allocated: r.Allocated,
		Verified: r.Verified, VerifiedModel: r.VerifiedModel, VerifiedGPUs: r.VerifiedGPUs, VerdictAge: r.VerdictAge,
		VerdictBlock: r.VerdictBlock, VerdictFailedStep: r.VerdictFailedStep}
}

func (o renterOps) Resources(ctx context.Context) ([]api.Resource, error) {
	rs, err := o.s.Resources(ctx)
	out := make([]api.Resource, len(rs))
	for i, r := range rs {
		out[i] = toAPIResource(r)
	}
	return out, apiErr(err)
}

func (o renterOps) Allocate(ctx context.Context, r api.Request) (api.Allocation, error) {
	a, err := o.s.Allocate(ctx, toRequest(r))
	return toAllocation(a), apiErr(err)
}

func (o renterOps) AllocateHotkey(ctx context.Context, hotkey string, r api.Request) (api.Allocation, error) {
	a, err := o.s.AllocateHotkey(ctx, hotkey, toRequest(r))
	return toAllocation(a), apiErr(err)
}

func (o renterOps) Deallocate(ctx context.Context, hotkey string) error {
	return apiErr(o.s.Deallocate(ctx, hotkey))
}

// DeallocateReason is Deallocate recording reason (the health loop's
// "unhealthy") in the store.
func (o renterOps) DeallocateReason(ctx context.Context, hotkey, reason string) error {
	return apiErr(o.s.DeallocateReason(ctx, hotkey, reason))
}

func (o renterOps) Allocations(ctx context.Context) ([]api.AllocationInfo, error) {
	as, err := o.s.Allocations(ctx)
	out := make([]api.AllocationInfo, len(as))
	for i, a := range as {
		out[i] = api.AllocationInfo{Hotkey: a.Hotkey, Host: a.Host, Port: a.Port, Created: a.Created, Deadline: a.Deadline}
	}
	return out, apiErr(err)
}

func (o renterOps) Action(ctx context.Context, hotkey, action, sshKey string) error {
	return apiErr(o.s.Action(ctx, hotkey, action, sshKey))
}

func (o renterOps) Check(ctx context.Context, hotkey string) (api.MinerStatus, error) {
	st, err := o.s.Check(ctx, hotkey)
	if err == nil && !st.Held && !st.Lost() {
		// A bare "no" (SN27's Python miners say so of a paused rental too) is
		// no evidence either way.
		return api.MinerStatus{}, fmt.Errorf("miner %s answers false without saying whether the rental is paused or gone", hotkey)
	}
	return api.MinerStatus{Held: st.Held, State: st.State, Deadline: st.Deadline, Reason: st.Reason, DiskUsed: st.DiskUsed, DiskLimit: st.DiskLimit}, apiErr(err)
}

func (o renterOps) Forget(ctx context.Context, hotkey, reason string) error {
	return apiErr(o.s.Forget(ctx, hotkey, reason))
}

func (o renterOps) Ended(ctx context.Context, hotkey string) (string, bool, error) {
	return o.s.Ended(ctx, hotkey)
}
