package axon

import (
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
