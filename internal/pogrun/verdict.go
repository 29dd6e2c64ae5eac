package pogrun

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/sn27/sn27/internal/keys"
	"github.com/sn27/sn27/internal/pog"
)

// Sign fills v.Validator and v.Signature with key's sr25519 signature of
// v.SigningBytes().
func Sign(key *keys.Pair, v *pog.Verdict) error {
	v.Validator = key.SS58()
	msg, err := v.SigningBytes()
	if err != nil {
		return err
	}
	if v.Signature, err = key.SignHex(msg); err != nil {
		return fmt.Errorf("sign verdict: %w", err)
	}
	return nil
}

// ErrBadVerdict is matched by every failed verdict check.
var ErrBadVerdict = errors.New("verdict not valid")

// Verify checks that v is signed by validator (SS58; "" accepts the
// verdict's own Validator field, which then only proves integrity).
func Verify(v pog.Verdict, validator string) error {
	if v.Version != pog.VerdictVersion {
		return fmt.Errorf("%w: version %d, this build reads %d", ErrBadVerdict, v.Version, pog.VerdictVersion)
	}
	if validator != "" && v.Validator != validator {
		return fmt.Errorf("%w: signed by %s, not %s", ErrBadVerdict, v.Validator, validator)
	}
	msg, err := v.SigningBytes()
	if err != nil {
		return fmt.Errorf("%w: %v", ErrBadVerdict, err)
	}
	if err := keys.VerifyHex(v.Validator, msg, v.Signature); err != nil {
		return fmt.Errorf("%w: signature of %s: %v", ErrBadVerdict, v.Validator, err)
	}
	return nil
}

// ParseVerdict decodes one verdict (at most 4 MiB).
func ParseVerdict(b []byte) (pog.Verdict, error) {
	var v pog.Verdict
	if len(b) > 4<<20 {
		return v, fmt.Errorf("%w: %d bytes", ErrBadVerdict, len(b))
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return v, fmt.Errorf("%w: %v", ErrBadVerdict, err)
	}
	return v, nil
}
