package api

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	sqlite "modernc.org/sqlite"
)

// migrations is the schema history of api.db, append-only.
var migrations = []string{
	1: `
CREATE TABLE idempotency (
	principal  TEXT    NOT NULL,
	key        TEXT    NOT NULL,
	route      TEXT    NOT NULL,
	body_hash  TEXT    NOT NULL,
	status     INTEGER NOT NULL,
	body       BLOB    NOT NULL,
	created_at INTEGER NOT NULL,
	PRIMARY KEY (principal, key)
) STRICT;
CREATE INDEX idempotency_created_at ON idempotency (created_at);

CREATE TABLE outbox (
	id           INTEGER PRIMARY KEY,
	event_id     TEXT    NOT NULL UNIQUE,
	event        TEXT    NOT NULL,
	body         BLOB    NOT NULL,
	attempts     INTEGER NOT NULL DEFAULT 0,
	next_at      INTEGER NOT NULL,
	delivered_at INTEGER,
	failed_at    INTEGER,
	last_error   TEXT    NOT NULL DEFAULT '',
	created_at   INTEGER NOT NULL
) STRICT;
CREATE INDEX outbox_pending ON outbox (next_at) WHERE delivered_at IS NULL AND failed_at IS NULL;
`,
	// Idempotency records keep no secret: the raw key gives way to a hash and
	// the answer (which may hold a root password) is sealed; see
	// idempotency.go. The old plaintext rows, a 24 h replay cache, are
	// dropped (zeroed on disk: secure_delete is on).
	2: `
DELETE FROM idempotency;
DROP TABLE idempotency;
CREATE TABLE idempotency (
	id         BLOB    PRIMARY KEY, -- SHA-256(principal || 0x00 || Idempotency-Key)
	route      TEXT    NOT NULL,
	body_mac   BLOB    NOT NULL,    -- HMAC-SHA256 of the request body
	status     INTEGER NOT NULL,
	salt       BLOB    NOT NULL,    -- HKDF salt of the record's keys
	nonce      BLOB    NOT NULL,
	body       BLOB    NOT NULL,    -- AES-256-GCM of the answer
	created_at INTEGER NOT NULL
) STRICT;
CREATE INDEX idempotency_created_at ON idempotency (created_at);
`,
}

// openDB opens or creates dir/api.db the way internal/store does: parent
// directory 0700, file 0600, WAL, synchronous FULL, immediate transactions,
// one writer connection; and secure_delete, so that deleted rows (expired
// idempotency records) are zeroed on disk.
func openDB(ctx context.Context, dir string) (*sql.DB, error) {
	if dir == "" || strings.HasPrefix(dir, "~") {
		return nil, fmt.Errorf("open api database: data dir %q: want an expanded path", dir)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("open api database: %w", err)
	}
	path := filepath.Join(dir, "api.db")
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open api database: %w", err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("open api database: %w", err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		return nil, fmt.Errorf("open api database: %w", err)
	}
	c, err := sqlite.NewConnector(path + "?_busy_timeout=5000&_journal_mode=WAL&_synchronous=FULL&_txlock=immediate&_pragma=secure_delete(1)")
	if err != nil {
		return nil, fmt.Errorf("open api database: %w", err)
	}
	db := sql.OpenDB(c)
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	db.SetConnMaxLifetime(0)
	db.SetConnMaxIdleTime(0)
	var mode string
	if err := db.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
		db.Close()
		return nil, fmt.Errorf("open api database: %w", err)
	}
	if !strings.EqualFold(mode, "wal") {
		db.Close()
		return nil, fmt.Errorf("open api database: journal mode is %q, want wal", mode)
	}
	if err := migrate(ctx, db); err != nil {
		db.Close()
		return nil, fmt.Errorf("open api database: %w", err)
	}
	return db, nil
}

func migrate(ctx context.Context, db *sql.DB) error {
	if _, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_version (
	version    INTEGER PRIMARY KEY,
	applied_at INTEGER NOT NULL
) STRICT`); err != nil {
		return fmt.Errorf("create schema_version: %w", err)
	}
	latest := len(migrations) - 1
	applied := false
	defer func() {
		if applied {
			// Rows a migration dropped leave the WAL too.
			_, _ = db.ExecContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)")
		}
	}()
	for v := 1; v <= latest; v++ {
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		var cur int
		if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_version`).Scan(&cur); err != nil {
			tx.Rollback()
			return fmt.Errorf("read schema version: %w", err)
		}
		if cur > latest {
			tx.Rollback()
			return fmt.Errorf("schema version %d is newer than this build (%d)", cur, latest)
		}
		if cur >= v {
			tx.Rollback()
			continue
		}
		if _, err := tx.ExecContext(ctx, migrations[v]); err != nil {
			tx.Rollback()
			return fmt.Errorf("migrate to version %d: %w", v, err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO schema_version (version, applied_at) VALUES (?, ?)`, v, time.Now().UnixNano()); err != nil {
			tx.Rollback()
			return fmt.Errorf("migrate to version %d: %w", v, err)
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("migrate to version %d: %w", v, err)
		}
		applied = true
	}
	return nil
}
