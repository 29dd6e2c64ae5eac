package dashboard

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// view is the latest snapshot with the refresh state.
type view struct {
	snap   *snapshot
	errMsg string // last failed refresh since snap, "" if none
}

// current returns the latest snapshot, collecting one first if there is
// none yet.
func (s *Server) current(ctx context.Context) (view, error) {
	s.mu.Lock()
	have := s.latest != nil
	s.mu.Unlock()
	if !have {
		if err := s.Collect(ctx); err != nil {
			return view{}, fmt.Errorf("%w: %w", ErrNoData, err)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	v := view{snap: s.latest}
	if s.lastErr != nil {
		v.errMsg = fmt.Sprintf("refresh failed at %s: %v; showing data from %s",
			s.errAt.Format(time.RFC3339), s.lastErr, s.latest.At.Format(time.RFC3339))
	}
	return v, nil
}

func (s *Server) history() []point {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.hist.points()
}

// load returns the current view or writes a 503 and reports false.
func (s *Server) load(w http.ResponseWriter, r *http.Request) (view, bool) {
	v, err := s.current(r.Context())
	if err != nil {
		s.log.Warn("dashboard has no data", "err", err)
		http.Error(w, "dashboard: no data collected yet; see the server log", http.StatusServiceUnavailable)
		return view{}, false
	}
	return v, true
}

func (s *Server) summaryOf(v view) summary {
	sum := v.snap.summary(s.cfg.Title)
	sum.Error = v.errMsg
	return sum
}

// header is one sortable column header of the miners table.
type header struct {
	Label  string
	Href   string
	Arrow  string // "▲", "▼" or ""
	Active bool
}

func headers(o sortOrder) []header {
	hs := make([]header, len(columns))
	for i, c := range columns {
		dir := "asc"
		if c.DescFirst {
			dir = "desc"
		}
		h := header{Label: c.Label}
		if c.Key == o.Col {
			h.Active = true
			h.Arrow = "▲"
			dir = "desc"
			if o.Desc {
				h.Arrow = "▼"
				dir = "asc"
			}
		}
		h.Href = "?" + url.Values{"sort": {c.Key}, "dir": {dir}}.Encode()
		hs[i] = h
	}
	return hs
}

type overviewPage struct {
	Title   string
	Refresh int
	Nav     string
	Summary summary
	Sort    sortOrder
	Headers []header
	Miners  []minerRow
	Charts  []chart
	// Verdicts are the newest proof-of-GPU verdicts, newest first.
	Verdicts []proof
}

func (s *Server) overview(w http.ResponseWriter, r *http.Request) {
	v, ok := s.load(w, r)
	if !ok {
		return
	}
	o := parseSort(r.URL.Query().Get("sort"), r.URL.Query().Get("dir"))
	sum := s.summaryOf(v)
	hist := s.history()
	s.render(w, "overview.html", overviewPage{
		Title: s.cfg.Title, Refresh: s.refreshSeconds(), Nav: "overview",
		Summary: sum, Sort: o, Headers: headers(o), Miners: sortRows(v.snap.Miners, o),
		Charts:   []chart{weightChart(hist, v.snap), latencyChart(sum.SolveTimeHistogram), roundsChart(hist)},
		Verdicts: v.snap.Verdicts,
	})
}

type allocationsPage struct {
	Title   string
	Refresh int
	Nav     string
	Summary summary
	Miners  []minerRow
}

func (s *Server) allocations(w http.ResponseWriter, r *http.Request) {
	v, ok := s.load(w, r)
	if !ok {
		return
	}
	s.render(w, "allocations.html", allocationsPage{
		Title: s.cfg.Title, Refresh: s.refreshSeconds(), Nav: "allocations",
		Summary: s.summaryOf(v), Miners: allocatedRows(v.snap),
	})
}

func allocatedRows(snap *snapshot) []minerRow {
	out := []minerRow{}
	for _, m := range snap.Miners {
		if m.Allocated {
			out = append(out, m)
		}
	}
	return out
}

func (s *Server) apiSummary(w http.ResponseWriter, r *http.Request) {
	if v, ok := s.load(w, r); ok {
		s.writeJSON(w, s.summaryOf(v))
	}
}

func (s *Server) apiMiners(w http.ResponseWriter, r *http.Request) {
	v, ok := s.load(w, r)
	if !ok {
		return
	}
	o := parseSort(r.URL.Query().Get("sort"), r.URL.Query().Get("dir"))
	s.writeJSON(w, struct {
		Time   time.Time  `json:"time"`
		Sort   string     `json:"sort"`
		Dir    string     `json:"dir"`
		Miners []minerRow `json:"miners"`
	}{v.snap.At, o.Col, o.Dir(), sortRows(v.snap.Miners, o)})
}

func (s *Server) apiAllocations(w http.ResponseWriter, r *http.Request) {
	v, ok := s.load(w, r)
	if !ok {
		return
	}
	s.writeJSON(w, struct {
		Time        time.Time  `json:"time"`
		Allocations []minerRow `json:"allocations"`
	}{v.snap.At, allocatedRows(v.snap)})
}

func (s *Server) apiVerdicts(w http.ResponseWriter, r *http.Request) {
	v, ok := s.load(w, r)
	if !ok {
		return
	}
	s.writeJSON(w, struct {
		Time     time.Time `json:"time"`
		Verdicts []proof   `json:"verdicts"`
	}{v.snap.At, v.snap.Verdicts})
}

func (s *Server) apiHistory(w http.ResponseWriter, r *http.Request) {
	if _, ok := s.load(w, r); !ok {
		return
	}
	s.writeJSON(w, struct {
		RefreshSeconds int     `json:"refresh_seconds"`
		Points         []point `json:"points"`
	}{s.refreshSeconds(), s.history()})
}

func (s *Server) refreshSeconds() int { return int(s.cfg.Refresh.Round(time.Second) / time.Second) }

func (s *Server) writeJSON(w http.ResponseWriter, v any) {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		s.log.Error("dashboard encode json", "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(append(b, '\n'))
}

// render executes a page into a buffer first, so a template error becomes
// a 500 rather than half a page.
func (s *Server) render(w http.ResponseWriter, name string, data any) {
	var buf bytes.Buffer
	if err := s.tmpl.ExecuteTemplate(&buf, name, data); err != nil {
		s.log.Error("dashboard render", "page", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(buf.Bytes())
}

func parseTemplates() (*template.Template, error) {
	return template.New("").Funcs(template.FuncMap{
		"short":   shortKey,
		"pct":     func(f float64) string { return fmt.Sprintf("%.1f%%", f*100) },
		"pct2":    func(f float64) string { return fmt.Sprintf("%.2f%%", f*100) },
		"f1":      func(f float64) string { return fmt.Sprintf("%.1f", f) },
		"f2":      func(f float64) string { return fmt.Sprintf("%.2f", f) },
		"f4":      func(f float64) string { return fmt.Sprintf("%.4f", f) },
		"gpus":    gpuText,
		"cpu":     cpuText,
		"bytes":   bytesText,
		"timefmt": func(t time.Time) string { return t.Format("2006-01-02 15:04:05 MST") },
	}).ParseFS(assets, "assets/templates/*.html")
}

// shortKey abbreviates an SS58 key to its first 6 and last 4 characters.
func shortKey(k string) string {
	r := []rune(k)
	if len(r) <= 12 {
		return k
	}
	return string(r[:6]) + "…" + string(r[len(r)-4:])
}

func gpuText(m minerRow) string {
	if !m.HasSpecs {
		return "—"
	}
	if m.GPUCount == 0 {
		return "no GPU"
	}
	parts := make([]string, len(m.GPUs))
	for i, g := range m.GPUs {
		parts[i] = fmt.Sprintf("%d× %s", g.Count, g.Model)
	}
	s := strings.Join(parts, ", ")
	if m.GPUMiB > 0 {
		s += fmt.Sprintf(" (%.0f GiB)", float64(m.GPUMiB)/1024)
	}
	return s
}

func cpuText(m minerRow) string {
	if !m.HasSpecs {
		return "—"
	}
	if m.CPUMHz > 0 {
		return fmt.Sprintf("%d cores @ %.1f GHz", m.CPUCores, m.CPUMHz/1000)
	}
	return fmt.Sprintf("%d cores", m.CPUCores)
}

func bytesText(n int64) string {
	if n <= 0 {
		return "—"
	}
	return fmt.Sprintf("%.0f GiB", float64(n)/(1<<30))
}
