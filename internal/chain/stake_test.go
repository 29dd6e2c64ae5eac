package chain_test

import (
	"context"
	"encoding/hex"
	"testing"
	"time"

	"github.com/sn27/sn27/internal/chain"
	"github.com/sn27/sn27/internal/chain/chaintest"
	"github.com/sn27/sn27/internal/scale"
)

func TestLimitPrice(t *testing.T) {
	for _, tt := range []struct {
		price uint64
		tol   float64
		want  uint64
	}{
		{1_000_000_000, 0.005, 1_005_000_000},
		{1_000_000_000, 0, 1_000_000_000},
		{3, 0.5, 5}, // rounded up
		{2_500_000_000, 0.1, 2_750_000_000},
		{1_000_000_000, 0.05, 1_050_000_000},
		{1_000_000_001_000_000_000, 0.005, 1_005_000_001_005_000_000},
	} {
		got, err := chain.LimitPrice(tt.price, tt.tol)
		if err != nil || got != tt.want {
			t.Errorf("LimitPrice(%d, %v) = %d, %v; want %d", tt.price, tt.tol, got, err, tt.want)
		}
	}
	for _, bad := range []struct {
		price uint64
		tol   float64
	}{{0, 0.1}, {1, -0.1}} {
		if _, err := chain.LimitPrice(bad.price, bad.tol); err == nil {
			t.Errorf("LimitPrice(%d, %v) accepted", bad.price, bad.tol)
		}
	}
}

// setStorage writes SubtensorModule.item(netuid) = v (u64) with chopsticks'
// dev_setStorage.
func setStorage(t *testing.T, c *chain.Client, item string, netuid chain.NetUID, v uint64) {
	t.Helper()
	e, err := c.Metadata().Storage("SubtensorModule", item)
	if err != nil {
		t.Fatal(err)
	}
	k, err := e.Key(scale.NewEncoder(nil).U16(uint16(netuid)).Data())
	if err != nil {
		t.Fatal(err)
	}
	val := scale.NewEncoder(nil).U64(v).Data()
	var res any
	pair := [][]string{{"0x" + hex.EncodeToString(k), "0x" + hex.EncodeToString(val)}}
	if err := c.RPC().Call(context.Background(), &res, "dev_setStorage", pair); err != nil {
		t.Fatalf("dev_setStorage %s: %v", item, err)
	}
}

// TestStakeOnLocalchain stakes on the real runtime and checks that the
// alpha SN27 reports (StakeAdded) is what the chain credited and what the
// pool estimate predicted: nothing on a fresh subnet, the constant-product
// amount on a funded pool.
func TestStakeOnLocalchain(t *testing.T) {
	c := dial(t)
	netuid := chaintest.NewSubnet(t, c)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	// Stake to a registered hotkey that is not the owner's: no emission
	// reaches it while no weights are set, so TotalHotkeyAlpha moves by
	// exactly what the stake bought.
	bob, charlie := chaintest.Dev(t, "//Bob"), chaintest.Dev(t, "//Charlie")
	if _, err := c.BurnedRegister(ctx, bob, netuid, charlie.Hotkey()); err != nil {
		t.Fatal(err)
	}
	pub := charlie.Public()
	credited := func() uint64 {
		t.Helper()
		v, err := c.StorageValue(ctx, "SubtensorModule", "TotalHotkeyAlpha", pub[:], scale.NewEncoder(nil).U16(uint16(netuid)).Data())
		if err != nil {
			t.Fatal(err)
		}
		return v.(uint64)
	}

	// A fresh subnet: the pool cannot give anything.
	p, err := c.Pool(ctx, netuid)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("fresh pool: %+v", p)
	if p.Stable() || p.HasLimit || p.SwapAPI || p.SubtokenEnabled != nil {
		t.Errorf("spec 218 pool %+v: want dynamic, no add_stake_limit, no swap API, no SubtokenEnabled", p)
	}
	est, err := c.EstimateStake(ctx, p, 2000*chaintest.TAO)
	if err != nil {
		t.Fatal(err)
	}
	before := credited()
	r, err := c.AddStake(ctx, bob, charlie.Hotkey(), netuid, 2000*chaintest.TAO)
	if err != nil {
		t.Fatal(err)
	}
	ev, ok := r.StakeAdded()
	if !ok {
		t.Fatalf("no StakeAdded in %+v", r.Events)
	}
	t.Logf("fresh subnet: 2000 τ bought %d α (estimated %d, %s)", ev.Alpha, est.Alpha, est.How)
	if ev.Coldkey != bob.Coldkey() || ev.Hotkey != charlie.Hotkey() || ev.TAO != 2000*chaintest.TAO || ev.NetUID != netuid {
		t.Errorf("StakeAdded = %+v", ev)
	}
	if got := credited() - before; got != ev.Alpha || ev.Alpha > 1 || est.Alpha > 1 {
		t.Errorf("fresh subnet: StakeAdded alpha %d, credited %d, estimated %d; want all ~0", ev.Alpha, got, est.Alpha)
	}

	// A funded pool, 1000 τ / 1000 α: price 1 τ/α, and 100 τ buys what the
	// constant product gives.
	setStorage(t, c, "SubnetTAO", netuid, 1000*chaintest.TAO)
	setStorage(t, c, "SubnetAlphaIn", netuid, 1000*chaintest.TAO)
	if p, err = c.Pool(ctx, netuid); err != nil {
		t.Fatal(err)
	}
	if p.Price != chain.RaoPerAlpha {
		t.Errorf("price of a 1000/1000 pool = %d rao/α; want %d", p.Price, chain.RaoPerAlpha)
	}
	if est, err = c.EstimateStake(ctx, p, 100*chaintest.TAO); err != nil {
		t.Fatal(err)
	}
	before = credited()
	if r, err = c.AddStake(ctx, bob, charlie.Hotkey(), netuid, 100*chaintest.TAO); err != nil {
		t.Fatal(err)
	}
	if ev, ok = r.StakeAdded(); !ok {
		t.Fatal("no StakeAdded")
	}
	got := credited() - before
	t.Logf("1000/1000 pool: 100 τ bought %d α, credited %d, estimated %d (final price %d rao/α); effective %.9f τ/α", ev.Alpha, got, est.Alpha, est.FinalPrice, ev.Price())
	if got != ev.Alpha || ev.Alpha < 90*chaintest.TAO || ev.Alpha > 91*chaintest.TAO {
		t.Errorf("StakeAdded alpha %d, credited %d; want about 90.9 α", ev.Alpha, got)
	}
	// The block's emission reaches the pool before the stake does, so the
	// estimate from the state before is close, not exact.
	if d := float64(est.Alpha)/float64(ev.Alpha) - 1; d < -0.005 || d > 0.005 {
		t.Errorf("estimate %d α; the runtime gave %d (%.3f%% off)", est.Alpha, ev.Alpha, 100*d)
	}
}
