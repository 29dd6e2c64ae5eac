// Package axon is the server side of Bittensor's signed-request protocol: an
// HTTP server for one hotkey that routes /<SynapseName> through the
// pipeline of bittensor's axon (parse headers, blacklist, verify signature,
// nonce and body hash, priority, handler within the request's timeout) and
// answers in the format Python dendrites expect.
//
// One deviation: a nonce inside the request's time window is accepted once,
// in any order of arrival (concurrent requests of one dendrite overtake each
// other), where bittensor wants the nonces of a hotkey:uuid to rise; see
// nonceStore.
package axon

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/sn27/sn27/internal/buildinfo"
	"github.com/sn27/sn27/internal/keys"
	"github.com/sn27/sn27/internal/priority"
	"github.com/sn27/sn27/internal/protocol"
)

// Config bounds what the axon accepts. Zero fields take DefaultConfig's.
type Config struct {
	MaxBodyBytes      int64         // request body
	MaxHeaderBytes    int           // all request headers
	MaxHeaderCount    int           // number of request headers
	MaxConcurrent     int           // handlers running at once; others wait by priority
	MaxTimeout        time.Duration // cap on a request's timeout header
	RatePerIP         float64       // requests per second per client IP
	BurstPerIP        int
	ReadHeaderTimeout time.Duration // slow clients
	ReadTimeout       time.Duration
	IdleTimeout       time.Duration
	MaxNonceKeys      int // nonces remembered against replays (hotkey:uuid and nonce)
}

// DefaultConfig returns the limits used unless configured.
func DefaultConfig() Config {
	return Config{
		MaxBodyBytes:      1 << 20,
		MaxHeaderBytes:    64 << 10,
		MaxHeaderCount:    64,
		MaxConcurrent:     32,
		MaxTimeout:        5 * time.Minute,
		RatePerIP:         20,
		BurstPerIP:        40,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		IdleTimeout:       90 * time.Second,
		MaxNonceKeys:      100_000,
	}
}

func (c Config) withDefaults() Config {
	d := DefaultConfig()
	if c.MaxBodyBytes <= 0 {
		c.MaxBodyBytes = d.MaxBodyBytes
	}
	if c.MaxHeaderBytes <= 0 {
		c.MaxHeaderBytes = d.MaxHeaderBytes
	}
	if c.MaxHeaderCount <= 0 {
		c.MaxHeaderCount = d.MaxHeaderCount
	}
	if c.MaxConcurrent <= 0 {
		c.MaxConcurrent = d.MaxConcurrent
	}
	if c.MaxTimeout <= 0 {
		c.MaxTimeout = d.MaxTimeout
	}
	if c.RatePerIP <= 0 {
		c.RatePerIP = d.RatePerIP
	}
	if c.BurstPerIP <= 0 {
		c.BurstPerIP = d.BurstPerIP
	}
	if c.ReadHeaderTimeout <= 0 {
		c.ReadHeaderTimeout = d.ReadHeaderTimeout
	}
	if c.ReadTimeout <= 0 {
		c.ReadTimeout = d.ReadTimeout
	}
	if c.IdleTimeout <= 0 {
		c.IdleTimeout = d.IdleTimeout
	}
	if c.MaxNonceKeys <= 0 {
		c.MaxNonceKeys = d.MaxNonceKeys
	}
	return c
}

// Request is what blacklist and priority functions see: the caller as its
// headers claim (blacklisting runs before signature verification, as in
// bittensor).
type Request struct {
	Synapse  string
	Hotkey   keys.Hotkey
	RemoteIP string
}

// BlacklistFunc returns a non-empty reason to refuse the request (403).
type BlacklistFunc func(ctx context.Context, r Request) (reason string)

// PriorityFunc orders waiting requests: higher runs first.
type PriorityFunc func(ctx context.Context, r Request) float64

type callerKey struct{}

// Caller returns the verified caller of the request being handled.
func Caller(ctx context.Context) (Request, bool) {
	r, ok := ctx.Value(callerKey{}).(Request)
	return r, ok
}

// handler runs one synapse type.
type handler struct {
	name  string
	serve func(ctx context.Context, body []byte, meta protocol.Synapse) (protocol.Message, error)
}

