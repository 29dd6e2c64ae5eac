package store

import (
	"context"
	"fmt"
)

// VerdictsKept is how many verdicts of one miner the store keeps.
const VerdictsKept = 100

// AddVerdict stores a signed proof-of-GPU verdict (its JSON) of hotkey and
// keeps only the newest VerdictsKept of that miner.
func (s *Store) AddVerdict(ctx context.Context, hotkey string, block uint64, passed bool, verdictJSON string) error {
	if err := checkJSON(hotkey, verdictJSON); err != nil {
		return fmt.Errorf("add verdict: %w", err)
	}
	if block > 1<<62 {
		return fmt.Errorf("add verdict: %w: block %d", ErrInvalidArgument, block)
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("add verdict: %w", err)
	}
	defer tx.Rollback()
	p := 0
	if passed {
		p = 1
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO pog_verdict (hotkey, block, passed, created_at, verdict) VALUES (?, ?, ?, ?, ?)`,
		hotkey, int64(block), p, unixNano(s.now()), verdictJSON); err != nil {
		return fmt.Errorf("add verdict: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM pog_verdict WHERE hotkey = ?1 AND id NOT IN
	(SELECT id FROM pog_verdict WHERE hotkey = ?1 ORDER BY id DESC LIMIT ?2)`, hotkey, VerdictsKept); err != nil {
		return fmt.Errorf("add verdict: trim: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("add verdict: %w", err)
	}
	return nil
}

// Verdicts returns up to limit verdicts (JSON), newest first: of hotkey, or
// of every miner when hotkey is "".
func (s *Store) Verdicts(ctx context.Context, hotkey string, limit int) ([]string, error) {
	if limit <= 0 || limit > 10000 {
		limit = 10000
	}
	rows, err := s.r.QueryContext(ctx, `SELECT verdict FROM pog_verdict WHERE ?1 = '' OR hotkey = ?1 ORDER BY id DESC LIMIT ?2`, hotkey, limit)
	if err != nil {
		return nil, fmt.Errorf("verdicts: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			return nil, fmt.Errorf("verdicts: %w", err)
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// LatestVerdicts returns the newest verdict (JSON) of every miner that has one.
func (s *Store) LatestVerdicts(ctx context.Context) (map[string]string, error) {
	out := map[string]string{}
	err := s.scanPairs(ctx, `SELECT hotkey, verdict FROM pog_verdict WHERE id IN (SELECT MAX(id) FROM pog_verdict GROUP BY hotkey)`,
		func(k, v string) { out[k] = v })
	if err != nil {
		return nil, fmt.Errorf("latest verdicts: %w", err)
	}
	return out, nil
}
