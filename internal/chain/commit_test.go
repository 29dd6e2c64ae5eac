package chain_test

import (
	"context"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sn27/sn27/internal/chain"
	"github.com/sn27/sn27/internal/chain/chaintest"
	"github.com/sn27/sn27/internal/keys"
	"github.com/sn27/sn27/internal/scale"
)

func TestCommitHashEncoding(t *testing.T) {
	var who keys.PublicKey
	for i := range who {
		who[i] = byte(i)
	}
	// (AccountId32, u16, Vec<u16>, Vec<u16>, Vec<u16>, u64) in SCALE.
	raw := append(append([]byte{}, who[:]...),
		0x07, 0x00, // netuid 7
		0x08, 0x01, 0x00, 0x02, 0x00, // uids [1, 2]
		0x08, 0xff, 0xff, 0x00, 0x40, // values [65535, 16384]
		0x04, 0x2a, 0x00, // salt [42]
		0xb7, 0, 0, 0, 0, 0, 0, 0) // version key 183
	var want [32]byte
	copy(want[:], scale.Blake2_256(raw))
	if got := chain.CommitHash(who, 7, []uint16{1, 2}, []uint16{65535, 16384}, []uint16{42}, 183); got != want {
		t.Errorf("CommitHash = %x; want %x", got, want)
	}
}

// TestRevealBlocks checks the window against the epoch index: its blocks
// are exactly those of epoch(commit)+period.
func TestRevealBlocks(t *testing.T) {
	for _, tt := range []struct {
		netuid        chain.NetUID
		tempo, period uint64
	}{{1, 4, 1}, {2, 30, 1}, {7, 360, 3}, {0, 99, 2}, {4095, 10, 1}} {
		for b := uint64(0); b < 3*(tt.tempo+1); b += 1 + tt.tempo/7 {
			first, last := chain.RevealBlocks(tt.netuid, tt.tempo, tt.period, b)
			want := chain.EpochIndex(tt.netuid, tt.tempo, b) + tt.period
			if chain.EpochIndex(tt.netuid, tt.tempo, first) != want || chain.EpochIndex(tt.netuid, tt.tempo, last) != want ||
				chain.EpochIndex(tt.netuid, tt.tempo, last+1) != want+1 || (first > 0 && chain.EpochIndex(tt.netuid, tt.tempo, first-1) != want-1) {
				t.Errorf("netuid %d tempo %d period %d block %d: window %d..%d is not epoch %d", tt.netuid, tt.tempo, tt.period, b, first, last, want)
			}
		}
	}
}

func TestPath(t *testing.T) {
	hash := chain.WeightsCalls{SetWeights: true, CommitWeights: true, RevealWeights: true}
	tl := hash
	tl.CommitTimelockedWeights, tl.SetMechanismWeights = true, true
	for _, tt := range []struct {
		name string
		cr   chain.CommitReveal
		want chain.WeightsPath
	}{
		{"off", chain.CommitReveal{Calls: tl, HasVersion: true, Version: 4}, chain.PathDirect},
		{"spec 218", chain.CommitReveal{Enabled: true, Calls: hash}, chain.PathHashCommit},
		{"timelock calls without a version", chain.CommitReveal{Enabled: true, Calls: tl}, chain.PathHashCommit},
		{"today", chain.CommitReveal{Enabled: true, Calls: tl, HasVersion: true, Version: 4}, chain.PathTimelock},
		{"no commit call", chain.CommitReveal{Enabled: true, Calls: chain.WeightsCalls{SetWeights: true}}, chain.PathUnsupported},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.cr.Path(); got != tt.want {
				t.Errorf("Path() = %s; want %s", got, tt.want)
			}
		})
	}
}

// commitLocalchainPort is the commit-reveal test's own real chain: the
// package's chain on 9961 is shared by other tests that sign with the same
// dev keys, and commit-reveal counts blocks.
const commitLocalchainPort = 9987

// ownLocalchain starts the real runtime on port for this test alone.
func ownLocalchain(t *testing.T, port int) *chain.Client {
	t.Helper()
	if testing.Short() {
		t.Skip("needs the local subtensor chain; skipped with -short")
	}
	dir := localchainDir()
	out, err := exec.Command(filepath.Join(dir, "start.sh"), strconv.Itoa(port)).Output()
	if err != nil {
		t.Fatalf("start localchain on %d: %v", port, err)
	}
	t.Cleanup(func() { _ = exec.Command(filepath.Join(dir, "stop.sh"), strconv.Itoa(port)).Run() })
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := chain.Dial(ctx, strings.TrimSpace(string(out)), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	chaintest.PastGenesis(t, c)
	return c
}

func TestCommitRevealOnLocalchain(t *testing.T) {
	c := ownLocalchain(t, commitLocalchainPort)
	if calls := c.WeightsCalls(); !calls.CommitWeights || !calls.RevealWeights || calls.SetMechanismWeights || calls.CommitTimelockedWeights {
		t.Errorf("spec 218 weight calls = %+v; want set/commit/reveal_weights only", calls)
	}
	chaintest.CommitRevealScenario(t, c)
}
