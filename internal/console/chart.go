package console

import (
	"math"
	"strconv"
)

// severities, highest first: the order of every legend and stack.
var severities = []string{"critical", "high", "medium", "low", "unknown"}

// findingKinds are the kinds the overview counts.
var findingKinds = []string{"vulnerability", "misconfiguration", "secret", "alert"}

// Charts are computed here and drawn by the templates as inline SVG:
// geometry in Go (tested), markup and escaping in html/template. Every
// chart has a title and description for assistive technology and a data
// table next to it.

// segment is one coloured piece of a bar.
type segment struct {
	X, Y, W, H float64
	Sev        string // CSS class suffix: a severity
	Value      int
}

// barRow is one horizontal stacked bar.
type barRow struct {
	Label    string
	Y        float64
	Total    int
	Segments []segment
}

// barChart is a horizontal stacked bar chart of counts by severity.
type barChart struct {
	ID         string
	W, H       float64
	LabelW     float64 // width of the label column
	BarH       float64
	Rows       []barRow
	Max        int
	TotalLabel float64 // x of the totals
}

const (
	barChartW  = 640.0
	barLabelW  = 150.0
	barTotalW  = 60.0
	barH       = 24.0
	barGap     = 14.0
	chartPadY  = 10.0
	colChartW  = 640.0
	colChartH  = 220.0
	colPadL    = 44.0
	colPadB    = 28.0
	colPadT    = 12.0
	minBarPart = 0.0
)

// newBarChart lays out one row per label; counts[i] are the row's
// severities.
func newBarChart(id string, labels []string, counts []sevCounts) barChart {
	c := barChart{ID: id, W: barChartW, LabelW: barLabelW, BarH: barH, TotalLabel: barChartW - barTotalW + 8}
	for _, sc := range counts {
		c.Max = max(c.Max, sc.Total())
	}
	span := barChartW - barLabelW - barTotalW
	for i, label := range labels {
		y := chartPadY + float64(i)*(barH+barGap)
		row := barRow{Label: label, Y: y, Total: counts[i].Total()}
		x := barLabelW
		for _, sev := range severities {
			n := counts[i].of(sev)
			if n == 0 || c.Max == 0 {
				continue
			}
			w := round1(span * float64(n) / float64(c.Max))
			row.Segments = append(row.Segments, segment{X: round1(x), Y: y, W: w, H: barH, Sev: sev, Value: n})
			x += w
		}
		c.Rows = append(c.Rows, row)
	}
	c.H = 2*chartPadY + float64(len(labels))*(barH+barGap) - barGap
	return c
}

// column is one day of the trend chart.
type column struct {
	Label    string
	X, W     float64
	Total    int
	Segments []segment
	Tick     string  // the short label drawn under it ("" for none)
	TickX    float64 // the middle of the column
}

// colChart is a stacked column chart of counts by severity per day.
type colChart struct {
	ID         string
	W, H       float64
	PlotX      float64
	PlotBottom float64
	PlotTop    float64
	Cols       []column
	Max        int
	Grid       []gridLine
}

// gridLine is a horizontal value line with its label.
type gridLine struct {
	Y     float64
	Value int
}

// newColChart lays out one column per day.
func newColChart(id string, days []string, counts []sevCounts) colChart {
	c := colChart{ID: id, W: colChartW, H: colChartH, PlotX: colPadL, PlotBottom: colChartH - colPadB, PlotTop: colPadT}
	for _, sc := range counts {
		c.Max = max(c.Max, sc.Total())
	}
	top := niceMax(c.Max)
	plotH := c.PlotBottom - c.PlotTop
	for _, v := range []int{0, top / 2, top} {
		if v == 0 && top == 0 {
			c.Grid = append(c.Grid, gridLine{Y: c.PlotBottom, Value: 0})
			break
		}
		c.Grid = append(c.Grid, gridLine{Y: round1(c.PlotBottom - plotH*float64(v)/float64(top)), Value: v})
	}
	n := len(days)
	if n == 0 {
		return c
	}
	slot := (colChartW - colPadL - 8) / float64(n)
	w := round1(math.Max(1, slot*0.7))
	every := max(1, (n+6)/7) // at most about 7 labels
	for i, day := range days {
		x := round1(colPadL + float64(i)*slot + (slot-w)/2)
		col := column{Label: day, X: x, W: w, Total: counts[i].Total(), TickX: round1(x + w/2)}
		if (n-1-i)%every == 0 { // the last day always has its label
			col.Tick = shortDay(day)
		}
		y := c.PlotBottom
		// Lowest severity at the bottom, highest on top.
		for j := len(severities) - 1; j >= 0; j-- {
			sev := severities[j]
			v := counts[i].of(sev)
			if v == 0 || top == 0 {
				continue
			}
			h := plotH * float64(v) / float64(top)
			y -= h
			col.Segments = append(col.Segments, segment{X: x, Y: round1(y), W: w, H: round1(h), Sev: sev, Value: v})
		}
		c.Cols = append(c.Cols, col)
	}
	return c
}

// shortDay drops the year of a YYYY-MM-DD day.
func shortDay(day string) string {
	if len(day) == 10 && day[4] == '-' {
		return day[5:]
	}
	return day
}

// niceMax rounds a maximum up to 1, 2 or 5 times a power of ten (an even
// number, so that the middle grid line is whole).
func niceMax(n int) int {
	if n <= 0 {
		return 0
	}
	if n <= 2 {
		return 2
	}
	p := 1
	for p*10 <= n {
		p *= 10
	}
	for _, m := range []int{1, 2, 4, 5, 10} {
		if v := m * p; v >= n && v%2 == 0 {
			return v
		}
	}
	return 10 * p
}

func round1(f float64) float64 { return math.Round(f*10) / 10 }

// num formats a chart coordinate.
func num(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }
