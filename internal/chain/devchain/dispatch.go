package devchain

import (
	"errors"
	"fmt"
	"math/big"
	"strings"

	"github.com/sn27/sn27/internal/chain/metadata"
	"github.com/sn27/sn27/internal/scale"
)

// dispatchError is a failed dispatch named as in the metadata: a module
// error ("SubtensorModule", "SettingWeightsTooFast") or, with Pallet "", a
// DispatchError variant ("BadOrigin", or "Token.FundsUnavailable").
type dispatchError struct {
	Pallet, Name string
}

func (e *dispatchError) Error() string {
	if e.Pallet == "" {
		return e.Name
	}
	return e.Pallet + "." + e.Name
}

func modErr(pallet, name string) error { return &dispatchError{Pallet: pallet, Name: name} }
func stErr(name string) error          { return modErr("SubtensorModule", name) }

var errBadOrigin = &dispatchError{Name: "BadOrigin"}

// origin is who dispatches a call: root (through Sudo) or a signed account.
type origin struct {
	root   bool
	signer account32
}

// execution collects one block's events.
type execution struct {
	c      *Chain
	number uint64
	events []any // EventRecord values
	phase  any
}

func (ex *execution) emit(pallet, name string, fields any) {
	rec := func(f any) map[string]any {
		return map[string]any{
			"phase":  ex.phase,
			"event":  metadata.Variant{Name: pallet, Fields: metadata.Variant{Name: name, Fields: f}},
			"topics": []any{},
		}
	}
	key := pallet + "." + name
	pad, known := ex.c.eventPad[key]
	if !known {
		pad = ex.c.eventPadding(rec, fields)
		if ex.c.eventPad == nil {
			ex.c.eventPad = map[string]int{}
		}
		ex.c.eventPad[key] = pad
	}
	if pad < 0 {
		// An event this runtime does not have: one bad event must not lose
		// the block's others.
		ex.c.log.Warn("event not in this runtime's metadata; not emitted", "event", key)
		return
	}
	if tuple, ok := fields.([]any); ok && pad > 0 {
		f := append(append([]any{}, tuple...), make([]any, pad)...)
		for i := len(tuple); i < len(f); i++ {
			f[i] = uint64(0)
		}
		fields = f
	}
	ex.events = append(ex.events, rec(fields))
}

// eventPadding finds, once per event, how many zero fields this runtime's
// version of it has beyond what the dev chain emits (a fee after
// StakeAdded's netuid in spec 343); -1: the runtime has no such event.
func (c *Chain) eventPadding(rec func(any) map[string]any, fields any) int {
	tuple, isTuple := fields.([]any)
	for pad := 0; pad <= 3; pad++ {
		f := fields
		if pad > 0 {
			if !isTuple {
				break
			}
			t := append(append([]any{}, tuple...), make([]any, pad)...)
			for i := len(tuple); i < len(t); i++ {
				t[i] = uint64(0)
			}
			f = t
		}
		if c.meta.EncodeValue(c.events, []any{rec(f)}, scale.NewEncoder(nil)) == nil {
			return pad
		}
	}
	return -1
}

func (ex *execution) encodeEvents() []byte {
	e := scale.NewEncoder(nil)
	if err := ex.c.meta.EncodeValue(ex.c.events, ex.events, e); err != nil {
		ex.c.log.Error("events not encoded", "block", ex.number, "err", err)
		return []byte{0}
	}
	return e.Data()
}

// dispatchErrorValue encodes err as sp_runtime::DispatchError.
func (c *Chain) dispatchErrorValue(err error) any {
	var de *dispatchError
	if !errors.As(err, &de) {
		return metadata.Variant{Name: "Other"}
	}
	if de.Pallet == "" {
		if outer, inner, ok := strings.Cut(de.Name, "."); ok {
			return metadata.Variant{Name: outer, Fields: inner}
		}
		return de.Name
	}
	idx, ok := c.errIdx[de.Pallet+"."+de.Name]
	if !ok && de.Name == "SubNetworkDoesNotExist" { // its name since spec 2xx-3xx
		idx, ok = c.errIdx[de.Pallet+".SubnetNotExists"]
	}
	if !ok {
		c.log.Error("unknown module error", "error", de.Error())
		return metadata.Variant{Name: "Other"}
	}
	return metadata.Variant{Name: "Module", Fields: map[string]any{"index": idx[0], "error": []byte{idx[1], 0, 0, 0}}}
}

