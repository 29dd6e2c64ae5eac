// Package priority provides a counting semaphore whose waiters are served
// by priority, for axon request queues and the miner's solve queue.
package priority

import (
	"container/heap"
	"context"
	"sync"
)

// Semaphore is a counting semaphore whose waiters are served highest
// priority first (FIFO among equals). A waiter whose context ends leaves
// the queue without taking a slot.
type Semaphore struct {
	mu      sync.Mutex
	free    int
	waiters waitHeap
	seq     uint64
}

type waiter struct {
	prio  float64
	seq   uint64
	ready chan struct{}
	index int
}

type waitHeap []*waiter

func (h waitHeap) Len() int { return len(h) }
func (h waitHeap) Less(i, j int) bool {
	if h[i].prio != h[j].prio {
		return h[i].prio > h[j].prio
	}
	return h[i].seq < h[j].seq
}
func (h waitHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i]; h[i].index = i; h[j].index = j }
func (h *waitHeap) Push(x any)   { w := x.(*waiter); w.index = len(*h); *h = append(*h, w) }
func (h *waitHeap) Pop() any {
	old := *h
	w := old[len(old)-1]
	*h = old[:len(old)-1]
	w.index = -1
	return w
}

// New returns a semaphore with n slots.
func New(n int) *Semaphore { return &Semaphore{free: n} }

// Acquire waits for a slot, or returns ctx's error.
func (s *Semaphore) Acquire(ctx context.Context, prio float64) error {
	s.mu.Lock()
	if s.free > 0 && len(s.waiters) == 0 {
		s.free--
		s.mu.Unlock()
		return nil
	}
	s.seq++
	w := &waiter{prio: prio, seq: s.seq, ready: make(chan struct{})}
	heap.Push(&s.waiters, w)
	s.mu.Unlock()
	select {
	case <-w.ready:
		return nil
	case <-ctx.Done():
		s.mu.Lock()
		defer s.mu.Unlock()
		if w.index >= 0 {
			heap.Remove(&s.waiters, w.index)
			return ctx.Err()
		}
		// Granted while we gave up: pass the slot on.
		s.releaseLocked()
		return ctx.Err()
	}
}

// Release frees a slot for the highest-priority waiter.
func (s *Semaphore) Release() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.releaseLocked()
}

func (s *Semaphore) releaseLocked() {
	if len(s.waiters) > 0 {
		w := heap.Pop(&s.waiters).(*waiter)
		close(w.ready)
		return
	}
	s.free++
}

// Waiting returns the number of waiters.
func (s *Semaphore) Waiting() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.waiters)
}
