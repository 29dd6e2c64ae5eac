package chain

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"
)

// Network presets for --subtensor.network.
var Networks = map[string]string{
	"finney": "wss://entrypoint-finney.opentensor.ai:443",
	"test":   "wss://test.finney.opentensor.ai:443",
	"local":  "ws://127.0.0.1:9944",
}

// Endpoint resolves --subtensor.network and --subtensor.chain_endpoint: an
// explicit endpoint wins; a network name maps to its preset; a bare
// host:port gets ws://.
func Endpoint(network, endpoint string) (string, error) {
	if endpoint == "" {
		if network == "" {
			network = "finney"
		}
		u, ok := Networks[network]
		if !ok {
			if strings.Contains(network, "://") {
				return network, nil
			}
			return "", fmt.Errorf("unknown network %q (want finney, test, local or an endpoint)", network)
		}
		return u, nil
	}
	if !strings.Contains(endpoint, "://") {
		endpoint = "ws://" + endpoint
	}
	endpoint = strings.Replace(endpoint, "http://", "ws://", 1)
	endpoint = strings.Replace(endpoint, "https://", "wss://", 1)
	return endpoint, nil
}

// RPCError is an error object returned by the node.
type RPCError struct {
	Code    int             `json:"code"`
	Message string          `json:"message"`
	Data    json.RawMessage `json:"data,omitempty"`
}

func (e *RPCError) Error() string {
	if len(e.Data) > 0 && string(e.Data) != "null" {
		return fmt.Sprintf("rpc error %d: %s: %s", e.Code, e.Message, truncate(string(e.Data), 300))
	}
	return fmt.Sprintf("rpc error %d: %s", e.Code, e.Message)
}

// ErrClosed means the client was closed.
var ErrClosed = errors.New("rpc client closed")

// maxMessage bounds one JSON-RPC message (metadata is ~200 KB hex-doubled).
const maxMessage = 32 << 20

// RPC is a JSON-RPC 2.0 client over WebSocket with subscriptions. A lost
// connection is redialled on the next call; live subscriptions end with an
// error on their channel.
type RPC struct {
	url     string
	log     *slog.Logger
	timeout time.Duration

	mu      sync.Mutex
	conn    *websocket.Conn
	gen     int // connection generation
	nextID  uint64
	pending map[uint64]chan response
	newSubs map[uint64]*Subscription // subscriptions awaiting their id
	subs    map[string]*Subscription
	closed  bool
}

type response struct {
	Result json.RawMessage `json:"result"`
	Error  *RPCError       `json:"error"`
	err    error
}

type message struct {
	ID     *uint64         `json:"id"`
	Result json.RawMessage `json:"result"`
	Error  *RPCError       `json:"error"`
	Method string          `json:"method"`
	Params struct {
		Subscription json.RawMessage `json:"subscription"`
		Result       json.RawMessage `json:"result"`
		Error        *RPCError       `json:"error"`
	} `json:"params"`
}

// DialRPC returns a client for url (ws:// or wss://); it connects at once.
func DialRPC(ctx context.Context, url string, log *slog.Logger) (*RPC, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	c := &RPC{url: url, log: log, timeout: 60 * time.Second, pending: map[uint64]chan response{}, newSubs: map[uint64]*Subscription{}, subs: map[string]*Subscription{}}
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.connectLocked(ctx); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *RPC) connectLocked(ctx context.Context) error {
	dctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	conn, _, err := websocket.Dial(dctx, c.url, nil)
	if err != nil {
		return fmt.Errorf("connect to %s: %w", c.url, err)
	}
	conn.SetReadLimit(maxMessage)
	c.conn = conn
	c.gen++
	go c.readLoop(conn, c.gen)
	return nil
}

// readLoop owns reading from one connection until it fails.
func (c *RPC) readLoop(conn *websocket.Conn, gen int) {
	ctx := context.Background()
	for {
		_, data, err := conn.Read(ctx)
		if err != nil {
			c.fail(gen, fmt.Errorf("connection to %s lost: %w", c.url, err))
			return
		}
		var m message
		if err := json.Unmarshal(data, &m); err != nil {
			c.log.Warn("undecodable rpc message", "err", err)
			continue
		}
		c.mu.Lock()
		switch {
		case m.ID != nil:
			if s, ok := c.newSubs[*m.ID]; ok {
				// Register before reading on, so no notification is missed.
				delete(c.newSubs, *m.ID)
				if m.Error == nil {
					if err := json.Unmarshal(m.Result, &s.id); err != nil {
						s.id = string(m.Result)
					}
					c.subs[s.id] = s
				}
			}
			if ch, ok := c.pending[*m.ID]; ok {
				delete(c.pending, *m.ID)
				ch <- response{Result: m.Result, Error: m.Error}
			}
		case m.Method != "":
			var id string
			if err := json.Unmarshal(m.Params.Subscription, &id); err != nil {
				id = string(m.Params.Subscription)
			}
			if s, ok := c.subs[id]; ok {
				s.deliver(m.Params.Result)
			}
		}
		c.mu.Unlock()
	}
}

