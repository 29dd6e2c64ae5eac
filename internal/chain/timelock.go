package chain

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/sn27/sn27/internal/keys"
)

// DrandBeacon is the drand beacon the runtime decrypts timelocked commits
// with (Drand.BeaconConfig) and the last round it has stored.
type DrandBeacon struct {
	PublicKey     []byte // 96-byte compressed G2 point
	PeriodSeconds uint64
	GenesisUnix   uint64
	LastRound     uint64 // Drand.LastStoredRound
}

// ErrNoDrand reports a runtime without the Drand pallet (or without a
// configured beacon): no timelocked commit-reveal there.
var ErrNoDrand = errors.New("the runtime has no drand beacon")

// DrandBeacon reads the beacon from storage.
func (c *Client) DrandBeacon(ctx context.Context) (DrandBeacon, error) {
	var b DrandBeacon
	if _, err := c.Metadata().Storage("Drand", "BeaconConfig"); err != nil {
		return b, ErrNoDrand
	}
	v, err := c.StorageValue(ctx, "Drand", "BeaconConfig")
	if err != nil {
		return b, fmt.Errorf("read Drand.BeaconConfig: %w", err)
	}
	m, ok := v.(map[string]any)
	if !ok {
		return b, fmt.Errorf("Drand.BeaconConfig: unexpected shape %T", v)
	}
	pk, _ := m["public_key"].([]byte)
	if len(pk) != 96 {
		return b, fmt.Errorf("%w: Drand.BeaconConfig public key of %d bytes", ErrNoDrand, len(pk))
	}
	b.PublicKey = pk
	b.PeriodSeconds, _ = asUint(m["period"])
	b.GenesisUnix, _ = asUint(m["genesis_time"])
	if b.PeriodSeconds == 0 {
		return b, fmt.Errorf("%w: Drand.BeaconConfig period 0", ErrNoDrand)
	}
	lr, err := c.StorageValue(ctx, "Drand", "LastStoredRound")
	if err != nil {
		return b, fmt.Errorf("read Drand.LastStoredRound: %w", err)
	}
	b.LastRound, _ = asUint(lr)
	return b, nil
}

// SlotSeconds is the runtime's block time (Aura.SlotDuration), 12 s when
// the metadata does not say.
func (c *Client) SlotSeconds() uint64 {
	if v, _, err := c.Metadata().Constant("Aura", "SlotDuration"); err == nil && len(v) == 8 {
		if ms := binary.LittleEndian.Uint64(v); ms >= 1000 {
			return ms / 1000
		}
	}
	return 12
}

// CommitTimelocked sends a timelocked weights commit (the ciphertext made
// for revealRound) for netuid's main mechanism:
// commit_timelocked_mechanism_weights with mecid 0 when the runtime has it,
// commit_timelocked_weights otherwise.
func (c *Client) CommitTimelocked(ctx context.Context, hotkey *keys.Pair, netuid NetUID, commit []byte, revealRound uint64, version uint16) (*Receipt, error) {
	if len(commit) == 0 || len(commit) > 5000 {
		return nil, fmt.Errorf("timelocked commit of %d bytes: the chain takes 1..5000", len(commit))
	}
	calls := c.WeightsCalls()
	name := "commit_timelocked_weights"
	switch {
	case calls.CommitTimelockedMechanismWeights:
		name = "commit_timelocked_mechanism_weights"
	case !calls.CommitTimelockedWeights:
		return nil, errors.New("this runtime has no timelocked weight commits")
	}
	call, err := c.CallNamed("SubtensorModule", name, map[string][]byte{
		"netuid": u16b(uint16(netuid)), "mecid": {MainMechanism},
		"commit":       append(enc().Compact(uint64(len(commit))).Data(), commit...),
		"reveal_round": u64b(revealRound), "commit_reveal_version": u16b(version),
	})
	if err != nil {
		return nil, err
	}
	r, err := c.Submit(ctx, hotkey, call)
	if err != nil {
		return r, fmt.Errorf("%s: %w", name, err)
	}
	return r, nil
}

// TimelockRevealRound is the drand round a commit made at block now must be
// locked to, so that its pulse is on chain when the reveal epoch runs: the
// round due a few blocks into the reveal epoch, counted from the last
// stored round with the runtime's block time (as newer bittensor clients
// anchor on Drand.LastStoredRound). firstRevealBlock is the first block of
// the reveal epoch (RevealBlocks).
func TimelockRevealRound(b DrandBeacon, slotSeconds, now, firstRevealBlock uint64) uint64 {
	const blocksIn = 3
	target := firstRevealBlock + blocksIn
	blocks := target - min(target, now)
	secs := blocks * max(slotSeconds, 1)
	return b.LastRound + (secs+b.PeriodSeconds-1)/b.PeriodSeconds
}
