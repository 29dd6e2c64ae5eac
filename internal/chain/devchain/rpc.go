package devchain

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"

	"github.com/sn27/sn27/internal/keys"
)

func hexOf(b []byte) string { return "0x" + hex.EncodeToString(b) }

func parseHex(s string) ([]byte, error) {
	if !strings.HasPrefix(s, "0x") {
		return nil, errors.New("hex value without 0x prefix")
	}
	return hex.DecodeString(s[2:])
}

// rpcError is a JSON-RPC error object.
type rpcError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
	Data    any    `json:"data,omitempty"`
}

func errParams(format string, args ...any) *rpcError {
	return &rpcError{Code: -32602, Message: "Invalid params: " + fmt.Sprintf(format, args...)}
}

// session is one client connection; subscriptions live as long as it does.
type session struct {
	ws   bool
	out  chan []byte
	kill func() // closes the connection (slow reader)

	mu     sync.Mutex
	closed bool
	subs   map[string]func() // id -> cancel
}

const (
	maxSubsPerSession = 1024
	maxBatch          = 100
)

func newSession(ws bool, kill func()) *session {
	return &session{ws: ws, out: make(chan []byte, 4096), kill: kill, subs: map[string]func(){}}
}

// send queues a message without blocking; a full queue closes the connection.
func (s *session) send(b []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	select {
	case s.out <- b:
	default:
		s.closed = true
		if s.kill != nil {
			s.kill()
		}
	}
}

func (s *session) notify(method, sub string, result any) {
	b, err := json.Marshal(map[string]any{"jsonrpc": "2.0", "method": method, "params": map[string]any{"subscription": sub, "result": result}})
	if err == nil {
		s.send(b)
	}
}

func (s *session) addSub(id string, cancel func()) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || len(s.subs) >= maxSubsPerSession {
		return false
	}
	s.subs[id] = cancel
	return true
}

func (s *session) removeSub(id string) bool {
	s.mu.Lock()
	cancel, ok := s.subs[id]
	delete(s.subs, id)
	s.mu.Unlock()
	if ok {
		cancel()
	}
	return ok
}

// close ends all subscriptions.
func (s *session) close() {
	s.mu.Lock()
	s.closed = true
	subs := s.subs
	s.subs = map[string]func(){}
	s.mu.Unlock()
	for _, cancel := range subs {
		cancel()
	}
}

// gate holds extrinsic status updates until the subscription id has been
// sent, so they arrive after it.
type gate struct {
	mu        sync.Mutex
	armed     bool
	cancelled bool
	held      []any
	send      func(any)
}

func (g *gate) notify(v any) {
	g.mu.Lock()
	defer g.mu.Unlock()
	switch {
	case g.cancelled:
	case g.armed:
		g.send(v)
	default:
		g.held = append(g.held, v)
	}
}

func (g *gate) arm() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.armed = true
	for _, v := range g.held {
		if !g.cancelled {
			g.send(v)
		}
	}
	g.held = nil
}

func (g *gate) cancel() {
	g.mu.Lock()
	g.cancelled = true
	g.mu.Unlock()
}

type request struct {
	JSONRPC string          `json:"jsonrpc"`
	ID      json.RawMessage `json:"id"`
	Method  string          `json:"method"`
	Params  json.RawMessage `json:"params"`
}

// handleMessage answers one JSON-RPC message (a request or a batch); resp
// is nil when nothing is to be sent. after runs once resp has been queued.
func (c *Chain) handleMessage(sess *session, data []byte) (resp []byte, after func()) {
	data = bytes.TrimSpace(data)
	if len(data) > 0 && data[0] == '[' {
		var batch []json.RawMessage
		if err := json.Unmarshal(data, &batch); err != nil {
			return errorResponse(nil, &rpcError{Code: -32700, Message: "Parse error"}), nil
		}
		if len(batch) == 0 || len(batch) > maxBatch {
			return errorResponse(nil, &rpcError{Code: -32600, Message: fmt.Sprintf("Invalid request: a batch holds 1 to %d requests", maxBatch)}), nil
		}
		var out []json.RawMessage
		var afters []func()
		for _, m := range batch {
			r, a := c.handleOne(sess, m)
			if r != nil {
				out = append(out, r)
			}
			if a != nil {
				afters = append(afters, a)
			}
		}
		after = func() {
			for _, a := range afters {
				a()
			}
		}
		if len(out) == 0 {
			return nil, after
		}
		b, _ := json.Marshal(out)
		return b, after
	}
	return c.handleOne(sess, data)
}

