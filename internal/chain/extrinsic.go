package chain

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/bits"
	"slices"
	"strings"

	"github.com/sn27/sn27/internal/chain/metadata"
	"github.com/sn27/sn27/internal/keys"
	"github.com/sn27/sn27/internal/scale"
)

// DispatchError is a failed extrinsic, named as in the runtime metadata.
// errors.Is matches by pallet and name, so callers can test for the
// sentinels below.
type DispatchError struct {
	Pallet string // "" for errors outside a pallet (BadOrigin, Token, ...)
	Name   string
	Doc    string
}

func (e *DispatchError) Error() string {
	s := e.Name
	if e.Pallet != "" {
		s = e.Pallet + "." + e.Name
	}
	if e.Doc != "" {
		s += ": " + e.Doc
	}
	return "dispatch error " + s
}

// Is matches another DispatchError with the same name (and pallet, when set).
func (e *DispatchError) Is(target error) bool {
	t, ok := target.(*DispatchError)
	return ok && t.Name == e.Name && (t.Pallet == "" || t.Pallet == e.Pallet)
}

// Errors SN27 handles by name.
var (
	ErrSettingWeightsTooFast = &DispatchError{Pallet: "SubtensorModule", Name: "SettingWeightsTooFast"}
	ErrCommitRevealEnabled   = &DispatchError{Pallet: "SubtensorModule", Name: "CommitRevealEnabled"}
	ErrNotRegistered         = &DispatchError{Pallet: "SubtensorModule", Name: "HotKeyNotRegisteredInSubNet"}
	ErrTooManyRegistrations  = &DispatchError{Pallet: "SubtensorModule", Name: "TooManyRegistrationsThisInterval"}
	ErrAlreadyRegistered     = &DispatchError{Pallet: "SubtensorModule", Name: "HotKeyAlreadyRegisteredInSubNet"}
	ErrNetworkRateLimit      = &DispatchError{Pallet: "SubtensorModule", Name: "NetworkTxRateLimitExceeded"}
	ErrServingRateLimit      = &DispatchError{Pallet: "SubtensorModule", Name: "ServingRateLimitExceeded"}
	ErrInvalidIPAddress      = &DispatchError{Pallet: "SubtensorModule", Name: "InvalidIpAddress"}
	ErrBadOrigin             = &DispatchError{Name: "BadOrigin"}
)

// ErrInvalidTransaction wraps a transaction the pool refused (bad nonce,
// no funds to pay fees, bad signature...).
var ErrInvalidTransaction = errors.New("transaction refused")

// Event is a decoded runtime event.
type Event struct {
	Pallet string
	Name   string
	Fields any
}

// Receipt says where an extrinsic landed and what it emitted.
type Receipt struct {
	BlockHash [32]byte
	Index     int
	Events    []Event
}

// Find returns the first event named pallet.name.
func (r *Receipt) Find(pallet, name string) (Event, bool) {
	for _, e := range r.Events {
		if e.Pallet == pallet && e.Name == name {
			return e, true
		}
	}
	return Event{}, false
}

// EraPeriod is the mortality of our extrinsics in blocks (bittensor uses
// short periods for set_weights; 64 leaves room for a slow node).
const EraPeriod = 64

// mortalEra encodes a mortal era of period starting at block current.
func mortalEra(current, period uint64) []byte {
	p := uint64(1) << bits.Len64(period-1) // next power of two
	p = max(4, min(p, 1<<16))
	phase := current % p
	quantize := max(p>>12, 1)
	q := phase / quantize * quantize
	enc := uint16(min(max(bits.TrailingZeros64(p)-1, 1), 15)) | uint16(q/quantize)<<4
	return []byte{byte(enc), byte(enc >> 8)}
}

// Call encodes pallet.call with its SCALE-encoded arguments, checked
// against the metadata's argument count.
func (c *Client) Call(pallet, call string, args ...[]byte) ([]byte, error) {
	return EncodeCall(c.Metadata(), pallet, call, args...)
}

// EncodeCall is Call for a given metadata.
func EncodeCall(m *metadata.Metadata, pallet, call string, args ...[]byte) ([]byte, error) {
	ci, err := m.Call(pallet, call)
	if err != nil {
		return nil, err
	}
	if len(args) != len(ci.Args) {
		return nil, fmt.Errorf("%s.%s takes %d arguments, got %d", pallet, call, len(ci.Args), len(args))
	}
	out := []byte{ci.PalletIndex, ci.Index}
	for _, a := range args {
		out = append(out, a...)
	}
	return out, nil
}

