package devchain_test

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/sn27/sn27/internal/chain"
	"github.com/sn27/sn27/internal/chain/chaintest"
	"github.com/sn27/sn27/internal/chain/devchain"
	"github.com/sn27/sn27/internal/scale"
)

func dial(t *testing.T, url string) *chain.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cl, err := chain.Dial(ctx, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cl.Close() })
	return cl
}

func TestScenario(t *testing.T) {
	_, url, _ := chaintest.ServeDevChain(t, devchain.DefaultConfig())
	chaintest.Scenario(t, dial(t, url))
}

func TestScenarioTimedBlocks(t *testing.T) {
	cfg := devchain.DefaultConfig()
	cfg.BlockTime = 20 * time.Millisecond
	_, url, _ := chaintest.ServeDevChain(t, cfg)
	chaintest.Scenario(t, dial(t, url))
}

func TestPersistence(t *testing.T) {
	cfg := devchain.DefaultConfig()
	cfg.StatePath = filepath.Join(t.TempDir(), "devchain.json")
	_, url, stop := chaintest.ServeDevChain(t, cfg)
	cl := dial(t, url)
	netuid := chaintest.Scenario(t, cl)
	ctx := context.Background()
	before, err := cl.Neurons(ctx, netuid)
	if err != nil {
		t.Fatal(err)
	}
	num, _ := cl.BlockNumber(ctx)
	bob := chaintest.Dev(t, "//Bob")
	acct, err := cl.Account(ctx, bob.Public())
	if err != nil {
		t.Fatal(err)
	}
	w, _ := cl.StorageValue(ctx, "SubtensorModule", "Weights", u16(uint16(netuid)), u16(uint16(before[1].UID)))
	cl.Close()
	stop()

	_, url2, _ := chaintest.ServeDevChain(t, cfg)
	cl2 := dial(t, url2)
	if n, _ := cl2.BlockNumber(ctx); n != num {
		t.Errorf("block number after restart = %d; want %d", n, num)
	}
	after, err := cl2.Neurons(ctx, netuid)
	if err != nil {
		t.Fatal(err)
	}
	if len(after) != len(before) {
		t.Fatalf("%d neurons after restart; want %d", len(after), len(before))
	}
	for i := range after {
		if after[i] != before[i] {
			t.Errorf("neuron %d after restart = %+v; want %+v", i, after[i], before[i])
		}
	}
	acct2, _ := cl2.Account(ctx, bob.Public())
	if acct2 != acct {
		t.Errorf("//Bob after restart = %+v; want %+v", acct2, acct)
	}
	w2, _ := cl2.StorageValue(ctx, "SubtensorModule", "Weights", u16(uint16(netuid)), u16(uint16(before[1].UID)))
	if w2 == nil || len(w2.([]any)) != len(w.([]any)) {
		t.Errorf("weights after restart = %v; want %v", w2, w)
	}
	// The restarted chain accepts new extrinsics signed against its history.
	if _, err := cl2.Transfer(ctx, bob, chaintest.Dev(t, "//Eve").SS58(), chaintest.TAO); err != nil {
		t.Errorf("transfer after restart: %v", err)
	}
}

func u16(v uint16) []byte { return []byte{byte(v), byte(v >> 8)} }
func u64(v uint64) []byte {
	b := make([]byte, 8)
	for i := range b {
		b[i] = byte(v >> (8 * i))
	}
	return b
}

