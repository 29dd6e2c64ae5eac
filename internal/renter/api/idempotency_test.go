package api

import (
	"bytes"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"testing"

	sqlite "modernc.org/sqlite"
)

// dbFiles is the raw bytes of api.db and its WAL and shared-memory files.
func dbFiles(t *testing.T, dir string) []byte {
	t.Helper()
	var all []byte
	for _, name := range []string{"api.db", "api.db-wal", "api.db-shm"} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			t.Fatal(err)
		}
		all = append(all, b...)
	}
	return all
}

func TestIdempotencyKeepsNoSecrets(t *testing.T) {
	const (
		password = "S3cret-R00t-Passw0rd-7f3a9c1e"
		key      = "idem-5d1e8b2c-4a7f-4f0e-9d3b-1c2e3f4a5b6c"
	)
	e := newEnv(t, nil)
	e.ops.password = password
	c := e.p.httpClient(nil)
	h := map[string]string{"Authorization": "Bearer " + testKey, "Idempotency-Key": key}
	r1 := e.post(t, c, "/service/allocate_spec", allocBody, h)
	if r1.status != 200 || !bytes.Contains(r1.body, []byte(password)) {
		t.Fatalf("allocate = %d %s; want 200 with the password", r1.status, r1.body)
	}
	noSecrets := func(when string) {
		t.Helper()
		raw := dbFiles(t, e.s.cfg.DataDir)
		for _, secret := range []string{password, key} {
			if bytes.Contains(raw, []byte(secret)) {
				t.Errorf("%s: api.db holds %q", when, secret)
			}
		}
	}
	noSecrets("after the allocation")

	// The record opens with the client's key only.
	principal, ok := e.s.keys.match(testKey)
	if !ok {
		t.Fatal("test key does not authenticate")
	}
	var id, mac, salt, nonce, sealed []byte
	var route string
	var status int
	if err := e.s.db.QueryRow(`SELECT id, route, body_mac, status, salt, nonce, body FROM idempotency`).Scan(
		&id, &route, &mac, &status, &salt, &nonce, &sealed); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(id, recordID(principal, key)) {
		t.Errorf("record id is not SHA-256(principal, key)")
	}
	for _, tt := range []struct {
		name, principal, key string
		opens                bool
	}{
		{"same key", principal, key, true},
		{"another key", principal, key + "x", false},
		{"another principal", "cert:00", key, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			aead, _, err := recordKeys(tt.principal, tt.key, salt)
			if err != nil {
				t.Fatal(err)
			}
			out, err := aead.Open(nil, nonce, sealed, recordAD(id, route, status, mac))
			if tt.opens != (err == nil) || (tt.opens && !bytes.Equal(out, r1.body)) {
				t.Errorf("open = %q, %v; want opens %v with the first answer", out, err, tt.opens)
			}
		})
	}

	r2 := e.post(t, c, "/service/allocate_spec", allocBody, h)
	if r2.status != 200 || !bytes.Equal(r2.body, r1.body) || r2.header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("replay = %d %s; want the first answer, replayed", r2.status, r2.body)
	}
	other := map[string]string{"Authorization": "Bearer " + testKey, "Idempotency-Key": key + "-other"}
	r3 := e.post(t, c, "/service/allocate_spec", allocBody, other)
	if r3.status != 200 || r3.header.Get("Idempotent-Replayed") != "" || e.ops.count("allocate") != 2 {
		t.Fatalf("another key = %d (replayed %q), %d allocations; want a new allocation", r3.status,
			r3.header.Get("Idempotent-Replayed"), e.ops.count("allocate"))
	}
	noSecrets("after the replay")
	if err := e.s.Close(); err != nil {
		t.Fatal(err)
	}
	noSecrets("after close")
}

// Migration 2 drops the plaintext records an older build left, and leaves
// no trace of them in the files.
func TestMigrationDropsPlaintext(t *testing.T) {
	const password = "0ld-Plaintext-Passw0rd-c4d2b9"
	dir := t.TempDir()
	path := filepath.Join(dir, "api.db")
	conn, err := sqlite.NewConnector(path + "?_busy_timeout=5000&_journal_mode=WAL&_synchronous=FULL&_txlock=immediate")
	if err != nil {
		t.Fatal(err)
	}
	old := sql.OpenDB(conn)
	for _, q := range []string{
		`CREATE TABLE schema_version (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL) STRICT`,
		migrations[1],
		`INSERT INTO schema_version VALUES (1, 0)`,
		`INSERT INTO idempotency VALUES ('key:0011', 'old-key-1', '/service/allocate_spec', 'h', 200,
			CAST('{"password":"` + password + `"}' AS BLOB), 0)`,
	} {
		if _, err := old.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := old.Exec(`PRAGMA wal_checkpoint(PASSIVE)`); err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(dbFiles(t, dir), []byte(password)) {
		t.Fatal("setup: the old record is not in the files")
	}
	old.Close()

	db, err := openDB(t.Context(), dir)
	if err != nil {
		t.Fatal(err)
	}
	var n int
	if err := db.QueryRow(`SELECT COUNT(*) FROM idempotency`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("records after migration = %d, %v; want 0", n, err)
	}
	for _, when := range []string{"open", "closed"} {
		if raw := dbFiles(t, dir); bytes.Contains(raw, []byte(password)) || bytes.Contains(raw, []byte("old-key-1")) {
			t.Errorf("%s: the dropped record is still in the files", when)
		}
		db.Close()
	}
}
