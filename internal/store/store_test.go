package store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"
)

var t0 = time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)

func openTest(t testing.TB, path string) *Store {
	t.Helper()
	s, err := Open(context.Background(), path, WithClock(func() time.Time { return t0 }))
	if err != nil {
		t.Fatalf("Open(%q): %v", path, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func newTestStore(t testing.TB) *Store {
	t.Helper()
	return openTest(t, filepath.Join(t.TempDir(), "validator.db"))
}

func versions(t *testing.T, s *Store) []int {
	t.Helper()
	rows, err := s.r.Query(`SELECT version FROM schema_version ORDER BY version`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var vs []int
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			t.Fatal(err)
		}
		vs = append(vs, v)
	}
	return vs
}

func TestOpenMigratesAndReopens(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "a", "b", "validator.db")
	want := SchemaVersion()
	for i := range 3 {
		s, err := Open(ctx, path)
		if err != nil {
			t.Fatalf("open #%d: %v", i, err)
		}
		vs := versions(t, s)
		if len(vs) != want || vs[len(vs)-1] != want {
			t.Errorf("open #%d: schema versions %v; want 1..%d once each", i, vs, want)
		}
		for _, table := range []string{"miner", "challenge_details", "miner_details", "allocation", "penalty", "meta"} {
			var n int
			if err := s.r.QueryRow(`SELECT COUNT(*) FROM sqlite_schema WHERE type = 'table' AND name = ?`, table).Scan(&n); err != nil || n != 1 {
				t.Errorf("open #%d: table %s: n=%d err=%v", i, table, n, err)
			}
		}
		var mode string
		if err := s.r.QueryRow(`PRAGMA journal_mode`).Scan(&mode); err != nil || mode != "wal" {
			t.Errorf("journal_mode = %q, %v; want wal", mode, err)
		}
		var fk int
		if err := s.w.QueryRow(`PRAGMA foreign_keys`).Scan(&fk); err != nil || fk != 1 {
			t.Errorf("foreign_keys = %d, %v; want 1", fk, err)
		}
		if err := s.Close(); err != nil {
			t.Fatalf("close #%d: %v", i, err)
		}
		if err := s.Close(); err != nil {
			t.Errorf("second close: %v", err)
		}
	}
}

func TestOpenRefusesNewerSchema(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "validator.db")
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.w.Exec(`INSERT INTO schema_version (version, applied_at) VALUES (?, 0)`, SchemaVersion()+1); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = Open(ctx, path)
	if !errors.Is(err, ErrSchemaTooNew) {
		if s != nil {
			s.Close()
		}
		t.Fatalf("Open of a newer database: err = %v; want ErrSchemaTooNew", err)
	}
	t.Log(err)
}

func TestOpenRejectsBadPath(t *testing.T) {
	for _, p := range []string{"", ":memory:", "file:x.db", "x.db?mode=ro"} {
		if _, err := Open(context.Background(), p); !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("Open(%q): err = %v; want ErrInvalidArgument", p, err)
		}
	}
}

