package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// opTimeout bounds one mutating Ops call. Mutating calls are detached from
// the client's connection so that a disconnect cannot leave an allocation
// half-made and unrecorded.
const opTimeout = 2 * time.Minute

// route is one authenticated POST endpoint.
type route struct {
	path     string
	summary  string
	mutating bool // honours Idempotency-Key
	req      any  // OpenAPI schema of the body (nil: empty body or {})
	resp     any  // OpenAPI schema of the 200 answer
	handle   func(s *Server, ctx context.Context, body []byte) reply
	// params are the OpenAPI query parameters of a route served by
	// handleQuery (in place of handle); other routes ignore the query.
	params      []obj
	handleQuery func(s *Server, ctx context.Context, q url.Values, body []byte) reply
}

// serve runs the route's handler on the request's query and body.
func (rt route) serve(s *Server, ctx context.Context, rawQuery string, body []byte) reply {
	if rt.handleQuery == nil {
		return rt.handle(s, ctx, body)
	}
	q, err := url.ParseQuery(rawQuery)
	if err != nil {
		return fail(http.StatusBadRequest, "invalid_parameter", reason("the query string does not parse: "+err.Error()))
	}
	return rt.handleQuery(s, ctx, q, body)
}

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	for _, rt := range routeTable() {
		mux.Handle(rt.path, s.wrap(rt))
	}
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			writeReply(w, fail(http.StatusMethodNotAllowed, "method_not_allowed", "use GET"))
			return
		}
		writeJSON(w, http.StatusOK, []byte(`{"status":"ok"}`+"\n"))
	})
	doc := encode(openAPI())
	mux.HandleFunc("/openapi.json", func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			writeReply(w, fail(http.StatusMethodNotAllowed, "method_not_allowed", "use GET"))
			return
		}
		writeJSON(w, http.StatusOK, doc)
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if _, ok := s.authenticate(r); !ok {
			unauthorized(w)
			return
		}
		writeReply(w, fail(http.StatusNotFound, "not_found", "no such route"))
	})
	return mux
}

func unauthorized(w http.ResponseWriter) {
	w.Header().Set("WWW-Authenticate", `Bearer realm="sn27"`)
	writeReply(w, fail(http.StatusUnauthorized, "unauthorized",
		"authenticate with a client certificate or an Authorization: Bearer key"))
}

// wrap adds, in order: request id, authentication (401), method (405), body
// limit (413), and Idempotency-Key handling on mutating routes.
func (s *Server) wrap(rt route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rid := newRequestID()
		w.Header().Set("X-Request-Id", rid)
		principal, ok := s.authenticate(r)
		if !ok {
			unauthorized(w)
			return
		}
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", "POST")
			writeReply(w, fail(http.StatusMethodNotAllowed, "method_not_allowed", "use POST"))
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.cfg.MaxBody))
		if err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				writeReply(w, fail(http.StatusRequestEntityTooLarge, "body_too_large",
					fmt.Sprintf("request body is larger than %d bytes", s.cfg.MaxBody)))
				return
			}
			writeReply(w, fail(http.StatusBadRequest, "bad_body", "could not read the request body"))
			return
		}
		log := s.log.With("request_id", rid, "route", rt.path, "principal", principal)
		call := func(ctx context.Context) reply {
			rp := rt.serve(s, ctx, r.URL.RawQuery, body)
			if rp.status >= 500 {
				// The cause goes to the log; the client gets the request id.
				log.Error(rp.op, "err", rp.err)
				rp = fail(rp.status, "internal", "internal error (request id "+rid+")")
			}
			return rp
		}
		ctx := r.Context()
		if rt.mutating {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(context.WithoutCancel(ctx), opTimeout)
			defer cancel()
		}
		key := r.Header.Get("Idempotency-Key")
		if !rt.mutating || key == "" {
			writeReply(w, call(ctx))
			return
		}
		if len(key) > 255 || !printable(key) {
			writeReply(w, fail(http.StatusBadRequest, "invalid_idempotency_key", "Idempotency-Key must be 1-255 printable ASCII characters"))
			return
		}
		status, out, replayed := s.idempotent(ctx, principal, key, rt.path, body, func() (int, []byte) {
			rp := call(ctx)
			return rp.status, encode(rp.body)
		})
		if replayed {
			w.Header().Set("Idempotent-Replayed", "true")
		}
		writeJSON(w, status, out)
	})
}

