package validator

import (
	"strings"
	"testing"
)

// TestQuiesce: a validator is quiet only between rounds with no proof of
// GPU running; once quiet it starts no round until Resume.
func TestQuiesce(t *testing.T) {
	v := &Validator{round: make(chan struct{}, 1), pog: &pogState{inflight: map[string]bool{}}}
	v.round <- struct{}{} // Run is in a block's work
	if ok, why := v.Quiesce(); ok || !strings.Contains(why, "round is running") {
		t.Errorf("Quiesce mid-round = %v, %q", ok, why)
	}
	<-v.round // the round ends
	v.pog.inflight["5Miner"] = true
	if ok, why := v.Quiesce(); ok || !strings.Contains(why, "1 proof(s) of GPU running") {
		t.Errorf("Quiesce with a proof running = %v, %q", ok, why)
	}
	select {
	case v.round <- struct{}{}: // a busy Quiesce holds nothing
		<-v.round
	default:
		t.Fatal("a refused Quiesce kept the round")
	}
	delete(v.pog.inflight, "5Miner")
	if ok, why := v.Quiesce(); !ok {
		t.Fatalf("Quiesce when idle = false, %q", why)
	}
	select {
	case v.round <- struct{}{}:
		t.Fatal("a round could start after Quiesce")
	default:
	}
	v.Resume()
	select {
	case v.round <- struct{}{}:
	default:
		t.Fatal("no round can start after Resume")
	}
}