func TestFileModes(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	path := filepath.Join(dir, "validator.db")
	s := openTest(t, path)
	if err := s.SetMeta(context.Background(), "k", "v"); err != nil {
		t.Fatal(err)
	}
	check := func(p string, want os.FileMode) {
		t.Helper()
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got != want {
			t.Errorf("mode of %s = %o; want %o", filepath.Base(p), got, want)
		}
	}
	check(dir, 0o700)
	check(path, 0o600)
	check(path+"-wal", 0o600)
	check(path+"-shm", 0o600)

	// An existing file with loose permissions is tightened.
	loose := filepath.Join(t.TempDir(), "loose.db")
	if err := os.WriteFile(loose, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(loose, 0o644); err != nil {
		t.Fatal(err)
	}
	openTest(t, loose)
	check(loose, 0o600)
}

func TestSyncMiners(t *testing.T) {
	ctx := context.Background()
	type step struct {
		miners     []Miner
		wantPurged []string
		wantErr    error
	}
	tests := []struct {
		name  string
		steps []step
		// hotkeys whose challenge/specs/allocation rows must remain
		keep []string
		gone []string
		want []Miner
	}{
		{
			name: "unchanged does not purge",
			steps: []step{
				{miners: []Miner{{0, "A"}, {1, "B"}}},
				{miners: []Miner{{0, "A"}, {1, "B"}}},
				{miners: []Miner{{1, "B"}}}, // partial sync leaves uid 0 alone
			},
			keep: []string{"A", "B"},
			want: []Miner{{0, "A"}, {1, "B"}},
		},
		{
			name: "hotkey change purges old hotkey",
			steps: []step{
				{miners: []Miner{{0, "A"}, {1, "B"}}},
				{miners: []Miner{{0, "A"}, {1, "C"}}, wantPurged: []string{"B"}},
			},
			keep: []string{"A"},
			gone: []string{"B"},
			want: []Miner{{0, "A"}, {1, "C"}},
		},
		{
			name: "hotkey moved to another uid is kept",
			steps: []step{
				{miners: []Miner{{0, "A"}, {1, "B"}}},
				{miners: []Miner{{0, "C"}, {1, "A"}}, wantPurged: []string{"B"}},
			},
			keep: []string{"A"},
			gone: []string{"B"},
			want: []Miner{{0, "C"}, {1, "A"}},
		},
		{
			name: "invalid input changes nothing",
			steps: []step{
				{miners: []Miner{{0, "A"}, {1, "B"}}},
				{miners: []Miner{{0, "X"}, {0, "Y"}}, wantErr: ErrInvalidArgument},
				{miners: []Miner{{1, "X"}, {0, ""}}, wantErr: ErrInvalidArgument},
			},
			keep: []string{"A", "B"},
			want: []Miner{{0, "A"}, {1, "B"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newTestStore(t)
			for _, h := range []string{"A", "B"} {
				if err := s.AddChallenges(ctx, []Challenge{{Hotkey: h, Success: true, Difficulty: 7}}); err != nil {
					t.Fatal(err)
				}
				if err := s.SetSpecs(ctx, h, `{"cpu":{"count":4}}`); err != nil {
					t.Fatal(err)
				}
				if err := s.SetAllocation(ctx, h, `{}`, time.Time{}); err != nil {
					t.Fatal(err)
				}
				if err := s.AddPenalty(ctx, h, "test"); err != nil {
					t.Fatal(err)
				}
			}
			for i, st := range tt.steps {
				purged, err := s.SyncMiners(ctx, st.miners)
				if !errors.Is(err, st.wantErr) {
					t.Fatalf("step %d: err = %v; want %v", i, err, st.wantErr)
				}
				if !equal(purged, st.wantPurged) {
					t.Errorf("step %d: purged = %q; want %q", i, purged, st.wantPurged)
				}
			}
			got, err := s.Miners(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if !equal(got, tt.want) {
				t.Errorf("Miners = %v; want %v", got, tt.want)
			}
			alloc, err := s.Allocated(ctx)
			if err != nil {
				t.Fatal(err)
			}
			pen, err := s.Penalties(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for _, h := range append(append([]string{}, tt.keep...), tt.gone...) {
				kept := contains(tt.keep, h)
				st, err := s.Stats(ctx, h, 12*time.Hour, t0)
				if err != nil {
					t.Fatal(err)
				}
				if got := st.Attempts == 1; got != kept {
					t.Errorf("%s: challenges kept = %v; want %v", h, got, kept)
				}
				_, _, err = s.Specs(ctx, h)
				if got := err == nil; got != kept {
					t.Errorf("%s: specs kept = %v (err %v); want %v", h, got, err, kept)
				}
				if !kept && !errors.Is(err, ErrNotFound) {
					t.Errorf("%s: Specs err = %v; want ErrNotFound", h, err)
				}
				if alloc[h] != kept {
					t.Errorf("%s: allocation kept = %v; want %v", h, alloc[h], kept)
				}
				if _, ok := pen[h]; !ok {
					t.Errorf("%s: penalty purged; penalties must survive deregistration", h)
				}
			}
		})
	}
}

func equal[T comparable](a, b []T) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

// writeState writes one of everything; checkState verifies it.
func writeState(t *testing.T, s *Store) {
	t.Helper()
	ctx := context.Background()
	if _, err := s.SyncMiners(ctx, []Miner{{3, "H3"}}); err != nil {
		t.Fatal(err)
	}
	if err := s.AddChallenges(ctx, []Challenge{
		{UID: 3, Hotkey: "H3", Success: true, ElapsedSeconds: 2.5, Difficulty: 7, CreatedAt: t0.Add(-time.Minute)},
		{UID: 3, Hotkey: "H3", Success: false, Difficulty: 8, Error: "timeout", CreatedAt: t0},
	}); err != nil {
		t.Fatal(err)
	}
	if err := s.SetSpecs(ctx, "H3", `{"gpu":{"count":1}}`); err != nil {
		t.Fatal(err)
	}
	if err := s.SetMeta(ctx, "last_weights_block", "12345"); err != nil {
		t.Fatal(err)
	}
}

func checkState(t *testing.T, s *Store) {
	t.Helper()
	ctx := context.Background()
	m, err := s.Miners(ctx)
	if err != nil || !equal(m, []Miner{{3, "H3"}}) {
		t.Errorf("Miners = %v, %v", m, err)
	}
	st, err := s.Stats(ctx, "H3", 12*time.Hour, t0)
	want := Stats{Attempts: 2, Successes: 1, AvgDifficultyLast20: 7.5, AvgElapsedSeconds: 2.5, FailedLast20: 1,
		AvgDifficultyLast20Successes: 7, LastDifficulty: 8}
	if err != nil || st != want {
		t.Errorf("Stats = %+v, %v; want %+v", st, err, want)
	}
	j, _, err := s.Specs(ctx, "H3")
	if err != nil || j != `{"gpu":{"count":1}}` {
		t.Errorf("Specs = %q, %v", j, err)
	}
	v, ok, err := s.Meta(ctx, "last_weights_block")
	if err != nil || !ok || v != "12345" {
		t.Errorf("Meta = %q, %v, %v", v, ok, err)
	}
}

func TestReopenKeepsData(t *testing.T) {
	path := filepath.Join(t.TempDir(), "validator.db")
	s, err := Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	writeState(t, s)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(path + "-wal"); err == nil && fi.Size() != 0 {
		t.Errorf("WAL not checkpointed on Close: %d bytes", fi.Size())
	}
	checkState(t, openTest(t, path))
}

// TestCrashKeepsCommitted kills a process that wrote to the store without
// closing it, then checks that everything it committed is there.
func TestCrashKeepsCommitted(t *testing.T) {
	if path := os.Getenv("STORE_CRASH_DB"); path != "" {
		s, err := Open(context.Background(), path)
		if err != nil {
			t.Fatal(err)
		}
		writeState(t, s)
		syscall.Kill(os.Getpid(), syscall.SIGKILL)
		select {}
	}
	path := filepath.Join(t.TempDir(), "validator.db")
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashKeepsCommitted$")
	cmd.Env = append(os.Environ(), "STORE_CRASH_DB="+path)
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("child: err = %v; want killed by SIGKILL\n%s", err, out)
	}
	if fi, err := os.Stat(path + "-wal"); err != nil || fi.Size() == 0 {
		t.Logf("WAL after crash: %v", err) // committed pages are expected in the WAL
	}
	checkState(t, openTest(t, path))
}

func TestPrune(t *testing.T) {
	ctx := context.Background()
	s := newTestStore(t)
	var cs []Challenge
	for i := range 12000 { // more than two prune batches
		cs = append(cs, Challenge{Hotkey: "H", Success: true, Difficulty: 5, CreatedAt: t0.Add(-time.Duration(i) * time.Minute)})
	}
	if err := s.AddChallenges(ctx, cs); err != nil {
		t.Fatal(err)
	}
	before := t0.Add(-10000 * time.Minute)
	// Rows at -10000 min are kept (strictly before is deleted): 0..10000 kept.
	n, err := s.Prune(ctx, before)
	if err != nil {
		t.Fatal(err)
	}
	if n != 12000-10001 {
		t.Errorf("Prune deleted %d; want %d", n, 12000-10001)
	}
	st, err := s.Stats(ctx, "H", 24*365*time.Hour, t0)
	if err != nil || st.Attempts != 10001 {
		t.Errorf("Attempts after prune = %d, %v; want 10001", st.Attempts, err)
	}
	if n, err := s.Prune(ctx, before); err != nil || n != 0 {
		t.Errorf("second Prune = %d, %v; want 0", n, err)
	}
}

func TestSpecs(t *testing.T) {
	ctx := context.Background()
	s := newTestStore(t)
	if _, _, err := s.Specs(ctx, "H"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Specs of unknown: err = %v; want ErrNotFound", err)
	}
	if err := s.SetSpecs(ctx, "H", `not json`); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("SetSpecs(bad json): err = %v; want ErrInvalidArgument", err)
	}
	steps := []struct {
		name      string
		do        func() error
		wantJSON  string
		wantCount int
	}{
		{"set", func() error { return s.SetSpecs(ctx, "H", `{"cpu":{"count":8}}`) }, `{"cpu":{"count":8}}`, 0},
		{"miss 1", func() error { return s.MarkNoSpecs(ctx, "H") }, `{"cpu":{"count":8}}`, 1},
		{"miss 2", func() error { return s.MarkNoSpecs(ctx, "H") }, `{"cpu":{"count":8}}`, 2},
		{"answer resets", func() error { return s.SetSpecs(ctx, "H", `{"cpu":{"count":16}}`) }, `{"cpu":{"count":16}}`, 0},
		{"miss to 19", func() error {
			for range 19 {
				if err := s.MarkNoSpecs(ctx, "H"); err != nil {
					return err
				}
			}
			return nil
		}, `{"cpu":{"count":16}}`, 19},
		{"20th miss clears", func() error { return s.MarkNoSpecs(ctx, "H") }, `{}`, MaxNoSpecsCount},
		{"capped", func() error { return s.MarkNoSpecs(ctx, "H") }, `{}`, MaxNoSpecsCount},
		{"new hotkey miss", func() error { return s.MarkNoSpecs(ctx, "N") }, ``, 0},
	}
	for _, st := range steps {
		if err := st.do(); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if st.wantJSON == "" {
			continue
		}
		j, n, err := s.Specs(ctx, "H")
		if err != nil || j != st.wantJSON || n != st.wantCount {
			t.Errorf("%s: Specs = %q, %d, %v; want %q, %d", st.name, j, n, err, st.wantJSON, st.wantCount)
		}
	}
	if j, n, err := s.Specs(ctx, "N"); err != nil || j != `{}` || n != 1 {
		t.Errorf("Specs(N) = %q, %d, %v; want {}, 1", j, n, err)
	}
}

func TestAllocations(t *testing.T) {
	ctx := context.Background()
	s := newTestStore(t)
	for _, h := range []string{"A", "B", "C"} {
		if err := s.SetAllocation(ctx, h, `{"ssh_port":4444}`, time.Time{}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.SetAllocation(ctx, "A", `{"ssh_port":4445}`, time.Time{}); err != nil {
		t.Fatal(err)
	}
	if err := s.SetAllocation(ctx, "D", `{`, time.Time{}); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("SetAllocation(bad json): err = %v", err)
	}
	for _, h := range []string{"B", "B", "Z"} { // idempotent, unknown is fine
		if err := s.DeleteAllocation(ctx, h); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.Allocated(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || !got["A"] || !got["C"] {
		t.Errorf("Allocated = %v; want A, C", got)
	}
	var details string
	if err := s.r.QueryRow(`SELECT details FROM allocation WHERE hotkey = 'A'`).Scan(&details); err != nil || details != `{"ssh_port":4445}` {
		t.Errorf("details of A = %q, %v", details, err)
	}
}

func TestPenalties(t *testing.T) {
	ctx := context.Background()
	s := newTestStore(t)
	for _, p := range [][2]string{{"A", "exploit"}, {"B", "spam"}, {"A", "exploit again"}} {
		if err := s.AddPenalty(ctx, p[0], p[1]); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.RemovePenalty(ctx, "B"); err != nil {
		t.Fatal(err)
	}
	if err := s.RemovePenalty(ctx, "nobody"); err != nil {
		t.Fatal(err)
	}
	got, err := s.Penalties(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got["A"] != "exploit again" {
		t.Errorf("Penalties = %v; want A: exploit again", got)
	}
}

func TestMeta(t *testing.T) {
	ctx := context.Background()
	s := newTestStore(t)
	if v, ok, err := s.Meta(ctx, "k"); err != nil || ok || v != "" {
		t.Errorf("Meta(missing) = %q, %v, %v", v, ok, err)
	}
	for _, v := range []string{"1", "", "3"} {
		if err := s.SetMeta(ctx, "k", v); err != nil {
			t.Fatal(err)
		}
		if got, ok, err := s.Meta(ctx, "k"); err != nil || !ok || got != v {
			t.Errorf("Meta = %q, %v, %v; want %q", got, ok, err, v)
		}
	}
}

// TestConcurrentUse writes and reads from many goroutines (run with -race).
func TestConcurrentUse(t *testing.T) {
	ctx := context.Background()
	s := newTestStore(t)
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 20 {
				h := string(rune('A' + g))
				if err := s.AddChallenges(ctx, []Challenge{{UID: uint16(g), Hotkey: h, Success: i%2 == 0, Difficulty: i}}); err != nil {
					errs <- err
					return
				}
				if err := s.SetMeta(ctx, h, "x"); err != nil {
					errs <- err
					return
				}
				if _, err := s.AllStats(ctx, time.Hour, t0); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	all, err := s.AllStats(ctx, time.Hour, t0)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 8 {
		t.Fatalf("AllStats has %d hotkeys; want 8", len(all))
	}
	for h, st := range all {
		if st.Attempts != 20 || st.Successes != 10 {
			t.Errorf("%s: %+v; want 20 attempts, 10 successes", h, st)
		}
	}
}

func TestAddChallengesValidates(t *testing.T) {
	ctx := context.Background()
	s := newTestStore(t)
	err := s.AddChallenges(ctx, []Challenge{{Hotkey: "A"}, {Hotkey: ""}})
	if !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("err = %v; want ErrInvalidArgument", err)
	}
	all, err := s.AllStats(ctx, time.Hour, t0)
	if err != nil || len(all) != 0 {
		t.Errorf("AllStats after rejected round = %v, %v; want empty", all, err)
	}
	if err := s.AddChallenges(ctx, nil); err != nil {
		t.Errorf("AddChallenges(nil) = %v", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := s.AddChallenges(cctx, []Challenge{{Hotkey: "A"}}); !errors.Is(err, context.Canceled) {
		t.Errorf("AddChallenges(cancelled) = %v; want context.Canceled", err)
	}
}

func TestAllocationDeadlineAndEnd(t *testing.T) {
	ctx := context.Background()
	now := t0
	s, err := Open(ctx, filepath.Join(t.TempDir(), "validator.db"), WithClock(func() time.Time { return now }))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.SetAllocation(ctx, "A", `{}`, t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := s.SetAllocation(ctx, "B", `{}`, t0.Add(2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := s.SetAllocation(ctx, "C", `{}`, time.Time{}); err != nil {
		t.Fatal(err)
	}
	now = t0.Add(time.Hour) // A's deadline: it stops counting at once
	got, err := s.Allocated(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || !got["B"] || !got["C"] {
		t.Errorf("Allocated at A's deadline = %v; want B, C", got)
	}
	rows, err := s.Allocations(ctx)
	if err != nil || len(rows) != 3 || !rows[0].Deadline.Equal(t0.Add(time.Hour)) || !rows[2].Deadline.IsZero() {
		t.Fatalf("Allocations = %+v, %v; want all three with their deadlines", rows, err)
	}
	if ended, err := s.EndAllocation(ctx, "A", "expired"); err != nil || !ended {
		t.Fatalf("EndAllocation(A) = %v, %v", ended, err)
	}
	if ended, err := s.EndAllocation(ctx, "A", "miner_lost"); err != nil || ended {
		t.Fatalf("second EndAllocation(A) = %v, %v; want false (nothing to end, reason kept)", ended, err)
	}
	if r, at, ok, err := s.AllocationEnded(ctx, "A"); err != nil || !ok || r != "expired" || !at.Equal(now) {
		t.Errorf("AllocationEnded(A) = %q %v %v %v; want expired at %v", r, at, ok, err, now)
	}
	if err := s.DeleteAllocation(ctx, "B"); err != nil {
		t.Fatal(err)
	}
	if r, _, ok, _ := s.AllocationEnded(ctx, "B"); !ok || r != "deallocated" {
		t.Errorf("AllocationEnded(B) = %q %v; want deallocated", r, ok)
	}
	if _, _, ok, _ := s.AllocationEnded(ctx, "Z"); ok {
		t.Error("AllocationEnded(Z) found a reason for a hotkey never allocated")
	}
	if _, err := s.EndAllocation(ctx, "C", ""); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("EndAllocation without reason: err = %v", err)
	}
}

// A version-1 database keeps its allocations and gets their deadlines from
// the details JSON.
func TestMigrationBackfillsDeadline(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "validator.db")
	all := migrations
	migrations = all[:1]
	s, err := Open(ctx, path)
	if err != nil {
		migrations = all
		t.Fatal(err)
	}
	_, err = s.w.Exec(`INSERT INTO allocation (hotkey, details, created_at) VALUES
		('A', '{"deadline":"2025-01-01T13:00:00.123456789Z"}', 1), ('B', '{"port":1}', 1)`)
	s.Close()
	migrations = all
	if err != nil {
		t.Fatal(err)
	}
	s = openTest(t, path)
	rows, err := s.Allocations(ctx)
	if err != nil || len(rows) != 2 {
		t.Fatalf("Allocations = %+v, %v", rows, err)
	}
	if want := time.Date(2025, 1, 1, 13, 0, 0, 0, time.UTC); !rows[0].Deadline.Equal(want) || !rows[1].Deadline.IsZero() {
		t.Errorf("deadlines = %v, %v; want %v and none", rows[0].Deadline, rows[1].Deadline, want)
	}
}

func TestVerdicts(t *testing.T) {
	ctx := context.Background()
	s := newTestStore(t)
	for i := range VerdictsKept + 5 {
		if err := s.AddVerdict(ctx, "5A", uint64(i), i%2 == 0, fmt.Sprintf(`{"block":%d}`, i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.AddVerdict(ctx, "5B", 7, true, `{"block":7,"b":1}`); err != nil {
		t.Fatal(err)
	}
	if err := s.AddVerdict(ctx, "5B", 7, true, `not json`); err == nil {
		t.Fatal("invalid JSON stored")
	}
	a, err := s.Verdicts(ctx, "5A", 0)
	if err != nil || len(a) != VerdictsKept || a[0] != fmt.Sprintf(`{"block":%d}`, VerdictsKept+4) {
		t.Fatalf("verdicts of 5A: %d %v, first %q", len(a), err, a[0])
	}
	all, _ := s.Verdicts(ctx, "", 2)
	if len(all) != 2 || all[0] != `{"block":7,"b":1}` {
		t.Fatalf("newest two: %q", all)
	}
	latest, err := s.LatestVerdicts(ctx)
	if err != nil || len(latest) != 2 || latest["5B"] != `{"block":7,"b":1}` || latest["5A"] != a[0] {
		t.Fatalf("latest %v %v", latest, err)
	}
}

func TestMetaPrefixAndDelete(t *testing.T) {
	ctx := context.Background()
	s := newTestStore(t)
	for _, k := range []string{"pog_alloc:5A", "pog_alloc:5B", "pog_allocX", "other", "pog_%:x"} {
		if err := s.SetMeta(ctx, k, "v-"+k); err != nil {
			t.Fatal(err)
		}
	}
	m, err := s.MetaPrefix(ctx, "pog_alloc:")
	if err != nil || len(m) != 2 || m["pog_alloc:5B"] != "v-pog_alloc:5B" {
		t.Fatalf("prefix: %v %v", m, err)
	}
	if m, _ := s.MetaPrefix(ctx, "pog_%"); len(m) != 1 {
		t.Fatalf("a LIKE wildcard in the prefix matched %v", m)
	}
	if err := s.DeleteMeta(ctx, "pog_alloc:5A"); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := s.Meta(ctx, "pog_alloc:5A"); ok {
		t.Fatal("deleted key still there")
	}
}
