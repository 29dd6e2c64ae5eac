package api

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"
)

// Server is the renter's REST API. Create it with [New], serve with
// [Server.Run].
type Server struct {
	cfg       Config
	ops       Ops
	log       *slog.Logger
	db        *sql.DB
	tlsConf   *tls.Config
	clientCAs *x509.CertPool
	keys      *keyring
	hooks     *webhooks // nil: webhooks off
	health    *monitor
	locks     keyLocks
	handler   http.Handler
	now       func() time.Time

	closeOnce sync.Once
	closeErr  error
}

// New checks cfg, loads the certificates and keys, and opens the API's
// database in cfg.DataDir. It does not listen; [Server.Run] does.
func New(cfg Config, ops Ops, log *slog.Logger) (*Server, error) {
	if ops == nil {
		return nil, errors.New("new api server: nil ops")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	d := DefaultConfig()
	if cfg.MaxBody <= 0 {
		cfg.MaxBody = d.MaxBody
	}
	if cfg.WebhookMaxAttempts <= 0 {
		cfg.WebhookMaxAttempts = d.WebhookMaxAttempts
	}
	if cfg.WebhookBackoff <= 0 {
		cfg.WebhookBackoff = d.WebhookBackoff
	}
	if cfg.WebhookMaxBackoff <= 0 {
		cfg.WebhookMaxBackoff = d.WebhookMaxBackoff
	}
	if cfg.IdempotencyTTL <= 0 {
		cfg.IdempotencyTTL = d.IdempotencyTTL
	}
	if cfg.HealthInterval > 0 && cfg.HealthFailures <= 0 {
		return nil, fmt.Errorf("new api server: health failures %d: want at least 1", cfg.HealthFailures)
	}
	if cfg.CertFile == "" || cfg.KeyFile == "" {
		return nil, errors.New("new api server: a certificate and key file are required (the API serves HTTPS only)")
	}
	if cfg.ClientCAFile == "" && cfg.KeysFile == "" {
		return nil, errors.New("new api server: no way to authenticate: set a client CA file, a keys file or both")
	}
	s := &Server{cfg: cfg, ops: ops, log: log.With("component", "api"), now: time.Now}
	cert, err := tls.LoadX509KeyPair(cfg.CertFile, cfg.KeyFile)
	if err != nil {
		return nil, fmt.Errorf("new api server: load certificate: %w", err)
	}
	s.tlsConf = &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}}
	if cfg.ClientCAFile != "" {
		pool, err := loadPool(cfg.ClientCAFile)
		if err != nil {
			return nil, fmt.Errorf("new api server: client CA: %w", err)
		}
		s.clientCAs = pool
		// Verified in the handler, so that a bad certificate gets a 401 JSON
		// answer (and a valid bearer key still passes) instead of a failed
		// handshake.
		s.tlsConf.ClientAuth = tls.RequestClientCert
	}
	if cfg.KeysFile != "" {
		if s.keys, err = newKeyring(cfg.KeysFile, s.log); err != nil {
			return nil, fmt.Errorf("new api server: %w", err)
		}
	}
	if cfg.WebhookURL != "" {
		if s.hooks, err = newWebhooks(cfg, s.log); err != nil {
			return nil, fmt.Errorf("new api server: %w", err)
		}
	}
	s.db, err = openDB(context.Background(), cfg.DataDir)
	if err != nil {
		return nil, fmt.Errorf("new api server: %w", err)
	}
	if s.hooks != nil {
		s.hooks.db = s.db
	}
	s.health = newMonitor(s)
	s.handler = s.routes()
	return s, nil
}

func loadPool(path string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("%s: no PEM certificates", path)
	}
	return pool, nil
}

// Handler returns the API's HTTP handler (authentication included), for
// tests and embedding.
func (s *Server) Handler() http.Handler { return s.handler }

// TLSConfig returns the server's TLS configuration (a clone).
func (s *Server) TLSConfig() *tls.Config { return s.tlsConf.Clone() }

// Close releases the database. Run calls it on return; call it yourself only
// when Run is never called.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		if _, err := s.db.Exec("PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
			s.log.Warn("checkpoint api database", "err", err)
		}
		s.closeErr = s.db.Close()
	})
	return s.closeErr
}

// Run serves HTTPS on cfg.Addr and runs the webhook outbox, the health loop,
// the idempotency pruning and the SIGHUP key reload until ctx ends. It returns
// after all of them have stopped, and closes the database.
func (s *Server) Run(ctx context.Context) error {
	defer s.Close()
	ln, err := net.Listen("tcp", s.cfg.Addr)
	if err != nil {
		return fmt.Errorf("api listen: %w", err)
	}
	srv := &http.Server{
		Handler:           s.handler,
		TLSConfig:         s.tlsConf.Clone(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      3 * time.Minute,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    32 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
		BaseContext:       func(net.Listener) context.Context { return ctx },
	}
	s.log.Info("api listening", "addr", ln.Addr().String(), "mtls", s.clientCAs != nil, "bearer", s.keys != nil,
		"webhooks", s.hooks != nil, "health_interval", s.cfg.HealthInterval)

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	serveErr := make(chan error, 1)
	wg.Go(func() {
		err := srv.ServeTLS(ln, "", "")
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
		serveErr <- err
		cancel()
	})
	if s.hooks != nil {
		wg.Go(func() { s.hooks.run(ctx) })
	}
	if s.cfg.HealthInterval > 0 {
		wg.Go(func() { s.health.run(ctx) })
	}
	wg.Go(func() { s.pruneLoop(ctx) })
	if s.keys != nil {
		hup := make(chan os.Signal, 1)
		signal.Notify(hup, syscall.SIGHUP)
		wg.Go(func() {
			defer signal.Stop(hup)
			for {
				select {
				case <-ctx.Done():
					return
				case <-hup:
					if err := s.keys.reload(); err != nil {
						s.log.Error("reload keys file on SIGHUP; keeping the previous keys", "err", err)
					}
				}
			}
		})
	}

	<-ctx.Done()
	shutCtx, stop := context.WithTimeout(context.Background(), 10*time.Second)
	err = srv.Shutdown(shutCtx)
	stop()
	wg.Wait()
	if e := <-serveErr; e != nil {
		return fmt.Errorf("api serve: %w", e)
	}
	if err != nil {
		return fmt.Errorf("api shutdown: %w", err)
	}
	return nil
}

func (s *Server) pruneLoop(ctx context.Context) {
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		s.pruneIdempotency(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// apiError is the body of every error answer:
// {"error": {"code": "...", "message": "..."}}.
type apiError struct {
	Error errorBody `json:"error"`
}

type errorBody struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

func errResp(code, msg string) apiError { return apiError{errorBody{Code: code, Message: msg}} }

// reply is what a route handler returns: an HTTP status and a value to encode.
type reply struct {
	status int
	body   any
	op     string // for 5xx: what failed, logged with err
	err    error
}

func fail(status int, code, msg string) reply { return reply{status: status, body: errResp(code, msg)} }

func newRequestID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func writeJSON(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

func encode(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil { // only our own types are encoded
		b = []byte(`{"error":{"code":"internal","message":"internal error"}}`)
	}
	return append(b, '\n')
}

func writeReply(w http.ResponseWriter, rp reply) { writeJSON(w, rp.status, encode(rp.body)) }

func readFile(path string) ([]byte, error) { return os.ReadFile(path) }
