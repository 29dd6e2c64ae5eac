package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/spf13/cobra"
)

// defaultHealthURL is sn27 api's own /healthz on its default port.
const defaultHealthURL = "https://127.0.0.1:8903/healthz"

func newHealthcheckCmd() *cobra.Command {
	var (
		target   string
		insecure bool
		timeout  time.Duration
	)
	cmd := &cobra.Command{
		Use:   "healthcheck [URL]",
		Short: "GET a health or metrics URL of a running sn27 and exit 0 on a 2xx answer (for Docker's HEALTHCHECK)",
		Long: `GET the URL (the argument, else --healthcheck.url) once and exit 0 when it answers 2xx within
--healthcheck.timeout; otherwise print one line saying why and exit 1. It is the container image's
HEALTHCHECK, which has no shell or curl: the default is sn27 api's GET /healthz on its default port
(HTTPS); for a validator point it at its Prometheus listener (--metrics.port), e.g.
http://127.0.0.1:9101/metrics, with SN27_HEALTHCHECK_URL. --healthcheck.insecure skips the
verification of the server's certificate: meant for the loopback probe of a process in the same
container, whose certificate names its public host, not 127.0.0.1.
Settings: flags, else SN27_<FLAG> environment variables (SN27_HEALTHCHECK_URL), else defaults.`,
		Example: `  sn27 healthcheck --healthcheck.insecure
  sn27 healthcheck http://127.0.0.1:9101/metrics
  SN27_HEALTHCHECK_URL=https://api.example.com:8903/healthz sn27 healthcheck --healthcheck.timeout 2s`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := applyConfig(cmd.Flags(), ""); err != nil {
				return withCode(exitBadInput, err)
			}
			if len(args) == 1 {
				target = args[0]
			}
			u, err := url.Parse(target)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				return withCode(exitBadInput, fmt.Errorf("health URL %q: want http://HOST:PORT/PATH or https://…", target))
			}
			if timeout <= 0 {
				return withCode(exitBadInput, fmt.Errorf("--healthcheck.timeout %s: want more than 0", timeout))
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
			defer cancel()
			if err := probe(ctx, u.String(), insecure); err != nil {
				return fmt.Errorf("unhealthy: %w", err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "healthy: %s\n", u.Redacted())
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&target, "healthcheck.url", defaultHealthURL, "URL to GET: sn27 api's /healthz, or a validator's or miner's /metrics")
	f.BoolVar(&insecure, "healthcheck.insecure", false, "do not verify the server's TLS certificate (a loopback probe of a server whose certificate names another host)")
	f.DurationVar(&timeout, "healthcheck.timeout", 3*time.Second, "time the whole request may take")
	return cmd
}

// probe GETs target once and returns nil on a 2xx answer.
func probe(ctx context.Context, target string, insecure bool) error {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = nil // a probe of this container's own port never goes through a proxy
	tr.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: insecure}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // said below with the URL once, not twice
		}
		return fmt.Errorf("GET %s: %w", req.URL.Redacted(), err)
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("GET %s: %s", req.URL.Redacted(), resp.Status)
	}
	return nil
}
