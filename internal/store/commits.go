package store

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"
)

// PendingCommit is a weight commit on chain waiting for its reveal: what
// reveal_weights sends (uids, weights, salt, version key) and when the
// chain accepts it (the reveal epoch; on block-scheduled runtimes also its
// first and last block).
type PendingCommit struct {
	Hash       [32]byte
	Kind       string // "hash" (commit_weights); other kinds are for later paths
	NetUID     uint16
	MecID      uint8
	Hotkey     string
	UIDs       []uint16
	Weights    []uint16
	Salt       []uint16
	VersionKey uint64
	// CommitBlock is the block the commit landed in.
	CommitBlock uint64
	RevealEpoch uint64
	// FirstRevealBlock and LastRevealBlock bound the reveal epoch, unless
	// ByCounter (the runtime counts epochs; blocks are not known ahead).
	FirstRevealBlock, LastRevealBlock uint64
	ByCounter                         bool
	CreatedAt                         time.Time
}

// AddPendingCommit records a commit. A commit with the same hash replaces
// the old row.
func (s *Store) AddPendingCommit(ctx context.Context, c PendingCommit) error {
	if err := checkHotkey(c.Hotkey); err != nil {
		return fmt.Errorf("add pending commit: %w", err)
	}
	if len(c.UIDs) != len(c.Weights) {
		return fmt.Errorf("add pending commit: %w: %d uids but %d weights", ErrInvalidArgument, len(c.UIDs), len(c.Weights))
	}
	if c.Kind == "" {
		c.Kind = "hash"
	}
	if c.CreatedAt.IsZero() {
		c.CreatedAt = s.now()
	}
	uids, _ := json.Marshal(nonNil(c.UIDs))
	ws, _ := json.Marshal(nonNil(c.Weights))
	salt, _ := json.Marshal(nonNil(c.Salt))
	_, err := s.w.ExecContext(ctx, `INSERT OR REPLACE INTO pending_commit
	(hash, kind, netuid, mecid, hotkey, uids, weights, salt, version_key, commit_block, reveal_epoch,
	 first_reveal_block, last_reveal_block, by_counter, created_at)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		hex.EncodeToString(c.Hash[:]), c.Kind, c.NetUID, c.MecID, c.Hotkey, string(uids), string(ws), string(salt),
		int64(c.VersionKey), int64(c.CommitBlock), int64(c.RevealEpoch), int64(c.FirstRevealBlock), int64(c.LastRevealBlock),
		c.ByCounter, unixNano(c.CreatedAt))
	if err != nil {
		return fmt.Errorf("add pending commit: %w", err)
	}
	return nil
}

func nonNil(v []uint16) []uint16 {
	if v == nil {
		return []uint16{}
	}
	return v
}

// PendingCommits returns hotkey's commits on netuid, oldest first.
func (s *Store) PendingCommits(ctx context.Context, netuid uint16, hotkey string) ([]PendingCommit, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT hash, kind, netuid, mecid, hotkey, uids, weights, salt, version_key,
	commit_block, reveal_epoch, first_reveal_block, last_reveal_block, by_counter, created_at
	FROM pending_commit WHERE netuid = ? AND hotkey = ? ORDER BY commit_block, created_at`, netuid, hotkey)
	if err != nil {
		return nil, fmt.Errorf("read pending commits: %w", err)
	}
	defer rows.Close()
	var out []PendingCommit
	for rows.Next() {
		var c PendingCommit
		var hash, uids, ws, salt string
		var vk, cb, re, fb, lb, created int64
		if err := rows.Scan(&hash, &c.Kind, &c.NetUID, &c.MecID, &c.Hotkey, &uids, &ws, &salt, &vk, &cb, &re, &fb, &lb, &c.ByCounter, &created); err != nil {
			return nil, fmt.Errorf("read pending commits: %w", err)
		}
		h, err := hex.DecodeString(hash)
		if err != nil || len(h) != 32 {
			return nil, fmt.Errorf("read pending commits: bad hash %q", hash)
		}
		copy(c.Hash[:], h)
		for _, f := range []struct {
			s   string
			dst *[]uint16
		}{{uids, &c.UIDs}, {ws, &c.Weights}, {salt, &c.Salt}} {
			if err := json.Unmarshal([]byte(f.s), f.dst); err != nil {
				return nil, fmt.Errorf("read pending commit %s: %w", hash, err)
			}
		}
		c.VersionKey, c.CommitBlock, c.RevealEpoch = uint64(vk), uint64(cb), uint64(re)
		c.FirstRevealBlock, c.LastRevealBlock = uint64(fb), uint64(lb)
		c.CreatedAt = time.Unix(0, created).UTC()
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read pending commits: %w", err)
	}
	return out, nil
}

// DeletePendingCommit forgets a commit (revealed, expired or unknown to the
// chain). Deleting a missing row is not an error.
func (s *Store) DeletePendingCommit(ctx context.Context, hash [32]byte) error {
	if _, err := s.w.ExecContext(ctx, `DELETE FROM pending_commit WHERE hash = ?`, hex.EncodeToString(hash[:])); err != nil {
		return fmt.Errorf("delete pending commit: %w", err)
	}
	return nil
}
