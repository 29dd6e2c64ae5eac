package chain

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/sync/errgroup"

	"github.com/sn27/sn27/internal/chain/metadata"
	"github.com/sn27/sn27/internal/keys"
	"github.com/sn27/sn27/internal/scale"
)

// Hyperparam is a subnet hyperparameter as btcli's sudo get/set know it:
// Name is the suffix of its AdminUtils setter (sudo_set_<Name>), Storage the
// SubtensorModule map (keyed by netuid) that holds it. A runtime may lack
// either; only what its metadata has is read or set.
type Hyperparam struct {
	Name    string
	Storage string
	Aliases []string // other names btcli and its users use
	Unit    string   // "blocks", "rao", "epochs" or ""
}

// Setter is the AdminUtils call that sets h.
func (h Hyperparam) Setter() string { return "sudo_set_" + h.Name }

// Hyperparams are the subnet hyperparameters subtensor has had, from spec
// 218 (rao) to today. Entries missing from a runtime are left out there.
var Hyperparams = []Hyperparam{
	{Name: "tempo", Storage: "Tempo", Unit: "blocks"},
	{Name: "rho", Storage: "Rho"},
	{Name: "kappa", Storage: "Kappa"},
	{Name: "immunity_period", Storage: "ImmunityPeriod", Unit: "blocks"},
	{Name: "min_allowed_weights", Storage: "MinAllowedWeights"},
	{Name: "max_weight_limit", Storage: "MaxWeightsLimit", Aliases: []string{"max_weights_limit"}},
	{Name: "min_allowed_uids", Storage: "MinAllowedUids"},
	{Name: "max_allowed_uids", Storage: "MaxAllowedUids"},
	{Name: "max_allowed_validators", Storage: "MaxAllowedValidators", Aliases: []string{"max_validators"}},
	{Name: "weights_version_key", Storage: "WeightsVersionKey", Aliases: []string{"weights_version"}},
	{Name: "weights_set_rate_limit", Storage: "WeightsSetRateLimit", Aliases: []string{"weights_rate_limit"}, Unit: "blocks"},
	{Name: "serving_rate_limit", Storage: "ServingRateLimit", Unit: "blocks"},
	{Name: "activity_cutoff", Storage: "ActivityCutoff", Unit: "blocks"},
	{Name: "adjustment_interval", Storage: "AdjustmentInterval", Unit: "blocks"},
	{Name: "adjustment_alpha", Storage: "AdjustmentAlpha"},
	{Name: "target_registrations_per_interval", Storage: "TargetRegistrationsPerInterval", Aliases: []string{"target_regs_per_interval"}},
	{Name: "max_registrations_per_block", Storage: "MaxRegistrationsPerBlock", Aliases: []string{"max_regs_per_block"}},
	{Name: "network_registration_allowed", Storage: "NetworkRegistrationAllowed", Aliases: []string{"registration_allowed"}},
	{Name: "network_pow_registration_allowed", Storage: "NetworkPowRegistrationAllowed", Aliases: []string{"pow_registration_allowed"}},
	{Name: "difficulty", Storage: "Difficulty"},
	{Name: "min_difficulty", Storage: "MinDifficulty"},
	{Name: "max_difficulty", Storage: "MaxDifficulty"},
	{Name: "burn", Storage: "Burn", Unit: "rao"},
	{Name: "min_burn", Storage: "MinBurn", Unit: "rao"},
	{Name: "max_burn", Storage: "MaxBurn", Unit: "rao"},
	{Name: "bonds_moving_average", Storage: "BondsMovingAverage", Aliases: []string{"bonds_moving_avg"}},
	{Name: "bonds_penalty", Storage: "BondsPenalty"},
	{Name: "bonds_reset_enabled", Storage: "BondsResetOn"},
	{Name: "commit_reveal_weights_enabled", Storage: "CommitRevealWeightsEnabled", Aliases: []string{"commit_reveal_enabled"}},
	{Name: "commit_reveal_weights_interval", Storage: "RevealPeriodEpochs", Aliases: []string{"commit_reveal_period", "reveal_period_epochs"}, Unit: "epochs"},
	{Name: "liquid_alpha_enabled", Storage: "LiquidAlphaOn"},
	{Name: "alpha_values", Storage: "AlphaValues"},
	{Name: "alpha_sigmoid_steepness", Storage: "AlphaSigmoidSteepness"},
	{Name: "yuma3_enabled", Storage: "Yuma3On"},
	{Name: "network_max_stake", Storage: "NetworkMaxStake", Unit: "rao"},
	{Name: "owner_immune_neuron_limit", Storage: "ImmuneOwnerUidsLimit"},
	{Name: "recycle_or_burn", Storage: "RecycleOrBurn"},
	{Name: "subtoken_enabled", Storage: "SubtokenEnabled"},
}

