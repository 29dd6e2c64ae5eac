package devchain

import (
	"slices"
)

const rootNetuid = 0

func (c *Chain) signedOnly(o origin) (account32, error) {
	if o.root {
		return account32{}, errBadOrigin
	}
	return o.signer, nil
}

// take removes rao from pub's free balance, or fails with err.
func (c *Chain) take(pub account32, rao uint64, err error) error {
	a := c.st.Accounts[pub]
	if a == nil || a.Free < rao {
		return err
	}
	a.Free -= rao
	return nil
}

// registerNetwork is SubtensorModule.register_network(hotkey, mechid).
func (c *Chain) registerNetwork(ex *execution, o origin, args map[string]any) error {
	coldkey, err := c.signedOnly(o)
	if err != nil {
		return err
	}
	st := c.st
	hotkey, _ := argAccount(args, "hotkey")
	if ex.number-min(ex.number, st.NetworkLastRegistered) < st.NetworkRateLimit {
		return stErr("NetworkTxRateLimitExceeded")
	}
	if _, ok := args["mechid"]; ok && argU16(args, "mechid") != 1 { // spec 343 has no mechid
		return stErr("MechanismDoesNotExist")
	}
	if owner, ok := st.Owners[hotkey]; ok && owner != coldkey {
		return stErr("NonAssociatedColdKey")
	}
	netuid := uint16(1)
	for ; st.Subnets[netuid] != nil; netuid++ {
		if netuid == 0xffff {
			return stErr("SubNetRegistrationDisabled")
		}
	}
	if err := c.take(coldkey, c.cfg.LockCost, stErr("NotEnoughBalanceToStake")); err != nil {
		return err
	}
	st.TotalIssuance -= min(c.cfg.LockCost, st.TotalIssuance)
	st.NetworkLastRegistered = ex.number
	s := newSubnet(c.cfg, netuid, coldkey, hotkey, ex.number)
	s.CommitReveal = c.spec == 343 // on by default since spec 306
	st.Subnets[netuid] = s
	ex.emit("SubtensorModule", "NetworkAdded", []any{netuid, uint16(1)})
	c.appendNeuron(ex, s, hotkey, coldkey)
	return nil
}

// appendNeuron registers hotkey as a new uid (the subnet is not full).
func (c *Chain) appendNeuron(ex *execution, s *subnet, hotkey, coldkey account32) uint16 {
	uid := uint16(len(s.Neurons))
	s.Neurons = append(s.Neurons, &neuron{Hotkey: hotkey, Coldkey: coldkey, RegisteredAt: ex.number, LastUpdate: ex.number})
	c.st.Owners[hotkey] = coldkey
	ex.emit("SubtensorModule", "NeuronRegistered", []any{s.Netuid, uid, hotkey[:]})
	return uid
}

func (s *subnet) uidOf(hotkey account32) (uint16, bool) {
	for i, n := range s.Neurons {
		if n.Hotkey == hotkey {
			return uint16(i), true
		}
	}
	return 0, false
}

// burnedRegister is SubtensorModule.burned_register(netuid, hotkey), with
// the checks of the runtime in its order.
func (c *Chain) burnedRegister(ex *execution, o origin, args map[string]any) error {
	coldkey, err := c.signedOnly(o)
	if err != nil {
		return err
	}
	st := c.st
	netuid := argU16(args, "netuid")
	hotkey, _ := argAccount(args, "hotkey")
	if netuid == rootNetuid {
		return stErr("RegistrationNotPermittedOnRootSubnet")
	}
	s := st.Subnets[netuid]
	if s == nil {
		return stErr("SubNetworkDoesNotExist")
	}
	if s.RegsThisBlock >= s.MaxRegsPerBlock {
		return stErr("TooManyRegistrationsThisBlock")
	}
	if uint32(s.RegsThisInterval) >= 3*uint32(s.TargetRegs) {
		return stErr("TooManyRegistrationsThisInterval")
	}
	if _, ok := s.uidOf(hotkey); ok {
		return stErr("HotKeyAlreadyRegisteredInSubNet")
	}
	if st.free(coldkey) < s.Burn {
		return stErr("NotEnoughBalanceToStake")
	}
	if owner, ok := st.Owners[hotkey]; ok && owner != coldkey {
		return stErr("NonAssociatedColdKey")
	}
	_ = c.take(coldkey, s.Burn, nil)
	st.TotalIssuance -= min(s.Burn, st.TotalIssuance)
	s.RegsThisBlock++
	s.RegsThisInterval++
	if len(s.Neurons) < int(s.MaxAllowedUids) {
		c.appendNeuron(ex, s, hotkey, coldkey)
		return nil
	}
	uid, ok := c.neuronToPrune(s, ex.number)
	if !ok {
		return stErr("NoNeuronIdAvailable")
	}
	s.Neurons[uid] = &neuron{Hotkey: hotkey, Coldkey: coldkey, RegisteredAt: ex.number, LastUpdate: ex.number}
	st.Owners[hotkey] = coldkey
	ex.emit("SubtensorModule", "NeuronRegistered", []any{netuid, uid, hotkey[:]})
	return nil
}

