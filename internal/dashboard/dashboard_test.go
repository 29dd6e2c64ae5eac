package dashboard

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sn27/sn27/internal/chain"
	"github.com/sn27/sn27/internal/keys"
	"github.com/sn27/sn27/internal/pog"
	"github.com/sn27/sn27/internal/store"
)

// newTestServer returns a server over src with a manual clock and rounds
// snapshots already collected, one Refresh apart.
func newTestServer(t *testing.T, src Source, rounds int) (*Server, *testClock) {
	t.Helper()
	s, err := New(Config{Refresh: 60 * time.Second, Title: "SN27 test"}, src, nil)
	if err != nil {
		t.Fatal(err)
	}
	clk := &testClock{t: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)}
	s.now = clk.Now
	for range rounds {
		if err := s.Collect(context.Background()); err != nil {
			t.Fatal(err)
		}
		clk.Advance(s.cfg.Refresh)
	}
	return s, clk
}

func get(t *testing.T, h http.Handler, target string) (int, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, target, nil))
	body, _ := io.ReadAll(rec.Result().Body)
	return rec.Code, string(body)
}

func getJSON(t *testing.T, h http.Handler, target string, v any) {
	t.Helper()
	code, body := get(t, h, target)
	if code != http.StatusOK {
		t.Fatalf("GET %s: status %d; want 200: %s", target, code, body)
	}
	if err := json.Unmarshal([]byte(body), v); err != nil {
		t.Fatalf("GET %s: %v", target, err)
	}
}

var (
	rowRE = regexp.MustCompile(`(?s)<tr>\s*<td class="n">(\d+)</td>`)
)

// tableUIDs returns the UIDs of the rows of the table with the given id, in
// page order.
func tableUIDs(t *testing.T, page, id string) []uint16 {
	t.Helper()
	start := strings.Index(page, `<table id="`+id+`">`)
	if start < 0 {
		t.Fatalf("no table %q in page", id)
	}
	end := strings.Index(page[start:], "</table>")
	var uids []uint16
	for _, m := range rowRE.FindAllStringSubmatch(page[start:start+end], -1) {
		u, _ := strconv.Atoi(m[1])
		uids = append(uids, uint16(u))
	}
	return uids
}

type minersResp struct {
	Sort   string     `json:"sort"`
	Dir    string     `json:"dir"`
	Miners []minerRow `json:"miners"`
}

func uidsOf(rows []minerRow) []uint16 {
	out := make([]uint16, len(rows))
	for i, r := range rows {
		out[i] = r.UID
	}
	return out
}

func TestOverviewRows(t *testing.T) {
	for _, n := range []int{0, 1, 17} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			s, _ := newTestServer(t, newFake(n), 2)
			code, page := get(t, s.Handler(), "/")
			if code != http.StatusOK {
				t.Fatalf("status %d; want 200", code)
			}
			if got := len(tableUIDs(t, page, "miners")); got != n {
				t.Errorf("miners table has %d rows; want %d", got, n)
			}
			for _, id := range []string{"chart-weights", "chart-latency", "chart-rounds"} {
				if !strings.Contains(page, `<svg id="`+id+`"`) {
					t.Errorf("page lacks chart %s", id)
				}
			}
			if !strings.Contains(page, `http-equiv="refresh" content="60"`) {
				t.Error("page lacks the auto refresh")
			}
		})
	}
}