// signing holds what the signed extensions need.
type signing struct {
	spec, txv uint32
	genesis   [32]byte
	birth     [32]byte
	era       []byte
	nonce     uint32
	tip       uint64
}

// extensions returns the "extra" (in the extrinsic) and "additional signed"
// bytes of a v4 signed extrinsic, from the metadata's signed extension list
// (with metadata V16, the transaction extensions of extension version 0,
// which v4 extrinsics use). The bytes of every extension are checked
// against its types in the metadata, so a runtime that changed an extension
// fails here rather than with BadProof at the node. Extensions this client
// does not know (SubtensorTransactionExtension, DrandPriority,
// SudoTransactionExtension, ...) must carry no data at all.
func extensions(m *metadata.Metadata, s signing) (extra, additional []byte, err error) {
	if !slices.Contains(m.ExtrinsicVersions(), 4) {
		return nil, nil, fmt.Errorf("the runtime does not accept v4 extrinsics (it lists versions %v)", m.ExtrinsicVersions())
	}
	for _, x := range m.SignedExtensions() {
		e, a := scale.NewEncoder(nil), scale.NewEncoder(nil)
		switch x.Identifier {
		case "CheckNonZeroSender", "CheckWeight":
		case "CheckSpecVersion":
			a.U32(s.spec)
		case "CheckTxVersion":
			a.U32(s.txv)
		case "CheckGenesis":
			a.Raw(s.genesis[:])
		case "CheckMortality", "CheckEra":
			e.Raw(s.era)
			a.Raw(s.birth[:])
		case "CheckNonce":
			e.Compact(uint64(s.nonce))
		case "ChargeTransactionPayment":
			e.Compact(s.tip)
		case "CheckMetadataHash":
			e.U8(0) // mode: Disabled
			a.U8(0) // Option<[u8; 32]>: None
		default:
			if !m.IsEmpty(x.Type) || !m.IsEmpty(x.AdditionalSigned) {
				return nil, nil, fmt.Errorf("signed extension %s carries data this client does not know", x.Identifier)
			}
		}
		if err := checkExtension(m, x.Identifier, "data", x.Type, e.Data()); err != nil {
			return nil, nil, err
		}
		if err := checkExtension(m, x.Identifier, "signed-only data", x.AdditionalSigned, a.Data()); err != nil {
			return nil, nil, err
		}
		extra = append(extra, e.Data()...)
		additional = append(additional, a.Data()...)
	}
	return extra, additional, nil
}

// checkExtension checks that b is exactly one value of type t.
func checkExtension(m *metadata.Metadata, id, part string, t metadata.TypeID, b []byte) error {
	d := scale.NewDecoder(b)
	_, err := m.DecodeValue(t, d)
	if err == nil {
		err = d.Done()
	}
	if err != nil {
		return fmt.Errorf("signed extension %s: the runtime's %s type %s does not fit what this client sends (%x): %w",
			id, part, m.TypePath(t), b, err)
	}
	return nil
}

// BuildExtrinsic returns a signed v4 extrinsic (with its length prefix).
func BuildExtrinsic(m *metadata.Metadata, signer *keys.Pair, call []byte, s signing) ([]byte, error) {
	extra, additional, err := extensions(m, s)
	if err != nil {
		return nil, err
	}
	payload := append(append(append([]byte{}, call...), extra...), additional...)
	if len(payload) > 256 {
		payload = scale.Blake2_256(payload)
	}
	sig, err := signer.Sign(payload)
	if err != nil {
		return nil, err
	}
	pub := signer.Public()
	body := scale.NewEncoder(nil).U8(0x84).U8(0x00).Raw(pub[:]).U8(0x01).Raw(sig[:]).Raw(extra).Raw(call).Data()
	return scale.NewEncoder(nil).Bytes(body).Data(), nil
}