func (c *Chain) handleOne(sess *session, data []byte) ([]byte, func()) {
	var req request
	if err := json.Unmarshal(data, &req); err != nil {
		return errorResponse(nil, &rpcError{Code: -32700, Message: "Parse error"}), nil
	}
	if req.JSONRPC != "2.0" || req.Method == "" {
		return errorResponse(req.ID, &rpcError{Code: -32600, Message: "Invalid request"}), nil
	}
	params, err := splitParams(req.Params)
	var result any
	var after func()
	var perr *rpcError
	if err != nil {
		perr = errParams("%v", err)
	} else {
		result, after, perr = c.call(sess, req.Method, params)
	}
	if len(req.ID) == 0 {
		return nil, after // a notification: no answer
	}
	if perr != nil {
		return errorResponse(req.ID, perr), nil
	}
	b, err := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": req.ID, "result": result})
	if err != nil {
		return errorResponse(req.ID, &rpcError{Code: -32603, Message: "Internal error"}), nil
	}
	return b, after
}

func errorResponse(id json.RawMessage, e *rpcError) []byte {
	if len(id) == 0 {
		id = json.RawMessage("null")
	}
	b, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": id, "error": e})
	return b
}

// splitParams accepts positional params, or one object (as chopsticks'
// dev_newBlock takes {"count": N}).
func splitParams(raw json.RawMessage) ([]json.RawMessage, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	if raw[0] == '{' {
		return []json.RawMessage{raw}, nil
	}
	var ps []json.RawMessage
	if err := json.Unmarshal(raw, &ps); err != nil {
		return nil, errors.New("params must be an array or an object")
	}
	return ps, nil
}

func param[T any](ps []json.RawMessage, i int, name string) (T, bool, *rpcError) {
	var v T
	if i >= len(ps) || string(ps[i]) == "null" {
		return v, false, nil
	}
	if err := json.Unmarshal(ps[i], &v); err != nil {
		return v, false, errParams("%s: %v", name, err)
	}
	return v, true, nil
}

// blockParam resolves an optional block hash parameter (nil: best block).
func (c *Chain) blockParamLocked(ps []json.RawMessage, i int) (*block, *rpcError) {
	h, ok, err := param[string](ps, i, "block hash")
	if err != nil || !ok {
		return c.headLocked(), err
	}
	b, herr := parseHex(h)
	if herr != nil || len(b) != 32 {
		return nil, errParams("block hash %q", h)
	}
	return c.blockByHashLocked(account32(b)), nil
}

var rpcMethods = []string{
	"author_submitAndWatchExtrinsic", "author_submitExtrinsic", "author_unwatchExtrinsic",
	"chain_getBlock", "chain_getBlockHash", "chain_getFinalizedHead", "chain_getHead", "chain_getHeader",
	"chain_subscribeFinalizedHeads", "chain_subscribeNewHeads", "chain_unsubscribeFinalizedHeads", "chain_unsubscribeNewHeads",
	"dev_fund", "dev_newBlock", "rpc_methods",
	"state_call", "state_getMetadata", "state_getRuntimeVersion", "state_getStorage", "state_getStorageAt",
	"state_queryStorageAt", "state_subscribeStorage", "state_unsubscribeStorage",
	"state_subscribeRuntimeVersion", "state_unsubscribeRuntimeVersion", "chain_subscribeRuntimeVersion", "chain_unsubscribeRuntimeVersion",
	"system_accountNextIndex", "account_nextIndex", "system_chain", "system_health", "system_name", "system_properties", "system_version",
}

