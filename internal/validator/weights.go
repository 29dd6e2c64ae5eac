package validator

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/sn27/sn27/internal/chain"
	"github.com/sn27/sn27/internal/store"
)

// ErrCommitPending says a weight commit is waiting for its reveal, so no new
// one is made (the validator keeps at most one unrevealed commit).
var ErrCommitPending = errors.New("a weight commit is waiting for its reveal")

// ErrNoScores says no miner has a score yet: an all-zero vector is no
// vector on chain (WeightVecLengthIsLow), so nothing is sent.
var ErrNoScores = errors.New("no miner has a score yet; weights not set")

// ErrPathUnsupported says the subnet takes weights in a way this validator
// cannot send yet.
var ErrPathUnsupported = errors.New("weights path not supported")

// weightSetter gets one round's weights on chain in one way. The way is
// chosen each round from the chain (chain.CommitReveal.Path): direct,
// hash commit-reveal or timelock commit-reveal.
type weightSetter interface {
	// name is the path for logs and metrics.
	name() string
	// put sends the weights (uids and scores, as Scores returns them) and
	// returns the blocks until the next round is worth trying; err is nil
	// when the weights went out.
	put(ctx context.Context, uids []chain.UID, ws []float64) (next uint64, err error)
}

// setterFor picks the weight path for cr.
func (v *Validator) setterFor(cr chain.CommitReveal) weightSetter {
	switch cr.Path() {
	case chain.PathDirect:
		return directSetter{v}
	case chain.PathHashCommit:
		return hashCommitSetter{v: v, cr: cr}
	case chain.PathTimelock:
		if v.timelock != nil {
			return v.timelock(cr)
		}
		return unsupportedSetter{v: v, why: fmt.Sprintf("timelock commit-reveal (CommitRevealWeightsVersion %d)", cr.Version)}
	}
	return unsupportedSetter{v: v, why: "commit-reveal is on but the runtime has no commit call this validator knows"}
}

// every is the weights schedule: the configured one, never more often
// than the chain's rate limit allows.
func (v *Validator) every(ctx context.Context) uint64 {
	every := v.cfg.WeightsEvery
	if rl, err := v.deps.Chain.Hyperparameter(ctx, "WeightsSetRateLimit", v.cfg.NetUID); err == nil {
		every = max(every, rl+1)
	}
	return every
}

// directSetter sends set_mechanism_weights / set_weights.
type directSetter struct{ v *Validator }

func (directSetter) name() string { return "direct" }

func (s directSetter) put(ctx context.Context, uids []chain.UID, ws []float64) (uint64, error) {
	v := s.v
	every := v.every(ctx)
	_, err := v.deps.Chain.SetWeights(ctx, v.deps.Hotkey, v.cfg.NetUID, uids, ws, v.cfg.VersionKey)
	switch {
	case err == nil:
		v.m.weightsSet.Inc()
		v.log.Info("weights set", "uids", len(uids), "next_in_blocks", every)
		return every, nil
	case errors.Is(err, chain.ErrSettingWeightsTooFast):
		// LastUpdate starts at registration, so the first try may come
		// early; retry a few times per rate-limit period, not every block.
		return max(1, every/5), err
	case errors.Is(err, chain.ErrCommitRevealEnabled):
		return 1, err // switched on since this round read it: the next round commits
	}
	return max(1, v.cfg.WeightsEvery/10), err
}

// unsupportedSetter is a path this validator cannot send yet.
type unsupportedSetter struct {
	v   *Validator
	why string
}

func (unsupportedSetter) name() string { return "unsupported" }

func (s unsupportedSetter) put(context.Context, []chain.UID, []float64) (uint64, error) {
	return s.v.cfg.WeightsEvery, fmt.Errorf("%w: %s", ErrPathUnsupported, s.why)
}

// hashCommitSetter commits the hash of the weights with a random salt and
// keeps everything the reveal needs in the store; Reveal sends it in the
// reveal window.
type hashCommitSetter struct {
	v  *Validator
	cr chain.CommitReveal
}

func (hashCommitSetter) name() string { return "hash-commit" }

// saltLen is the salt length bittensor uses (8 random u16).
const saltLen = 8

func newSalt() ([]uint16, error) {
	var b [2 * saltLen]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, err
	}
	s := make([]uint16, saltLen)
	for i := range s {
		s[i] = binary.LittleEndian.Uint16(b[2*i:])
	}
	return s, nil
}

