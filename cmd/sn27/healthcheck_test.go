package main

import (
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"
)

func TestHealthcheck(t *testing.T) {
	status := func(code int) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != "/healthz" && r.URL.Path != "/metrics" {
				http.NotFound(w, r)
				return
			}
			w.WriteHeader(code)
		}
	}
	ok := httptest.NewServer(status(http.StatusOK))
	defer ok.Close()
	down := httptest.NewServer(status(http.StatusServiceUnavailable))
	defer down.Close()
	moved := httptest.NewServer(http.RedirectHandler(ok.URL+"/healthz", http.StatusFound))
	defer moved.Close()
	tlsOK := httptest.NewTLSServer(status(http.StatusOK))
	defer tlsOK.Close()
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	}))
	defer slow.Close()
	// A port nothing listens on: taken, then closed.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + ln.Addr().String() + "/healthz"
	ln.Close()

	tests := []struct {
		name     string
		args     []string
		env      string // SN27_HEALTHCHECK_URL
		wantCode int
		wantOut  string // in stdout (exit 0) or stderr
	}{
		{name: "200", args: []string{ok.URL + "/healthz"}, wantCode: 0, wantOut: "healthy: " + ok.URL},
		{name: "flag", args: []string{"--healthcheck.url", ok.URL + "/metrics"}, wantCode: 0, wantOut: "healthy"},
		{name: "env", env: ok.URL + "/healthz", wantCode: 0, wantOut: "healthy"},
		{name: "argument over env", args: []string{down.URL + "/healthz"}, env: ok.URL + "/healthz", wantCode: 1, wantOut: "503"},
		{name: "503", args: []string{down.URL + "/healthz"}, wantCode: 1, wantOut: "unhealthy: GET " + down.URL + "/healthz: 503 Service Unavailable"},
		{name: "404", args: []string{ok.URL + "/nope"}, wantCode: 1, wantOut: "404"},
		{name: "redirect not followed", args: []string{moved.URL}, wantCode: 1, wantOut: "302"},
		{name: "unreachable", args: []string{closed}, wantCode: 1, wantOut: "connection refused"},
		{name: "timeout", args: []string{slow.URL + "/healthz", "--healthcheck.timeout", "200ms"}, wantCode: 1, wantOut: "deadline exceeded"},
		{name: "tls unverified refused", args: []string{tlsOK.URL + "/healthz"}, wantCode: 1, wantOut: "certificate"},
		{name: "tls insecure", args: []string{tlsOK.URL + "/healthz", "--healthcheck.insecure"}, wantCode: 0, wantOut: "healthy"},
		{name: "not a URL", args: []string{"127.0.0.1:8903"}, wantCode: exitBadInput, wantOut: "want http://"},
		{name: "bad timeout", args: []string{ok.URL, "--healthcheck.timeout", "0s"}, wantCode: exitBadInput, wantOut: "want more than 0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("SN27_HEALTHCHECK_URL", tt.env) // restored after the test
			if tt.env == "" {
				os.Unsetenv("SN27_HEALTHCHECK_URL")
			}
			code, out, errs := sn27(t, append([]string{"healthcheck"}, tt.args...)...)
			if code != tt.wantCode {
				t.Fatalf("exit %d (stdout %q, stderr %q); want %d", code, out, errs, tt.wantCode)
			}
			got := errs
			if code == 0 {
				got = out
			}
			if !strings.Contains(got, tt.wantOut) {
				t.Errorf("output %q; want it to contain %q", got, tt.wantOut)
			}
			if code != 0 && strings.Count(strings.TrimSpace(errs), "\n") != 0 {
				t.Errorf("stderr is not one line: %q", errs)
			}
		})
	}
}
