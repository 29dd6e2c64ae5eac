package api

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"net/http"
	"sync"
)

// keyLocks serialises requests that share an idempotency key, so that two
// concurrent duplicates run the operation once: the second waits, then finds
// the first one's stored answer.
type keyLocks struct {
	mu sync.Mutex
	m  map[string]*keyLock
}

type keyLock struct {
	mu   sync.Mutex
	refs int
}

func (k *keyLocks) lock(key string) (unlock func()) {
	k.mu.Lock()
	if k.m == nil {
		k.m = map[string]*keyLock{}
	}
	l := k.m[key]
	if l == nil {
		l = &keyLock{}
		k.m[key] = l
	}
	l.refs++
	k.mu.Unlock()
	l.mu.Lock()
	return func() {
		l.mu.Unlock()
		k.mu.Lock()
		if l.refs--; l.refs == 0 {
			delete(k.m, key)
		}
		k.mu.Unlock()
	}
}

// idempotent runs fn once per (principal, key). The first answer with a
// status below 500 is stored with the route and the SHA-256 of the raw body,
// and replayed (replayed true) for a repeat of the same route and body; a
// repeat with another route or body gets 422. 5xx answers are not stored, so
// the client may retry them with the same key.
func (s *Server) idempotent(ctx context.Context, principal, key, route string, body []byte, fn func() (int, []byte)) (status int, out []byte, replayed bool) {
	sum := sha256.Sum256(body)
	hash := hex.EncodeToString(sum[:])
	unlock := s.locks.lock(principal + "\x00" + key)
	defer unlock()

	var gotRoute, gotHash string
	minCreated := s.now().Add(-s.cfg.IdempotencyTTL).UnixNano()
	err := s.db.QueryRowContext(ctx, `SELECT route, body_hash, status, body FROM idempotency
		WHERE principal = ? AND key = ? AND created_at >= ?`, principal, key, minCreated).Scan(&gotRoute, &gotHash, &status, &out)
	switch {
	case err == nil:
		if gotRoute != route || gotHash != hash {
			return http.StatusUnprocessableEntity, encode(errResp("idempotency_key_reused",
				"this Idempotency-Key was used with another route or body")), false
		}
		return status, out, true
	case !errors.Is(err, sql.ErrNoRows):
		s.log.Error("read idempotency record", "err", err)
		return http.StatusInternalServerError, encode(errResp("internal", "internal error")), false
	}
	status, out = fn()
	if status >= 500 {
		return status, out, false
	}
	if _, err := s.db.ExecContext(ctx, `INSERT OR REPLACE INTO idempotency
		(principal, key, route, body_hash, status, body, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		principal, key, route, hash, status, out, s.now().UnixNano()); err != nil {
		// The operation happened; only its replay is lost.
		s.log.Error("store idempotency record; a retry with this key will run again", "route", route, "err", err)
	}
	return status, out, false
}

func (s *Server) pruneIdempotency(ctx context.Context) {
	minCreated := s.now().Add(-s.cfg.IdempotencyTTL).UnixNano()
	if _, err := s.db.ExecContext(ctx, `DELETE FROM idempotency WHERE created_at < ?`, minCreated); err != nil && ctx.Err() == nil {
		s.log.Warn("prune idempotency records", "err", err)
	}
}
