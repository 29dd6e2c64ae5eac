package axon

import (
	"testing"
	"time"
)

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