// neuronToPrune picks the uid a registration replaces on a full subnet: the
// lowest pruning score among neurons out of their immunity period (the
// lowest uid on ties); if all are immune, the lowest score of all.
func (c *Chain) neuronToPrune(s *subnet, now uint64) (uint16, bool) {
	best, bestImmune := -1, -1
	for i, n := range s.Neurons {
		immune := now-min(now, n.RegisteredAt) < uint64(s.ImmunityPeriod)
		if immune {
			if bestImmune < 0 || n.PruningScore < s.Neurons[bestImmune].PruningScore {
				bestImmune = i
			}
		} else if best < 0 || n.PruningScore < s.Neurons[best].PruningScore {
			best = i
		}
	}
	if best < 0 {
		best = bestImmune
	}
	return uint16(best), best >= 0
}

func (c *Chain) registeredAnywhere(hotkey account32) bool {
	for _, s := range c.st.Subnets {
		if _, ok := s.uidOf(hotkey); ok {
			return true
		}
	}
	return false
}

// serveAxon is SubtensorModule.serve_axon.
func (c *Chain) serveAxon(ex *execution, o origin, args map[string]any) error {
	hotkey, err := c.signedOnly(o)
	if err != nil {
		return err
	}
	netuid := argU16(args, "netuid")
	ipType := uint8(argUint(args, "ip_type"))
	lo, hi := argU128(args, "ip")
	s := c.st.Subnets[netuid]
	if s == nil {
		return stErr("SubNetworkDoesNotExist")
	}
	if !c.registeredAnywhere(hotkey) {
		return stErr("HotKeyNotRegisteredInNetwork")
	}
	if ipType != 4 && ipType != 6 {
		return stErr("InvalidIpType")
	}
	if !c.validIP(ipType, lo, hi) {
		return stErr("InvalidIpAddress")
	}
	var prev axon
	uid, registered := s.uidOf(hotkey)
	if registered && s.Neurons[uid].Axon != nil {
		prev = *s.Neurons[uid].Axon
	}
	if s.ServingRateLimit > 0 && prev.Block > 0 && ex.number-min(ex.number, prev.Block) < s.ServingRateLimit {
		return stErr("ServingRateLimitExceeded")
	}
	if !registered {
		// The runtime stores axons of hotkeys registered on another subnet;
		// the dev chain keeps axons on neurons only.
		return stErr("HotKeyNotRegisteredInSubNet")
	}
	s.Neurons[uid].Axon = &axon{
		Block: ex.number, Version: uint32(argUint(args, "version")), IP: [2]uint64{lo, hi},
		Port: argU16(args, "port"), IPType: ipType, Protocol: uint8(argUint(args, "protocol")),
		P1: uint8(argUint(args, "placeholder1")), P2: uint8(argUint(args, "placeholder2")),
	}
	ex.emit("SubtensorModule", "AxonServed", []any{netuid, hotkey[:]})
	return nil
}

// validIP is the runtime's is_valid_ip_address, with loopback allowed when
// the config says so.
func (c *Chain) validIP(ipType uint8, lo, hi uint64) bool {
	if lo == 0 && hi == 0 {
		return false
	}
	if ipType == 4 {
		if hi != 0 || lo >= 0xffffffff {
			return false
		}
		if lo == 0x7f000001 && !c.cfg.AllowLoopback {
			return false
		}
	}
	if ipType == 6 && hi == 0 && lo == 1 && !c.cfg.AllowLoopback { // ::1
		return false
	}
	return true
}

// addStake is SubtensorModule.add_stake(hotkey, netuid, amount_staked):
// TAO moves from the coldkey to TotalHotkeyAlpha 1:1.
func (c *Chain) addStake(ex *execution, o origin, args map[string]any) error {
	coldkey, err := c.signedOnly(o)
	if err != nil {
		return err
	}
	hotkey, _ := argAccount(args, "hotkey")
	netuid := argU16(args, "netuid")
	amount := argUint(args, "amount_staked")
	s := c.st.Subnets[netuid]
	if s == nil {
		return stErr("SubnetNotExists")
	}
	if _, ok := c.st.Owners[hotkey]; !ok {
		return stErr("HotKeyAccountNotExists")
	}
	if err := c.take(coldkey, amount, stErr("NotEnoughBalanceToStake")); err != nil {
		return err
	}
	s.Alpha[hotkey] += amount
	ex.emit("SubtensorModule", "StakeAdded", []any{coldkey[:], hotkey[:], amount, amount, netuid})
	return nil
}

// setWeights is SubtensorModule.set_weights with the runtime's checks in
// the runtime's order (commit-reveal first, in the dispatchable).
func (c *Chain) setWeights(ex *execution, o origin, args map[string]any) error {
	hotkey, err := c.signedOnly(o)
	if err != nil {
		return err
	}
	netuid := argU16(args, "netuid")
	if s := c.st.Subnets[netuid]; s != nil && s.CommitReveal {
		return stErr("CommitRevealEnabled")
	}
	return c.doSetWeights(ex, hotkey, netuid, argU16s(args, "dests"), argU16s(args, "weights"), argUint(args, "version_key"))
}

