package validator_test

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/sn27/sn27/internal/chain"
	"github.com/sn27/sn27/internal/chain/chaintest"
	"github.com/sn27/sn27/internal/chain/devchain"
	"github.com/sn27/sn27/internal/dendrite"
	"github.com/sn27/sn27/internal/miner"
	"github.com/sn27/sn27/internal/pow"
	"github.com/sn27/sn27/internal/scale"
	"github.com/sn27/sn27/internal/store"
	"github.com/sn27/sn27/internal/validator"
)

// slowSolver answers correctly after a delay.
type slowSolver struct {
	miner.NativeSolver
	delay time.Duration
}

func (s slowSolver) Name() string { return "slow" }
func (s slowSolver) Solve(ctx context.Context, c pow.Challenge) (miner.Answer, error) {
	select {
	case <-time.After(s.delay):
	case <-ctx.Done():
		return miner.Answer{}, ctx.Err()
	}
	return s.NativeSolver.Solve(ctx, c)
}

// wrongSolver answers a password that does not verify.
type wrongSolver struct{}

func (wrongSolver) Name() string { return "wrong" }
func (wrongSolver) Solve(ctx context.Context, c pow.Challenge) (miner.Answer, error) {
	return miner.Answer{Password: "not-it"}, nil
}

type net27 struct {
	c      *chain.Client
	netuid chain.NetUID
}

// testMiner registers a hotkey and, unless offline, runs a real miner on
// ip (a distinct loopback address stands in for a distinct host).
func startTestMiner(t *testing.T, n net27, uri, ip string, solver miner.Solver, offline bool) chain.UID {
	t.Helper()
	ctx := context.Background()
	hot := chaintest.Dev(t, uri)
	uid, err := n.c.BurnedRegister(ctx, chaintest.Dev(t, "//Dave"), n.netuid, hot.Hotkey())
	if err != nil {
		t.Fatalf("register %s: %v", uri, err)
	}
	ln, err := net.Listen("tcp", ip+":0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	if offline {
		ln.Close()
		if _, err := n.c.ServeAxon(ctx, hot, n.netuid, ip, uint16(port), 183); err != nil {
			t.Fatal(err)
		}
		return uid
	}
	cfg := miner.DefaultConfig()
	cfg.NetUID, cfg.AxonIP, cfg.AxonPort, cfg.ExternalIP = n.netuid, ip, port, ip
	cfg.MetagraphRefresh = time.Second
	mn, err := miner.New(cfg, miner.Deps{Hotkey: hot, Chain: n.c, Solver: solver, Listener: ln})
	if err != nil {
		t.Fatal(err)
	}
	mctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- mn.Run(mctx) }()
	t.Cleanup(func() { cancel(); <-done })
	select {
	case <-mn.Ready():
	case err := <-done:
		t.Fatalf("miner %s: %v", uri, err)
	}
	return uid
}

func weightsOf(t *testing.T, c *chain.Client, netuid chain.NetUID, uid chain.UID) map[chain.UID]uint64 {
	t.Helper()
	v, err := c.StorageValue(context.Background(), "SubtensorModule", "Weights", scale.NewEncoder(nil).U16(uint16(netuid)).Data(), scale.NewEncoder(nil).U16(uint16(uid)).Data())
	if err != nil {
		t.Fatal(err)
	}
	out := map[chain.UID]uint64{}
	list, _ := v.([]any)
	for _, e := range list {
		pair, _ := e.([]any)
		if len(pair) == 2 {
			out[chain.UID(pair[0].(uint64))] = pair[1].(uint64)
		}
	}
	return out
}

