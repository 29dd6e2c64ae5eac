//go:build linux && (amd64 || arm64) && !noopencl

package opencl

import (
	"fmt"

	"github.com/ebitengine/purego"
)

// BuiltIn says whether this build can load OpenCL (false with -tags noopencl).
const BuiltIn = true

// openLib loads the OpenCL ICD loader and resolves the entry points.
// purego needs no cgo, but it makes the Go linker emit a dynamically linked
// executable (interpreter ld-linux, libc, libdl, libpthread); build with
// -tags noopencl for a fully static binary without the OpenCL solver.
func openLib(path string) (l *lib, err error) {
	h, err := purego.Dlopen(path, purego.RTLD_NOW|purego.RTLD_GLOBAL)
	if err != nil {
		return nil, fmt.Errorf("%w: load the OpenCL ICD loader %s: %v (install ocl-icd-libopencl1 and a driver: NVIDIA's, AMD's, or pocl-opencl-icd for CPUs)", ErrUnavailable, path, err)
	}
	defer func() {
		// RegisterLibFunc panics on a missing symbol.
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: %s: %v", ErrUnavailable, path, r)
			l = nil
		}
	}()
	l = &lib{}
	for name, fn := range map[string]any{
		"clGetPlatformIDs":          &l.getPlatformIDs,
		"clGetPlatformInfo":         &l.getPlatformInfo,
		"clGetDeviceIDs":            &l.getDeviceIDs,
		"clGetDeviceInfo":           &l.getDeviceInfo,
		"clCreateContext":           &l.createContext,
		"clCreateCommandQueue":      &l.createCommandQueue,
		"clCreateProgramWithSource": &l.createProgramWithSrc,
		"clBuildProgram":            &l.buildProgram,
		"clGetProgramBuildInfo":     &l.getProgramBuildInfo,
		"clCreateKernel":            &l.createKernel,
		"clGetKernelWorkGroupInfo":  &l.getKernelWorkGroupInfo,
		"clCreateBuffer":            &l.createBuffer,
		"clSetKernelArg":            &l.setKernelArg,
		"clEnqueueWriteBuffer":      &l.enqueueWriteBuffer,
		"clEnqueueReadBuffer":       &l.enqueueReadBuffer,
		"clEnqueueNDRangeKernel":    &l.enqueueNDRangeKernel,
		"clFinish":                  &l.finish,
		"clReleaseMemObject":        &l.releaseMemObject,
		"clReleaseKernel":           &l.releaseKernel,
		"clReleaseProgram":          &l.releaseProgram,
		"clReleaseCommandQueue":     &l.releaseCommandQueue,
		"clReleaseContext":          &l.releaseContext,
	} {
		purego.RegisterLibFunc(fn, h, name)
	}
	return l, nil
}