// call runs one method.
func (c *Chain) call(sess *session, method string, ps []json.RawMessage) (any, func(), *rpcError) {
	switch method {
	case "rpc_methods":
		return map[string]any{"version": 1, "methods": rpcMethods}, nil, nil
	case "system_chain":
		return ChainName, nil, nil
	case "system_name":
		return "sn27-devchain", nil, nil
	case "system_version":
		return "1.0.0", nil, nil
	case "system_properties":
		return map[string]any{"ss58Format": keys.SS58Prefix, "tokenDecimals": 9, "tokenSymbol": "TAO"}, nil, nil
	case "system_health":
		return map[string]any{"peers": 0, "isSyncing": false, "shouldHavePeers": false}, nil, nil
	case "state_getRuntimeVersion", "chain_getRuntimeVersion":
		return c.runtimeVersion(), nil, nil
	case "state_getMetadata":
		return hexOf(c.metaV14), nil, nil
	case "system_accountNextIndex", "account_nextIndex":
		addr, ok, err := param[string](ps, 0, "account")
		if err != nil || !ok {
			return nil, nil, errParams("account: want an SS58 address")
		}
		pub, perr := keys.ParseSS58(addr)
		if perr != nil {
			return nil, nil, errParams("account: %v", perr)
		}
		return c.nextIndex(account32(pub)), nil, nil
	case "dev_fund":
		return c.rpcFund(ps)
	case "dev_newBlock":
		return c.rpcNewBlock(ps)
	case "author_submitExtrinsic":
		xt, err := xtParam(ps)
		if err != nil {
			return nil, nil, err
		}
		h, serr := c.Submit(xt, nil)
		if serr != nil {
			return nil, nil, txRPCError(serr)
		}
		return hexOf(h[:]), nil, nil
	case "author_submitAndWatchExtrinsic":
		if !sess.ws {
			return nil, nil, &rpcError{Code: -32601, Message: "Method not found: subscriptions need a WebSocket connection"}
		}
		xt, err := xtParam(ps)
		if err != nil {
			return nil, nil, err
		}
		id := c.newSubID()
		g := &gate{send: func(v any) { sess.notify("author_extrinsicUpdate", id, v) }}
		if !sess.addSub(id, g.cancel) {
			return nil, nil, &rpcError{Code: -32000, Message: "too many subscriptions"}
		}
		if _, serr := c.Submit(xt, g.notify); serr != nil {
			sess.removeSub(id)
			return nil, nil, txRPCError(serr)
		}
		return id, g.arm, nil
	case "author_unwatchExtrinsic", "chain_unsubscribeNewHeads", "chain_unsubscribeFinalizedHeads", "chain_unsubscribeFinalisedHeads", "chain_unsubscribeAllHeads":
		id, _, err := param[string](ps, 0, "subscription id")
		if err != nil {
			return nil, nil, err
		}
		return sess.removeSub(id), nil, nil
	case "chain_subscribeNewHeads", "chain_subscribeFinalizedHeads", "chain_subscribeFinalisedHeads", "chain_subscribeAllHeads":
		return c.subscribeHeads(sess, method)
	case "state_subscribeRuntimeVersion", "chain_subscribeRuntimeVersion":
		// The runtime never upgrades on the dev chain: the subscription
		// sends the current version once, as a node does first.
		if !sess.ws {
			return nil, nil, &rpcError{Code: -32601, Message: "Method not found: subscriptions need a WebSocket connection"}
		}
		id := c.newSubID()
		g := &gate{send: func(v any) { sess.notify("state_runtimeVersion", id, v) }}
		if !sess.addSub(id, g.cancel) {
			return nil, nil, &rpcError{Code: -32000, Message: "too many subscriptions"}
		}
		g.notify(c.runtimeVersion())
		return id, g.arm, nil
	case "state_subscribeStorage":
		return c.subscribeStorage(sess, ps)
	case "state_unsubscribeRuntimeVersion", "chain_unsubscribeRuntimeVersion", "state_unsubscribeStorage":
		id, _, err := param[string](ps, 0, "subscription id")
		if err != nil {
			return nil, nil, err
		}
		return sess.removeSub(id), nil, nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	switch method {
	case "chain_getBlockHash":
		if len(ps) == 0 || string(ps[0]) == "null" {
			return hexOf(c.headLocked().Hash[:]), nil, nil
		}
		n, err := blockNumber(ps[0])
		if err != nil {
			return nil, nil, errParams("block number: %v", err)
		}
		if b := c.blockByNumberLocked(n); b != nil {
			return hexOf(b.Hash[:]), nil, nil
		}
		return nil, nil, nil
	case "chain_getHead", "chain_getFinalizedHead", "chain_getFinalisedHead":
		return hexOf(c.headLocked().Hash[:]), nil, nil
	case "chain_getHeader":
		b, err := c.blockParamLocked(ps, 0)
		if err != nil || b == nil {
			return nil, nil, err
		}
		return headerJSON(b), nil, nil
	case "chain_getBlock":
		b, err := c.blockParamLocked(ps, 0)
		if err != nil || b == nil {
			return nil, nil, err
		}
		xts := make([]string, len(b.Extrinsics))
		for i, x := range b.Extrinsics {
			xts[i] = hexOf(x)
		}
		return map[string]any{"block": map[string]any{"header": headerJSON(b), "extrinsics": xts}, "justifications": nil}, nil, nil
	case "state_getStorage", "state_getStorageAt":
		k, ok, err := param[string](ps, 0, "storage key")
		if err != nil || !ok {
			return nil, nil, errParams("storage key: want 0x hex")
		}
		key, herr := parseHex(k)
		if herr != nil {
			return nil, nil, errParams("storage key: %v", herr)
		}
		b, err := c.blockParamLocked(ps, 1)
		if err != nil {
			return nil, nil, err
		}
		if b == nil {
			return nil, nil, &rpcError{Code: 4003, Message: "Client error: UnknownBlock: the dev chain keeps only recent blocks"}
		}
		if v := c.storageLocked(key, b); v != nil {
			return hexOf(v), nil, nil
		}
		return nil, nil, nil
	case "state_queryStorageAt":
		keys, err := storageKeysParam(ps)
		if err != nil {
			return nil, nil, err
		}
		b, err := c.blockParamLocked(ps, 1)
		if err != nil {
			return nil, nil, err
		}
		if b == nil {
			return nil, nil, &rpcError{Code: 4003, Message: "Client error: UnknownBlock: the dev chain keeps only recent blocks"}
		}
		return []any{c.changeSetLocked(b, keys, nil)}, nil, nil
	case "state_call":
		m, ok1, err := param[string](ps, 0, "method")
		if err != nil {
			return nil, nil, err
		}
		a, ok2, err := param[string](ps, 1, "data")
		if err != nil || !ok1 || !ok2 {
			return nil, nil, errParams("state_call takes a method and 0x hex data")
		}
		args, herr := parseHex(a)
		if herr != nil {
			return nil, nil, errParams("data: %v", herr)
		}
		out, cerr := c.runtimeCallLocked(m, args)
		if cerr != nil {
			return nil, nil, &rpcError{Code: 4003, Message: "Client error: Execution failed: " + cerr.Error()}
		}
		return hexOf(out), nil, nil
	}
	return nil, nil, &rpcError{Code: -32601, Message: "Method not found"}
}

// runtimeVersion is state_getRuntimeVersion's answer. apis is empty: the
// dev chain answers the runtime calls sn27 uses (state_call) but does not
// claim whole runtime API versions, so clients such as polkadot.js fall back
// to the plain RPCs (state_getMetadata, system_accountNextIndex).
func (c *Chain) runtimeVersion() map[string]any {
	return map[string]any{
		"specName": SpecName, "implName": SpecName, "authoringVersion": 1, "specVersion": c.spec,
		"implVersion": 1, "apis": []any{}, "transactionVersion": TransactionVersion, "stateVersion": 1,
	}
}

func (c *Chain) newSubID() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.nextSub++
	return strconv.FormatUint(c.nextSub, 10)
}

