package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	sqlite "modernc.org/sqlite"
)

// Sentinel errors. Errors returned by this package wrap them; match with
// errors.Is.
var (
	// ErrSchemaTooNew reports a database whose schema version is newer than
	// this build knows; opening it could corrupt data, so Open refuses.
	ErrSchemaTooNew = errors.New("database schema is newer than this build")
	// ErrNotFound reports a lookup of a row that does not exist.
	ErrNotFound = errors.New("not found")
	// ErrInvalidArgument reports an argument the store refuses to write.
	ErrInvalidArgument = errors.New("invalid argument")
)

const (
	// busyTimeout bounds how long a connection waits for a lock held by
	// another process (a second validator, the sqlite3 shell) before failing.
	busyTimeout = 5 * time.Second
	// readConns is the size of the read-only pool. WAL readers do not block
	// the writer or each other.
	readConns = 4
)

// Store is the validator's SQLite database. Create it with [Open] and release
// it with [Store.Close].
type Store struct {
	w   *sql.DB // single-connection write pool
	r   *sql.DB // read-only pool
	now func() time.Time

	closeOnce sync.Once
	closeErr  error
}

// Option configures [Open].
type Option func(*Store)

// WithClock sets the clock used for timestamps the caller does not supply
// (challenges with a zero CreatedAt, allocation, penalty and specs rows).
// The default is time.Now.
func WithClock(now func() time.Time) Option {
	return func(s *Store) { s.now = now }
}

// Open opens or creates the database at path, creating missing parent
// directories with mode 0700 and the file with mode 0600, enables WAL,
// busy_timeout and foreign keys, and applies pending migrations.
func Open(ctx context.Context, path string, opts ...Option) (*Store, error) {
	if path == "" || path == ":memory:" || strings.HasPrefix(path, "file:") || strings.ContainsRune(path, '?') {
		return nil, fmt.Errorf("open store %q: %w: want a plain file path", path, ErrInvalidArgument)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("open store: create directory: %w", err)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open store: create file: %w", err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("open store: create file: %w", err)
	}
	// An existing file may have looser permissions; SQLite gives the -wal and
	// -shm files the database file's mode, so tighten it before they exist.
	if err := os.Chmod(path, 0o600); err != nil {
		return nil, fmt.Errorf("open store: chmod: %w", err)
	}

	s := &Store{now: time.Now}
	for _, o := range opts {
		o(s)
	}

	common := fmt.Sprintf("_busy_timeout=%d&_foreign_keys=1", busyTimeout.Milliseconds())
	w, err := openPool(path + "?" + common + "&_journal_mode=WAL&_synchronous=FULL&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	s.w = w

	var mode string
	if err := w.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
		w.Close()
		return nil, fmt.Errorf("open store: %w", err)
	}
	if !strings.EqualFold(mode, "wal") {
		w.Close()
		return nil, fmt.Errorf("open store: journal mode is %q, want wal", mode)
	}
	if err := s.migrate(ctx); err != nil {
		w.Close()
		return nil, fmt.Errorf("open store: %w", err)
	}

	r, err := openPool(path + "?" + common + "&_query_only=1")
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("open store: %w", err)
	}
	r.SetMaxOpenConns(readConns)
	r.SetMaxIdleConns(readConns)
	s.r = r
	return s, nil
}

func openPool(dsn string) (*sql.DB, error) {
	c, err := sqlite.NewConnector(dsn)
	if err != nil {
		return nil, err
	}
	return sql.OpenDB(c), nil
}

// Close checkpoints the write-ahead log into the database file and closes
// both pools. Later calls return the first call's result.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		var errs []error
		if err := s.r.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close reader: %w", err))
		}
		if _, err := s.w.Exec("PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
			errs = append(errs, fmt.Errorf("checkpoint: %w", err))
		}
		if err := s.w.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close writer: %w", err))
		}
		if err := errors.Join(errs...); err != nil {
			s.closeErr = fmt.Errorf("close store: %w", err)
		}
	})
	return s.closeErr
}

// inTx runs fn in a write transaction (BEGIN IMMEDIATE) and commits it, or
// rolls it back if fn fails.
func (s *Store) inTx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

func unixNano(t time.Time) int64 { return t.UTC().UnixNano() }

func checkHotkey(hotkey string) error {
	if hotkey == "" {
		return fmt.Errorf("%w: empty hotkey", ErrInvalidArgument)
	}
	return nil
}