func TestSort(t *testing.T) {
	s, _ := newTestServer(t, newFake(23), 1)
	h := s.Handler()
	tests := []struct {
		name, query string
		wantSort    string
		wantDir     string
		less        func(a, b minerRow) bool // a must not sort after b
	}{
		{"default", "", "uid", "asc", func(a, b minerRow) bool { return a.UID < b.UID }},
		{"uid desc", "sort=uid&dir=desc", "uid", "desc", func(a, b minerRow) bool { return a.UID > b.UID }},
		{"weight default dir", "sort=weight", "weight", "desc", func(a, b minerRow) bool { return a.Weight >= b.Weight }},
		{"weight asc", "sort=weight&dir=asc", "weight", "asc", func(a, b minerRow) bool { return a.Weight <= b.Weight }},
		{"difficulty", "sort=difficulty&dir=desc", "difficulty", "desc", func(a, b minerRow) bool { return a.Difficulty >= b.Difficulty }},
		{"solve asc", "sort=solve&dir=asc", "solve", "asc", func(a, b minerRow) bool { return a.MeanSolveSeconds <= b.MeanSolveSeconds }},
		{"success", "sort=success&dir=desc", "success", "desc", func(a, b minerRow) bool { return a.SuccessRate >= b.SuccessRate }},
		{"gpu", "sort=gpu&dir=desc", "gpu", "desc", func(a, b minerRow) bool { return a.GPUCount >= b.GPUCount }},
		{"cpu asc", "sort=cpu&dir=asc", "cpu", "asc", func(a, b minerRow) bool { return a.CPUCores <= b.CPUCores }},
		{"incentive", "sort=incentive", "incentive", "desc", func(a, b minerRow) bool { return a.Incentive >= b.Incentive }},
		{"allocated", "sort=allocated", "allocated", "desc", func(a, b minerRow) bool { return a.Allocated || !b.Allocated }},
		{"hotkey", "sort=hotkey", "hotkey", "asc", func(a, b minerRow) bool { return a.Hotkey <= b.Hotkey }},
		{"unknown column", "sort=%22%3E%3Cscript%3E&dir=desc", "uid", "asc", func(a, b minerRow) bool { return a.UID < b.UID }},
		{"bad dir", "sort=uid&dir=sideways", "uid", "asc", func(a, b minerRow) bool { return a.UID < b.UID }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var resp minersResp
			getJSON(t, h, "/api/miners?"+tt.query, &resp)
			if resp.Sort != tt.wantSort || resp.Dir != tt.wantDir {
				t.Errorf("sort %s %s; want %s %s", resp.Sort, resp.Dir, tt.wantSort, tt.wantDir)
			}
			if len(resp.Miners) != 23 {
				t.Fatalf("%d miners; want 23", len(resp.Miners))
			}
			for i := 1; i < len(resp.Miners); i++ {
				if !tt.less(resp.Miners[i-1], resp.Miners[i]) {
					t.Errorf("rows %d and %d out of order: %+v, %+v", i-1, i, resp.Miners[i-1], resp.Miners[i])
				}
			}
			_, page := get(t, h, "/?"+tt.query)
			if got, want := tableUIDs(t, page, "miners"), uidsOf(resp.Miners); !slices.Equal(got, want) {
				t.Errorf("page order %v; want the JSON order %v", got, want)
			}
			if strings.Contains(page, "<script>") {
				t.Error("sort parameter reached the page unescaped")
			}
		})
	}
}

func TestSortHeaderLinks(t *testing.T) {
	hs := headers(sortOrder{Col: "weight", Desc: true})
	for _, h := range hs {
		switch h.Label {
		case "Weight":
			if !h.Active || h.Arrow != "▼" || h.Href != "?dir=asc&sort=weight" {
				t.Errorf("weight header %+v; want active ▼ linking to asc", h)
			}
		case "UID":
			if h.Active || h.Href != "?dir=asc&sort=uid" {
				t.Errorf("uid header %+v; want inactive linking to asc", h)
			}
		case "Difficulty":
			if h.Href != "?dir=desc&sort=difficulty" {
				t.Errorf("difficulty header %+v; want a link to desc", h)
			}
		}
	}
}

