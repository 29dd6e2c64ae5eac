package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/sn27/sn27/internal/renter/api"
	"github.com/sn27/sn27/internal/wallet"
)

// newAPICmd is `sn27 api`. newOps builds the renter service the API drives
// and a function releasing it; it is called after the flags are parsed.
func newAPICmd(newOps func(cmd *cobra.Command) (api.Ops, func(), error)) *cobra.Command {
	var (
		cfg        = api.DefaultConfig()
		lf         loggingFlags
		configFile string
		secretFile string
	)
	cmd := &cobra.Command{
		Use:   "api",
		Short: "Serve the renter REST API (HTTPS, mutual TLS or bearer keys, signed webhooks)",
		Long: `Serve the renter's REST API over HTTPS (TLS 1.2+) with the reference's routes:
  POST /service/allocate_spec, allocate_hotkey, deallocate, check_miner_status, restart_docker,
       pause_docker, unpause_docker, exchange_docker_key
  POST /list/allocations_sql, resources_sql, count_all_gpus, count_all_by_model, available,
       allocated_hotkeys
  GET  /openapi.json (the OpenAPI 3.0 description), /healthz (no authentication)
Clients authenticate with a certificate signed by --api.client-ca, or with
"Authorization: Bearer <key>" where the key is a line of --api.keys-file (re-read when it changes
and on SIGHUP). Mutating routes accept an Idempotency-Key header; answers are kept in
--data.dir/api.db for 24 hours. Events allocation.ended and allocation.status are POSTed to
--api.webhook-url, signed with X-SN27-Signature: sha256=<hex HMAC-SHA256 of the body>, from a
durable outbox with retries. Every --api.health.interval each allocation's SSH port is probed;
after --api.health.failures failures in a row the allocation is ended.
Settings: flags, else SN27_<FLAG> environment variables (SN27_API_WEBHOOK_SECRET), else --config
FILE (JSON object keyed by flag name), else defaults.`,
		Example: `  sn27 api --api.cert server.pem --api.key server-key.pem --api.client-ca clients-ca.pem
  sn27 api --api.addr :8903 --api.cert server.pem --api.key server-key.pem --api.keys-file /etc/sn27/api-keys
  SN27_API_WEBHOOK_SECRET=$(cat hook.secret) sn27 api --config /etc/sn27/api.json --api.webhook-url https://hooks.example.com/sn27
  sn27 api --api.cert server.pem --api.key server-key.pem --api.keys-file api-keys --api.webhook-url https://hooks.example.com/sn27 --api.webhook-secret-file hook.secret`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := applyConfig(cmd.Flags(), configFile); err != nil {
				return withCode(exitBadInput, err)
			}
			if secretFile != "" {
				if cfg.WebhookSecret != "" {
					return withCode(exitBadInput, errors.New("--api.webhook-secret and --api.webhook-secret-file: give one"))
				}
				b, err := readSecretFile(secretFile)
				if err != nil {
					return withCode(exitBadInput, fmt.Errorf("--api.webhook-secret-file: %w", err))
				}
				cfg.WebhookSecret = b
			}
			dir, err := wallet.ExpandPath(cfg.DataDir)
			if err != nil {
				return withCode(exitBadInput, err)
			}
			cfg.DataDir = dir
			// Before the default became the validator's dir, api.db lived in
			// ~/.sn27/api: say where its outbox and records are.
			if old, err := wallet.ExpandPath("~/.sn27/api/api.db"); err == nil && filepath.Dir(old) != dir {
				if _, err := os.Stat(old); err == nil {
					fmt.Fprintf(cmd.ErrOrStderr(), "warning: %s is from an older sn27 api (its default --data.dir was ~/.sn27/api); this one uses %s: move api.db there (with the API stopped) to keep its webhook outbox and idempotency records\n", old, dir)
				}
			}
			ops, release, err := newOps(cmd)
			if err != nil {
				return err
			}
			if release != nil {
				defer release()
			}
			srv, err := api.New(cfg, ops, lf.logger(os.Stderr))
			if err != nil {
				return withCode(exitBadInput, err)
			}
			return srv.Run(cmd.Context())
		},
	}
	f := cmd.Flags()
	lf.register(f)
	f.StringVar(&configFile, "config", "", "JSON file of settings keyed by flag name")
	f.StringVar(&cfg.Addr, "api.addr", cfg.Addr, "host:port the HTTPS API listens on")
	f.StringVar(&cfg.CertFile, "api.cert", "", "server certificate chain (PEM)")
	f.StringVar(&cfg.KeyFile, "api.key", "", "server private key (PEM)")
	f.StringVar(&cfg.ClientCAFile, "api.client-ca", "", "CA bundle (PEM) whose client certificates are accepted (mutual TLS)")
	f.StringVar(&cfg.KeysFile, "api.keys-file", "", "bearer API keys, one a line (at least 16 characters; # comments)")
	f.StringVar(&cfg.DataDir, "data.dir", cfg.DataDir, "the validator's data dir: its validator.db and renter keys, and the API's api.db (idempotency records, webhook outbox)")
	f.StringVar(&cfg.WebhookURL, "api.webhook-url", "", "receiver of allocation.ended and allocation.status events (https; http only to loopback)")
	f.StringVar(&cfg.WebhookSecret, "api.webhook-secret", "", "HMAC-SHA256 key of X-SN27-Signature, at least 16 bytes (prefer SN27_API_WEBHOOK_SECRET)")
	f.StringVar(&secretFile, "api.webhook-secret-file", "", "read the webhook HMAC key from this file (one trailing newline dropped; keep it 0600)")
	f.StringVar(&cfg.WebhookCAFile, "api.webhook-ca", "", "extra CA bundle (PEM) trusted for the webhook receiver")
	f.IntVar(&cfg.WebhookMaxAttempts, "api.webhook-max-attempts", cfg.WebhookMaxAttempts, "deliveries tried per event before giving up")
	f.DurationVar(&cfg.HealthInterval, "api.health.interval", cfg.HealthInterval, "period of the SSH probe of every allocation (0: off)")
	f.IntVar(&cfg.HealthFailures, "api.health.failures", cfg.HealthFailures, "consecutive failed probes that end an allocation")
	f.Int64Var(&cfg.MaxBody, "api.max-body", cfg.MaxBody, "largest request body in bytes (larger: 413)")
	return cmd
}

// maxSecretFile bounds a secret file's size.
const maxSecretFile = 4 << 10

// readSecretFile reads a secret from path, dropping one trailing newline.
func readSecretFile(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxSecretFile+1))
	if err != nil {
		return "", fmt.Errorf("read %s: %w", path, err)
	}
	if len(b) > maxSecretFile {
		return "", fmt.Errorf("%s is larger than %d bytes", path, maxSecretFile)
	}
	s := strings.TrimSuffix(strings.TrimSuffix(string(b), "\n"), "\r")
	if s == "" {
		return "", fmt.Errorf("%s is empty", path)
	}
	return s, nil
}
