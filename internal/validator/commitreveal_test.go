package validator_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sn27/sn27/internal/chain"
	"github.com/sn27/sn27/internal/chain/chaintest"
	"github.com/sn27/sn27/internal/chain/devchain"
	"github.com/sn27/sn27/internal/dendrite"
	"github.com/sn27/sn27/internal/store"
	"github.com/sn27/sn27/internal/validator"
)

// localchainPort is this package's port for ../shared/localchain.
const localchainPort = 9988

// startLocalchain runs the real subtensor runtime (spec 218 under
// chopsticks) for the test.
func startLocalchain(t *testing.T) (*chain.Client, string) {
	t.Helper()
	if testing.Short() {
		t.Skip("needs the local subtensor chain; skipped with -short")
	}
	dir := os.Getenv("SN27_LOCALCHAIN")
	if dir == "" {
		dir = filepath.Join("..", "..", "..", "shared", "localchain")
	}
	out, err := exec.Command(filepath.Join(dir, "start.sh"), strconv.Itoa(localchainPort)).Output()
	if err != nil {
		t.Fatalf("start localchain (%s): %v", dir, err)
	}
	t.Cleanup(func() { _ = exec.Command(filepath.Join(dir, "stop.sh"), strconv.Itoa(localchainPort)).Run() })
	url := strings.TrimSpace(string(out))
	c := chaintest.Connect(t, url)
	chaintest.PastGenesis(t, c)
	return c, url
}

func TestCommitRevealOnLocalchain(t *testing.T) {
	c, url := startLocalchain(t)
	netuid, vuid, p := validatorCommitReveal(t, c)

	// polkadot.js reads the same weights and hashes the commit the same way.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var got struct {
		Weights [][2]uint16 `json:"weights"`
		Hash    string      `json:"hash"`
	}
	if err := polkadotJS(ctx, t, map[string]any{
		"ws": url, "netuid": netuid, "uid": vuid, "hotkey": string(chaintest.Dev(t, "//Charlie").Hotkey()),
		"uids": p.UIDs, "values": p.Weights, "salt": p.Salt, "version_key": strconv.FormatUint(p.VersionKey, 10),
	}, &got); err != nil {
		t.Fatal(err)
	}
	if want := hex.EncodeToString(p.Hash[:]); got.Hash != "0x"+want {
		t.Errorf("polkadot.js commit hash %s; ours 0x%s", got.Hash, want)
	}
	mine := weightsOf(t, c, netuid, vuid)
	if len(got.Weights) != len(mine) {
		t.Fatalf("polkadot.js Weights %v; ours %v", got.Weights, mine)
	}
	for _, w := range got.Weights {
		if mine[chain.UID(w[0])] != uint64(w[1]) {
			t.Errorf("polkadot.js Weights %v; ours %v", got.Weights, mine)
		}
	}
	t.Logf("polkadot.js: Weights(%d, %d) = %v, commit hash %s", netuid, vuid, got.Weights, got.Hash)
}

// pjsScript reads Weights(netuid, uid) and computes the commit hash
// BlakeTwo256(SCALE(AccountId32, u16, Vec<u16>, Vec<u16>, Vec<u16>, u64))
// with polkadot.js.
const pjsScript = `
const { ApiPromise, WsProvider } = require('@polkadot/api');
let input = '';
process.stdin.on('data', (c) => { input += c; });
process.stdin.on('end', async () => {
  const req = JSON.parse(input);
  const api = await ApiPromise.create({ provider: new WsProvider(req.ws), noInitWarn: true });
  try {
    const w = await api.query.subtensorModule.weights(req.netuid, req.uid);
    const t = api.createType('(AccountId32, u16, Vec<u16>, Vec<u16>, Vec<u16>, u64)',
      [req.hotkey, req.netuid, req.uids, req.values, req.salt, req.version_key]);
    const weights = w.map(([u, v]) => [u.toNumber(), v.toNumber()]);
    process.stdout.write(JSON.stringify({ weights, hash: t.hash.toHex() }));
  } finally {
    await api.disconnect();
  }
});
`

// polkadotJS runs pjsScript with the pinned polkadot.js of
// ../shared/localchain.
func polkadotJS(ctx context.Context, t *testing.T, req, resp any) error {
	t.Helper()
	deps, err := exec.CommandContext(ctx, filepath.Join("..", "..", "scripts", "node-deps.sh")).Output()
	if err != nil {
		return fmt.Errorf("node deps: %w", err)
	}
	f := filepath.Join(t.TempDir(), "weights.cjs")
	if err := os.WriteFile(f, []byte(pjsScript), 0o600); err != nil {
		return err
	}
	in, _ := json.Marshal(req)
	cmd := exec.CommandContext(ctx, "node", f)
	cmd.Env = append(os.Environ(), "NODE_PATH="+strings.TrimSpace(string(deps)))
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return fmt.Errorf("node: %w: %s", err, stderr.String())
	}
	return json.Unmarshal(out, resp)
}

