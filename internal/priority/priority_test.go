package priority

import (
	"context"
	"testing"
	"time"
)

func TestPrioritySemServesHighestFirst(t *testing.T) {
	s := New(1)
	if err := s.Acquire(context.Background(), 0); err != nil {
		t.Fatal(err)
	}
	order := make(chan float64, 3)
	for _, p := range []float64{1, 3, 2} {
		go func() {
			if err := s.Acquire(context.Background(), p); err == nil {
				order <- p
				s.Release()
			}
		}()
		time.Sleep(20 * time.Millisecond) // queue in this order
	}
	s.Release()
	for _, want := range []float64{3, 2, 1} {
		if got := <-order; got != want {
			t.Errorf("served %v; want %v", got, want)
		}
	}
}

func TestPrioritySemTimeout(t *testing.T) {
	s := New(1)
	_ = s.Acquire(context.Background(), 0)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := s.Acquire(ctx, 5); err == nil {
		t.Fatal("acquired a busy semaphore")
	}
	s.Release()
	if err := s.Acquire(context.Background(), 0); err != nil {
		t.Errorf("slot lost after a timed-out waiter: %v", err)
	}
}
