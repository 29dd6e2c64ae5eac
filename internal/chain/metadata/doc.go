// Package metadata decodes Substrate runtime metadata, versions 14, 15 and
// 16 (frame-metadata with the scale-info "portable" type registry), and
// answers the questions a subtensor client and a dev chain ask of it: pallet
// and call indices, storage keys and value types, module errors, signed
// extensions, constants, runtime APIs (V15 and V16), and generic SCALE
// decoding and encoding of any registered type.
//
// Decode takes the bytes of state_getMetadata ("meta" magic, version byte,
// RuntimeMetadataV14, V15 or V16). DecodeAtVersion takes the result of
// state_call("Metadata_metadata_at_version", u32 version), which is an
// Option<OpaqueMetadata>, i.e. 0x01 + compact length + the same bytes.
// A Metadata is immutable after decoding and safe for concurrent use. It does
// not keep a reference to the input slice.
//
// # Metadata V16
//
// V16 (frame-metadata 23, as subtensor runtimes from 2025 serve it) is read
// completely; every query above works on it as on V15. What it adds is kept
// where a client can use it: the extrinsic versions the runtime accepts
// (ExtrinsicVersions), the transaction extensions of each transaction
// extension version (TransactionExtensions; SignedExtensions returns those
// of version 0, which v4 signed extrinsics use), deprecation of pallets,
// calls and storage items (Pallet.Deprecation, Call.Deprecation,
// StorageEntry.Deprecation), pallet associated types (AssociatedType), view
// functions (ViewFunction) and runtime API versions (RuntimeAPIVersion).
// Deprecation of events, errors, constants and runtime APIs is decoded and
// checked but not kept. V16 has no runtime type.
//
// # Value shapes
//
// DecodeValue turns SCALE bytes of a registered type into these Go values,
// and EncodeValue accepts the same shapes (plus the conveniences noted):
//
//   - bool → bool; str → string (must be valid UTF-8; EncodeValue also takes []byte);
//     char → rune (a Unicode scalar value).
//   - u8, u16, u32, u64 → uint64; i8, i16, i32, i64 → int64;
//     u128, u256, i128, i256 → *big.Int. EncodeValue takes any Go integer type,
//     *big.Int or big.Int for any integer primitive, and checks the range.
//   - Compact<T> → uint64, or *big.Int when the value does not fit in 64 bits
//     (only possible for Compact<u128>/Compact<u256>). T may be an unsigned
//     primitive or a newtype around one (Compact<Perbill>); Compact<()> → nil.
//   - Composite (struct): no fields → nil; all fields named → map[string]any
//     keyed by field name; exactly one unnamed field → that field's value
//     (newtypes such as AccountId32, H256 or Perbill are transparent, as in
//     polkadot.js); several unnamed fields → []any in field order. EncodeValue
//     rejects missing and unknown map keys.
//   - Variant (enum) → Variant{Name, Index, Fields}; Fields follows the
//     composite rules (nil for a variant without fields), so Option<T> is
//     Variant{Name: "Some", Index: 1, Fields: <T>} and Result is Ok/Err.
//     EncodeValue takes Variant or *Variant (looked up by Name when Name is set,
//     else by Index), or a string naming a variant without fields.
//   - Sequence (Vec<T>) and array ([T; N]) → []any, except that a sequence or
//     array whose element type is the primitive u8 → []byte (a copy).
//     EncodeValue also takes any Go slice or array (e.g. []uint16), and a
//     string for u8 sequences; an array needs exactly N elements.
//   - Tuple → []any; the unit tuple () → nil. A 1-tuple stays []any{v}.
//   - BitSequence (BitVec) → []byte holding its whole SCALE encoding (the
//     compact bit count followed by the store words), so it round-trips
//     unchanged whatever the store and order types are.
//
// No other special cases: AccountId32 is a newtype around [u8; 32], so it is
// a []byte of 32 bytes.
//
// DecodeValue is strict, as parity-scale-codec is: booleans and option tags
// must be 0 or 1, compact integers must use their shortest form and fit their
// type, strings must be UTF-8, variant indices must exist. Hence for every input
// that DecodeValue accepts, EncodeValue of the result reproduces the bytes
// exactly.
//
// # Limits
//
// Nesting is bounded by 64 levels (deeper values are an error, also for
// EncodeValue). DecodeValue produces at most 8 values per input byte plus
// 256 (zero-sized types such as () count as values), so malformed input or
// metadata cannot make it allocate more than its input justifies. Decode
// checks every length against the bytes left and every type reference
// against the registry, so it never panics or over-allocates on bad input.
package metadata
