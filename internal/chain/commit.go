package chain

import (
	"context"
	"errors"
	"fmt"

	"github.com/sn27/sn27/internal/keys"
	"github.com/sn27/sn27/internal/scale"
)

// Commit-reveal errors, named as subtensor names them.
var (
	ErrCommitRevealDisabled         = &DispatchError{Pallet: "SubtensorModule", Name: "CommitRevealDisabled"}
	ErrCommittingWeightsTooFast     = &DispatchError{Pallet: "SubtensorModule", Name: "CommittingWeightsTooFast"}
	ErrTooManyUnrevealedCommits     = &DispatchError{Pallet: "SubtensorModule", Name: "TooManyUnrevealedCommits"}
	ErrRevealTooEarly               = &DispatchError{Pallet: "SubtensorModule", Name: "RevealTooEarly"}
	ErrExpiredWeightCommit          = &DispatchError{Pallet: "SubtensorModule", Name: "ExpiredWeightCommit"}
	ErrNoWeightsCommitFound         = &DispatchError{Pallet: "SubtensorModule", Name: "NoWeightsCommitFound"}
	ErrInvalidRevealCommitHash      = &DispatchError{Pallet: "SubtensorModule", Name: "InvalidRevealCommitHashNotMatch"}
	ErrIncorrectCommitRevealVersion = &DispatchError{Pallet: "SubtensorModule", Name: "IncorrectCommitRevealVersion"}
)

// MainMechanism is the mecid of a subnet's main mechanism. The storage
// index of a mechanism's weights is mecid·4096 + netuid, so for the main
// mechanism it is the netuid itself.
const MainMechanism uint8 = 0

// WeightsCalls says which weight calls the runtime's metadata has.
type WeightsCalls struct {
	SetWeights, SetMechanismWeights                           bool
	CommitWeights, RevealWeights                              bool
	CommitMechanismWeights, RevealMechanismWeights            bool
	CommitTimelockedWeights, CommitTimelockedMechanismWeights bool
}

// WeightsCalls reads the weight calls from the metadata in use.
func (c *Client) WeightsCalls() WeightsCalls {
	m := c.Metadata()
	has := func(call string) bool { _, err := m.Call("SubtensorModule", call); return err == nil }
	return WeightsCalls{
		SetWeights: has("set_weights"), SetMechanismWeights: has("set_mechanism_weights"),
		CommitWeights: has("commit_weights"), RevealWeights: has("reveal_weights"),
		CommitMechanismWeights: has("commit_mechanism_weights"), RevealMechanismWeights: has("reveal_mechanism_weights"),
		CommitTimelockedWeights:          has("commit_timelocked_weights"),
		CommitTimelockedMechanismWeights: has("commit_timelocked_mechanism_weights"),
	}
}

// WeightsPath is how a validator gets its weights on chain.
type WeightsPath int

const (
	// PathDirect: set_mechanism_weights (mecid 0) or set_weights.
	PathDirect WeightsPath = iota
	// PathHashCommit: commit_weights then, in the reveal epoch,
	// reveal_weights (or their mechanism variants).
	PathHashCommit
	// PathTimelock: commit_timelocked_(mechanism_)weights; the chain
	// decrypts and applies them itself once the drand round is out.
	PathTimelock
	// PathUnsupported: commit-reveal is on but the runtime has no commit
	// call this client knows.
	PathUnsupported
)

func (p WeightsPath) String() string {
	switch p {
	case PathDirect:
		return "direct"
	case PathHashCommit:
		return "hash-commit"
	case PathTimelock:
		return "timelock"
	}
	return "unsupported"
}

// CommitReveal is a subnet's commit-reveal setting and the runtime's means.
type CommitReveal struct {
	Enabled bool
	// Version is CommitRevealWeightsVersion; HasVersion is false in
	// runtimes without it (spec 218: hash commit-reveal only).
	Version    uint64
	HasVersion bool
	// RevealPeriod is RevealPeriodEpochs[netuid] (CommitRevealPeriod in
	// some runtimes): a commit made in epoch e is revealed in e+RevealPeriod.
	RevealPeriod uint64
	Tempo        uint64
	// EpochCounter is true in runtimes that count epochs in
	// SubnetEpochIndex[netuid] (dynamic tempo) rather than deriving them
	// from the block number.
	EpochCounter bool
	Calls        WeightsCalls
}