// internal is a 500 answer; wrap logs op and err and hides them.
func internal(op string, err error) reply {
	return reply{status: http.StatusInternalServerError, body: errResp("internal", "internal error"), op: op, err: err}
}

// maxReason bounds the error text an answer carries, in bytes.
const maxReason = 500

// opsError maps an Ops error onto an answer. Below 500 the message is the
// error's text (the miner's or renter's reason, trimmed), less a leading
// "<sentinel>: " that the code already says; a 500 hides it.
func opsError(op string, err error) reply {
	for _, m := range []struct {
		sentinel error
		status   int
		code     string
	}{
		{ErrInvalid, http.StatusUnprocessableEntity, "invalid_request"},
		{ErrUnknownHotkey, http.StatusNotFound, "unknown_hotkey"},
		{ErrNoMatch, http.StatusNotFound, "no_match"},
		{ErrNotAllocated, http.StatusNotFound, "not_allocated"},
		{ErrAlreadyAllocated, http.StatusConflict, "already_allocated"},
		{ErrRefused, http.StatusConflict, "refused"},
	} {
		if errors.Is(err, m.sentinel) {
			msg := err.Error()
			if rest, ok := strings.CutPrefix(msg, m.sentinel.Error()+": "); ok && strings.TrimSpace(rest) != "" {
				msg = rest
			}
			return fail(m.status, m.code, reason(msg))
		}
	}
	return internal(op, err)
}

