package devchain

import (
	"slices"

	"github.com/sn27/sn27/internal/scale"
)

// Hash commit-reveal (commit_weights / reveal_weights), with subtensor's
// checks in its order (pallets/subtensor/src/subnets/weights.rs at the
// spec-218 era, rao branch cbf78a672: do_commit_weights, do_reveal_weights,
// get_reveal_blocks, is_reveal_block_range, is_commit_expired): a commit of
// block b may be revealed only in epoch epoch(b) + RevealPeriodEpochs, where
// epoch(n) = (n + netuid + 1) / (tempo + 1); a hotkey holds at most 10
// unexpired commits; the reveal hash is BlakeTwo256(SCALE(hotkey, netuid,
// uids, values, salt, version_key)).

// weightCommit is one WeightCommits entry: (hash, commit block, first
// reveal block, last reveal block).
type weightCommit struct {
	Hash        account32 `json:"hash"`
	Block       uint64    `json:"block"`
	FirstReveal uint64    `json:"first_reveal"`
	LastReveal  uint64    `json:"last_reveal"`
}

// maxUnrevealedCommits is subtensor's bound on a hotkey's queue.
const maxUnrevealedCommits = 10

// revealPeriod is RevealPeriodEpochs[netuid] (default 1).
func (s *subnet) revealPeriod() uint64 {
	if s.RevealPeriod == 0 {
		return 1
	}
	return s.RevealPeriod
}

// revealBlocks is subtensor's get_reveal_blocks.
func (s *subnet) revealBlocks(commitBlock uint64) (first, last uint64) {
	epoch := epochIndex(s, commitBlock) + s.revealPeriod()
	first = epoch*(uint64(s.Tempo)+1) - min(epoch*(uint64(s.Tempo)+1), uint64(s.Netuid)+1)
	return first, first + uint64(s.Tempo)
}

func (s *subnet) commitExpired(now, commitBlock uint64) bool {
	return epochIndex(s, now) > epochIndex(s, commitBlock)+s.revealPeriod()
}

func (s *subnet) inRevealEpoch(now, commitBlock uint64) bool {
	return epochIndex(s, now) == epochIndex(s, commitBlock)+s.revealPeriod()
}

// cloneCommits deep-copies a subnet's commit queues (state.clone).
func cloneCommits(m map[account32][]weightCommit) map[account32][]weightCommit {
	if m == nil {
		return nil
	}
	out := make(map[account32][]weightCommit, len(m))
	for k, v := range m {
		out[k] = slices.Clone(v)
	}
	return out
}

// commitRevealHandlers are the hash commit-reveal calls (dispatch.go adds
// them to handlers). The mechanism variants take mecid 0 only.
var commitRevealHandlers = map[string]handler{
	"SubtensorModule.commit_weights":           (*Chain).commitWeights,
	"SubtensorModule.reveal_weights":           (*Chain).revealWeights,
	"SubtensorModule.commit_mechanism_weights": (*Chain).commitWeights,
	"SubtensorModule.reveal_mechanism_weights": (*Chain).revealWeights,
	"AdminUtils.sudo_set_commit_reveal_weights_interval": adminSetter{arg: "interval", owner: true,
		subnet: func(s *subnet, v uint64) error { s.RevealPeriod = v; return nil }}.handler(),
}

// commitRevealStorage are the storage items of hash commit-reveal.
var commitRevealStorage = map[string]func(*Chain, [][]byte) (any, bool){
	"SubtensorModule.RevealPeriodEpochs": perSubnet(func(s *subnet) any { return s.revealPeriod() }),
	"SubtensorModule.WeightCommits": func(c *Chain, k [][]byte) (any, bool) {
		s := c.st.Subnets[keyU16(k[0])]
		if s == nil || len(s.Commits[account32(k[1])]) == 0 {
			return nil, false
		}
		q := s.Commits[account32(k[1])]
		out := make([]any, len(q))
		for i, wc := range q {
			out[i] = []any{wc.Hash[:], wc.Block, wc.FirstReveal, wc.LastReveal}
		}
		return out, true
	},
}

func mechanismZero(args map[string]any) error {
	if _, ok := args["mecid"]; ok && argUint(args, "mecid") != 0 {
		return stErr("MechanismDoesNotExist")
	}
	return nil
}

