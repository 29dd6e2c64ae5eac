package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sn27/sn27/internal/apiclient"
)

// The clients generated from the OpenAPI document, driven against a
// running API (the real Server and handlers behind TLS and bearer auth,
// over listingOps): the Go one from internal/apiclient, and a TypeScript
// one that tools/openapi generates, compiles and runs.

// listingOps is fakeOps whose allocations are listed: allocate and
// allocate_hotkey add one, deallocate (fakeOps') removes it.
type listingOps struct{ *fakeOps }

func (o listingOps) add(a Allocation, err error) (Allocation, error) {
	if err != nil {
		return a, err
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, x := range o.allocs {
		if x.Hotkey == a.Hotkey {
			return Allocation{}, ErrAlreadyAllocated
		}
	}
	o.allocs = append(o.allocs, AllocationInfo{Hotkey: a.Hotkey, Host: a.Host, Port: a.Port, Created: time.Now(), Deadline: a.Deadline})
	return a, nil
}

func (o listingOps) Allocate(ctx context.Context, r Request) (Allocation, error) {
	return o.add(o.fakeOps.Allocate(ctx, r))
}

func (o listingOps) AllocateHotkey(ctx context.Context, hotkey string, r Request) (Allocation, error) {
	return o.add(o.fakeOps.AllocateHotkey(ctx, hotkey, r))
}

// deallocations returns the hotkeys Deallocate was called with.
func (f *fakeOps) deallocations() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.deallocated...)
}

