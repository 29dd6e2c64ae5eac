// Package devchain is an embedded development chain that speaks the
// subtensor JSON-RPC subset the chain.Client uses, so the same client code
// talks to it and to a real node.
//
// It embeds the real spec-218 ("raonet", dynamic TAO) runtime metadata and
// reports that runtime version, so call indices, storage keys, events and
// module errors are the real ones. It does not run the runtime: a Go
// implementation of the operations SN27 needs stands in for it (accounts and
// balances, subnet creation, burned registration with uid reuse, serve_axon,
// add_stake, set_weights with the runtime's checks and error names, hash
// commit-reveal (commit_weights / reveal_weights and their mechanism
// variants, with subtensor's reveal epoch and errors), Sudo,
// Utility.batch_all and the AdminUtils setters), plus an epoch every tempo
// blocks per subnet that runs a simplified Yuma consensus.
//
// Config.Runtime 343 serves subtensor spec 343's real metadata instead (see
// runtime343.go): commit-reveal on for new subnets, set_mechanism_weights
// (mecid 0), and timelocked weight commits that the chain reveals itself at
// the reveal epoch with the pulses of its own drand beacon (Config.Beacon,
// the cryptography of internal/timelock handed in, one pulse per block).
// Items spec 343 no longer has are not served; its events are encoded with
// the fields it adds (zero-filled).
//
// Extrinsics are the signed v4 extrinsics chain.BuildExtrinsic produces: the
// dev chain rebuilds the signing payload from the metadata's signed
// extensions, verifies the sr25519 signature and the nonce, and refuses bad
// ones with substrate's "1010 Invalid Transaction" errors.
//
// One mutex owns the state. Blocks are produced one per extrinsic (instant
// mode, as chopsticks does) or on a timer (Config.BlockTime). The state is
// saved as JSON after every block when Config.StatePath is set, and loaded
// again by New.
package devchain
