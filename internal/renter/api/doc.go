// Package api is the renter's REST API (`sn27 api`): an HTTPS JSON server in
// front of the renter service, which it reaches through the [Ops] interface.
//
// Routes keep the reference's paths (register_api.py): POST
// /service/{allocate_spec,allocate_hotkey,deallocate,check_miner_status,
// restart_docker,pause_docker,unpause_docker,exchange_docker_key} and POST
// /list/{allocations_sql,resources_sql,count_all_gpus,count_all_by_model,
// available,allocated_hotkeys}; GET /openapi.json describes them and GET
// /healthz answers without authentication.
//
// The resource listings (resources_sql, available) give each miner's
// claimed hardware beside the validator's latest proof-of-GPU verdict
// (verified, verified_model, verified_gpus, verdict_age_s, verdict_block,
// verdict_failed_step), and take the query parameters verified=true and
// verified_model=NAME to list only the verified miners, or those verified
// as NAME.
//
// Authentication is a client certificate that verifies against the client CA
// or an Authorization: Bearer key from the keys file. Bodies are decoded
// strictly (unknown fields are errors) and errors are
// {"error": {"code": "...", "message": "..."}}. Mutating routes honour
// Idempotency-Key, recorded in the API's SQLite database (the key hashed,
// the answer sealed under a key derived from it). Webhooks
// (allocation.ended, allocation.status) leave through a durable outbox with
// retries, TLS verified and HMAC-SHA256 signed. A health loop forgets
// allocations past their deadline or no longer held by their miner, probes
// each one's SSH banner, and ends one whose SSH port stays down while its
// miner says the container runs (never a paused one, never on a miner that
// cannot be asked).
package api
