package pog

import (
	"encoding/json"
	"time"
)

// Steps a verdict can fail at.
const (
	StepAllocate = "allocate" // the validator could not get its test allocation
	StepConnect  = "connect"  // SSH, host key, upload or the binary's hash
	StepIdentify = "identify"
	StepWork     = "work"
	StepOpen     = "open"
	StepFill     = "fill"
	StepPass     = "pass"
	StepOpenMem  = "open_mem"
)

// VerdictVersion is the version of the verdict format and of its signing
// bytes.
const VerdictVersion = 1

// Verdict is a validator's signed finding on one miner's GPUs, with the
// evidence it rests on.
type Verdict struct {
	Version   int       `json:"version"`
	Hotkey    string    `json:"hotkey"`    // the miner
	Validator string    `json:"validator"` // the signing validator's hotkey (SS58)
	Block     uint64    `json:"block"`     // the chain's block when the proof started
	Time      time.Time `json:"time"`      // when it ended (UTC)
	Passed    bool      `json:"passed"`
	Model     string    `json:"model"` // verified model; "" when none, Unknown when no band fits
	GPUs      int       `json:"gpus"`  // GPUs verified as Model
	// Claimed is what the miner's hardware report says.
	ClaimedModel string `json:"claimed_model"`
	ClaimedGPUs  int    `json:"claimed_gpus"`
	// Estimated marks a verdict resting on a model entry whose bands were not
	// yet measured on real hardware.
	Estimated    bool            `json:"estimated"`
	FailedStep   string          `json:"failed_step,omitempty"`
	Reason       string          `json:"reason,omitempty"`
	TableVersion int             `json:"table_version"`
	Binary       string          `json:"binary_sha256,omitempty"` // the prover binary run in the container
	RTTMillis    float64         `json:"rtt_ms"`
	Millis       float64         `json:"millis"` // the whole proof
	Devices      []DeviceVerdict `json:"devices,omitempty"`
	Signature    string          `json:"signature"` // sr25519 by Validator over SigningBytes, hex
}

// DeviceVerdict is the evidence for one device.
type DeviceVerdict struct {
	Device     DeviceInfo `json:"device"`
	Model      string     `json:"model"`
	Passed     bool       `json:"passed"`
	FailedStep string     `json:"failed_step,omitempty"`
	Reason     string     `json:"reason,omitempty"`

	N          int     `json:"n"`
	SeedA      uint64  `json:"seed_a"`
	SeedB      uint64  `json:"seed_b"`
	WorkRoot   Hash    `json:"work_root,omitzero"`
	WorkMillis float64 `json:"work_ms"`
	GFLOPS     float64 `json:"gflops"`
	Rows       []int   `json:"rows,omitempty"` // opened
	Cols       int     `json:"cols_per_row"`   // elements recomputed per opened row

	MemBytes   int64   `json:"mem_bytes"`
	Chunks     int     `json:"chunks"`
	Words      int     `json:"words"`
	Rounds     int     `json:"rounds"`
	FillSeed   uint64  `json:"fill_seed"`
	PassSeed   uint64  `json:"pass_seed"`
	MemRoot    Hash    `json:"mem_root,omitzero"`
	FillMillis float64 `json:"fill_ms"`
	PassMillis float64 `json:"pass_ms"`
	MemGBps    float64 `json:"mem_gbps"`
	Opened     []int   `json:"chunks_opened,omitempty"`
}

// signingPrefix separates verdict signatures from any other use of a
// hotkey's signature.
const signingPrefix = "sn27-pog-verdict-v1\n"

// SigningBytes are the bytes a validator signs: a fixed prefix and the
// verdict's JSON with the signature empty. Verifiers decode the verdict and
// encode it again, so a field not in this version is not signed (and not
// trusted).
func (v Verdict) SigningBytes() ([]byte, error) {
	v.Signature = ""
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return append([]byte(signingPrefix), b...), nil
}

// Credit is what the verdict is worth under --validator.scoring pog:
// the model's score times the verified GPUs (at most 8), and nothing for a
// verdict that failed.
func Credit(v Verdict, models []Model) float64 {
	if !v.Passed || v.GPUs <= 0 {
		return 0
	}
	for _, m := range models {
		if m.Name == v.Model {
			return m.Score * float64(min(v.GPUs, 8))
		}
	}
	return 0
}