// Axon serves synapses for one hotkey.
type Axon struct {
	cfg       Config
	hotkey    *keys.Pair
	log       *slog.Logger
	now       func() time.Time
	uuid      string
	handlers  map[string]handler
	blacklist BlacklistFunc
	priority  PriorityFunc
	nonces    *nonceStore
	limiter   *ipLimiter
	slots     *priority.Semaphore
}

// New returns an axon for hotkey. log may be nil.
func New(cfg Config, hotkey *keys.Pair, log *slog.Logger) *Axon {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cfg = cfg.withDefaults()
	a := &Axon{
		cfg:      cfg,
		hotkey:   hotkey,
		log:      log.With("component", "axon", "hotkey", hotkey.SS58()),
		now:      time.Now,
		uuid:     uuid.NewString(),
		handlers: map[string]handler{},
		nonces:   newNonceStore(cfg.MaxNonceKeys),
		limiter:  newIPLimiter(cfg.RatePerIP, cfg.BurstPerIP),
		slots:    priority.New(cfg.MaxConcurrent),
	}
	Handle(a, func(ctx context.Context, p *protocol.Ping) error { return nil })
	return a
}

// SetBlacklist installs the blacklist function (none by default).
func (a *Axon) SetBlacklist(f BlacklistFunc) { a.blacklist = f }

// SetPriority installs the priority function (all equal by default).
func (a *Axon) SetPriority(f PriorityFunc) { a.priority = f }

// SetClock replaces time.Now (tests).
func (a *Axon) SetClock(now func() time.Time) { a.now = now }

// Handle registers fn for the synapse type PT. fn fills the response fields
// of its argument; its ctx ends at the request's timeout.
func Handle[T any, PT interface {
	*T
	protocol.Message
}](a *Axon, fn func(ctx context.Context, req PT) error) {
	var zero T
	name := PT(&zero).SynapseName()
	a.handlers[name] = handler{name: name, serve: func(ctx context.Context, body []byte, meta protocol.Synapse) (protocol.Message, error) {
		req := PT(new(T))
		if err := json.Unmarshal(body, req); err != nil {
			return nil, &statusError{http.StatusBadRequest, fmt.Sprintf("invalid %s body: %v", name, err)}
		}
		if err := fn(ctx, req); err != nil {
			return nil, err
		}
		return req, nil
	}}
}