// Path picks the weight path: direct when commit-reveal is off; timelock
// when the runtime has the timelocked calls and a CommitRevealWeightsVersion
// (it refuses any other version); hash commit-reveal otherwise.
func (cr CommitReveal) Path() WeightsPath {
	switch {
	case !cr.Enabled:
		return PathDirect
	case cr.HasVersion && (cr.Calls.CommitTimelockedWeights || cr.Calls.CommitTimelockedMechanismWeights):
		return PathTimelock
	case cr.Calls.CommitWeights && cr.Calls.RevealWeights:
		return PathHashCommit
	}
	return PathUnsupported
}

func (c *Client) hasStorage(item string) bool {
	_, err := c.Metadata().Storage("SubtensorModule", item)
	return err == nil
}

// CommitReveal reads netuid's commit-reveal settings.
func (c *Client) CommitReveal(ctx context.Context, netuid NetUID) (CommitReveal, error) {
	cr := CommitReveal{Calls: c.WeightsCalls(), RevealPeriod: 1, EpochCounter: c.hasStorage("SubnetEpochIndex")}
	var err error
	if cr.Enabled, err = c.CommitRevealEnabled(ctx, netuid); err != nil {
		return cr, err
	}
	if c.hasStorage("CommitRevealWeightsVersion") {
		v, err := c.StorageValue(ctx, "SubtensorModule", "CommitRevealWeightsVersion")
		if err != nil {
			return cr, err
		}
		cr.Version, cr.HasVersion = asUint(v)
	}
	for _, item := range []string{"RevealPeriodEpochs", "CommitRevealPeriod"} {
		if c.hasStorage(item) {
			if cr.RevealPeriod, err = c.Hyperparameter(ctx, item, netuid); err != nil {
				return cr, err
			}
			break
		}
	}
	if cr.Tempo, err = c.Hyperparameter(ctx, "Tempo", netuid); err != nil {
		return cr, err
	}
	return cr, nil
}

// CommitHash is the hash commit_weights takes, as subtensor's
// get_commit_hash computes it: BlakeTwo256 of the SCALE encoding of the
// tuple (AccountId32, netuid_index u16, Vec<u16> uids, Vec<u16> values,
// Vec<u16> salt, u64 version_key). netuid_index is mecid·4096 + netuid
// (spec 218 hashes the plain netuid, the same for the main mechanism).
func CommitHash(who keys.PublicKey, netuidIndex uint16, uids, values, salt []uint16, versionKey uint64) [32]byte {
	e := scale.NewEncoder(nil).Raw(who[:]).U16(netuidIndex)
	for _, v := range [][]uint16{uids, values, salt} {
		e.Compact(uint64(len(v)))
		for _, x := range v {
			e.U16(x)
		}
	}
	e.U64(versionKey)
	var h [32]byte
	copy(h[:], scale.Blake2_256(e.Data()))
	return h
}

// EpochIndex is the epoch of block on a block-scheduled runtime, as
// subtensor's get_epoch_index (spec 218, weights.rs):
// (block + netuid + 1) / (tempo + 1).
func EpochIndex(netuid NetUID, tempo, block uint64) uint64 {
	return (block + uint64(netuid) + 1) / (tempo + 1)
}

// RevealBlocks is subtensor's get_reveal_blocks (spec 218, weights.rs):
// the reveal epoch is commit epoch + reveal period; its first block is
// epoch·(tempo+1) − (netuid+1), its last first + tempo.
func RevealBlocks(netuid NetUID, tempo, revealPeriod, commitBlock uint64) (first, last uint64) {
	epoch := EpochIndex(netuid, tempo, commitBlock) + revealPeriod
	first = epoch*(tempo+1) - min(epoch*(tempo+1), uint64(netuid)+1)
	return first, first + tempo
}

// RevealWindow is when a hash commit may be revealed: in epoch Epoch only.
// On block-scheduled runtimes that is blocks FirstBlock..LastBlock; on
// runtimes with an epoch counter (ByCounter) the blocks are not known in
// advance and the counter decides.
type RevealWindow struct {
	Epoch                 uint64
	FirstBlock, LastBlock uint64
	ByCounter             bool
}

