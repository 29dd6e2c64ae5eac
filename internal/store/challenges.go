package store

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"time"
)

// Last is the number of most recent challenges the "last 20" statistics
// look at (v1.5.1).
const Last = 20

// pruneBatch bounds the rows one Prune transaction deletes, so a large prune
// does not hold the write lock for long.
const pruneBatch = 5000

// Challenge is the result of one proof-of-work challenge sent to a miner.
type Challenge struct {
	UID            uint16
	Hotkey         string
	Success        bool
	ElapsedSeconds float64
	Difficulty     int
	Error          string    // why it failed; empty on success
	CreatedAt      time.Time // zero means the store's clock at insertion
}

// Stats are the v1.5.1 challenge statistics of one hotkey at a time now.
// Only challenges created at or before now count. "Window" fields count
// challenges with now−window ≤ created_at ≤ now; "Last20" fields look at the
// 20 most recent challenges regardless of age (ties in created_at broken by
// insertion order), bounded only by what Prune has kept.
type Stats struct {
	Attempts  int // challenges in the window
	Successes int // successful challenges in the window
	// AvgDifficultyLast20 is the mean difficulty of the last 20 challenges,
	// successful or not; 0 without any.
	AvgDifficultyLast20 float64
	// AvgElapsedSeconds is the mean solve time of successes in the window;
	// 0 without any.
	AvgElapsedSeconds float64
	// FailedLast20 is the number of failures among the last 20 challenges.
	FailedLast20 int
	// AvgDifficultyLast20Successes is the mean difficulty of the last 20
	// successful challenges (the reference's last_20_difficulty_avg, the base
	// of difficulty adjustment and of the difficulty modifier); 0 without any.
	AvgDifficultyLast20Successes float64
	// LastDifficulty is the difficulty of the most recent challenge; 0
	// without any.
	LastDifficulty int
}

// AddChallenges stores one round of results in a single transaction: either
// all rows are committed or none.
func (s *Store) AddChallenges(ctx context.Context, cs []Challenge) error {
	if len(cs) == 0 {
		return nil
	}
	now := unixNano(s.now())
	for i, c := range cs {
		if err := checkHotkey(c.Hotkey); err != nil {
			return fmt.Errorf("add challenges: row %d: %w", i, err)
		}
		if math.IsNaN(c.ElapsedSeconds) || math.IsInf(c.ElapsedSeconds, 0) {
			return fmt.Errorf("add challenges: row %d: %w: elapsed %v", i, ErrInvalidArgument, c.ElapsedSeconds)
		}
	}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		st, err := tx.PrepareContext(ctx, `INSERT INTO challenge_details
	(uid, hotkey, success, elapsed_seconds, difficulty, error, created_at)
	VALUES (?, ?, ?, ?, ?, ?, ?)`)
		if err != nil {
			return err
		}
		defer st.Close()
		for _, c := range cs {
			at := now
			if !c.CreatedAt.IsZero() {
				at = unixNano(c.CreatedAt)
			}
			if _, err := st.ExecContext(ctx, c.UID, c.Hotkey, c.Success, c.ElapsedSeconds, c.Difficulty, c.Error, at); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("add challenges: %w", err)
	}
	return nil
}

