package chain_test

import (
	"context"
	"flag"
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
	"github.com/sn27/sn27/internal/polkadotjs"
)

// localchainPort is this package's port for ../shared/localchain.
const localchainPort = 9961

var localchainURL string

func localchainDir() string {
	if d := os.Getenv("SN27_LOCALCHAIN"); d != "" {
		return d
	}
	return filepath.Join("..", "..", "..", "shared", "localchain")
}

// TestMain starts the real subtensor runtime (chopsticks) unless -short.
func TestMain(m *testing.M) {
	flag.Parse()
	if testing.Short() {
		os.Exit(m.Run())
	}
	dir := localchainDir()
	out, err := exec.Command(filepath.Join(dir, "start.sh"), strconv.Itoa(localchainPort)).Output()
	if err != nil {
		fmt.Fprintf(os.Stderr, "start localchain (%s): %v\n", dir, err)
		os.Exit(1)
	}
	localchainURL = strings.TrimSpace(string(out))
	code := m.Run()
	_ = exec.Command(filepath.Join(dir, "stop.sh"), strconv.Itoa(localchainPort)).Run()
	os.Exit(code)
}

func dial(t *testing.T) *chain.Client {
	t.Helper()
	if testing.Short() {
		t.Skip("needs the local subtensor chain; skipped with -short")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := chain.Dial(ctx, localchainURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestScenarioOnLocalchain(t *testing.T) {
	c := dial(t)
	netuid := chaintest.Scenario(t, c)

	// The same subnets read back exactly as polkadot.js decodes them.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	for _, n := range []chain.NetUID{1, netuid} {
		ours, err := c.Neurons(ctx, n)
		if err != nil {
			t.Fatal(err)
		}
		theirs, err := polkadotjs.NeuronsLite(ctx, localchainURL, int(n))
		if err != nil {
			t.Fatal(err)
		}
		if len(ours) != len(theirs) {
			t.Fatalf("subnet %d: %d neurons; polkadot.js %d", n, len(ours), len(theirs))
		}
		for i, o := range ours {
			p := theirs[i]
			mine := fmt.Sprintf("%d %d %s %s %v %d %d %d %d %d %d %v", o.UID, o.NetUID, o.Hotkey, o.Coldkey, o.Active, o.Axon.Version, o.Axon.Port, o.Stake, o.Emission, o.LastUpdate, int(o.Incentive*65535+0.5), o.ValidatorPermit)
			pjs := fmt.Sprintf("%d %d %s %s %v %d %d %s %s %s %d %v", p.UID, p.NetUID, p.Hotkey, p.Coldkey, p.Active, p.AxonVersion, p.AxonPort, p.Stake, p.Emission, p.LastUpdate, p.Incentive, p.ValidatorPermit)
			if mine != pjs {
				t.Errorf("subnet %d neuron %d:\n ours       %s\n polkadot.js %s", n, i, mine, pjs)
			}
		}
	}
}

func TestAgainstPolkadotJS(t *testing.T) {
	if testing.Short() {
		t.Skip("runs node; skipped with -short")
	}
	ctx := context.Background()
	for _, tt := range []struct{ cur, period uint64 }{{4, 64}, {100, 64}, {1, 5}, {1000, 4096}, {123456, 64}} {
		want, err := polkadotjs.MortalEra(ctx, tt.cur, tt.period)
		if err != nil {
			t.Fatal(err)
		}
		if got := chain.MortalEraHex(tt.cur, tt.period); got != want {
			t.Errorf("era(%d, %d) = %s; polkadot.js %s", tt.cur, tt.period, got, want)
		}
	}
}
