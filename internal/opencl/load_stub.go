//go:build !(linux && (amd64 || arm64)) || noopencl

package opencl

import (
	"fmt"
	"runtime"
)

// BuiltIn says whether this build can load OpenCL (false with -tags noopencl).
const BuiltIn = false

// openLib fails: this build has no OpenCL loader (the noopencl tag, or a
// platform purego is not used on here).
func openLib(path string) (*lib, error) {
	return nil, fmt.Errorf("%w: this sn27 was built without OpenCL support (%s/%s, or -tags noopencl)", ErrUnavailable, runtime.GOOS, runtime.GOARCH)
}
