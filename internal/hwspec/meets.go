package hwspec

import (
	"fmt"
	"strings"
)

// Requirement is what a renter asks for (the Allocate synapse's
// device_requirement). Zero fields ask for nothing; the GPU part applies
// when any of GPUCount, GPUCapacityMiB or GPUType is set.
type Requirement struct {
	CPUCount       int64  // physical cores
	GPUCount       int64  //
	GPUCapacityMiB int64  // total GPU memory; the report must exceed it
	GPUType        string // case-insensitive substring of the first GPU's name
	DiskBytes      int64  // free disk
	RAMBytes       int64  // available RAM
}

func (q Requirement) wantsGPU() bool {
	return q.GPUCount > 0 || q.GPUCapacityMiB > 0 || q.GPUType != ""
}

// Meets reports whether r satisfies req the way SN27's
// allocate_check_if_miner_meet decides it, and why not when it does not:
// cpu.count >= CPUCount; when a GPU is asked for, gpu.capacity >
// GPUCapacityMiB (strictly), gpu.count >= GPUCount and GPUType is a
// case-insensitive substring of the first GPU's name; hard_disk.free >=
// DiskBytes; ram.available >= RAMBytes.
func (r Report) Meets(req Requirement) (bool, string) {
	if r.CPU.Count < req.CPUCount {
		return false, fmt.Sprintf("cpu count %d < %d", r.CPU.Count, req.CPUCount)
	}
	if req.wantsGPU() {
		switch {
		case r.GPU.Count <= 0 || len(r.GPU.Details) == 0:
			return false, "no gpu"
		case r.GPU.Capacity <= req.GPUCapacityMiB:
			return false, fmt.Sprintf("gpu capacity %d MiB not greater than %d MiB", r.GPU.Capacity, req.GPUCapacityMiB)
		case r.GPU.Count < req.GPUCount:
			return false, fmt.Sprintf("gpu count %d < %d", r.GPU.Count, req.GPUCount)
		case !strings.Contains(strings.ToLower(r.GPU.Details[0].Name), strings.ToLower(req.GPUType)):
			return false, fmt.Sprintf("gpu %q is not of type %q", r.GPU.Details[0].Name, req.GPUType)
		}
	}
	if r.HardDisk.Free < req.DiskBytes {
		return false, fmt.Sprintf("free disk %d B < %d B", r.HardDisk.Free, req.DiskBytes)
	}
	if r.RAM.Available < req.RAMBytes {
		return false, fmt.Sprintf("available ram %d B < %d B", r.RAM.Available, req.RAMBytes)
	}
	return true, ""
}
