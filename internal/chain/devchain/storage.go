package devchain

import (
	"fmt"
	"maps"
	"math/big"

	"github.com/sn27/sn27/internal/chain/metadata"
	"github.com/sn27/sn27/internal/scale"
)

// storageItem reads one storage entry from the state: keys are the SCALE
// key parts, ok false means absent (null).
type storageItem struct {
	entry *metadata.StorageEntry
	read  func(c *Chain, keys [][]byte) (v any, ok bool)
}

func keyU16(b []byte) uint16 { return uint16(b[0]) | uint16(b[1])<<8 }

// perSubnet reads a per-netuid value.
func perSubnet(f func(s *subnet) any) func(*Chain, [][]byte) (any, bool) {
	return func(c *Chain, k [][]byte) (any, bool) {
		s := c.st.Subnets[keyU16(k[0])]
		if s == nil {
			return nil, false
		}
		return f(s), true
	}
}

// perNeuron reads a per-netuid vector with one element per uid.
func perNeuron[T any](f func(n *neuron) T) func(*Chain, [][]byte) (any, bool) {
	return perSubnet(func(s *subnet) any {
		out := make([]T, len(s.Neurons))
		for i, n := range s.Neurons {
			out[i] = f(n)
		}
		return out
	})
}

// neuronAt reads a (netuid, uid) value.
func neuronAt(f func(n *neuron) any) func(*Chain, [][]byte) (any, bool) {
	return func(c *Chain, k [][]byte) (any, bool) {
		s := c.st.Subnets[keyU16(k[0])]
		if s == nil || int(keyU16(k[1])) >= len(s.Neurons) {
			return nil, false
		}
		return f(s.Neurons[keyU16(k[1])]), true
	}
}

// byHotkey reads a (netuid, hotkey) value.
func byHotkey(f func(s *subnet, uid uint16) (any, bool)) func(*Chain, [][]byte) (any, bool) {
	return func(c *Chain, k [][]byte) (any, bool) {
		s := c.st.Subnets[keyU16(k[0])]
		if s == nil {
			return nil, false
		}
		uid, ok := s.uidOf(account32(k[1]))
		if !ok {
			return nil, false
		}
		return f(s, uid)
	}
}

func axonValue(a *axon) any {
	return map[string]any{
		"block": a.Block, "version": a.Version, "ip": new(big.Int).Or(new(big.Int).Lsh(new(big.Int).SetUint64(a.IP[1]), 64), new(big.Int).SetUint64(a.IP[0])),
		"port": a.Port, "ip_type": a.IPType, "protocol": a.Protocol, "placeholder1": a.P1, "placeholder2": a.P2,
	}
}