func (c *Chain) subscribeHeads(sess *session, method string) (any, func(), *rpcError) {
	if !sess.ws {
		return nil, nil, &rpcError{Code: -32601, Message: "Method not found: subscriptions need a WebSocket connection"}
	}
	id := c.newSubID()
	n, _ := strconv.ParseUint(id, 10, 64)
	note := "chain_newHead"
	if strings.Contains(method, "Final") {
		note = "chain_finalizedHead"
	} else if strings.Contains(method, "All") {
		note = "chain_allHead"
	}
	g := &gate{send: func(v any) { sess.notify(note, id, v) }}
	cancel := func() {
		g.cancel()
		c.mu.Lock()
		delete(c.heads, n)
		c.mu.Unlock()
	}
	if !sess.addSub(id, cancel) {
		return nil, nil, &rpcError{Code: -32000, Message: "too many subscriptions"}
	}
	c.mu.Lock()
	g.notify(headerJSON(c.headLocked())) // substrate sends the current head first
	c.heads[n] = func(h map[string]any) { g.notify(h) }
	c.mu.Unlock()
	return id, g.arm, nil
}

// maxStorageKeys bounds the keys of one state_queryStorageAt or
// state_subscribeStorage request.
const maxStorageKeys = 1024

// storageKeysParam reads the first parameter as a list of 0x storage keys.
func storageKeysParam(ps []json.RawMessage) ([][]byte, *rpcError) {
	hexKeys, ok, err := param[[]string](ps, 0, "storage keys")
	if err != nil || !ok {
		return nil, errParams("storage keys: want a list of 0x hex keys")
	}
	if len(hexKeys) > maxStorageKeys {
		return nil, errParams("storage keys: %d keys (at most %d)", len(hexKeys), maxStorageKeys)
	}
	out := make([][]byte, len(hexKeys))
	for i, k := range hexKeys {
		b, herr := parseHex(k)
		if herr != nil {
			return nil, errParams("storage key %d: %v", i, herr)
		}
		out[i] = b
	}
	return out, nil
}