// TestJSONMatchesPages checks that the JSON endpoints carry what the pages
// show.
func TestJSONMatchesPages(t *testing.T) {
	src := newFake(12)
	s, _ := newTestServer(t, src, 3)
	h := s.Handler()

	var sum summary
	getJSON(t, h, "/api/summary", &sum)
	_, page := get(t, h, "/")
	for id, want := range map[string]int{"sum-miners": sum.Miners, "sum-validators": sum.Validators, "sum-allocated": sum.Allocated, "sum-available": sum.Available} {
		re := regexp.MustCompile(`id="` + id + `">(\d+)<`)
		m := re.FindStringSubmatch(page)
		if m == nil || m[1] != strconv.Itoa(want) {
			t.Errorf("%s on page %v; want %d", id, m, want)
		}
	}
	if !strings.Contains(page, fmt.Sprintf(`id="block">%d<`, sum.Block)) {
		t.Errorf("page does not show block %d", sum.Block)
	}
	// newFake allocates every fourth miner (uid%4 == 1) and leaves every
	// fifth without specs (uid%5 == 4); available = with specs, not allocated.
	wantAlloc, wantAvail := 0, 0
	for i := range 12 {
		switch {
		case i%4 == 1:
			wantAlloc++
		case i%5 != 4:
			wantAvail++
		}
	}
	if sum.Miners != 12 || sum.Validators != 2 || sum.Allocated != wantAlloc || sum.Available != wantAvail {
		t.Errorf("summary %+v; want 12 miners, 2 validators, %d allocated, %d available", sum, wantAlloc, wantAvail)
	}
	var gpus int64
	for _, g := range sum.GPUs {
		gpus += g.Count
	}
	if gpus != sum.GPUTotal || gpus == 0 {
		t.Errorf("GPUs by model sum to %d; total %d", gpus, sum.GPUTotal)
	}
	for _, g := range sum.GPUs {
		if !strings.Contains(page, "<span>"+g.Model+"</span><strong>"+strconv.FormatInt(g.Count, 10)+"</strong>") {
			t.Errorf("page lacks GPU model %s × %d", g.Model, g.Count)
		}
	}

	var alloc struct {
		Allocations []minerRow `json:"allocations"`
	}
	getJSON(t, h, "/api/allocations", &alloc)
	_, apage := get(t, h, "/allocations")
	if got, want := tableUIDs(t, apage, "allocations"), uidsOf(alloc.Allocations); !slices.Equal(got, want) || len(want) != wantAlloc {
		t.Errorf("allocations page %v, JSON %v; want %d rows each", got, want, wantAlloc)
	}
	for _, a := range alloc.Allocations {
		if !a.Allocated {
			t.Errorf("uid %d listed as allocated but is not", a.UID)
		}
	}

	var hist struct {
		Points []point `json:"points"`
	}
	getJSON(t, h, "/api/history", &hist)
	if len(hist.Points) != 3 {
		t.Fatalf("history has %d points; want 3", len(hist.Points))
	}
	last := hist.Points[2]
	if last.Attempts != sum.Attempts || last.Successes != sum.Successes || last.Block != sum.Block {
		t.Errorf("last history point %+v disagrees with summary %+v", last, sum)
	}
	var miners minersResp
	getJSON(t, h, "/api/miners", &miners)
	total := 0.0
	for _, m := range miners.Miners {
		if last.Weights[m.UID] != m.Weight {
			t.Errorf("uid %d: history weight %v; miners weight %v", m.UID, last.Weights[m.UID], m.Weight)
		}
		total += m.Weight
	}
	if total < 0.999 || total > 1.001 {
		t.Errorf("weights sum to %v; want 1", total)
	}
	if n := strings.Count(page, "<polyline"); n < 3 {
		t.Errorf("page has %d polylines; want weight and rounds lines", n)
	}
	if !strings.Contains(page, "<rect x=") {
		t.Error("latency histogram has no bars")
	}
}

