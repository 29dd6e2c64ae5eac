package chain

import (
	"context"
	"errors"
	"fmt"
	"net/netip"

	"github.com/sn27/sn27/internal/keys"
	"github.com/sn27/sn27/internal/scale"
)

// CallNamed encodes pallet.call from arguments given by name, in the order
// the runtime's metadata lists them, so calls keep working when a runtime
// reorders or adds arguments with known defaults.
func (c *Client) CallNamed(pallet, call string, args map[string][]byte) ([]byte, error) {
	ci, err := c.Metadata().Call(pallet, call)
	if err != nil {
		return nil, err
	}
	out := []byte{ci.PalletIndex, ci.Index}
	for _, f := range ci.Args {
		v, ok := args[f.Name]
		if !ok {
			return nil, fmt.Errorf("%s.%s: this runtime wants argument %q, which this client does not provide", pallet, call, f.Name)
		}
		out = append(out, v...)
	}
	return out, nil
}

func enc() *scale.Encoder { return scale.NewEncoder(nil) }

func u16b(v uint16) []byte { return enc().U16(v).Data() }
func u64b(v uint64) []byte { return enc().U64(v).Data() }

func account(addr string) ([]byte, error) {
	pub, err := keys.ParseSS58(addr)
	if err != nil {
		return nil, err
	}
	return pub[:], nil
}

// DefaultAxonVersion is what SN27 validators require on chain (183).
const DefaultAxonVersion = 183

// ServeAxon announces hotkey's axon at ip:port on netuid (protocol 4, as
// SN27's miner does).
func (c *Client) ServeAxon(ctx context.Context, hotkey *keys.Pair, netuid NetUID, ip string, port uint16, version uint32) (*Receipt, error) {
	addr, err := netip.ParseAddr(ip)
	if err != nil {
		return nil, fmt.Errorf("axon ip %q: %w", ip, err)
	}
	var lo, hi uint64
	ipType := uint8(4)
	if addr.Is4() {
		b := addr.As4()
		lo = uint64(b[0])<<24 | uint64(b[1])<<16 | uint64(b[2])<<8 | uint64(b[3])
	} else {
		ipType = 6
		b := addr.As16()
		for i := 0; i < 8; i++ {
			hi = hi<<8 | uint64(b[i])
			lo = lo<<8 | uint64(b[8+i])
		}
	}
	call, err := c.CallNamed("SubtensorModule", "serve_axon", map[string][]byte{
		"netuid": u16b(uint16(netuid)), "version": enc().U32(version).Data(), "ip": enc().U128(lo, hi).Data(),
		"port": u16b(port), "ip_type": {ipType}, "protocol": {4}, "placeholder1": {0}, "placeholder2": {0},
	})
	if err != nil {
		return nil, err
	}
	return c.Submit(ctx, hotkey, call)
}

// BurnedRegister registers hotkey on netuid, paying the burn from coldkey.
func (c *Client) BurnedRegister(ctx context.Context, coldkey *keys.Pair, netuid NetUID, hotkey keys.Hotkey) (UID, error) {
	hk, err := account(string(hotkey))
	if err != nil {
		return 0, err
	}
	call, err := c.CallNamed("SubtensorModule", "burned_register", map[string][]byte{"netuid": u16b(uint16(netuid)), "hotkey": hk})
	if err != nil {
		return 0, err
	}
	r, err := c.Submit(ctx, coldkey, call)
	if err != nil {
		return 0, err
	}
	ev, ok := r.Find("SubtensorModule", "NeuronRegistered")
	if !ok {
		return 0, errors.New("burned_register: no NeuronRegistered event")
	}
	uid, _ := asUint(field(ev.Fields, "uid", 1))
	return UID(uid), nil
}

// RegisterNetwork creates a subnet owned by coldkey with hotkey as its
// owner hotkey and returns its netuid.
func (c *Client) RegisterNetwork(ctx context.Context, coldkey *keys.Pair, hotkey keys.Hotkey) (NetUID, error) {
	hk, err := account(string(hotkey))
	if err != nil {
		return 0, err
	}
	call, err := c.CallNamed("SubtensorModule", "register_network", map[string][]byte{"hotkey": hk, "mechid": u16b(1)})
	if err != nil {
		return 0, err
	}
	r, err := c.Submit(ctx, coldkey, call)
	if err != nil {
		return 0, err
	}
	ev, ok := r.Find("SubtensorModule", "NetworkAdded")
	if !ok {
		return 0, errors.New("register_network: no NetworkAdded event")
	}
	n, _ := asUint(field(ev.Fields, "netuid", 0))
	return NetUID(n), nil
}

