package console

import (
	"math"
	"testing"
)

func TestBarChart(t *testing.T) {
	c := newBarChart("c", []string{"a", "b", "empty"}, []sevCounts{
		{Critical: 2, High: 2},
		{Low: 1},
		{},
	})
	if len(c.Rows) != 3 || c.Max != 4 {
		t.Fatalf("rows %d max %d", len(c.Rows), c.Max)
	}
	span := barChartW - barLabelW - barTotalW
	a := c.Rows[0]
	if len(a.Segments) != 2 || a.Segments[0].Sev != "critical" || a.Segments[1].Sev != "high" {
		t.Fatalf("row a segments %+v", a.Segments)
	}
	// The longest bar fills the span; segments abut.
	if got := a.Segments[0].W + a.Segments[1].W; math.Abs(got-span) > 0.2 {
		t.Errorf("full bar width %v, want %v", got, span)
	}
	if a.Segments[1].X != round1(a.Segments[0].X+a.Segments[0].W) {
		t.Errorf("segments do not abut: %+v", a.Segments)
	}
	if got := c.Rows[1].Segments[0].W; math.Abs(got-span/4) > 0.2 {
		t.Errorf("1 of 4 is %v wide, want %v", got, span/4)
	}
	if len(c.Rows[2].Segments) != 0 || c.Rows[2].Total != 0 {
		t.Errorf("empty row %+v", c.Rows[2])
	}
	if c.Rows[1].Y <= c.Rows[0].Y || c.H < c.Rows[2].Y+barH {
		t.Errorf("rows overlap or overflow: %+v, height %v", c.Rows, c.H)
	}
	// No counts at all: no segments, no division by zero.
	z := newBarChart("z", []string{"x"}, []sevCounts{{}})
	if len(z.Rows[0].Segments) != 0 {
		t.Errorf("zero chart has segments")
	}
}

func TestColChart(t *testing.T) {
	days := []string{"2026-11-01", "2026-11-02", "2026-11-03"}
	c := newColChart("t", days, []sevCounts{{Low: 1, Critical: 1}, {}, {High: 7}})
	if top := niceMax(7); top != 10 {
		t.Fatalf("niceMax(7) = %d", top)
	}
	if len(c.Cols) != 3 || c.Max != 7 {
		t.Fatalf("cols %d max %d", len(c.Cols), c.Max)
	}
	first := c.Cols[0]
	// Stacked from the bottom: low first, critical above it.
	if first.Segments[0].Sev != "low" || first.Segments[1].Sev != "critical" {
		t.Fatalf("stack order %+v", first.Segments)
	}
	if bottom := first.Segments[0].Y + first.Segments[0].H; math.Abs(bottom-c.PlotBottom) > 0.2 {
		t.Errorf("lowest segment ends at %v, want the axis %v", bottom, c.PlotBottom)
	}
	h7 := c.Cols[2].Segments[0].H
	if want := (c.PlotBottom - c.PlotTop) * 0.7; math.Abs(h7-want) > 0.2 {
		t.Errorf("7 of 10 is %v high, want %v", h7, want)
	}
	if c.Cols[2].Tick != "11-03" {
		t.Errorf("the last day is labelled %q", c.Cols[2].Tick)
	}
	for _, g := range c.Grid {
		if g.Y < c.PlotTop-0.1 || g.Y > c.PlotBottom+0.1 {
			t.Errorf("grid line %+v outside the plot", g)
		}
	}
	// Labels are thinned to about seven whatever the number of days.
	many := make([]string, 90)
	for i := range many {
		many[i] = "2026-01-01"
	}
	ticks := 0
	for _, col := range newColChart("m", many, make([]sevCounts, 90)).Cols {
		if col.Tick != "" {
			ticks++
		}
	}
	if ticks < 5 || ticks > 9 {
		t.Errorf("%d labels for 90 days", ticks)
	}
	if e := newColChart("e", nil, nil); len(e.Cols) != 0 || len(e.Grid) != 1 {
		t.Errorf("empty chart %+v", e)
	}
}

func TestNiceMax(t *testing.T) {
	for n, want := range map[int]int{0: 0, 1: 2, 2: 2, 3: 4, 5: 10, 11: 20, 20: 20, 21: 40, 99: 100, 101: 200, 999: 1000, 1001: 2000} {
		if got := niceMax(n); got != want || got < n || got%2 != 0 {
			t.Errorf("niceMax(%d) = %d, want %d", n, got, want)
		}
	}
}
