package validator_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/sn27/sn27/internal/chain"
	"github.com/sn27/sn27/internal/chain/chaintest"
	"github.com/sn27/sn27/internal/dendrite"
	"github.com/sn27/sn27/internal/keys"
	"github.com/sn27/sn27/internal/store"
	"github.com/sn27/sn27/internal/validator"
)

// fakeChain answers the validator's weights calls from a script.
type fakeChain struct {
	neurons   []chain.Neuron
	cr        chain.CommitReveal
	phase     chain.RevealPhase
	commitErr error
	revealErr error
	setErr    error
	commits   int
	reveals   int
	sets      int
}

func (f *fakeChain) Neurons(context.Context, chain.NetUID) ([]chain.Neuron, error) {
	return f.neurons, nil
}
func (f *fakeChain) BlockNumber(context.Context) (uint64, error) { return 100, nil }
func (f *fakeChain) Hyperparameter(context.Context, string, chain.NetUID) (uint64, error) {
	return 0, nil
}
func (f *fakeChain) SetWeights(context.Context, *keys.Pair, chain.NetUID, []chain.UID, []float64, uint64) (*chain.Receipt, error) {
	f.sets++
	return &chain.Receipt{}, f.setErr
}
func (f *fakeChain) CommitReveal(context.Context, chain.NetUID) (chain.CommitReveal, error) {
	return f.cr, nil
}
func (f *fakeChain) CommitWeights(_ context.Context, hk *keys.Pair, netuid chain.NetUID, uids, values, salt []uint16, vk uint64) (*chain.Commit, error) {
	f.commits++
	if f.commitErr != nil {
		return nil, f.commitErr
	}
	return &chain.Commit{Hash: chain.CommitHash(hk.Public(), uint16(netuid), uids, values, salt, vk), Block: 100,
		Window: chain.RevealWindow{Epoch: 21, FirstBlock: 104, LastBlock: 108}}, nil
}
func (f *fakeChain) RevealWeights(context.Context, *keys.Pair, chain.NetUID, []uint16, []uint16, []uint16, uint64) (*chain.Receipt, error) {
	f.reveals++
	return &chain.Receipt{}, f.revealErr
}
func (f *fakeChain) RevealPhase(context.Context, chain.NetUID, chain.RevealWindow) (chain.RevealPhase, error) {
	return f.phase, nil
}
func (f *fakeChain) FindCommit(context.Context, chain.NetUID, keys.PublicKey, [32]byte) (*chain.Commit, bool, error) {
	return nil, false, nil
}

var hashCR = chain.CommitReveal{Enabled: true, Tempo: 4, RevealPeriod: 1,
	Calls: chain.WeightsCalls{SetWeights: true, CommitWeights: true, RevealWeights: true}}

// newFakeValidator returns a validator on f whose only miner (uid 1) has
// a score, and its store.
func newFakeValidator(t *testing.T, f *fakeChain) (*validator.Validator, *store.Store) {
	t.Helper()
	ctx := context.Background()
	vhot, mhot := chaintest.Dev(t, "//Charlie"), chaintest.Dev(t, "//Eve")
	f.neurons = []chain.Neuron{{UID: 0, Hotkey: vhot.Hotkey(), ValidatorPermit: true}, {UID: 1, Hotkey: mhot.Hotkey()}}
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "v.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.AddChallenges(ctx, []store.Challenge{{UID: 1, Hotkey: string(mhot.Hotkey()), Success: true, ElapsedSeconds: 2, Difficulty: 8, CreatedAt: time.Now()}}); err != nil {
		t.Fatal(err)
	}
	d, _ := dendrite.New(vhot, dendrite.Config{})
	t.Cleanup(func() { d.Close() })
	cfg := validator.DefaultConfig()
	cfg.NetUID = 2
	v, err := validator.New(cfg, validator.Deps{Hotkey: vhot, Chain: f, Store: st, Dendrite: d})
	if err != nil {
		t.Fatal(err)
	}
	return v, st
}

func pendingOf(t *testing.T, st *store.Store) []store.PendingCommit {
	t.Helper()
	ps, err := st.PendingCommits(context.Background(), 2, string(chaintest.Dev(t, "//Charlie").Hotkey()))
	if err != nil {
		t.Fatal(err)
	}
	return ps
}