// Submit signs call with signer, submits it and waits until it is in a
// block; a failed dispatch (also inside Sudo.sudo) returns a *DispatchError.
func (c *Client) Submit(ctx context.Context, signer *keys.Pair, call []byte) (*Receipt, error) {
	c.signMu.Lock()
	defer c.signMu.Unlock()
	if err := c.refresh(ctx); err != nil {
		return nil, err
	}
	nonce, err := c.NextNonce(ctx, signer.SS58())
	if err != nil {
		return nil, fmt.Errorf("read nonce: %w", err)
	}
	num, err := c.BlockNumber(ctx)
	if err != nil {
		return nil, fmt.Errorf("read best block: %w", err)
	}
	era := mortalEra(num, EraPeriod)
	// With a period under 4096 the era is not quantised: it starts at num.
	birth, err := c.BlockHash(ctx, num)
	if err != nil {
		return nil, fmt.Errorf("read era block hash: %w", err)
	}
	c.mu.Lock()
	meta, s := c.meta, signing{spec: c.spec, txv: c.txv, genesis: c.genesis, birth: birth, era: era, nonce: nonce}
	c.mu.Unlock()
	xt, err := BuildExtrinsic(meta, signer, call, s)
	if err != nil {
		return nil, err
	}
	sub, err := c.rpc.Subscribe(ctx, "author_submitAndWatchExtrinsic", "author_unwatchExtrinsic", hexOf(xt))
	if err != nil {
		var re *RPCError
		if errors.As(err, &re) {
			return nil, fmt.Errorf("%w: %s", ErrInvalidTransaction, re.Error())
		}
		return nil, fmt.Errorf("submit extrinsic: %w", err)
	}
	defer sub.Unsubscribe(context.Background())
	for {
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("wait for inclusion: %w", ctx.Err())
		case raw, ok := <-sub.C:
			if !ok {
				if err := sub.Err(); err != nil {
					return nil, fmt.Errorf("wait for inclusion: %w", err)
				}
				return nil, errors.New("extrinsic watch ended before inclusion")
			}
			hash, done, err := txStatus(raw)
			if err != nil {
				return nil, err
			}
			if done {
				return c.receipt(ctx, meta, hash, xt)
			}
		}
	}
}

