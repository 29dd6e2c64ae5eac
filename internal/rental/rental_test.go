package rental

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sn27/sn27/internal/dendrite"
	"github.com/sn27/sn27/internal/keys"
	"github.com/sn27/sn27/internal/protocol"
	"github.com/sn27/sn27/internal/store"
)

// fakeMiners answers checking requests by hotkey.
type fakeMiners map[keys.Hotkey]string // output JSON; "" unreachable

func (f fakeMiners) Call(_ context.Context, t dendrite.Target, m protocol.Message, _ time.Duration) error {
	out := f[t.Hotkey]
	if out == "" {
		return errors.New("connection refused")
	}
	a := m.(*protocol.Allocate)
	if !a.Checking || a.Timeline != 0 || a.PublicKey != "PEM-"+string(t.Hotkey) {
		return errors.New("not a checking request for this renter key")
	}
	a.Output = json.RawMessage(out)
	return nil
}

func TestReconcile(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "v.db"), store.WithClock(func() time.Time { return now }))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	add := func(hk string, deadline time.Time, withKey bool) {
		d := Details{Hotkey: hk, Deadline: deadline}
		if withKey {
			d.PublicKey = "PEM-" + hk
		}
		b, _ := json.Marshal(d)
		if err := st.SetAllocation(ctx, hk, string(b), deadline); err != nil {
			t.Fatal(err)
		}
	}
	later := now.Add(time.Hour)
	add("expired", now, true)
	add("lost", later, true)
	add("paused", later, true)
	add("python", later, true)
	add("pyfalse", later, true)
	add("unreachable", later, true)
	add("nokey", later, false)
	add("notarget", later, true)
	miners := fakeMiners{
		"expired": `{"status":true}`,
		"lost":    `{"status":false,"state":"none"}`,
		"pyfalse": `{"status":false}`,
		"paused":  `{"status":true,"state":"paused","deadline":"2026-01-01T01:00:00Z"}`,
		"python":  `{"status":true}`,
		"nokey":   `{"status":false}`,
	}
	targets := map[string]dendrite.Target{}
	for _, hk := range []string{"expired", "lost", "paused", "python", "pyfalse", "unreachable", "nokey"} {
		targets[hk] = dendrite.Target{IP: "127.0.0.1", Port: 1, Hotkey: keys.Hotkey(hk)}
	}
	ended, err := Reconciler{Store: st, Caller: miners}.Reconcile(ctx, targets, now)
	if err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(ended, func(a, b Ended) int { return strings.Compare(a.Hotkey, b.Hotkey) })
	want := []Ended{{"expired", ReasonExpired}, {"lost", ReasonMinerLost}}
	if !slices.Equal(ended, want) {
		t.Errorf("ended = %v; want %v", ended, want)
	}
	rows, _ := st.Allocations(ctx)
	var left []string
	for _, r := range rows {
		left = append(left, r.Hotkey)
	}
	if w := []string{"nokey", "notarget", "paused", "pyfalse", "python", "unreachable"}; !slices.Equal(left, w) {
		t.Errorf("rows left = %v; want %v", left, w)
	}
	for hk, reason := range map[string]string{"expired": ReasonExpired, "lost": ReasonMinerLost} {
		if r, _, ok, _ := st.AllocationEnded(ctx, hk); !ok || r != reason {
			t.Errorf("AllocationEnded(%s) = %q; want %q", hk, r, reason)
		}
	}
}

func TestParseCheck(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Status
		err  bool
	}{
		{`{"status":true}`, Status{Held: true}, false},
		{`{"status":false,"message":"x"}`, Status{}, false},
		{`{"status":false,"state":"none"}`, Status{State: "none"}, false},
		{`{"status":true,"state":"paused","deadline":"2026-01-01T01:00:00.5Z"}`, Status{Held: true, State: "paused", Deadline: time.Date(2026, 1, 1, 1, 0, 0, 5e8, time.UTC)}, false},
		{`{"status":true,"deadline":"soon"}`, Status{Held: true}, false},
		{`{"status":true,"state":"exited","reason":"disk_quota","disk_used":220,"disk_limit":200}`, Status{Held: true, State: "exited", Reason: "disk_quota", DiskUsed: 220, DiskLimit: 200}, false},
		{`{"status":true,"disk_used":-5,"disk_limit":200}`, Status{Held: true}, false},
		{`{"status":true,"disk_used":5,"disk_limit":9223372036854775807}`, Status{Held: true}, false},
		{`{"status":"yes"}`, Status{}, true},
		{`[`, Status{}, true},
	} {
		got, err := ParseCheck(json.RawMessage(tc.in))
		if (err != nil) != tc.err || got != tc.want {
			t.Errorf("ParseCheck(%s) = %+v, %v; want %+v (error %v)", tc.in, got, err, tc.want, tc.err)
		}
	}
}

func FuzzParseCheck(f *testing.F) {
	for _, s := range []string{`{"status":true,"state":"running","deadline":"2026-01-01T00:00:00Z"}`, `{}`, `null`, `{"status":1}`,
		`{"status":true,"state":"exited","reason":"disk_quota","disk_used":220,"disk_limit":200}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		st, err := ParseCheck(b)
		if err == nil && (len(st.State) > 32 || len(st.Reason) > 32) {
			t.Fatalf("state %q or reason %q longer than 32 bytes", st.State, st.Reason)
		}
		if err == nil && (st.DiskUsed < 0 || st.DiskLimit < 0 || (st.DiskUsed > 0 && st.DiskLimit == 0)) {
			t.Fatalf("disk figures %d / %d", st.DiskUsed, st.DiskLimit)
		}
	})
}