func TestEscaping(t *testing.T) {
	const nasty = `<script>alert("x")</script>`
	const nastyGPU = `"><img src=x onerror=alert(1)>`
	src := newFake(3)
	src.neurons[0].Hotkey = keys.Hotkey(nasty)
	src.neurons[1].Coldkey = keys.Coldkey(nasty + "coldkeycoldkey")
	src.specs[nasty] = specsJSON(nastyGPU, 2, 8)
	src.alloc[nasty] = true
	s, err := New(Config{Title: `</title><script>t()</script>`}, src, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/", "/allocations", "/?sort=hotkey"} {
		code, page := get(t, s.Handler(), path)
		if code != http.StatusOK {
			t.Fatalf("GET %s: status %d", path, code)
		}
		for _, bad := range []string{"<script>", "<img", "alert(1)>"} {
			if strings.Contains(page, bad) {
				t.Errorf("GET %s: page contains %q unescaped", path, bad)
			}
		}
		if !strings.Contains(page, "&lt;script&gt;") {
			t.Errorf("GET %s: escaped name missing", path)
		}
	}
	var miners minersResp
	getJSON(t, s.Handler(), "/api/miners", &miners)
	if miners.Miners[0].Hotkey != nasty || miners.Miners[0].GPUs[0].Model != nastyGPU {
		t.Errorf("JSON lost the raw values: %+v", miners.Miners[0])
	}
	code, body := get(t, s.Handler(), "/api/miners")
	if code != http.StatusOK || strings.Contains(body, "<script>") {
		t.Error("JSON body contains raw <script>; want \\u003c escapes")
	}
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	if csp := rec.Header().Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") {
		t.Errorf("CSP %q; want default-src 'none'", csp)
	}
}

func TestSourceErrors(t *testing.T) {
	src := newFake(4)
	src.err = errors.New("chain down")
	s, clk := newTestServer(t, src, 0)
	h := s.Handler()
	for _, p := range []string{"/", "/api/summary", "/api/history"} {
		if code, _ := get(t, h, p); code != http.StatusServiceUnavailable {
			t.Errorf("GET %s without data: status %d; want 503", p, code)
		}
	}

	src.mu.Lock()
	src.err = nil
	src.mu.Unlock()
	if code, _ := get(t, h, "/"); code != http.StatusOK {
		t.Fatalf("after recovery: status %d; want 200", code)
	}

	src.mu.Lock()
	src.err = errors.New("chain <b>down</b> again")
	src.mu.Unlock()
	clk.Advance(time.Minute)
	if err := s.Collect(context.Background()); err == nil {
		t.Fatal("Collect succeeded; want the source error")
	}
	code, page := get(t, h, "/")
	if code != http.StatusOK || !strings.Contains(page, `class="error"`) || !strings.Contains(page, "chain &lt;b&gt;down&lt;/b&gt; again") {
		t.Errorf("stale page: status %d, want 200 with an escaped error banner", code)
	}
	var sum summary
	getJSON(t, h, "/api/summary", &sum)
	if !strings.Contains(sum.Error, "chain <b>down</b> again") || sum.Miners != 4 {
		t.Errorf("summary %+v; want the old data and the error", sum)
	}
}

func TestNotFound(t *testing.T) {
	s, _ := newTestServer(t, newFake(1), 1)
	for _, p := range []string{"/nope", "/api/nope", "/static/nope.css"} {
		if code, _ := get(t, s.Handler(), p); code != http.StatusNotFound {
			t.Errorf("GET %s: status %d; want 404", p, code)
		}
	}
	if code, css := get(t, s.Handler(), "/static/style.css"); code != http.StatusOK || !strings.Contains(css, "svg.chart") {
		t.Errorf("GET /static/style.css: status %d", code)
	}
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/", nil))
	if rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST /: status %d; want 405", rec.Code)
	}
}

func TestHistoryRing(t *testing.T) {
	r := newRing(3)
	for i := range 5 {
		r.add(point{Block: uint64(i)})
	}
	var got []uint64
	for _, p := range r.points() {
		got = append(got, p.Block)
	}
	if !slices.Equal(got, []uint64{2, 3, 4}) {
		t.Errorf("ring holds blocks %v; want [2 3 4]", got)
	}
}