// setup makes a subnet with a validator (//Charlie staked by //Bob) and a
// miner (//Eve, coldkey //Dave), with the limits lifted.
func setup(t *testing.T, cl *chain.Client) (netuid chain.NetUID, vuid, muid chain.UID) {
	t.Helper()
	ctx := context.Background()
	alice := chaintest.Dev(t, "//Alice")
	sudo := func(call string, args ...[]byte) {
		t.Helper()
		inner, err := cl.Call("AdminUtils", call, args...)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := cl.Sudo(ctx, alice, inner); err != nil {
			t.Fatalf("sudo %s: %v", call, err)
		}
	}
	sudo("sudo_set_network_rate_limit", u64(0))
	netuid, err := cl.RegisterNetwork(ctx, alice, chaintest.Dev(t, "//Ferdie").Hotkey())
	if err != nil {
		t.Fatal(err)
	}
	sudo("sudo_set_target_registrations_per_interval", u16(uint16(netuid)), u16(100))
	sudo("sudo_set_weights_set_rate_limit", u16(uint16(netuid)), u64(0))
	sudo("sudo_set_tempo", u16(uint16(netuid)), u16(5))
	if vuid, err = cl.BurnedRegister(ctx, chaintest.Dev(t, "//Bob"), netuid, chaintest.Dev(t, "//Charlie").Hotkey()); err != nil {
		t.Fatal(err)
	}
	if muid, err = cl.BurnedRegister(ctx, chaintest.Dev(t, "//Dave"), netuid, chaintest.Dev(t, "//Eve").Hotkey()); err != nil {
		t.Fatal(err)
	}
	if _, err := cl.AddStake(ctx, chaintest.Dev(t, "//Bob"), chaintest.Dev(t, "//Charlie").Hotkey(), netuid, 100*chaintest.TAO); err != nil {
		t.Fatal(err)
	}
	return netuid, vuid, muid
}

func TestYumaEpoch(t *testing.T) {
	c, url, _ := chaintest.ServeDevChain(t, devchain.DefaultConfig())
	cl := dial(t, url)
	ctx := context.Background()
	netuid, vuid, muid := setup(t, cl)
	if _, err := cl.SetWeights(ctx, chaintest.Dev(t, "//Charlie"), netuid, []chain.UID{muid}, []float64{1}, 0); err != nil {
		t.Fatal(err)
	}
	c.NewBlocks(6) // tempo 5: an epoch every 6 blocks
	ns, err := cl.Neurons(ctx, netuid)
	if err != nil {
		t.Fatal(err)
	}
	v, m := ns[vuid], ns[muid]
	if m.Incentive < 0.99 || m.Consensus < 0.99 || m.Emission == 0 || m.Rank == 0 || m.Trust == 0 {
		t.Errorf("miner after an epoch = %+v; want incentive and consensus 1, emission > 0", m)
	}
	if v.Dividends < 0.99 || v.Emission == 0 || v.ValidatorTrust == 0 || !v.ValidatorPermit {
		t.Errorf("validator after an epoch = %+v; want dividends 1, emission > 0, permit", v)
	}
	if m.Emission+v.Emission != 6*devchain.TAO {
		t.Errorf("emission %d + %d; want %d (6 blocks of 1 TAO)", m.Emission, v.Emission, 6*devchain.TAO)
	}
	if m.AlphaStake != m.Emission {
		t.Errorf("miner stake %d; want its emission %d", m.AlphaStake, m.Emission)
	}
	if o := ns[0]; o.Incentive != 0 || o.Dividends != 0 {
		t.Errorf("owner without weight or stake = %+v; want nothing", o)
	}
}

func TestUIDReuseWhenFull(t *testing.T) {
	c, url, _ := chaintest.ServeDevChain(t, devchain.DefaultConfig())
	cl := dial(t, url)
	ctx := context.Background()
	netuid, _, muid := setup(t, cl)
	alice := chaintest.Dev(t, "//Alice")
	for _, call := range []struct {
		name string
		v    uint16
	}{{"sudo_set_max_allowed_validators", 3}, {"sudo_set_max_allowed_uids", 3}, {"sudo_set_immunity_period", 2}} {
		inner, err := cl.Call("AdminUtils", call.name, u16(uint16(netuid)), u16(call.v))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := cl.Sudo(ctx, alice, inner); err != nil {
			t.Fatalf("%s: %v", call.name, err)
		}
	}
	// After an epoch the validator (dividends) and the weighted miner
	// (incentive) have pruning scores above 0; the owner, with neither, is
	// the lowest and out of its 2-block immunity.
	if _, err := cl.SetWeights(ctx, chaintest.Dev(t, "//Charlie"), netuid, []chain.UID{muid}, []float64{1}, 0); err != nil {
		t.Fatal(err)
	}
	c.NewBlocks(6)
	newKey := chaintest.Dev(t, "//Newcomer")
	if err := c.Fund(newKey.SS58(), 10*devchain.TAO); err != nil {
		t.Fatal(err)
	}
	uid, err := cl.BurnedRegister(ctx, newKey, netuid, newKey.Hotkey())
	if err != nil {
		t.Fatal(err)
	}
	if uid != 0 {
		t.Errorf("registration on a full subnet took uid %d; want 0 (the owner, lowest pruning score)", uid)
	}
	ns, err := cl.Neurons(ctx, netuid)
	if err != nil {
		t.Fatal(err)
	}
	if len(ns) != 3 || ns[0].Hotkey != newKey.Hotkey() || ns[0].Emission != 0 {
		t.Errorf("metagraph after reuse: %d neurons, uid 0 = %+v", len(ns), ns[0])
	}
}

