package devchain_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/sn27/sn27/internal/chain"
	"github.com/sn27/sn27/internal/chain/chaintest"
	"github.com/sn27/sn27/internal/chain/devchain"
)

// TestCommitRevealScenario runs the hash commit-reveal scenario that the
// real runtime passes (internal/chain TestCommitRevealOnLocalchain).
func TestCommitRevealScenario(t *testing.T) {
	_, url, _ := chaintest.ServeDevChain(t, devchain.DefaultConfig())
	c := chaintest.Connect(t, url)
	chaintest.CommitRevealScenario(t, c)
}

// TestWeightsPathSpec343 reads the commit-reveal settings of a runtime with
// timelocked commits (spec 343 metadata): the client picks the timelock
// path there, from storage and metadata alone.
func TestWeightsPathSpec343(t *testing.T) {
	cfg := devchain.DefaultConfig()
	cfg.Runtime = 343
	_, url, _ := chaintest.ServeDevChain(t, cfg)
	c := chaintest.Connect(t, url)
	netuid := chaintest.NewSubnet(t, c)
	cr, err := c.CommitReveal(context.Background(), netuid)
	if err != nil {
		t.Fatal(err)
	}
	calls := cr.Calls
	if !cr.Enabled || !cr.HasVersion || cr.Version != 4 || cr.RevealPeriod != 1 || cr.Path() != chain.PathTimelock ||
		!calls.SetMechanismWeights || !calls.CommitTimelockedMechanismWeights || !calls.CommitMechanismWeights || !calls.RevealMechanismWeights {
		t.Errorf("spec 343: %+v, path %s; want enabled, version 4, reveal period 1, timelock, mechanism calls", cr, cr.Path())
	}
}

// TestMechanismHashCommitSpec343 commits and reveals through the mechanism
// variants (commit_mechanism_weights / reveal_mechanism_weights, mecid 0)
// that the client picks when the runtime has them.
func TestMechanismHashCommitSpec343(t *testing.T) {
	cfg := devchain.DefaultConfig()
	cfg.Runtime = 343
	_, url, _ := chaintest.ServeDevChain(t, cfg)
	c := chaintest.Connect(t, url)
	ctx := context.Background()
	netuid := chaintest.NewSubnet(t, c)
	charlie := chaintest.Dev(t, "//Charlie")
	vuid, err := c.BurnedRegister(ctx, chaintest.Dev(t, "//Bob"), netuid, charlie.Hotkey())
	if err != nil {
		t.Fatal(err)
	}
	muid, err := c.BurnedRegister(ctx, chaintest.Dev(t, "//Dave"), netuid, chaintest.Dev(t, "//Eve").Hotkey())
	if err != nil {
		t.Fatal(err)
	}
	n := chaintest.U16(uint16(netuid))
	chaintest.SudoAdmin(ctx, t, c, "sudo_set_weights_set_rate_limit", n, chaintest.U64(0))
	chaintest.SudoAdmin(ctx, t, c, "sudo_set_tempo", n, chaintest.U16(4))
	uids, values, salt := []uint16{uint16(muid)}, []uint16{65535}, []uint16{7, 7}
	cm, err := c.CommitWeights(ctx, charlie, netuid, uids, values, salt, 0)
	if err != nil {
		t.Fatal(err)
	}
	if xt := cm.Receipt; xt == nil {
		t.Fatal("no receipt")
	}
	chaintest.WaitRevealPhase(ctx, t, c, netuid, cm.Window, chain.RevealOpen)
	if _, err := c.RevealWeights(ctx, charlie, netuid, uids, values, salt, 0); err != nil {
		t.Fatalf("reveal_mechanism_weights: %v", err)
	}
	w, err := c.StorageValue(ctx, "SubtensorModule", "Weights", n, chaintest.U16(uint16(vuid)))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := fmt.Sprint(w), fmt.Sprintf("[[%d 65535]]", muid); got != want {
		t.Errorf("Weights = %s; want %s", got, want)
	}
}
