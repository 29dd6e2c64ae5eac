package opencl

import (
	"errors"
	"fmt"
	"unsafe"
)

// lib holds the OpenCL 1.2 entry points this package calls, resolved from
// the ICD loader at run time (load_purego.go).
type lib struct {
	getPlatformIDs         func(num uint32, platforms *uintptr, numRet *uint32) int32
	getPlatformInfo        func(platform uintptr, param uint32, size uintptr, value unsafe.Pointer, sizeRet *uintptr) int32
	getDeviceIDs           func(platform uintptr, typ uint64, num uint32, devices *uintptr, numRet *uint32) int32
	getDeviceInfo          func(device uintptr, param uint32, size uintptr, value unsafe.Pointer, sizeRet *uintptr) int32
	createContext          func(props *uintptr, num uint32, devices *uintptr, notify, user uintptr, errRet *int32) uintptr
	createCommandQueue     func(ctx, device uintptr, props uint64, errRet *int32) uintptr
	createProgramWithSrc   func(ctx uintptr, count uint32, src **byte, lengths *uintptr, errRet *int32) uintptr
	buildProgram           func(prog uintptr, num uint32, devices *uintptr, options string, notify, user uintptr) int32
	getProgramBuildInfo    func(prog, device uintptr, param uint32, size uintptr, value unsafe.Pointer, sizeRet *uintptr) int32
	createKernel           func(prog uintptr, name string, errRet *int32) uintptr
	getKernelWorkGroupInfo func(kernel, device uintptr, param uint32, size uintptr, value unsafe.Pointer, sizeRet *uintptr) int32
	createBuffer           func(ctx uintptr, flags uint64, size uintptr, host unsafe.Pointer, errRet *int32) uintptr
	setKernelArg           func(kernel uintptr, index uint32, size uintptr, value unsafe.Pointer) int32
	enqueueWriteBuffer     func(q, buf uintptr, blocking uint32, offset, size uintptr, ptr unsafe.Pointer, nEvents uint32, events, event *uintptr) int32
	enqueueReadBuffer      func(q, buf uintptr, blocking uint32, offset, size uintptr, ptr unsafe.Pointer, nEvents uint32, events, event *uintptr) int32
	enqueueNDRangeKernel   func(q, kernel uintptr, dims uint32, offset, global, local *uintptr, nEvents uint32, events, event *uintptr) int32
	finish                 func(q uintptr) int32
	releaseMemObject       func(uintptr) int32
	releaseKernel          func(uintptr) int32
	releaseProgram         func(uintptr) int32
	releaseCommandQueue    func(uintptr) int32
	releaseContext         func(uintptr) int32
}

// OpenCL constants (CL/cl.h).
const (
	clSuccess = 0

	clPlatformVersion = 0x0901
	clPlatformName    = 0x0902
	clPlatformVendor  = 0x0903

	clDeviceTypeCPU         = 1 << 1
	clDeviceTypeGPU         = 1 << 2
	clDeviceTypeAccelerator = 1 << 3
	clDeviceTypeAll         = 0xFFFFFFFF

	clDeviceType                  = 0x1000
	clDeviceMaxComputeUnits       = 0x1002
	clDeviceMaxWorkGroupSize      = 0x1004
	clDeviceMaxClock              = 0x100C
	clDeviceGlobalMemSize         = 0x101F
	clDeviceName                  = 0x102B
	clDeviceVendor                = 0x102C
	clDriverVersion               = 0x102D
	clDeviceVersion               = 0x102F
	clDeviceNativeVectorWidthLong = 0x1039

	clContextPlatform = 0x1084

	clProgramBuildLog = 0x1183

	clKernelWorkGroupSize                  = 0x11B0
	clKernelPreferredWorkGroupSizeMultiple = 0x11B3

	clMemReadWrite = 1 << 0
	clMemReadOnly  = 1 << 2
)