func TestServeAxonLoopback(t *testing.T) {
	for _, tt := range []struct {
		name    string
		allow   bool
		wantErr error
	}{
		{"dev mode allows 127.0.0.1", true, nil},
		{"real-chain rule refuses it", false, chain.ErrInvalidIPAddress},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg := devchain.DefaultConfig()
			cfg.AllowLoopback = tt.allow
			_, url, _ := chaintest.ServeDevChain(t, cfg)
			cl := dial(t, url)
			netuid, _, _ := setup(t, cl)
			_, err := cl.ServeAxon(context.Background(), chaintest.Dev(t, "//Eve"), netuid, "127.0.0.1", 8091, chain.DefaultAxonVersion)
			if !errors.Is(err, tt.wantErr) && (tt.wantErr != nil || err != nil) {
				t.Errorf("serve_axon 127.0.0.1 = %v; want %v", err, tt.wantErr)
			}
		})
	}
}

// state_subscribeStorage sends the values first, then a change set after a
// block that changed them (and nothing for blocks that did not);
// state_queryStorageAt answers the same values.
func TestStorageSubscription(t *testing.T) {
	_, url, _ := chaintest.ServeDevChain(t, devchain.DefaultConfig())
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rpc, err := chain.DialRPC(ctx, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer rpc.Close()
	who := chaintest.Dev(t, "//Subscribed")
	pub := who.Public()
	key := "0x" + hex.EncodeToString(scale.StorageKey("System", "Account", scale.HashedKey{Hasher: scale.Blake2_128Concat, Key: pub[:]}))
	sub, err := rpc.Subscribe(ctx, "state_subscribeStorage", "state_unsubscribeStorage", []string{key})
	if err != nil {
		t.Fatal(err)
	}
	type changeSet struct {
		Block   string      `json:"block"`
		Changes [][]*string `json:"changes"`
	}
	next := func() changeSet {
		t.Helper()
		select {
		case raw := <-sub.C:
			var cs changeSet
			if err := json.Unmarshal(raw, &cs); err != nil || len(cs.Changes) != 1 || len(cs.Changes[0]) != 2 || *cs.Changes[0][0] != key {
				t.Fatalf("change set %s: %v", raw, err)
			}
			return cs
		case <-ctx.Done():
			t.Fatal("no storage notification")
		}
		return changeSet{}
	}
	if first := next(); first.Changes[0][1] != nil {
		t.Errorf("a new account's value = %v; want null", *first.Changes[0][1])
	}
	var head any
	if err := rpc.Call(ctx, &head, "dev_newBlock", map[string]any{"count": 2}); err != nil {
		t.Fatal(err)
	}
	var free uint64
	if err := rpc.Call(ctx, &free, "dev_fund", who.SS58(), "5000000000"); err != nil {
		t.Fatal(err)
	}
	cs := next() // the empty blocks changed nothing: the next notice is the fund's
	if cs.Changes[0][1] == nil {
		t.Fatal("funded account's value is null")
	}
	var at []changeSet
	if err := rpc.Call(ctx, &at, "state_queryStorageAt", []string{key}); err != nil || len(at) != 1 || len(at[0].Changes) != 1 || *at[0].Changes[0][1] != *cs.Changes[0][1] {
		t.Errorf("state_queryStorageAt = %+v, %v; want the subscription's value %s", at, err, *cs.Changes[0][1])
	}
	if err := rpc.Call(ctx, &at, "state_queryStorageAt", make([]string, 1025)); err == nil {
		t.Error("state_queryStorageAt of 1025 keys succeeded")
	}
}
