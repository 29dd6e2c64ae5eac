package devchain_test

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"testing"

	"github.com/sn27/sn27/internal/chain"
	"github.com/sn27/sn27/internal/chain/chaintest"
	"github.com/sn27/sn27/internal/chain/devchain"
	"github.com/sn27/sn27/internal/scale"
	"github.com/sn27/sn27/internal/timelock"
)

// testBeacon is the dev beacon's cryptography from internal/timelock.
type testBeacon struct{}

func (testBeacon) NewKey() ([]byte, []byte, error)          { return timelock.NewDevBeacon(rand.Reader) }
func (testBeacon) Sign(sk []byte, r uint64) ([]byte, error) { return timelock.Sign(sk, r) }
func (testBeacon) Open(sig, commit, committer []byte) ([]uint16, []uint16, uint64, error) {
	plain, err := timelock.Decrypt(sig, commit)
	if err != nil {
		return nil, nil, 0, err
	}
	p, err := timelock.OpenWeights(plain, committer)
	return p.UIDs, p.Values, p.VersionKey, err
}

// On the spec-343 dev chain new subnets have commit-reveal on; set_weights
// is refused, and a timelocked commit encrypted to the chain's own beacon
// for the round due in the reveal epoch is decrypted and applied there.
func TestTimelockedCommitReveals(t *testing.T) {
	cfg := devchain.DefaultConfig()
	cfg.Runtime, cfg.Tempo, cfg.Beacon = 343, 10, testBeacon{}
	dc, url, _ := chaintest.ServeDevChain(t, cfg)
	c := dial(t, url)
	ctx := context.Background()
	alice, ferdie := chaintest.Dev(t, "//Alice"), chaintest.Dev(t, "//Ferdie")
	bob, charlie, dave, eve := chaintest.Dev(t, "//Bob"), chaintest.Dev(t, "//Charlie"), chaintest.Dev(t, "//Dave"), chaintest.Dev(t, "//Eve")
	u16 := func(v uint16) []byte { return scale.NewEncoder(nil).U16(v).Data() }
	u64 := func(v uint64) []byte { return scale.NewEncoder(nil).U64(v).Data() }
	sudo := func(call string, args ...[]byte) {
		t.Helper()
		inner, err := c.Call("AdminUtils", call, args...)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Sudo(ctx, alice, inner); err != nil {
			t.Fatalf("sudo %s: %v", call, err)
		}
	}
	sudo("sudo_set_network_rate_limit", u64(0))
	netuid, err := c.RegisterNetwork(ctx, alice, ferdie.Hotkey())
	if err != nil {
		t.Fatal(err)
	}
	sudo("sudo_set_target_registrations_per_interval", u16(uint16(netuid)), u16(10))
	sudo("sudo_set_weights_set_rate_limit", u16(uint16(netuid)), u64(0))
	vuid, err := c.BurnedRegister(ctx, bob, netuid, charlie.Hotkey())
	if err != nil {
		t.Fatal(err)
	}
	muid, err := c.BurnedRegister(ctx, dave, netuid, eve.Hotkey())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.SetWeights(ctx, charlie, netuid, []chain.UID{muid}, []float64{1}, 0); !errors.Is(err, chain.ErrCommitRevealEnabled) {
		t.Fatalf("set_weights on a new spec-343 subnet = %v; want CommitRevealEnabled", err)
	}
	cr, err := c.CommitReveal(ctx, netuid)
	if err != nil || cr.Path() != chain.PathTimelock || cr.Version != 4 {
		t.Fatalf("commit-reveal = %+v (%v), %v; want timelock v4", cr, cr.Path(), err)
	}
	b, err := c.DrandBeacon(ctx)
	if err != nil {
		t.Fatal(err)
	}
	now, _ := c.BlockNumber(ctx)
	first, _ := chain.RevealBlocks(netuid, cr.Tempo, cr.RevealPeriod, now+1)
	round := chain.TimelockRevealRound(b, c.SlotSeconds(), now, first)
	pub := charlie.Public()
	payload := timelock.WeightsPayload{Hotkey: pub[:], UIDs: []uint16{uint16(vuid), uint16(muid)}, Values: []uint16{16384, 65535}}
	ct, err := timelock.Encrypt(rand.Reader, b.PublicKey, round, payload.Encode())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.CommitTimelocked(ctx, charlie, netuid, ct, round, 3); !errors.Is(err, chain.ErrIncorrectCommitRevealVersion) {
		t.Errorf("commit with version 3 = %v; want IncorrectCommitRevealVersion", err)
	}
	if _, err := c.CommitTimelocked(ctx, charlie, netuid, ct, round, 4); err != nil {
		t.Fatalf("commit_timelocked: %v", err)
	}
	weights := func() string {
		w, err := c.StorageValue(ctx, "SubtensorModule", "Weights", u16(uint16(netuid)), u16(uint16(vuid)))
		if err != nil {
			t.Fatal(err)
		}
		return fmt.Sprint(w)
	}
	dc.NewBlocks(int(first + 1 - min(first+1, dc.BlockNumber())))
	if got := weights(); got != "[]" {
		t.Fatalf("weights before the pulse of round %d = %s", round, got)
	}
	dc.NewBlocks(4)
	want := fmt.Sprintf("[[%d 16384] [%d 65535]]", vuid, muid)
	if got := weights(); got != want {
		t.Fatalf("weights after the reveal epoch's pulse = %s; want %s (commit at %d, round %d, first reveal block %d, now %d)", got, want, now, round, first, dc.BlockNumber())
	}
	// The beacon's pulses verify against its public key.
	sig, err := c.StorageValue(ctx, "Drand", "Pulses", u64(round))
	if err != nil {
		t.Fatal(err)
	}
	if err := timelock.VerifyRound(b.PublicKey, round, sig.(map[string]any)["signature"].([]byte)); err != nil {
		t.Errorf("pulse of round %d: %v", round, err)
	}
}