func dispatchInfo(pays bool) map[string]any {
	p := "No"
	if pays {
		p = "Yes"
	}
	return map[string]any{"weight": map[string]any{"ref_time": uint64(100_000_000), "proof_size": uint64(0)}, "class": "Normal", "pays_fee": p}
}

// apply executes extrinsic i of the block: nonce and fee, then the call in
// a transaction that is rolled back when it fails.
func (c *Chain) apply(ex *execution, i int, p *pending) {
	st := c.st
	ex.phase = metadata.Variant{Name: "ApplyExtrinsic", Fields: uint64(i)}
	a := st.acct(p.signer)
	if a.Nonce != p.nonce { // cannot happen: the pool orders nonces
		c.log.Warn("extrinsic with a stale nonce skipped", "signer", p.signer.String(), "nonce", p.nonce)
		return
	}
	a.Nonce++
	fee := c.fee(p.call)
	if fee > a.Free {
		fee = a.Free
	}
	a.Free -= fee
	st.TotalIssuance -= min(fee, st.TotalIssuance)
	err := c.transactional(ex, func() error { return c.dispatch(ex, origin{signer: p.signer}, p.call) })
	if err != nil {
		ex.emit("System", "ExtrinsicFailed", map[string]any{"dispatch_error": c.dispatchErrorValue(err), "dispatch_info": dispatchInfo(fee > 0)})
		return
	}
	ex.emit("System", "ExtrinsicSuccess", map[string]any{"dispatch_info": dispatchInfo(fee > 0)})
}

// transactional runs f and undoes its state changes and events if it fails.
func (c *Chain) transactional(ex *execution, f func() error) error {
	snap := c.st.clone()
	nev := len(ex.events)
	err := f()
	if err != nil {
		blocks := c.st.Blocks
		*c.st = *snap
		c.st.Blocks = blocks
		ex.events = ex.events[:nev]
	}
	return err
}

type handler func(c *Chain, ex *execution, o origin, args map[string]any) error

// handlers are the supported calls, by "Pallet.call" (filled by init, as
// some of them dispatch nested calls through this map).
var handlers map[string]handler

func init() {
	handlers = map[string]handler{
		"SubtensorModule.register_network": (*Chain).registerNetwork,
		"SubtensorModule.burned_register":  (*Chain).burnedRegister,
		"SubtensorModule.serve_axon":       (*Chain).serveAxon,
		"SubtensorModule.add_stake":        (*Chain).addStake,
		"SubtensorModule.set_weights":      (*Chain).setWeights,
		"Balances.transfer_keep_alive":     func(c *Chain, ex *execution, o origin, a map[string]any) error { return c.transfer(ex, o, a, true) },
		"Balances.transfer_allow_death":    func(c *Chain, ex *execution, o origin, a map[string]any) error { return c.transfer(ex, o, a, false) },
		"Balances.force_set_balance":       (*Chain).forceSetBalance,
		"System.remark":                    func(*Chain, *execution, origin, map[string]any) error { return nil },
		"Sudo.sudo":                        (*Chain).sudo,
		"Utility.batch_all":                (*Chain).batchAll,
	}
	for name, set := range adminSetters {
		handlers["AdminUtils."+name] = set.handler()
	}
	for name, h := range commitRevealHandlers {
		handlers[name] = h
	}
	for name, h := range runtime343Handlers() {
		handlers[name] = h
	}
}