func (s hashCommitSetter) put(ctx context.Context, uids []chain.UID, ws []float64) (uint64, error) {
	v := s.v
	every := v.every(ctx)
	// One commit at a time: a new one waits until the last is revealed
	// (or dropped as expired).
	pending, err := v.deps.Store.PendingCommits(ctx, uint16(v.cfg.NetUID), string(v.deps.Hotkey.Hotkey()))
	if err != nil {
		return 10, err
	}
	for _, p := range pending {
		if p.CommitBlock == 0 {
			return 1, fmt.Errorf("%w (sent, not yet seen on chain)", ErrCommitPending)
		}
		ph, err := v.deps.Chain.RevealPhase(ctx, v.cfg.NetUID, windowOf(p))
		if err != nil {
			return 1, err
		}
		if ph == chain.RevealExpired {
			if err := v.deps.Store.DeletePendingCommit(ctx, p.Hash); err != nil {
				return 1, err
			}
			continue
		}
		{
			wait := max(1, s.cr.Tempo/2)
			if b, err := v.deps.Chain.BlockNumber(ctx); err == nil && !p.ByCounter && p.LastRevealBlock >= b {
				wait = p.LastRevealBlock - b + 1
			}
			return wait, fmt.Errorf("%w (reveal in epoch %d)", ErrCommitPending, p.RevealEpoch)
		}
	}
	u16, vals, next, err := v.emitValues(uids, ws, every)
	if err != nil {
		return next, err
	}
	salt, err := newSalt()
	if err != nil {
		return 1, fmt.Errorf("salt: %w", err)
	}
	// The reveal's data is stored before the commit is sent, so that a
	// crash after the commit landed still reveals it: the row waits as
	// unconfirmed (commit block 0) until Reveal finds the commit on chain.
	p := store.PendingCommit{
		Hash: chain.CommitHash(v.deps.Hotkey.Public(), uint16(v.cfg.NetUID), u16, vals, salt, v.cfg.VersionKey),
		Kind: "hash", NetUID: uint16(v.cfg.NetUID), MecID: chain.MainMechanism, Hotkey: string(v.deps.Hotkey.Hotkey()),
		UIDs: u16, Weights: vals, Salt: salt, VersionKey: v.cfg.VersionKey, CreatedAt: v.deps.Now(),
	}
	if err := v.deps.Store.AddPendingCommit(ctx, p); err != nil {
		return 10, fmt.Errorf("store the commit before sending it: %w", err)
	}
	cm, err := v.deps.Chain.CommitWeights(ctx, v.deps.Hotkey, v.cfg.NetUID, u16, vals, salt, v.cfg.VersionKey)
	var de *chain.DispatchError
	if err != nil && (errors.As(err, &de) || errors.Is(err, chain.ErrInvalidTransaction)) {
		// Refused or failed: it is not on chain.
		if derr := v.deps.Store.DeletePendingCommit(ctx, p.Hash); derr != nil {
			err = errors.Join(err, derr)
		}
	}
	switch {
	case err == nil:
	case errors.Is(err, chain.ErrCommittingWeightsTooFast):
		return max(1, every/5), err
	case errors.Is(err, chain.ErrTooManyUnrevealedCommits):
		// Commits from elsewhere (another store, a lost one) fill the
		// chain's queue of 10: stop committing until they expire.
		return max(every, s.cr.Tempo+1), fmt.Errorf("not committing until earlier commits are revealed or expire: %w", err)
	case errors.Is(err, chain.ErrCommitRevealDisabled):
		return 1, err // switched off since this round read it: the next round sets weights directly
	default:
		return max(1, v.cfg.WeightsEvery/10), err
	}
	if cm.Hash != p.Hash {
		return every, fmt.Errorf("the chain client hashed the commit as %x, the validator as %x", cm.Hash, p.Hash)
	}
	confirm(&p, cm)
	if err := v.deps.Store.AddPendingCommit(ctx, p); err != nil {
		return every, fmt.Errorf("weights committed in block %d; its reveal window not stored (found on chain later): %w", cm.Block, err)
	}
	v.m.weightsCommitted.Inc()
	v.log.Info("weights committed", "uids", len(u16), "block", cm.Block, "reveal_epoch", cm.Window.Epoch,
		"reveal_first_block", cm.Window.FirstBlock, "reveal_last_block", cm.Window.LastBlock, "hash", hex.EncodeToString(cm.Hash[:8]))
	return every, nil
}

