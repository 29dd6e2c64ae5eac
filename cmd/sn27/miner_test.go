package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sn27/sn27/internal/chain"
	"github.com/sn27/sn27/internal/chain/chaintest"
	"github.com/sn27/sn27/internal/chain/devchain"
	"github.com/sn27/sn27/internal/dendrite"
	"github.com/sn27/sn27/internal/keys"
	"github.com/sn27/sn27/internal/polkadotjs"
	"github.com/sn27/sn27/internal/pow"
	"github.com/sn27/sn27/internal/protocol"
)

func freePort(t *testing.T) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// TestMinerAnswersPolkadotJSClient: a running `sn27 miner` on the dev chain
// answers a Challenge signed by polkadot.js (an sr25519 we did not write).
func TestMinerAnswersPolkadotJSClient(t *testing.T) {
	if testing.Short() {
		t.Skip("runs node with polkadot.js; skipped with -short")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	_, ws, _ := chaintest.ServeDevChain(t, devchain.DefaultConfig())

	w, hotkey, netuid := registeredMinerWallet(ctx, t, ws)
	alice := chaintest.Dev(t, "//Alice")

	port := freePort(t)
	mctx, stopMiner := context.WithCancel(ctx)
	minerDone := make(chan int, 1)
	go func() {
		code, _, stderr := sn27ctx(mctx, t, append([]string{"miner", "--subtensor.chain_endpoint", ws, "--netuid", strconv.Itoa(int(netuid)),
			"--axon.ip", "127.0.0.1", "--axon.port", strconv.Itoa(port), "--miner.solver", "native",
			"--whitelist.hotkeys", alice.SS58()}, w...)...)
		if code != 0 {
			t.Errorf("sn27 miner: exit %d: %s", code, stderr)
		}
		minerDone <- code
	}()
	defer func() { stopMiner(); <-minerDone }()
	for start := time.Now(); ; time.Sleep(50 * time.Millisecond) {
		if conn, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(port)); err == nil {
			conn.Close()
			break
		}
		if time.Since(start) > time.Minute {
			t.Fatal("sn27 miner never listened")
		}
	}

	ch, pw, _ := pow.New(nil, pow.Params{Difficulty: 5})
	req := protocol.NewChallenge()
	req.ChallengeHash, req.ChallengeSalt, req.ChallengeMode = ch.Hash, ch.Salt, ch.Mode
	req.ChallengeChars, req.ChallengeMask, req.ChallengeDifficulty = ch.Chars, ch.Mask, int64(ch.Difficulty)
	d, _ := dendrite.New(alice, dendrite.Config{})
	body, h, err := d.Prepare(dendrite.Target{IP: "127.0.0.1", Port: port, Hotkey: hotkey}, req, 20*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	nonce := time.Now().UnixNano()
	uuid := "0b9e1c2a-ea3f-11ef-9d7c-0242ac120002"
	msg := protocol.SignedMessage(nonce, alice.SS58(), string(hotkey), uuid, protocol.EmptyBodyHash)
	_, sig, err := polkadotjs.Sign(ctx, "//Alice", msg)
	if err != nil {
		t.Fatal(err)
	}
	h["bt_header_dendrite_nonce"], h["bt_header_dendrite_uuid"], h["bt_header_dendrite_signature"] = strconv.FormatInt(nonce, 10), uuid, sig
	hr, _ := http.NewRequestWithContext(ctx, http.MethodPost, "http://127.0.0.1:"+strconv.Itoa(port)+"/Challenge", bytes.NewReader(body))
	for k, v := range h {
		hr.Header[k] = []string{v}
	}
	resp, err := http.DefaultClient.Do(hr)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("status %d: %s", resp.StatusCode, raw)
	}
	var got protocol.Challenge
	if err := json.Unmarshal(raw, &got); err != nil {
		t.Fatal(err)
	}
	if a, _ := got.Answer(); protocol.Deref(a.Password) != pw {
		t.Errorf("answer %s; want password %q", got.Output, pw)
	}
}

func TestMinerDoctor(t *testing.T) {
	if testing.Short() {
		t.Skip("probes docker and hashcat; skipped with -short")
	}
	code, out, _ := sn27(t, "miner", "doctor", "--allocation.image", "sn27/no-such-image:0", "--ssh.port", strconv.Itoa(freePort(t)), "--miner.data_dir", t.TempDir())
	if code != 1 {
		t.Errorf("exit %d with a missing image; want 1", code)
	}
	for _, want := range []string{"PASS  docker reachable", "FAIL  allocation image", "fix: build it: sn27 miner image build", "PASS  ssh port", "PASS  hashcat", "PASS  native solver", "disk space"} {
		if !strings.Contains(out, want) {
			t.Errorf("doctor output lacks %q:\n%s", want, out)
		}
	}
}

// A miner that cannot start says why and how to fix it: a loopback axon on a
// chain that refuses it (as the real runtime does), a subnet that does not
// exist.
func TestMinerStartErrorsSayTheFix(t *testing.T) {
	cfg := devchain.DefaultConfig()
	cfg.AllowLoopback = false
	_, ws, _ := chaintest.ServeDevChain(t, cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	w, _, netuid := registeredMinerWallet(ctx, t, ws)
	for _, tt := range []struct {
		netuid string
		want   []string
	}{
		{strconv.Itoa(int(netuid)), []string{"InvalidIpAddress", "--axon.external_ip", "sn27 devchain"}},
		{"7", []string{"subnet 7 does not exist"}},
	} {
		code, _, stderr := sn27ctx(ctx, t, append([]string{"miner", "--subtensor.chain_endpoint", ws, "--netuid", tt.netuid,
			"--axon.ip", "127.0.0.1", "--axon.port", strconv.Itoa(freePort(t)), "--miner.solver", "native"}, w...)...)
		if code == 0 {
			t.Errorf("miner on netuid %s started", tt.netuid)
		}
		for _, s := range tt.want {
			if !strings.Contains(stderr, s) {
				t.Errorf("miner on netuid %s: stderr %q does not say %q", tt.netuid, stderr, s)
			}
		}
		if strings.Contains(stderr, "has no uid") {
			t.Errorf("miner on netuid %s blames registration: %q", tt.netuid, stderr)
		}
	}
}

// registeredMinerWallet creates a miner wallet (no password) with sn27
// wallet create, makes a subnet on the dev chain at ws and registers the
// wallet's hotkey there (coldkey //Dave). It returns the wallet flags, the
// hotkey and the netuid.
func registeredMinerWallet(ctx context.Context, t *testing.T, ws string) ([]string, keys.Hotkey, chain.NetUID) {
	t.Helper()
	w := []string{"--wallet.path", t.TempDir(), "--wallet.name", "miner"}
	if code, _, stderr := sn27(t, append([]string{"wallet", "create", "--no-password"}, w...)...); code != 0 {
		t.Fatal(stderr)
	}
	_, out, _ := sn27(t, append([]string{"wallet", "show", "--json"}, w...)...)
	var show struct{ Hotkey keys.Hotkey }
	if err := json.Unmarshal([]byte(out), &show); err != nil || show.Hotkey == "" {
		t.Fatalf("wallet show --json: %q, %v", out, err)
	}
	c := chaintest.Connect(t, ws)
	netuid := chaintest.NewSubnet(t, c)
	if _, err := c.BurnedRegister(ctx, chaintest.Dev(t, "//Dave"), netuid, show.Hotkey); err != nil {
		t.Fatal(err)
	}
	return w, show.Hotkey, netuid
}
