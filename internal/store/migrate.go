package store

import (
	"context"
	"database/sql"
	"fmt"
)

// migration is one step of the schema history. Steps are append-only: never
// edit a released step, add a new one.
type migration struct {
	version int
	sql     string
}

// migrations is the schema history, in version order starting at 1.
var migrations = []migration{
	{version: 1, sql: `
CREATE TABLE miner (
	uid        INTEGER PRIMARY KEY CHECK (uid BETWEEN 0 AND 65535),
	hotkey     TEXT    NOT NULL CHECK (hotkey <> ''),
	updated_at INTEGER NOT NULL
) STRICT;
CREATE INDEX miner_hotkey ON miner (hotkey);

CREATE TABLE challenge_details (
	id              INTEGER PRIMARY KEY,
	uid             INTEGER NOT NULL,
	hotkey          TEXT    NOT NULL,
	success         INTEGER NOT NULL CHECK (success IN (0, 1)),
	elapsed_seconds REAL    NOT NULL,
	difficulty      INTEGER NOT NULL,
	error           TEXT    NOT NULL DEFAULT '',
	created_at      INTEGER NOT NULL
) STRICT;
CREATE INDEX challenge_details_hotkey_created_at ON challenge_details (hotkey, created_at);
CREATE INDEX challenge_details_created_at ON challenge_details (created_at);

CREATE TABLE miner_details (
	hotkey         TEXT    PRIMARY KEY,
	details        TEXT    NOT NULL,
	no_specs_count INTEGER NOT NULL DEFAULT 0,
	updated_at     INTEGER NOT NULL
) STRICT;

CREATE TABLE allocation (
	hotkey     TEXT    PRIMARY KEY,
	details    TEXT    NOT NULL,
	created_at INTEGER NOT NULL
) STRICT;

CREATE TABLE penalty (
	hotkey     TEXT    PRIMARY KEY,
	reason     TEXT    NOT NULL,
	created_at INTEGER NOT NULL
) STRICT;

CREATE TABLE meta (
	key   TEXT PRIMARY KEY,
	value TEXT NOT NULL
) STRICT;
`},
	// 2: allocations carry their deadline (so they stop counting at it, even
	// before anyone reconciles them), and the last end of each rental is
	// kept with its reason. Rows of version 1 get the deadline their details
	// JSON holds (0 when none: never expires by itself).
	{version: 2, sql: `
ALTER TABLE allocation ADD COLUMN deadline INTEGER NOT NULL DEFAULT 0;
UPDATE allocation SET deadline = COALESCE(
	CAST(strftime('%s', json_extract(details, '$.deadline')) AS INTEGER) * 1000000000, 0)
	WHERE json_valid(details);
CREATE INDEX allocation_deadline ON allocation (deadline);

CREATE TABLE allocation_ended (
	hotkey   TEXT    PRIMARY KEY,
	reason   TEXT    NOT NULL,
	ended_at INTEGER NOT NULL
) STRICT;
`},
	// 3: weight commits waiting for their reveal (hash commit-reveal), with
	// everything reveal_weights needs, so a restart still reveals them.
	// version_key is a u64 kept in its two's-complement int64 form.
	{version: 3, sql: `
CREATE TABLE pending_commit (
	hash               TEXT    PRIMARY KEY CHECK (length(hash) = 64),
	kind               TEXT    NOT NULL DEFAULT 'hash',
	netuid             INTEGER NOT NULL CHECK (netuid BETWEEN 0 AND 65535),
	mecid              INTEGER NOT NULL DEFAULT 0 CHECK (mecid BETWEEN 0 AND 255),
	hotkey             TEXT    NOT NULL CHECK (hotkey <> ''),
	uids               TEXT    NOT NULL,
	weights            TEXT    NOT NULL,
	salt               TEXT    NOT NULL,
	version_key        INTEGER NOT NULL,
	commit_block       INTEGER NOT NULL,
	reveal_epoch       INTEGER NOT NULL,
	first_reveal_block INTEGER NOT NULL,
	last_reveal_block  INTEGER NOT NULL,
	by_counter         INTEGER NOT NULL DEFAULT 0 CHECK (by_counter IN (0, 1)),
	created_at         INTEGER NOT NULL
) STRICT;
CREATE INDEX pending_commit_netuid_hotkey ON pending_commit (netuid, hotkey);
`},
	// 4: proof-of-GPU verdicts, signed, with their evidence.
	{version: 4, sql: `
CREATE TABLE pog_verdict (
	id         INTEGER PRIMARY KEY,
	hotkey     TEXT    NOT NULL CHECK (hotkey <> ''),
	block      INTEGER NOT NULL CHECK (block >= 0),
	passed     INTEGER NOT NULL CHECK (passed IN (0, 1)),
	created_at INTEGER NOT NULL,
	verdict    TEXT    NOT NULL CHECK (json_valid(verdict))
) STRICT;
CREATE INDEX pog_verdict_hotkey ON pog_verdict (hotkey, id);
`},
}

// SchemaVersion is the schema version this build writes.
func SchemaVersion() int { return migrations[len(migrations)-1].version }

// migrate brings the schema up to SchemaVersion. Each step runs in its own
// immediate transaction and re-reads the version inside it, so two processes
// opening the same new file do not apply a step twice.
func (s *Store) migrate(ctx context.Context) error {
	if _, err := s.w.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_version (
	version    INTEGER PRIMARY KEY,
	applied_at INTEGER NOT NULL
) STRICT`); err != nil {
		return fmt.Errorf("create schema_version: %w", err)
	}
	current, err := schemaVersion(ctx, s.w)
	if err != nil {
		return err
	}
	if latest := SchemaVersion(); current > latest {
		return fmt.Errorf("%w (database version %d, build supports up to %d): upgrade the binary or use another database",
			ErrSchemaTooNew, current, latest)
	}
	for _, m := range migrations {
		if m.version <= current {
			continue
		}
		err := s.inTx(ctx, func(tx *sql.Tx) error {
			v, err := schemaVersion(ctx, tx)
			if err != nil {
				return err
			}
			if v >= m.version {
				return nil // applied by another process meanwhile
			}
			if _, err := tx.ExecContext(ctx, m.sql); err != nil {
				return err
			}
			_, err = tx.ExecContext(ctx, `INSERT INTO schema_version (version, applied_at) VALUES (?, ?)`,
				m.version, unixNano(s.now()))
			return err
		})
		if err != nil {
			return fmt.Errorf("migrate to version %d: %w", m.version, err)
		}
	}
	return nil
}

type queryer interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func schemaVersion(ctx context.Context, q queryer) (int, error) {
	var v int
	if err := q.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_version`).Scan(&v); err != nil {
		return 0, fmt.Errorf("read schema version: %w", err)
	}
	return v, nil
}
