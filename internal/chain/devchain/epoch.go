package devchain

import (
	"math"
	"slices"
	"sort"
)

// onInitialize runs at the start of block num: per-block and per-interval
// registration counters.
func (c *Chain) onInitialize(num uint64) {
	c.beaconTick(num)
	for _, s := range c.st.Subnets {
		s.RegsThisBlock = 0
		if s.AdjustmentInterval > 0 && num-min(num, s.IntervalStart) >= uint64(s.AdjustmentInterval) {
			s.RegsThisInterval = 0
			s.IntervalStart = num
		}
	}
}

// onFinalize runs at the end of block num: validator permits for every
// subnet (the spec-218 runtime recomputes them each block), and the epoch
// of subnets whose tempo comes round.
func (c *Chain) onFinalize(num uint64) {
	for netuid, s := range c.st.Subnets {
		if netuid == rootNetuid {
			continue
		}
		c.permits(s)
		if s.Tempo > 0 {
			c.revealTimelocked(c.finalizing, s, num)
		}
		if s.Tempo > 0 && (num+uint64(netuid)+1)%(uint64(s.Tempo)+1) == 0 {
			c.epoch(s, num)
		}
	}
}

func (c *Chain) stakeOf(s *subnet) []float64 {
	out := make([]float64, len(s.Neurons))
	for i, n := range s.Neurons {
		out[i] = float64(s.Alpha[n.Hotkey])
	}
	return out
}

// permits gives validator permits to the top MaxAllowedValidators neurons by
// stake (lower uid first on ties).
func (c *Chain) permits(s *subnet) {
	stake := c.stakeOf(s)
	order := make([]int, len(s.Neurons))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return stake[order[a]] > stake[order[b]] })
	for rank, i := range order {
		s.Neurons[i].Permit = rank < int(s.MaxAllowedValidators)
	}
}

// kappa is the stake majority consensus needs (the runtime's default 0.5).
const kappa = 0.5

// epoch runs a simplified Yuma consensus over the subnet's weights and
// hands out tempo+1 blocks of emission.
//
//   - S: stake (TotalHotkeyAlpha) of the validators with a permit, normalised.
//   - W: each permitted validator's weights, without its self-weight and
//     without weights on uids registered after the validator last set
//     weights, each row normalised to sum 1.
//   - consensus C_j: the stake-weighted median of column j (the largest w
//     such that validators holding at least kappa of the stake give j at
//     least w).
//   - clipped weights W̄_ij = min(W_ij, C_j); rank R_j = Σ_i S_i W̄_ij;
//     incentive I = R / ΣR; trust T_j = R_j / Σ_i S_i W_ij; validator trust
//     VT_i = Σ_j W̄_ij.
//   - bonds B_ij = S_i W̄_ij normalised per column (no moving average);
//     dividends D_i = Σ_j B_ij I_j, normalised.
//   - emission: half of the epoch's emission by incentive, half by
//     dividends, each credited to the hotkey's stake on the subnet.
func (c *Chain) epoch(s *subnet, num uint64) {
	n := len(s.Neurons)
	s.LastEpoch = num
	if n == 0 {
		return
	}
	stake := c.stakeOf(s)
	for i, nr := range s.Neurons {
		if !nr.Permit {
			stake[i] = 0
		}
	}
	normalise(stake)
	w := make([][]float64, n)
	for i, nr := range s.Neurons {
		w[i] = make([]float64, n)
		if stake[i] == 0 {
			continue
		}
		for _, e := range nr.Weights {
			j := int(e[0])
			if j >= n || j == i || s.Neurons[j].RegisteredAt > nr.LastUpdate {
				continue
			}
			w[i][j] = float64(e[1])
		}
		normalise(w[i])
	}
	consensus := make([]float64, n)
	for j := 0; j < n; j++ {
		type vote struct{ w, s float64 }
		var votes []vote
		for i := 0; i < n; i++ {
			if stake[i] > 0 {
				votes = append(votes, vote{w[i][j], stake[i]})
			}
		}
		slices.SortFunc(votes, func(a, b vote) int {
			switch {
			case a.w > b.w:
				return -1
			case a.w < b.w:
				return 1
			}
			return 0
		})
		acc := 0.0
		for _, v := range votes {
			acc += v.s
			if acc >= kappa-1e-12 {
				consensus[j] = v.w
				break
			}
		}
	}
	rank, pre := make([]float64, n), make([]float64, n)
	vtrust := make([]float64, n)
	clipped := make([][]float64, n)
	for i := 0; i < n; i++ {
		clipped[i] = make([]float64, n)
		for j := 0; j < n; j++ {
			clipped[i][j] = math.Min(w[i][j], consensus[j])
			rank[j] += stake[i] * clipped[i][j]
			pre[j] += stake[i] * w[i][j]
			vtrust[i] += clipped[i][j]
		}
	}
	trust := make([]float64, n)
	for j := range trust {
		if pre[j] > 0 {
			trust[j] = rank[j] / pre[j]
		}
	}
	incentive := slices.Clone(rank)
	normalise(incentive)
	dividends := make([]float64, n)
	for j := 0; j < n; j++ {
		col := 0.0
		for i := 0; i < n; i++ {
			col += stake[i] * clipped[i][j]
		}
		if col == 0 {
			continue
		}
		for i := 0; i < n; i++ {
			dividends[i] += stake[i] * clipped[i][j] / col * incentive[j]
		}
	}
	normalise(dividends)
	total := c.cfg.EmissionPerBlock * (uint64(s.Tempo) + 1)
	half := float64(total / 2)
	emission := make([]uint64, n)
	maxEmission := uint64(0)
	for i := 0; i < n; i++ {
		emission[i] = uint64(math.Floor(half*incentive[i] + half*dividends[i]))
		maxEmission = max(maxEmission, emission[i])
	}
	rank = slices.Clone(rank)
	normalise(rank)
	for i, nr := range s.Neurons {
		nr.Rank = u16(rank[i])
		nr.Consensus = u16(consensus[i])
		nr.Incentive = u16(incentive[i])
		nr.Trust = u16(trust[i])
		nr.ValidatorTrust = u16(vtrust[i])
		nr.Dividends = u16(dividends[i])
		nr.Emission = emission[i]
		nr.PruningScore = 0
		if maxEmission > 0 {
			nr.PruningScore = u16(float64(emission[i]) / float64(maxEmission))
		}
		if emission[i] > 0 {
			s.Alpha[nr.Hotkey] += emission[i]
			c.st.TotalIssuance += emission[i]
		}
	}
}

// normalise scales v to sum 1 (all zero stays zero).
func normalise(v []float64) {
	sum := 0.0
	for _, x := range v {
		sum += x
	}
	if sum <= 0 {
		return
	}
	for i := range v {
		v[i] /= sum
	}
}

// u16 stores a proportion as the chain does (x * 65535).
func u16(x float64) uint16 {
	return uint16(math.Round(math.Max(0, math.Min(1, x)) * 65535))
}
