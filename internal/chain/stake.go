package chain

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/big"
	"strconv"

	"github.com/sn27/sn27/internal/keys"
	"github.com/sn27/sn27/internal/scale"
)

// RaoPerAlpha is one alpha (and one TAO) in base units: prices are given in
// rao per alpha, so 1 τ/α is RaoPerAlpha.
const RaoPerAlpha = 1_000_000_000

// Staking errors SN27 explains.
var (
	ErrSlippageTooHigh  = &DispatchError{Pallet: "SubtensorModule", Name: "SlippageTooHigh"}
	ErrSubtokenDisabled = &DispatchError{Pallet: "SubtensorModule", Name: "SubtokenDisabled"}
)

// StakeAdded is SubtensorModule.StakeAdded: (coldkey, hotkey, tao_amount,
// alpha_amount, netuid) since the dTAO runtimes (spec 218), plus a u64 fee
// in later ones.
type StakeAdded struct {
	Coldkey keys.Coldkey
	Hotkey  keys.Hotkey
	TAO     uint64 // rao paid into the pool
	Alpha   uint64 // alpha received, in 1e-9 units
	NetUID  NetUID
	Fee     uint64 // the runtime's fee, when its event carries one
}

// Price is the effective price paid, in τ per α (0 when no alpha came).
func (s StakeAdded) Price() float64 {
	if s.Alpha == 0 {
		return 0
	}
	return float64(s.TAO) / float64(s.Alpha)
}

// StakeAdded returns the receipt's StakeAdded event. Its fields are read by
// position, as the runtime declares them unnamed.
func (r *Receipt) StakeAdded() (StakeAdded, bool) {
	ev, ok := r.Find("SubtensorModule", "StakeAdded")
	if !ok {
		return StakeAdded{}, false
	}
	fs, ok := ev.Fields.([]any)
	if !ok || len(fs) < 5 {
		return StakeAdded{}, false
	}
	var s StakeAdded
	ck, ok1 := fs[0].([]byte)
	hk, ok2 := fs[1].([]byte)
	tao, ok3 := asUint(fs[2])
	alpha, ok4 := asUint(fs[3])
	netuid, ok5 := asUint(fs[4])
	if !ok1 || !ok2 || !ok3 || !ok4 || !ok5 || len(ck) != 32 || len(hk) != 32 {
		return StakeAdded{}, false
	}
	var pub keys.PublicKey
	copy(pub[:], ck)
	s.Coldkey = keys.Coldkey(keys.SS58(pub))
	copy(pub[:], hk)
	s.Hotkey = keys.Hotkey(keys.SS58(pub))
	s.TAO, s.Alpha, s.NetUID = tao, alpha, NetUID(netuid)
	if len(fs) > 5 {
		s.Fee, _ = asUint(fs[5])
	}
	return s, true
}

// Pool is a subnet's TAO/alpha pool as staking sees it.
type Pool struct {
	NetUID    NetUID
	Mechanism uint64 // 0 stable (1:1), 1 dynamic
	TAO       uint64 // SubnetTAO, rao
	AlphaIn   uint64 // SubnetAlphaIn: alpha the pool can sell
	AlphaOut  uint64 // SubnetAlphaOut: alpha held by stakers
	// Price is the current price in rao per alpha (RaoPerAlpha = 1 τ/α); 0
	// when the pool has no alpha to price.
	Price     uint64
	PriceFrom string // where Price came from
	// SubtokenEnabled is nil where the runtime has no such switch; false
	// means staking is refused (SubtokenDisabled) until the owner's start_call.
	SubtokenEnabled *bool
	// HasLimit: the runtime has add_stake_limit.
	HasLimit bool
	// SwapAPI: the runtime simulates swaps (SwapRuntimeApi), so EstimateStake
	// asks it rather than assuming a constant-product pool.
	SwapAPI bool
}

// Stable reports whether the pool swaps 1:1 (root or a stable subnet).
func (p Pool) Stable() bool { return p.NetUID == 0 || p.Mechanism == 0 }

