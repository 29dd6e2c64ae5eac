package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// MaxNoSpecsCount caps miner_details.no_specs_count. A miner that reaches it
// (20 specs queries in a row without an answer, as in v1.5.1) has its stored
// specs cleared to "{}".
const MaxNoSpecsCount = 20

// SetSpecs stores the specs report (JSON) of hotkey and resets its
// no-specs count.
func (s *Store) SetSpecs(ctx context.Context, hotkey string, specsJSON string) error {
	if err := checkJSON(hotkey, specsJSON); err != nil {
		return fmt.Errorf("set specs: %w", err)
	}
	_, err := s.w.ExecContext(ctx, `INSERT INTO miner_details (hotkey, details, no_specs_count, updated_at)
VALUES (?, ?, 0, ?)
ON CONFLICT (hotkey) DO UPDATE SET details = excluded.details, no_specs_count = 0, updated_at = excluded.updated_at`,
		hotkey, specsJSON, unixNano(s.now()))
	if err != nil {
		return fmt.Errorf("set specs: %w", err)
	}
	return nil
}

// MarkNoSpecs records that hotkey did not answer a specs query: its
// no-specs count goes up by one, up to MaxNoSpecsCount; once there, its
// stored specs are replaced by "{}". A hotkey without a row gets one with
// specs "{}" and count 1.
func (s *Store) MarkNoSpecs(ctx context.Context, hotkey string) error {
	if err := checkHotkey(hotkey); err != nil {
		return fmt.Errorf("mark no specs: %w", err)
	}
	_, err := s.w.ExecContext(ctx, `INSERT INTO miner_details (hotkey, details, no_specs_count, updated_at)
VALUES (?1, '{}', 1, ?2)
ON CONFLICT (hotkey) DO UPDATE SET
	no_specs_count = MIN(no_specs_count + 1, ?3),
	details = CASE WHEN no_specs_count + 1 >= ?3 THEN '{}' ELSE details END,
	updated_at = excluded.updated_at`,
		hotkey, unixNano(s.now()), MaxNoSpecsCount)
	if err != nil {
		return fmt.Errorf("mark no specs: %w", err)
	}
	return nil
}

// Specs returns the stored specs JSON of hotkey and its no-specs count, or
// an error wrapping ErrNotFound.
func (s *Store) Specs(ctx context.Context, hotkey string) (json string, noSpecsCount int, err error) {
	err = s.r.QueryRowContext(ctx, `SELECT details, no_specs_count FROM miner_details WHERE hotkey = ?`, hotkey).
		Scan(&json, &noSpecsCount)
	if errors.Is(err, sql.ErrNoRows) {
		return "", 0, fmt.Errorf("specs of %s: %w", hotkey, ErrNotFound)
	}
	if err != nil {
		return "", 0, fmt.Errorf("specs of %s: %w", hotkey, err)
	}
	return json, noSpecsCount, nil
}

// SetAllocation records that hotkey is allocated until deadline (the zero
// time: no deadline), with the allocation details (JSON), replacing any
// previous details.
func (s *Store) SetAllocation(ctx context.Context, hotkey string, detailsJSON string, deadline time.Time) error {
	if err := checkJSON(hotkey, detailsJSON); err != nil {
		return fmt.Errorf("set allocation: %w", err)
	}
	var dl int64
	if !deadline.IsZero() {
		dl = unixNano(deadline)
	}
	_, err := s.w.ExecContext(ctx, `INSERT INTO allocation (hotkey, details, created_at, deadline) VALUES (?, ?, ?, ?)
ON CONFLICT (hotkey) DO UPDATE SET details = excluded.details, deadline = excluded.deadline`,
		hotkey, detailsJSON, unixNano(s.now()), dl)
	if err != nil {
		return fmt.Errorf("set allocation: %w", err)
	}
	return nil
}

// DeleteAllocation ends the allocation of hotkey, if any, with the reason
// "deallocated".
func (s *Store) DeleteAllocation(ctx context.Context, hotkey string) error {
	_, err := s.EndAllocation(ctx, hotkey, "deallocated")
	return err
}

