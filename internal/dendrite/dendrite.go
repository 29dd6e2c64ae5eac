// Package dendrite is the client side of Bittensor's signed-request
// protocol: it builds and signs requests exactly as bittensor v9's dendrite
// does (version 9000000, wall-clock nanosecond nonces, uuid1), queries many
// axons concurrently with a bound and a per-request timeout, and maps
// failures to the status codes Python callers know.
//
// Each request carries a fresh uuid, as in SN27 1.9, which makes a new
// Python dendrite per call. Axons, bittensor's included, want the nonces of
// one hotkey:uuid to rise in the order requests arrive; under one uuid,
// concurrent requests to one axon may arrive out of order and be refused
// ("Nonce is too old, a newer one was last processed").
package dendrite

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"reflect"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/google/uuid"
	"golang.org/x/sync/errgroup"

	"github.com/sn27/sn27/internal/keys"
	"github.com/sn27/sn27/internal/protocol"
)

// Config tunes the client. Zero fields take DefaultConfig's.
type Config struct {
	MaxConcurrent    int    // requests in flight in one Query
	MaxResponseBytes int64  // response body
	ExternalIP       string // sent as bt_header_dendrite_ip
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	return Config{MaxConcurrent: 64, MaxResponseBytes: 4 << 20, ExternalIP: "0.0.0.0"}
}

// Dendrite signs and sends synapses for one hotkey.
type Dendrite struct {
	pair   *keys.Pair
	cfg    Config
	client *http.Client
	now    func() time.Time

	mu        sync.Mutex
	lastNonce int64
}

// New returns a dendrite for the hotkey pair.
func New(pair *keys.Pair, cfg Config) (*Dendrite, error) {
	d := DefaultConfig()
	if cfg.MaxConcurrent <= 0 {
		cfg.MaxConcurrent = d.MaxConcurrent
	}
	if cfg.MaxResponseBytes <= 0 {
		cfg.MaxResponseBytes = d.MaxResponseBytes
	}
	if cfg.ExternalIP == "" {
		cfg.ExternalIP = d.ExternalIP
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 4
	tr.Proxy = nil
	return &Dendrite{pair: pair, cfg: cfg, client: &http.Client{Transport: tr}, now: time.Now}, nil
}

// Hotkey returns the client's hotkey address.
func (d *Dendrite) Hotkey() keys.Hotkey { return d.pair.Hotkey() }

// Close releases idle connections.
func (d *Dendrite) Close() { d.client.CloseIdleConnections() }

// Target is an axon to call.
type Target struct {
	IP     string
	Port   int
	Hotkey keys.Hotkey
}

func (t Target) String() string { return net.JoinHostPort(t.IP, strconv.Itoa(t.Port)) }

// nonce returns wall-clock nanoseconds, strictly increasing per client.
func (d *Dendrite) nonce() int64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	n := d.now().UnixNano()
	if n <= d.lastNonce {
		n = d.lastNonce + 1
	}
	d.lastNonce = n
	return n
}

// Status codes set by the client itself, as bittensor's DENDRITE_ERROR_MAPPING.
const (
	StatusTimeout     = http.StatusRequestTimeout      // 408
	StatusUnavailable = http.StatusServiceUnavailable  // 503
	StatusBadPayload  = http.StatusBadRequest          // 400
	StatusParse       = http.StatusUnprocessableEntity // 422
	StatusClientError = http.StatusInternalServerError // 500
)

// Error is a failed call: the status code and message also set in the
// synapse's dendrite and axon blocks.
type Error struct {
	Code    int
	Message string
}

func (e *Error) Error() string { return fmt.Sprintf("status %d: %s", e.Code, e.Message) }

// Prepare fills m's metadata and signature for target as a v9 dendrite does,
// under a fresh uuid (see the package doc), and returns the JSON body and
// the headers to send.
func (d *Dendrite) Prepare(t Target, m protocol.Message, timeout time.Duration) ([]byte, map[string]string, error) {
	id, err := uuid.NewUUID() // uuid1, as Python's dendrite
	if err != nil {
		return nil, nil, fmt.Errorf("dendrite uuid: %w", err)
	}
	s := m.Base()
	s.Name = m.SynapseName()
	s.Timeout = protocol.SomeFloat(timeout.Seconds())
	s.HeaderSize = protocol.SomeInt(0)
	s.Dendrite = protocol.TerminalInfo{
		IP:      protocol.Str(d.cfg.ExternalIP),
		Version: protocol.SomeInt(protocol.BittensorVersionInt),
		Nonce:   protocol.SomeInt(d.nonce()),
		UUID:    protocol.Str(id.String()),
		Hotkey:  protocol.Str(d.pair.SS58()),
	}
	s.Axon = protocol.TerminalInfo{IP: protocol.Str(t.IP), Port: protocol.SomeInt(int64(t.Port)), Hotkey: protocol.Str(string(t.Hotkey))}
	hash := protocol.BodyHash(m)
	sig, err := d.pair.SignHex([]byte(protocol.SignedMessage(s.Dendrite.Nonce.V, d.pair.SS58(), string(t.Hotkey), id.String(), hash)))
	if err != nil {
		return nil, nil, err
	}
	s.Dendrite.Signature = &sig
	s.ComputedBodyHash = "" // the body carries the frozen default; the header the hash
	body, err := json.Marshal(m)
	if err != nil {
		return nil, nil, fmt.Errorf("encode %s: %w", s.Name, err)
	}
	s.TotalSize = protocol.SomeInt(int64(len(body)))
	s.ComputedBodyHash = hash
	h := protocol.ToHeaders(s)
	s.ComputedBodyHash = ""
	return body, h, nil
}

