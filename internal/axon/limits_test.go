package axon

import (
	"encoding/binary"
	"errors"
	"fmt"
	"testing"
	"time"
)

// nonceClock gives the arguments of nonceStore.check as verify computes
// them, for a 5-minute MaxTimeout.
type nonceClock struct{ now int64 }

const testMaxTimeout = 5 * time.Minute

func (c *nonceClock) window(timeout time.Duration) int64 {
	return c.now - int64(4*time.Second+timeout)
}

func (c *nonceClock) horizon() int64 { return c.window(testMaxTimeout) }

func (c *nonceClock) check(s *nonceStore, key string, nonce int64, newRules bool, timeout time.Duration) error {
	return s.check(key, nonce, newRules, c.window(timeout), c.horizon())
}

func TestNonceStore(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0).UnixNano()
	const sec = int64(time.Second)
	type step struct {
		at       int64 // nanoseconds after t0
		key      string
		nonce    int64 // relative to t0 unless old
		old      bool  // a pre-7.2 version header
		absolute bool  // nonce is absolute (a monotonic counter)
		timeout  time.Duration
		want     error
	}
	fresh := func(key string, nonce int64) step { return step{key: key, nonce: nonce, timeout: 12 * time.Second} }
	tests := []struct {
		name  string
		max   int
		steps []step
	}{
		{"out of order inside the window", 10, []step{
			fresh("a:1", 3), fresh("a:1", 1), fresh("a:1", 2), fresh("a:1", 0), fresh("a:1", -5*sec),
		}},
		{"exact repeat", 10, []step{
			fresh("a:1", 0), {key: "a:1", timeout: 12 * time.Second, want: errNonceReplayed},
			fresh("b:1", 0), // the same nonce under another uuid
		}},
		{"repeat with a longer timeout header, later", 10, []step{
			{key: "a:1", timeout: time.Second},
			{at: 60 * sec, key: "a:1", timeout: testMaxTimeout, want: errNonceReplayed},
		}},
		{"older than the window", 10, []step{
			{key: "a:1", nonce: -10 * sec, timeout: 5 * time.Second, want: errNonceTooOld},
			fresh("a:1", 0),
			{key: "a:1", nonce: -17 * sec, timeout: 12 * time.Second, want: errNonceTooOld}, // a seen key too
			{key: "a:1", nonce: -15 * sec, timeout: 12 * time.Second},
		}},
		{"forgotten nonces stay refused", 10, []step{
			fresh("a:1", 0),
			// Past the widest window the nonce is forgotten, and too old.
			{at: int64(4*time.Second+testMaxTimeout) + 1, key: "a:1", timeout: testMaxTimeout, want: errNonceTooOld},
			// A clock stepped back does not bring it back.
			{at: 10 * sec, key: "a:1", timeout: testMaxTimeout, want: errNonceTooOld},
		}},
		{"pre-7.2 monotonic nonces rise per key", 10, []step{
			{key: "a:1", nonce: 500, old: true, absolute: true},
			{key: "a:1", nonce: 500, old: true, absolute: true, want: errNonceReplayed},
			{key: "a:1", nonce: 499, old: true, absolute: true, want: errNonceReplayed},
			{key: "a:1", nonce: 501, old: true, absolute: true},
			{key: "b:1", nonce: 7, old: true, absolute: true}, // no window
			{at: 3600 * sec, key: "a:1", nonce: 501, old: true, absolute: true, want: errNonceReplayed},
		}},
		{"a wall-clock nonce under a pre-7.2 header", 10, []step{
			fresh("a:1", 0),
			// The version header is not signed: a replay under an old one is
			// still a replay.
			{key: "a:1", old: true, want: errNonceReplayed},
			// No window of its own, but nothing past the horizon.
			{key: "a:1", nonce: -60 * sec, old: true},
			{key: "a:1", nonce: -int64(4*time.Second+testMaxTimeout) - 1, old: true, want: errNonceTooOld},
		}},
		{"full", 3, []step{
			fresh("a:1", 0), fresh("a:1", 1), fresh("b:1", 0),
			{key: "c:1", nonce: 2, timeout: 12 * time.Second, want: errNonceFull},
			{key: "a:1", nonce: 2, timeout: 12 * time.Second, want: errNonceFull}, // a known key too
			{key: "a:1", nonce: 1, timeout: 12 * time.Second, want: errNonceReplayed},
			// Once the first nonces expire there is room again.
			{at: int64(4*time.Second+testMaxTimeout) + 2, key: "c:1", nonce: int64(4*time.Second+testMaxTimeout) + 2, timeout: 12 * time.Second},
		}},
		{"full of pre-7.2 keys", 2, []step{
			{key: "a:1", nonce: 5, old: true, absolute: true},
			{key: "b:1", nonce: 5, old: true, absolute: true},
			fresh("c:1", 0), // forgets the pre-7.2 keys, as a restart would
			{key: "a:1", nonce: 5, old: true, absolute: true},
			fresh("d:1", 0),
			{key: "a:1", nonce: 5, old: true, absolute: true, want: errNonceFull},
			{key: "e:1", timeout: 12 * time.Second, want: errNonceFull},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newNonceStore(tt.max)
			c := &nonceClock{}
			for i, st := range tt.steps {
				c.now = t0 + st.at
				nonce := t0 + st.nonce
				if st.absolute {
					nonce = st.nonce
				}
				timeout := st.timeout
				if timeout == 0 {
					timeout = testMaxTimeout
				}
				if err := c.check(s, st.key, nonce, !st.old, timeout); !errors.Is(err, st.want) {
					t.Errorf("step %d: check(%s, t0%+d, old=%v, timeout %v) at t0%+d = %v; want %v",
						i, st.key, nonce-t0, st.old, timeout, st.at, err, st.want)
				}
				if n := s.size(); n > tt.max {
					t.Fatalf("step %d: %d nonces remembered; want at most %d", i, n, tt.max)
				}
			}
		})
	}
}