// changeSetLocked is a StorageChangeSet of keys at block b: every key when
// prev is nil, else only those whose value differs from prev (which it
// updates).
func (c *Chain) changeSetLocked(b *block, keys [][]byte, prev map[string]string) map[string]any {
	changes := [][]any{}
	for _, k := range keys {
		var v any
		cur := ""
		if raw := c.storageLocked(k, b); raw != nil {
			cur = hexOf(raw)
			v = cur
		}
		if prev != nil {
			old, seen := prev[string(k)]
			if seen && old == cur {
				continue
			}
			prev[string(k)] = cur
		}
		changes = append(changes, []any{hexOf(k), v})
	}
	return map[string]any{"block": hexOf(b.Hash[:]), "changes": changes}
}

// subscribeStorage sends the keys' values now and then, after each state
// change, those that changed (substrate's state_storage notifications).
func (c *Chain) subscribeStorage(sess *session, ps []json.RawMessage) (any, func(), *rpcError) {
	if !sess.ws {
		return nil, nil, &rpcError{Code: -32601, Message: "Method not found: subscriptions need a WebSocket connection"}
	}
	keys, err := storageKeysParam(ps)
	if err != nil {
		return nil, nil, err
	}
	id := c.newSubID()
	n, _ := strconv.ParseUint(id, 10, 64)
	g := &gate{send: func(v any) { sess.notify("state_storage", id, v) }}
	cancel := func() {
		g.cancel()
		c.mu.Lock()
		delete(c.watches, n)
		c.mu.Unlock()
	}
	if !sess.addSub(id, cancel) {
		return nil, nil, &rpcError{Code: -32000, Message: "too many subscriptions"}
	}
	prev := map[string]string{}
	c.mu.Lock()
	g.notify(c.changeSetLocked(c.headLocked(), keys, prev))
	c.watches[n] = func() {
		if cs := c.changeSetLocked(c.headLocked(), keys, prev); len(cs["changes"].([][]any)) > 0 {
			g.notify(cs)
		}
	}
	c.mu.Unlock()
	return id, g.arm, nil
}

