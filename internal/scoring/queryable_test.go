package scoring

import (
	"slices"
	"testing"
)

func TestQueryable(t *testing.T) {
	const (
		minVersion = 151
		permit     = 1024
	)
	miner := func(uid uint16, ip string) Candidate {
		return Candidate{UID: uid, Hotkey: "hk", IP: ip, Port: 8091, AxonVersion: 151, StakeTAO: 1}
	}
	tests := []struct {
		name string
		in   []Candidate
		want []uint16
	}{
		{"empty", nil, nil},
		{"sorted by uid", []Candidate{miner(9, "1.1.1.9"), miner(2, "1.1.1.2"), miner(5, "1.1.1.5")}, []uint16{2, 5, 9}},
		{"not serving", []Candidate{miner(1, "0.0.0.0"), miner(2, ""), miner(3, "::"), miner(4, "1.1.1.4")}, []uint16{4}},
		{"validator stake excluded", []Candidate{
			{UID: 1, IP: "1.1.1.1", AxonVersion: 151, StakeTAO: 1024},    // not below the threshold
			{UID: 2, IP: "1.1.1.2", AxonVersion: 151, StakeTAO: 1023.99}, // below
			{UID: 3, IP: "1.1.1.3", AxonVersion: 151, StakeTAO: 5000},
		}, []uint16{2}},
		{"blacklisted", []Candidate{miner(1, "1.1.1.1"), {UID: 2, IP: "1.1.1.2", AxonVersion: 151, Blacklisted: true}}, []uint16{1}},
		{"old version", []Candidate{miner(1, "1.1.1.1"), {UID: 2, IP: "1.1.1.2", AxonVersion: 150}, {UID: 3, IP: "1.1.1.3", AxonVersion: 200}}, []uint16{1, 3}},
		// One uid per IP: the lowest uid wins, whatever the input order and
		// port.
		{"one per ip", []Candidate{miner(7, "2.2.2.2"), miner(3, "2.2.2.2"), miner(5, "2.2.2.2"), miner(4, "3.3.3.3")}, []uint16{3, 4}},
		{"mapped ipv6 is the same ip", []Candidate{miner(8, "::ffff:2.2.2.2"), miner(3, "2.2.2.2")}, []uint16{3}},
		// Excluded candidates (stake, blacklist, not serving) do not claim
		// their IP.
		{"excluded does not claim ip", []Candidate{
			{UID: 1, IP: "2.2.2.2", AxonVersion: 151, StakeTAO: 5000},
			{UID: 2, IP: "2.2.2.2", AxonVersion: 151, Blacklisted: true},
			miner(3, "2.2.2.2"),
		}, []uint16{3}},
		// As in the reference, the per-IP choice comes before the version
		// check: uid 1 claims the IP, then fails the version check, and
		// uid 2 on the same IP is not considered.
		{"ip claimed before version check", []Candidate{
			{UID: 1, IP: "2.2.2.2", AxonVersion: 100},
			miner(2, "2.2.2.2"),
		}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := slices.Clone(tt.in)
			got := Queryable(in, minVersion, permit)
			var uids []uint16
			for _, c := range got {
				uids = append(uids, c.UID)
			}
			if !slices.Equal(uids, tt.want) {
				t.Errorf("Queryable uids = %v; want %v", uids, tt.want)
			}
			if !slices.Equal(in, tt.in) {
				t.Errorf("Queryable modified its input")
			}
		})
	}
}
