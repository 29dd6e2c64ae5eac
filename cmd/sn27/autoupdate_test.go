package main

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sn27/sn27/internal/chain/chaintest"
	"github.com/sn27/sn27/internal/chain/devchain"
)

// TestDaemonAutoUpdate: a miner or validator started with --auto-update
// finds a newer signed release, installs it (the running binary kept as
// .previous), stops cleanly and asks main to start the new binary in its
// place.
func TestDaemonAutoUpdate(t *testing.T) {
	t.Setenv("DOCKER_HOST", "unix://"+filepath.Join(t.TempDir(), "no-docker.sock")) // no rentals here: allocation is off
	_, ws, _ := chaintest.ServeDevChain(t, devchain.DefaultConfig())
	for _, role := range []struct {
		name string
		args func() []string
	}{
		{"miner", func() []string {
			return []string{"--axon.ip", "127.0.0.1", "--axon.port", strconv.Itoa(freePort(t)), "--miner.solver", "native", "--miner.data_dir", t.TempDir()}
		}},
		{"validator", func() []string {
			return []string{"--data.dir", t.TempDir(), "--validator.feed.addr", "", "--validator.block.poll", "100ms"}
		}},
	} {
		t.Run(role.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			w, _, netuid := registeredMinerWallet(ctx, t, ws)
			dir, keyFile, bin := updateRelease(t)
			const old = "#!/bin/sh\necho '{\"version\":\"v1.2.3\"}'\n"
			exe := filepath.Join(t.TempDir(), "sn27")
			if err := os.WriteFile(exe, []byte(old), 0o755); err != nil {
				t.Fatal(err)
			}
			takeRestart()
			args := append([]string{role.name, "--subtensor.chain_endpoint", ws, "--netuid", strconv.Itoa(int(netuid)),
				"--auto-update", "--update.url", dir, "--update.trusted-key", keyFile, "--update.target", exe, "--auto-update.every", "1s"}, role.args()...)
			code, _, stderr := sn27ctx(ctx, t, append(args, w...)...) // the daemon logs to os.Stderr
			if code != 0 || ctx.Err() != nil {
				t.Fatalf("%s exit %d (ctx %v):\n%s", role.name, code, ctx.Err(), stderr)
			}
			if got := takeRestart(); got != exe {
				t.Errorf("restart requested into %q; want %s", got, exe)
			}
			if got := readFiles(exe, exe+".previous"); got[0] != string(bin) || got[1] != old {
				t.Errorf("after the update: executable %q, previous %q", got[0], got[1])
			}
		})
	}
}

// TestAutoUpdateStartErrors: --auto-update that could not work stops the
// start with the fix, before anything runs.
func TestAutoUpdateStartErrors(t *testing.T) {
	dir, keyFile, _ := updateRelease(t)
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no source", []string{"--auto-update"}, "--update.url"},
		{"unreadable key", []string{"--auto-update", "--update.url", dir, "--update.trusted-key", filepath.Join(dir, "nope.pub")}, "--update.trusted-key"},
		{"executable not replaceable", []string{"--auto-update", "--update.url", dir, "--update.trusted-key", keyFile, "--update.target", "/proc/version"}, "cannot replace the executable"},
		{"too often", []string{"--auto-update", "--update.url", dir, "--auto-update.every", "1s"}, "at least 1m"},
	} {
		for _, role := range []string{"miner", "validator"} {
			code, _, stderr := sn27(t, append([]string{role, "--wallet.path", t.TempDir()}, tc.args...)...)
			if code != exitBadInput || !strings.Contains(stderr, tc.want) {
				t.Errorf("%s %s: exit %d, %q; want %d saying %q", role, tc.name, code, stderr, exitBadInput, tc.want)
			}
		}
	}
}
