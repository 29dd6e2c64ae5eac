package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sn27/sn27/internal/chain"
	"github.com/sn27/sn27/internal/chain/chaintest"
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