// txStatus reads one author_extrinsicUpdate: the block hash once in a block.
func txStatus(raw json.RawMessage) ([32]byte, bool, error) {
	var h [32]byte
	var str string
	if json.Unmarshal(raw, &str) == nil {
		switch str {
		case "dropped", "invalid", "usurped":
			return h, false, fmt.Errorf("%w: status %s", ErrInvalidTransaction, str)
		}
		return h, false, nil // ready, future, broadcast
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil {
		return h, false, fmt.Errorf("extrinsic status %s: %w", truncate(string(raw), 100), err)
	}
	for _, k := range []string{"inBlock", "finalized"} {
		if v, ok := obj[k]; ok {
			var s string
			if err := json.Unmarshal(v, &s); err != nil {
				return h, false, fmt.Errorf("extrinsic status %s: %w", k, err)
			}
			b, err := decodeHex(s)
			if err != nil || len(b) != 32 {
				return h, false, fmt.Errorf("extrinsic status %s: bad hash %q", k, s)
			}
			copy(h[:], b)
			return h, true, nil
		}
	}
	for _, k := range []string{"dropped", "invalid", "usurped", "finalityTimeout"} {
		if _, ok := obj[k]; ok {
			return h, false, fmt.Errorf("%w: status %s", ErrInvalidTransaction, k)
		}
	}
	return h, false, nil
}

// receipt finds our extrinsic in block and decodes its events.
func (c *Client) receipt(ctx context.Context, meta *metadata.Metadata, block [32]byte, xt []byte) (*Receipt, error) {
	var blk struct {
		Block struct {
			Extrinsics []string `json:"extrinsics"`
		} `json:"block"`
	}
	if err := c.rpc.Call(ctx, &blk, "chain_getBlock", hexOf(block[:])); err != nil {
		return nil, fmt.Errorf("read block: %w", err)
	}
	idx := -1
	want := hexOf(xt)
	for i, x := range blk.Block.Extrinsics {
		if strings.EqualFold(x, want) {
			idx = i
			break
		}
	}
	if idx < 0 {
		return nil, errors.New("extrinsic not found in its block")
	}
	events, err := c.events(ctx, meta, block)
	if err != nil {
		return nil, err
	}
	r := &Receipt{BlockHash: block, Index: idx}
	var failure error
	for _, ev := range events {
		if ev.phase != idx {
			continue
		}
		r.Events = append(r.Events, ev.Event)
		switch {
		case ev.Pallet == "System" && ev.Name == "ExtrinsicFailed":
			failure = dispatchError(meta, field(ev.Fields, "dispatch_error", 0))
		case ev.Pallet == "Sudo" && ev.Name == "Sudid":
			if v, ok := field(ev.Fields, "sudo_result", 0).(metadata.Variant); ok && v.Name == "Err" {
				failure = dispatchError(meta, v.Fields)
			}
		}
	}
	if failure != nil {
		return r, failure
	}
	return r, nil
}

type phasedEvent struct {
	Event
	phase int // extrinsic index, -1 for other phases
}

// events decodes System.Events at block.
func (c *Client) events(ctx context.Context, meta *metadata.Metadata, block [32]byte) ([]phasedEvent, error) {
	e, err := meta.Storage("System", "Events")
	if err != nil {
		return nil, err
	}
	key, _ := e.Key()
	raw, _, err := c.StorageRaw(ctx, key, block)
	if err != nil {
		return nil, fmt.Errorf("read events: %w", err)
	}
	return DecodeEvents(meta, raw)
}

// DecodeEvents decodes a System.Events value.
func DecodeEvents(meta *metadata.Metadata, raw []byte) ([]phasedEvent, error) {
	e, err := meta.Storage("System", "Events")
	if err != nil {
		return nil, err
	}
	v, err := meta.DecodeValue(e.Value, scale.NewDecoder(raw))
	if err != nil {
		return nil, fmt.Errorf("decode events: %w", err)
	}
	list, _ := v.([]any)
	var out []phasedEvent
	for _, rec := range list {
		pe := phasedEvent{phase: -1}
		if ph, ok := field(rec, "phase", 0).(metadata.Variant); ok && ph.Name == "ApplyExtrinsic" {
			if n, ok := asUint(ph.Fields); ok {
				pe.phase = int(n)
			}
		}
		if pv, ok := field(rec, "event", 1).(metadata.Variant); ok {
			pe.Pallet = pv.Name
			if ev, ok := pv.Fields.(metadata.Variant); ok {
				pe.Name, pe.Fields = ev.Name, ev.Fields
			} else if l, ok := pv.Fields.([]any); ok && len(l) == 1 {
				if ev, ok := l[0].(metadata.Variant); ok {
					pe.Name, pe.Fields = ev.Name, ev.Fields
				}
			}
		}
		out = append(out, pe)
	}
	return out, nil
}

// dispatchError turns a decoded sp_runtime::DispatchError into a Go error.
func dispatchError(meta *metadata.Metadata, v any) error {
	dv, ok := v.(metadata.Variant)
	if !ok {
		return &DispatchError{Name: fmt.Sprintf("unknown(%v)", v)}
	}
	if dv.Name != "Module" {
		name := dv.Name
		if inner, ok := dv.Fields.(metadata.Variant); ok {
			name += "." + inner.Name
		}
		return &DispatchError{Name: name}
	}
	idx, _ := asUint(field(dv.Fields, "index", 0))
	var errIdx uint64
	switch b := field(dv.Fields, "error", 1).(type) {
	case []byte:
		if len(b) > 0 {
			errIdx = uint64(b[0])
		}
	default:
		errIdx, _ = asUint(b)
	}
	pallet, name, doc, ok := meta.ModuleError(uint8(idx), uint8(errIdx))
	if !ok {
		return &DispatchError{Name: fmt.Sprintf("Module(%d, %d)", idx, errIdx)}
	}
	return &DispatchError{Pallet: pallet, Name: name, Doc: strings.TrimSpace(doc)}
}

// field reads a named field of a decoded composite, or the i-th of an
// unnamed one.
func field(v any, name string, i int) any {
	switch x := v.(type) {
	case map[string]any:
		return x[name]
	case []any:
		if i < len(x) {
			return x[i]
		}
	}
	return nil
}

func asUint(v any) (uint64, bool) {
	switch x := v.(type) {
	case uint64:
		return x, true
	case int64:
		return uint64(x), x >= 0
	case []any:
		if len(x) == 1 {
			return asUint(x[0])
		}
	}
	return 0, false
}

// MortalEraHex is the "0x" hex of mortalEra (for comparisons in tests).
func MortalEraHex(current, period uint64) string { return hexOf(mortalEra(current, period)) }
