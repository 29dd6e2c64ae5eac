package api

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"errors"
	"net/http"
	"slices"
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

// Idempotency records keep no secret in api.db: an answer may hold an
// allocation's root password. A record is found by recordID, the SHA-256 of
// the principal and the raw Idempotency-Key; its answer is sealed with
// AES-256-GCM, and its request body is fingerprinted with HMAC-SHA256, under
// keys derived with HKDF-SHA256 from the raw Idempotency-Key, the principal
// and a random per-record salt. Only a client presenting the same key can
// replay; the database alone gives neither the answer nor the key (as long
// as the key cannot be guessed: clients should send a random UUID).
const (
	idemInfo  = "sn27 api idempotency v1"
	saltBytes = 16
)

// recordID names the record of principal's key.
func recordID(principal, key string) []byte {
	h := sha256.New()
	h.Write([]byte(principal))
	h.Write([]byte{0})
	h.Write([]byte(key))
	return h.Sum(nil)
}

// recordKeys derives a record's AEAD and HMAC key.
func recordKeys(principal, key string, salt []byte) (cipher.AEAD, []byte, error) {
	k, err := hkdf.Key(sha256.New, []byte(key), salt, idemInfo+"\x00"+principal, 64)
	if err != nil {
		return nil, nil, err
	}
	block, err := aes.NewCipher(k[:32])
	if err != nil {
		return nil, nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, nil, err
	}
	return aead, k[32:], nil
}

func bodyMAC(macKey, body []byte) []byte {
	m := hmac.New(sha256.New, macKey)
	m.Write(body)
	return m.Sum(nil)
}

// recordAD binds a sealed answer to its record's cleartext columns.
func recordAD(id []byte, route string, status int, mac []byte) []byte {
	ad := slices.Concat(id, []byte(route), []byte{0}, mac)
	return binary.BigEndian.AppendUint32(ad, uint32(status))
}

// idempotent runs fn once per (principal, key). The first answer with a
// status below 500 is stored with the route and a MAC of the raw body, and
// replayed (replayed true) for a repeat of the same route and body; a repeat
// with another route or body gets 422. 5xx answers are not stored, so the
// client may retry them with the same key.
func (s *Server) idempotent(ctx context.Context, principal, key, route string, body []byte, fn func() (int, []byte)) (status int, out []byte, replayed bool) {
	id := recordID(principal, key)
	unlock := s.locks.lock(string(id))
	defer unlock()
	internalErr := func(msg string, err error) (int, []byte, bool) {
		s.log.Error(msg, "route", route, "err", err)
		return http.StatusInternalServerError, encode(errResp("internal", "internal error")), false
	}

	var gotRoute string
	var gotMAC, salt, nonce, sealed []byte
	minCreated := s.now().Add(-s.cfg.IdempotencyTTL).UnixNano()
	err := s.db.QueryRowContext(ctx, `SELECT route, body_mac, status, salt, nonce, body FROM idempotency
		WHERE id = ? AND created_at >= ?`, id, minCreated).Scan(&gotRoute, &gotMAC, &status, &salt, &nonce, &sealed)
	switch {
	case err == nil:
		aead, macKey, err := recordKeys(principal, key, salt)
		if err != nil {
			return internalErr("derive idempotency record key", err)
		}
		if gotRoute != route || !hmac.Equal(gotMAC, bodyMAC(macKey, body)) {
			return http.StatusUnprocessableEntity, encode(errResp("idempotency_key_reused",
				"this Idempotency-Key was used with another route or body")), false
		}
		if len(nonce) != aead.NonceSize() {
			return internalErr("open idempotency record", errors.New("bad nonce length"))
		}
		out, err = aead.Open(nil, nonce, sealed, recordAD(id, route, status, gotMAC))
		if err != nil {
			return internalErr("open idempotency record", err)
		}
		return status, out, true
	case !errors.Is(err, sql.ErrNoRows):
		return internalErr("read idempotency record", err)
	}
	status, out = fn()
	if status >= 500 {
		return status, out, false
	}
	if err := s.storeIdempotent(ctx, id, principal, key, route, body, status, out); err != nil {
		// The operation happened; only its replay is lost.
		s.log.Error("store idempotency record; a retry with this key will run again", "route", route, "err", err)
	}
	return status, out, false
}

func (s *Server) storeIdempotent(ctx context.Context, id []byte, principal, key, route string, body []byte, status int, out []byte) error {
	salt := make([]byte, saltBytes)
	_, _ = rand.Read(salt)
	aead, macKey, err := recordKeys(principal, key, salt)
	if err != nil {
		return err
	}
	nonce := make([]byte, aead.NonceSize())
	_, _ = rand.Read(nonce)
	mac := bodyMAC(macKey, body)
	sealed := aead.Seal(nil, nonce, out, recordAD(id, route, status, mac))
	_, err = s.db.ExecContext(ctx, `INSERT OR REPLACE INTO idempotency
		(id, route, body_mac, status, salt, nonce, body, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		id, route, mac, status, salt, nonce, sealed, s.now().UnixNano())
	return err
}

func (s *Server) pruneIdempotency(ctx context.Context) {
	minCreated := s.now().Add(-s.cfg.IdempotencyTTL).UnixNano()
	if _, err := s.db.ExecContext(ctx, `DELETE FROM idempotency WHERE created_at < ?`, minCreated); err != nil && ctx.Err() == nil {
		s.log.Warn("prune idempotency records", "err", err)
	}
}
