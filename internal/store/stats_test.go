package store

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"testing"
	"time"
)

const window = 12 * time.Hour

func TestStats(t *testing.T) {
	ctx := context.Background()
	ago := func(i int) time.Time { return t0.Add(-time.Duration(i) * time.Minute) }
	// thirty: challenges i = 0..29, i minutes old, difficulty i+1, elapsed i,
	// failed when i%4 == 0; inserted oldest-last so that insertion order is
	// not time order.
	var thirty []Challenge
	for i := range 30 {
		thirty = append(thirty, Challenge{Hotkey: "H", Success: i%4 != 0, Difficulty: i + 1, ElapsedSeconds: float64(i), CreatedAt: ago(i)})
	}
	// ties: 21 challenges at the same instant; the first inserted (oldest by
	// insertion order) is the only failure.
	ties := []Challenge{{Hotkey: "H", Success: false, Difficulty: 100, CreatedAt: t0}}
	for range 20 {
		ties = append(ties, Challenge{Hotkey: "H", Success: true, Difficulty: 5, ElapsedSeconds: 3, CreatedAt: t0})
	}
	tests := []struct {
		name string
		rows []Challenge
		want Stats
	}{
		{name: "no rows", want: Stats{}},
		{
			name: "window boundary",
			rows: []Challenge{
				{Hotkey: "H", Success: true, ElapsedSeconds: 100, Difficulty: 4, CreatedAt: t0.Add(-window - 1)}, // just outside
				{Hotkey: "H", Success: true, ElapsedSeconds: 10, Difficulty: 6, CreatedAt: t0.Add(-window)},      // first instant inside
				{Hotkey: "H", Success: false, ElapsedSeconds: 60, Difficulty: 8, CreatedAt: t0},                  // last instant inside
				{Hotkey: "H", Success: true, ElapsedSeconds: 1, Difficulty: 10, CreatedAt: t0.Add(1)},            // future: ignored
			},
			want: Stats{Attempts: 2, Successes: 1, AvgElapsedSeconds: 10, FailedLast20: 1,
				AvgDifficultyLast20: (4 + 6 + 8) / 3.0, AvgDifficultyLast20Successes: (4 + 6) / 2.0, LastDifficulty: 8},
		},
		{
			name: "last 20 ordering",
			rows: reversed(thirty),
			want: Stats{
				Attempts: 30, Successes: 22,
				// successes i ∈ 0..29, i%4 != 0: Σi = 435 − (0+4+…+28) = 435 − 112 = 323
				AvgElapsedSeconds: 323.0 / 22,
				// newest 20 are i = 0..19: failures 0,4,8,12,16; difficulties 1..20
				FailedLast20: 5, AvgDifficultyLast20: 10.5,
				// newest 20 successes: i = 1,2,3,5,6,7,…,21,22,23,25,26 (Σi = 267), difficulty i+1
				AvgDifficultyLast20Successes: (267 + 20) / 20.0,
				LastDifficulty:               1,
			},
		},
		{
			name: "ties broken by insertion order",
			rows: ties,
			want: Stats{Attempts: 21, Successes: 20, AvgElapsedSeconds: 3, FailedLast20: 0,
				AvgDifficultyLast20: 5, AvgDifficultyLast20Successes: 5, LastDifficulty: 5},
		},
		{
			name: "all failed",
			rows: []Challenge{
				{Hotkey: "H", Difficulty: 5, ElapsedSeconds: 60, Error: "timeout", CreatedAt: ago(30)},
				{Hotkey: "H", Difficulty: 7, ElapsedSeconds: 60, Error: "wrong password", CreatedAt: ago(10)},
				{Hotkey: "H", Difficulty: 6, ElapsedSeconds: 60, Error: "timeout", CreatedAt: ago(20)},
			},
			want: Stats{Attempts: 3, FailedLast20: 3, AvgDifficultyLast20: 6, LastDifficulty: 7},
		},
		{
			name: "history older than the window",
			rows: []Challenge{
				{Hotkey: "H", Success: true, Difficulty: 9, ElapsedSeconds: 5, CreatedAt: t0.Add(-48 * time.Hour)},
				{Hotkey: "H", Success: false, Difficulty: 10, CreatedAt: t0.Add(-13 * time.Hour)},
			},
			want: Stats{FailedLast20: 1, AvgDifficultyLast20: 9.5, AvgDifficultyLast20Successes: 9, LastDifficulty: 10},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newTestStore(t)
			// Another hotkey's rows, interleaved, must not leak into H's stats.
			var rows []Challenge
			for i, c := range tt.rows {
				rows = append(rows, c, Challenge{Hotkey: "other", Success: i%2 == 0, Difficulty: 50, ElapsedSeconds: 99, CreatedAt: c.CreatedAt})
			}
			if err := s.AddChallenges(ctx, rows); err != nil {
				t.Fatal(err)
			}
			got, err := s.Stats(ctx, "H", window, t0)
			if err != nil {
				t.Fatal(err)
			}
			if !statsEqual(got, tt.want) {
				t.Errorf("Stats = %+v\nwant    %+v", got, tt.want)
			}
			all, err := s.AllStats(ctx, window, t0)
			if err != nil {
				t.Fatal(err)
			}
			if !statsEqual(all["H"], got) {
				t.Errorf("AllStats[H] = %+v; Stats = %+v", all["H"], got)
			}
		})
	}
}