// reason is msg as valid UTF-8 of at most maxReason bytes.
func reason(msg string) string {
	s := strings.TrimSpace(strings.ToValidUTF8(msg, "\uFFFD"))
	if len(s) <= maxReason {
		return s
	}
	cut := maxReason - len("…")
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// decode strictly decodes one JSON object into v: unknown fields, trailing
// data and (unless allowEmpty) an empty body are errors.
func decode(body []byte, v any, allowEmpty bool) *reply {
	if len(bytes.TrimSpace(body)) == 0 {
		if allowEmpty {
			return nil
		}
		rp := fail(http.StatusBadRequest, "invalid_json", "the request body must be a JSON object")
		return &rp
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		code := "invalid_json"
		if strings.HasPrefix(err.Error(), "json: unknown field") {
			code = "unknown_field"
		}
		rp := fail(http.StatusBadRequest, code, err.Error())
		return &rp
	}
	if _, err := dec.Token(); err != io.EOF {
		rp := fail(http.StatusBadRequest, "invalid_json", "data after the JSON object")
		return &rp
	}
	return nil
}

func invalid(field, msg string) *reply {
	rp := fail(http.StatusBadRequest, "invalid_field", field+": "+msg)
	return &rp
}

func printable(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// hotkeyRE is an SS58 address: base58, 46 to 48 characters.
var hotkeyRE = regexp.MustCompile(`^[1-9A-HJ-NP-Za-km-z]{46,48}$`)

func checkHotkey(field, hk string) *reply {
	if !hotkeyRE.MatchString(hk) {
		return invalid(field, "want an SS58 address")
	}
	return nil
}

var sshKeyPrefixes = []string{"ssh-ed25519 ", "ssh-rsa ", "ecdsa-sha2-nistp256 ", "ecdsa-sha2-nistp384 ",
	"ecdsa-sha2-nistp521 ", "sk-ssh-ed25519@openssh.com ", "sk-ecdsa-sha2-nistp256@openssh.com "}

func checkSSHKey(field, k string, required bool) *reply {
	if k == "" {
		if required {
			return invalid(field, "required")
		}
		return nil
	}
	if len(k) > 8192 || !printable(k) {
		return invalid(field, "want one line of at most 8192 printable characters")
	}
	if !slices.ContainsFunc(sshKeyPrefixes, func(p string) bool { return strings.HasPrefix(k, p) }) {
		return invalid(field, "want an OpenSSH public key (ssh-ed25519, ssh-rsa, ecdsa-sha2-*, sk-*)")
	}
	return nil
}

// Field limits of a spec.
const (
	maxCPUCount     = 1024
	maxGPUCount     = 64
	maxGPUMemoryMiB = 1 << 20 // 1 TiB
	maxRAMBytes     = 1 << 46 // 64 TiB
	maxDiskBytes    = 1 << 50 // 1 PiB
	maxTimeline     = 525600  // minutes in a year
	maxGPUType      = 128
	maxHotkeys      = 256
)

// specRequest is the body of allocate_spec, and the spec part of
// allocate_hotkey.
type specRequest struct {
	CPUCount     int64  `json:"cpu_count"`
	GPUCount     int64  `json:"gpu_count"`
	GPUType      string `json:"gpu_type"`
	GPUMemoryMiB int64  `json:"gpu_memory_mib"`
	RAMBytes     int64  `json:"ram_bytes"`
	DiskBytes    int64  `json:"disk_bytes"`
	Timeline     int64  `json:"timeline"`
	SSHKey       string `json:"ssh_key"`
}

func (q specRequest) check() *reply {
	rng := func(field string, v, hi int64) *reply {
		if v < 0 || v > hi {
			return invalid(field, fmt.Sprintf("want 0 to %d", hi))
		}
		return nil
	}
	if rp := rng("cpu_count", q.CPUCount, maxCPUCount); rp != nil {
		return rp
	}
	if rp := rng("gpu_count", q.GPUCount, maxGPUCount); rp != nil {
		return rp
	}
	if rp := rng("gpu_memory_mib", q.GPUMemoryMiB, maxGPUMemoryMiB); rp != nil {
		return rp
	}
	if rp := rng("ram_bytes", q.RAMBytes, maxRAMBytes); rp != nil {
		return rp
	}
	if rp := rng("disk_bytes", q.DiskBytes, maxDiskBytes); rp != nil {
		return rp
	}
	if q.Timeline < 1 || q.Timeline > maxTimeline {
		return invalid("timeline", fmt.Sprintf("want 1 to %d minutes", maxTimeline))
	}
	if len(q.GPUType) > maxGPUType || !printable(q.GPUType) {
		return invalid("gpu_type", fmt.Sprintf("want at most %d printable characters", maxGPUType))
	}
	return checkSSHKey("ssh_key", q.SSHKey, false)
}

func (q specRequest) request() Request {
	return Request{CPUCount: q.CPUCount, GPUCount: q.GPUCount, GPUType: q.GPUType, GPUMemoryMiB: q.GPUMemoryMiB,
		RAMBytes: q.RAMBytes, DiskBytes: q.DiskBytes, Timeline: q.Timeline, SSHKey: q.SSHKey}
}

type hotkeySpecRequest struct {
	Hotkey string `json:"hotkey"`
	specRequest
}

type hotkeyRequest struct {
	Hotkey string `json:"hotkey"`
}

type exchangeKeyRequest struct {
	Hotkey string `json:"hotkey"`
	SSHKey string `json:"ssh_key"`
}

type statusRequest struct {
	Hotkeys []string `json:"hotkeys"`
}

type allocationResponse struct {
	Hotkey     string    `json:"hotkey"`
	Host       string    `json:"host"`
	Port       int       `json:"port"`
	Username   string    `json:"username"`
	Password   string    `json:"password"`
	SSHCommand string    `json:"ssh_command"`
	Deadline   time.Time `json:"deadline"`
	KnownHosts string    `json:"known_hosts,omitempty"`
}

func toAllocationResponse(a Allocation) allocationResponse {
	return allocationResponse{Hotkey: a.Hotkey, Host: a.Host, Port: a.Port, Username: a.Username,
		Password: a.Password, SSHCommand: a.SSHCommand, Deadline: a.Deadline.UTC(), KnownHosts: a.KnownHosts}
}

type deallocateResponse struct {
	Hotkey      string `json:"hotkey"`
	Deallocated bool   `json:"deallocated"`
}

type actionResponse struct {
	Hotkey string `json:"hotkey"`
	Action string `json:"action"`
	OK     bool   `json:"ok"`
}

type minerStatus struct {
	Hotkey string `json:"hotkey"`
	Status string `json:"status"` // online, offline, paused, not_allocated
}

type statusResponse struct {
	Miners []minerStatus `json:"miners"`
}

type allocationItem struct {
	Hotkey   string    `json:"hotkey"`
	Host     string    `json:"host"`
	Port     int       `json:"port"`
	Created  time.Time `json:"created"`
	Deadline time.Time `json:"deadline"`
	Status   string    `json:"status"` // online, offline, paused, stopped, unknown (health loop)
}

type allocationsResponse struct {
	Allocations []allocationItem `json:"allocations"`
}

type resourceItem struct {
	Hotkey      string  `json:"hotkey"`
	GPUName     string  `json:"gpu_name"`
	GPUMemoryGB float64 `json:"gpu_memory_gb"`
	GPUCount    int     `json:"gpu_count"`
	VCPUs       int     `json:"vcpus"`
	RAMGB       float64 `json:"ram_gb"`
	DiskGB      float64 `json:"disk_gb"`
	Allocated   bool    `json:"allocated"`
	// The latest proof-of-GPU verdict (see Resource).
	Verified          bool    `json:"verified"`
	VerifiedModel     string  `json:"verified_model,omitempty"`
	VerifiedGPUs      int     `json:"verified_gpus,omitempty"`
	VerdictAge        float64 `json:"verdict_age_s"` // -1: no verdict
	VerdictBlock      uint64  `json:"verdict_block,omitempty"`
	VerdictFailedStep string  `json:"verdict_failed_step,omitempty"`
}

func toResourceItem(r Resource) resourceItem {
	return resourceItem{Hotkey: r.Hotkey, GPUName: r.GPUName, GPUMemoryGB: r.GPUMemoryGB, GPUCount: r.GPUCount,
		VCPUs: r.VCPUs, RAMGB: r.RAMGB, DiskGB: r.DiskGB, Allocated: r.Allocated,
		Verified: r.Verified, VerifiedModel: r.VerifiedModel, VerifiedGPUs: r.VerifiedGPUs, VerdictAge: r.VerdictAge,
		VerdictBlock: r.VerdictBlock, VerdictFailedStep: r.VerdictFailedStep}
}

// resourceFilter is the query of the resource listings: verified=true
// keeps the miners whose latest proof-of-GPU verdict passed,
// verified_model=NAME those verified as NAME (the whole name,
// case-insensitive; it implies verified=true).
type resourceFilter struct {
	verified bool
	model    string
}

func (f resourceFilter) keep(r Resource) bool {
	switch {
	case f.verified && !r.Verified:
		return false
	case f.model != "" && !strings.EqualFold(r.VerifiedModel, f.model):
		return false
	}
	return true
}

func badParam(name, msg string) *reply {
	rp := fail(http.StatusBadRequest, "invalid_parameter", name+": "+msg)
	return &rp
}

// parseResourceFilter reads a listing's query; any other parameter, a
// repeated one or a bad value is a 400 invalid_parameter.
func parseResourceFilter(q url.Values) (resourceFilter, *reply) {
	var f resourceFilter
	for _, k := range slices.Sorted(maps.Keys(q)) {
		if k != "verified" && k != "verified_model" {
			return f, badParam(k, "unknown query parameter; this route takes verified and verified_model")
		}
		if len(q[k]) != 1 {
			return f, badParam(k, "given more than once")
		}
	}
	if vs, ok := q["verified"]; ok {
		b, err := strconv.ParseBool(vs[0])
		if err != nil {
			return f, badParam("verified", fmt.Sprintf("want true or false, not %q", reason(vs[0])))
		}
		f.verified = b
	}
	if vs, ok := q["verified_model"]; ok {
		m := strings.TrimSpace(vs[0])
		if m == "" || len(m) > maxGPUType || !printable(m) {
			return f, badParam("verified_model", fmt.Sprintf("want a model name of 1 to %d printable characters", maxGPUType))
		}
		if _, ok := q["verified"]; ok && !f.verified {
			return f, badParam("verified_model", "needs verified=true (or no verified parameter)")
		}
		f.verified, f.model = true, m
	}
	return f, nil
}

type resourcesResponse struct {
	Resources []resourceItem `json:"resources"`
}

type gpuCountResponse struct {
	GPUCount int `json:"gpu_count"`
}

type modelCount struct {
	GPUName  string `json:"gpu_name"`
	GPUCount int    `json:"gpu_count"`
}

type byModelResponse struct {
	Models []modelCount `json:"models"`
}

type hotkeysResponse struct {
	Hotkeys []string `json:"hotkeys"`
}