func xtParam(ps []json.RawMessage) ([]byte, *rpcError) {
	s, ok, err := param[string](ps, 0, "extrinsic")
	if err != nil || !ok {
		return nil, errParams("extrinsic: want 0x hex")
	}
	if len(s) > 2*maxExtrinsic+2 {
		return nil, &rpcError{Code: 1002, Message: "Verification Error", Data: "extrinsic too large"}
	}
	b, herr := parseHex(s)
	if herr != nil {
		return nil, errParams("extrinsic: %v", herr)
	}
	return b, nil
}

func txRPCError(err error) *rpcError {
	var te *TxError
	if errors.As(err, &te) {
		return &rpcError{Code: te.Code, Message: te.Message, Data: te.Data}
	}
	return &rpcError{Code: -32603, Message: err.Error()}
}

// blockNumber parses a block number given as a JSON number or hex string.
func blockNumber(raw json.RawMessage) (uint64, error) {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return strconv.ParseUint(strings.TrimPrefix(s, "0x"), 16, 64)
	}
	var n uint64
	err := json.Unmarshal(raw, &n)
	return n, err
}

// maxNewBlocks bounds one dev_newBlock request.
const maxNewBlocks = 10_000

func (c *Chain) rpcNewBlock(ps []json.RawMessage) (any, func(), *rpcError) {
	opts, _, err := param[struct {
		Count *int `json:"count"`
	}](ps, 0, "options")
	if err != nil {
		return nil, nil, err
	}
	n := 1
	if opts.Count != nil {
		n = *opts.Count
	}
	limit := maxNewBlocks
	if c.newBlockLimit > 0 {
		limit = c.newBlockLimit
	}
	if n < 1 || n > limit {
		return nil, nil, errParams("count must be 1 to %d", limit)
	}
	c.NewBlocks(n)
	c.mu.Lock()
	defer c.mu.Unlock()
	return hexOf(c.headLocked().Hash[:]), nil, nil
}

// rpcFund is dev_fund(address, amount in rao as a number or decimal string);
// it returns the new free balance.
func (c *Chain) rpcFund(ps []json.RawMessage) (any, func(), *rpcError) {
	addr, ok, err := param[string](ps, 0, "address")
	if err != nil || !ok {
		return nil, nil, errParams("dev_fund takes an SS58 address and an amount in rao")
	}
	if len(ps) < 2 {
		return nil, nil, errParams("dev_fund takes an SS58 address and an amount in rao")
	}
	raw := bytes.Trim(bytes.TrimSpace(ps[1]), `"`)
	amt, ok := new(big.Int).SetString(string(raw), 10)
	if !ok || amt.Sign() < 0 || !amt.IsUint64() {
		return nil, nil, errParams("amount %s: want rao as an unsigned 64-bit integer", raw)
	}
	if ferr := c.Fund(addr, amt.Uint64()); ferr != nil {
		return nil, nil, errParams("%v", ferr)
	}
	pub, _ := keys.ParseSS58(addr)
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.st.free(account32(pub)), nil, nil
}

// connTracker counts live connections and lets Serve wait for them.
type connTracker struct {
	mu     sync.Mutex
	n, max int
	closed bool
	idle   chan struct{}
}

func (t *connTracker) add() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed || t.n >= t.max {
		return false
	}
	t.n++
	return true
}

func (t *connTracker) done() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.n--
	if t.closed && t.n == 0 {
		close(t.idle)
	}
}