func TestStatsRejectsWindow(t *testing.T) {
	s := newTestStore(t)
	if _, err := s.Stats(context.Background(), "H", 0, t0); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("Stats(window 0): err = %v", err)
	}
	if _, err := s.AllStats(context.Background(), -time.Hour, t0); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("AllStats(window -1h): err = %v", err)
	}
}

func reversed(cs []Challenge) []Challenge {
	out := make([]Challenge, len(cs))
	for i, c := range cs {
		out[len(cs)-1-i] = c
	}
	return out
}

func statsEqual(a, b Stats) bool {
	close := func(x, y float64) bool { return math.Abs(x-y) <= 1e-9*math.Max(1, math.Abs(y)) }
	return a.Attempts == b.Attempts && a.Successes == b.Successes && a.FailedLast20 == b.FailedLast20 &&
		a.LastDifficulty == b.LastDifficulty && close(a.AvgDifficultyLast20, b.AvgDifficultyLast20) &&
		close(a.AvgElapsedSeconds, b.AvgElapsedSeconds) && close(a.AvgDifficultyLast20Successes, b.AvgDifficultyLast20Successes)
}

// referenceStats computes Stats in Go from rows in insertion order, as the
// oracle for the SQL.
func referenceStats(rows []Challenge, hotkey string, window time.Duration, now time.Time) Stats {
	type row struct {
		Challenge
		id int
	}
	var mine []row
	for i, c := range rows {
		if c.Hotkey == hotkey && !c.CreatedAt.After(now) {
			mine = append(mine, row{c, i})
		}
	}
	sort.Slice(mine, func(i, j int) bool {
		if !mine[i].CreatedAt.Equal(mine[j].CreatedAt) {
			return mine[i].CreatedAt.After(mine[j].CreatedAt)
		}
		return mine[i].id > mine[j].id
	})
	var st Stats
	var elapsed, diff, diffS float64
	var nDiff, nDiffS int
	start := now.Add(-window)
	for i, r := range mine {
		if !r.CreatedAt.Before(start) {
			st.Attempts++
			if r.Success {
				st.Successes++
				elapsed += r.ElapsedSeconds
			}
		}
		if i < Last {
			diff += float64(r.Difficulty)
			nDiff++
			if !r.Success {
				st.FailedLast20++
			}
		}
		if r.Success && nDiffS < Last {
			diffS += float64(r.Difficulty)
			nDiffS++
		}
	}
	if len(mine) > 0 {
		st.LastDifficulty = mine[0].Difficulty
	}
	if st.Successes > 0 {
		st.AvgElapsedSeconds = elapsed / float64(st.Successes)
	}
	if nDiff > 0 {
		st.AvgDifficultyLast20 = diff / float64(nDiff)
	}
	if nDiffS > 0 {
		st.AvgDifficultyLast20Successes = diffS / float64(nDiffS)
	}
	return st
}

func TestAllStatsEqualsStats(t *testing.T) {
	ctx := context.Background()
	s := newTestStore(t)
	rng := rand.New(rand.NewPCG(27, 1))
	var rows []Challenge
	hotkeys := map[string]bool{}
	for round := range 60 {
		var batch []Challenge
		for m := range 12 {
			if rng.IntN(4) == 0 {
				continue
			}
			h := fmt.Sprintf("hk%02d", m)
			// Rounds every 20 min up to 20 h back, with coarse jitter to make ties.
			at := t0.Add(-time.Duration(round)*20*time.Minute + time.Duration(rng.IntN(3))*time.Minute)
			batch = append(batch, Challenge{UID: uint16(m), Hotkey: h, Success: rng.IntN(3) != 0,
				ElapsedSeconds: float64(rng.IntN(600)) / 10, Difficulty: 4 + rng.IntN(6), CreatedAt: at})
			if !at.After(t0) {
				hotkeys[h] = true
			}
		}
		if err := s.AddChallenges(ctx, batch); err != nil {
			t.Fatal(err)
		}
		rows = append(rows, batch...)
	}
	for _, w := range []time.Duration{time.Hour, window, 100 * time.Hour} {
		all, err := s.AllStats(ctx, w, t0)
		if err != nil {
			t.Fatal(err)
		}
		if len(all) != len(hotkeys) {
			t.Errorf("window %v: AllStats has %d hotkeys; want %d", w, len(all), len(hotkeys))
		}
		for h := range hotkeys {
			one, err := s.Stats(ctx, h, w, t0)
			if err != nil {
				t.Fatal(err)
			}
			if !statsEqual(all[h], one) {
				t.Errorf("window %v, %s: AllStats = %+v; Stats = %+v", w, h, all[h], one)
			}
			if want := referenceStats(rows, h, w, t0); !statsEqual(one, want) {
				t.Errorf("window %v, %s: Stats = %+v; reference = %+v", w, h, one, want)
			}
		}
	}
}