func TestCommitRevealOnDevChain(t *testing.T) {
	if testing.Short() {
		t.Skip("needs a dev chain; skipped with -short")
	}
	_, url, _ := chaintest.ServeDevChain(t, devchain.DefaultConfig())
	validatorCommitReveal(t, chaintest.Connect(t, url))
}

// validatorCommitReveal runs the validator on a subnet with commit-reveal
// on: its weights round commits a hash and stores the reveal; a second
// validator on the same store (a restart) reveals it in the window from
// its Run loop, and the weights appear in Weights storage. It returns the
// subnet, the validator's uid and the revealed commit.
func validatorCommitReveal(t *testing.T, c *chain.Client) (chain.NetUID, chain.UID, store.PendingCommit) {
	ctx := context.Background()
	netuid := chaintest.NewSubnet(t, c)
	vhot, mhot := chaintest.Dev(t, "//Charlie"), chaintest.Dev(t, "//Eve")
	vuid, err := c.BurnedRegister(ctx, chaintest.Dev(t, "//Bob"), netuid, vhot.Hotkey())
	if err != nil {
		t.Fatal(err)
	}
	muid, err := c.BurnedRegister(ctx, chaintest.Dev(t, "//Dave"), netuid, mhot.Hotkey())
	if err != nil {
		t.Fatal(err)
	}
	n := chaintest.U16(uint16(netuid))
	chaintest.SudoAdmin(ctx, t, c, "sudo_set_weights_set_rate_limit", n, chaintest.U64(0))
	chaintest.SudoAdmin(ctx, t, c, "sudo_set_tempo", n, chaintest.U16(4))
	chaintest.SudoAdmin(ctx, t, c, "sudo_set_commit_reveal_weights_enabled", n, []byte{1})

	path := filepath.Join(t.TempDir(), "validator.db")
	st, err := store.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	// The miner's history: five quick successes (no miner needs to run).
	var hist []store.Challenge
	for range 5 {
		hist = append(hist, store.Challenge{UID: uint16(muid), Hotkey: string(mhot.Hotkey()), Success: true, ElapsedSeconds: 2, Difficulty: 8, CreatedAt: time.Now()})
	}
	if err := st.AddChallenges(ctx, hist); err != nil {
		t.Fatal(err)
	}
	d, _ := dendrite.New(vhot, dendrite.Config{})
	t.Cleanup(func() { d.Close() })
	cfg := validator.DefaultConfig()
	cfg.NetUID, cfg.BlockPoll, cfg.PerformHardwareQuery = netuid, 50*time.Millisecond, false
	cfg.ChallengeEveryMin, cfg.ChallengeEveryMax, cfg.SyncEvery, cfg.WeightsEvery = 1000, 1000, 5, 10
	newValidator := func(st *store.Store) *validator.Validator {
		v, err := validator.New(cfg, validator.Deps{Hotkey: vhot, Chain: c, Store: st, Dendrite: d})
		if err != nil {
			t.Fatal(err)
		}
		return v
	}

	v := newValidator(st)
	if err := v.SetWeights(ctx); err != nil {
		t.Fatalf("weights round with commit-reveal on: %v", err)
	}
	pending, err := st.PendingCommits(ctx, uint16(netuid), string(vhot.Hotkey()))
	if err != nil || len(pending) != 1 {
		t.Fatalf("pending commits after the round = %+v, %v; want one", pending, err)
	}
	p := pending[0]
	t.Logf("committed in block %d: reveal blocks %d..%d (epoch %d), uids %v weights %v", p.CommitBlock, p.FirstRevealBlock, p.LastRevealBlock, p.RevealEpoch, p.UIDs, p.Weights)
	if len(p.UIDs) != 1 || p.UIDs[0] != uint16(muid) || p.Weights[0] != 65535 || len(p.Salt) != 8 || p.VersionKey != cfg.VersionKey {
		t.Errorf("pending commit = %+v; want the miner at 65535, 8 salt values, version key %d", p, cfg.VersionKey)
	}
	if err := v.SetWeights(ctx); !errors.Is(err, validator.ErrCommitPending) {
		t.Errorf("second round before the reveal = %v; want ErrCommitPending", err)
	}
	if w := weightsOf(t, c, netuid, vuid); len(w) != 0 {
		t.Fatalf("weights before the reveal: %v", w)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}

	// Restart: a new validator on the same store reveals from its loop.
	st, err = store.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	v = newValidator(st)
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- v.Run(rctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	var w map[chain.UID]uint64
	for start := time.Now(); ; {
		if w = weightsOf(t, c, netuid, vuid); w[muid] > 0 {
			break
		}
		if time.Since(start) > 90*time.Second {
			t.Fatalf("no weights revealed; pending %+v", must(st.PendingCommits(ctx, uint16(netuid), string(vhot.Hotkey()))))
		}
		chaintest.NewBlocks(ctx, t, c, 1)
		time.Sleep(150 * time.Millisecond)
	}
	b, _ := c.BlockNumber(ctx)
	t.Logf("weights revealed by block %d: %v", b, w)
	if w[muid] != 65535 || len(w) != 1 {
		t.Errorf("Weights = %v; want only the miner (uid %d) at 65535", w, muid)
	}
	// The revealed commit is gone from the store and from the chain.
	for start := time.Now(); ; time.Sleep(100 * time.Millisecond) {
		left, err := st.PendingCommits(ctx, uint16(netuid), string(vhot.Hotkey()))
		if err != nil {
			t.Fatal(err)
		}
		if len(left) == 0 || left[0].Hash != p.Hash {
			break
		}
		if time.Since(start) > 10*time.Second {
			t.Fatalf("the revealed commit is still pending: %+v", left)
		}
	}
	onChain, err := c.WeightCommits(ctx, netuid, vhot.Public())
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range onChain {
		if e.Hash == p.Hash {
			t.Errorf("WeightCommits still holds the revealed commit: %+v", onChain)
		}
	}
	return netuid, vuid, p
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// TestRevealFindsUnconfirmedCommit covers a crash between sending a commit
// and seeing it land: the store holds the reveal's data with no commit
// block; Reveal finds the commit on chain and reveals it in its window. A
// row never seen on chain is given up after a while, and the round
// commits again.
func TestRevealFindsUnconfirmedCommit(t *testing.T) {
	if testing.Short() {
		t.Skip("needs a dev chain; skipped with -short")
	}
	_, url, _ := chaintest.ServeDevChain(t, devchain.DefaultConfig())
	c := chaintest.Connect(t, url)
	ctx := context.Background()
	netuid := chaintest.NewSubnet(t, c)
	vhot, mhot := chaintest.Dev(t, "//Charlie"), chaintest.Dev(t, "//Eve")
	vuid, err := c.BurnedRegister(ctx, chaintest.Dev(t, "//Bob"), netuid, vhot.Hotkey())
	if err != nil {
		t.Fatal(err)
	}
	muid, err := c.BurnedRegister(ctx, chaintest.Dev(t, "//Dave"), netuid, mhot.Hotkey())
	if err != nil {
		t.Fatal(err)
	}
	n := chaintest.U16(uint16(netuid))
	chaintest.SudoAdmin(ctx, t, c, "sudo_set_weights_set_rate_limit", n, chaintest.U64(0))
	chaintest.SudoAdmin(ctx, t, c, "sudo_set_tempo", n, chaintest.U16(4))
	chaintest.SudoAdmin(ctx, t, c, "sudo_set_commit_reveal_weights_enabled", n, []byte{1})
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "validator.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	d, _ := dendrite.New(vhot, dendrite.Config{})
	defer d.Close()
	now := time.Now()
	cfg := validator.DefaultConfig()
	cfg.NetUID = netuid
	v, err := validator.New(cfg, validator.Deps{Hotkey: vhot, Chain: c, Store: st, Dendrite: d, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}

	uids, values, salt := []uint16{uint16(muid)}, []uint16{65535}, []uint16{5, 4, 3, 2, 1, 0, 9, 8}
	row := store.PendingCommit{
		Hash:   chain.CommitHash(vhot.Public(), uint16(netuid), uids, values, salt, cfg.VersionKey),
		NetUID: uint16(netuid), Hotkey: string(vhot.Hotkey()), UIDs: uids, Weights: values, Salt: salt,
		VersionKey: cfg.VersionKey, CreatedAt: now,
	}
	if err := st.AddPendingCommit(ctx, row); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CommitWeights(ctx, vhot, netuid, uids, values, salt, cfg.VersionKey); err != nil {
		t.Fatal(err)
	}
	for i := 0; ; i++ {
		revealed, _, err := v.Reveal(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if revealed == 1 {
			break
		}
		if i > 30 {
			t.Fatalf("not revealed after 30 blocks: %+v", must(st.PendingCommits(ctx, uint16(netuid), string(vhot.Hotkey()))))
		}
		chaintest.NewBlocks(ctx, t, c, 1)
	}
	if w := weightsOf(t, c, netuid, vuid); w[muid] != 65535 {
		t.Errorf("Weights = %v; want the miner at 65535", w)
	}

	lost := row
	lost.Hash, lost.CreatedAt = [32]byte{1}, now
	if err := st.AddPendingCommit(ctx, lost); err != nil {
		t.Fatal(err)
	}
	if _, recommit, err := v.Reveal(ctx); err != nil || recommit {
		t.Errorf("Reveal of a fresh unconfirmed commit = recommit %v, %v; want it kept", recommit, err)
	}
	now = now.Add(time.Hour)
	if _, recommit, err := v.Reveal(ctx); err != nil || !recommit {
		t.Errorf("Reveal of an old unconfirmed commit = recommit %v, %v; want it dropped", recommit, err)
	}
	if left := must(st.PendingCommits(ctx, uint16(netuid), string(vhot.Hotkey()))); len(left) != 0 {
		t.Errorf("pending after the drop: %+v", left)
	}
}
