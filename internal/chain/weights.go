package chain

import (
	"errors"
	"fmt"
	"math"
)

// WeightsForEmit converts float weights to the u16 values set_weights
// takes, as bittensor's convert_weights_and_uids_for_emit does: reject
// negative values and length mismatches; all zero → nothing; divide by the
// maximum; round half to even (Python's round) of w*65535; drop zeros.
func WeightsForEmit(uids []UID, weights []float64) ([]UID, []uint16, error) {
	if len(uids) != len(weights) {
		return nil, nil, fmt.Errorf("%d uids but %d weights", len(uids), len(weights))
	}
	maxW := 0.0
	for _, w := range weights {
		if w < 0 || math.IsNaN(w) || math.IsInf(w, 0) {
			return nil, nil, errors.New("weights must be finite and non-negative")
		}
		maxW = max(maxW, w)
	}
	if maxW == 0 {
		return nil, nil, nil
	}
	var outU []UID
	var outW []uint16
	for i, w := range weights {
		v := math.RoundToEven(w / maxW * 65535)
		if v == 0 {
			continue
		}
		outU = append(outU, uids[i])
		outW = append(outW, uint16(v))
	}
	return outU, outW, nil
}
