package dashboard

import (
	"cmp"
	"fmt"
	"html"
	"html/template"
	"math"
	"slices"
	"strings"
	"time"
)

// Chart geometry, in SVG user units; the SVG scales to its container.
const (
	chartW, chartH                 = 640.0, 240.0
	padL, padR, padT, padB         = 58.0, 14.0, 12.0, 30.0
	plotW, plotH                   = chartW - padL - padR, chartH - padT - padB
	maxWeightLines                 = 8
	chartClass                     = "chart"
	noData                         = "no data yet"
	yTicks                         = 4
	timeLayout                     = "15:04:05"
	histogramColor, attemptsColor  = "#4e79a7", "#9c9c9c"
	successesColor, gridLineColour = "#59a14f", "#d9d9d9"
)

// palette colours the weight lines; fixed values, never user data.
var palette = []string{"#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7"}

// series is one line of a line chart: a value per history point, NaN where
// the series has none.
type series struct {
	Label  string
	Color  string
	Values []float64
}

// legendItem is one entry of a chart legend, rendered in HTML next to the
// SVG.
type legendItem struct {
	Label string
	Color string
}

// chart is a rendered chart for the template.
type chart struct {
	ID     string
	Title  string
	Note   string
	SVG    template.HTML
	Legend []legendItem
}

// svgOpen starts an SVG with an accessible title.
func svgOpen(b *strings.Builder, id, title string) {
	fmt.Fprintf(b, `<svg id="%s" class="%s" viewBox="0 0 %g %g" role="img" aria-labelledby="%s-t" xmlns="http://www.w3.org/2000/svg">`,
		html.EscapeString(id), chartClass, chartW, chartH, html.EscapeString(id))
	fmt.Fprintf(b, `<title id="%s-t">%s</title>`, html.EscapeString(id), html.EscapeString(title))
}

