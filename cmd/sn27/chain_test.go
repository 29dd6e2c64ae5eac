package main

import (
	"context"
	"encoding/json"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sn27/sn27/internal/chain"
	"github.com/sn27/sn27/internal/keys"
	"github.com/sn27/sn27/internal/scale"
)

func TestParseTAO(t *testing.T) {
	for in, want := range map[string]uint64{"1": 1e9, "0.5": 5e8, "1000": 1e12, ".000000001": 1, "12.345678901": 12345678901} {
		if got, err := parseTAO(in); err != nil || got != want {
			t.Errorf("parseTAO(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "-1", "1.0000000001", "abc", "1e9", "+3", "."} {
		if _, err := parseTAO(bad); err == nil {
			t.Errorf("parseTAO(%q) accepted", bad)
		}
	}
	if formatTAO(1500000001) != "1.500000001" {
		t.Errorf("formatTAO = %s", formatTAO(1500000001))
	}
}

// TestChainCommandsOnLocalchain runs the btcli-like commands against the
// real subtensor runtime: a new wallet is funded, creates a subnet,
// registers a second hotkey, stakes, transfers and reads the metagraph.
func TestChainCommandsOnLocalchain(t *testing.T) {
	if testing.Short() {
		t.Skip("needs the local subtensor chain; skipped with -short")
	}
	const port = "9962"
	dir := filepath.Join("..", "..", "..", "shared", "localchain")
	out, err := exec.Command(filepath.Join(dir, "start.sh"), port).Output()
	if err != nil {
		t.Fatalf("start localchain: %v", err)
	}
	t.Cleanup(func() { _ = exec.Command(filepath.Join(dir, "stop.sh"), port).Run() })
	ws := strings.TrimSpace(string(out))

	wdir := t.TempDir()
	w := []string{"--wallet.path", wdir, "--wallet.name", "owner"}
	ep := []string{"--subtensor.chain_endpoint", ws, "--no-prompt"}
	mustRun := func(args ...string) string {
		t.Helper()
		code, stdout, stderr := sn27(t, args...)
		if code != 0 {
			t.Fatalf("sn27 %s: exit %d: %s", strings.Join(args, " "), code, stderr)
		}
		return stdout
	}
	mustRun(append([]string{"wallet", "create", "--no-password"}, w...)...)
	mustRun(append([]string{"wallet", "new-hotkey", "--wallet.hotkey", "miner"}, w...)...)
	var show struct{ Coldkey string }
	if err := json.Unmarshal([]byte(mustRun(append([]string{"wallet", "show", "--json"}, w...)...)), &show); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	c, err := chain.Dial(ctx, ws, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// The real runtime answers an empty neuron list for a subnet that does
	// not exist: the command says which it is.
	if code, _, stderr := sn27(t, "metagraph", "--netuid", "77", "--subtensor.chain_endpoint", ws); code == 0 || !strings.Contains(stderr, "subnet 77 does not exist") {
		t.Errorf("metagraph of a missing subnet: exit %d, %q", code, stderr)
	}
	alice, _ := keys.FromURI("//Alice")
	if _, err := c.Transfer(ctx, alice, show.Coldkey, 10_000*1e9); err != nil {
		t.Fatalf("fund the new coldkey: %v", err)
	}
	lift, _ := c.Call("AdminUtils", "sudo_set_network_rate_limit", scale.NewEncoder(nil).U64(0).Data())
	if _, err := c.Sudo(ctx, alice, lift); err != nil {
		t.Fatal(err)
	}

	if got := mustRun(append(append([]string{"balance"}, w...), ep[:2]...)...); !strings.Contains(got, "10000.000000000 τ") {
		t.Errorf("balance = %q", got)
	}
	created := mustRun(append(append([]string{"subnet", "create"}, w...), ep...)...)
	netuid := strings.TrimSpace(strings.TrimPrefix(created, "netuid "))
	if got := mustRun(append(append([]string{"subnet", "register", "--netuid", netuid, "--wallet.hotkey", "miner"}, w...), ep...)...); got != "uid 1\n" {
		t.Errorf("subnet register = %q; want uid 1", got)
	}
	mustRun(append(append([]string{"stake", "add", "--amount", "10", "--netuid", netuid}, w...), ep...)...)
	mustRun(append(append([]string{"transfer", "--dest", alice.SS58(), "--amount", "1.5"}, w...), ep...)...)

	var rows []struct {
		UID    int    `json:"uid"`
		Hotkey string `json:"hotkey"`
	}
	if err := json.Unmarshal([]byte(mustRun("metagraph", "--netuid", netuid, "--json", "--subtensor.chain_endpoint", ws)), &rows); err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 || rows[1].UID != 1 {
		t.Errorf("metagraph = %+v; want the owner and the miner", rows)
	}
	table := mustRun("metagraph", "--netuid", netuid, "--subtensor.chain_endpoint", ws)
	if !strings.Contains(table, "UID") || !strings.Contains(table, rows[1].Hotkey) {
		t.Errorf("metagraph table:\n%s", table)
	}
	if code, _, stderr := sn27(t, append(append([]string{"stake", "add", "--amount", "-1", "--netuid", netuid}, w...), ep...)...); code != exitBadInput {
		t.Errorf("negative stake: exit %d (%s)", code, stderr)
	}
}
