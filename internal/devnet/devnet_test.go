package devnet_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sn27/sn27/internal/devnet"
	"github.com/sn27/sn27/internal/keys"
)

func freePort(t *testing.T) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// TestDevnetRanksMiners: a devnet comes up, every miner gets a non-zero
// weight, the fastest the largest; a second run reuses the data dir.
func TestDevnetRanksMiners(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a whole network; skipped with -short")
	}
	cfg := devnet.DefaultConfig()
	cfg.DataDir, cfg.BlockTime, cfg.AxonPort = t.TempDir(), 200*time.Millisecond, freePort(t)
	cfg.ChainAddr = net.JoinHostPort("127.0.0.1", "0")
	cfg.DashboardAddr = net.JoinHostPort("127.0.0.1", "0")
	cfg.FeedAddr = net.JoinHostPort("127.0.0.1", "0")
	run := func(check func(devnet.Info, *devnet.Network)) devnet.Info {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		var info devnet.Info
		done := make(chan error, 1)
		go func() {
			done <- devnet.Run(ctx, cfg, nil, func(i devnet.Info, n *devnet.Network) {
				info = i
				go func() { check(i, n); cancel() }()
			})
		}()
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("devnet: %v", err)
			}
		case <-time.After(3 * time.Minute):
			t.Fatal("devnet did not finish")
		}
		return info
	}
	first := run(func(info devnet.Info, n *devnet.Network) {
		var out bytes.Buffer
		devnet.PrintInfo(&out, info)
		if !strings.Contains(out.String(), "miner-2") || !strings.Contains(out.String(), info.ChainURL) || !strings.Contains(out.String(), info.Dashboard) {
			t.Errorf("info:\n%s", out.String())
		}
		ctx := context.Background()
		for start := time.Now(); ; time.Sleep(500 * time.Millisecond) {
			ns, err := n.Client().Neurons(ctx, info.NetUID)
			if err != nil {
				t.Error(err)
				return
			}
			uids, ws, err := n.Validator().Scores(ctx, ns)
			if err != nil {
				t.Error(err)
				return
			}
			byHot := map[string]float64{}
			for i, u := range uids {
				for _, nr := range ns {
					if nr.UID == u {
						byHot[string(nr.Hotkey)] = ws[i]
					}
				}
			}
			var miners []float64
			for _, nr := range ns {
				if nr.Axon.Serving() {
					miners = append(miners, byHot[string(nr.Hotkey)])
				}
			}
			if len(miners) == 3 && miners[0] > 0 && miners[1] > 0 && miners[2] > 0 {
				if !(miners[0] > miners[2]) {
					t.Errorf("weights %v: want the fastest miner above the slowest", miners)
				}
				t.Logf("weights of miners 0..2 after %v: %v", time.Since(start).Round(time.Second), miners)
				checkDashboard(t, info.Dashboard)
				return
			}
			if time.Since(start) > 2*time.Minute {
				t.Errorf("miners' weights after 2 minutes: %v", miners)
				return
			}
		}
	})
	second := run(func(devnet.Info, *devnet.Network) {})
	if second.NetUID != first.NetUID || second.Validator != first.Validator {
		t.Errorf("second run: subnet %d validator %s; want %d %s", second.NetUID, second.Validator, first.NetUID, first.Validator)
	}
}

// checkDashboard: the dashboard lists the 3 miners, each with a weight.
func checkDashboard(t *testing.T, url string) {
	t.Helper()
	waitDashboard(t, url, "3 miners with a weight", func(miners []map[string]any) bool {
		n := 0
		for _, m := range miners {
			if w, _ := m["weight"].(float64); w > 0 {
				n++
			}
		}
		return n == 3
	})
}

// waitDashboard polls the dashboard's /api/miners for 30 s until ok holds.
func waitDashboard(t *testing.T, url, what string, ok func([]map[string]any) bool) {
	t.Helper()
	for start := time.Now(); time.Since(start) < 30*time.Second; time.Sleep(500 * time.Millisecond) {
		resp, err := http.Get(url + "api/miners")
		if err != nil {
			continue
		}
		var body struct {
			Miners []map[string]any `json:"miners"`
		}
		err = json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if err == nil && ok(body.Miners) {
			return
		}
	}
	t.Errorf("the dashboard never showed %s", what)
}

