package dashboard

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/sn27/sn27/internal/chain"
	"github.com/sn27/sn27/internal/store"
)

// Source is what the dashboard reads. The validator's store, chain client
// and scorer satisfy it together.
type Source interface {
	// Neurons returns the subnet's metagraph.
	Neurons(ctx context.Context) ([]chain.Neuron, error)
	// Block returns the current block number.
	Block(ctx context.Context) (uint64, error)
	// Stats returns challenge statistics per hotkey over the validator's
	// window (12 h).
	Stats(ctx context.Context) (map[string]store.Stats, error)
	// Specs returns the hotkey's last specs report (hwspec.Report JSON) or
	// "" when there is none.
	Specs(ctx context.Context, hotkey string) (string, error)
	// Allocated returns the hotkeys currently allocated to a renter.
	Allocated(ctx context.Context) (map[string]bool, error)
	// Scores returns the normalised weights the validator would set now.
	Scores(ctx context.Context, ns []chain.Neuron) (map[chain.UID]float64, error)
	// LatestVerdicts returns the newest proof-of-GPU verdict (pog.Verdict
	// JSON) of each miner that has one, by hotkey.
	LatestVerdicts(ctx context.Context) (map[string]string, error)
	// Verdicts returns up to limit proof-of-GPU verdicts (pog.Verdict JSON)
	// of all miners, newest first.
	Verdicts(ctx context.Context, limit int) ([]string, error)
}

// Config configures a [Server].
type Config struct {
	// Addr is the listen address of Run.
	Addr string
	// Refresh is both the snapshot period and the pages' auto-refresh
	// period.
	Refresh time.Duration
	// Title is shown in the page header.
	Title string
}

// DefaultConfig returns the defaults: loopback port 8327, 10 s refresh.
func DefaultConfig() Config {
	return Config{Addr: "127.0.0.1:8327", Refresh: 10 * time.Second, Title: "SN27 dashboard"}
}

// historySize is the number of snapshots kept for the charts (one hour at
// the default refresh).
const historySize = 360

// ErrNoData reports that no snapshot could be collected yet.
var ErrNoData = errors.New("no data collected yet")

//go:embed assets
var assets embed.FS

// Server serves the dashboard. Create it with [New].
type Server struct {
	cfg  Config
	src  Source
	log  *slog.Logger
	now  func() time.Time
	tmpl *template.Template

	collectMu sync.Mutex // serialises collect

	mu      sync.Mutex // guards the fields below
	latest  *snapshot
	lastErr error
	errAt   time.Time
	hist    ring
}

// New returns a server reading src. Zero fields of cfg take their
// [DefaultConfig] value; a nil log discards.
func New(cfg Config, src Source, log *slog.Logger) (*Server, error) {
	if src == nil {
		return nil, errors.New("new dashboard: nil source")
	}
	def := DefaultConfig()
	if cfg.Addr == "" {
		cfg.Addr = def.Addr
	}
	if cfg.Refresh == 0 {
		cfg.Refresh = def.Refresh
	}
	if cfg.Refresh < time.Second {
		return nil, fmt.Errorf("new dashboard: refresh %v is below 1s", cfg.Refresh)
	}
	if cfg.Title == "" {
		cfg.Title = def.Title
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	t, err := parseTemplates()
	if err != nil {
		return nil, fmt.Errorf("new dashboard: %w", err)
	}
	return &Server{
		cfg:  cfg,
		src:  src,
		log:  log.With("component", "dashboard"),
		now:  time.Now,
		tmpl: t,
		hist: newRing(historySize),
	}, nil
}

// Handler returns the dashboard's HTTP handler.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	static, _ := fs.Sub(assets, "assets/static")
	mux.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(static)))
	mux.HandleFunc("GET /{$}", s.overview)
	mux.HandleFunc("GET /allocations", s.allocations)
	mux.HandleFunc("GET /api/summary", s.apiSummary)
	mux.HandleFunc("GET /api/miners", s.apiMiners)
	mux.HandleFunc("GET /api/allocations", s.apiAllocations)
	mux.HandleFunc("GET /api/history", s.apiHistory)
	mux.HandleFunc("GET /api/verdicts", s.apiVerdicts)
	return securityHeaders(mux)
}