// Pool reads the subnet's pool, its price and the staking calls the
// runtime has.
func (c *Client) Pool(ctx context.Context, netuid NetUID) (Pool, error) {
	p := Pool{NetUID: netuid}
	m := c.Metadata()
	key := u16b(uint16(netuid))
	read := func(item string, dst *uint64) error {
		if _, ok := perSubnet(m, item); !ok {
			return nil
		}
		v, err := c.StorageValue(ctx, "SubtensorModule", item, key)
		if err != nil {
			return err
		}
		*dst, _ = asUint(v)
		return nil
	}
	for _, it := range []struct {
		item string
		dst  *uint64
	}{{"SubnetMechanism", &p.Mechanism}, {"SubnetTAO", &p.TAO}, {"SubnetAlphaIn", &p.AlphaIn}, {"SubnetAlphaOut", &p.AlphaOut}} {
		if err := read(it.item, it.dst); err != nil {
			return p, err
		}
	}
	if _, ok := perSubnet(m, "SubtokenEnabled"); ok {
		v, err := c.StorageValue(ctx, "SubtensorModule", "SubtokenEnabled", key)
		if err != nil {
			return p, err
		}
		b, _ := v.(bool)
		p.SubtokenEnabled = &b
	}
	_, err := m.Call("SubtensorModule", "add_stake_limit")
	p.HasLimit = err == nil
	_, _, err = m.RuntimeAPI("SwapRuntimeApi", "sim_swap_tao_for_alpha")
	p.SwapAPI = err == nil

	switch {
	case hasAPI(c, "SwapRuntimeApi", "current_alpha_price"):
		b, err := c.RuntimeCall(ctx, "SwapRuntimeApi_current_alpha_price", key)
		if err != nil {
			return p, fmt.Errorf("SwapRuntimeApi.current_alpha_price: %w", err)
		}
		d := scale.NewDecoder(b)
		p.Price = d.U64()
		if err := d.Done(); err != nil {
			return p, fmt.Errorf("SwapRuntimeApi.current_alpha_price: %w", err)
		}
		p.PriceFrom = "SwapRuntimeApi.current_alpha_price"
	case p.Stable():
		p.Price, p.PriceFrom = RaoPerAlpha, "stable subnet (1:1)"
	case p.AlphaIn > 0:
		p.Price = mulDiv(p.TAO, RaoPerAlpha, p.AlphaIn)
		p.PriceFrom = "SubnetTAO / SubnetAlphaIn"
	}
	return p, nil
}

func hasAPI(c *Client, trait, method string) bool {
	_, _, err := c.Metadata().RuntimeAPI(trait, method)
	return err == nil
}

// mulDiv is a·b/c without overflow, saturating at MaxUint64.
func mulDiv(a, b, c uint64) uint64 {
	r := new(big.Int).Mul(new(big.Int).SetUint64(a), new(big.Int).SetUint64(b))
	r.Quo(r, new(big.Int).SetUint64(c))
	if !r.IsUint64() {
		return math.MaxUint64
	}
	return r.Uint64()
}

// Estimate is what staking tao would buy.
type Estimate struct {
	Alpha uint64 // alpha out
	// FinalPrice is the pool's price after the swap, rao per alpha (0 when
	// unknown): the price add_stake_limit compares with its limit.
	FinalPrice uint64
	How        string
}

