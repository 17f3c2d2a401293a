package report

import (
	"math"
	"strconv"
	"strings"
)

// Chart is an inline SVG chart as plain geometry; the page templates draw it, so every label is
// escaped like any other value. Coordinates are in the chart's viewBox (Width × Height).
type Chart struct {
	Width, Height float64
	// Label describes the chart for assistive technology.
	Label string
	// Grid are horizontal grid lines (Pos is y) labelled with their value at the left.
	Grid []Tick
	// XTicks are labels below the plot (Pos is x; Anchor is start, middle or end).
	XTicks []Tick
	Bars   []Bar
	Lines  []Line
	Areas  []Line
	Dots   []Dot
	// PlotLeft, PlotRight and Baseline bound the plot area.
	PlotLeft, PlotRight, Baseline float64
}

// Tick is a labelled position on an axis.
type Tick struct {
	Pos    float64
	Label  string
	Anchor string
}

// Bar is one bar; Title is its tooltip and Class its style (e.g. "partial", "current").
type Bar struct {
	X, Y, W, H float64
	Title      string
	Class      string
}

// Line is a polyline (or, as an area, a closed polygon) given as SVG points.
type Line struct {
	Points string
	Class  string
}

// Dot is a marked point with an optional label.
type Dot struct {
	X, Y   float64
	Label  string
	Anchor string
	LabelY float64
}

// round1 keeps one decimal: enough for a viewBox, and short in the page.
func round1(v float64) float64 { return math.Round(v*10) / 10 }

// niceScale returns a round axis maximum at or above top and its step (about 4 steps).
func niceScale(top float64) (float64, float64) {
	if !(top > 0) {
		return 1, 0.25
	}
	raw := top / 4
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	step := mag * 10
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if m*mag >= raw {
			step = m * mag
			break
		}
	}
	return step * math.Ceil(top/step-1e-9), step
}

func maxOf(vals []float64) float64 {
	m := 0.0
	for _, v := range vals {
		if !math.IsNaN(v) && v > m {
			m = v
		}
	}
	return m
}

// frame holds the plot geometry shared by bar and line charts.
type frame struct {
	w, h, left, right, top, bottom, max float64
}

func newFrame(w, h float64, vals []float64) (frame, []Tick) {
	f := frame{w: w, h: h, left: 36, right: 6, top: 10, bottom: 22}
	top, step := niceScale(maxOf(vals))
	f.max = top
	var grid []Tick
	for v := 0.0; v <= top+step/2; v += step {
		grid = append(grid, Tick{Pos: f.y(v), Label: compact(v)})
	}
	return f, grid
}

func (f frame) y(v float64) float64 {
	return round1(f.top + (f.h-f.top-f.bottom)*(1-v/f.max))
}

func (f frame) chart(label string, grid []Tick) Chart {
	return Chart{Width: f.w, Height: f.h, Label: label, Grid: grid,
		PlotLeft: f.left, PlotRight: f.w - f.right, Baseline: f.y(0)}
}

// barChart draws one bar per value (NaN: no bar); titles are the bars' tooltips and classes
// their styles.
func barChart(label string, vals []float64, titles, classes []string, xticks map[int]string) Chart {
	f, grid := newFrame(360, 150, vals)
	c := f.chart(label, grid)
	slot := (f.w - f.left - f.right) / float64(max(len(vals), 1))
	for i, v := range vals {
		x := f.left + slot*float64(i)
		if lbl, ok := xticks[i]; ok {
			c.XTicks = append(c.XTicks, Tick{Pos: round1(x + slot/2), Label: lbl, Anchor: anchorFor(i, len(vals))})
		}
		if math.IsNaN(v) {
			continue
		}
		y := f.y(v)
		c.Bars = append(c.Bars, Bar{X: round1(x + slot*0.15), Y: y, W: round1(slot * 0.7), H: round1(c.Baseline - y),
			Title: titles[i], Class: classes[i]})
	}
	return c
}

func anchorFor(i, n int) string {
	switch {
	case i == 0:
		return "start"
	case i == n-1:
		return "end"
	}
	return "middle"
}

// lineChart draws vals over the day (one point per 5 minutes) with hour labels and a dot at the
// peak labelled peakLabel.
func lineChart(label string, vals []float64, peakLabel string) Chart {
	f, grid := newFrame(360, 150, vals)
	c := f.chart(label, grid)
	step := (f.w - f.left - f.right) / float64(max(len(vals)-1, 1))
	var pts []string
	peak := -1
	for i, v := range vals {
		pts = append(pts, point(f.left+step*float64(i), f.y(v)))
		if peak < 0 || v > vals[peak] {
			peak = i
		}
	}
	if len(pts) == 0 {
		return c
	}
	c.Lines = []Line{{Points: strings.Join(pts, " "), Class: "curve"}}
	area := append([]string{point(f.left, c.Baseline)}, pts...)
	area = append(area, point(f.left+step*float64(len(vals)-1), c.Baseline))
	c.Areas = []Line{{Points: strings.Join(area, " "), Class: "curve"}}
	for h := 0; h <= 24; h += 6 {
		c.XTicks = append(c.XTicks, Tick{Pos: round1(f.left + step*float64(h*12)), Label: twoDigits(h) + ":00", Anchor: anchorFor(h/6, 5)})
	}
	px, py := round1(f.left+step*float64(peak)), f.y(vals[peak])
	anchor := "middle"
	if px < f.left+50 {
		anchor = "start"
	} else if px > f.w-f.right-50 {
		anchor = "end"
	}
	c.Dots = []Dot{{X: px, Y: py, Label: peakLabel, Anchor: anchor, LabelY: round1(math.Max(py-6, 9))}}
	return c
}

// sparkline draws a small line over vals; NaN values break it.
func sparkline(label string, vals []float64) Chart {
	const w, h, pad = 96.0, 24.0, 3.0
	c := Chart{Width: w, Height: h, Label: label}
	top := maxOf(vals)
	if top <= 0 {
		top = 1
	}
	step := (w - 2*pad) / float64(max(len(vals)-1, 1))
	var seg []string
	flush := func() {
		if len(seg) > 1 {
			c.Lines = append(c.Lines, Line{Points: strings.Join(seg, " "), Class: "spark"})
		}
		seg = nil
	}
	for i, v := range vals {
		if math.IsNaN(v) {
			flush()
			continue
		}
		x, y := pad+step*float64(i), pad+(h-2*pad)*(1-v/top)
		seg = append(seg, point(x, y))
		if i == len(vals)-1 {
			c.Dots = []Dot{{X: round1(x), Y: round1(y)}}
		}
	}
	flush()
	return c
}

func point(x, y float64) string {
	return strconv.FormatFloat(round1(x), 'f', -1, 64) + "," + strconv.FormatFloat(round1(y), 'f', -1, 64)
}

func twoDigits(n int) string {
	if n < 10 {
		return "0" + strconv.Itoa(n)
	}
	return strconv.Itoa(n)
}