// newListingEnv is newEnv over listingOps.
func newListingEnv(t *testing.T) *env {
	t.Helper()
	p := newPKI(t)
	ops := &fakeOps{}
	s, err := New(testConfig(t, p), listingOps{ops}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	ts := httptest.NewUnstartedServer(s.Handler())
	ts.TLS = s.TLSConfig()
	ts.StartTLS()
	t.Cleanup(ts.Close)
	return &env{p: p, s: s, ts: ts, ops: ops}
}

// TestGeneratedGoClient: allocate_hotkey, allocations_sql and deallocate
// through internal/apiclient.
func TestGeneratedGoClient(t *testing.T) {
	e := newListingEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := apiclient.NewClientWithResponses(e.ts.URL, apiclient.WithHTTPClient(e.p.httpClient(nil)),
		apiclient.WithRequestEditorFn(func(_ context.Context, r *http.Request) error {
			r.Header.Set("Authorization", "Bearer "+testKey)
			return nil
		}))
	if err != nil {
		t.Fatal(err)
	}
	list := func() []string {
		t.Helper()
		r, err := c.ListAllocationsWithResponse(ctx, apiclient.ListAllocationsJSONRequestBody{})
		if err != nil || r.JSON200 == nil || r.JSON200.Allocations == nil {
			t.Fatalf("listAllocations: %v %v %s", err, r.Status(), r.Body)
		}
		var hks []string
		for _, a := range *r.JSON200.Allocations {
			if a.Hotkey == nil || a.Status == nil || !a.Status.Valid() {
				t.Errorf("listAllocations item %+v: want a hotkey and a documented status", a)
				continue
			}
			hks = append(hks, *a.Hotkey)
		}
		return hks
	}
	if hks := list(); len(hks) != 0 {
		t.Fatalf("allocations before allocating: %v", hks)
	}

	key, ssh := "go-client-1", "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAITest user@host"
	alloc, err := c.AllocateHotkeyWithResponse(ctx, &apiclient.AllocateHotkeyParams{IdempotencyKey: &key},
		apiclient.AllocateHotkeyJSONRequestBody{Hotkey: hk2, Timeline: 60, SshKey: &ssh})
	if err != nil {
		t.Fatal(err)
	}
	if alloc.JSON200 == nil || alloc.JSON200.Hotkey == nil || *alloc.JSON200.Hotkey != hk2 ||
		alloc.JSON200.Port == nil || *alloc.JSON200.Port != 4444 || alloc.JSON200.Deadline == nil || alloc.JSON200.Deadline.Unix() != 1900000000 {
		t.Fatalf("allocateHotkey = %s %s; want %s at port 4444", alloc.Status(), alloc.Body, hk2)
	}
	if hks := list(); len(hks) != 1 || hks[0] != hk2 {
		t.Fatalf("allocations after allocating = %v; want [%s]", hks, hk2)
	}
	// A documented error answer decodes into the generated type.
	again, err := c.AllocateHotkeyWithResponse(ctx, nil, apiclient.AllocateHotkeyJSONRequestBody{Hotkey: hk2, Timeline: 60})
	if err != nil {
		t.Fatal(err)
	}
	if again.JSON409 == nil || again.JSON409.Error.Code != "already_allocated" {
		t.Errorf("allocating %s again = %s %s; want 409 already_allocated", hk2, again.Status(), again.Body)
	}

	dealloc, err := c.DeallocateWithResponse(ctx, nil, apiclient.DeallocateJSONRequestBody{Hotkey: hk2})
	if err != nil {
		t.Fatal(err)
	}
	if dealloc.JSON200 == nil || dealloc.JSON200.Deallocated == nil || !*dealloc.JSON200.Deallocated ||
		dealloc.JSON200.Hotkey == nil || *dealloc.JSON200.Hotkey != hk2 {
		t.Fatalf("deallocate = %s %s", dealloc.Status(), dealloc.Body)
	}
	if hks := list(); len(hks) != 0 {
		t.Errorf("allocations after deallocating = %v; want none", hks)
	}
	if got := e.ops.deallocations(); len(got) != 1 || got[0] != hk2 {
		t.Errorf("Ops.Deallocate calls %v; want [%s]", got, hk2)
	}
}

// openAPITools is tools/openapi, whose pinned node_modules
// scripts/test-deps.sh installs (npm ci).
func openAPITools(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs(filepath.Join("..", "..", "..", "tools", "openapi"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := exec.LookPath("node"); err != nil {
		t.Fatal("node not found: run ./scripts/test-deps.sh (it needs Node.js 20 or later)")
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", ".bin", "redocly")); err != nil {
		t.Fatalf("tools/openapi/node_modules is missing (%v): run ./scripts/test-deps.sh", err)
	}
	return dir
}

// TestOpenAPIToolchain: the document the API serves passes Redocly's lint
// (recommended rules, tools/openapi/redocly.yaml) with no error or warning
// and swagger-parser's validation; a TypeScript client typed by
// openapi-typescript from internal/apiclient/openapi.json compiles with
// tsc (strict) and, run with node, allocates, lists and deallocates
// through the running API.
func TestOpenAPIToolchain(t *testing.T) {
	if testing.Short() {
		t.Skip("runs Redocly, swagger-parser, openapi-typescript, tsc and node; skipped with -short")
	}
	tools := openAPITools(t)
	e := newListingEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	work := t.TempDir()
	run := func(name string, env []string, args ...string) []byte {
		t.Helper()
		start := time.Now()
		cmd := exec.CommandContext(ctx, args[0], args[1:]...)
		cmd.Dir = tools
		cmd.Env = append(os.Environ(), "REDOCLY_TELEMETRY=off", "REDOCLY_SUPPRESS_UPDATE_NOTICE=true", "NO_COLOR=1")
		cmd.Env = append(cmd.Env, env...)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("%s: %v\n%s\n%s", name, err, out, stderr.String())
		}
		t.Logf("%s: %v", name, time.Since(start).Round(time.Millisecond))
		return out
	}
	bin := func(name string) string { return filepath.Join(tools, "node_modules", ".bin", name) }

	// The document as served.
	resp, err := e.p.httpClient(nil).Get(e.ts.URL + "/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	var served bytes.Buffer
	_, err = served.ReadFrom(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /openapi.json: %d %v", resp.StatusCode, err)
	}
	spec := filepath.Join(work, "openapi.json")
	if err := os.WriteFile(spec, served.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}

	var lint struct {
		Totals   struct{ Errors, Warnings int }
		Problems []struct{ RuleID, Severity, Message string }
	}
	out := run("redocly lint", nil, bin("redocly"), "lint", "--config", "redocly.yaml", "--format", "json", spec)
	if err := json.Unmarshal(out, &lint); err != nil {
		t.Fatalf("redocly lint output: %v\n%s", err, out)
	}
	if lint.Totals.Errors != 0 || lint.Totals.Warnings != 0 {
		t.Errorf("redocly lint: %d errors, %d warnings: %+v", lint.Totals.Errors, lint.Totals.Warnings, lint.Problems)
	}
	var valid struct {
		Valid      bool
		Operations int
	}
	out = run("swagger-parser validate", nil, "node", "validate.mjs", spec)
	if err := json.Unmarshal(out, &valid); err != nil || !valid.Valid || valid.Operations != len(operationIDs) {
		t.Errorf("swagger-parser: %s (%v); want valid with %d operations", out, err, len(operationIDs))
	}

	// The TypeScript client, built in a scratch copy of tools/openapi.
	for _, f := range []string{"package.json", "tsconfig.json", "src/client.ts", "src/node.d.ts"} {
		b, err := os.ReadFile(filepath.Join(tools, f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Dir(filepath.Join(work, f)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(work, f), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(filepath.Join(tools, "node_modules"), filepath.Join(work, "node_modules")); err != nil {
		t.Fatal(err)
	}
	committed := filepath.Join(tools, "..", "..", "internal", "apiclient", "openapi.json")
	run("openapi-typescript", nil, bin("openapi-typescript"), committed, "-o", filepath.Join(work, "src", "schema.ts"))
	run("tsc", nil, bin("tsc"), "-p", filepath.Join(work, "tsconfig.json"))
	if _, err := os.Stat(filepath.Join(work, "build", "client.js")); errors.Is(err, fs.ErrNotExist) {
		t.Fatal("tsc wrote no build/client.js")
	}
	out = run("node client.js", []string{"SN27_API_URL=" + e.ts.URL, "SN27_API_KEY=" + testKey, "SN27_HOTKEY=" + hk1,
		"NODE_EXTRA_CA_CERTS=" + e.p.caFile}, "node", filepath.Join(work, "build", "client.js"))
	var res struct {
		OK            bool
		Hotkey        string
		Listed, After int
	}
	if err := json.Unmarshal(out, &res); err != nil || !res.OK || res.Hotkey != hk1 || res.Listed != 1 || res.After != 0 {
		t.Fatalf("the TypeScript client: %s (%v); want ok for %s, listed once, then gone", strings.TrimSpace(string(out)), err, hk1)
	}
	if got := e.ops.deallocations(); len(got) != 1 || got[0] != hk1 {
		t.Errorf("Ops.Deallocate calls %v; want [%s]", got, hk1)
	}
}