var storageReaders = map[string]func(*Chain, [][]byte) (any, bool){
	"System.Account": func(c *Chain, k [][]byte) (any, bool) {
		a := c.st.Accounts[account32(k[0])]
		if a == nil {
			return nil, false
		}
		return map[string]any{
			"nonce": a.Nonce, "consumers": 0, "providers": 1, "sufficients": 0,
			"data": map[string]any{"free": a.Free, "reserved": 0, "frozen": 0, "flags": new(big.Int).Lsh(big.NewInt(1), 127)},
		}, true
	},
	"System.Number": func(c *Chain, _ [][]byte) (any, bool) { return c.st.Number, true },
	"System.BlockHash": func(c *Chain, k [][]byte) (any, bool) {
		n := uint64(k[0][0]) | uint64(k[0][1])<<8 | uint64(k[0][2])<<16 | uint64(k[0][3])<<24
		if b := c.blockByNumberLocked(n); b != nil {
			return b.Hash[:], true
		}
		return nil, false
	},
	"Sudo.Key":               func(c *Chain, _ [][]byte) (any, bool) { return c.st.Sudo[:], true },
	"Balances.TotalIssuance": func(c *Chain, _ [][]byte) (any, bool) { return c.st.TotalIssuance, true },

	"SubtensorModule.TotalNetworks":    func(c *Chain, _ [][]byte) (any, bool) { return len(c.st.Subnets), true },
	"SubtensorModule.NetworkRateLimit": func(c *Chain, _ [][]byte) (any, bool) { return c.st.NetworkRateLimit, true },
	"SubtensorModule.NetworkLastRegistered": func(c *Chain, _ [][]byte) (any, bool) {
		return c.st.NetworkLastRegistered, true
	},
	"SubtensorModule.WeightsMinStake":    func(c *Chain, _ [][]byte) (any, bool) { return c.st.WeightsMinStake, true },
	"SubtensorModule.NetworkMinLockCost": func(c *Chain, _ [][]byte) (any, bool) { return c.cfg.LockCost, true },
	"SubtensorModule.Owner": func(c *Chain, k [][]byte) (any, bool) {
		o, ok := c.st.Owners[account32(k[0])]
		return o[:], ok
	},
	"SubtensorModule.TotalHotkeyAlpha": func(c *Chain, k [][]byte) (any, bool) {
		s := c.st.Subnets[keyU16(k[1])]
		if s == nil {
			return nil, false
		}
		v, ok := s.Alpha[account32(k[0])]
		return v, ok
	},
	"SubtensorModule.NetworksAdded":                  perSubnet(func(*subnet) any { return true }),
	"SubtensorModule.SubnetMechanism":                perSubnet(func(s *subnet) any { return min(s.Netuid, 1) }),
	"SubtensorModule.NetworkRegisteredAt":            perSubnet(func(s *subnet) any { return s.RegisteredAt }),
	"SubtensorModule.SubnetOwner":                    perSubnet(func(s *subnet) any { return s.Owner[:] }),
	"SubtensorModule.SubnetOwnerHotkey":              perSubnet(func(s *subnet) any { return s.OwnerHotkey[:] }),
	"SubtensorModule.Tempo":                          perSubnet(func(s *subnet) any { return s.Tempo }),
	"SubtensorModule.SubnetworkN":                    perSubnet(func(s *subnet) any { return len(s.Neurons) }),
	"SubtensorModule.MaxAllowedUids":                 perSubnet(func(s *subnet) any { return s.MaxAllowedUids }),
	"SubtensorModule.MaxAllowedValidators":           perSubnet(func(s *subnet) any { return s.MaxAllowedValidators }),
	"SubtensorModule.MinAllowedWeights":              perSubnet(func(s *subnet) any { return s.MinAllowedWeights }),
	"SubtensorModule.MaxWeightsLimit":                perSubnet(func(s *subnet) any { return s.MaxWeightsLimit }),
	"SubtensorModule.ImmunityPeriod":                 perSubnet(func(s *subnet) any { return s.ImmunityPeriod }),
	"SubtensorModule.ActivityCutoff":                 perSubnet(func(s *subnet) any { return s.ActivityCutoff }),
	"SubtensorModule.TargetRegistrationsPerInterval": perSubnet(func(s *subnet) any { return s.TargetRegs }),
	"SubtensorModule.MaxRegistrationsPerBlock":       perSubnet(func(s *subnet) any { return s.MaxRegsPerBlock }),
	"SubtensorModule.AdjustmentInterval":             perSubnet(func(s *subnet) any { return s.AdjustmentInterval }),
	"SubtensorModule.RegistrationsThisInterval":      perSubnet(func(s *subnet) any { return s.RegsThisInterval }),
	"SubtensorModule.RegistrationsThisBlock":         perSubnet(func(s *subnet) any { return s.RegsThisBlock }),
	"SubtensorModule.WeightsSetRateLimit":            perSubnet(func(s *subnet) any { return s.WeightsSetRateLimit }),
	"SubtensorModule.WeightsVersionKey":              perSubnet(func(s *subnet) any { return s.WeightsVersionKey }),
	"SubtensorModule.ServingRateLimit":               perSubnet(func(s *subnet) any { return s.ServingRateLimit }),
	"SubtensorModule.Burn":                           perSubnet(func(s *subnet) any { return s.Burn }),
	"SubtensorModule.MinBurn":                        perSubnet(func(s *subnet) any { return s.MinBurn }),
	"SubtensorModule.MaxBurn":                        perSubnet(func(s *subnet) any { return s.MaxBurn }),
	"SubtensorModule.CommitRevealWeightsEnabled":     perSubnet(func(s *subnet) any { return s.CommitReveal }),
	"SubtensorModule.Kappa":                          perSubnet(func(*subnet) any { return uint16(32767) }),
	"SubtensorModule.BlocksSinceLastStep": func(c *Chain, k [][]byte) (any, bool) {
		s := c.st.Subnets[keyU16(k[0])]
		if s == nil {
			return nil, false
		}
		return c.st.Number - min(c.st.Number, s.LastEpoch), true
	},
	"SubtensorModule.LastMechansimStepBlock": perSubnet(func(s *subnet) any { return s.LastEpoch }),
	"SubtensorModule.Active":                 perNeuron(func(*neuron) bool { return true }),
	"SubtensorModule.ValidatorPermit":        perNeuron(func(n *neuron) bool { return n.Permit }),
	"SubtensorModule.LastUpdate":             perNeuron(func(n *neuron) uint64 { return n.LastUpdate }),
	"SubtensorModule.Emission":               perNeuron(func(n *neuron) uint64 { return n.Emission }),
	"SubtensorModule.Rank":                   perNeuron(func(n *neuron) uint16 { return n.Rank }),
	"SubtensorModule.Trust":                  perNeuron(func(n *neuron) uint16 { return n.Trust }),
	"SubtensorModule.Consensus":              perNeuron(func(n *neuron) uint16 { return n.Consensus }),
	"SubtensorModule.Incentive":              perNeuron(func(n *neuron) uint16 { return n.Incentive }),
	"SubtensorModule.Dividends":              perNeuron(func(n *neuron) uint16 { return n.Dividends }),
	"SubtensorModule.ValidatorTrust":         perNeuron(func(n *neuron) uint16 { return n.ValidatorTrust }),
	"SubtensorModule.PruningScores":          perNeuron(func(n *neuron) uint16 { return n.PruningScore }),
	"SubtensorModule.Keys":                   neuronAt(func(n *neuron) any { return n.Hotkey[:] }),
	"SubtensorModule.BlockAtRegistration":    neuronAt(func(n *neuron) any { return n.RegisteredAt }),
	"SubtensorModule.Weights": func(c *Chain, k [][]byte) (any, bool) {
		s := c.st.Subnets[keyU16(k[0])]
		if s == nil || int(keyU16(k[1])) >= len(s.Neurons) {
			return nil, false
		}
		w := s.Neurons[keyU16(k[1])].Weights
		if len(w) == 0 {
			return nil, false
		}
		out := make([]any, len(w))
		for i, e := range w {
			out[i] = []any{e[0], e[1]}
		}
		return out, true
	},
	"SubtensorModule.Uids": byHotkey(func(_ *subnet, uid uint16) (any, bool) { return uid, true }),
	"SubtensorModule.Axons": byHotkey(func(s *subnet, uid uint16) (any, bool) {
		if a := s.Neurons[uid].Axon; a != nil {
			return axonValue(a), true
		}
		return nil, false
	}),
}

