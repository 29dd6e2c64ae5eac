package axon

import (
	"container/heap"
	"context"
	"errors"
	"sync"
	"time"
)

// nonceStore remembers the last nonce per hotkey:uuid (bittensor's
// axon.nonces), forgetting entries old enough that the time window alone
// rejects their nonces again.
type nonceStore struct {
	mu   sync.Mutex
	last map[string]int64
	max  int
}

func newNonceStore(max int) *nonceStore { return &nonceStore{last: map[string]int64{}, max: max} }

// check applies bittensor's nonce rules and records the nonce on success.
func (s *nonceStore) check(key string, nonce int64, newRules bool, window int64, now time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	last, seen := s.last[key]
	switch {
	case seen && nonce <= last:
		return errors.New("Nonce is too old, a newer one was last processed")
	case !seen && newRules && nonce <= window:
		return errors.New("Nonce is too old: acceptable delta is 4.00 seconds plus the timeout")
	}
	if !seen && len(s.last) >= s.max {
		s.prune(window)
		if len(s.last) >= s.max {
			return errors.New("too many dendrite sessions; try again later")
		}
	}
	s.last[key] = nonce
	return nil
}

// prune drops keys whose last nonce the window already rejects. Callers hold mu.
func (s *nonceStore) prune(window int64) {
	for k, v := range s.last {
		if v <= window {
			delete(s.last, k)
		}
	}
}

// ipLimiter is a token bucket per client IP.
type ipLimiter struct {
	mu      sync.Mutex
	rate    float64
	burst   float64
	buckets map[string]*bucket
	sweep   time.Time
}

type bucket struct {
	tokens float64
	last   time.Time
}

func newIPLimiter(rate float64, burst int) *ipLimiter {
	return &ipLimiter{rate: rate, burst: float64(burst), buckets: map[string]*bucket{}}
}

func (l *ipLimiter) allow(ip string, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.sweep) > time.Minute { // forget idle, full buckets
		for k, b := range l.buckets {
			if b.tokens+now.Sub(b.last).Seconds()*l.rate >= l.burst {
				delete(l.buckets, k)
			}
		}
		l.sweep = now
	}
	b, ok := l.buckets[ip]
	if !ok {
		b = &bucket{tokens: l.burst, last: now}
		l.buckets[ip] = b
	}
	b.tokens = min(l.burst, b.tokens+now.Sub(b.last).Seconds()*l.rate)
	b.last = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// prioritySem is a counting semaphore whose waiters are served highest
// priority first (FIFO among equals).
type prioritySem struct {
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

func newPrioritySem(n int) *prioritySem { return &prioritySem{free: n} }

func (s *prioritySem) acquire(ctx context.Context, prio float64) error {
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

func (s *prioritySem) release() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.releaseLocked()
}

func (s *prioritySem) releaseLocked() {
	if len(s.waiters) > 0 {
		w := heap.Pop(&s.waiters).(*waiter)
		close(w.ready)
		return
	}
	s.free++
}
