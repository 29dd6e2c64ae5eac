package chain

import (
	"context"
	"errors"
	"fmt"
	"net/netip"

	"github.com/sn27/sn27/internal/keys"
	"github.com/sn27/sn27/internal/scale"
)

// UID is a neuron's index on a subnet.
type UID uint16

// NetUID is a subnet id.
type NetUID uint16

// AxonInfo is a neuron's served axon.
type AxonInfo struct {
	Block    uint64
	Version  uint32
	IP       string // "0.0.0.0" when not serving
	Port     uint16
	IPType   uint8
	Protocol uint8
}

// Serving reports whether the axon has an address.
func (a AxonInfo) Serving() bool { return a.IP != "" && a.IP != "0.0.0.0" && a.IP != "::" }

// Neuron is one metagraph entry. Normalised values are u16/65535 as in
// bittensor; Stake and Emission are in rao.
type Neuron struct {
	UID             UID
	NetUID          NetUID
	Hotkey          keys.Hotkey
	Coldkey         keys.Coldkey
	Active          bool
	Axon            AxonInfo
	Stake           uint64 // legacy per-coldkey stake listed in NeuronInfoLite
	AlphaStake      uint64 // TotalHotkeyAlpha(hotkey, netuid), dTAO stake
	Rank            float64
	Emission        uint64
	Incentive       float64
	Consensus       float64
	Trust           float64
	ValidatorTrust  float64
	Dividends       float64
	LastUpdate      uint64
	ValidatorPermit bool
	PruningScore    float64
}

// TotalStake is the stake SN27 compares with its validator threshold: the
// dTAO alpha stake when there is any, else the legacy stake.
func (n Neuron) TotalStake() uint64 {
	if n.AlphaStake > 0 {
		return n.AlphaStake
	}
	return n.Stake
}

func u16f(v uint64) float64 { return float64(v) / 65535 }

// ipString renders the chain's u128 IP.
func ipString(lo, hi uint64, ipType uint8) string {
	if ipType == 6 {
		var b [16]byte
		for i := 0; i < 8; i++ {
			b[15-i] = byte(lo >> (8 * i))
			b[7-i] = byte(hi >> (8 * i))
		}
		return netip.AddrFrom16(b).String()
	}
	return netip.AddrFrom4([4]byte{byte(lo >> 24), byte(lo >> 16), byte(lo >> 8), byte(lo)}).String()
}

func decodeAxon(d *scale.Decoder) AxonInfo {
	a := AxonInfo{Block: d.U64(), Version: d.U32()}
	lo, hi := d.U128()
	a.Port, a.IPType, a.Protocol = d.U16(), d.U8(), d.U8()
	d.U8() // placeholder1
	d.U8() // placeholder2
	a.IP = ipString(lo, hi, a.IPType)
	return a
}

// decodeNeuronLite reads one NeuronInfoLite.
func decodeNeuronLite(d *scale.Decoder) Neuron {
	var n Neuron
	var hk, ck keys.PublicKey
	copy(hk[:], d.Fixed(32))
	copy(ck[:], d.Fixed(32))
	n.Hotkey, n.Coldkey = keys.Hotkey(keys.SS58(hk)), keys.Coldkey(keys.SS58(ck))
	n.UID = UID(d.Compact())
	n.NetUID = NetUID(d.Compact())
	n.Active = d.Bool()
	n.Axon = decodeAxon(d)
	// prometheus_info
	d.U64()
	d.U32()
	d.U128()
	d.U16()
	d.U8()
	for i, cnt := 0, d.Len(33); i < cnt; i++ {
		d.Fixed(32)
		n.Stake += d.Compact()
	}
	n.Rank = u16f(d.Compact())
	n.Emission = d.Compact()
	n.Incentive = u16f(d.Compact())
	n.Consensus = u16f(d.Compact())
	n.Trust = u16f(d.Compact())
	n.ValidatorTrust = u16f(d.Compact())
	n.Dividends = u16f(d.Compact())
	n.LastUpdate = d.Compact()
	n.ValidatorPermit = d.Bool()
	n.PruningScore = u16f(d.Compact())
	return n
}