// Commit is a hash commit on chain.
type Commit struct {
	Hash    [32]byte
	Block   uint64 // the block the commit landed in
	Window  RevealWindow
	Receipt *Receipt
}

func u16s(v []uint16) []byte {
	e := enc().Compact(uint64(len(v)))
	for _, x := range v {
		e.U16(x)
	}
	return e.Data()
}

// CommitWeights commits the hash of (uids, values, salt, versionKey) for
// hotkey on netuid's main mechanism (commit_mechanism_weights with mecid 0
// when the runtime has it, commit_weights otherwise) and returns where it
// landed and its reveal window. values are the u16 weights reveal_weights
// will send (see WeightsForEmit).
func (c *Client) CommitWeights(ctx context.Context, hotkey *keys.Pair, netuid NetUID, uids, values, salt []uint16, versionKey uint64) (*Commit, error) {
	cr, err := c.CommitReveal(ctx, netuid)
	if err != nil {
		return nil, err
	}
	hash := CommitHash(hotkey.Public(), uint16(netuid), uids, values, salt, versionKey)
	args := map[string][]byte{"netuid": u16b(uint16(netuid)), "mecid": {MainMechanism}, "commit_hash": hash[:]}
	name := "commit_weights"
	if cr.Calls.CommitMechanismWeights {
		name = "commit_mechanism_weights"
	}
	call, err := c.CallNamed("SubtensorModule", name, args)
	if err != nil {
		return nil, err
	}
	r, err := c.Submit(ctx, hotkey, call)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	block, err := c.blockNumberOf(ctx, r.BlockHash)
	if err != nil {
		return nil, err
	}
	cm := &Commit{Hash: hash, Block: block, Receipt: r}
	if cr.EpochCounter {
		// The chain tags the commit with its epoch (WeightCommits field 1).
		epoch, ok, err := c.committedEpoch(ctx, netuid, hotkey.Public(), hash)
		if err != nil {
			return cm, err
		}
		if !ok {
			return cm, errors.New("commit landed but WeightCommits does not hold it")
		}
		cm.Window = RevealWindow{Epoch: epoch + cr.RevealPeriod, ByCounter: true}
		return cm, nil
	}
	first, last := RevealBlocks(netuid, cr.Tempo, cr.RevealPeriod, block)
	cm.Window = RevealWindow{Epoch: EpochIndex(netuid, cr.Tempo, block) + cr.RevealPeriod, FirstBlock: first, LastBlock: last}
	return cm, nil
}

// WeightCommitEntry is one element of WeightCommits[(netuid, hotkey)]. Its
// fields after the hash mean (commit block, first reveal block, last reveal
// block) on block-scheduled runtimes (spec 218) and (commit epoch, commit
// block, 0) on runtimes with an epoch counter.
type WeightCommitEntry struct {
	Hash    [32]byte
	A, B, C uint64
}

// WeightCommits reads the unrevealed hash commits of hotkey on netuid's
// main mechanism.
func (c *Client) WeightCommits(ctx context.Context, netuid NetUID, hotkey keys.PublicKey) ([]WeightCommitEntry, error) {
	b, err := c.Storage(ctx, "SubtensorModule", "WeightCommits", u16b(uint16(netuid)), hotkey[:])
	if err != nil {
		return nil, err
	}
	d := scale.NewDecoder(b)
	n := d.Len(56)
	out := make([]WeightCommitEntry, 0, n)
	for i := 0; i < n && d.Err() == nil; i++ {
		var e WeightCommitEntry
		copy(e.Hash[:], d.Fixed(32))
		e.A, e.B, e.C = d.U64(), d.U64(), d.U64()
		out = append(out, e)
	}
	if err := d.Done(); err != nil {
		return nil, fmt.Errorf("decode WeightCommits: %w", err)
	}
	return out, nil
}

