package scoring

import (
	"net/netip"
	"slices"
)

// Candidate is a metagraph neuron as the validator sees it when choosing
// whom to challenge.
type Candidate struct {
	UID         uint16
	Hotkey      string
	IP          string
	Port        uint16
	AxonVersion uint32
	// StakeTAO is the neuron's total stake in TAO.
	StakeTAO float64
	// Blacklisted is true if the validator's blacklists (hotkeys, coldkeys,
	// known exploiters) match the neuron.
	Blacklisted bool
}

// Queryable returns the candidates worth challenging, ordered by UID, with
// the v1.5.1 rules (neurons/validator.py get_queryable), in this order:
//
//  1. keep those that serve an axon (IP not empty and not unspecified,
//     "0.0.0.0" or "::"), whose stake is below validatorPermitStakeTAO
//     (validators are not challenged) and that are not blacklisted;
//  2. keep one candidate per IP address: the one with the lowest UID;
//  3. keep those whose AxonVersion is at least minAxonVersion.
//
// As in the reference, the per-IP step comes before the version step: if
// the lowest UID on an address runs an old version, no UID of that address
// is queried. IP addresses are compared in canonical form (IPv4-mapped IPv6
// addresses as IPv4); strings that do not parse are compared as they are.
// The input is not modified.
func Queryable(cs []Candidate, minAxonVersion uint32, validatorPermitStakeTAO float64) []Candidate {
	sorted := slices.Clone(cs)
	slices.SortStableFunc(sorted, func(a, b Candidate) int { return int(a.UID) - int(b.UID) })

	seen := make(map[string]bool)
	var out []Candidate
	for _, c := range sorted {
		ip, serving := axonAddr(c.IP)
		if !serving || !(c.StakeTAO < validatorPermitStakeTAO) || c.Blacklisted {
			continue
		}
		if seen[ip] {
			continue
		}
		seen[ip] = true
		if c.AxonVersion < minAxonVersion {
			continue
		}
		out = append(out, c)
	}
	return out
}

// axonAddr returns the canonical form of an axon IP and whether the axon is
// serving.
func axonAddr(ip string) (string, bool) {
	if ip == "" {
		return "", false
	}
	addr, err := netip.ParseAddr(ip)
	if err != nil {
		return ip, true
	}
	addr = addr.Unmap()
	if addr.IsUnspecified() {
		return "", false
	}
	return addr.String(), true
}
