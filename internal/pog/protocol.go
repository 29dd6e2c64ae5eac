package pog

import (
	"encoding/hex"
	"fmt"
)

// The prover protocol: the validator starts `sn27 pog serve` in the
// container over SSH and writes one JSON Request per line to its stdin; the
// prover answers each with one JSON Response line on stdout. State (the
// product matrices, the filled memory) lives in the prover process between
// requests. Requests of several devices run on all of them at once, so one
// GPU cannot answer for eight in turn within the deadline.

// Ops of a Request.
const (
	OpIdentify = "identify"
	OpWork     = "work"
	OpOpen     = "open"
	OpFill     = "fill"
	OpPass     = "pass"
	OpOpenMem  = "open_mem"
	OpBye      = "bye"
)

// Limits every side enforces.
const (
	MaxLine       = 64 << 20 // bytes of one request or response line
	MaxDevices    = 16
	MaxN          = 65536 // matrix order
	MaxOpenings   = 256   // rows or chunks opened per device
	MaxChunks     = 1 << 24
	MaxChunkWords = 1 << 20
	MaxRounds     = 1 << 16
	MinOpenings   = 16 // k: openings per device and step the validator asks for
)

// Request is one line to the prover.
type Request struct {
	Op      string    `json:"op"`
	Work    []WorkJob `json:"work,omitempty"`
	Open    []OpenJob `json:"open,omitempty"`
	Fill    []FillJob `json:"fill,omitempty"`
	Pass    []PassJob `json:"pass,omitempty"`
	OpenMem []OpenJob `json:"open_mem,omitempty"`
}

// WorkJob asks device Device for C = A·B of order N from the two seeds and
// a Merkle root over C's rows.
type WorkJob struct {
	Device int    `json:"device"`
	N      int    `json:"n"`
	SeedA  uint64 `json:"seed_a"`
	SeedB  uint64 `json:"seed_b"`
}

// OpenJob asks for the listed rows (work) or chunks (memory) of a device.
type OpenJob struct {
	Device  int   `json:"device"`
	Indices []int `json:"indices"`
}

// FillJob asks device Device to fill Chunks×Words words with FillWord(Seed,
// Rounds, ·, ·).
type FillJob struct {
	Device int    `json:"device"`
	Chunks int    `json:"chunks"`
	Words  int    `json:"words"`
	Rounds int    `json:"rounds"`
	Seed   uint64 `json:"seed"`
}

// PassJob asks for the chunk digests of the fill under Seed and a Merkle
// root over them.
type PassJob struct {
	Device int    `json:"device"`
	Seed   uint64 `json:"seed"`
}

// Response is one line from the prover. Error set means the request failed.
type Response struct {
	Error   string       `json:"error,omitempty"`
	Devices []DeviceInfo `json:"devices,omitempty"`
	Results []Result     `json:"results,omitempty"`
	Opened  []Opened     `json:"opened,omitempty"`
}

// Result answers a work, fill or pass job.
type Result struct {
	Device int     `json:"device"`
	Root   Hash    `json:"root,omitzero"` // work and pass
	Millis float64 `json:"millis"`        // the prover's own timing (reported, not trusted)
	Error  string  `json:"error,omitempty"`
}

// Opened answers an OpenJob.
type Opened struct {
	Device int       `json:"device"`
	Items  []Opening `json:"items"`
}

// Opening is one opened row or chunk: its payload and Merkle path. Rows
// carry N float32 values (little-endian bytes); chunks carry their digest.
type Opening struct {
	Index  int    `json:"index"`
	Row    []byte `json:"row,omitempty"`
	Digest uint64 `json:"digest,omitempty"`
	Path   []Hash `json:"path"`
}

// MarshalText writes h as hex.
func (h Hash) MarshalText() ([]byte, error) { return []byte(hex.EncodeToString(h[:])), nil }

// UnmarshalText reads 64 hex digits.
func (h *Hash) UnmarshalText(b []byte) error {
	if len(b) != 64 {
		return fmt.Errorf("hash: %d hex digits, want 64", len(b))
	}
	_, err := hex.Decode(h[:], b)
	return err
}

// String is the hex form.
func (h Hash) String() string { return hex.EncodeToString(h[:]) }

// IsZero reports whether h is all zeros (no root).
func (h Hash) IsZero() bool { return h == Hash{} }