// yAxis draws horizontal grid lines and labels from 0 to top.
func yAxis(b *strings.Builder, top float64, label func(float64) string) {
	for i := 0; i <= yTicks; i++ {
		v := top * float64(i) / yTicks
		y := padT + plotH - plotH*float64(i)/yTicks
		fmt.Fprintf(b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%s" stroke-width="1"/>`, padL, y, padL+plotW, y, gridLineColour)
		fmt.Fprintf(b, `<text x="%.1f" y="%.1f" text-anchor="end" font-size="13" fill="#555">%s</text>`, padL-6, y+4, html.EscapeString(label(v)))
	}
}

func emptyChart(b *strings.Builder) {
	fmt.Fprintf(b, `<text x="%.1f" y="%.1f" text-anchor="middle" font-size="14" fill="#777">%s</text>`, chartW/2, chartH/2, noData)
}

// lineChart draws series over the history times.
func lineChart(id, title string, times []time.Time, ss []series, top float64, label func(float64) string) template.HTML {
	var b strings.Builder
	svgOpen(&b, id, title)
	if len(times) == 0 || len(ss) == 0 {
		emptyChart(&b)
		b.WriteString(`</svg>`)
		return template.HTML(b.String())
	}
	top = niceCeil(top)
	yAxis(&b, top, label)
	x := func(i int) float64 {
		if len(times) == 1 {
			return padL + plotW/2
		}
		t0, t1 := times[0], times[len(times)-1]
		span := t1.Sub(t0).Seconds()
		if span <= 0 {
			return padL + plotW*float64(i)/float64(len(times)-1)
		}
		return padL + plotW*times[i].Sub(t0).Seconds()/span
	}
	y := func(v float64) float64 { return padT + plotH - plotH*math.Min(v, top)/top }
	for _, s := range ss {
		var pts []string
		flush := func() {
			switch len(pts) {
			case 0:
			case 1:
				xy := strings.Split(pts[0], ",")
				fmt.Fprintf(&b, `<circle cx="%s" cy="%s" r="3" fill="%s"/>`, xy[0], xy[1], s.Color)
			default:
				fmt.Fprintf(&b, `<polyline fill="none" stroke="%s" stroke-width="2" stroke-linejoin="round" points="%s"/>`, s.Color, strings.Join(pts, " "))
			}
			pts = pts[:0]
		}
		for i, v := range s.Values {
			if math.IsNaN(v) {
				flush()
				continue
			}
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", x(i), y(v)))
		}
		flush()
	}
	fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" font-size="13" fill="#555">%s</text>`, padL, chartH-8, times[0].Format(timeLayout))
	if len(times) > 1 {
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="end" font-size="13" fill="#555">%s</text>`, padL+plotW, chartH-8, times[len(times)-1].Format(timeLayout))
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// weightChart draws the weight of the miners with the highest current
// weight over the history.
func weightChart(hist []point, cur *snapshot) chart {
	c := chart{ID: "chart-weights", Title: "Weight per miner over time",
		Note: fmt.Sprintf("normalised weight the validator would set; the %d miners with the highest current weight", maxWeightLines)}
	best := append([]minerRow(nil), cur.Miners...)
	slices.SortStableFunc(best, func(a, b minerRow) int { return cmp.Compare(b.Weight, a.Weight) })
	best = best[:min(len(best), maxWeightLines)]
	times := make([]time.Time, len(hist))
	for i, p := range hist {
		times[i] = p.Time
	}
	var ss []series
	hi := 0.0
	for i, m := range best {
		s := series{Label: fmt.Sprintf("uid %d", m.UID), Color: palette[i%len(palette)], Values: make([]float64, len(hist))}
		for j, p := range hist {
			w, ok := p.Weights[m.UID]
			if !ok {
				w = math.NaN()
			} else {
				hi = max(hi, w)
			}
			s.Values[j] = w
		}
		ss = append(ss, s)
		c.Legend = append(c.Legend, legendItem{Label: s.Label, Color: s.Color})
	}
	top := niceCeil(hi)
	format := "%.0f%%"
	if top*100/yTicks != math.Trunc(top*100/yTicks) {
		format = "%.1f%%"
	}
	c.SVG = lineChart(c.ID, c.Title, times, ss, top, func(v float64) string { return fmt.Sprintf(format, v*100) })
	return c
}

// roundsChart draws the challenges and successes in the stats window over
// the history.
func roundsChart(hist []point) chart {
	c := chart{ID: "chart-rounds", Title: "Challenges and successes over time",
		Note:   "challenges sent and solved in the validator's stats window (12 h), all miners",
		Legend: []legendItem{{"challenges", attemptsColor}, {"successes", successesColor}}}
	times := make([]time.Time, len(hist))
	att := series{Label: "challenges", Color: attemptsColor, Values: make([]float64, len(hist))}
	suc := series{Label: "successes", Color: successesColor, Values: make([]float64, len(hist))}
	hi := 0.0
	for i, p := range hist {
		times[i] = p.Time
		att.Values[i], suc.Values[i] = float64(p.Attempts), float64(p.Successes)
		hi = max(hi, att.Values[i], suc.Values[i])
	}
	c.SVG = lineChart(c.ID, c.Title, times, []series{att, suc}, hi, func(v float64) string { return compact(v) })
	return c
}

// latencyChart draws the histogram of the miners' mean solve times.
func latencyChart(bins []bin) chart {
	c := chart{ID: "chart-latency", Title: "Challenge latency distribution",
		Note: "miners by mean solve time of their successful challenges in the stats window"}
	var b strings.Builder
	svgOpen(&b, c.ID, c.Title)
	if len(bins) == 0 {
		emptyChart(&b)
		b.WriteString(`</svg>`)
		c.SVG = template.HTML(b.String())
		return c
	}
	hi := 0
	for _, x := range bins {
		hi = max(hi, x.Count)
	}
	// Whole numbers of miners on every grid line.
	top := float64(max(1, (hi+yTicks-1)/yTicks) * yTicks)
	yAxis(&b, top, func(v float64) string { return compact(v) })
	bw := plotW / float64(len(bins))
	for i, x := range bins {
		h := plotH * float64(x.Count) / top
		fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"><title>%s–%s s: %d miners</title></rect>`,
			padL+bw*float64(i)+1, padT+plotH-h, bw-2, h, histogramColor, compact(x.Lo), compact(x.Hi), x.Count)
	}
	for i := 0; i <= len(bins); i += max(1, len(bins)/5) {
		lo := bins[0].Lo
		if i < len(bins) {
			lo = bins[i].Lo
		} else {
			lo = bins[len(bins)-1].Hi
		}
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="middle" font-size="13" fill="#555">%ss</text>`, padL+bw*float64(i), chartH-8, compact(lo))
	}
	b.WriteString(`</svg>`)
	c.SVG = template.HTML(b.String())
	return c
}

// compact formats a non-negative number with at most 3 significant digits.
func compact(v float64) string {
	switch {
	case v >= 1e6:
		return fmt.Sprintf("%.3gM", v/1e6)
	case v >= 1e3:
		return fmt.Sprintf("%.3gk", v/1e3)
	default:
		return fmt.Sprintf("%.3g", v)
	}
}
