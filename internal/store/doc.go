// Package store is the validator's persistent state in SQLite: the uid ↔
// hotkey map of the metagraph, challenge results, hardware specs, allocations,
// penalties, weight commits waiting for their reveal (pending_commit) and a
// small key-value table for state that must survive restarts.
//
// The database runs in WAL mode with synchronous=FULL, so a committed
// transaction survives a process crash or power loss. Writes go through a
// pool of one connection (SQLite serialises writers anyway, and a single
// writer never waits on its own lock); reads use a separate read-only pool and
// run concurrently with the writer. Every exported method is safe for
// concurrent use.
//
// Times are stored as UTC Unix nanoseconds (INTEGER). The schema is versioned
// by the schema_version table; Open applies pending migrations, each in its
// own transaction, and refuses a database written by a newer build with
// [ErrSchemaTooNew].
package store
