package devchain

import (
	"bytes"
	"compress/gzip"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"

	"github.com/sn27/sn27/internal/chain/metadata"
	"github.com/sn27/sn27/internal/keys"
	"github.com/sn27/sn27/internal/scale"
)

// Real runtime metadata: V14 as state_getMetadata returns it, and the
// Option<OpaqueMetadata> of Metadata_metadata_at_version(15). Spec 218 is
// raonet's (our localchain's); spec 343 is subtensor v3.2.13 (2025-11, from
// opentensor/bittensor@bb526e6 tests/helpers/integration_websocket_*.txt):
// commit-reveal on by default, timelocked commits, the Drand pallet,
// mechanisms.
var (
	//go:embed raonet-spec218-metadata.scale.gz
	metaV14Gz []byte
	//go:embed raonet-spec218-metadata-v15-option.scale.gz
	metaV15Gz []byte
	//go:embed subtensor-spec343-metadata.scale.gz
	meta343V14Gz []byte
	//go:embed subtensor-spec343-metadata-v15-option.scale.gz
	meta343V15Gz []byte
)

// Runtime version the dev chain reports by default (that of the embedded
// spec-218 metadata); Config.Runtime 343 reports 343.
const (
	SpecName           = "node-subtensor"
	SpecVersion        = 218
	TransactionVersion = 1
	ChainName          = "Bittensor Dev Chain"
)

// Runtimes are the spec versions whose metadata the dev chain can serve.
var Runtimes = []uint32{218, 343}

// Chain is an embedded dev chain. Its methods are safe for concurrent use.
type Chain struct {
	cfg Config
	log *slog.Logger

	meta     *metadata.Metadata
	spec     uint32 // the runtime's spec_version
	metaV14  []byte // state_getMetadata bytes
	metaV15  []byte // Metadata_metadata_at_version(15) bytes
	callType metadata.TypeID
	events   metadata.TypeID
	errIdx   map[string][2]uint8 // "Pallet.Error" -> module error index
	storage  map[string]*storageItem

	kick chan struct{} // wakes the block producer in instant mode

	newBlockLimit int // dev_newBlock count limit; 0 means maxNewBlocks (tests lower it)

	finalizing *execution // the block's execution while its end hooks run
	// eventPad caches eventPadding by "Pallet.Event" (guarded by mu).
	eventPad map[string]int

	mu      sync.Mutex
	st      *state
	genesis account32
	pool    []*pending
	heads   map[uint64]func(header map[string]any)
	// watches are storage subscriptions, run after every state change (a
	// block, or dev_fund, which changes state outside blocks).
	watches map[uint64]func()
	nextSub uint64
}

// pending is a validated extrinsic waiting for a block.
type pending struct {
	xt     []byte
	signer account32
	nonce  uint32
	call   metadata.Variant
	watch  func(status any) // may be nil
}