// commitWeights is commit_weights (do_commit_weights).
func (c *Chain) commitWeights(ex *execution, o origin, args map[string]any) error {
	hotkey, err := c.signedOnly(o)
	if err != nil {
		return err
	}
	if err := mechanismZero(args); err != nil {
		return err
	}
	s := c.st.Subnets[argU16(args, "netuid")]
	if s == nil || !s.CommitReveal {
		return stErr("CommitRevealDisabled")
	}
	uid, ok := s.uidOf(hotkey)
	if !ok {
		return stErr("HotKeyNotRegisteredInSubNet")
	}
	n := s.Neurons[uid]
	if n.LastUpdate != 0 && ex.number-min(ex.number, n.LastUpdate) < s.WeightsSetRateLimit {
		return stErr("CommittingWeightsTooFast")
	}
	hash, _ := args["commit_hash"].([]byte)
	if len(hash) != 32 {
		return &dispatchError{Name: "Other"}
	}
	q := s.Commits[hotkey]
	for len(q) > 0 && s.commitExpired(ex.number, q[0].Block) {
		q = q[1:]
	}
	if len(q) >= maxUnrevealedCommits {
		return stErr("TooManyUnrevealedCommits")
	}
	first, last := s.revealBlocks(ex.number)
	q = append(slices.Clone(q), weightCommit{Hash: account32(hash), Block: ex.number, FirstReveal: first, LastReveal: last})
	if s.Commits == nil {
		s.Commits = map[account32][]weightCommit{}
	}
	s.Commits[hotkey] = q
	ex.emit("SubtensorModule", "WeightsCommitted", []any{hotkey[:], s.Netuid, hash})
	n.LastUpdate = ex.number
	return nil
}

// commitHash is subtensor's BlakeTwo256::hash_of(&(who, netuid, uids,
// values, salt, version_key)).
func commitHash(who account32, netuid uint16, uids, values, salt []uint16, versionKey uint64) account32 {
	e := scale.NewEncoder(nil).Raw(who[:]).U16(netuid)
	for _, v := range [][]uint16{uids, values, salt} {
		e.Compact(uint64(len(v)))
		for _, x := range v {
			e.U16(x)
		}
	}
	return account32(scale.Blake2_256(e.U64(versionKey).Data()))
}

// revealWeights is reveal_weights (do_reveal_weights): drop expired
// commits, find the hash, check the reveal epoch, drop the commits up to
// it and set the weights.
func (c *Chain) revealWeights(ex *execution, o origin, args map[string]any) error {
	hotkey, err := c.signedOnly(o)
	if err != nil {
		return err
	}
	if err := mechanismZero(args); err != nil {
		return err
	}
	netuid := argU16(args, "netuid")
	s := c.st.Subnets[netuid]
	if s == nil || !s.CommitReveal {
		return stErr("CommitRevealDisabled")
	}
	q := s.Commits[hotkey]
	if len(q) == 0 {
		return stErr("NoWeightsCommitFound")
	}
	uids, values, salt := argU16s(args, "uids"), argU16s(args, "values"), argU16s(args, "salt")
	version := argUint(args, "version_key")
	var expired []account32
	for len(q) > 0 && s.commitExpired(ex.number, q[0].Block) {
		expired = append(expired, q[0].Hash)
		q = q[1:]
	}
	// The queue without its expired head is kept even when the reveal
	// fails (the runtime's try_mutate_exists stores it on Ok only, but an
	// Err rolls everything back: so do the same).
	hash := commitHash(hotkey, netuid, uids, values, salt, version)
	pos := slices.IndexFunc(q, func(wc weightCommit) bool { return wc.Hash == hash })
	if pos < 0 {
		if slices.Contains(expired, hash) {
			return stErr("ExpiredWeightCommit")
		}
		if len(q) == 0 {
			return stErr("NoWeightsCommitFound")
		}
		return stErr("InvalidRevealCommitHashNotMatch")
	}
	if !s.inRevealEpoch(ex.number, q[pos].Block) {
		return stErr("RevealTooEarly")
	}
	if rest := q[pos+1:]; len(rest) > 0 {
		s.Commits[hotkey] = slices.Clone(rest)
	} else {
		delete(s.Commits, hotkey)
	}
	if err := c.doSetWeights(ex, hotkey, netuid, uids, values, version); err != nil {
		return err
	}
	ex.emit("SubtensorModule", "WeightsRevealed", []any{hotkey[:], netuid, hash[:]})
	return nil
}
