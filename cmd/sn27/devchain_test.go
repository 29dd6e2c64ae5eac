package main

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sn27/sn27/internal/chain"
	"github.com/sn27/sn27/internal/chain/chaintest"
	"github.com/sn27/sn27/internal/chain/devchain"
	"github.com/sn27/sn27/internal/polkadotjs"
)

// syncBuffer is a bytes.Buffer safe for a writer and a reader goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// runDevchain runs `sn27 devchain ARGS` until the returned stop is called
// and returns its printed endpoint.
func runDevchain(t *testing.T, args ...string) (url string, stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var out, errb syncBuffer
	done := make(chan error, 1)
	go func() {
		cmd := newDevchainCmd()
		cmd.SetArgs(args)
		cmd.SetOut(&out)
		cmd.SetErr(&errb)
		done <- cmd.ExecuteContext(ctx)
	}()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(out.String(), "\n") {
		select {
		case err := <-done:
			cancel()
			t.Fatalf("sn27 devchain exited: %v\n%s", err, errb.String())
		default:
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("sn27 devchain printed no endpoint; stderr:\n%s", errb.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	url = strings.TrimSpace(out.String())
	if !strings.HasPrefix(url, "ws://127.0.0.1:") {
		t.Fatalf("endpoint %q", url)
	}
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
				t.Errorf("sn27 devchain: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("sn27 devchain did not stop 10 s after its context ended")
		}
	}
	t.Cleanup(stop)
	return url, stop
}

func TestDevchainCommand(t *testing.T) {
	state := filepath.Join(t.TempDir(), "chain.json")
	url, stop := runDevchain(t, "--port", "0", "--state", state, "--tempo", "10")
	ctx := context.Background()
	c, err := chain.Dial(ctx, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	netuid := chaintest.Scenario(t, c)
	if tempo, err := c.Hyperparameter(ctx, "Tempo", netuid); err != nil || tempo != 10 {
		t.Errorf("tempo of the new subnet = %d, %v; want 10 (--tempo)", tempo, err)
	}

	who := chaintest.Dev(t, "//Fundme")
	cmd := newDevchainCmd()
	var out bytes.Buffer
	cmd.SetArgs([]string{"fund", who.SS58(), "2.5", "--subtensor.chain_endpoint", url})
	cmd.SetOut(&out)
	if err := cmd.ExecuteContext(ctx); err != nil {
		t.Fatalf("devchain fund: %v", err)
	}
	if !strings.Contains(out.String(), "2.500000000") {
		t.Errorf("devchain fund printed %q", out.String())
	}
	acct, err := c.Account(ctx, who.Public())
	if err != nil || acct.Free != 2_500_000_000 {
		t.Errorf("funded account = %+v, %v; want 2.5 TAO", acct, err)
	}
	num, _ := c.BlockNumber(ctx)
	c.Close()
	stop()

	// A restart from the state file keeps the chain.
	url, _ = runDevchain(t, "--port", "0", "--state", state)
	c2, err := chain.Dial(ctx, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	if n, _ := c2.BlockNumber(ctx); n != num {
		t.Errorf("block after restart = %d; want %d", n, num)
	}
	if acct, _ := c2.Account(ctx, who.Public()); acct.Free != 2_500_000_000 {
		t.Errorf("funded account after restart = %+v", acct)
	}
}

func TestDevchainFundRefusesBadInput(t *testing.T) {
	for _, args := range [][]string{
		{"fund", "not-an-address", "1"},
		{"fund", chaintest.Dev(t, "//Alice").SS58(), "0"},
		{"fund", chaintest.Dev(t, "//Alice").SS58(), "1.0000000001"},
		{"fund", chaintest.Dev(t, "//Alice").SS58()},
	} {
		cmd := newDevchainCmd()
		cmd.SetArgs(args)
		cmd.SetOut(&bytes.Buffer{})
		cmd.SetErr(&bytes.Buffer{})
		if err := cmd.ExecuteContext(context.Background()); err == nil {
			t.Errorf("devchain %v succeeded", args)
		}
	}
}

// polkadot.js (the pinned @polkadot/api) connects to `sn27 devchain` as to a
// node, reads //Alice's account, sends a transfer it signed itself, and
// `sn27 balance` sees the result.
func TestDevchainServesPolkadotJS(t *testing.T) {
	if testing.Short() {
		t.Skip("runs node with polkadot.js")
	}
	url, _ := runDevchain(t, "--port", "0")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dest := chaintest.Dev(t, "//PolkadotJS")
	const amount = 1_234_500_000
	res, err := polkadotjs.Transfer(ctx, url, "//Alice", dest.SS58(), amount)
	if err != nil {
		t.Fatalf("polkadot.js against sn27 devchain: %v", err)
	}
	alice := chaintest.Dev(t, "//Alice")
	if res.From != alice.SS58() || res.SpecVersion != devchain.SpecVersion || res.SS58 != 42 || res.Decimals != 9 || res.Symbol != "TAO" {
		t.Errorf("polkadot.js saw %+v", res)
	}
	if res.FreeBefore != "1000000000000000" || res.NonceBefore != 0 {
		t.Errorf("System.Account of //Alice through polkadot.js: free %s nonce %d; want 1000000 TAO, nonce 0", res.FreeBefore, res.NonceBefore)
	}
	if !slices.Contains(res.Events, "balances.Transfer") || !slices.Contains(res.Events, "system.ExtrinsicSuccess") {
		t.Errorf("events of the transfer: %v", res.Events)
	}
	rpc, err := chain.DialRPC(ctx, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer rpc.Close()
	var genesis string
	if err := rpc.Call(ctx, &genesis, "chain_getBlockHash", 0); err != nil || genesis != res.Genesis {
		t.Errorf("genesis: polkadot.js %s, chain_getBlockHash(0) %s, %v", res.Genesis, genesis, err)
	}
	code, out, errs := sn27(t, "balance", dest.SS58(), "--subtensor.chain_endpoint", url)
	if code != 0 || strings.TrimSpace(out) != dest.SS58()+" 1.234500000 τ" {
		t.Errorf("sn27 balance after the polkadot.js transfer: exit %d, %q, %q", code, out, errs)
	}
	code, out, _ = sn27(t, "balance", alice.SS58(), "--subtensor.chain_endpoint", url)
	if code != 0 || !strings.Contains(out, " "+res.FreeAfter[:len(res.FreeAfter)-9]+"."+res.FreeAfter[len(res.FreeAfter)-9:]+" τ") {
		t.Errorf("sn27 balance of //Alice %q; polkadot.js says %s rao", out, res.FreeAfter)
	}
}

// `sn27 subnet create` works on the dev chain's first block (its genesis
// has no network rate limit); --network-rate-limit restores the real one.
func TestDevchainSubnetCreateAtOnce(t *testing.T) {
	url, _ := runDevchain(t, "--port", "0")
	dir := t.TempDir()
	w := []string{"--wallet.path", dir, "--wallet.name", "owner"}
	if code, _, errs := sn27(t, append([]string{"wallet", "create", "--no-password"}, w...)...); code != 0 {
		t.Fatalf("wallet create: %d %s", code, errs)
	}
	ck := readColdkeyAddress(t, dir, "owner")
	if code, _, errs := sn27(t, "devchain", "fund", ck, "10", "--subtensor.chain_endpoint", url); code != 0 {
		t.Fatalf("fund: %d %s", code, errs)
	}
	code, out, errs := sn27(t, append([]string{"subnet", "create", "--no-prompt", "--subtensor.chain_endpoint", url}, w...)...)
	if code != 0 || !strings.Contains(out, "netuid") {
		t.Fatalf("subnet create on a new dev chain: exit %d, %q, %q", code, out, errs)
	}

	url, _ = runDevchain(t, "--port", "0", "--network-rate-limit", "10")
	if code, _, errs := sn27(t, "devchain", "fund", ck, "10", "--subtensor.chain_endpoint", url); code != 0 {
		t.Fatalf("fund: %d %s", code, errs)
	}
	code, _, errs = sn27(t, append([]string{"subnet", "create", "--no-prompt", "--subtensor.chain_endpoint", url}, w...)...)
	if code == 0 || !strings.Contains(errs, "NetworkTxRateLimitExceeded") {
		t.Errorf("subnet create under --network-rate-limit 10: exit %d, %q", code, errs)
	}
}

func readColdkeyAddress(t *testing.T, dir, name string) string {
	t.Helper()
	code, out, errs := sn27(t, "wallet", "show", "--json", "--wallet.path", dir, "--wallet.name", name)
	if code != 0 {
		t.Fatalf("wallet show: %d %s", code, errs)
	}
	var w struct{ Coldkey string }
	if err := json.Unmarshal([]byte(out), &w); err != nil {
		t.Fatal(err)
	}
	return w.Coldkey
}