// Device queries of the proof-of-GPU prover (pog.go): limits, and the
// identity extensions (queried only when the device lists them).
const (
	clDeviceNativeVectorWidthFloat = 0x103A
	clDeviceMaxMemAllocSize        = 0x1010
	clDeviceLocalMemSize           = 0x1023
	clDeviceExtensions             = 0x1030
	clDeviceUUIDKHR                = 0x106A // cl_khr_device_uuid: 16 bytes
	clDevicePCIBusInfoKHR          = 0x410F // cl_khr_pci_bus_info: 4 cl_uint (domain, bus, device, function)
	clDevicePCIBusIDNV             = 0x4008 // cl_nv_device_attribute_query
	clDevicePCISlotIDNV            = 0x4009 // device<<3 | function
	clDevicePCIDomainIDNV          = 0x400A // newer NVIDIA drivers only
)

// ErrUnavailable is matched (errors.Is) when the OpenCL runtime cannot be
// used at all: no ICD loader, no platform, no device.
var ErrUnavailable = errors.New("opencl unavailable")

// ErrDevice is matched when a device fails while searching (device lost,
// out of resources); the solver should not be used again.
var ErrDevice = errors.New("opencl device failed")

// Error is a failed OpenCL call.
type Error struct {
	Op   string // the OpenCL function, e.g. "clBuildProgram"
	Code int32
}

func (e *Error) Error() string {
	return fmt.Sprintf("%s: %s (%d)", e.Op, codeName(e.Code), e.Code)
}

// Is makes errors.Is(err, ErrDevice) true for the codes a failing or lost
// device returns.
func (e *Error) Is(target error) bool {
	switch e.Code {
	case -2, -4, -5, -6, -14, -9999: // device not available, mem alloc failure, out of resources, out of host memory, exec status error, NVIDIA's illegal address
		return target == ErrDevice
	case -1, -32: // device not found, invalid platform
		return target == ErrUnavailable
	}
	return false
}

func check(op string, code int32) error {
	if code == clSuccess {
		return nil
	}
	return &Error{Op: op, Code: code}
}

func codeName(c int32) string {
	names := map[int32]string{
		-1: "CL_DEVICE_NOT_FOUND", -2: "CL_DEVICE_NOT_AVAILABLE", -3: "CL_COMPILER_NOT_AVAILABLE",
		-4: "CL_MEM_OBJECT_ALLOCATION_FAILURE", -5: "CL_OUT_OF_RESOURCES", -6: "CL_OUT_OF_HOST_MEMORY",
		-7: "CL_PROFILING_INFO_NOT_AVAILABLE", -11: "CL_BUILD_PROGRAM_FAILURE", -14: "CL_EXEC_STATUS_ERROR_FOR_EVENTS_IN_WAIT_LIST",
		-30: "CL_INVALID_VALUE", -31: "CL_INVALID_DEVICE_TYPE", -32: "CL_INVALID_PLATFORM", -33: "CL_INVALID_DEVICE",
		-34: "CL_INVALID_CONTEXT", -36: "CL_INVALID_COMMAND_QUEUE", -38: "CL_INVALID_MEM_OBJECT",
		-44: "CL_INVALID_PROGRAM", -45: "CL_INVALID_PROGRAM_EXECUTABLE", -46: "CL_INVALID_KERNEL_NAME",
		-48: "CL_INVALID_KERNEL", -49: "CL_INVALID_ARG_INDEX", -50: "CL_INVALID_ARG_VALUE", -51: "CL_INVALID_ARG_SIZE",
		-52: "CL_INVALID_KERNEL_ARGS", -53: "CL_INVALID_WORK_DIMENSION", -54: "CL_INVALID_WORK_GROUP_SIZE",
		-55: "CL_INVALID_WORK_ITEM_SIZE", -56: "CL_INVALID_GLOBAL_OFFSET", -61: "CL_INVALID_BUFFER_SIZE",
		-63: "CL_INVALID_GLOBAL_WORK_SIZE", -1001: "CL_PLATFORM_NOT_FOUND_KHR (no OpenCL driver registered in /etc/OpenCL/vendors)",
	}
	if n, ok := names[c]; ok {
		return n
	}
	return "OpenCL error"
}
