package chaintest

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/sn27/sn27/internal/chain"
	"github.com/sn27/sn27/internal/scale"
)

// NewBlocks asks the chain for n empty blocks (dev_newBlock: chopsticks
// and the dev chain both have it).
func NewBlocks(ctx context.Context, t testing.TB, c *chain.Client, n int) {
	t.Helper()
	var res any
	if err := c.RPC().Call(ctx, &res, "dev_newBlock", map[string]any{"count": n}); err != nil {
		t.Fatalf("dev_newBlock: %v", err)
	}
}

// PastGenesis works around chopsticks' known flake (shared/localchain
// NOTES.md): under CPU load it may fail to build block #1 ("Timestamp slot
// must match CurrentSlot") and then include nothing. It asks for empty
// blocks until the head is past genesis.
func PastGenesis(t testing.TB, c *chain.Client) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for i := 0; ; i++ {
		b, err := c.BlockNumber(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if b > 0 {
			return
		}
		if i == 10 {
			t.Fatal("the chain stays at block #0: it cannot build blocks")
		}
		var res any
		if err := c.RPC().Call(ctx, &res, "dev_newBlock", map[string]any{"count": 1}); err != nil {
			t.Logf("dev_newBlock at genesis: %v", err)
			time.Sleep(time.Second)
		}
	}
}

// SudoAdmin sends AdminUtils.call(args...) through Sudo.sudo signed by
// //Alice.
func SudoAdmin(ctx context.Context, t testing.TB, c *chain.Client, call string, args ...[]byte) {
	t.Helper()
	inner, err := c.Call("AdminUtils", call, args...)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Sudo(ctx, Dev(t, "//Alice"), inner); err != nil {
		t.Fatalf("sudo %s: %v", call, err)
	}
}

// U16 and U64 are SCALE encodings of call arguments.
func U16(v uint16) []byte { return scale.NewEncoder(nil).U16(v).Data() }
func U64(v uint64) []byte { return scale.NewEncoder(nil).U64(v).Data() }