// indexStorage maps each readable entry's 32-byte prefix to its reader.
func (c *Chain) indexStorage() error {
	c.storage = map[string]*storageItem{}
	readers := maps.Clone(storageReaders)
	maps.Copy(readers, runtime343Storage)
	maps.Copy(readers, commitRevealStorage)
	for name, read := range readers {
		var pallet, item string
		for i := range name {
			if name[i] == '.' {
				pallet, item = name[:i], name[i+1:]
				break
			}
		}
		e, err := c.meta.Storage(pallet, item)
		if err != nil && (c.spec != SpecVersion || runtime343Storage[name] != nil) {
			continue // an item this runtime does not have (NetworkLastRegistered in 343, Drand in 218)
		}
		if err != nil {
			return fmt.Errorf("storage %s: %w", name, err)
		}
		prefix, err := e.Key()
		if err != nil {
			return err
		}
		c.storage[string(prefix)] = &storageItem{entry: e, read: read}
	}
	return nil
}

// storageLocked answers state_getStorage for a raw key at the best block;
// nil means no value. Events are per block, so at is the block to read them
// from (nil: the best block).
func (c *Chain) storageLocked(key []byte, at *block) []byte {
	if len(key) < 32 {
		return nil
	}
	if e, _ := c.meta.Storage("System", "Events"); e != nil {
		if k, _ := e.Key(); string(k) == string(key) {
			if at == nil {
				at = c.headLocked()
			}
			if at.Events == nil {
				return []byte{0}
			}
			return at.Events
		}
	}
	it := c.storage[string(key[:32])]
	if it == nil {
		return nil
	}
	d := scale.NewDecoder(key[32:])
	parts := make([][]byte, 0, len(it.entry.Hashers))
	for i, h := range it.entry.Hashers {
		switch h {
		case scale.Blake2_128Concat:
			d.Fixed(16)
		case scale.Twox64Concat:
			d.Fixed(8)
		case scale.Identity:
		default:
			return nil // the key cannot be recovered from its hash
		}
		start := d.Offset()
		if _, err := c.meta.DecodeValue(it.entry.KeyTypes[i], d); err != nil {
			return nil
		}
		part := key[32+start : 32+d.Offset()]
		if !bytesEqual(it.entry.Hashers[i].Hash(part), key[32+start-hashLen(h):32+d.Offset()]) {
			return nil
		}
		parts = append(parts, part)
	}
	if d.Done() != nil {
		return nil
	}
	v, ok := it.read(c, parts)
	if !ok {
		return nil
	}
	e := scale.NewEncoder(nil)
	if err := c.meta.EncodeValue(it.entry.Value, v, e); err != nil {
		c.log.Error("storage value not encoded", "item", it.entry.Pallet+"."+it.entry.Name, "err", err)
		return nil
	}
	return e.Data()
}