// FindCommit looks for hash among hotkey's unrevealed commits on netuid's
// main mechanism and returns it with its reveal window (ok false when the
// chain does not hold it). It finds a commit whose inclusion the sender
// did not see (a crash or a lost connection after sending).
func (c *Client) FindCommit(ctx context.Context, netuid NetUID, hotkey keys.PublicKey, hash [32]byte) (*Commit, bool, error) {
	cr, err := c.CommitReveal(ctx, netuid)
	if err != nil {
		return nil, false, err
	}
	es, err := c.WeightCommits(ctx, netuid, hotkey)
	if err != nil {
		return nil, false, err
	}
	for _, e := range es {
		if e.Hash != hash {
			continue
		}
		if cr.EpochCounter {
			return &Commit{Hash: hash, Block: e.B, Window: RevealWindow{Epoch: e.A + cr.RevealPeriod, ByCounter: true}}, true, nil
		}
		// The chain judges the reveal with today's tempo and period, as
		// here (is_reveal_block_range), not with the blocks it stored.
		first, last := RevealBlocks(netuid, cr.Tempo, cr.RevealPeriod, e.A)
		return &Commit{Hash: hash, Block: e.A, Window: RevealWindow{
			Epoch: EpochIndex(netuid, cr.Tempo, e.A) + cr.RevealPeriod, FirstBlock: first, LastBlock: last}}, true, nil
	}
	return nil, false, nil
}

func (c *Client) committedEpoch(ctx context.Context, netuid NetUID, hotkey keys.PublicKey, hash [32]byte) (uint64, bool, error) {
	es, err := c.WeightCommits(ctx, netuid, hotkey)
	if err != nil {
		return 0, false, err
	}
	for _, e := range es {
		if e.Hash == hash {
			return e.A, true, nil
		}
	}
	return 0, false, nil
}

// RevealWeights reveals a commit made with CommitWeights (same uids,
// values, salt and version key), through reveal_mechanism_weights (mecid
// 0) when the runtime has it, reveal_weights otherwise.
func (c *Client) RevealWeights(ctx context.Context, hotkey *keys.Pair, netuid NetUID, uids, values, salt []uint16, versionKey uint64) (*Receipt, error) {
	name := "reveal_weights"
	if c.WeightsCalls().RevealMechanismWeights {
		name = "reveal_mechanism_weights"
	}
	call, err := c.CallNamed("SubtensorModule", name, map[string][]byte{
		"netuid": u16b(uint16(netuid)), "mecid": {MainMechanism},
		"uids": u16s(uids), "values": u16s(values), "salt": u16s(salt), "version_key": u64b(versionKey),
	})
	if err != nil {
		return nil, err
	}
	r, err := c.Submit(ctx, hotkey, call)
	if err != nil {
		return r, fmt.Errorf("%s: %w", name, err)
	}
	return r, nil
}

// RevealPhase says whether a reveal sent now can land in its window.
type RevealPhase int

const (
	RevealWait    RevealPhase = iota // the window has not opened
	RevealOpen                       // send it now
	RevealExpired                    // the window has passed; the chain drops the commit
)

func (p RevealPhase) String() string {
	return [...]string{"wait", "open", "expired"}[p]
}

// RevealPhase compares w with the chain now. A block-scheduled reveal is
// judged for the next block (the one a reveal sent now lands in). With an
// epoch counter the next block may start the reveal epoch, so Open starts
// one epoch early and the chain's RevealTooEarly says to retry.
func (c *Client) RevealPhase(ctx context.Context, netuid NetUID, w RevealWindow) (RevealPhase, error) {
	if w.ByCounter {
		cur, err := c.Hyperparameter(ctx, "SubnetEpochIndex", netuid)
		if err != nil {
			return RevealWait, err
		}
		return phaseOf(cur+1, w.Epoch, w.Epoch+1), nil
	}
	b, err := c.BlockNumber(ctx)
	if err != nil {
		return RevealWait, err
	}
	return phaseOf(b+1, w.FirstBlock, w.LastBlock), nil
}

// phaseOf places x against the inclusive range [first, last].
func phaseOf(x, first, last uint64) RevealPhase {
	switch {
	case x < first:
		return RevealWait
	case x > last:
		return RevealExpired
	}
	return RevealOpen
}

func (c *Client) blockNumberOf(ctx context.Context, hash [32]byte) (uint64, error) {
	var h struct {
		Number string `json:"number"`
	}
	if err := c.rpc.Call(ctx, &h, "chain_getHeader", hexOf(hash[:])); err != nil {
		return 0, fmt.Errorf("read header: %w", err)
	}
	return parseHexUint(h.Number)
}
