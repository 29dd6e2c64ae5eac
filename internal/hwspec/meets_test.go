package hwspec

import (
	"strings"
	"testing"
)

func TestMeets(t *testing.T) {
	const gib = 1 << 30
	h100x2 := Report{
		CPU: CPU{Count: 32, Frequency: 3200},
		GPU: GPU{Count: 2, Capacity: 2 * 81559, Details: []GPUDetail{
			{Name: "NVIDIA H100 80GB HBM3", Capacity: 81559}, {Name: "NVIDIA H100 80GB HBM3", Capacity: 81559},
		}},
		HardDisk: Disk{Free: 500 * gib},
		RAM:      RAM{Available: 256 * gib},
	}
	noGPU := h100x2
	noGPU.GPU = GPU{}
	countWithoutDetails := h100x2
	countWithoutDetails.GPU.Details = nil

	tests := []struct {
		name       string
		rep        Report
		req        Requirement
		want       bool
		wantReason string
	}{
		{name: "nothing asked", rep: noGPU, want: true},
		{name: "renter default", rep: h100x2, req: Requirement{CPUCount: 1, GPUCount: 1, GPUCapacityMiB: 81000, GPUType: "h100", DiskBytes: gib, RAMBytes: gib}, want: true},
		{name: "cpu equal", rep: h100x2, req: Requirement{CPUCount: 32}, want: true},
		{name: "cpu short", rep: h100x2, req: Requirement{CPUCount: 33}, wantReason: "cpu count 32 < 33"},
		{name: "gpu type case-insensitive substring", rep: h100x2, req: Requirement{GPUType: "h100 80gb"}, want: true},
		{name: "gpu type upper case", rep: h100x2, req: Requirement{GPUType: "NVIDIA H100"}, want: true},
		{name: "gpu type mismatch", rep: h100x2, req: Requirement{GPUType: "A100"}, wantReason: `is not of type "A100"`},
		{name: "gpu capacity just below", rep: h100x2, req: Requirement{GPUCapacityMiB: 2*81559 - 1}, want: true},
		{name: "gpu capacity equal is not enough", rep: h100x2, req: Requirement{GPUCapacityMiB: 2 * 81559}, wantReason: "not greater than"},
		{name: "gpu capacity is the sum over gpus", rep: h100x2, req: Requirement{GPUCapacityMiB: 100000}, want: true},
		{name: "gpu count equal", rep: h100x2, req: Requirement{GPUCount: 2}, want: true},
		{name: "gpu count short", rep: h100x2, req: Requirement{GPUCount: 3}, wantReason: "gpu count 2 < 3"},
		{name: "gpu asked, none present", rep: noGPU, req: Requirement{GPUCount: 1}, wantReason: "no gpu"},
		{name: "gpu type asked, none present", rep: noGPU, req: Requirement{GPUType: "h100"}, wantReason: "no gpu"},
		{name: "count without details", rep: countWithoutDetails, req: Requirement{GPUCount: 1}, wantReason: "no gpu"},
		{name: "disk equal", rep: h100x2, req: Requirement{DiskBytes: 500 * gib}, want: true},
		{name: "disk short", rep: h100x2, req: Requirement{DiskBytes: 500*gib + 1}, wantReason: "free disk"},
		{name: "ram equal", rep: h100x2, req: Requirement{RAMBytes: 256 * gib}, want: true},
		{name: "ram short", rep: h100x2, req: Requirement{RAMBytes: 257 * gib}, wantReason: "available ram"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, reason := tt.rep.Meets(tt.req)
			if got != tt.want {
				t.Fatalf("Meets = %v (%q); want %v", got, reason, tt.want)
			}
			if tt.want && reason != "" {
				t.Errorf("reason %q for a match", reason)
			}
			if !tt.want && !strings.Contains(reason, tt.wantReason) {
				t.Errorf("reason %q; want containing %q", reason, tt.wantReason)
			}
		})
	}
}