// securityHeaders forbids scripts and framing: the pages need neither.
func securityHeaders(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self'; frame-ancestors 'none'")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Referrer-Policy", "no-referrer")
		h.ServeHTTP(w, r)
	})
}

// Run serves on cfg.Addr and collects a snapshot every cfg.Refresh until ctx
// is cancelled. It returns after its goroutines exit: nil on cancellation,
// or the error that stopped the HTTP server.
func (s *Server) Run(ctx context.Context) error {
	ln, err := net.Listen("tcp", s.cfg.Addr)
	if err != nil {
		return fmt.Errorf("dashboard listen: %w", err)
	}
	return s.serve(ctx, ln)
}

// Serve is Run on an open listener.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error { return s.serve(ctx, ln) }

func (s *Server) serve(ctx context.Context, ln net.Listener) error {
	s.log.Info("dashboard listening", "addr", ln.Addr().String())
	srv := &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: 5 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       60 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return ctx },
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		s.loop(ctx)
	}()
	wg.Add(1)
	go func() {
		defer wg.Done()
		<-ctx.Done()
		sctx, scancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer scancel()
		_ = srv.Shutdown(sctx)
	}()

	err := srv.Serve(ln)
	cancel()
	wg.Wait()
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return fmt.Errorf("dashboard serve: %w", err)
}

// loop collects a snapshot now and every cfg.Refresh until ctx ends.
func (s *Server) loop(ctx context.Context) {
	t := time.NewTicker(s.cfg.Refresh)
	defer t.Stop()
	for {
		if err := s.Collect(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("dashboard snapshot failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Collect reads the source once, makes the result the latest snapshot and
// appends it to the chart history. On error the previous snapshot stays.
func (s *Server) Collect(ctx context.Context) error {
	s.collectMu.Lock()
	defer s.collectMu.Unlock()
	snap, err := s.read(ctx)
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		s.lastErr, s.errAt = err, s.now()
		return err
	}
	s.latest, s.lastErr = snap, nil
	s.hist.add(snap.point())
	return nil
}

// read collects one snapshot from the source.
func (s *Server) read(ctx context.Context) (*snapshot, error) {
	ns, err := s.src.Neurons(ctx)
	if err != nil {
		return nil, fmt.Errorf("read neurons: %w", err)
	}
	block, err := s.src.Block(ctx)
	if err != nil {
		return nil, fmt.Errorf("read block: %w", err)
	}
	stats, err := s.src.Stats(ctx)
	if err != nil {
		return nil, fmt.Errorf("read stats: %w", err)
	}
	alloc, err := s.src.Allocated(ctx)
	if err != nil {
		return nil, fmt.Errorf("read allocations: %w", err)
	}
	scores, err := s.src.Scores(ctx, ns)
	if err != nil {
		return nil, fmt.Errorf("read scores: %w", err)
	}
	specs := make(map[string]string, len(ns))
	for _, n := range ns {
		if isValidator(n) {
			continue
		}
		js, err := s.src.Specs(ctx, string(n.Hotkey))
		if err != nil {
			return nil, fmt.Errorf("read specs of uid %d: %w", n.UID, err)
		}
		specs[string(n.Hotkey)] = js
	}
	latest, err := s.src.LatestVerdicts(ctx)
	if err != nil {
		return nil, fmt.Errorf("read latest verdicts: %w", err)
	}
	recent, err := s.src.Verdicts(ctx, verdictsShown)
	if err != nil {
		return nil, fmt.Errorf("read verdicts: %w", err)
	}
	proofs := make(map[string]proof, len(latest))
	for hk, js := range latest {
		if p, ok := parseProof(js, hk); ok {
			proofs[hk] = p
		}
	}
	snap := buildSnapshot(s.now(), block, ns, stats, alloc, scores, specs, proofs)
	for _, js := range recent {
		if p, ok := parseProof(js, ""); ok {
			snap.Verdicts = append(snap.Verdicts, p)
		}
	}
	return snap, nil
}
