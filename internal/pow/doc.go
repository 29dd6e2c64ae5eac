// Package pow creates, validates, solves and verifies SN27 proof-of-work
// challenges: hashcat mode 610, BLAKE2b-512 of password followed by salt.
//
// Challenges are byte-compatible with the Python SN27 validator: the hash is
// "$BLAKE2$" followed by the 128 lowercase hex digits of the unkeyed 64-byte
// digest, the salt is 16 lowercase hex characters, the alphabet is a random
// subset of [BaseCharset] and the mask is "?1" repeated difficulty times.
//
// The package is a leaf: it imports only the standard library and
// golang.org/x/crypto.
package pow

//go:generate go run ./asm -out kernel_amd64.s -stubs kernel_stub_amd64.go -groups kernel_groups_amd64.go -scalar kernel_gen.go -pkg pow