// TestNonceStoreRepeatAfterMany: a nonce is refused again after thousands of
// others, from its own key and others, and memory stays within the window.
func TestNonceStoreRepeatAfterMany(t *testing.T) {
	s := newNonceStore(100_000)
	c := &nonceClock{now: time.Unix(1_700_000_000, 0).UnixNano()}
	first := c.now
	if err := c.check(s, "a:1", first, true, 12*time.Second); err != nil {
		t.Fatal(err)
	}
	// 20 000 calls over 100 s (200/s), each under a fresh uuid but every
	// tenth under a:1, arriving out of order.
	for i := range 20_000 {
		c.now += int64(5 * time.Millisecond)
		key := fmt.Sprintf("a:%d", i+2)
		if i%10 == 0 {
			key = "a:1"
		}
		if err := c.check(s, key, c.now-int64(i%7)*int64(time.Millisecond), true, 12*time.Second); err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
	}
	if err := c.check(s, "a:1", first, true, testMaxTimeout); !errors.Is(err, errNonceReplayed) {
		t.Errorf("repeat after 20 000 others = %v; want %v", err, errNonceReplayed)
	}
	// Five minutes more at the same rate: only the widest window's worth is kept.
	for i := range 60_000 {
		c.now += int64(5 * time.Millisecond)
		if err := c.check(s, fmt.Sprintf("b:%d", i), c.now, true, time.Second); err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
	}
	if n, want := s.size(), int((4*time.Second+testMaxTimeout)/(5*time.Millisecond)); n > want+1 {
		t.Errorf("%d nonces remembered; want at most %d (the widest window's)", n, want+1)
	}
	if err := c.check(s, "a:1", first, true, testMaxTimeout); !errors.Is(err, errNonceTooOld) {
		t.Errorf("repeat once forgotten = %v; want %v", err, errNonceTooOld)
	}
}

// FuzzNonceStore drives the store with operations read from the input (6
// bytes each) and checks it against a model: no wall-clock nonce of a key
// is accepted twice, none at or below its request's window, at most max
// are remembered, and an unseen nonce inside its window is accepted while
// there is room.
func FuzzNonceStore(f *testing.F) {
	f.Add([]byte{0, 1, 0, 10, 1, 0, 0, 0, 0, 20, 1, 0, 0, 0, 0, 5, 1, 0, 0, 0, 0, 0, 0, 3})
	f.Add([]byte{1, 200, 0, 1, 2, 0, 17, 0, 0, 2, 0, 1, 33, 255, 255, 255, 2, 5})
	f.Add(binary.BigEndian.AppendUint64(nil, 0x0102030405060708))
	f.Fuzz(func(t *testing.T, ops []byte) {
		const max = 8
		ops = ops[:min(len(ops), 6*256)]
		s := newNonceStore(max)
		c := &nonceClock{now: time.Unix(1_700_000_000, 0).UnixNano()}
		type tried struct {
			key   string
			nonce int64
		}
		accepted := map[tried]bool{} // wall-clock nonces ever accepted
		var log []tried
		for ; len(ops) >= 6; ops = ops[6:] {
			op := ops[:6]
			c.now += int64(op[1]) * int64(50*time.Millisecond)
			timeout := []time.Duration{time.Second, 12 * time.Second, testMaxTimeout}[int(op[4])%3]
			newRules := op[0]&0x10 == 0
			monotonic := !newRules && op[0]&0x20 != 0
			tr := tried{fmt.Sprintf("k:%d", op[0]%4), c.now + int64(time.Second) - int64(binary.BigEndian.Uint16(op[2:4]))*int64(5*time.Millisecond)}
			if monotonic {
				tr.nonce = int64(binary.BigEndian.Uint16(op[2:4]))
			}
			if op[5]&1 == 1 && len(log) > 0 {
				tr = log[int(op[5]>>1)%len(log)] // a repeat
				monotonic = tr.nonce < wallClockFloor
				newRules = newRules && !monotonic
			}
			log = append(log, tr)
			live := 0
			for e := range accepted {
				if e.nonce > c.horizon() {
					live++
				}
			}
			window := c.window(timeout)
			err := c.check(s, tr.key, tr.nonce, newRules, timeout)
			switch {
			case monotonic:
			case err == nil && accepted[tr]:
				t.Fatalf("%+v accepted twice", tr)
			case err == nil && newRules && tr.nonce <= window:
				t.Fatalf("%+v accepted at or below its window %d", tr, window)
			case err != nil && newRules && !accepted[tr] && tr.nonce > window && live < max:
				t.Fatalf("unseen %+v inside its window refused with %d of %d remembered: %v", tr, live, max, err)
			case err == nil:
				accepted[tr] = true
			}
			if n := s.size(); n > max {
				t.Fatalf("%d nonces remembered; want at most %d", n, max)
			}
		}
	})
}