// AddStake stakes amount rao from coldkey to hotkey on netuid.
func (c *Client) AddStake(ctx context.Context, coldkey *keys.Pair, hotkey keys.Hotkey, netuid NetUID, amount uint64) (*Receipt, error) {
	hk, err := account(string(hotkey))
	if err != nil {
		return nil, err
	}
	call, err := c.CallNamed("SubtensorModule", "add_stake", map[string][]byte{
		"hotkey": hk, "netuid": u16b(uint16(netuid)), "amount_staked": u64b(amount),
	})
	if err != nil {
		return nil, err
	}
	return c.Submit(ctx, coldkey, call)
}

// CommitRevealEnabled reads the subnet's commit-reveal switch.
func (c *Client) CommitRevealEnabled(ctx context.Context, netuid NetUID) (bool, error) {
	b, err := c.Storage(ctx, "SubtensorModule", "CommitRevealWeightsEnabled", u16b(uint16(netuid)))
	if err != nil {
		return false, err
	}
	return len(b) == 1 && b[0] == 1, nil
}

// SetWeights converts weights as bittensor does and sets them for hotkey on
// netuid's main mechanism. With commit-reveal on it refuses with ErrCommitRevealEnabled
// rather than sending a call the chain would reject.
func (c *Client) SetWeights(ctx context.Context, hotkey *keys.Pair, netuid NetUID, uids []UID, weights []float64, versionKey uint64) (*Receipt, error) {
	if on, err := c.CommitRevealEnabled(ctx, netuid); err != nil {
		return nil, err
	} else if on {
		return nil, fmt.Errorf("subnet %d has commit-reveal weights enabled; set_weights is refused by the chain: %w", netuid, ErrCommitRevealEnabled)
	}
	us, ws, err := WeightsForEmit(uids, weights)
	if err != nil {
		return nil, err
	}
	de, we := enc().Compact(uint64(len(us))), enc().Compact(uint64(len(ws)))
	for i := range us {
		de.U16(uint16(us[i]))
		we.U16(ws[i])
	}
	// Runtimes with mechanisms take the main mechanism's weights through
	// set_mechanism_weights (mecid 0), as bittensor v10 sends them.
	name := "set_weights"
	if c.WeightsCalls().SetMechanismWeights {
		name = "set_mechanism_weights"
	}
	call, err := c.CallNamed("SubtensorModule", name, map[string][]byte{
		"netuid": u16b(uint16(netuid)), "mecid": {MainMechanism}, "dests": de.Data(), "weights": we.Data(), "version_key": u64b(versionKey),
	})
	if err != nil {
		return nil, err
	}
	return c.Submit(ctx, hotkey, call)
}

// Transfer sends amount rao from one account to another (keep-alive).
func (c *Client) Transfer(ctx context.Context, from *keys.Pair, to string, amount uint64) (*Receipt, error) {
	dest, err := account(to)
	if err != nil {
		return nil, err
	}
	call, err := c.CallNamed("Balances", "transfer_keep_alive", map[string][]byte{
		"dest": append([]byte{0}, dest...), "value": enc().Compact(amount).Data(),
	})
	if err != nil {
		return nil, err
	}
	return c.Submit(ctx, from, call)
}

// Sudo wraps call in Sudo.sudo, signed by the sudo key.
func (c *Client) Sudo(ctx context.Context, sudoKey *keys.Pair, call []byte) (*Receipt, error) {
	wrapped, err := c.Call("Sudo", "sudo", call)
	if err != nil {
		return nil, err
	}
	return c.Submit(ctx, sudoKey, wrapped)
}

// Hyperparameter reads a per-subnet u16/u64 storage value (e.g. "Tempo",
// "WeightsSetRateLimit", "WeightsVersionKey", "Burn").
func (c *Client) Hyperparameter(ctx context.Context, item string, netuid NetUID) (uint64, error) {
	v, err := c.StorageValue(ctx, "SubtensorModule", item, u16b(uint16(netuid)))
	if err != nil {
		return 0, err
	}
	n, ok := asUint(v)
	if !ok {
		return 0, fmt.Errorf("%s: not an integer: %v", item, v)
	}
	return n, nil
}
