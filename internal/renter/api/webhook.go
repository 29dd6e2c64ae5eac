package api

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/google/uuid"
)

// Webhook event types.
const (
	EventEnded  = "allocation.ended"
	EventStatus = "allocation.status"
	// EventDisk: the rental's root filesystem passed 90 % of its limit
	// (the miner stops it at 100 %, reason disk_quota).
	EventDisk = "allocation.disk"
)

// Event is the JSON body of a webhook delivery.
type Event struct {
	ID        string          `json:"id"`
	Type      string          `json:"type"`
	CreatedAt time.Time       `json:"created_at"`
	Data      json.RawMessage `json:"data"`
}

// endedData is the data of allocation.ended. Reason is "deallocated" (the
// renter ended it), "expired" (its deadline passed), "miner_lost" (the miner
// no longer holds it), "unhealthy" (the health loop ended it after failed SSH
// probes), or "ended" when it left the renter's store with no recorded
// reason.
type endedData struct {
	Hotkey string `json:"hotkey"`
	Reason string `json:"reason"`
}

// statusData is the data of allocation.status.
type statusData struct {
	Hotkey              string `json:"hotkey"`
	Host                string `json:"host"`
	Port                int    `json:"port"`
	Status              string `json:"status"`   // online, offline, paused, stopped
	Previous            string `json:"previous"` // unknown, online, offline, paused, stopped
	ConsecutiveFailures int    `json:"consecutive_failures"`
	Reason              string `json:"reason,omitempty"` // stopped: why the miner stopped it (disk_quota)
}

// diskData is the data of allocation.disk.
type diskData struct {
	Hotkey     string `json:"hotkey"`
	Host       string `json:"host"`
	Port       int    `json:"port"`
	UsedBytes  int64  `json:"used_bytes"`
	LimitBytes int64  `json:"limit_bytes"`
}

// Sign returns the X-SN27-Signature value of body: "sha256=" and the hex
// HMAC-SHA256 of the body keyed with secret.
func Sign(secret, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// Verify reports whether sig is a valid X-SN27-Signature of body, in
// constant time. Receivers should also drop repeated event ids.
func Verify(secret, body []byte, sig string) bool {
	return hmac.Equal([]byte(sig), []byte(Sign(secret, body)))
}

// webhooks delivers events from the durable outbox table: each event is
// written there first, then POSTed until a 2xx answer or until maxAttempts
// with exponential backoff. Delivery is at least once; the event id (also in
// X-SN27-Delivery) lets receivers drop the rare duplicate after a crash
// between the POST and its bookkeeping.
type webhooks struct {
	url         string
	secret      []byte
	client      *http.Client
	db          *sql.DB
	log         *slog.Logger
	now         func() time.Time
	maxAttempts int
	backoff     time.Duration
	maxBackoff  time.Duration
	wake        chan struct{}
}

func newWebhooks(cfg Config, log *slog.Logger) (*webhooks, error) {
	u, err := url.Parse(cfg.WebhookURL)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("webhook url %q: want an absolute https URL", cfg.WebhookURL)
	}
	switch u.Scheme {
	case "https":
	case "http":
		if !isLoopback(u.Hostname()) {
			return nil, fmt.Errorf("webhook url %q: http is allowed only to loopback addresses; use https", cfg.WebhookURL)
		}
	default:
		return nil, fmt.Errorf("webhook url %q: want https", cfg.WebhookURL)
	}
	if len(cfg.WebhookSecret) < 16 {
		return nil, fmt.Errorf("webhook secret: want at least 16 bytes, have %d (--api.webhook-url needs one: --api.webhook-secret-file FILE or SN27_API_WEBHOOK_SECRET; make one with: head -c 32 /dev/urandom | base64 > hook.secret)", len(cfg.WebhookSecret))
	}
	roots, err := x509.SystemCertPool()
	if err != nil {
		roots = x509.NewCertPool()
	}
	if cfg.WebhookCAFile != "" {
		pem, err := readFile(cfg.WebhookCAFile)
		if err != nil {
			return nil, fmt.Errorf("webhook CA: %w", err)
		}
		if !roots.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("webhook CA %s: no PEM certificates", cfg.WebhookCAFile)
		}
	}
	tr := &http.Transport{
		Proxy:               http.ProxyFromEnvironment,
		TLSClientConfig:     &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: roots},
		TLSHandshakeTimeout: 10 * time.Second,
		MaxIdleConns:        2,
		IdleConnTimeout:     time.Minute,
	}
	return &webhooks{
		url:    cfg.WebhookURL,
		secret: []byte(cfg.WebhookSecret),
		client: &http.Client{
			Transport: tr,
			Timeout:   15 * time.Second,
			// A redirect could downgrade to http or leave the configured host.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		log:         log.With("component", "webhook"),
		now:         time.Now,
		maxAttempts: cfg.WebhookMaxAttempts,
		backoff:     cfg.WebhookBackoff,
		maxBackoff:  cfg.WebhookMaxBackoff,
		wake:        make(chan struct{}, 1),
	}, nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// emit queues an event; with webhooks off it does nothing. A failure to queue
// is logged: the operation that caused the event has already happened.
func (s *Server) emit(ctx context.Context, typ string, data any) {
	if s.hooks == nil {
		return
	}
	if err := s.hooks.enqueue(ctx, typ, data); err != nil {
		s.log.Error("queue webhook event", "event", typ, "err", err)
	}
}

func (w *webhooks) enqueue(ctx context.Context, typ string, data any) error {
	d, err := json.Marshal(data)
	if err != nil {
		return err
	}
	now := w.now()
	ev := Event{ID: "evt_" + uuid.NewString(), Type: typ, CreatedAt: now.UTC(), Data: d}
	body, err := json.Marshal(ev)
	if err != nil {
		return err
	}
	if _, err := w.db.ExecContext(context.WithoutCancel(ctx), `INSERT INTO outbox (event_id, event, body, next_at, created_at)
		VALUES (?, ?, ?, ?, ?)`, ev.ID, typ, body, now.UnixNano(), now.UnixNano()); err != nil {
		return fmt.Errorf("insert outbox: %w", err)
	}
	select {
	case w.wake <- struct{}{}:
	default:
	}
	return nil
}

// run delivers due events until ctx ends.
func (w *webhooks) run(ctx context.Context) {
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-w.wake:
		case <-t.C:
		}
		next := w.deliverDue(ctx)
		wait := time.Minute
		if !next.IsZero() {
			wait = min(wait, max(next.Sub(w.now()), 0))
		}
		t.Reset(wait)
	}
}

