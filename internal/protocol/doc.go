// Package protocol holds the wire types of Bittensor's axon/dendrite
// protocol (Synapse, TerminalInfo, the bt_header_* headers, the body hash)
// and SN27's synapses (Specs, Allocate, Challenge), byte-compatible with
// bittensor v9 and compute-subnet. It is a leaf: standard library only.
package protocol

// Version of this package's wire format, bumped with every change.
//
//	1 (2026-11-25): Synapse, TerminalInfo, headers; Specs, Allocate, Challenge.
const Version = 1

// SN27 reference versions this implementation interoperates with.
const (
	// SN27Version is compute-subnet's __version__ we speak.
	SN27Version = "1.8.3"
	// SN27VersionInt is its __version_as_int__ (100*major + 10*minor + patch):
	// the axon version served on chain and the weights version_key.
	SN27VersionInt = 183
	// BittensorVersionInt is what our dendrite claims in
	// bt_header_dendrite_version: bittensor 9.0.0. Axons apply the v7.2+
	// nonce rules (wall-clock nanoseconds) at or above 7002000.
	BittensorVersionInt = 9_000_000
	// NonceRulesVersion is bittensor 7.2.0, from which nonces are wall-clock
	// nanoseconds checked against a time window.
	NonceRulesVersion = 7_002_000
)
