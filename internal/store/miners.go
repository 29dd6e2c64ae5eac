package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"
)

// Miner is one metagraph slot: a uid and the hotkey registered on it.
type Miner struct {
	UID    uint16
	Hotkey string
}

// SyncMiners upserts the given uid → hotkey pairs. When a uid's hotkey
// changes (the old miner was deregistered) and the old hotkey no longer holds
// any uid, its challenge history, specs and allocation rows are deleted in
// the same transaction; penalties are kept, since they are an operator's
// decision about the hotkey. Uids not in miners are left untouched. It
// returns the purged hotkeys, sorted.
func (s *Store) SyncMiners(ctx context.Context, miners []Miner) (purged []string, err error) {
	seen := make(map[uint16]bool, len(miners))
	for _, m := range miners {
		if err := checkHotkey(m.Hotkey); err != nil {
			return nil, fmt.Errorf("sync miners: uid %d: %w", m.UID, err)
		}
		if seen[m.UID] {
			return nil, fmt.Errorf("sync miners: %w: duplicate uid %d", ErrInvalidArgument, m.UID)
		}
		seen[m.UID] = true
	}
	now := unixNano(s.now())
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		replaced := map[string]bool{}
		for _, m := range miners {
			var old string
			err := tx.QueryRowContext(ctx, `SELECT hotkey FROM miner WHERE uid = ?`, m.UID).Scan(&old)
			switch {
			case errors.Is(err, sql.ErrNoRows):
				if _, err := tx.ExecContext(ctx,
					`INSERT INTO miner (uid, hotkey, updated_at) VALUES (?, ?, ?)`, m.UID, m.Hotkey, now); err != nil {
					return fmt.Errorf("insert uid %d: %w", m.UID, err)
				}
			case err != nil:
				return fmt.Errorf("read uid %d: %w", m.UID, err)
			case old != m.Hotkey:
				if _, err := tx.ExecContext(ctx,
					`UPDATE miner SET hotkey = ?, updated_at = ? WHERE uid = ?`, m.Hotkey, now, m.UID); err != nil {
					return fmt.Errorf("update uid %d: %w", m.UID, err)
				}
				replaced[old] = true
			}
		}
		for old := range replaced {
			var held bool
			if err := tx.QueryRowContext(ctx,
				`SELECT EXISTS (SELECT 1 FROM miner WHERE hotkey = ?)`, old).Scan(&held); err != nil {
				return fmt.Errorf("check hotkey: %w", err)
			}
			if held {
				continue // moved to another uid, not deregistered
			}
			for _, q := range []string{
				`DELETE FROM challenge_details WHERE hotkey = ?`,
				`DELETE FROM miner_details WHERE hotkey = ?`,
				`DELETE FROM allocation WHERE hotkey = ?`,
			} {
				if _, err := tx.ExecContext(ctx, q, old); err != nil {
					return fmt.Errorf("purge hotkey: %w", err)
				}
			}
			purged = append(purged, old)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("sync miners: %w", err)
	}
	sort.Strings(purged)
	return purged, nil
}

// Miners returns every known uid → hotkey pair, ordered by uid.
func (s *Store) Miners(ctx context.Context) ([]Miner, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT uid, hotkey FROM miner ORDER BY uid`)
	if err != nil {
		return nil, fmt.Errorf("list miners: %w", err)
	}
	defer rows.Close()
	var out []Miner
	for rows.Next() {
		var m Miner
		if err := rows.Scan(&m.UID, &m.Hotkey); err != nil {
			return nil, fmt.Errorf("list miners: %w", err)
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list miners: %w", err)
	}
	return out, nil
}
