package api

import "time"

// Config configures a [Server]. Start from [DefaultConfig].
type Config struct {
	// Addr is the host:port the HTTPS server listens on.
	Addr string
	// CertFile and KeyFile are the server's PEM certificate chain and key.
	CertFile, KeyFile string
	// ClientCAFile is a PEM bundle; a client certificate that verifies
	// against it authenticates the request. Empty: mutual TLS is off.
	ClientCAFile string
	// KeysFile holds bearer API keys, one a line ('#' comments and blank
	// lines ignored, keys shorter than 16 characters skipped). It is re-read
	// when its mtime or size changes and on SIGHUP. Empty: bearer auth is off.
	KeysFile string
	// DataDir holds api.db (idempotency records and the webhook outbox),
	// beside the validator's validator.db and renter keys the API acts with.
	DataDir string
	// WebhookURL receives events; https, or http to a loopback address.
	// Empty: no webhooks.
	WebhookURL string
	// WebhookSecret keys the HMAC-SHA256 signature (at least 16 bytes).
	WebhookSecret string
	// WebhookCAFile adds PEM roots to the system pool for the webhook TLS
	// verification (which is never turned off).
	WebhookCAFile string
	// WebhookMaxAttempts bounds deliveries of one event; WebhookBackoff is
	// the first retry delay, doubled per attempt up to WebhookMaxBackoff.
	WebhookMaxAttempts int
	WebhookBackoff     time.Duration
	WebhookMaxBackoff  time.Duration
	// HealthInterval is the period of the health check of every allocation
	// (0: no health loop). HealthFailures consecutive failed SSH probes
	// while the miner says the container runs end the allocation.
	HealthInterval time.Duration
	HealthFailures int
	// MaxBody is the largest accepted request body in bytes.
	MaxBody int64
	// IdempotencyTTL is how long stored responses are replayed.
	IdempotencyTTL time.Duration
}

// DefaultConfig returns the defaults of `sn27 api`.
func DefaultConfig() Config {
	return Config{
		Addr:               ":8903",
		DataDir:            "~/.sn27/validator",
		WebhookMaxAttempts: 12,
		WebhookBackoff:     2 * time.Second,
		WebhookMaxBackoff:  10 * time.Minute,
		HealthInterval:     time.Minute,
		HealthFailures:     3,
		MaxBody:            64 << 10,
		IdempotencyTTL:     24 * time.Hour,
	}
}