// Without Docker (or the image) the devnet says why it does not rent; with
// it, it prints the commands that rent miner 0, log in and end the rental.
func TestPrintInfoRentals(t *testing.T) {
	info := devnet.Info{NetUID: 1, ChainURL: "ws://127.0.0.1:9944", Wallets: "/d/wallets", Miners: []keys.Hotkey{"5Hotkey"},
		Rentals: "off: ping docker daemon: connection refused"}
	var out bytes.Buffer
	devnet.PrintInfo(&out, info)
	if !strings.Contains(out.String(), "rentals     off: ping docker daemon") || strings.Contains(out.String(), "rent one") {
		t.Errorf("without docker:\n%s", out.String())
	}
	info.Rentals = ""
	out.Reset()
	devnet.PrintInfo(&out, info)
	for _, want := range []string{"rent one    sn27 renter allocate-hotkey 5Hotkey", "end it      sn27 renter deallocate 5Hotkey", "--data.dir /d/validator"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("with docker: no %q in\n%s", want, out.String())
		}
	}
	// After `make run` the binary is ./bin/sn27, not on the PATH: the
	// printed commands name it so, to run as printed.
	info.Command = "./bin/sn27"
	out.Reset()
	devnet.PrintInfo(&out, info)
	for _, want := range []string{"rent one    ./bin/sn27 renter allocate-hotkey 5Hotkey", "end it      ./bin/sn27 renter deallocate", "resources   ./bin/sn27 renter list-resources", "e.g. ./bin/sn27 metagraph"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("with ./bin/sn27: no %q in\n%s", want, out.String())
		}
	}
}

// TestDevnetCommitReveal: `sn27 devnet --commit-reveal` runs the dev chain as
// spec 343 (commit-reveal on, a drand beacon of its own); the validator's
// weights go through timelocked commits the chain reveals at the epoch, and
// miners earn incentive, which the dashboard shows.
func TestDevnetCommitReveal(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a whole network; skipped with -short")
	}
	cfg := devnet.DefaultConfig()
	cfg.DataDir, cfg.BlockTime, cfg.AxonPort, cfg.Miners, cfg.CommitReveal = t.TempDir(), 150*time.Millisecond, freePort(t), 2, true
	cfg.ChainAddr = net.JoinHostPort("127.0.0.1", "0")
	cfg.DashboardAddr = net.JoinHostPort("127.0.0.1", "0")
	cfg.FeedAddr = net.JoinHostPort("127.0.0.1", "0")
	cfg.SSHPort = 0
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- devnet.Run(ctx, cfg, nil, func(info devnet.Info, n *devnet.Network) {
			go func() {
				defer cancel()
				cr, err := n.Client().CommitReveal(ctx, info.NetUID)
				if err != nil || !cr.Enabled || cr.Path().String() != "timelock" {
					t.Errorf("devnet --commit-reveal: commit-reveal %+v (%v), %v; want on, timelock", cr, cr.Path(), err)
					return
				}
				for start := time.Now(); ; time.Sleep(500 * time.Millisecond) {
					ns, err := n.Client().Neurons(ctx, info.NetUID)
					if err != nil {
						t.Error(err)
						return
					}
					paid := 0
					for _, nr := range ns {
						if nr.Axon.Serving() && nr.Incentive > 0 {
							paid++
						}
					}
					if paid == 2 {
						t.Logf("both miners earn incentive %v after the start", time.Since(start).Round(time.Second))
						checkIncentiveOnDashboard(t, info.Dashboard)
						return
					}
					if time.Since(start) > 2*time.Minute {
						t.Errorf("miners with incentive after 2 minutes: %d of 2", paid)
						return
					}
				}
			}()
		})
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("devnet: %v", err)
		}
	case <-time.After(3 * time.Minute):
		t.Fatal("devnet did not finish")
	}
}

// checkIncentiveOnDashboard: the dashboard shows a non-zero incentive.
func checkIncentiveOnDashboard(t *testing.T, url string) {
	t.Helper()
	waitDashboard(t, url, "a miner with incentive", func(miners []map[string]any) bool {
		for _, m := range miners {
			if inc, _ := m["incentive"].(float64); inc > 0 {
				return true
			}
		}
		return false
	})
}
