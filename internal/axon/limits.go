package axon

import (
	"container/heap"
	"errors"
	"sync"
	"time"
)

// wallClockFloor is 2020-01-01 in Unix nanoseconds. Dendrites before
// bittensor 7.2 send time.monotonic_ns() nonces (time since boot), far below
// it; a nonce at or above it is wall-clock time whatever version the
// unsigned version header claims.
const wallClockFloor int64 = 1_577_836_800_000_000_000

// Refusals of the nonce check, in bittensor's words where it has them.
var (
	errNonceReplayed = errors.New("Nonce is too old, a newer one was last processed")
	errNonceTooOld   = errors.New("Nonce is too old: acceptable delta is 4.00 seconds plus the timeout")
	errNonceFull     = errors.New("too many dendrite sessions; try again later")
)

// nonceStore is the axon's replay cache. Under bittensor's v7.2 rules it
// accepts a nonce inside its request's time window once, in any order of
// arrival (one dendrite's concurrent requests arrive out of order), and
// remembers it per hotkey:uuid until the widest window (4 s plus the longest
// timeout: the timeout header is not signed) rejects it anyway; the horizon
// of forgotten nonces never moves back, so a forgotten nonce is refused
// however the clock or a request's timeout moves. Before 7.2 a dendrite's
// nonces are monotonic counters without a window, and must rise per
// hotkey:uuid, as bittensor checks them. At most max nonces are remembered;
// past that, new ones are refused until old ones expire.
type nonceStore struct {
	mu      sync.Mutex
	max     int
	seen    map[nonceEntry]struct{} // accepted wall-clock nonces
	expiry  nonceHeap               // the same, lowest nonce first
	horizon int64                   // nonces at or below it are forgotten, and refused
	last    map[string]int64        // pre-7.2 monotonic nonces: the last per hotkey:uuid
}

type nonceEntry struct {
	key   string // hotkey:uuid
	nonce int64
}

func newNonceStore(max int) *nonceStore {
	return &nonceStore{max: max, seen: map[nonceEntry]struct{}{}, last: map[string]int64{}}
}

// check applies the nonce rules to the request of key and records its nonce
// on success. window is the request's own time window (nonces at or below
// it are too old under the v7.2 rules), horizon the widest window, which no
// request's timeout can exceed (window >= horizon).
func (s *nonceStore) check(key string, nonce int64, newRules bool, window, horizon int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.expire(horizon)
	if !newRules && nonce < wallClockFloor {
		if last, ok := s.last[key]; ok {
			if nonce <= last {
				return errNonceReplayed
			}
			s.last[key] = nonce
			return nil
		}
		if !s.room() {
			return errNonceFull
		}
		s.last[key] = nonce
		return nil
	}
	e := nonceEntry{key, nonce}
	if _, ok := s.seen[e]; ok {
		return errNonceReplayed
	}
	if !newRules {
		// A pre-7.2 version header (or none) on a wall-clock nonce: no window
		// of its own, but past the horizon it could be a forgotten nonce.
		window = s.horizon
	}
	if nonce <= max(window, s.horizon) {
		return errNonceTooOld
	}
	if !s.room() {
		return errNonceFull
	}
	s.seen[e] = struct{}{}
	heap.Push(&s.expiry, e)
	return nil
}

// expire forgets the nonces at or below horizon. Callers hold mu.
func (s *nonceStore) expire(horizon int64) {
	s.horizon = max(s.horizon, horizon)
	for len(s.expiry) > 0 && s.expiry[0].nonce <= s.horizon {
		delete(s.seen, heap.Pop(&s.expiry).(nonceEntry))
	}
}

// room says whether one more nonce may be remembered. When full, it first
// forgets the pre-7.2 keys (whose monotonic nonces any window rejects), as
// bittensor forgets every key at a restart. Callers hold mu.
func (s *nonceStore) room() bool {
	if len(s.seen)+len(s.last) < s.max {
		return true
	}
	if len(s.last) > 0 {
		clear(s.last)
	}
	return len(s.seen) < s.max
}

// size returns the number of nonces remembered (tests).
func (s *nonceStore) size() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.seen) + len(s.last)
}

// nonceHeap is a min-heap of entries by nonce (container/heap).
type nonceHeap []nonceEntry

func (h nonceHeap) Len() int           { return len(h) }
func (h nonceHeap) Less(i, j int) bool { return h[i].nonce < h[j].nonce }
func (h nonceHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *nonceHeap) Push(x any)        { *h = append(*h, x.(nonceEntry)) }
func (h *nonceHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	old[len(old)-1] = nonceEntry{} // drop the key string
	*h = old[:len(old)-1]
	return e
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