// CommitRevealScenario runs hash commit-reveal on a new subnet with
// commit-reveal switched on by sudo: the subnet's settings read back, a
// reveal without a commit (NoWeightsCommitFound), ten unrevealed commits
// and an eleventh refused (TooManyUnrevealedCommits), the commit stored
// on chain with the reveal window computed here, a reveal with a wrong salt
// (InvalidRevealCommitHashNotMatch), a reveal before the window
// (RevealTooEarly), the reveal in the window that sets the weights, and a
// reveal after the window (ExpiredWeightCommit). The real runtime (spec
// 218) and the dev chain run the same function. It returns the subnet.
func CommitRevealScenario(t testing.TB, c *chain.Client) chain.NetUID {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	netuid := NewSubnet(t, c)
	bob, charlie, dave, eve := Dev(t, "//Bob"), Dev(t, "//Charlie"), Dev(t, "//Dave"), Dev(t, "//Eve")
	spare := Dev(t, "//Charlie//spare")
	vuid, err := c.BurnedRegister(ctx, bob, netuid, charlie.Hotkey())
	if err != nil {
		t.Fatalf("register validator: %v", err)
	}
	muid, err := c.BurnedRegister(ctx, dave, netuid, eve.Hotkey())
	if err != nil {
		t.Fatalf("register miner: %v", err)
	}
	if _, err := c.BurnedRegister(ctx, bob, netuid, spare.Hotkey()); err != nil {
		t.Fatalf("register spare validator: %v", err)
	}
	n := U16(uint16(netuid))
	SudoAdmin(ctx, t, c, "sudo_set_weights_set_rate_limit", n, U64(0))
	SudoAdmin(ctx, t, c, "sudo_set_commit_reveal_weights_enabled", n, []byte{1})

	cr, err := c.CommitReveal(ctx, netuid)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("commit-reveal settings: %+v (path %s)", cr, cr.Path())
	if !cr.Enabled || cr.RevealPeriod != 1 || cr.Path() != chain.PathHashCommit {
		t.Fatalf("CommitReveal = %+v, path %s; want enabled, reveal period 1, hash-commit", cr, cr.Path())
	}
	if _, err := c.SetWeights(ctx, charlie, netuid, []chain.UID{muid}, []float64{1}, 0); !errors.Is(err, chain.ErrCommitRevealEnabled) {
		t.Errorf("set_weights under commit-reveal = %v; want ErrCommitRevealEnabled", err)
	}

	uids, values := []uint16{uint16(vuid), uint16(muid)}, []uint16{16384, 65535}
	salt := []uint16{1, 2, 3, 4, 5, 6, 7, 8}
	if _, err := c.RevealWeights(ctx, charlie, netuid, uids, values, salt, 0); !errors.Is(err, chain.ErrNoWeightsCommitFound) {
		t.Errorf("reveal without a commit = %v; want ErrNoWeightsCommitFound", err)
	}

	// Ten unrevealed commits fill the queue (tempo 30: none expires here).
	for i := range 10 {
		if _, err := c.CommitWeights(ctx, spare, netuid, uids, values, []uint16{uint16(i)}, 0); err != nil {
			t.Fatalf("commit %d: %v", i+1, err)
		}
	}
	if _, err := c.CommitWeights(ctx, spare, netuid, uids, values, []uint16{99}, 0); !errors.Is(err, chain.ErrTooManyUnrevealedCommits) {
		t.Errorf("11th unrevealed commit = %v; want ErrTooManyUnrevealedCommits", err)
	}

	// Short epochs from here: tempo 4, reveal in the next epoch.
	SudoAdmin(ctx, t, c, "sudo_set_tempo", n, U16(4))
	SudoAdmin(ctx, t, c, "sudo_set_commit_reveal_weights_interval", n, U64(1))
	if cr, err = c.CommitReveal(ctx, netuid); err != nil || cr.Tempo != 4 || cr.RevealPeriod != 1 {
		t.Fatalf("after sudo: %+v, %v; want tempo 4, reveal period 1", cr, err)
	}

	cm, err := c.CommitWeights(ctx, charlie, netuid, uids, values, salt, 0)
	if err != nil {
		t.Fatalf("commit: %v", err)
	}
	t.Logf("commit in block %d, reveal window %+v", cm.Block, cm.Window)
	if want := chain.CommitHash(charlie.Public(), uint16(netuid), uids, values, salt, 0); cm.Hash != want {
		t.Errorf("commit hash %x; want %x", cm.Hash, want)
	}
	// The chain stores (hash, commit block, first, last reveal block): its
	// window must be the one computed here.
	onChain, err := c.WeightCommits(ctx, netuid, charlie.Public())
	if err != nil {
		t.Fatal(err)
	}
	want := chain.WeightCommitEntry{Hash: cm.Hash, A: cm.Block, B: cm.Window.FirstBlock, C: cm.Window.LastBlock}
	if len(onChain) != 1 || onChain[0] != want {
		t.Fatalf("WeightCommits = %+v; want [%+v]", onChain, want)
	}

	wrong := append([]uint16{9}, salt[1:]...)
	if _, err := c.RevealWeights(ctx, charlie, netuid, uids, values, wrong, 0); !errors.Is(err, chain.ErrInvalidRevealCommitHash) {
		t.Errorf("reveal with a wrong salt = %v; want ErrInvalidRevealCommitHash", err)
	}
	if ph, err := c.RevealPhase(ctx, netuid, cm.Window); err != nil {
		t.Fatal(err)
	} else if ph == chain.RevealWait {
		if _, err := c.RevealWeights(ctx, charlie, netuid, uids, values, salt, 0); !errors.Is(err, chain.ErrRevealTooEarly) {
			t.Errorf("reveal before the window = %v; want ErrRevealTooEarly", err)
		}
	}
	WaitRevealPhase(ctx, t, c, netuid, cm.Window, chain.RevealOpen)
	if _, err := c.RevealWeights(ctx, charlie, netuid, uids, values, salt, 0); err != nil {
		t.Fatalf("reveal in the window: %v", err)
	}
	w, err := c.StorageValue(ctx, "SubtensorModule", "Weights", n, U16(uint16(vuid)))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := fmt.Sprint(w), fmt.Sprintf("[[%d 16384] [%d 65535]]", vuid, muid); got != want {
		t.Errorf("Weights(netuid, validator) after the reveal = %s; want %s", got, want)
	}
	if left, _ := c.WeightCommits(ctx, netuid, charlie.Public()); len(left) != 0 {
		t.Errorf("WeightCommits after the reveal = %+v; want none", left)
	}

	// A commit left past its window expires.
	cm, err = c.CommitWeights(ctx, charlie, netuid, uids, values, salt, 0)
	if err != nil {
		t.Fatalf("second commit: %v", err)
	}
	WaitRevealPhase(ctx, t, c, netuid, cm.Window, chain.RevealExpired)
	if _, err := c.RevealWeights(ctx, charlie, netuid, uids, values, salt, 0); !errors.Is(err, chain.ErrExpiredWeightCommit) {
		t.Errorf("reveal after the window = %v; want ErrExpiredWeightCommit", err)
	}
	return netuid
}

// WaitRevealPhase builds blocks until w is in phase want.
func WaitRevealPhase(ctx context.Context, t testing.TB, c *chain.Client, netuid chain.NetUID, w chain.RevealWindow, want chain.RevealPhase) {
	t.Helper()
	for i := 0; ; i++ {
		ph, err := c.RevealPhase(ctx, netuid, w)
		if err != nil {
			t.Fatal(err)
		}
		if ph == want {
			return
		}
		if i > 100 {
			t.Fatalf("reveal window %+v still %s after 100 blocks; want %s", w, ph, want)
		}
		NewBlocks(ctx, t, c, 1)
	}
}
