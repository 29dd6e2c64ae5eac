package renter

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sn27/sn27/internal/allocation"
	"github.com/sn27/sn27/internal/axon"
	"github.com/sn27/sn27/internal/chain"
	"github.com/sn27/sn27/internal/dendrite"
	"github.com/sn27/sn27/internal/keys"
	"github.com/sn27/sn27/internal/protocol"
)

// fakeMiner answers Allocate as the sn27 miner does, one request at a time,
// taking a while to start the container.
type fakeMiner struct {
	mu        sync.Mutex
	holder    string // the renter public key of the allocation; "" none
	allocated int    // allocations made
}

func (m *fakeMiner) serve(ctx context.Context, req *protocol.Allocate) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := map[string]any{"status": true}
	switch {
	case req.Checking && req.Timeline != 0:
		if m.holder != "" {
			out = map[string]any{"status": false, "message": "already allocated", "reason": allocation.ReasonAlreadyAllocated}
		}
	case req.Timeline != 0:
		if m.holder != "" {
			out = map[string]any{"status": false, "message": "already allocated", "reason": allocation.ReasonAlreadyAllocated}
			break
		}
		time.Sleep(100 * time.Millisecond) // the container starts
		pub, err := allocation.ParseRenterKey(req.PublicKey)
		if err != nil {
			return err
		}
		info, err := allocation.EncryptCredentials(pub, allocation.Credentials{Username: "root", Port: 2222})
		if err != nil {
			return err
		}
		m.holder, out["info"] = req.PublicKey, info
		m.allocated++
	case !req.Checking && !req.DockerChange: // deallocate
		if m.holder == "" || m.holder != req.PublicKey {
			out = map[string]any{"status": false, "message": "not allocated"}
			break
		}
		m.holder = ""
	}
	b, err := json.Marshal(out)
	req.Output = b
	return err
}

// newMinerService serves a fakeMiner's axon on loopback and returns a
// Service with a real dendrite that rents it.
func newMinerService(t *testing.T) (*Service, *fakeMiner, string) {
	t.Helper()
	return newMinerServiceWith(t, nil)
}

// newMinerServiceWith is newMinerService with the axon set up by setup.
func newMinerServiceWith(t *testing.T, setup func(*axon.Axon)) (*Service, *fakeMiner, string) {
	t.Helper()
	mp, err := keys.FromURI("//Miner")
	if err != nil {
		t.Fatal(err)
	}
	m := &fakeMiner{}
	ax := axon.New(axon.Config{RatePerIP: 1e6, BurstPerIP: 1e6}, mp, nil)
	axon.Handle(ax, m.serve)
	if setup != nil {
		setup(ax)
	}
	srv := httptest.NewServer(ax)
	t.Cleanup(srv.Close)
	host, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	p, _ := strconv.Atoi(port)

	s, _ := newTestService(t, []chain.Neuron{{UID: 1, Hotkey: mp.Hotkey(), Axon: chain.AxonInfo{IP: host, Port: uint16(p)}}})
	vp, err := keys.FromURI("//Validator")
	if err != nil {
		t.Fatal(err)
	}
	d, err := dendrite.New(vp, dendrite.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.Close)
	s.d.Dendrite, s.cfg.Timeout = d, 10*time.Second
	return s, m, string(mp.Hotkey())
}

// TestAllocateHotkeyConcurrent: concurrent allocations of one free miner
// give one allocation and ErrAlreadyAllocated for every other, and the
// renter key kept is the winner's (issue 22: losers overwrote it, or
// removed it after the miner refused them).
func TestAllocateHotkeyConcurrent(t *testing.T) {
	ctx := context.Background()
	s, m, hotkey := newMinerService(t)
	const n = 16
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			_, errs[i] = s.AllocateHotkey(ctx, hotkey, Request{Timeline: 10})
		})
	}
	close(start)
	wg.Wait()
	won := 0
	for i, err := range errs {
		switch {
		case err == nil:
			won++
		case !errors.Is(err, ErrAlreadyAllocated):
			t.Errorf("call %d: %v; want ErrAlreadyAllocated", i, err)
		}
	}
	if won != 1 || m.allocated != 1 {
		t.Fatalf("%d calls won, the miner allocated %d times; want 1 and 1", won, m.allocated)
	}
	_, pubPEM, err := s.loadKey(ctx, hotkey)
	if err != nil {
		t.Fatalf("the winner's key: %v", err)
	}
	if strings.TrimSpace(pubPEM) != strings.TrimSpace(m.holder) {
		t.Fatal("the renter key on disk is not the one the miner holds")
	}
	if err := s.Deallocate(ctx, hotkey); err != nil || m.holder != "" {
		t.Errorf("Deallocate = %v, miner holds %q; want it released", err, m.holder)
	}
}

// TestClaim: one allocation or deallocation per miner at a time.
func TestClaim(t *testing.T) {
	s, _ := newTestService(t, nil)
	release, err := s.claim("a")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.claim("a"); !errors.Is(err, ErrBusy) {
		t.Errorf("second claim of a = %v; want ErrBusy", err)
	}
	rb, err := s.claim("b")
	if err != nil {
		t.Errorf("claim of b while a is busy: %v", err)
	} else {
		rb()
	}
	release()
	if r, err := s.claim("a"); err != nil {
		t.Errorf("claim of a after release: %v", err)
	} else {
		r()
	}
	if err := s.DeallocateReason(context.Background(), string(hotkey(t, "//A")), "deallocated"); errors.Is(err, ErrBusy) {
		t.Errorf("DeallocateReason of a free miner = %v", err)
	}
	r, _ := s.claim(string(hotkey(t, "//A")))
	defer r()
	if err := s.DeallocateReason(context.Background(), string(hotkey(t, "//A")), "deallocated"); !errors.Is(err, ErrBusy) {
		t.Errorf("DeallocateReason of a busy miner = %v; want ErrBusy", err)
	}
}

// TestAllocateRefusedUnread: an axon that turns the allocate request away
// before its handler runs (here its blacklist, 403) refused it: the
// renter says so (ErrRefused, the API's 409) and removes the key, where a
// request left without an answer keeps it.
func TestAllocateRefusedUnread(t *testing.T) {
	ctx := context.Background()
	var checked bool
	var mu sync.Mutex
	s, m, hotkey := newMinerServiceWith(t, func(ax *axon.Axon) {
		ax.SetBlacklist(func(_ context.Context, r axon.Request) string {
			mu.Lock()
			defer mu.Unlock()
			if !checked { // the check passes, the allocate is refused
				checked = true
				return ""
			}
			return "blacklisted for this test"
		})
	})
	_, err := s.AllocateHotkey(ctx, hotkey, Request{Timeline: 10})
	if !errors.Is(err, ErrRefused) || errors.Is(err, errMaybeAllocated) || !strings.Contains(err.Error(), "403") {
		t.Fatalf("AllocateHotkey against a 403 = %v; want ErrRefused with the status", err)
	}
	if _, _, err := s.loadKey(ctx, hotkey); err == nil {
		t.Error("the renter key outlived a refused allocation")
	}
	if m.allocated != 0 {
		t.Errorf("the miner allocated %d times", m.allocated)
	}
}
