package devchain

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"time"
)

// Spec 343 on the dev chain: commit-reveal on for new subnets, timelocked
// weight commits (commit_timelocked_weights and its mechanism variant)
// revealed at the epoch with the pulses of the chain's own drand beacon
// (its key in Drand.BeaconConfig, pulses in Drand.Pulses, one round per
// block), and set_mechanism_weights for mechanism 0.

// commitRevealVersion is CommitRevealWeightsVersion: timelock v4.
const commitRevealVersion = 4

// maxUnrevealed bounds a hotkey's unrevealed commits per epoch.
const maxUnrevealed = 10

// keepPulses bounds the stored pulses.
const keepPulses = 4096

// drandState is the dev beacon: its BLS key pair (a dev secret, in the
// state file) and recent pulses by round.
type drandState struct {
	SecretKey  []byte            `json:"secret_key"`
	PublicKey  []byte            `json:"public_key"`
	Genesis    uint64            `json:"genesis_time"` // unix seconds of round 1
	LastStored uint64            `json:"last_stored_round"`
	Pulses     map[uint64][]byte `json:"pulses"` // round -> 48-byte G1 signature
}

// tlCommit is one timelocked commit.
type tlCommit struct {
	Hotkey      account32 `json:"hotkey"`
	Epoch       uint64    `json:"epoch"`
	Block       uint64    `json:"block"`
	Commit      []byte    `json:"commit"`
	RevealRound uint64    `json:"reveal_round"`
}

// Beacon is the timelock cryptography of the dev drand beacon (an adapter
// of internal/timelock, which sits beside the chain packages and so is
// handed in): a BLS key pair, a round's signature, and the opening of a
// weights commit with a round's signature as subtensor's reveal does.
type Beacon interface {
	NewKey() (sk, pk []byte, err error)
	Sign(sk []byte, round uint64) ([]byte, error)
	// Open decrypts commit with sig and decodes the weights payload; the
	// payload must name committer (or be the legacy one without a hotkey).
	Open(sig, commit, committer []byte) (uids, values []uint16, versionKey uint64, err error)
}

func runtime343Handlers() map[string]handler {
	return map[string]handler{
		"SubtensorModule.set_mechanism_weights": func(c *Chain, ex *execution, o origin, args map[string]any) error {
			if argUint(args, "mecid") != 0 {
				return stErr("MechanismDoesNotExist")
			}
			return c.setWeights(ex, o, args)
		},
		"SubtensorModule.commit_timelocked_weights":           (*Chain).commitTimelocked,
		"SubtensorModule.commit_timelocked_mechanism_weights": (*Chain).commitTimelocked,
	}
}

// epochIndex is subtensor's get_epoch_index.
func epochIndex(s *subnet, block uint64) uint64 {
	return (block + uint64(s.Netuid) + 1) / (uint64(s.Tempo) + 1)
}

// commitTimelocked is commit_timelocked_(mechanism_)weights, with the
// runtime's checks.
func (c *Chain) commitTimelocked(ex *execution, o origin, args map[string]any) error {
	hotkey, err := c.signedOnly(o)
	if err != nil {
		return err
	}
	if _, ok := args["mecid"]; ok && argUint(args, "mecid") != 0 {
		return stErr("MechanismDoesNotExist")
	}
	s := c.st.Subnets[argU16(args, "netuid")]
	if s == nil {
		return stErr("SubnetNotExists")
	}
	if !s.CommitReveal {
		return stErr("CommitRevealDisabled")
	}
	if argUint(args, "commit_reveal_version") != commitRevealVersion {
		return stErr("IncorrectCommitRevealVersion")
	}
	uid, ok := s.uidOf(hotkey)
	if !ok {
		return stErr("HotKeyNotRegisteredInSubNet")
	}
	n := s.Neurons[uid]
	if s.WeightsSetRateLimit > 0 && ex.number-min(ex.number, n.LastUpdate) < s.WeightsSetRateLimit {
		return stErr("CommittingWeightsTooFast")
	}
	commit, _ := args["commit"].([]byte)
	if len(commit) == 0 || len(commit) > 5000 {
		return stErr("InvalidRevealCommitHashNotMatch")
	}
	epoch := epochIndex(s, ex.number)
	count := 0
	for _, tc := range s.TLCommits {
		if tc.Hotkey == hotkey && tc.Epoch == epoch {
			count++
		}
	}
	if count >= maxUnrevealed {
		return stErr("TooManyUnrevealedCommits")
	}
	s.TLCommits = append(s.TLCommits, tlCommit{Hotkey: hotkey, Epoch: epoch, Block: ex.number,
		Commit: append([]byte(nil), commit...), RevealRound: argUint(args, "reveal_round")})
	n.LastUpdate = ex.number
	ex.emit("SubtensorModule", "TimelockedWeightsCommitted", []any{hotkey[:], s.Netuid, sha256Of(commit), argUint(args, "reveal_round")})
	return nil
}

func sha256Of(b []byte) []byte { h := sha256.Sum256(b); return h[:] }