// HyperparamValue is a hyperparameter read from a subnet's storage.
type HyperparamValue struct {
	Hyperparam
	Value    any  // decoded as package metadata shapes it (uint64, bool, []any...)
	Settable bool // the runtime has AdminUtils.sudo_set_<Name>
}

// String renders the value: integers and booleans plainly, tuples as
// "a,b" (the form SetHyperparam takes).
func (v HyperparamValue) String() string { return formatValue(v.Value) }

func formatValue(v any) string {
	switch x := v.(type) {
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = formatValue(e)
		}
		return strings.Join(parts, ",")
	case metadata.Variant:
		if x.Fields == nil {
			return x.Name
		}
		return x.Name + "(" + formatValue(x.Fields) + ")"
	}
	return fmt.Sprint(v)
}

// UnknownHyperparamError names a parameter this runtime cannot set and
// lists those it can.
type UnknownHyperparamError struct {
	Name  string
	Valid []string
}

func (e *UnknownHyperparamError) Error() string {
	return fmt.Sprintf("unknown hyperparameter %q for this runtime; valid: %s", e.Name, strings.Join(e.Valid, ", "))
}

// ErrRootOnly says the runtime refused the subnet owner with BadOrigin:
// the setter needs root (Sudo.sudo).
var ErrRootOnly = errors.New("the runtime accepts this setter only from root (Sudo.sudo), not from the subnet owner")

// perSubnet reports whether SubtensorModule.item exists as a map keyed by
// netuid alone.
func perSubnet(m *metadata.Metadata, item string) (*metadata.StorageEntry, bool) {
	e, err := m.Storage("SubtensorModule", item)
	if err != nil || len(e.Hashers) != 1 {
		return nil, false
	}
	return e, true
}

// setterCall returns AdminUtils.sudo_set_<name> when it exists and takes
// the netuid first.
func setterCall(m *metadata.Metadata, h Hyperparam) (metadata.Call, bool) {
	ci, err := m.Call("AdminUtils", h.Setter())
	if err != nil || len(ci.Args) < 2 || ci.Args[0].Name != "netuid" {
		return metadata.Call{}, false
	}
	return ci, true
}

// SettableHyperparams lists, in table order, the names of the
// hyperparameters this runtime has a per-subnet AdminUtils setter for.
func SettableHyperparams(m *metadata.Metadata) []string {
	var out []string
	for _, h := range Hyperparams {
		if _, ok := setterCall(m, h); ok {
			out = append(out, h.Name)
		}
	}
	return out
}

// LookupHyperparam resolves a name or alias (case-insensitive, "-" taken as
// "_") to a hyperparameter this runtime can set, with its setter call.
func LookupHyperparam(m *metadata.Metadata, name string) (Hyperparam, metadata.Call, error) {
	n := strings.ReplaceAll(strings.ToLower(strings.TrimSpace(name)), "-", "_")
	n = strings.TrimPrefix(n, "sudo_set_")
	for _, h := range Hyperparams {
		if h.Name != n && !slices.Contains(h.Aliases, n) {
			continue
		}
		if ci, ok := setterCall(m, h); ok {
			return h, ci, nil
		}
		break
	}
	return Hyperparam{}, metadata.Call{}, &UnknownHyperparamError{Name: name, Valid: SettableHyperparams(m)}
}