func TestHistogram(t *testing.T) {
	bins := histogram([]float64{0.1, 0.9, 1.0, 4.9, 7.6}, 10)
	if len(bins) != 10 || bins[9].Hi != 10 {
		t.Fatalf("bins %+v; want 10 bins up to 10", bins)
	}
	counts := make([]int, 10)
	for i, b := range bins {
		counts[i] = b.Count
	}
	if want := []int{2, 1, 0, 0, 1, 0, 0, 1, 0, 0}; !slices.Equal(counts, want) {
		t.Errorf("counts %v; want %v", counts, want)
	}
	if len(histogram(nil, 10)) != 0 {
		t.Error("histogram of nothing has bins")
	}
	for _, tt := range []struct{ in, want float64 }{{0, 1}, {0.07, 0.1}, {0.3, 0.5}, {1, 1}, {1.2, 2}, {2.2, 2.5}, {7, 10}, {130, 200}} {
		if got := niceCeil(tt.in); got != tt.want {
			t.Errorf("niceCeil(%v) = %v; want %v", tt.in, got, tt.want)
		}
	}
}

func TestNew(t *testing.T) {
	if _, err := New(Config{}, nil, nil); err == nil {
		t.Error("New with nil source succeeded")
	}
	if _, err := New(Config{Refresh: time.Millisecond}, newFake(1), nil); err == nil {
		t.Error("New with 1 ms refresh succeeded")
	}
	s, err := New(Config{}, newFake(1), nil)
	if err != nil {
		t.Fatal(err)
	}
	if s.cfg != DefaultConfig() {
		t.Errorf("config %+v; want defaults %+v", s.cfg, DefaultConfig())
	}
}