// unconfirmedTTL is how long a commit that was sent but never seen on
// chain is looked for before it is given up (an extrinsic lives 64 blocks).
const unconfirmedTTL = 15 * time.Minute

// confirm sets p's block and reveal window from the commit on chain.
func confirm(p *store.PendingCommit, cm *chain.Commit) {
	p.CommitBlock, p.RevealEpoch, p.ByCounter = cm.Block, cm.Window.Epoch, cm.Window.ByCounter
	p.FirstRevealBlock, p.LastRevealBlock = cm.Window.FirstBlock, cm.Window.LastBlock
}

func windowOf(p store.PendingCommit) chain.RevealWindow {
	return chain.RevealWindow{Epoch: p.RevealEpoch, FirstBlock: p.FirstRevealBlock, LastBlock: p.LastRevealBlock, ByCounter: p.ByCounter}
}

// Reveal sends the stored commits whose reveal window is open. Commits the
// chain no longer holds (expired, unknown, commit-reveal switched off) are
// dropped; recommit is then true, and the next weights round should come
// now. RevealTooEarly and other failures keep the commit for the next block.
func (v *Validator) Reveal(ctx context.Context) (revealed int, recommit bool, err error) {
	pending, err := v.deps.Store.PendingCommits(ctx, uint16(v.cfg.NetUID), string(v.deps.Hotkey.Hotkey()))
	if err != nil || len(pending) == 0 {
		return 0, false, err
	}
	var errs []error
	for _, p := range pending {
		hash := hex.EncodeToString(p.Hash[:8])
		if p.CommitBlock == 0 {
			// Sent, but its inclusion was not seen: look for it on chain.
			cm, ok, err := v.deps.Chain.FindCommit(ctx, chain.NetUID(p.NetUID), v.deps.Hotkey.Public(), p.Hash)
			switch {
			case err != nil:
				errs = append(errs, err)
				continue
			case ok:
				confirm(&p, cm)
				if err := v.deps.Store.AddPendingCommit(ctx, p); err != nil {
					errs = append(errs, err)
				}
				v.log.Info("weight commit found on chain", "hash", hash, "commit_block", p.CommitBlock, "reveal_epoch", p.RevealEpoch)
			case v.deps.Now().Sub(p.CreatedAt) > unconfirmedTTL:
				if err := v.deps.Store.DeletePendingCommit(ctx, p.Hash); err != nil {
					errs = append(errs, err)
				}
				recommit = true
				v.log.Warn("weight commit never seen on chain; committing again", "hash", hash)
				continue
			default:
				continue
			}
		}
		ph, err := v.deps.Chain.RevealPhase(ctx, v.cfg.NetUID, windowOf(p))
		if err != nil {
			errs = append(errs, err)
			continue
		}
		drop := func(why string) {
			if err := v.deps.Store.DeletePendingCommit(ctx, p.Hash); err != nil {
				errs = append(errs, err)
			}
			recommit = true
			v.log.Warn("weight commit dropped; committing again", "hash", hash, "commit_block", p.CommitBlock, "why", why)
		}
		switch ph {
		case chain.RevealWait:
			continue
		case chain.RevealExpired:
			drop("its reveal window has passed")
			continue
		}
		_, err = v.deps.Chain.RevealWeights(ctx, v.deps.Hotkey, chain.NetUID(p.NetUID), p.UIDs, p.Weights, p.Salt, p.VersionKey)
		switch {
		case err == nil:
			if err := v.deps.Store.DeletePendingCommit(ctx, p.Hash); err != nil {
				errs = append(errs, err)
			}
			revealed++
			v.m.weightsSet.Inc()
			v.log.Info("weights revealed", "uids", len(p.UIDs), "hash", hash, "commit_block", p.CommitBlock, "reveal_epoch", p.RevealEpoch)
		case errors.Is(err, chain.ErrRevealTooEarly):
			v.log.Debug("reveal too early; trying again next block", "hash", hash)
		case errors.Is(err, chain.ErrExpiredWeightCommit):
			drop("the chain says it expired")
		case errors.Is(err, chain.ErrNoWeightsCommitFound), errors.Is(err, chain.ErrInvalidRevealCommitHash):
			drop("the chain does not hold it")
		case errors.Is(err, chain.ErrCommitRevealDisabled):
			drop("commit-reveal was switched off")
		default:
			v.m.chainErrors.WithLabelValues("reveal_weights").Inc()
			errs = append(errs, fmt.Errorf("reveal %s: %w", hash, err))
		}
	}
	return revealed, recommit, errors.Join(errs...)
}