func hashLen(h scale.Hasher) int {
	switch h {
	case scale.Blake2_128Concat:
		return 16
	case scale.Twox64Concat:
		return 8
	}
	return 0
}

func bytesEqual(a, b []byte) bool { return string(a) == string(b) }

// neuronLite encodes a NeuronInfoLite as the spec-218 runtime does.
func neuronLite(e *scale.Encoder, s *subnet, uid int) {
	n := s.Neurons[uid]
	e.Raw(n.Hotkey[:]).Raw(n.Coldkey[:]).Compact(uint64(uid)).Compact(uint64(s.Netuid)).Bool(true)
	a := n.Axon
	if a == nil {
		a = &axon{}
	}
	e.U64(a.Block).U32(a.Version).U128(a.IP[0], a.IP[1]).U16(a.Port).U8(a.IPType).U8(a.Protocol).U8(a.P1).U8(a.P2)
	e.U64(0).U32(0).U128(0, 0).U16(0).U8(0) // prometheus_info
	e.Compact(0)                            // stake: the legacy Stake map, which add_stake does not write
	e.Compact(uint64(n.Rank)).Compact(n.Emission).Compact(uint64(n.Incentive)).Compact(uint64(n.Consensus))
	e.Compact(uint64(n.Trust)).Compact(uint64(n.ValidatorTrust)).Compact(uint64(n.Dividends))
	e.Compact(n.LastUpdate).Bool(n.Permit).Compact(uint64(n.PruningScore))
}

// runtimeCallLocked answers state_call.
func (c *Chain) runtimeCallLocked(method string, args []byte) ([]byte, error) {
	d := scale.NewDecoder(args)
	switch method {
	case "Metadata_metadata_at_version":
		v := d.U32()
		if err := d.Done(); err != nil {
			return nil, err
		}
		switch v {
		case 15:
			return c.metaV15, nil
		case 14:
			return scale.NewEncoder(nil).U8(1).Bytes(c.metaV14).Data(), nil
		}
		return []byte{0}, nil
	case "Metadata_metadata_versions":
		return scale.NewEncoder(nil).Compact(2).U32(14).U32(15).Data(), nil
	case "Metadata_metadata":
		return scale.NewEncoder(nil).Bytes(c.metaV14).Data(), nil
	case "AccountNonceApi_account_nonce":
		pub := d.Fixed(32)
		if err := d.Done(); err != nil {
			return nil, err
		}
		n := uint32(0)
		if a := c.st.Accounts[account32(pub)]; a != nil {
			n = a.Nonce
		}
		return scale.NewEncoder(nil).U32(n).Data(), nil
	case "SubnetRegistrationRuntimeApi_get_network_registration_cost":
		return scale.NewEncoder(nil).U64(c.cfg.LockCost).Data(), nil
	case "NeuronInfoRuntimeApi_get_neurons_lite":
		netuid := d.U16()
		if err := d.Done(); err != nil {
			return nil, err
		}
		inner := scale.NewEncoder(nil)
		if s := c.st.Subnets[netuid]; s != nil {
			inner.Compact(uint64(len(s.Neurons)))
			for i := range s.Neurons {
				neuronLite(inner, s, i)
			}
		} else {
			inner.Compact(0)
		}
		return scale.NewEncoder(nil).Bytes(inner.Data()).Data(), nil
	case "NeuronInfoRuntimeApi_get_neuron_lite":
		netuid, uid := d.U16(), d.U16()
		if err := d.Done(); err != nil {
			return nil, err
		}
		inner := scale.NewEncoder(nil)
		if s := c.st.Subnets[netuid]; s != nil && int(uid) < len(s.Neurons) {
			neuronLite(inner, s, int(uid))
		}
		return scale.NewEncoder(nil).Bytes(inner.Data()).Data(), nil
	}
	return nil, fmt.Errorf("the dev chain does not implement runtime API %s", method)
}