type outboxRow struct {
	id       int64
	eventID  string
	event    string
	body     []byte
	attempts int
}

// deliverDue sends every due event and returns when the next one is due
// (zero: none pending).
func (w *webhooks) deliverDue(ctx context.Context) time.Time {
	for ctx.Err() == nil {
		rows, err := w.due(ctx)
		if err != nil {
			if ctx.Err() == nil {
				w.log.Error("read outbox", "err", err)
			}
			return w.now().Add(w.backoff)
		}
		if len(rows) == 0 {
			break
		}
		for _, r := range rows {
			if ctx.Err() != nil {
				return time.Time{}
			}
			w.attempt(ctx, r)
		}
	}
	var next sql.NullInt64
	if err := w.db.QueryRowContext(ctx, `SELECT MIN(next_at) FROM outbox WHERE delivered_at IS NULL AND failed_at IS NULL`).Scan(&next); err != nil || !next.Valid {
		return time.Time{}
	}
	return time.Unix(0, next.Int64)
}

func (w *webhooks) due(ctx context.Context) ([]outboxRow, error) {
	rows, err := w.db.QueryContext(ctx, `SELECT id, event_id, event, body, attempts FROM outbox
		WHERE delivered_at IS NULL AND failed_at IS NULL AND next_at <= ? ORDER BY id LIMIT 32`, w.now().UnixNano())
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []outboxRow
	for rows.Next() {
		var r outboxRow
		if err := rows.Scan(&r.id, &r.eventID, &r.event, &r.body, &r.attempts); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

func (w *webhooks) attempt(ctx context.Context, r outboxRow) {
	err := w.post(ctx, r)
	if ctx.Err() != nil {
		return // shutting down: the attempt does not count
	}
	now := w.now()
	if err == nil {
		if _, err := w.db.ExecContext(ctx, `UPDATE outbox SET delivered_at = ?, attempts = attempts + 1, last_error = '' WHERE id = ?`,
			now.UnixNano(), r.id); err != nil {
			w.log.Error("mark webhook delivered; it may be sent again", "event_id", r.eventID, "err", err)
		}
		w.log.Debug("webhook delivered", "event", r.event, "event_id", r.eventID)
		return
	}
	attempts := r.attempts + 1
	if attempts >= w.maxAttempts {
		w.log.Error("webhook undeliverable; giving up", "event", r.event, "event_id", r.eventID, "attempts", attempts, "err", err)
		_, _ = w.db.ExecContext(ctx, `UPDATE outbox SET attempts = ?, failed_at = ?, last_error = ? WHERE id = ?`,
			attempts, now.UnixNano(), err.Error(), r.id)
		return
	}
	delay := w.backoff << min(attempts-1, 30)
	if delay <= 0 || delay > w.maxBackoff {
		delay = w.maxBackoff
	}
	w.log.Warn("webhook delivery failed; will retry", "event", r.event, "event_id", r.eventID, "attempts", attempts, "retry_in", delay, "err", err)
	if _, err := w.db.ExecContext(ctx, `UPDATE outbox SET attempts = ?, next_at = ?, last_error = ? WHERE id = ?`,
		attempts, now.Add(delay).UnixNano(), err.Error(), r.id); err != nil {
		w.log.Error("update outbox", "err", err)
	}
}

func (w *webhooks) post(ctx context.Context, r outboxRow) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.url, bytes.NewReader(r.body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "sn27-api-webhook")
	req.Header.Set("X-SN27-Event", r.event)
	req.Header.Set("X-SN27-Delivery", r.eventID)
	req.Header.Set("X-SN27-Signature", Sign(w.secret, r.body))
	resp, err := w.client.Do(req)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("receiver answered %s", resp.Status)
	}
	return nil
}
