package axon

import (
	"context"
	"testing"
	"time"
)

func TestPrioritySemServesHighestFirst(t *testing.T) {
	s := newPrioritySem(1)
	if err := s.acquire(context.Background(), 0); err != nil {
		t.Fatal(err)
	}
	order := make(chan float64, 3)
	for _, p := range []float64{1, 3, 2} {
		go func() {
			if err := s.acquire(context.Background(), p); err == nil {
				order <- p
				s.release()
			}
		}()
		time.Sleep(20 * time.Millisecond) // queue in this order
	}
	s.release()
	for _, want := range []float64{3, 2, 1} {
		if got := <-order; got != want {
			t.Errorf("served %v; want %v", got, want)
		}
	}
}

func TestPrioritySemTimeout(t *testing.T) {
	s := newPrioritySem(1)
	_ = s.acquire(context.Background(), 0)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := s.acquire(ctx, 5); err == nil {
		t.Fatal("acquired a busy semaphore")
	}
	s.release()
	if err := s.acquire(context.Background(), 0); err != nil {
		t.Errorf("slot lost after a timed-out waiter: %v", err)
	}
}

func TestNonceStore(t *testing.T) {
	now := time.Unix(1700000000, 0)
	s := newNonceStore(2)
	window := now.Add(-10 * time.Second).UnixNano()
	fresh := now.UnixNano()
	for _, tt := range []struct {
		key      string
		nonce    int64
		newRules bool
		ok       bool
	}{
		{"a:1", fresh, true, true},
		{"a:1", fresh, true, false},     // replay
		{"a:1", fresh - 1, true, false}, // older
		{"a:1", fresh + 1, true, true},
		{"b:1", window, true, false}, // first nonce too old
		{"b:1", window, false, true}, // pre-7.2 dendrite: no window
		{"c:1", fresh, true, true},   // full, but b:1 is old enough to forget
		{"d:1", fresh, true, false},  // full of fresh keys
	} {
		err := s.check(tt.key, tt.nonce, tt.newRules, window, now)
		if (err == nil) != tt.ok {
			t.Errorf("check(%s, %d, %v) = %v; want ok=%v", tt.key, tt.nonce, tt.newRules, err, tt.ok)
		}
	}
}