// supported checks that the dev chain implements call and every call nested
// in it (Sudo.sudo, Utility.batch_all).
func (c *Chain) supported(call metadata.Variant, depth int) error {
	inner, ok := call.Fields.(metadata.Variant)
	if !ok {
		return fmt.Errorf("malformed call of pallet %s", call.Name)
	}
	name := call.Name + "." + inner.Name
	if _, ok := handlers[name]; !ok {
		return fmt.Errorf("the dev chain does not support %s", name)
	}
	if depth > 4 {
		return errors.New("calls nested too deeply")
	}
	args, _ := inner.Fields.(map[string]any)
	switch name {
	case "Sudo.sudo":
		sub, ok := args["call"].(metadata.Variant)
		if !ok {
			return errors.New("malformed Sudo.sudo")
		}
		return c.supported(sub, depth+1)
	case "Utility.batch_all":
		list, _ := args["calls"].([]any)
		for _, it := range list {
			sub, ok := it.(metadata.Variant)
			if !ok {
				return errors.New("malformed Utility.batch_all")
			}
			if err := c.supported(sub, depth+1); err != nil {
				return err
			}
		}
	}
	return nil
}

// dispatch runs a decoded RuntimeCall with origin o.
func (c *Chain) dispatch(ex *execution, o origin, call metadata.Variant) error {
	inner, ok := call.Fields.(metadata.Variant)
	if !ok {
		return &dispatchError{Name: "Other"}
	}
	h, ok := handlers[call.Name+"."+inner.Name]
	if !ok {
		return &dispatchError{Name: "CannotLookup"}
	}
	args, _ := inner.Fields.(map[string]any)
	if args == nil {
		args = map[string]any{}
	}
	return h(c, ex, o, args)
}

func (c *Chain) sudo(ex *execution, o origin, args map[string]any) error {
	if o.root {
		return errBadOrigin
	}
	if o.signer != c.st.Sudo {
		return modErr("Sudo", "RequireSudo")
	}
	call, _ := args["call"].(metadata.Variant)
	err := c.transactional(ex, func() error { return c.dispatch(ex, origin{root: true}, call) })
	res := any(metadata.Variant{Name: "Ok"})
	if err != nil {
		res = metadata.Variant{Name: "Err", Fields: c.dispatchErrorValue(err)}
	}
	ex.emit("Sudo", "Sudid", map[string]any{"sudo_result": res})
	return nil
}

func (c *Chain) batchAll(ex *execution, o origin, args map[string]any) error {
	list, _ := args["calls"].([]any)
	if len(list) > 1024 {
		return modErr("Utility", "TooManyCalls")
	}
	for _, it := range list {
		call, _ := it.(metadata.Variant)
		if err := c.dispatch(ex, o, call); err != nil {
			return err // the extrinsic's transaction rolls everything back
		}
		ex.emit("Utility", "ItemCompleted", nil)
	}
	ex.emit("Utility", "BatchCompleted", nil)
	return nil
}

// Argument helpers for the Go shapes of metadata.DecodeValue.

func argUint(args map[string]any, name string) uint64 {
	switch v := args[name].(type) {
	case uint64:
		return v
	case *big.Int:
		if v.IsUint64() {
			return v.Uint64()
		}
	}
	return 0
}

func argU16(args map[string]any, name string) uint16 { return uint16(argUint(args, name)) }

func argBool(args map[string]any, name string) bool { b, _ := args[name].(bool); return b }

// argAccount reads an AccountId32, or a MultiAddress::Id.
func argAccount(args map[string]any, name string) (account32, bool) {
	v := args[name]
	if mv, ok := v.(metadata.Variant); ok {
		if mv.Name != "Id" {
			return account32{}, false
		}
		v = mv.Fields
	}
	b, ok := v.([]byte)
	if !ok || len(b) != 32 {
		return account32{}, false
	}
	return account32(b), true
}

func argU16s(args map[string]any, name string) []uint16 {
	list, _ := args[name].([]any)
	out := make([]uint16, 0, len(list))
	for _, it := range list {
		n, _ := it.(uint64)
		out = append(out, uint16(n))
	}
	return out
}

// argU128 returns a u128 as lo, hi.
func argU128(args map[string]any, name string) (lo, hi uint64) {
	switch v := args[name].(type) {
	case *big.Int:
		lo = new(big.Int).And(v, new(big.Int).SetUint64(^uint64(0))).Uint64()
		hi = new(big.Int).Rsh(v, 64).Uint64()
	case uint64:
		lo = v
	}
	return lo, hi
}