// doSetWeights is subtensor's do_set_weights (also run by reveal_weights):
// with commit-reveal on, the rate limit was checked by the commit, and
// LastUpdate stays the commit's block.
func (c *Chain) doSetWeights(ex *execution, hotkey account32, netuid uint16, uids, values []uint16, version uint64) error {
	st := c.st
	s := st.Subnets[netuid]
	cr := s != nil && s.CommitReveal
	if netuid == rootNetuid {
		return stErr("CanNotSetRootNetworkWeights")
	}
	if len(uids) != len(values) {
		return stErr("WeightVecNotEqualSize")
	}
	if s == nil {
		return stErr("SubNetworkDoesNotExist")
	}
	if len(uids) > len(s.Neurons) {
		return stErr("UidsLengthExceedUidsInSubNet")
	}
	uid, ok := s.uidOf(hotkey)
	if !ok {
		return stErr("HotKeyNotRegisteredInSubNet")
	}
	if s.Alpha[hotkey] < st.WeightsMinStake {
		return stErr("NotEnoughStakeToSetWeights")
	}
	if s.WeightsVersionKey != 0 && version < s.WeightsVersionKey {
		return stErr("IncorrectWeightVersionKey")
	}
	n := s.Neurons[uid]
	if !cr && s.WeightsSetRateLimit > 0 && ex.number-min(ex.number, n.LastUpdate) < s.WeightsSetRateLimit {
		return stErr("SettingWeightsTooFast")
	}
	self := len(uids) == 1 && uids[0] == uid
	if !self && !n.Permit {
		return stErr("NeuronNoValidatorPermit")
	}
	seen := map[uint16]bool{}
	for _, u := range uids {
		if seen[u] {
			return stErr("DuplicateUids")
		}
		seen[u] = true
	}
	for _, u := range uids {
		if int(u) >= len(s.Neurons) {
			return stErr("UidVecContainInvalidOne")
		}
	}
	if !self && len(uids) < int(min(s.MinAllowedWeights, uint16(len(s.Neurons)))) {
		return stErr("WeightVecLengthIsLow")
	}
	up := maxUpscale(values)
	if !self && s.MaxWeightsLimit != 0xffff {
		var sum uint64
		for _, v := range up {
			sum += uint64(v)
		}
		for _, v := range up {
			if sum > 0 && uint64(v)*0xffff/sum > uint64(s.MaxWeightsLimit) {
				return stErr("MaxWeightExceeded")
			}
		}
	}
	w := make([][2]uint16, len(uids))
	for i := range uids {
		w[i] = [2]uint16{uids[i], up[i]}
	}
	n.Weights = w
	if !cr {
		n.LastUpdate = ex.number
	}
	ex.emit("SubtensorModule", "WeightsSet", []any{netuid, uid})
	return nil
}

// maxUpscale scales weights so the largest is 65535, as the runtime does.
func maxUpscale(v []uint16) []uint16 {
	m := slices.Max(append([]uint16{0}, v...))
	out := make([]uint16, len(v))
	if m == 0 {
		return out
	}
	for i, x := range v {
		out[i] = uint16(uint64(x) * 0xffff / uint64(m))
	}
	return out
}

// transfer is Balances.transfer_keep_alive / transfer_allow_death.
func (c *Chain) transfer(ex *execution, o origin, args map[string]any, keepAlive bool) error {
	from, err := c.signedOnly(o)
	if err != nil {
		return err
	}
	to, ok := argAccount(args, "dest")
	if !ok {
		return &dispatchError{Name: "CannotLookup"}
	}
	amount := argUint(args, "value")
	st := c.st
	free := st.free(from)
	if free < amount {
		return &dispatchError{Name: "Token.FundsUnavailable"}
	}
	if keepAlive && free-amount < existentialDeposit && amount > 0 {
		return &dispatchError{Name: "Token.NotExpendable"}
	}
	if _, exists := st.Accounts[to]; !exists && amount < existentialDeposit {
		return &dispatchError{Name: "Token.BelowMinimum"}
	}
	if st.free(to)+amount < amount {
		return &dispatchError{Name: "Arithmetic.Overflow"}
	}
	st.acct(from).Free -= amount
	st.acct(to).Free += amount
	ex.emit("Balances", "Transfer", map[string]any{"from": from[:], "to": to[:], "amount": amount})
	return nil
}

const existentialDeposit = 500

// forceSetBalance is Balances.force_set_balance (root only).
func (c *Chain) forceSetBalance(ex *execution, o origin, args map[string]any) error {
	if !o.root {
		return errBadOrigin
	}
	who, ok := argAccount(args, "who")
	if !ok {
		return &dispatchError{Name: "CannotLookup"}
	}
	a := c.st.acct(who)
	nf := argUint(args, "new_free")
	c.st.TotalIssuance = c.st.TotalIssuance - min(a.Free, c.st.TotalIssuance) + nf
	a.Free = nf
	ex.emit("Balances", "BalanceSet", map[string]any{"who": who[:], "free": nf})
	return nil
}