// SubnetOwner reads the subnet's owner coldkey (SubtensorModule.SubnetOwner).
func (c *Client) SubnetOwner(ctx context.Context, netuid NetUID) (keys.Coldkey, error) {
	b, err := c.Storage(ctx, "SubtensorModule", "SubnetOwner", u16b(uint16(netuid)))
	if err != nil {
		return "", err
	}
	if len(b) != 32 {
		return "", fmt.Errorf("SubnetOwner: %d bytes, want 32", len(b))
	}
	var pub keys.PublicKey
	copy(pub[:], b)
	return keys.Coldkey(keys.SS58(pub)), nil
}

// Hyperparameters reads every hyperparameter the runtime stores for the
// subnet (see Hyperparams), in table order.
func (c *Client) Hyperparameters(ctx context.Context, netuid NetUID) ([]HyperparamValue, error) {
	if err := c.RequireSubnet(ctx, netuid); err != nil {
		return nil, err
	}
	m := c.Metadata()
	var out []HyperparamValue
	for _, h := range Hyperparams {
		if _, ok := perSubnet(m, h.Storage); ok {
			_, settable := setterCall(m, h)
			out = append(out, HyperparamValue{Hyperparam: h, Settable: settable})
		}
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(8)
	for i := range out {
		g.Go(func() error {
			v, err := c.StorageValue(gctx, "SubtensorModule", out[i].Storage, u16b(uint16(netuid)))
			out[i].Value = v
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return out, nil
}

// readHyperparam reads one hyperparameter, if the runtime stores it.
func (c *Client) readHyperparam(ctx context.Context, h Hyperparam, netuid NetUID) (HyperparamValue, bool, error) {
	m := c.Metadata()
	_, settable := setterCall(m, h)
	hv := HyperparamValue{Hyperparam: h, Settable: settable}
	if _, ok := perSubnet(m, h.Storage); !ok {
		return hv, false, nil
	}
	v, err := c.StorageValue(ctx, "SubtensorModule", h.Storage, u16b(uint16(netuid)))
	hv.Value = v
	return hv, err == nil, err
}

// HyperparamChange is a prepared AdminUtils setter: built, not yet sent.
type HyperparamChange struct {
	Param  Hyperparam
	NetUID NetUID
	Call   metadata.Call
	Values []string // as given, one per value argument
	call   []byte
}

// Bytes returns the encoded call.
func (hc *HyperparamChange) Bytes() []byte { return append([]byte(nil), hc.call...) }

// Describe renders the call, e.g. "AdminUtils.sudo_set_tempo(netuid 2, tempo 100)".
func (hc *HyperparamChange) Describe() string {
	parts := []string{fmt.Sprintf("netuid %d", hc.NetUID)}
	for i, f := range hc.Call.Args[1:] {
		parts = append(parts, f.Name+" "+hc.Values[i])
	}
	return fmt.Sprintf("AdminUtils.%s(%s)", hc.Call.Name, strings.Join(parts, ", "))
}

// PrepareHyperparam encodes AdminUtils.sudo_set_<name>(netuid, values...)
// with the argument types the runtime's metadata gives. value holds one
// value per argument after the netuid, comma-separated (e.g. "100",
// "false", "45875,58982" for alpha_values).
func (c *Client) PrepareHyperparam(netuid NetUID, name, value string) (*HyperparamChange, error) {
	return NewHyperparamChange(c.Metadata(), netuid, name, value)
}

// NewHyperparamChange is PrepareHyperparam for the given metadata.
func NewHyperparamChange(m *metadata.Metadata, netuid NetUID, name, value string) (*HyperparamChange, error) {
	h, ci, err := LookupHyperparam(m, name)
	if err != nil {
		return nil, err
	}
	args := ci.Args[1:]
	values := strings.Split(value, ",")
	for i := range values {
		values[i] = strings.TrimSpace(values[i])
	}
	if len(values) != len(args) {
		return nil, fmt.Errorf("AdminUtils.%s takes %d value(s) after the netuid (%s); got %d", ci.Name, len(args), describeArgs(args), len(values))
	}
	e := scale.NewEncoder(nil)
	e.U8(ci.PalletIndex).U8(ci.Index)
	if err := m.EncodeValue(ci.Args[0].Type, uint64(netuid), e); err != nil {
		return nil, fmt.Errorf("AdminUtils.%s netuid: %w", ci.Name, err)
	}
	for i, f := range args {
		b, err := encodeArg(m, f, values[i])
		if err != nil {
			return nil, fmt.Errorf("AdminUtils.%s: %w", ci.Name, err)
		}
		e.Raw(b)
	}
	return &HyperparamChange{Param: h, NetUID: netuid, Call: ci, Values: values, call: e.Data()}, nil
}

func describeArgs(fs []metadata.Field) string {
	parts := make([]string, len(fs))
	for i, f := range fs {
		parts[i] = f.Name + " " + f.TypeName
	}
	return strings.Join(parts, ", ")
}

// encodeArg encodes s as the argument's type: an integer, or a boolean
// (true/false, on/off, yes/no, 1/0).
func encodeArg(m *metadata.Metadata, f metadata.Field, s string) ([]byte, error) {
	if n, ok := new(big.Int).SetString(s, 10); ok {
		e := scale.NewEncoder(nil)
		if err := m.EncodeValue(f.Type, n, e); err == nil {
			return e.Data(), nil
		}
	}
	if b, ok := parseBool(s); ok {
		e := scale.NewEncoder(nil)
		if err := m.EncodeValue(f.Type, b, e); err == nil {
			return e.Data(), nil
		}
	}
	return nil, fmt.Errorf("%s: %q is not a valid %s", f.Name, s, f.TypeName)
}

func parseBool(s string) (bool, bool) {
	switch strings.ToLower(s) {
	case "on", "yes":
		return true, true
	case "off", "no":
		return false, true
	}
	b, err := strconv.ParseBool(s)
	return b, err == nil
}

// SetHyperparam sends the prepared setter signed by signer (the subnet
// owner), or wrapped in Sudo.sudo when sudo is set (signer must then be the
// chain's sudo key), and reads the value back. Refusals are the runtime's
// named errors, explained: BadOrigin for a non-owner names the owner, and
// for the owner says the setter is root-only (ErrRootOnly).
func (c *Client) SetHyperparam(ctx context.Context, signer *keys.Pair, hc *HyperparamChange, sudo bool) (HyperparamValue, *Receipt, error) {
	var (
		r   *Receipt
		err error
	)
	if sudo {
		r, err = c.Sudo(ctx, signer, hc.call)
	} else {
		r, err = c.Submit(ctx, signer, hc.call)
	}
	if err != nil {
		return HyperparamValue{}, r, c.explainAdminError(ctx, signer, hc, sudo, err)
	}
	v, ok, err := c.readHyperparam(ctx, hc.Param, hc.NetUID)
	if err != nil {
		return v, r, fmt.Errorf("read back %s: %w", hc.Param.Storage, err)
	}
	if !ok {
		v.Value = nil
	}
	return v, r, nil
}

func (c *Client) explainAdminError(ctx context.Context, signer *keys.Pair, hc *HyperparamChange, sudo bool, err error) error {
	var de *DispatchError
	if !errors.As(err, &de) {
		return err
	}
	who := signer.SS58()
	switch {
	case sudo && de.Pallet == "Sudo":
		if b, serr := c.Storage(ctx, "Sudo", "Key"); serr == nil && len(b) == 32 {
			var pub keys.PublicKey
			copy(pub[:], b)
			return fmt.Errorf("%w: coldkey %s is not the chain's sudo key (%s)", err, who, keys.SS58(pub))
		}
		return fmt.Errorf("%w: coldkey %s is not the chain's sudo key", err, who)
	case !sudo && errors.Is(err, ErrBadOrigin):
		owner, oerr := c.SubnetOwner(ctx, hc.NetUID)
		if oerr != nil {
			return err
		}
		if string(owner) == who {
			return fmt.Errorf("AdminUtils.%s: %w (%w)", hc.Call.Name, ErrRootOnly, err)
		}
		return fmt.Errorf("%w: coldkey %s is not the owner of subnet %d (the owner is %s)", err, who, hc.NetUID, owner)
	}
	return err
}
