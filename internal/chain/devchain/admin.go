package devchain

// adminSetter is an AdminUtils.sudo_set_* call: root, or (owner) also the
// subnet's owner coldkey.
type adminSetter struct {
	arg    string // the value argument
	owner  bool
	global func(st *state, v uint64)
	subnet func(s *subnet, v uint64) error
}

func (a adminSetter) handler() handler {
	return func(c *Chain, ex *execution, o origin, args map[string]any) error {
		v := argUint(args, a.arg)
		if b, ok := args[a.arg].(bool); ok && b {
			v = 1
		}
		if a.global != nil {
			if !o.root {
				return errBadOrigin
			}
			a.global(c.st, v)
			return nil
		}
		s := c.st.Subnets[argU16(args, "netuid")]
		if !o.root && (!a.owner || s == nil || s.Owner != o.signer) {
			return errBadOrigin
		}
		if s == nil {
			return modErr("AdminUtils", "SubnetDoesNotExist")
		}
		return a.subnet(s, v)
	}
}

var adminSetters = map[string]adminSetter{
	"sudo_set_network_rate_limit": {arg: "rate_limit", global: func(st *state, v uint64) { st.NetworkRateLimit = v }},
	"sudo_set_weights_min_stake":  {arg: "min_stake", global: func(st *state, v uint64) { st.WeightsMinStake = v }},
	"sudo_set_weights_set_rate_limit": {arg: "weights_set_rate_limit", owner: true,
		subnet: func(s *subnet, v uint64) error { s.WeightsSetRateLimit = v; return nil }},
	"sudo_set_target_registrations_per_interval": {arg: "target_registrations_per_interval",
		subnet: func(s *subnet, v uint64) error { s.TargetRegs = uint16(v); return nil }},
	"sudo_set_commit_reveal_weights_enabled": {arg: "enabled", owner: true,
		subnet: func(s *subnet, v uint64) error { s.CommitReveal = v == 1; return nil }},
	"sudo_set_serving_rate_limit": {arg: "serving_rate_limit", owner: true,
		subnet: func(s *subnet, v uint64) error { s.ServingRateLimit = v; return nil }},
	"sudo_set_tempo": {arg: "tempo",
		subnet: func(s *subnet, v uint64) error { s.Tempo = uint16(v); return nil }},
	"sudo_set_weights_version_key": {arg: "weights_version_key", owner: true,
		subnet: func(s *subnet, v uint64) error { s.WeightsVersionKey = v; return nil }},
	"sudo_set_max_allowed_uids": {arg: "max_allowed_uids",
		subnet: func(s *subnet, v uint64) error {
			if v < uint64(len(s.Neurons)) {
				return modErr("AdminUtils", "MaxAllowedUIdsLessThanCurrentUIds")
			}
			if v < uint64(s.MaxAllowedValidators) {
				return modErr("AdminUtils", "MaxValidatorsLargerThanMaxUIds")
			}
			s.MaxAllowedUids = uint16(v)
			return nil
		}},
	"sudo_set_max_allowed_validators": {arg: "max_allowed_validators",
		subnet: func(s *subnet, v uint64) error {
			if v > uint64(s.MaxAllowedUids) {
				return modErr("AdminUtils", "MaxValidatorsLargerThanMaxUIds")
			}
			s.MaxAllowedValidators = uint16(v)
			return nil
		}},
	"sudo_set_min_burn": {arg: "min_burn",
		subnet: func(s *subnet, v uint64) error { s.MinBurn = v; s.Burn = max(s.Burn, v); return nil }},
	"sudo_set_max_burn": {arg: "max_burn",
		subnet: func(s *subnet, v uint64) error { s.MaxBurn = v; s.Burn = min(s.Burn, v); return nil }},
	"sudo_set_immunity_period": {arg: "immunity_period", owner: true,
		subnet: func(s *subnet, v uint64) error { s.ImmunityPeriod = uint16(v); return nil }},
	"sudo_set_min_allowed_weights": {arg: "min_allowed_weights", owner: true,
		subnet: func(s *subnet, v uint64) error { s.MinAllowedWeights = uint16(v); return nil }},
	"sudo_set_max_weight_limit": {arg: "max_weight_limit", owner: true,
		subnet: func(s *subnet, v uint64) error { s.MaxWeightsLimit = uint16(v); return nil }},
	"sudo_set_max_registrations_per_block": {arg: "max_registrations_per_block",
		subnet: func(s *subnet, v uint64) error { s.MaxRegsPerBlock = uint16(v); return nil }},
	"sudo_set_activity_cutoff": {arg: "activity_cutoff", owner: true,
		subnet: func(s *subnet, v uint64) error { s.ActivityCutoff = uint16(v); return nil }},
}
