// Package scoring holds the pure arithmetic of SN27 validation: the score a
// miner earns for proof-of-work challenges, the difficulty of its next
// challenge, the choice of miners worth querying, and the normalisation of
// scores into on-chain weights.
//
// Two scoring formulas are provided, matching the two eras of the reference
// Python validator (neuralinternet/compute-subnet):
//
//   - [SeedScore]: the per-challenge formula of v1.2.0 (December 2023), the one
//     described in the seed miner guide. Scores are in percent of 1e5 points,
//     capped at 50.
//   - [V15Score]: the statistical formula of v1.5.1 (September 2024), computed
//     over a miner's recent challenge history ([Stats]) and normalised to 0..1.
//
// [NextDifficulty] is the v1.5.1 difficulty adaptation, [Queryable] the v1.5.1
// selection of miners to challenge, and [Normalize] turns scores into weights
// for set_weights.
//
// Every function is deterministic and free of I/O. Where the reference would
// raise an exception (division by zero, a negative base raised to 1.5) or
// return a value outside its documented range, these functions clamp or return
// zero instead; each such case is documented on the function.
//
// The package is a leaf: it imports only the standard library.
package scoring
