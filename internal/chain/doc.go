// Package chain talks to Bittensor's subtensor chain over Substrate
// JSON-RPC (WebSocket): runtime metadata read at connect and on upgrade,
// storage and runtime API reads, signed extrinsics (sr25519, mortal era)
// with inclusion tracking and typed dispatch errors, and the operations SN27
// needs (metagraph, serve_axon, registration, stake, set_weights).
package chain
