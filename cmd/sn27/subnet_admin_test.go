package main

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sn27/sn27/internal/chain"
	"github.com/sn27/sn27/internal/keys"
	"github.com/sn27/sn27/internal/scale"
	"github.com/sn27/sn27/internal/wallet"
)

// TestOwnerToolsAndStakeOnLocalchain runs `subnet hyperparameters`,
// `subnet set` and `stake add` against the real subtensor runtime (spec
// 218 under chopsticks): a new wallet creates a subnet and switches
// commit-reveal on and off as its owner; a non-owner, a bad name, a bad
// value and a root-only setter are refused by name; //Alice sets the tempo
// through --sudo. Staking on the fresh subnet prints the 0 alpha it really
// bought, --tolerance refuses before spending, and on a funded pool the
// printed alpha is what the chain credited.
func TestOwnerToolsAndStakeOnLocalchain(t *testing.T) {
	if testing.Short() {
		t.Skip("needs the local subtensor chain; skipped with -short")
	}
	const port = "9972"
	dir := filepath.Join("..", "..", "..", "shared", "localchain")
	out, err := exec.Command(filepath.Join(dir, "start.sh"), port).Output()
	if err != nil {
		t.Fatalf("start localchain: %v", err)
	}
	t.Cleanup(func() { _ = exec.Command(filepath.Join(dir, "stop.sh"), port).Run() })
	ws := strings.TrimSpace(string(out))

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	wdir := t.TempDir()
	alice, _ := keys.FromURI("//Alice")
	// The sudo key as a wallet, for --sudo.
	aw := wallet.Wallet{Path: wdir, Name: "alice"}
	if err := aw.SetColdkey(ctx, alice, wallet.WriteOptions{NoPassword: true}); err != nil {
		t.Fatal(err)
	}
	ep := []string{"--subtensor.chain_endpoint", ws}
	with := func(name string, args ...string) []string {
		return append(append(args, "--wallet.path", wdir, "--wallet.name", name, "--no-prompt"), ep...)
	}
	mustRun := func(args ...string) (string, string) {
		t.Helper()
		code, stdout, stderr := sn27(t, args...)
		if code != 0 {
			t.Fatalf("sn27 %s: exit %d: %s", strings.Join(args, " "), code, stderr)
		}
		return stdout, stderr
	}
	fails := func(wantCode int, args ...string) string {
		t.Helper()
		code, stdout, stderr := sn27(t, args...)
		if code == 0 || (wantCode != 0 && code != wantCode) {
			t.Fatalf("sn27 %s: exit %d (want %d): %s%s", strings.Join(args, " "), code, wantCode, stdout, stderr)
		}
		return stderr
	}
	c, err := chain.Dial(ctx, ws, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	coldkeys := map[string]string{}
	for _, name := range []string{"owner", "other"} {
		mustRun("wallet", "create", "--no-password", "--wallet.path", wdir, "--wallet.name", name)
		var show struct{ Coldkey string }
		o, _ := mustRun("wallet", "show", "--json", "--wallet.path", wdir, "--wallet.name", name)
		if err := json.Unmarshal([]byte(o), &show); err != nil {
			t.Fatal(err)
		}
		coldkeys[name] = show.Coldkey
		if _, err := c.Transfer(ctx, alice, show.Coldkey, 10_000*1e9); err != nil {
			t.Fatalf("fund %s: %v", name, err)
		}
	}
	lift, _ := c.Call("AdminUtils", "sudo_set_network_rate_limit", scale.NewEncoder(nil).U64(0).Data())
	if _, err := c.Sudo(ctx, alice, lift); err != nil {
		t.Fatal(err)
	}
	created, _ := mustRun(with("owner", "subnet", "create")...)
	netuid := strings.TrimSpace(strings.TrimPrefix(created, "netuid "))

	type hparams struct {
		NetUID uint16         `json:"netuid"`
		Owner  string         `json:"owner"`
		Params map[string]any `json:"hyperparameters"`
	}
	read := func() hparams {
		t.Helper()
		o, _ := mustRun(append([]string{"subnet", "hyperparameters", "--netuid", netuid, "--json"}, ep...)...)
		var h hparams
		if err := json.Unmarshal([]byte(o), &h); err != nil {
			t.Fatalf("hyperparameters --json: %v\n%s", err, o)
		}
		return h
	}
	h := read()
	if h.Owner != coldkeys["owner"] || h.Params["commit_reveal_weights_enabled"] != false || h.Params["tempo"] != float64(30) {
		t.Errorf("hyperparameters of a new subnet: %+v", h)
	}
	if _, ok := h.Params["yuma3_enabled"]; ok {
		t.Error("hyperparameters invents yuma3_enabled, which spec 218 does not store")
	}
	table, _ := mustRun(append([]string{"subnet", "hyperparameters", "--netuid", netuid}, ep...)...)
	t.Logf("sn27 subnet hyperparameters --netuid %s:\n%s", netuid, table)
	for _, want := range []string{"owner " + coldkeys["owner"], "weights_set_rate_limit", "100 blocks", "WeightsSetRateLimit", "min_burn"} {
		if !strings.Contains(table, want) {
			t.Errorf("hyperparameters table lacks %q", want)
		}
	}
	if e := fails(exitBadInput, append([]string{"subnet", "hyperparameters", "--netuid", "999"}, ep...)...); !strings.Contains(e, "subnet 999 does not exist") {
		t.Errorf("hyperparameters of a missing subnet: %s", e)
	}

	// The owner switches commit-reveal on and off; hyperparameters follows.
	set := func(wallet string, args ...string) []string {
		return with(wallet, append([]string{"subnet", "set", "--netuid", netuid}, args...)...)
	}
	if o, _ := mustRun(set("owner", "--param", "commit_reveal_weights_enabled", "--value", "true")...); o != "commit_reveal_weights_enabled = true (subnet "+netuid+")\n" {
		t.Errorf("set on: %q", o)
	}
	if read().Params["commit_reveal_weights_enabled"] != true {
		t.Error("hyperparameters does not show commit-reveal on")
	}
	o, e := mustRun(set("owner", "--param", "commit_reveal_weights_enabled", "--value", "false")...)
	t.Logf("sn27 subnet set ... commit_reveal_weights_enabled false:\n%s%s", e, o)
	if o != "commit_reveal_weights_enabled = false (subnet "+netuid+")\n" {
		t.Errorf("set off: %q", o)
	}
	if read().Params["commit_reveal_weights_enabled"] != false {
		t.Error("hyperparameters does not show commit-reveal off")
	}
	if o, _ := mustRun(set("owner", "--param", "weights_rate_limit", "--value", "0")...); o != "weights_set_rate_limit = 0 (subnet "+netuid+")\n" {
		t.Errorf("set weights_rate_limit (btcli's name): %q", o)
	}

	// Refusals, by name.
	e = fails(1, set("other", "--param", "serving_rate_limit", "--value", "0")...)
	t.Logf("non-owner: %s", e)
	if !strings.Contains(e, "BadOrigin") || !strings.Contains(e, "is not the owner of subnet "+netuid) {
		t.Errorf("non-owner: %s", e)
	}
	e = fails(exitBadInput, set("owner", "--param", "no_such_param", "--value", "1")...)
	t.Logf("bad param: %s", e)
	if !strings.Contains(e, `unknown hyperparameter "no_such_param"`) || !strings.Contains(e, "commit_reveal_weights_enabled") || !strings.Contains(e, "serving_rate_limit") {
		t.Errorf("bad param: %s", e)
	}
	if e := fails(exitBadInput, set("owner", "--param", "commit_reveal_weights_enabled", "--value", "maybe")...); !strings.Contains(e, "not a valid bool") {
		t.Errorf("bad value: %s", e)
	}
	e = fails(1, set("owner", "--param", "tempo", "--value", "100")...)
	t.Logf("root-only as owner: %s", e)
	if !strings.Contains(e, "BadOrigin") || !strings.Contains(e, "root") || !strings.Contains(e, "--sudo") {
		t.Errorf("root-only tempo as owner: %s", e)
	}
	if e := fails(1, set("owner", "--param", "tempo", "--value", "100", "--sudo")...); !strings.Contains(e, "Sudo.RequireSudo") || !strings.Contains(e, "not the chain's sudo key") {
		t.Errorf("--sudo by a key that is not sudo: %s", e)
	}
	if o, _ := mustRun(set("alice", "--param", "tempo", "--value", "100", "--sudo")...); o != "tempo = 100 (subnet "+netuid+")\n" {
		t.Errorf("sudo tempo: %q", o)
	}
	if read().Params["tempo"] != float64(100) {
		t.Error("hyperparameters does not show tempo 100")
	}

	// Staking on the fresh subnet buys nothing, and says so: as in the
	// README's walkthrough, a hotkey registers (its burn goes into the pool),
	// then 2000 τ are staked to it.
	if o, _ := mustRun(with("other", "subnet", "register", "--netuid", netuid)...); o != "uid 1\n" {
		t.Errorf("subnet register = %q", o)
	}
	balance := func() string {
		o, _ := mustRun(append([]string{"balance", coldkeys["other"]}, ep...)...)
		return o
	}
	b0 := balance()
	e = fails(1, with("other", "stake", "add", "--amount", "2000", "--netuid", netuid, "--tolerance", "0.005")...)
	t.Logf("stake add --tolerance on a fresh subnet: %s", e)
	if !strings.Contains(e, "nothing was sent") || !strings.Contains(e, "no add_stake_limit") {
		t.Errorf("--tolerance on a fresh pool: %s", e)
	}
	if b := balance(); b != b0 {
		t.Errorf("balance %q after a refused stake; was %q", b, b0)
	}
	o, e = mustRun(with("other", "stake", "add", "--amount", "2000", "--netuid", netuid)...)
	t.Logf("stake add --amount 2000 on a fresh subnet:\n%s%s", e, o)
	if !strings.Contains(o, "staked 2000.000000000 τ") || !strings.Contains(o, "received 0.000000000 α (the pool gave nothing for it)") {
		t.Errorf("stake on a fresh subnet printed %q", o)
	}
	if !strings.Contains(e, "WARNING: the pool of subnet "+netuid) || !strings.Contains(e, "warning: 2000.000000000 τ bought 0.000000000 α") {
		t.Errorf("stake on a fresh subnet warned %q", e)
	}

	// A funded pool (1000 τ / 1000 α, as smoke.mjs sets it): 100 τ would push
	// the price past a 5% tolerance, 10 τ does not (TestStakeOnLocalchain in
	// internal/chain checks the alpha against what the chain credits).
	for _, item := range []string{"SubnetTAO", "SubnetAlphaIn"} {
		e, err := c.Metadata().Storage("SubtensorModule", item)
		if err != nil {
			t.Fatal(err)
		}
		n, _ := strconv.ParseUint(netuid, 10, 16)
		k, _ := e.Key(scale.NewEncoder(nil).U16(uint16(n)).Data())
		var res any
		pair := [][]string{{"0x" + hex.EncodeToString(k), "0x" + hex.EncodeToString(scale.NewEncoder(nil).U64(1000e9).Data())}}
		if err := c.RPC().Call(ctx, &res, "dev_setStorage", pair); err != nil {
			t.Fatal(err)
		}
	}
	e = fails(1, with("owner", "stake", "add", "--amount", "100", "--netuid", netuid, "--tolerance", "0.05")...)
	if !strings.Contains(e, "above the limit 1.050000000 τ/α") || !strings.Contains(e, "nothing was sent") {
		t.Errorf("100 τ into a 1000 τ pool with 5%% tolerance: %s", e)
	}
	o, e = mustRun(with("owner", "stake", "add", "--amount", "10", "--netuid", netuid, "--tolerance", "0.05")...)
	t.Logf("stake add --amount 10 --tolerance 0.05 on a 1000/1000 pool:\n%s%s", e, o)
	if !strings.Contains(o, "staked 10.000000000 τ") || !strings.Contains(o, " α at 1.0") || strings.Contains(e, "WARNING") {
		t.Errorf("stake on a funded pool: %q %q", o, e)
	}
}