// EndAllocation removes the allocation of hotkey and records why it ended
// (expired, deallocated, miner_lost, unhealthy), in one transaction. ended
// is false when there was no allocation to end (nothing is recorded then).
func (s *Store) EndAllocation(ctx context.Context, hotkey, reason string) (ended bool, err error) {
	if reason == "" {
		return false, fmt.Errorf("end allocation: %w: empty reason", ErrInvalidArgument)
	}
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM allocation WHERE hotkey = ?`, hotkey)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil
		}
		ended = true
		_, err = tx.ExecContext(ctx, `INSERT INTO allocation_ended (hotkey, reason, ended_at) VALUES (?, ?, ?)
ON CONFLICT (hotkey) DO UPDATE SET reason = excluded.reason, ended_at = excluded.ended_at`, hotkey, reason, unixNano(s.now()))
		return err
	})
	if err != nil {
		return false, fmt.Errorf("end allocation: %w", err)
	}
	return ended, nil
}

// AllocationEnded says why the last allocation of hotkey ended, and when.
func (s *Store) AllocationEnded(ctx context.Context, hotkey string) (reason string, at time.Time, ok bool, err error) {
	var ns int64
	err = s.r.QueryRowContext(ctx, `SELECT reason, ended_at FROM allocation_ended WHERE hotkey = ?`, hotkey).Scan(&reason, &ns)
	if errors.Is(err, sql.ErrNoRows) {
		return "", time.Time{}, false, nil
	}
	if err != nil {
		return "", time.Time{}, false, fmt.Errorf("allocation end of %s: %w", hotkey, err)
	}
	return reason, time.Unix(0, ns).UTC(), true, nil
}

// Allocated returns the set of allocated hotkeys: rows whose deadline has
// not passed (an expired row no longer counts, even before it is removed).
func (s *Store) Allocated(ctx context.Context) (map[string]bool, error) {
	out := map[string]bool{}
	err := s.scanPairs(ctx, fmt.Sprintf(`SELECT hotkey, '' FROM allocation WHERE deadline = 0 OR deadline > %d`, unixNano(s.now())),
		func(k, _ string) { out[k] = true })
	if err != nil {
		return nil, fmt.Errorf("list allocations: %w", err)
	}
	return out, nil
}

// AllocationRow is one stored allocation.
type AllocationRow struct {
	Hotkey   string
	Details  string // JSON
	Created  time.Time
	Deadline time.Time // zero: none
}

// Allocations returns every stored allocation, expired ones included, by
// hotkey.
func (s *Store) Allocations(ctx context.Context) ([]AllocationRow, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT hotkey, details, created_at, deadline FROM allocation ORDER BY hotkey`)
	if err != nil {
		return nil, fmt.Errorf("list allocations: %w", err)
	}
	defer rows.Close()
	var out []AllocationRow
	for rows.Next() {
		var r AllocationRow
		var created, deadline int64
		if err := rows.Scan(&r.Hotkey, &r.Details, &created, &deadline); err != nil {
			return nil, fmt.Errorf("list allocations: %w", err)
		}
		r.Created = time.Unix(0, created).UTC()
		if deadline != 0 {
			r.Deadline = time.Unix(0, deadline).UTC()
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list allocations: %w", err)
	}
	return out, nil
}

// AddPenalty penalises hotkey for reason. Penalising an already penalised
// hotkey replaces the reason and keeps the original time.
func (s *Store) AddPenalty(ctx context.Context, hotkey, reason string) error {
	if err := checkHotkey(hotkey); err != nil {
		return fmt.Errorf("add penalty: %w", err)
	}
	_, err := s.w.ExecContext(ctx, `INSERT INTO penalty (hotkey, reason, created_at) VALUES (?, ?, ?)
ON CONFLICT (hotkey) DO UPDATE SET reason = excluded.reason`,
		hotkey, reason, unixNano(s.now()))
	if err != nil {
		return fmt.Errorf("add penalty: %w", err)
	}
	return nil
}

// Penalties returns every penalised hotkey with its reason.
func (s *Store) Penalties(ctx context.Context) (map[string]string, error) {
	out := map[string]string{}
	if err := s.scanPairs(ctx, `SELECT hotkey, reason FROM penalty`, func(k, v string) { out[k] = v }); err != nil {
		return nil, fmt.Errorf("list penalties: %w", err)
	}
	return out, nil
}

// RemovePenalty lifts the penalty of hotkey, if any.
func (s *Store) RemovePenalty(ctx context.Context, hotkey string) error {
	if _, err := s.w.ExecContext(ctx, `DELETE FROM penalty WHERE hotkey = ?`, hotkey); err != nil {
		return fmt.Errorf("remove penalty: %w", err)
	}
	return nil
}

// SetMeta stores value under key, replacing any previous value.
func (s *Store) SetMeta(ctx context.Context, key, value string) error {
	_, err := s.w.ExecContext(ctx, `INSERT INTO meta (key, value) VALUES (?, ?)
ON CONFLICT (key) DO UPDATE SET value = excluded.value`, key, value)
	if err != nil {
		return fmt.Errorf("set meta %q: %w", key, err)
	}
	return nil
}

// Meta returns the value stored under key and whether there is one.
func (s *Store) Meta(ctx context.Context, key string) (string, bool, error) {
	var v string
	err := s.r.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = ?`, key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("meta %q: %w", key, err)
	}
	return v, true, nil
}

func (s *Store) scanPairs(ctx context.Context, query string, fn func(k, v string)) error {
	rows, err := s.r.QueryContext(ctx, query)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var k, v string
		if err := rows.Scan(&k, &v); err != nil {
			return err
		}
		fn(k, v)
	}
	return rows.Err()
}

func checkJSON(hotkey, doc string) error {
	if err := checkHotkey(hotkey); err != nil {
		return err
	}
	if !json.Valid([]byte(doc)) {
		return fmt.Errorf("%w: details are not valid JSON", ErrInvalidArgument)
	}
	return nil
}

// DeleteMeta removes key, if stored.
func (s *Store) DeleteMeta(ctx context.Context, key string) error {
	if _, err := s.w.ExecContext(ctx, `DELETE FROM meta WHERE key = ?`, key); err != nil {
		return fmt.Errorf("delete meta %q: %w", key, err)
	}
	return nil
}

// MetaPrefix returns every stored key that starts with prefix, with its
// value.
func (s *Store) MetaPrefix(ctx context.Context, prefix string) (map[string]string, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT key, value FROM meta WHERE substr(key, 1, length(?1)) = ?1`, prefix)
	if err != nil {
		return nil, fmt.Errorf("meta %q*: %w", prefix, err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var k, v string
		if err := rows.Scan(&k, &v); err != nil {
			return nil, fmt.Errorf("meta %q*: %w", prefix, err)
		}
		out[k] = v
	}
	return out, rows.Err()
}