func TestValidatorRanksMinersOnDevChain(t *testing.T) {
	if testing.Short() {
		t.Skip("end to end with miners and a dev chain; skipped with -short")
	}
	cfgChain := devchain.DefaultConfig()
	cfgChain.BlockTime = 100 * time.Millisecond
	cfgChain.Tempo = 20
	_, url, _ := chaintest.ServeDevChain(t, cfgChain)
	c := chaintest.Connect(t, url)
	netuid := chaintest.NewSubnet(t, c)
	n := net27{c: c, netuid: netuid}
	ctx := context.Background()
	alice := chaintest.Dev(t, "//Alice")
	lift, _ := c.Call("AdminUtils", "sudo_set_weights_set_rate_limit", scale.NewEncoder(nil).U16(uint16(netuid)).Data(), scale.NewEncoder(nil).U64(0).Data())
	if _, err := c.Sudo(ctx, alice, lift); err != nil {
		t.Fatal(err)
	}
	vhot := chaintest.Dev(t, "//Charlie")
	vuid, err := c.BurnedRegister(ctx, chaintest.Dev(t, "//Bob"), netuid, vhot.Hotkey())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.AddStake(ctx, chaintest.Dev(t, "//Bob"), vhot.Hotkey(), netuid, 2000*chaintest.TAO); err != nil {
		t.Fatal(err)
	}
	native := miner.NativeSolver{Solver: &pow.Solver{}}
	fast := startTestMiner(t, n, "//Miner//fast", "127.0.0.2", native, false)
	slow := startTestMiner(t, n, "//Miner//slow", "127.0.0.3", slowSolver{native, 1500 * time.Millisecond}, false)
	wrong := startTestMiner(t, n, "//Miner//wrong", "127.0.0.4", wrongSolver{}, false)
	offline := startTestMiner(t, n, "//Miner//offline", "127.0.0.5", native, true)
	twinA := startTestMiner(t, n, "//Miner//twinA", "127.0.0.6", native, false)
	twinB := startTestMiner(t, n, "//Miner//twinB", "127.0.0.6", native, false)

	dataDir := t.TempDir()
	run := func(rounds int) {
		st, err := store.Open(ctx, filepath.Join(dataDir, "validator.db"))
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		d, _ := dendrite.New(vhot, dendrite.Config{})
		defer d.Close()
		cfg := validator.DefaultConfig()
		cfg.NetUID, cfg.DifficultyMin, cfg.DifficultyMax = netuid, 3, 4
		cfg.PowTimeout, cfg.BlockPoll = 5*time.Second, 50*time.Millisecond
		cfg.ChallengeEveryMin, cfg.ChallengeEveryMax, cfg.SyncEvery = 2, 3, 5
		cfg.WeightsEvery = 25
		v, err := validator.New(cfg, validator.Deps{Hotkey: vhot, Chain: c, Store: st, Dendrite: d})
		if err != nil {
			t.Fatal(err)
		}
		// Rounds first, then weights from the stored history.
		for i := 0; i < rounds; i++ {
			ns, err := c.Neurons(ctx, netuid)
			if err != nil {
				t.Fatal(err)
			}
			if err := v.Sync(ctx); err != nil {
				t.Fatal(err)
			}
			rep, err := v.ChallengeRound(ctx, ns)
			if err != nil {
				t.Fatal(err)
			}
			if rep.Queried != 5 { // fast, slow, wrong, offline, one twin
				t.Errorf("round queried %d miners; want 5 (one of the twins, not the validator)", rep.Queried)
			}
		}
		if err := v.SetWeights(ctx); err != nil {
			t.Fatal(err)
		}
	}
	run(3)
	w := weightsOf(t, c, netuid, vuid)
	t.Logf("weights after 3 rounds: %v", w)
	if !(w[fast] > w[slow] && w[slow] > 0) {
		t.Errorf("want fast > slow > 0: fast %d slow %d", w[fast], w[slow])
	}
	if w[wrong] != 0 || w[offline] != 0 {
		t.Errorf("wrong %d offline %d; want 0", w[wrong], w[offline])
	}
	if (w[twinA] > 0) == (w[twinB] > 0) {
		t.Errorf("twins behind one IP: %d and %d; want exactly one counted", w[twinA], w[twinB])
	}

	// Restart: the history is kept; the next weights continue from it.
	run(1)
	w2 := weightsOf(t, c, netuid, vuid)
	if !(w2[fast] > w2[slow] && w2[slow] > 0) || w2[wrong] != 0 {
		t.Errorf("after restart: %v", w2)
	}

	// The dev chain's epoch turns the weights into incentive.
	deadline := time.Now().Add(30 * time.Second)
	for {
		ns, err := c.Neurons(ctx, netuid)
		if err != nil {
			t.Fatal(err)
		}
		inc := map[chain.UID]float64{}
		for _, nr := range ns {
			inc[nr.UID] = nr.Incentive
		}
		if inc[fast] > 0 {
			if !(inc[fast] > inc[slow]) || inc[wrong] != 0 {
				t.Errorf("incentive %v", inc)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no incentive after the epoch: %v", inc)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func TestValidatorRunLoop(t *testing.T) {
	if testing.Short() {
		t.Skip("needs a dev chain; skipped with -short")
	}
	cfgChain := devchain.DefaultConfig()
	cfgChain.BlockTime = 50 * time.Millisecond
	_, url, _ := chaintest.ServeDevChain(t, cfgChain)
	c := chaintest.Connect(t, url)
	netuid := chaintest.NewSubnet(t, c)
	ctx := context.Background()
	vhot := chaintest.Dev(t, "//Charlie")
	vuid, err := c.BurnedRegister(ctx, chaintest.Dev(t, "//Bob"), netuid, vhot.Hotkey())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.AddStake(ctx, chaintest.Dev(t, "//Bob"), vhot.Hotkey(), netuid, 2000*chaintest.TAO); err != nil {
		t.Fatal(err)
	}
	fast := startTestMiner(t, net27{c, netuid}, "//Miner//fast", "127.0.0.2", miner.NativeSolver{Solver: &pow.Solver{}}, false)
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "v.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	d, _ := dendrite.New(vhot, dendrite.Config{})
	cfg := validator.DefaultConfig()
	cfg.NetUID, cfg.DifficultyMin, cfg.DifficultyMax = netuid, 3, 3
	cfg.PowTimeout, cfg.BlockPoll = 5*time.Second, 20*time.Millisecond
	cfg.ChallengeEveryMin, cfg.ChallengeEveryMax, cfg.SyncEvery, cfg.WeightsEvery = 2, 2, 5, 10
	v, err := validator.New(cfg, validator.Deps{Hotkey: vhot, Chain: c, Store: st, Dendrite: d})
	if err != nil {
		t.Fatal(err)
	}
	// A proof-of-GPU test allocation an earlier run left (it stopped
	// mid-proof): this run gives it back and forgets it.
	fastHot := string(chaintest.Dev(t, "//Miner//fast").Hotkey())
	ns, err := c.Neurons(ctx, netuid)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range ns {
		if string(n.Hotkey) == fastHot {
			left := fmt.Sprintf(`{"ip":%q,"port":%d,"public_key":"-----BEGIN PUBLIC KEY-----\nleft\n-----END PUBLIC KEY-----\n"}`, n.Axon.IP, n.Axon.Port)
			if err := st.SetMeta(ctx, "pog_alloc:"+fastHot, left); err != nil {
				t.Fatal(err)
			}
		}
	}
	if m, _ := st.MetaPrefix(ctx, "pog_alloc:"); len(m) != 1 {
		t.Fatalf("leftover not stored: %v", m)
	}
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- v.Run(rctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	for start := time.Now(); ; time.Sleep(100 * time.Millisecond) {
		if m, _ := st.MetaPrefix(ctx, "pog_alloc:"); len(m) == 0 {
			break
		}
		if time.Since(start) > 20*time.Second {
			t.Fatal("the leftover test allocation was not given back")
		}
	}
	// The loop challenges the miner and sets weights (the rate limit of
	// 100 blocks since registration is passed on the dev chain's timer).
	for start := time.Now(); ; time.Sleep(100 * time.Millisecond) {
		stats, err := st.AllStats(ctx, time.Hour, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if s := stats[string(chaintest.Dev(t, "//Miner//fast").Hotkey())]; s.Successes >= 2 {
			break
		}
		if time.Since(start) > 30*time.Second {
			t.Fatalf("no successful rounds by the loop: %v", stats)
		}
	}
	// Weights follow once the chain's rate limit (100 blocks since
	// registration) has passed: SettingWeightsTooFast is retried, not fatal.
	for start := time.Now(); weightsOf(t, c, netuid, vuid)[fast] == 0; time.Sleep(100 * time.Millisecond) {
		if time.Since(start) > 40*time.Second {
			t.Fatal("the loop never set weights")
		}
	}
}