// closeAndWait refuses new connections and waits for the live ones.
func (t *connTracker) closeAndWait() {
	t.mu.Lock()
	t.closed = true
	n := t.n
	t.mu.Unlock()
	if n > 0 {
		<-t.idle
	}
}

// Serve serves JSON-RPC over WebSocket and HTTP POST on ln and produces
// blocks until ctx ends; it returns after its goroutines have exited.
func (c *Chain) Serve(ctx context.Context, ln net.Listener) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	tr := &connTracker{max: c.cfg.MaxConnections, idle: make(chan struct{})}
	srv := &http.Server{
		Handler:           c.httpHandler(ctx, tr),
		ReadHeaderTimeout: 10 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return ctx },
	}
	produced := make(chan struct{})
	go func() {
		defer close(produced)
		c.produce(ctx)
	}()
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	var err error
	select {
	case <-ctx.Done():
	case err = <-served:
	}
	cancel()
	sctx, scancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer scancel()
	_ = srv.Shutdown(sctx)
	if err == nil {
		if serr := <-served; !errors.Is(serr, http.ErrServerClosed) {
			err = serr
		}
	}
	tr.closeAndWait()
	<-produced
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	if err != nil {
		return fmt.Errorf("serve dev chain: %w", err)
	}
	return nil
}

// produce makes blocks: one per extrinsic in instant mode, or one every
// BlockTime.
func (c *Chain) produce(ctx context.Context) {
	var tick <-chan time.Time
	if c.cfg.BlockTime > 0 {
		t := time.NewTicker(c.cfg.BlockTime)
		defer t.Stop()
		tick = t.C
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-c.kick:
			if c.cfg.BlockTime > 0 {
				continue
			}
			c.mu.Lock()
			for len(c.pool) > 0 {
				c.sealLocked(c.takeLocked(1))
			}
			c.mu.Unlock()
		case <-tick:
			c.mu.Lock()
			c.sealLocked(c.takeLocked(len(c.pool)))
			c.mu.Unlock()
		}
	}
}

func (c *Chain) httpHandler(ctx context.Context, tr *connTracker) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
			if !tr.add() {
				http.Error(w, "too many connections", http.StatusServiceUnavailable)
				return
			}
			defer tr.done()
			c.serveWS(ctx, w, r)
			return
		}
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", "POST")
			http.Error(w, "the sn27 dev chain speaks JSON-RPC over WebSocket or HTTP POST", http.StatusMethodNotAllowed)
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, c.cfg.MaxMessage))
		if err != nil {
			http.Error(w, "request too large", http.StatusRequestEntityTooLarge)
			return
		}
		resp, after := c.handleMessage(newSession(false, nil), body)
		if after != nil {
			after()
		}
		w.Header().Set("Content-Type", "application/json")
		if resp == nil {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		_, _ = w.Write(resp)
	})
}

func (c *Chain) serveWS(ctx context.Context, w http.ResponseWriter, r *http.Request) {
	conn, err := websocket.Accept(w, r, nil)
	if err != nil {
		return
	}
	defer conn.CloseNow()
	conn.SetReadLimit(c.cfg.MaxMessage)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	sess := newSession(true, cancel)
	defer sess.close()
	writerDone := make(chan struct{})
	go func() {
		defer close(writerDone)
		defer cancel()
		for {
			select {
			case <-ctx.Done():
				return
			case b := <-sess.out:
				wctx, wcancel := context.WithTimeout(ctx, 30*time.Second)
				err := conn.Write(wctx, websocket.MessageText, b)
				wcancel()
				if err != nil {
					return
				}
			}
		}
	}()
	for {
		_, data, err := conn.Read(ctx)
		if err != nil {
			break
		}
		resp, after := c.handleMessage(sess, data)
		if resp != nil {
			sess.send(resp)
		}
		if after != nil {
			after()
		}
	}
	cancel()
	<-writerDone
	conn.Close(websocket.StatusNormalClosure, "")
}