// runtime343Storage are the storage items only spec 343 has.
var runtime343Storage = map[string]func(*Chain, [][]byte) (any, bool){
	"SubtensorModule.CommitRevealWeightsVersion": func(*Chain, [][]byte) (any, bool) { return uint64(commitRevealVersion), true },
	"Drand.LastStoredRound": func(c *Chain, _ [][]byte) (any, bool) {
		if c.st.Drand == nil {
			return uint64(0), true
		}
		return c.st.Drand.LastStored, true
	},
	"Drand.BeaconConfig": func(c *Chain, _ [][]byte) (any, bool) {
		d := c.st.Drand
		if d == nil {
			return nil, false
		}
		h := sha256Of(d.PublicKey)
		return map[string]any{
			"public_key": d.PublicKey, "period": c.slotSeconds(), "genesis_time": d.Genesis,
			"hash": h, "group_hash": h, "scheme_id": []byte("bls-unchained-g1-rfc9380"),
			"metadata": map[string]any{"beacon_id": []byte("sn27-dev")},
		}, true
	},
	"Drand.Pulses": func(c *Chain, k [][]byte) (any, bool) {
		if c.st.Drand == nil || len(k) != 1 || len(k[0]) != 8 {
			return nil, false
		}
		r := binary.LittleEndian.Uint64(k[0])
		sig, ok := c.st.Drand.Pulses[r]
		if !ok {
			return nil, false
		}
		return map[string]any{"round": r, "randomness": sha256Of(sig), "signature": sig}, true
	},
}

// beaconTick stores the pulse of round num at block num (spec 343): the dev
// beacon gives one round per block, and its BeaconConfig period is the
// chain's slot duration, so a client that converts blocks to rounds with
// the slot duration (as it does on the real chain) lands on the right one.
func (c *Chain) beaconTick(num uint64) {
	b := c.cfg.Beacon
	if c.spec != 343 || b == nil {
		return
	}
	d := c.st.Drand
	if d == nil {
		sk, pk, err := b.NewKey()
		if err != nil {
			c.log.Error("dev drand beacon: key", "err", err)
			return
		}
		d = &drandState{SecretKey: sk, PublicKey: pk, Genesis: uint64(time.Now().Unix()), Pulses: map[uint64][]byte{}}
		d.LastStored = num - min(num, 1)
		c.st.Drand = d
	}
	for r := max(d.LastStored+1, num-min(num, 64)+1); r <= num; r++ {
		sig, err := b.Sign(d.SecretKey, r)
		if err != nil {
			c.log.Error("dev drand beacon: sign", "round", r, "err", err)
			return
		}
		d.Pulses[r] = sig
		d.LastStored = r
	}
	for r := range d.Pulses {
		if r+keepPulses < d.LastStored {
			delete(d.Pulses, r)
		}
	}
}

// slotSeconds is the runtime's Aura slot duration in seconds (12).
func (c *Chain) slotSeconds() uint64 {
	if v, _, err := c.meta.Constant("Aura", "SlotDuration"); err == nil && len(v) == 8 {
		if ms := binary.LittleEndian.Uint64(v); ms >= 1000 {
			return ms / 1000
		}
	}
	return 12
}

// revealTimelocked reveals the commits of subnet s whose reveal epoch has
// come (block num), as subtensor's reveal_crv3_commits: a missing pulse is
// retried during the reveal epoch, then the commit is dropped; a commit
// that does not decrypt or decode, or names another hotkey, is dropped.
func (c *Chain) revealTimelocked(ex *execution, s *subnet, num uint64) {
	if len(s.TLCommits) == 0 {
		return
	}
	cur := epochIndex(s, num)
	keep := s.TLCommits[:0]
	for _, tc := range s.TLCommits {
		if tc.Epoch+s.revealPeriod() > cur {
			keep = append(keep, tc)
			continue
		}
		var sig []byte
		if d := c.st.Drand; d != nil {
			sig = d.Pulses[tc.RevealRound]
		}
		if sig == nil {
			if tc.Epoch+s.revealPeriod() == cur {
				keep = append(keep, tc) // the pulse may still come this epoch
			} else {
				c.log.Info("timelocked commit dropped: no pulse for its round in its reveal epoch", "netuid", s.Netuid, "round", tc.RevealRound)
			}
			continue
		}
		if err := c.applyTimelocked(ex, s, tc, sig); err != nil {
			c.log.Info("timelocked commit dropped", "netuid", s.Netuid, "hotkey", tc.Hotkey, "err", err)
		}
	}
	s.TLCommits = keep
}

func (c *Chain) applyTimelocked(ex *execution, s *subnet, tc tlCommit, sig []byte) error {
	if c.cfg.Beacon == nil {
		return errors.New("no timelock decryption")
	}
	uids, values, version, err := c.cfg.Beacon.Open(sig, tc.Commit, tc.Hotkey[:])
	if err != nil {
		return err
	}
	uid, ok := s.uidOf(tc.Hotkey)
	if !ok {
		return errors.New("hotkey no longer registered")
	}
	if len(uids) != len(values) {
		return errors.New("uids and values differ in length")
	}
	if s.WeightsVersionKey != 0 && version < s.WeightsVersionKey {
		return errors.New("weights version key too low")
	}
	seen := map[uint16]bool{}
	for _, u := range uids {
		if int(u) >= len(s.Neurons) || seen[u] {
			return errors.New("invalid or duplicate uid")
		}
		seen[u] = true
	}
	up := maxUpscale(values)
	w := make([][2]uint16, len(uids))
	for i := range uids {
		w[i] = [2]uint16{uids[i], up[i]}
	}
	s.Neurons[uid].Weights = w
	ex.emit("SubtensorModule", "TimelockedWeightsRevealed", []any{s.Netuid, tc.Hotkey[:]})
	return nil
}