// statsQuery computes Stats per hotkey. ?1 = now, ?2 = window start (both
// Unix ns), ?3 = hotkey when filtered. The window aggregates come from one
// grouped range scan; the last-20 figures from per-hotkey backward scans of
// the (hotkey, created_at) index, newest first, ties broken by id (insertion
// order), stopping after 20 rows.
const statsQuery = `
WITH h AS (SELECT DISTINCT hotkey FROM challenge_details WHERE created_at <= ?1 %[1]s),
w AS (
	SELECT hotkey,
		COUNT(*) AS attempts,
		SUM(success) AS successes,
		AVG(CASE WHEN success = 1 THEN elapsed_seconds END) AS avg_elapsed
	FROM challenge_details
	WHERE created_at BETWEEN ?2 AND ?1 %[1]s
	GROUP BY hotkey
)
SELECT h.hotkey,
	COALESCE(w.attempts, 0),
	COALESCE(w.successes, 0),
	(SELECT AVG(difficulty) FROM (
		SELECT c.difficulty FROM challenge_details c
		WHERE c.hotkey = h.hotkey AND c.created_at <= ?1
		ORDER BY c.created_at DESC, c.id DESC LIMIT %[2]d)),
	w.avg_elapsed,
	(SELECT COUNT(*) FROM (
		SELECT c.success FROM challenge_details c
		WHERE c.hotkey = h.hotkey AND c.created_at <= ?1
		ORDER BY c.created_at DESC, c.id DESC LIMIT %[2]d) WHERE success = 0),
	(SELECT AVG(difficulty) FROM (
		SELECT c.difficulty FROM challenge_details c
		WHERE c.hotkey = h.hotkey AND c.created_at <= ?1 AND c.success = 1
		ORDER BY c.created_at DESC, c.id DESC LIMIT %[2]d)),
	(SELECT c.difficulty FROM challenge_details c
		WHERE c.hotkey = h.hotkey AND c.created_at <= ?1
		ORDER BY c.created_at DESC, c.id DESC LIMIT 1)
FROM h LEFT JOIN w ON w.hotkey = h.hotkey`

var (
	allStatsQuery = fmt.Sprintf(statsQuery, "", Last)
	oneStatsQuery = fmt.Sprintf(statsQuery, "AND hotkey = ?3", Last)
)

// Stats returns the statistics of one hotkey (see [Stats]); a hotkey without
// challenges gets the zero Stats. window is 12 h in v1.5.1.
func (s *Store) Stats(ctx context.Context, hotkey string, window time.Duration, now time.Time) (Stats, error) {
	if window <= 0 {
		return Stats{}, fmt.Errorf("challenge stats: %w: window %v", ErrInvalidArgument, window)
	}
	m, err := s.stats(ctx, oneStatsQuery, window, now, hotkey)
	if err != nil {
		return Stats{}, fmt.Errorf("challenge stats: %w", err)
	}
	return m[hotkey], nil
}

// AllStats returns, in one query, the statistics of every hotkey that has at
// least one challenge at or before now. For any hotkey h,
// AllStats(...)[h] equals Stats(..., h, ...).
func (s *Store) AllStats(ctx context.Context, window time.Duration, now time.Time) (map[string]Stats, error) {
	if window <= 0 {
		return nil, fmt.Errorf("all challenge stats: %w: window %v", ErrInvalidArgument, window)
	}
	m, err := s.stats(ctx, allStatsQuery, window, now)
	if err != nil {
		return nil, fmt.Errorf("all challenge stats: %w", err)
	}
	return m, nil
}

func (s *Store) stats(ctx context.Context, query string, window time.Duration, now time.Time, hotkey ...any) (map[string]Stats, error) {
	args := append([]any{unixNano(now), unixNano(now.Add(-window))}, hotkey...)
	rows, err := s.r.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]Stats{}
	for rows.Next() {
		var (
			h                        string
			st                       Stats
			avgDiff, avgEl, avgDiffS sql.NullFloat64
			last                     sql.NullInt64
		)
		if err := rows.Scan(&h, &st.Attempts, &st.Successes, &avgDiff, &avgEl, &st.FailedLast20, &avgDiffS, &last); err != nil {
			return nil, err
		}
		st.AvgDifficultyLast20 = avgDiff.Float64
		st.AvgElapsedSeconds = avgEl.Float64
		st.AvgDifficultyLast20Successes = avgDiffS.Float64
		st.LastDifficulty = int(last.Int64)
		out[h] = st
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

// Prune deletes challenges created before the given time, in batches of
// bounded size, and returns how many it deleted. Keep at least the scoring
// window (and enough history for the last-20 statistics), e.g. 7 days.
func (s *Store) Prune(ctx context.Context, before time.Time) (int64, error) {
	var total int64
	for {
		res, err := s.w.ExecContext(ctx, `DELETE FROM challenge_details WHERE id IN (
	SELECT id FROM challenge_details WHERE created_at < ? LIMIT ?)`, unixNano(before), pruneBatch)
		if err != nil {
			return total, fmt.Errorf("prune challenges: %w", err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return total, fmt.Errorf("prune challenges: %w", err)
		}
		total += n
		if n < pruneBatch {
			return total, nil
		}
	}
}