// Call sends m to t and fills m from the answer, like dendrite.call. The
// outcome is also in m.Base().Dendrite.StatusCode; err is nil only for 200.
func (d *Dendrite) Call(ctx context.Context, t Target, m protocol.Message, timeout time.Duration) error {
	start := d.now()
	err := d.call(ctx, t, m, timeout)
	s := m.Base()
	s.Dendrite.ProcessTime = protocol.SomeFloat(d.now().Sub(start).Seconds())
	var e *Error
	if errors.As(err, &e) {
		s.Axon.StatusCode = protocol.SomeInt(int64(e.Code))
		s.Axon.StatusMessage = protocol.Str(e.Message)
	}
	s.Dendrite.StatusCode = s.Axon.StatusCode
	s.Dendrite.StatusMessage = s.Axon.StatusMessage
	return err
}

func (d *Dendrite) call(ctx context.Context, t Target, m protocol.Message, timeout time.Duration) error {
	body, headers, err := d.Prepare(t, m, timeout)
	if err != nil {
		return &Error{StatusClientError, err.Error()}
	}
	local := *m.Base()
	host := t.IP
	if host == d.cfg.ExternalIP && host != "0.0.0.0" {
		host = "0.0.0.0" // as bittensor: our own external address means this machine
	}
	url := "http://" + net.JoinHostPort(host, strconv.Itoa(t.Port)) + "/" + m.SynapseName()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return &Error{StatusClientError, err.Error()}
	}
	for k, v := range headers {
		req.Header[k] = []string{v}
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := d.client.Do(req)
	if err != nil {
		return mapError(err, ctx, timeout, t, m.SynapseName())
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, d.cfg.MaxResponseBytes+1))
	if err != nil {
		return mapError(err, ctx, timeout, t, m.SynapseName())
	}
	if int64(len(raw)) > d.cfg.MaxResponseBytes {
		return &Error{StatusBadPayload, fmt.Sprintf("response larger than %d bytes", d.cfg.MaxResponseBytes)}
	}
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Message string `json:"message"`
		}
		_ = json.Unmarshal(raw, &e)
		mergeHeaders(m.Base(), resp.Header)
		return &Error{resp.StatusCode, e.Message}
	}
	// As bittensor: the server's synapse replaces ours field by field; our
	// own metadata stays, the axon block merges body and headers.
	if err := json.Unmarshal(raw, m); err != nil {
		*m.Base() = local
		return &Error{StatusParse, "Failed to parse response: " + err.Error()}
	}
	s := m.Base()
	server := s.Axon
	s.Name, s.Timeout, s.TotalSize, s.HeaderSize, s.ComputedBodyHash = local.Name, local.Timeout, local.TotalSize, local.HeaderSize, local.ComputedBodyHash
	s.Dendrite = local.Dendrite
	s.Axon = local.Axon
	overlay(&s.Axon, &server)
	mergeHeaders(s, resp.Header)
	if !s.Axon.StatusCode.Set {
		s.Axon.StatusCode = protocol.SomeInt(http.StatusOK)
	}
	if s.Axon.StatusCode.V != http.StatusOK {
		return &Error{int(s.Axon.StatusCode.V), protocol.Deref(s.Axon.StatusMessage)}
	}
	return nil
}

// mergeHeaders overlays the axon fields the server put in its headers.
func mergeHeaders(s *protocol.Synapse, h http.Header) {
	hs, err := protocol.ParseHeaders(h)
	if err != nil {
		return
	}
	overlay(&s.Axon, &hs.Axon)
}

// overlay copies the set fields of src into dst.
func overlay(dst, src *protocol.TerminalInfo) {
	dv, sv := reflect.ValueOf(dst).Elem(), reflect.ValueOf(src).Elem()
	for i := 0; i < sv.NumField(); i++ {
		f := sv.Field(i)
		switch v := f.Interface().(type) {
		case *string:
			if v != nil {
				dv.Field(i).Set(f)
			}
		case protocol.Int:
			if v.Set {
				dv.Field(i).Set(f)
			}
		case protocol.Float:
			if v.Set {
				dv.Field(i).Set(f)
			}
		}
	}
}

func mapError(err error, ctx context.Context, timeout time.Duration, t Target, name string) error {
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded) || errors.Is(err, context.DeadlineExceeded):
		return &Error{StatusTimeout, fmt.Sprintf("Request timeout after %s seconds", protocol.PyFloat(timeout.Seconds()))}
	case errors.Is(err, syscall.ECONNREFUSED), isDialError(err):
		return &Error{StatusUnavailable, fmt.Sprintf("Service at %s/%s unavailable.", t, name)}
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, syscall.ECONNRESET), errors.Is(err, io.EOF):
		return &Error{StatusUnavailable, fmt.Sprintf("Service at %s/%s disconnected: %v", t, name, err)}
	}
	return &Error{StatusClientError, err.Error()}
}

func isDialError(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

// Query calls every target concurrently (at most MaxConcurrent at a time),
// each with its own synapse from newReq(i, targets[i]) and its own timeout,
// and returns the synapses in target order, each carrying its status.
func Query[PT protocol.Message](ctx context.Context, d *Dendrite, targets []Target, newReq func(int, Target) PT, timeout time.Duration) []PT {
	out := make([]PT, len(targets))
	var g errgroup.Group
	g.SetLimit(d.cfg.MaxConcurrent)
	for i, t := range targets {
		out[i] = newReq(i, t)
		g.Go(func() error {
			_ = d.Call(ctx, t, out[i], timeout)
			return nil
		})
	}
	_ = g.Wait()
	return out
}