// fail ends everything waiting on connection gen.
func (c *RPC) fail(gen int, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen {
		return
	}
	c.conn = nil
	for id, ch := range c.pending {
		ch <- response{err: err}
		delete(c.pending, id)
	}
	for id, s := range c.subs {
		s.end(err)
		delete(c.subs, id)
	}
	for id, s := range c.newSubs {
		s.end(err)
		delete(c.newSubs, id)
	}
}

// Close closes the connection.
func (c *RPC) Close() error {
	c.mu.Lock()
	c.closed = true
	conn := c.conn
	c.mu.Unlock()
	if conn != nil {
		return conn.Close(websocket.StatusNormalClosure, "")
	}
	return nil
}

// send writes a request and returns the channel of its answer. A non-nil
// sub is registered under the id the answer carries.
func (c *RPC) send(ctx context.Context, method string, params []any, sub *Subscription) (chan response, uint64, error) {
	if params == nil {
		params = []any{}
	}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil, 0, ErrClosed
	}
	if c.conn == nil {
		if err := c.connectLocked(ctx); err != nil {
			c.mu.Unlock()
			return nil, 0, err
		}
	}
	c.nextID++
	id := c.nextID
	ch := make(chan response, 1)
	c.pending[id] = ch
	if sub != nil {
		c.newSubs[id] = sub
	}
	conn := c.conn
	c.mu.Unlock()
	req, err := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": id, "method": method, "params": params})
	if err != nil {
		c.forget(id)
		return nil, 0, fmt.Errorf("encode %s: %w", method, err)
	}
	if err := conn.Write(ctx, websocket.MessageText, req); err != nil {
		c.forget(id)
		return nil, 0, fmt.Errorf("send %s: %w", method, err)
	}
	return ch, id, nil
}

func (c *RPC) forget(id uint64) {
	c.mu.Lock()
	delete(c.pending, id)
	delete(c.newSubs, id)
	c.mu.Unlock()
}

// Call invokes method and decodes its result into result (if not nil).
func (c *RPC) Call(ctx context.Context, result any, method string, params ...any) error {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.timeout)
		defer cancel()
	}
	ch, id, err := c.send(ctx, method, params, nil)
	if err != nil {
		return err
	}
	select {
	case r := <-ch:
		if r.err != nil {
			return fmt.Errorf("%s: %w", method, r.err)
		}
		if r.Error != nil {
			return fmt.Errorf("%s: %w", method, r.Error)
		}
		if result == nil {
			return nil
		}
		if err := json.Unmarshal(r.Result, result); err != nil {
			return fmt.Errorf("%s: decode result: %w", method, err)
		}
		return nil
	case <-ctx.Done():
		c.forget(id)
		return fmt.Errorf("%s: %w", method, ctx.Err())
	}
}

// Subscription delivers notifications until it ends.
type Subscription struct {
	C     chan json.RawMessage // notifications; closed when the subscription ends
	mu    sync.Mutex
	err   error
	done  bool
	unsub string
	id    string
	rpc   *RPC
}

func (s *Subscription) deliver(v json.RawMessage) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.done {
		return
	}
	select {
	case s.C <- v:
	default: // a slow reader loses notifications rather than blocking the connection
		s.rpc.log.Warn("subscription notification dropped", "subscription", s.id)
	}
}

func (s *Subscription) end(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.done {
		s.done = true
		s.err = err
		close(s.C)
	}
}

// Err returns why the subscription ended (nil if it was unsubscribed).
func (s *Subscription) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// Unsubscribe ends the subscription.
func (s *Subscription) Unsubscribe(ctx context.Context) {
	s.rpc.mu.Lock()
	delete(s.rpc.subs, s.id)
	s.rpc.mu.Unlock()
	s.end(nil)
	if s.unsub != "" {
		_ = s.rpc.Call(ctx, nil, s.unsub, s.id)
	}
}

// Subscribe starts a subscription (e.g. chain_subscribeNewHeads, with
// unsub chain_unsubscribeNewHeads).
func (c *RPC) Subscribe(ctx context.Context, method, unsub string, params ...any) (*Subscription, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.timeout)
		defer cancel()
	}
	s := &Subscription{C: make(chan json.RawMessage, 256), unsub: unsub, rpc: c}
	ch, rid, err := c.send(ctx, method, params, s)
	if err != nil {
		return nil, err
	}
	select {
	case r := <-ch:
		if r.err != nil {
			return nil, fmt.Errorf("%s: %w", method, r.err)
		}
		if r.Error != nil {
			return nil, fmt.Errorf("%s: %w", method, r.Error)
		}
		return s, nil
	case <-ctx.Done():
		c.forget(rid)
		return nil, fmt.Errorf("%s: %w", method, ctx.Err())
	}
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}