func TestWeightsPathPerRound(t *testing.T) {
	ctx := context.Background()
	for _, tt := range []struct {
		name                string
		cr                  chain.CommitReveal
		commitErr           error
		wantErr             error
		wantSets, wantComms int
		wantPending         int
	}{
		{name: "commit-reveal off", cr: chain.CommitReveal{Calls: hashCR.Calls}, wantSets: 1},
		{name: "hash commit", cr: hashCR, wantComms: 1, wantPending: 1},
		{name: "too many unrevealed", cr: hashCR, commitErr: chain.ErrTooManyUnrevealedCommits, wantErr: chain.ErrTooManyUnrevealedCommits, wantComms: 1},
		{name: "committing too fast", cr: hashCR, commitErr: chain.ErrCommittingWeightsTooFast, wantErr: chain.ErrCommittingWeightsTooFast, wantComms: 1},
		{name: "connection lost: kept unconfirmed", cr: hashCR, commitErr: errors.New("wait for inclusion: EOF"), wantErr: nil, wantComms: 1, wantPending: 1},
		{name: "timelock without a timelock chain client", cr: chain.CommitReveal{Enabled: true, HasVersion: true, Version: 4,
			Calls: chain.WeightsCalls{CommitWeights: true, RevealWeights: true, CommitTimelockedWeights: true}}, wantErr: validator.ErrPathUnsupported},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeChain{cr: tt.cr, commitErr: tt.commitErr}
			v, st := newFakeValidator(t, f)
			err := v.SetWeights(ctx)
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) || tt.wantErr == nil && tt.commitErr == nil && err != nil {
				t.Errorf("SetWeights = %v; want %v", err, tt.wantErr)
			}
			if f.sets != tt.wantSets || f.commits != tt.wantComms {
				t.Errorf("set_weights %d, commits %d; want %d, %d", f.sets, f.commits, tt.wantSets, tt.wantComms)
			}
			if got := len(pendingOf(t, st)); got != tt.wantPending {
				t.Errorf("%d pending commits; want %d", got, tt.wantPending)
			}
		})
	}
}

func TestNoScoresSendNothing(t *testing.T) {
	for _, cr := range []chain.CommitReveal{{Calls: hashCR.Calls}, hashCR} {
		f := &fakeChain{cr: cr}
		v, _ := newFakeValidator(t, f)
		f.neurons = f.neurons[:1] // the validator alone: every score is zero
		if err := v.SetWeights(context.Background()); !errors.Is(err, validator.ErrNoScores) || f.sets+f.commits != 0 {
			t.Errorf("%s: SetWeights with no scores = %v (%d sets, %d commits); want ErrNoScores and nothing sent", cr.Path(), err, f.sets, f.commits)
		}
	}
}

func TestRevealOutcomes(t *testing.T) {
	ctx := context.Background()
	for _, tt := range []struct {
		name         string
		phase        chain.RevealPhase
		revealErr    error
		wantReveals  int
		wantRevealed int
		wantRecommit bool
		wantKept     bool
		wantErr      bool
	}{
		{name: "window not open", phase: chain.RevealWait, wantKept: true},
		{name: "revealed", phase: chain.RevealOpen, wantReveals: 1, wantRevealed: 1},
		{name: "too early: retry", phase: chain.RevealOpen, revealErr: chain.ErrRevealTooEarly, wantReveals: 1, wantKept: true},
		{name: "expired on chain", phase: chain.RevealOpen, revealErr: chain.ErrExpiredWeightCommit, wantReveals: 1, wantRecommit: true},
		{name: "unknown to the chain", phase: chain.RevealOpen, revealErr: chain.ErrNoWeightsCommitFound, wantReveals: 1, wantRecommit: true},
		{name: "hash mismatch", phase: chain.RevealOpen, revealErr: chain.ErrInvalidRevealCommitHash, wantReveals: 1, wantRecommit: true},
		{name: "window passed", phase: chain.RevealExpired, wantRecommit: true},
		{name: "other failure: retry", phase: chain.RevealOpen, revealErr: errors.New("boom"), wantReveals: 1, wantKept: true, wantErr: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeChain{cr: hashCR}
			v, st := newFakeValidator(t, f)
			if err := v.SetWeights(ctx); err != nil {
				t.Fatal(err)
			}
			f.phase, f.revealErr = tt.phase, tt.revealErr
			revealed, recommit, err := v.Reveal(ctx)
			if (err != nil) != tt.wantErr || revealed != tt.wantRevealed || recommit != tt.wantRecommit || f.reveals != tt.wantReveals {
				t.Errorf("Reveal = %d, %v, %v (%d reveal calls); want %d, %v, error %v (%d calls)",
					revealed, recommit, err, f.reveals, tt.wantRevealed, tt.wantRecommit, tt.wantErr, tt.wantReveals)
			}
			if kept := len(pendingOf(t, st)) == 1; kept != tt.wantKept {
				t.Errorf("commit kept %v; want %v", kept, tt.wantKept)
			}
		})
	}
}
