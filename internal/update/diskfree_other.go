//go:build !linux && !darwin

package update

import "errors"

// diskFree is not known here: Apply skips the check (a full disk while
// writing is still refused).
func diskFree(string) (uint64, error) { return 0, errors.ErrUnsupported }