// Synapses lists the registered synapse names.
func (a *Axon) Synapses() []string {
	names := make([]string, 0, len(a.handlers))
	for n := range a.handlers {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// statusError is an error with its HTTP status.
type statusError struct {
	code int
	msg  string
}

func (e *statusError) Error() string { return e.msg }

// Errors handlers may return to choose the status.
var (
	// ErrForbidden: 403.
	ErrForbidden = errors.New("forbidden")
)

// Server returns an http.Server for the axon with its time and size limits.
func (a *Axon) Server() *http.Server {
	return &http.Server{
		Handler:           a,
		ReadHeaderTimeout: a.cfg.ReadHeaderTimeout,
		ReadTimeout:       a.cfg.ReadTimeout,
		IdleTimeout:       a.cfg.IdleTimeout,
		MaxHeaderBytes:    a.cfg.MaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(a.log.Handler(), slog.LevelDebug),
	}
}

// Serve answers on ln until ctx ends, then shuts down gracefully.
func (a *Axon) Serve(ctx context.Context, ln net.Listener) error {
	srv := a.Server()
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("axon serve: %w", err)
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
		<-errc
		return nil
	}
}

// serverHeader names this build in every response: "sn27/v1.2.3 (SN27 1.8.3)".
var serverHeader = "sn27/" + buildinfo.Read().Version + " (SN27 " + protocol.SN27Version + ")"

// ServeHTTP runs the pipeline.
func (a *Axon) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := a.now()
	// Which sn27 answers, for operators and validators who look (Python
	// dendrites read only bt_header_*). The on-chain axon version stays
	// the SN27 protocol's (protocol.SN27VersionInt): Python validators
	// skip axons below their minimum miner version, which a release
	// number of our own (v0.x) would be.
	w.Header().Set("Server", serverHeader)
	remoteIP, remotePort := splitHostPort(r.RemoteAddr)
	name := strings.TrimPrefix(r.URL.Path, "/")
	meta := protocol.Synapse{Name: name}
	fail := func(code int, msg string) {
		a.writeError(w, &meta, code, msg, start)
		a.log.Debug("request refused", "synapse", truncate(name), "status", code, "reason", msg, "ip", remoteIP)
	}
	if r.Method != http.MethodPost && r.Method != http.MethodGet {
		fail(http.StatusMethodNotAllowed, "method "+r.Method+" not allowed")
		return
	}
	h, ok := a.handlers[name]
	if !ok {
		fail(http.StatusNotFound, fmt.Sprintf("Synapse name '%s' not found. Available synapses %v", truncate(name), a.Synapses()))
		return
	}
	if !a.limiter.allow(remoteIP, start) {
		fail(http.StatusTooManyRequests, "rate limit exceeded for "+remoteIP)
		return
	}
	if len(r.Header) > a.cfg.MaxHeaderCount {
		fail(http.StatusRequestHeaderFieldsTooLarge, fmt.Sprintf("%d headers: more than %d", len(r.Header), a.cfg.MaxHeaderCount))
		return
	}
	parsed, err := protocol.ParseHeaders(r.Header)
	if err != nil {
		fail(http.StatusBadRequest, "invalid headers: "+err.Error())
		return
	}
	meta = parsed
	meta.Name = name
	meta.Dendrite.IP, meta.Dendrite.Port = protocol.Str(remoteIP), protocol.Int{}
	if p, err := strconv.Atoi(remotePort); err == nil {
		meta.Dendrite.Port = protocol.SomeInt(int64(p))
	}
	req := Request{Synapse: name, Hotkey: keys.Hotkey(protocol.Deref(meta.Dendrite.Hotkey)), RemoteIP: remoteIP}

	if a.blacklist != nil {
		if reason := a.blacklist(r.Context(), req); reason != "" {
			fail(http.StatusForbidden, "Forbidden. Key is blacklisted: "+reason+".")
			return
		}
	}
	timeout := a.cfg.MaxTimeout
	if meta.Timeout.Set && meta.Timeout.V > 0 {
		timeout = min(timeout, time.Duration(meta.Timeout.V*float64(time.Second)))
	}
	if err := a.verify(&meta, start, timeout); err != nil {
		fail(http.StatusUnauthorized, "Not Verified with error: "+err.Error())
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, a.cfg.MaxBodyBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			fail(http.StatusRequestEntityTooLarge, fmt.Sprintf("body larger than %d bytes", a.cfg.MaxBodyBytes))
		} else {
			fail(http.StatusBadRequest, "read body: "+err.Error())
		}
		return
	}

	ctx, cancel := context.WithTimeout(context.WithValue(r.Context(), callerKey{}, req), timeout)
	defer cancel()
	prio := 0.0
	if a.priority != nil {
		prio = a.priority(ctx, req)
	}
	if err := a.slots.Acquire(ctx, prio); err != nil {
		fail(http.StatusRequestTimeout, "timed out waiting in the priority queue")
		return
	}
	// The handler runs in its own goroutine so a handler that ignores ctx
	// cannot hold the response past the timeout; its slot is freed only
	// when it returns, which bounds the work in flight.
	type result struct {
		msg protocol.Message
		err error
	}
	done := make(chan result, 1)
	go func() {
		defer a.slots.Release()
		defer func() {
			if p := recover(); p != nil {
				a.log.Error("handler panicked", "synapse", name, "panic", fmt.Sprint(p))
				done <- result{err: errors.New("handler panicked")}
			}
		}()
		msg, err := h.serve(ctx, body, meta)
		done <- result{msg, err}
	}()
	var res result
	select {
	case res = <-done:
	case <-ctx.Done():
		fail(http.StatusRequestTimeout, fmt.Sprintf("handler did not answer within the request's timeout of %v", timeout))
		return
	}
	if res.err != nil {
		var se *statusError
		switch {
		case errors.As(res.err, &se):
			fail(se.code, se.msg)
		case errors.Is(res.err, ErrForbidden):
			fail(http.StatusForbidden, res.err.Error())
		default:
			id := uuid.NewString()
			a.log.Error("handler failed", "synapse", name, "err", res.err, "error_id", id)
			fail(http.StatusInternalServerError, "Internal Server Error #"+id)
		}
		return
	}
	a.writeSuccess(w, res.msg, start)
}