// EstimateStake predicts the alpha tao buys: from the runtime's
// SwapRuntimeApi.sim_swap_tao_for_alpha where it has one, else 1:1 on a
// stable subnet, else by the constant-product pool of the dTAO runtimes
// (alpha = AlphaIn − TAO·AlphaIn / (TAO + tao)), as subtensor's
// sim_swap_tao_for_alpha computed it before the swap pallet.
func (c *Client) EstimateStake(ctx context.Context, p Pool, tao uint64) (Estimate, error) {
	if p.SwapAPI {
		m := c.Metadata()
		_, out, err := m.RuntimeAPI("SwapRuntimeApi", "sim_swap_tao_for_alpha")
		if err != nil {
			return Estimate{}, err
		}
		b, err := c.RuntimeCall(ctx, "SwapRuntimeApi_sim_swap_tao_for_alpha", enc().U16(uint16(p.NetUID)).U64(tao).Data())
		if err != nil {
			return Estimate{}, fmt.Errorf("SwapRuntimeApi.sim_swap_tao_for_alpha: %w", err)
		}
		v, err := m.DecodeValue(out, scale.NewDecoder(b))
		if err != nil {
			return Estimate{}, fmt.Errorf("SwapRuntimeApi.sim_swap_tao_for_alpha: %w", err)
		}
		a, ok := asUint(field(v, "alpha_amount", 1))
		if !ok {
			return Estimate{}, fmt.Errorf("SwapRuntimeApi.sim_swap_tao_for_alpha: no alpha_amount in %v", v)
		}
		return Estimate{Alpha: a, How: "SwapRuntimeApi.sim_swap_tao_for_alpha"}, nil
	}
	if p.Stable() {
		return Estimate{Alpha: tao, FinalPrice: RaoPerAlpha, How: "stable subnet (1:1)"}, nil
	}
	if p.AlphaIn == 0 {
		return Estimate{How: "empty pool (SubnetAlphaIn 0)"}, nil
	}
	newTAO := new(big.Int).Add(new(big.Int).SetUint64(p.TAO), new(big.Int).SetUint64(tao))
	k := new(big.Int).Mul(new(big.Int).SetUint64(p.TAO), new(big.Int).SetUint64(p.AlphaIn))
	left := new(big.Int).Quo(k, newTAO) // rounds down: at most what the runtime leaves
	alpha := p.AlphaIn - min(left.Uint64(), p.AlphaIn)
	est := Estimate{Alpha: alpha, How: "constant product over SubnetTAO and SubnetAlphaIn"}
	if rest := p.AlphaIn - alpha; rest > 0 {
		r := new(big.Int).Mul(newTAO, big.NewInt(RaoPerAlpha))
		r.Quo(r, new(big.Int).SetUint64(rest))
		if r.IsUint64() {
			est.FinalPrice = r.Uint64()
		} else {
			est.FinalPrice = math.MaxUint64
		}
	}
	return est, nil
}

// LimitPrice is price·(1+tolerance) in rao per alpha, rounded up, as
// add_stake_limit takes it.
func LimitPrice(price uint64, tolerance float64) (uint64, error) {
	if tolerance < 0 || math.IsNaN(tolerance) || math.IsInf(tolerance, 0) {
		return 0, fmt.Errorf("tolerance %v: want a fraction >= 0, e.g. 0.005 for 0.5%%", tolerance)
	}
	if price == 0 {
		return 0, errors.New("the pool has no price to set a limit from")
	}
	// The shortest decimal that reads back as tolerance: 0.05 is 5/100
	// exactly, not the binary float just above it.
	l, ok := new(big.Rat).SetString(strconv.FormatFloat(tolerance, 'f', -1, 64))
	if !ok {
		return 0, fmt.Errorf("tolerance %v: not a number", tolerance)
	}
	l.Add(l, big.NewRat(1, 1))
	l.Mul(l, new(big.Rat).SetInt(new(big.Int).SetUint64(price)))
	q, r := new(big.Int).QuoRem(l.Num(), l.Denom(), new(big.Int))
	if r.Sign() > 0 {
		q.Add(q, big.NewInt(1))
	}
	if !q.IsUint64() {
		return math.MaxUint64, nil
	}
	return q.Uint64(), nil
}

// AddStakeLimit stakes amount rao from coldkey to hotkey on netuid with
// add_stake_limit: the runtime refuses (SlippageTooHigh) rather than push
// the price above limitPrice (rao per alpha), or with allowPartial stakes
// only what keeps the price under it.
func (c *Client) AddStakeLimit(ctx context.Context, coldkey *keys.Pair, hotkey keys.Hotkey, netuid NetUID, amount, limitPrice uint64, allowPartial bool) (*Receipt, error) {
	hk, err := account(string(hotkey))
	if err != nil {
		return nil, err
	}
	partial := []byte{0}
	if allowPartial {
		partial[0] = 1
	}
	call, err := c.CallNamed("SubtensorModule", "add_stake_limit", map[string][]byte{
		"hotkey": hk, "netuid": u16b(uint16(netuid)), "amount_staked": u64b(amount),
		"limit_price": u64b(limitPrice), "allow_partial": partial,
	})
	if err != nil {
		return nil, err
	}
	return c.Submit(ctx, coldkey, call)
}
