package opencl

import (
	"bytes"
	"fmt"
	"sync"
	"unsafe"
)

// LibraryPath is the OpenCL ICD loader opened at run time.
const LibraryPath = "libOpenCL.so.1"

var (
	loadOnce sync.Once
	loaded   *lib
	loadErr  error
)

// load opens the ICD loader once per process.
func load() (*lib, error) {
	loadOnce.Do(func() { loaded, loadErr = openLib(LibraryPath) })
	return loaded, loadErr
}

// Device is one OpenCL device.
type Device struct {
	Index           int    // position in the list Devices returns (--miner.opencl.device)
	Platform        string // platform name, e.g. "Portable Computing Language", "NVIDIA CUDA"
	PlatformVersion string
	Name            string
	Vendor          string
	Type            string // "gpu", "cpu", "accelerator" or "other"
	Version         string // device OpenCL version
	Driver          string
	ComputeUnits    int
	ClockMHz        int
	GlobalMemBytes  uint64

	id, platform uintptr
}

// IsGPU reports whether d is a GPU.
func (d Device) IsGPU() bool { return d.Type == "gpu" }

// String names the device for logs and reports: "name (platform)".
func (d Device) String() string { return fmt.Sprintf("%s (%s)", d.Name, d.Platform) }

// Devices lists every device of every OpenCL platform. It fails with an
// error matching ErrUnavailable when the ICD loader cannot be loaded or no
// platform or device exists.
func Devices() ([]Device, error) {
	l, err := load()
	if err != nil {
		return nil, err
	}
	return l.devices()
}

func (l *lib) devices() ([]Device, error) {
	var n uint32
	if code := l.getPlatformIDs(0, nil, &n); code != clSuccess || n == 0 {
		if code == clSuccess || code == -1001 {
			return nil, fmt.Errorf("%w: no OpenCL platform (no driver in /etc/OpenCL/vendors: install NVIDIA's or AMD's driver, or pocl-opencl-icd)", ErrUnavailable)
		}
		return nil, fmt.Errorf("%w: %v", ErrUnavailable, check("clGetPlatformIDs", code))
	}
	plats := make([]uintptr, n)
	if err := check("clGetPlatformIDs", l.getPlatformIDs(n, &plats[0], nil)); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	var out []Device
	for _, p := range plats {
		pname := l.platformString(p, clPlatformName)
		pver := l.platformString(p, clPlatformVersion)
		var nd uint32
		if code := l.getDeviceIDs(p, clDeviceTypeAll, 0, nil, &nd); code != clSuccess || nd == 0 {
			continue // a platform without devices (e.g. a driver for absent hardware)
		}
		ids := make([]uintptr, nd)
		if code := l.getDeviceIDs(p, clDeviceTypeAll, nd, &ids[0], nil); code != clSuccess {
			continue
		}
		for _, id := range ids {
			d := Device{
				Index: len(out), Platform: pname, PlatformVersion: pver,
				Name:    l.deviceString(id, clDeviceName),
				Vendor:  l.deviceString(id, clDeviceVendor),
				Version: l.deviceString(id, clDeviceVersion),
				Driver:  l.deviceString(id, clDriverVersion),
				id:      id, platform: p,
			}
			switch t := l.deviceUint64(id, clDeviceType); {
			case t&clDeviceTypeGPU != 0:
				d.Type = "gpu"
			case t&clDeviceTypeCPU != 0:
				d.Type = "cpu"
			case t&clDeviceTypeAccelerator != 0:
				d.Type = "accelerator"
			default:
				d.Type = "other"
			}
			d.ComputeUnits = int(l.deviceUint32(id, clDeviceMaxComputeUnits))
			d.ClockMHz = int(l.deviceUint32(id, clDeviceMaxClock))
			d.GlobalMemBytes = l.deviceUint64(id, clDeviceGlobalMemSize)
			out = append(out, d)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: %d OpenCL platform(s) but no device", ErrUnavailable, n)
	}
	return out, nil
}

func (l *lib) platformString(p uintptr, param uint32) string {
	var size uintptr
	if l.getPlatformInfo(p, param, 0, nil, &size) != clSuccess || size == 0 {
		return ""
	}
	b := make([]byte, size)
	if l.getPlatformInfo(p, param, size, unsafe.Pointer(&b[0]), nil) != clSuccess {
		return ""
	}
	return cString(b)
}

func (l *lib) deviceString(d uintptr, param uint32) string {
	var size uintptr
	if l.getDeviceInfo(d, param, 0, nil, &size) != clSuccess || size == 0 {
		return ""
	}
	b := make([]byte, size)
	if l.getDeviceInfo(d, param, size, unsafe.Pointer(&b[0]), nil) != clSuccess {
		return ""
	}
	return cString(b)
}

func (l *lib) deviceUint32(d uintptr, param uint32) uint32 {
	var v uint32
	l.getDeviceInfo(d, param, 4, unsafe.Pointer(&v), nil)
	return v
}

func (l *lib) deviceUint64(d uintptr, param uint32) uint64 {
	var v uint64
	l.getDeviceInfo(d, param, 8, unsafe.Pointer(&v), nil)
	return v
}

func (l *lib) deviceSize(d uintptr, param uint32) uintptr {
	var v uintptr
	l.getDeviceInfo(d, param, unsafe.Sizeof(v), unsafe.Pointer(&v), nil)
	return v
}

// cString returns b up to its first NUL, trimmed.
func cString(b []byte) string {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	return string(bytes.TrimSpace(b))
}
