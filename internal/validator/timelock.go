package validator

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"

	"github.com/sn27/sn27/internal/chain"
	"github.com/sn27/sn27/internal/keys"
	"github.com/sn27/sn27/internal/timelock"
)

// TimelockChain is what the timelock commit-reveal path needs of the chain
// (a *chain.Client has it).
type TimelockChain interface {
	DrandBeacon(ctx context.Context) (chain.DrandBeacon, error)
	SlotSeconds() uint64
	CommitTimelocked(ctx context.Context, hotkey *keys.Pair, netuid chain.NetUID, commit []byte, revealRound uint64, version uint16) (*chain.Receipt, error)
}

// timelockPath builds the timelock path when the chain client supports it.
func timelockPath(v *Validator) func(chain.CommitReveal) weightSetter {
	tc, ok := v.deps.Chain.(TimelockChain)
	if !ok {
		return nil
	}
	return func(cr chain.CommitReveal) weightSetter { return timelockSetter{v: v, cr: cr, c: tc} }
}

// timelockSetter encrypts the weights to the drand round that falls a few
// blocks into the reveal epoch (timelock v4: the payload and ciphertext
// format of internal/timelock) and sends commit_timelocked_(mechanism_)
// weights; the chain decrypts and applies them itself once that round's
// pulse is stored, so nothing is kept for a reveal.
type timelockSetter struct {
	v  *Validator
	cr chain.CommitReveal
	c  TimelockChain
}

func (timelockSetter) name() string { return "timelock" }

func (s timelockSetter) put(ctx context.Context, uids []chain.UID, ws []float64) (uint64, error) {
	v := s.v
	every := v.every(ctx)
	u16, vals, next, err := v.emitValues(uids, ws, every)
	if err != nil {
		return next, err
	}
	beacon, err := s.c.DrandBeacon(ctx)
	if err != nil {
		return max(1, v.cfg.WeightsEvery/10), err
	}
	now, err := v.deps.Chain.BlockNumber(ctx)
	if err != nil {
		return 1, err
	}
	// A commit sent now lands in the next block; its epoch's reveal epoch
	// starts at first.
	first, _ := chain.RevealBlocks(v.cfg.NetUID, s.cr.Tempo, s.cr.RevealPeriod, now+1)
	round := chain.TimelockRevealRound(beacon, s.c.SlotSeconds(), now, first)
	pub := v.deps.Hotkey.Public()
	payload := timelock.WeightsPayload{Hotkey: pub[:], UIDs: u16, Values: vals, VersionKey: v.cfg.VersionKey}
	ct, err := timelock.Encrypt(rand.Reader, beacon.PublicKey, round, payload.Encode())
	if err != nil {
		return every, fmt.Errorf("timelock-encrypt the weights: %w", err)
	}
	version := uint16(4)
	if s.cr.HasVersion {
		version = uint16(s.cr.Version)
	}
	_, err = s.c.CommitTimelocked(ctx, v.deps.Hotkey, v.cfg.NetUID, ct, round, version)
	switch {
	case err == nil:
	case errors.Is(err, chain.ErrCommittingWeightsTooFast), errors.Is(err, chain.ErrSettingWeightsTooFast):
		return max(1, every/5), err
	case errors.Is(err, chain.ErrTooManyUnrevealedCommits):
		return max(every, s.cr.Tempo+1), fmt.Errorf("not committing until earlier commits are revealed: %w", err)
	case errors.Is(err, chain.ErrCommitRevealDisabled):
		return 1, err // switched off since this round read it: the next round sets weights directly
	default:
		return max(1, v.cfg.WeightsEvery/10), err
	}
	v.m.weightsCommitted.Inc()
	v.log.Info("weights committed (timelock)", "uids", len(u16), "reveal_round", round, "reveal_first_block", first,
		"bytes", len(ct), "version", version)
	return every, nil
}

// emitValues converts a round's scores to the u16 uids and values the chain
// takes; on error next is when to try again.
func (v *Validator) emitValues(uids []chain.UID, ws []float64, every uint64) (u16, vals []uint16, next uint64, err error) {
	us, vals, err := chain.WeightsForEmit(uids, ws)
	if err != nil {
		return nil, nil, every, err
	}
	if len(us) == 0 {
		return nil, nil, max(1, v.cfg.WeightsEvery/10), errors.New("no weight left after conversion")
	}
	u16 = make([]uint16, len(us))
	for i, u := range us {
		u16[i] = uint16(u)
	}
	return u16, vals, 0, nil
}
