package pog

// DeviceInfo is what a prover reports of one device (the identity step).
// Fields the driver does not report are empty.
type DeviceInfo struct {
	Index        int    `json:"index"`
	Name         string `json:"name"`
	Vendor       string `json:"vendor"`
	Type         string `json:"type"` // "gpu", "cpu", "accelerator", "other"
	Platform     string `json:"platform"`
	Driver       string `json:"driver"`
	VRAMBytes    uint64 `json:"vram_bytes"`    // CL_DEVICE_GLOBAL_MEM_SIZE
	MaxAlloc     uint64 `json:"max_alloc"`     // CL_DEVICE_MAX_MEM_ALLOC_SIZE
	ComputeUnits int    `json:"compute_units"` // CL_DEVICE_MAX_COMPUTE_UNITS
	ClockMHz     int    `json:"clock_mhz"`
	PCIBusID     string `json:"pci_bus_id,omitempty"` // "0000:18:00.0" (cl_khr_pci_bus_info or NVIDIA's attributes)
	UUID         string `json:"uuid,omitempty"`       // cl_khr_device_uuid, lowercase hex 8-4-4-4-12 (nvidia-smi shows it as GPU-…)
	FP16         bool   `json:"fp16"`                 // cl_khr_fp16
}
