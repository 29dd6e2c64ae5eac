package timelock

import (
	"bytes"
	"errors"
	"fmt"
	"time"

	"github.com/sn27/sn27/internal/scale"
)

// WeightsPayload is subtensor's WeightsTlockPayload, the plaintext of a
// timelocked weights commit (pallets/subtensor/src/coinbase/reveal_commits.rs;
// bittensor-drand src/drand.rs). Hotkey is the committer's 32-byte public key.
type WeightsPayload struct {
	Hotkey     []byte
	UIDs       []uint16
	Values     []uint16
	VersionKey uint64
}

// LegacyWeightsPayload is the payload before the hotkey was added, which the
// chain still accepts.
type LegacyWeightsPayload struct {
	UIDs       []uint16
	Values     []uint16
	VersionKey uint64
}

// ErrHotkeyMismatch means a payload names a hotkey other than the committer.
var ErrHotkeyMismatch = errors.New("timelock: payload hotkey is not the committer")

// Encode returns the SCALE encoding: Vec<u8>, Vec<u16>, Vec<u16>, u64.
func (p WeightsPayload) Encode() []byte {
	e := scale.NewEncoder(make([]byte, 0, 2+len(p.Hotkey)+4+2*len(p.UIDs)+2*len(p.Values)+8))
	e.Bytes(p.Hotkey)
	appendU16s(e, p.UIDs)
	appendU16s(e, p.Values)
	return e.U64(p.VersionKey).Data()
}

// Encode returns the SCALE encoding: Vec<u16>, Vec<u16>, u64.
func (p LegacyWeightsPayload) Encode() []byte {
	e := scale.NewEncoder(nil)
	appendU16s(e, p.UIDs)
	appendU16s(e, p.Values)
	return e.U64(p.VersionKey).Data()
}

func appendU16s(e *scale.Encoder, v []uint16) {
	e.Compact(uint64(len(v)))
	for _, x := range v {
		e.U16(x)
	}
}

func readU16s(d *scale.Decoder) []uint16 {
	n := d.Len(2)
	if d.Err() != nil {
		return nil
	}
	v := make([]uint16, n)
	for i := range v {
		v[i] = d.U16()
	}
	return v
}

// DecodeWeightsPayload decodes a WeightsPayload. Like the chain's
// `Decode::decode` it ignores bytes after the payload.
func DecodeWeightsPayload(b []byte) (WeightsPayload, error) {
	d := scale.NewDecoder(b)
	var p WeightsPayload
	p.Hotkey = bytes.Clone(d.Bytes())
	p.UIDs = readU16s(d)
	p.Values = readU16s(d)
	p.VersionKey = d.U64()
	if err := d.Err(); err != nil {
		return WeightsPayload{}, fmt.Errorf("decode weights payload: %w", err)
	}
	return p, nil
}

// DecodeLegacyWeightsPayload decodes a LegacyWeightsPayload, ignoring bytes
// after it as the chain does.
func DecodeLegacyWeightsPayload(b []byte) (LegacyWeightsPayload, error) {
	d := scale.NewDecoder(b)
	var p LegacyWeightsPayload
	p.UIDs = readU16s(d)
	p.Values = readU16s(d)
	p.VersionKey = d.U64()
	if err := d.Err(); err != nil {
		return LegacyWeightsPayload{}, fmt.Errorf("decode legacy weights payload: %w", err)
	}
	return p, nil
}

// OpenWeights reads decrypted commit bytes as subtensor's reveal does for the
// committer's 32-byte account: the current payload whose hotkey's first 32
// bytes must be the committer; if it does not decode, or its hotkey is
// shorter than 32 bytes, the legacy payload.
func OpenWeights(plain, committer []byte) (LegacyWeightsPayload, error) {
	if p, err := DecodeWeightsPayload(plain); err == nil && len(p.Hotkey) >= 32 {
		if !bytes.Equal(p.Hotkey[:32], committer) {
			return LegacyWeightsPayload{}, ErrHotkeyMismatch
		}
		return LegacyWeightsPayload{UIDs: p.UIDs, Values: p.Values, VersionKey: p.VersionKey}, nil
	}
	return DecodeLegacyWeightsPayload(plain)
}

// RevealSchedule is what bittensor-drand's generate_commit needs to pick a
// reveal round (src/drand.rs, v1.2.0).
type RevealSchedule struct {
	CurrentBlock       uint64
	Tempo              uint64
	NetUID             uint16
	RevealPeriodEpochs uint64
	BlockTime          time.Duration
}

// revealBlockOffset is bittensor-drand's SECURITY_BLOCK_OFFSET: the pulse is
// aimed at the third block of the reveal epoch.
const revealBlockOffset = 3

// RevealBlock is the block whose pulse the commit targets: the first block of
// the reveal epoch plus 3, with epochs of tempo+1 blocks offset by netuid+1.
func (s RevealSchedule) RevealBlock() uint64 {
	tempo1 := s.Tempo + 1
	net1 := uint64(s.NetUID) + 1
	epoch := (s.CurrentBlock + net1) / tempo1
	first := (epoch + s.RevealPeriodEpochs) * tempo1
	if first < net1 {
		first = 0
	} else {
		first -= net1
	}
	return first + revealBlockOffset
}

// RevealRound returns the round bittensor-drand v1.2.0 commits for at time
// now: floor((now + blocks to RevealBlock × BlockTime − genesis) / period),
// at least 1. Clients that anchor on Drand.LastStoredRound, or a dynamic
// tempo, need their own block target; RoundAt converts a time.
func RevealRound(b Beacon, now time.Time, s RevealSchedule) uint64 {
	if b.PeriodSeconds == 0 {
		return 1
	}
	var blocks uint64
	if rb := s.RevealBlock(); rb > s.CurrentBlock {
		blocks = rb - s.CurrentBlock
	}
	target := now.UnixNano() + int64(blocks)*int64(s.BlockTime)
	since := target - int64(b.GenesisUnix)*int64(time.Second)
	if since <= 0 {
		return 1
	}
	round := uint64(since) / (b.PeriodSeconds * uint64(time.Second))
	return max(round, 1)
}