// DecodeNeuronsLite decodes the result of get_neurons_lite, either as
// SCALE(Vec<NeuronInfoLite>) (typed runtime APIs, subtensor >= 2.0) or
// wrapped once more in Vec<u8> (older runtimes such as spec 218). The
// encoding that consumes the input exactly wins.
func DecodeNeuronsLite(b []byte) ([]Neuron, error) {
	try := func(b []byte) ([]Neuron, error) {
		d := scale.NewDecoder(b)
		cnt := d.Len(100)
		out := make([]Neuron, 0, cnt)
		for i := 0; i < cnt && d.Err() == nil; i++ {
			out = append(out, decodeNeuronLite(d))
		}
		if err := d.Done(); err != nil {
			return nil, err
		}
		return out, nil
	}
	d := scale.NewDecoder(b)
	if inner := d.Bytes(); d.Done() == nil {
		if ns, err := try(inner); err == nil {
			return ns, nil
		}
	}
	ns, err := try(b)
	if err != nil {
		return nil, fmt.Errorf("decode neurons: %w", err)
	}
	return ns, nil
}

// Neurons reads the metagraph of netuid (get_neurons_lite) and each
// hotkey's alpha stake.
func (c *Client) Neurons(ctx context.Context, netuid NetUID) ([]Neuron, error) {
	raw, err := c.RuntimeCall(ctx, "NeuronInfoRuntimeApi_get_neurons_lite", scale.NewEncoder(nil).U16(uint16(netuid)).Data())
	if err != nil {
		return nil, fmt.Errorf("get neurons of subnet %d: %w", netuid, err)
	}
	ns, err := DecodeNeuronsLite(raw)
	if err != nil {
		return nil, fmt.Errorf("subnet %d: %w", netuid, err)
	}
	if len(ns) == 0 {
		// The runtime answers an empty list for a subnet that does not
		// exist: say which it is.
		if ok, err := c.SubnetExists(ctx, netuid); err == nil && !ok {
			return nil, fmt.Errorf("%w: subnet %d does not exist (list subnets with sn27 metagraph --netuid N, or create one with sn27 subnet create)", ErrNoSubnet, netuid)
		}
	}
	for i := range ns {
		pub, err := ns[i].Hotkey.PublicKey()
		if err != nil {
			continue
		}
		b, err := c.Storage(ctx, "SubtensorModule", "TotalHotkeyAlpha", pub[:], scale.NewEncoder(nil).U16(uint16(netuid)).Data())
		if err != nil {
			return nil, err
		}
		if len(b) == 8 {
			ns[i].AlphaStake = scale.NewDecoder(b).U64()
		}
	}
	return ns, nil
}

// ErrNoSubnet: the netuid names no subnet on this chain.
var ErrNoSubnet = errors.New("no such subnet")

// SubnetExists reads SubtensorModule.NetworksAdded(netuid).
func (c *Client) SubnetExists(ctx context.Context, netuid NetUID) (bool, error) {
	b, err := c.Storage(ctx, "SubtensorModule", "NetworksAdded", scale.NewEncoder(nil).U16(uint16(netuid)).Data())
	if err != nil {
		return false, fmt.Errorf("read NetworksAdded(%d): %w", netuid, err)
	}
	return len(b) == 1 && b[0] == 1, nil
}

// RequireSubnet is SubnetExists as an error wrapping ErrNoSubnet when
// netuid names no subnet.
func (c *Client) RequireSubnet(ctx context.Context, netuid NetUID) error {
	ok, err := c.SubnetExists(ctx, netuid)
	if err == nil && !ok {
		err = fmt.Errorf("%w: subnet %d does not exist", ErrNoSubnet, netuid)
	}
	return err
}