// New returns a dev chain. With cfg.StatePath set, it loads the state saved
// there, or starts from genesis if the file does not exist.
func New(cfg Config, log *slog.Logger) (*Chain, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	def := DefaultConfig()
	if cfg.History <= 0 {
		cfg.History = def.History
	}
	if cfg.MaxConnections <= 0 {
		cfg.MaxConnections = def.MaxConnections
	}
	if cfg.MaxMessage <= 0 {
		cfg.MaxMessage = def.MaxMessage
	}
	if cfg.BlockTime < 0 {
		return nil, fmt.Errorf("block time %v is negative", cfg.BlockTime)
	}
	c := &Chain{cfg: cfg, log: log.With("component", "devchain"), kick: make(chan struct{}, 1), heads: map[uint64]func(map[string]any){}, watches: map[uint64]func(){}}
	var err error
	v14, v15 := metaV14Gz, metaV15Gz
	switch c.spec = cfg.Runtime; c.spec {
	case 0:
		c.spec = SpecVersion
	case SpecVersion:
	case 343:
		v14, v15 = meta343V14Gz, meta343V15Gz
	default:
		return nil, fmt.Errorf("runtime spec %d: the dev chain serves %v", cfg.Runtime, Runtimes)
	}
	if c.metaV14, err = gunzip(v14); err != nil {
		return nil, fmt.Errorf("embedded metadata: %w", err)
	}
	if c.metaV15, err = gunzip(v15); err != nil {
		return nil, fmt.Errorf("embedded metadata: %w", err)
	}
	if c.meta, err = metadata.DecodeAtVersion(c.metaV15); err != nil {
		return nil, fmt.Errorf("embedded metadata: %w", err)
	}
	if err := c.index(); err != nil {
		return nil, err
	}
	st, err := (*state)(nil), error(nil)
	if cfg.StatePath != "" {
		if st, err = loadState(cfg.StatePath); err != nil {
			return nil, err
		}
	}
	if st == nil {
		if st, err = genesisState(cfg); err != nil {
			return nil, err
		}
		g := &block{Number: 0, StateRoot: account32(scale.Blake2_256([]byte("sn27 devchain genesis: node-subtensor spec 218")))}
		g.seal()
		st.Blocks, st.Genesis = []*block{g}, g.Hash
	} else {
		c.log.Info("state loaded", "path", cfg.StatePath, "block", st.Number)
	}
	switch {
	case st.Genesis != account32{}:
	case len(st.Blocks) > 0 && st.Blocks[0].Number == 0:
		st.Genesis = st.Blocks[0].Hash
	default: // a state file of an older version whose block 0 was trimmed
		st.Genesis = account32(scale.Blake2_256([]byte("sn27 devchain genesis: node-subtensor spec 218")))
	}
	c.genesis = st.Genesis
	if len(st.Blocks) == 0 || st.Blocks[len(st.Blocks)-1].Number != st.Number {
		return nil, fmt.Errorf("state %s: block history does not end at block %d", cfg.StatePath, st.Number)
	}
	c.st = st
	return c, nil
}

func gunzip(b []byte) ([]byte, error) {
	r, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	return io.ReadAll(r)
}

// index looks up by name what the chain needs from the metadata.
func (c *Chain) index() error {
	sudo, err := c.meta.Call("Sudo", "sudo")
	if err != nil || len(sudo.Args) != 1 {
		return fmt.Errorf("metadata: Sudo.sudo: %v", err)
	}
	c.callType = sudo.Args[0].Type
	ev, err := c.meta.Storage("System", "Events")
	if err != nil {
		return err
	}
	c.events = ev.Value
	c.errIdx = map[string][2]uint8{}
	for _, p := range []string{"System", "Balances", "SubtensorModule", "Utility", "Sudo", "AdminUtils", "Drand"} {
		pi, ok := c.meta.Pallet(p)
		if !ok && p == "Drand" {
			continue // spec 218 has none
		}
		if !ok {
			return fmt.Errorf("metadata: no pallet %s", p)
		}
		for i := 0; i < 256; i++ {
			_, name, _, ok := c.meta.ModuleError(pi.Index, uint8(i))
			if !ok {
				break
			}
			c.errIdx[p+"."+name] = [2]uint8{pi.Index, uint8(i)}
		}
	}
	return c.indexStorage()
}

// SpecVersion returns the spec_version of the runtime whose metadata the
// chain serves.
func (c *Chain) SpecVersion() uint32 { return c.spec }

// Genesis returns the genesis block hash.
func (c *Chain) Genesis() [32]byte { return c.genesis }

// BlockNumber returns the best block number.
func (c *Chain) BlockNumber() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.st.Number
}