// TestRun serves on a loopback port, checks a page and the snapshot loop,
// and checks that Run returns nil once ctx is cancelled.
func TestRun(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	s, err := New(Config{Addr: addr, Refresh: time.Second}, newFake(5), nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()

	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/api/history")
		if err == nil {
			var h struct {
				Points []point `json:"points"`
			}
			err = json.NewDecoder(resp.Body).Decode(&h)
			resp.Body.Close()
			if err == nil && len(h.Points) >= 2 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no two snapshots within 10 s (last error %v)", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run returned %v; want nil", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
}

var _ Source = (*fakeSource)(nil)

// chainStub is a ChainReader of fixed neurons.
type chainStub []chain.Neuron

func (c chainStub) Neurons(context.Context, chain.NetUID) ([]chain.Neuron, error) { return c, nil }
func (c chainStub) BlockNumber(context.Context) (uint64, error)                   { return 4_200_000, nil }

// minerCell returns the miners table's row of hotkey.
func minerCell(t *testing.T, page, hotkey string) string {
	t.Helper()
	start := strings.Index(page, `<table id="miners">`)
	end := strings.Index(page[start:], "</table>") + start
	table := page[start:end]
	i := strings.Index(table, `title="`+hotkey+`"`)
	if i < 0 {
		t.Fatalf("miners table has no row of %s", hotkey)
	}
	j := strings.Index(table[i:], "</tr>")
	return table[i : i+j]
}

// TestProofOfGPU stores verdicts in a real store and reads them through
// StoreSource: a passed verdict shows as verified with its model and count,
// a failed one with its failing step (the reason in the tooltip), a miner
// never proved as "—"; the verdicts section lists them all, newest first,
// and the JSON endpoints carry the same.
func TestProofOfGPU(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "validator.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	hk := func(uri string) string {
		p, err := keys.FromURI(uri)
		if err != nil {
			t.Fatal(err)
		}
		return string(p.Hotkey())
	}
	a, b, c := hk("//A"), hk("//B"), hk("//C")
	at := time.Date(2025, 3, 1, 11, 0, 0, 0, time.UTC)
	const reason = `device 0: measured 310 GFLOP/s: <b>no model</b> fits, not the claimed NVIDIA H100 80GB HBM3`
	for _, v := range []pog.Verdict{
		{Hotkey: b, Block: 100, Time: at, Passed: true, Model: "NVIDIA H100 80GB HBM3", GPUs: 8, ClaimedModel: "NVIDIA H100 80GB HBM3", ClaimedGPUs: 8},
		{Hotkey: a, Block: 101, Time: at.Add(time.Minute), Passed: true, Model: "PoCL CPU", GPUs: 1, ClaimedModel: "PoCL CPU", ClaimedGPUs: 1},
		{Hotkey: b, Block: 102, Time: at.Add(2 * time.Minute), ClaimedModel: "NVIDIA H100 80GB HBM3", ClaimedGPUs: 8,
			FailedStep: pog.StepIdentify, Reason: reason},
	} {
		js, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		if err := st.AddVerdict(ctx, v.Hotkey, v.Block, v.Passed, string(js)); err != nil {
			t.Fatal(err)
		}
	}
	src := StoreSource{
		Chain: chainStub{{UID: 0, Hotkey: keys.Hotkey(a)}, {UID: 1, Hotkey: keys.Hotkey(b)}, {UID: 2, Hotkey: keys.Hotkey(c)}},
		Store: st, Window: time.Hour,
		Score: func(context.Context, []chain.Neuron) ([]chain.UID, []float64, error) { return nil, nil, nil },
	}
	s, _ := newTestServer(t, src, 1)
	h := s.Handler()
	code, page := get(t, h, "/")
	if code != http.StatusOK {
		t.Fatalf("status %d", code)
	}

	if row := minerCell(t, page, a); !strings.Contains(row, `<span class="tag pass" title="block 101 · 2025-03-01 11:01:00 UTC">verified 1× PoCL CPU</span>`) {
		t.Errorf("row of the verified miner:\n%s", row)
	}
	wantTitle := `title="` + template.HTMLEscapeString(reason) + `"`
	if row := minerCell(t, page, b); !strings.Contains(row, `<span class="tag fail" `+wantTitle+`>FAILED at identify</span>`) || strings.Contains(row, "verified") {
		t.Errorf("row of the failed miner (its latest verdict failed) lacks FAILED at identify with the reason as its title:\n%s", row)
	}
	if row := minerCell(t, page, c); strings.Contains(row, "tag pass") || strings.Contains(row, "tag fail") || !strings.Contains(row, "<td>—</td>") {
		t.Errorf("row of the miner never proved:\n%s", row)
	}
	if strings.Contains(page, "<b>no model</b>") {
		t.Error("the verdict's reason reached the page unescaped")
	}

	start := strings.Index(page, `<table id="verdicts">`)
	if start < 0 || !strings.Contains(page, "Proof-of-GPU verdicts") {
		t.Fatal("page lacks the Proof-of-GPU verdicts section")
	}
	vt := page[start : start+strings.Index(page[start:], "</table>")]
	rows := strings.Split(vt, "<tr>")[2:] // less the header
	if len(rows) != 3 {
		t.Fatalf("verdicts table has %d rows; want 3:\n%s", len(rows), vt)
	}
	for i, want := range [][]string{
		{`title="` + b + `"`, `<td class="n">102</td>`, "2025-03-01 11:02:00 UTC", `<span class="tag fail">FAILED</span>`, "<td>—</td>",
			"<td>8× NVIDIA H100 80GB HBM3</td>", "<td>identify</td>", template.HTMLEscapeString(reason)},
		{`title="` + a + `"`, `<td class="n">101</td>`, `<span class="tag pass">passed</span>`, "<td>1× PoCL CPU</td>", "<td>1× PoCL CPU</td>"},
		{`title="` + b + `"`, `<td class="n">100</td>`, "<td>8× NVIDIA H100 80GB HBM3</td>"},
	} {
		for _, w := range want {
			if !strings.Contains(rows[i], w) {
				t.Errorf("verdict row %d lacks %s:\n%s", i, w, rows[i])
			}
		}
	}

	var miners minersResp
	getJSON(t, h, "/api/miners?sort=proof&dir=desc", &miners)
	if got := uidsOf(miners.Miners); !slices.Equal(got, []uint16{0, 2, 1}) {
		t.Errorf("sorted by GPU proof: uids %v; want verified, never proved, failed: [0 2 1]", got)
	}
	pa, pb := miners.Miners[0].Proof, miners.Miners[2].Proof
	if pa == nil || !pa.Passed || pa.Model != "PoCL CPU" || pa.GPUs != 1 || pa.Block != 101 {
		t.Errorf("gpu_proof of the verified miner = %+v", pa)
	}
	if pb == nil || pb.Passed || pb.FailedStep != pog.StepIdentify || pb.Reason != reason || pb.Model != "" || pb.ClaimedGPUs != 8 {
		t.Errorf("gpu_proof of the failed miner = %+v", pb)
	}
	if miners.Miners[1].Proof != nil {
		t.Errorf("gpu_proof of the miner never proved = %+v; want none", miners.Miners[1].Proof)
	}
	_, body := get(t, h, "/api/miners")
	if strings.Count(body, `"gpu_proof"`) != 2 {
		t.Errorf("/api/miners has %d gpu_proof fields; want 2 (none for the miner never proved)", strings.Count(body, `"gpu_proof"`))
	}

	var vs struct {
		Verdicts []proof `json:"verdicts"`
	}
	getJSON(t, h, "/api/verdicts", &vs)
	if len(vs.Verdicts) != 3 || vs.Verdicts[0].Block != 102 || vs.Verdicts[2].Block != 100 || vs.Verdicts[0].FailedStep != pog.StepIdentify {
		t.Errorf("/api/verdicts = %+v; want the 3 verdicts, newest first", vs.Verdicts)
	}
	var sum summary
	getJSON(t, h, "/api/summary", &sum)
	if sum.ProofsPassed != 1 || sum.ProofsFailed != 1 || sum.VerifiedGPUs != 1 {
		t.Errorf("summary proofs: %d passed, %d failed, %d GPUs; want 1, 1, 1", sum.ProofsPassed, sum.ProofsFailed, sum.VerifiedGPUs)
	}
	if !strings.Contains(page, `id="sum-proofs">1<`) {
		t.Error("summary card lacks the verified count")
	}
}

// A verdict that cannot be read, or that names another miner than the one
// it is filed under, is not shown; the page still renders.
func TestProofOfGPUBadVerdicts(t *testing.T) {
	src := newFake(3)
	hk0, hk1 := string(src.neurons[0].Hotkey), string(src.neurons[1].Hotkey)
	src.verdict = []string{`{"hotkey":"` + hk0 + `","passed":"yes"}`, `[1,2]`}
	s, _ := newTestServer(t, src, 1)
	code, page := get(t, s.Handler(), "/")
	if code != http.StatusOK {
		t.Fatalf("status %d", code)
	}
	if strings.Contains(page, "tag pass") || strings.Contains(page, "tag fail") || !strings.Contains(page, "no verdicts yet") {
		t.Error("unreadable verdicts shown")
	}
	if _, ok := parseProof(`{"hotkey":"`+hk1+`","passed":true,"model":"PoCL CPU","gpus":1}`, hk0); ok {
		t.Error("a verdict of another miner was accepted")
	}
	if p, ok := parseProof(`{"passed":false}`, hk0); !ok || p.Hotkey != hk0 || p.FailedStep != "unknown step" {
		t.Errorf("verdict without a hotkey or step = %+v, %v; want it filed under %s, failed at an unknown step", p, ok, hk0)
	}
}