// verify checks the nonce and the signature over the header fields, and the
// body hash, as bittensor's default_verify and verify_body_integrity do.
func (a *Axon) verify(meta *protocol.Synapse, now time.Time, timeout time.Duration) error {
	d := &meta.Dendrite
	hotkey := protocol.Deref(d.Hotkey)
	if hotkey == "" {
		return errors.New("missing dendrite hotkey")
	}
	if !d.Nonce.Set {
		return errors.New("Missing Nonce")
	}
	if d.Signature == nil {
		return errors.New("missing signature")
	}
	uuid := protocol.Deref(d.UUID)
	if meta.ComputedBodyHash != protocol.EmptyBodyHash {
		return fmt.Errorf("computed_body_hash %q does not match the body (%s)", truncate(meta.ComputedBodyHash), protocol.EmptyBodyHash)
	}
	msg := protocol.SignedMessage(d.Nonce.V, hotkey, a.hotkey.SS58(), uuid, meta.ComputedBodyHash)
	if err := keys.VerifyHex(hotkey, []byte(msg), *d.Signature); err != nil {
		return fmt.Errorf("Signature mismatch with %s: %v", msg, err)
	}
	// bittensor's window: 4 s plus the request's timeout; the widest one
	// (the timeout header is not signed) bounds how long a nonce is kept.
	newRules := d.Version.Set && d.Version.V >= protocol.NonceRulesVersion
	window := now.Add(-4*time.Second - timeout).UnixNano()
	horizon := now.Add(-4*time.Second - a.cfg.MaxTimeout).UnixNano()
	return a.nonces.check(hotkey+":"+uuid, d.Nonce.V, newRules, window, horizon)
}

func (a *Axon) terminal(start time.Time, code int, msg string) protocol.TerminalInfo {
	return protocol.TerminalInfo{
		StatusCode:    protocol.SomeInt(int64(code)),
		StatusMessage: protocol.Str(msg),
		ProcessTime:   protocol.SomeFloat(a.now().Sub(start).Seconds()),
		Version:       protocol.SomeInt(protocol.SN27VersionInt),
		Nonce:         protocol.SomeInt(a.now().UnixNano()),
		UUID:          protocol.Str(a.uuid),
		Hotkey:        protocol.Str(a.hotkey.SS58()),
	}
}

// writeHeaders writes lower-case header names directly into the map:
// Python dendrites look for "bt_header_axon_" case-sensitively.
func writeHeaders(w http.ResponseWriter, s *protocol.Synapse) {
	for k, v := range protocol.ToHeaders(s) {
		if strings.ContainsAny(v, "\r\n") {
			continue
		}
		w.Header()[k] = []string{v}
	}
	w.Header().Set("Content-Type", "application/json")
}

func (a *Axon) writeError(w http.ResponseWriter, meta *protocol.Synapse, code int, msg string, start time.Time) {
	s := *meta
	s.Axon = a.terminal(start, code, msg)
	sig, err := a.hotkey.SignHex([]byte(fmt.Sprintf("%d.%s.%s.%s", s.Axon.Nonce.V, protocol.Deref(s.Dendrite.Hotkey), a.hotkey.SS58(), a.uuid)))
	if err == nil {
		s.Axon.Signature = &sig
	}
	writeHeaders(w, &s)
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]string{"message": msg})
}

func (a *Axon) writeSuccess(w http.ResponseWriter, m protocol.Message, start time.Time) {
	b := m.Base()
	b.Axon.StatusCode = protocol.SomeInt(http.StatusOK)
	b.Axon.StatusMessage = protocol.Str("Success")
	b.Axon.ProcessTime = protocol.SomeFloat(a.now().Sub(start).Seconds())
	body, err := json.Marshal(m)
	if err != nil {
		a.writeError(w, b, http.StatusInternalServerError, "encode response: "+err.Error(), start)
		return
	}
	// Headers carry the axon's own terminal info (version, nonce, uuid), as
	// bittensor's middleware sends them; the body keeps the request's block.
	hdr := *b
	hdr.Axon = a.terminal(start, http.StatusOK, "Success")
	hdr.Axon.IP, hdr.Axon.Port = b.Axon.IP, b.Axon.Port
	writeHeaders(w, &hdr)
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}

func splitHostPort(addr string) (string, string) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr, ""
	}
	return host, port
}

func truncate(s string) string {
	if len(s) > 64 {
		return s[:64] + "..."
	}
	return s
}
