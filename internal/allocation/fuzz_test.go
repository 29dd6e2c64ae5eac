package allocation

import (
	"encoding/json"
	"testing"

	"github.com/sn27/sn27/internal/protocol"
)

// FuzzRequestChecks: any Allocate a validator sends is either refused with
// a reason or has a timeline in range and no negative count (so nothing
// downstream multiplies or converts an out-of-range number).
func FuzzRequestChecks(f *testing.F) {
	for _, s := range []string{
		`{"timeline":60,"device_requirement":{"cpu":{"count":1},"ram":{"capacity":268435456}}}`,
		`{"timeline":153722867280912931,"device_requirement":{}}`,
		`{"timeline":10,"device_requirement":{"gpu":{"count":-1}}}`,
		`{"timeline":10,"docker_requirement":{"ssh_key":"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"}}`,
		`{"timeline":-1}`, `{}`, `{"timeline":1,"public_key":"-----BEGIN PUBLIC KEY-----\nAA==\n-----END PUBLIC KEY-----"}`,
	} {
		f.Add([]byte(s))
	}
	m := &Manager{cfg: DefaultConfig()}
	f.Fuzz(func(t *testing.T, b []byte) {
		var req protocol.Allocate
		if json.Unmarshal(b, &req) != nil {
			return
		}
		if m.invalidLocked(&req) != "" {
			return
		}
		r, err := req.Requirement()
		if err != nil {
			t.Fatalf("accepted an unreadable requirement: %v", err)
		}
		if req.Timeline < 1 || req.Timeline > int64(m.cfg.MaxTimeline.Minutes()) {
			t.Fatalf("accepted timeline %d", req.Timeline)
		}
		if r.CPU.Count < 0 || r.RAM.Capacity < 0 || r.HardDisk.Capacity < 0 || r.GPU.Capacity < 0 || r.GPU.Count < 0 {
			t.Fatalf("accepted a negative count: %+v", r)
		}
	})
}

// FuzzParseRenterKey: a renter's public_key never panics the parser.
func FuzzParseRenterKey(f *testing.F) {
	f.Add("-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA\n-----END PUBLIC KEY-----\n")
	f.Add("-----BEGIN RSA PUBLIC KEY-----\nAA==\n-----END RSA PUBLIC KEY-----\n")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		if k, err := ParseRenterKey(s); err == nil && k.N.BitLen() < MinRSABits {
			t.Fatalf("accepted a %d-bit key", k.N.BitLen())
		}
	})
}
