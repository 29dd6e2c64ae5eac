// Package chaintest holds chain scenarios shared by the tests of the
// subtensor client (against the real runtime) and of the dev chain.
package chaintest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/sn27/sn27/internal/chain"
	"github.com/sn27/sn27/internal/chain/devchain"
	"github.com/sn27/sn27/internal/keys"
	"github.com/sn27/sn27/internal/scale"
)

// Dev returns the dev key of a secret URI such as "//Alice".
func Dev(t testing.TB, uri string) *keys.Pair {
	t.Helper()
	p, err := keys.FromURI(uri)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TAO is one TAO in rao.
const TAO = 1_000_000_000

// Scenario runs SN27's chain life cycle: create a subnet, register a
// validator and a miner, serve an axon, stake, set weights (first refused
// by the rate limit, then accepted once sudo lifts it), read it all back
// through the metagraph, and refuse set_weights under commit-reveal. The
// dev chain runs the same function.
func Scenario(t testing.TB, c *chain.Client) chain.NetUID {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	alice, ferdie := Dev(t, "//Alice"), Dev(t, "//Ferdie")
	bob, charlie := Dev(t, "//Bob"), Dev(t, "//Charlie")
	dave, eve := Dev(t, "//Dave"), Dev(t, "//Eve")
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
	u16 := func(v uint16) []byte { return scale.NewEncoder(nil).U16(v).Data() }
	u64 := func(v uint64) []byte { return scale.NewEncoder(nil).U64(v).Data() }

	sudo("sudo_set_network_rate_limit", u64(0))
	netuid, err := c.RegisterNetwork(ctx, alice, ferdie.Hotkey())
	if err != nil {
		t.Fatalf("register_network: %v", err)
	}
	sudo("sudo_set_target_registrations_per_interval", u16(uint16(netuid)), u16(10))

	vuid, err := c.BurnedRegister(ctx, bob, netuid, charlie.Hotkey())
	if err != nil {
		t.Fatalf("burned_register validator: %v", err)
	}
	muid, err := c.BurnedRegister(ctx, dave, netuid, eve.Hotkey())
	if err != nil {
		t.Fatalf("burned_register miner: %v", err)
	}
	if _, err := c.BurnedRegister(ctx, dave, netuid, eve.Hotkey()); !errors.Is(err, chain.ErrAlreadyRegistered) {
		t.Errorf("second registration of the same hotkey = %v; want ErrAlreadyRegistered", err)
	}
	if _, err := c.ServeAxon(ctx, eve, netuid, "203.0.113.7", 8091, chain.DefaultAxonVersion); err != nil {
		t.Fatalf("serve_axon: %v", err)
	}
	r, err := c.AddStake(ctx, bob, charlie.Hotkey(), netuid, 100*TAO)
	if err != nil {
		t.Fatalf("add_stake: %v", err)
	}
	if _, ok := r.Find("SubtensorModule", "StakeAdded"); !ok {
		t.Errorf("add_stake events %+v lack StakeAdded", r.Events)
	}

	_, err = c.SetWeights(ctx, charlie, netuid, []chain.UID{muid}, []float64{1}, 0)
	if !errors.Is(err, chain.ErrSettingWeightsTooFast) {
		t.Fatalf("set_weights right after registering = %v; want ErrSettingWeightsTooFast", err)
	}
	var de *chain.DispatchError
	if !errors.As(err, &de) || de.Pallet != "SubtensorModule" {
		t.Errorf("error %v is not a typed DispatchError", err)
	}
	sudo("sudo_set_weights_set_rate_limit", u16(uint16(netuid)), u64(0))
	if _, err := c.SetWeights(ctx, charlie, netuid, []chain.UID{vuid, muid}, []float64{0.25, 1}, 0); err != nil {
		t.Fatalf("set_weights after lifting the limit: %v", err)
	}
	w, err := c.StorageValue(ctx, "SubtensorModule", "Weights", u16(uint16(netuid)), u16(uint16(vuid)))
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(w); got != "[[0 16384] [2 65535]]" && got != fmt.Sprintf("[[%d 16384] [%d 65535]]", vuid, muid) {
		t.Errorf("Weights(netuid, validator) = %s", got)
	}

	ns, err := c.Neurons(ctx, netuid)
	if err != nil {
		t.Fatal(err)
	}
	if len(ns) != 3 {
		t.Fatalf("metagraph has %d neurons; want 3 (owner, validator, miner)", len(ns))
	}
	byUID := map[chain.UID]chain.Neuron{}
	for _, n := range ns {
		byUID[n.UID] = n
	}
	v, m := byUID[vuid], byUID[muid]
	if v.Hotkey != charlie.Hotkey() || v.Coldkey != bob.Coldkey() || m.Hotkey != eve.Hotkey() || m.Coldkey != dave.Coldkey() {
		t.Errorf("keys: validator %s/%s miner %s/%s", v.Hotkey, v.Coldkey, m.Hotkey, m.Coldkey)
	}
	if m.Axon.IP != "203.0.113.7" || m.Axon.Port != 8091 || m.Axon.Version != chain.DefaultAxonVersion || m.Axon.Protocol != 4 || !m.Axon.Serving() {
		t.Errorf("miner axon = %+v", m.Axon)
	}
	if !v.ValidatorPermit {
		t.Error("validator has no permit")
	}
	if v.LastUpdate == 0 {
		t.Error("validator last_update not set by set_weights")
	}

	sudo("sudo_set_commit_reveal_weights_enabled", u16(uint16(netuid)), []byte{1})
	if _, err := c.SetWeights(ctx, charlie, netuid, []chain.UID{muid}, []float64{1}, 0); !errors.Is(err, chain.ErrCommitRevealEnabled) {
		t.Errorf("set_weights under commit-reveal = %v; want ErrCommitRevealEnabled", err)
	}
	return netuid
}

// ServeDevChain runs a dev chain on 127.0.0.1:0 until the test ends (or stop is
// called) and returns its ws:// URL.
func ServeDevChain(t testing.TB, cfg devchain.Config) (c *devchain.Chain, url string, stop func()) {
	t.Helper()
	c, err := devchain.New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Serve(ctx, ln) }()
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Serve: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("Serve did not return 10 s after its context ended")
		}
	}
	t.Cleanup(stop)
	return c, "ws://" + ln.Addr().String(), stop
}

// Connect dials url; the client closes when the test ends.
func Connect(t testing.TB, url string) *chain.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := chain.Dial(ctx, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// NewSubnet lifts the network rate limit (sudo //Alice), creates a subnet
// owned by //Alice with owner hotkey //Ferdie and allows 10 registrations
// per interval on it.
func NewSubnet(t testing.TB, c *chain.Client) chain.NetUID {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	alice := Dev(t, "//Alice")
	sudo := func(call string, args ...[]byte) {
		inner, err := c.Call("AdminUtils", call, args...)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Sudo(ctx, alice, inner); err != nil {
			t.Fatalf("sudo %s: %v", call, err)
		}
	}
	sudo("sudo_set_network_rate_limit", scale.NewEncoder(nil).U64(0).Data())
	netuid, err := c.RegisterNetwork(ctx, alice, Dev(t, "//Ferdie").Hotkey())
	if err != nil {
		t.Fatalf("register_network: %v", err)
	}
	sudo("sudo_set_target_registrations_per_interval", scale.NewEncoder(nil).U16(uint16(netuid)).Data(), scale.NewEncoder(nil).U16(10).Data())
	return netuid
}