// Fund adds rao to the free balance of address (SS58).
func (c *Chain) Fund(address string, rao uint64) error {
	pub, err := keys.ParseSS58(address)
	if err != nil {
		return fmt.Errorf("fund: %w", err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	a := c.st.acct(account32(pub))
	if a.Free+rao < a.Free || c.st.TotalIssuance+rao < c.st.TotalIssuance {
		return errors.New("fund: balance overflow")
	}
	a.Free += rao
	c.st.TotalIssuance += rao
	for _, f := range c.watches {
		f()
	}
	c.persistLocked()
	return nil
}

// NewBlocks produces n blocks (with whatever extrinsics are pending).
func (c *Chain) NewBlocks(n int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i := 0; i < n; i++ {
		c.sealLocked(c.takeLocked(len(c.pool)))
	}
}

// takeLocked removes up to n extrinsics from the pool.
func (c *Chain) takeLocked(n int) []*pending {
	n = min(n, len(c.pool), maxBlockExtrinsics)
	xts := c.pool[:n:n]
	c.pool = append([]*pending(nil), c.pool[n:]...)
	return xts
}

const maxBlockExtrinsics = 512

// blockByHash finds a block of the recent history.
func (c *Chain) blockByHashLocked(h account32) *block {
	for i := len(c.st.Blocks) - 1; i >= 0; i-- {
		if b := c.st.Blocks[i]; b.Hash == h {
			return b
		}
	}
	return nil
}

func (c *Chain) blockByNumberLocked(n uint64) *block {
	bs := c.st.Blocks
	if len(bs) == 0 || n > bs[len(bs)-1].Number || n < bs[0].Number {
		if n == 0 {
			return &block{Hash: c.genesis}
		}
		return nil
	}
	if b := bs[len(bs)-1-int(bs[len(bs)-1].Number-n)]; b.Number == n {
		return b
	}
	return nil
}

func (c *Chain) headLocked() *block { return c.st.Blocks[len(c.st.Blocks)-1] }

// sealLocked builds the next block from xts: block start hooks, the
// extrinsics, then the epoch hooks; it records the block, notifies watchers
// and subscribers and saves the state.
func (c *Chain) sealLocked(xts []*pending) {
	st := c.st
	num := st.Number + 1
	ex := &execution{c: c, number: num}
	c.onInitialize(num)
	var raw [][]byte
	for i, p := range xts {
		raw = append(raw, p.xt)
		c.apply(ex, i, p)
	}
	ex.phase = metadata.Variant{Name: "Finalization"}
	c.finalizing = ex
	c.onFinalize(num)
	c.finalizing = nil
	parent := c.headLocked()
	b := &block{Number: num, Parent: parent.Hash, Extrinsics: raw}
	b.ExtRoot = account32(scale.Blake2_256(scale.NewEncoder(nil).Compact(uint64(len(raw))).Raw(bytes.Join(raw, nil)).Data()))
	b.Events = ex.encodeEvents()
	// Not a trie root: a digest that changes with every block's effects.
	b.StateRoot = account32(scale.Blake2_256(scale.NewEncoder(nil).Raw(parent.StateRoot[:]).Compact(num).Raw(b.ExtRoot[:]).Raw(b.Events).Data()))
	b.seal()
	st.Number = num
	st.Blocks = append(st.Blocks, b)
	if len(st.Blocks) > 2*c.cfg.History { // trim in batches: O(1) per block
		st.Blocks = append([]*block(nil), st.Blocks[len(st.Blocks)-c.cfg.History:]...)
	}
	hash := hexOf(b.Hash[:])
	for _, p := range xts {
		if p.watch != nil {
			p.watch(map[string]any{"inBlock": hash})
			p.watch(map[string]any{"finalized": hash})
		}
	}
	h := headerJSON(b)
	for _, f := range c.heads {
		f(h)
	}
	for _, f := range c.watches {
		f()
	}
	c.persistLocked()
}

func (c *Chain) persistLocked() {
	if c.cfg.StatePath == "" {
		return
	}
	if err := c.st.save(c.cfg.StatePath); err != nil {
		c.log.Error("state not saved", "err", err)
	}
}

// seal sets the block's hash as substrate does: BLAKE2b-256 of the SCALE
// header (parent hash, compact number, state root, extrinsics root, an empty
// digest), so clients that hash a header themselves (polkadot.js does, for a
// mortal era's birth block) get the hash the chain uses.
func (b *block) seal() {
	h := scale.NewEncoder(nil).Raw(b.Parent[:]).Compact(b.Number).Raw(b.StateRoot[:]).Raw(b.ExtRoot[:]).Compact(0)
	b.Hash = account32(scale.Blake2_256(h.Data()))
}

func headerJSON(b *block) map[string]any {
	stateRoot := b.StateRoot
	if stateRoot == (account32{}) { // a block of an older version's state file
		stateRoot = account32(scale.Blake2_256(b.Hash[:]))
	}
	return map[string]any{
		"parentHash":     hexOf(b.Parent[:]),
		"number":         fmt.Sprintf("0x%x", b.Number),
		"stateRoot":      hexOf(stateRoot[:]),
		"extrinsicsRoot": hexOf(b.ExtRoot[:]),
		"digest":         map[string]any{"logs": []any{}},
	}
}
