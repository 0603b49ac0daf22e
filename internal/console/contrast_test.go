package console

import (
	"math"
	"regexp"
	"strconv"
	"testing"
)

// palette reads the custom properties of :root in console.css.
func palette(t *testing.T) map[string][3]float64 {
	t.Helper()
	css, err := files.ReadFile("static/console.css")
	if err != nil {
		t.Fatal(err)
	}
	root := regexp.MustCompile(`(?s):root\s*\{(.*?)\}`).FindSubmatch(css)
	if root == nil {
		t.Fatal("no :root block in console.css")
	}
	out := map[string][3]float64{}
	for _, m := range regexp.MustCompile(`--([a-z0-9-]+):\s*#([0-9a-fA-F]{6})\s*;`).FindAllStringSubmatch(string(root[1]), -1) {
		var rgb [3]float64
		for i := range 3 {
			v, _ := strconv.ParseUint(m[2][2*i:2*i+2], 16, 8)
			rgb[i] = float64(v)
		}
		out[m[1]] = rgb
	}
	return out
}

// luminance is the WCAG 2 relative luminance of an sRGB colour.
func luminance(c [3]float64) float64 {
	var l [3]float64
	for i, v := range c {
		v /= 255
		if v <= 0.04045 {
			l[i] = v / 12.92
		} else {
			l[i] = math.Pow((v+0.055)/1.055, 2.4)
		}
	}
	return 0.2126*l[0] + 0.7152*l[1] + 0.0722*l[2]
}

// contrast is the WCAG 2 contrast ratio of two colours.
func contrast(a, b [3]float64) float64 {
	la, lb := luminance(a), luminance(b)
	if la < lb {
		la, lb = lb, la
	}
	return (la + 0.05) / (lb + 0.05)
}

func TestContrastFormula(t *testing.T) {
	black, white := [3]float64{0, 0, 0}, [3]float64{255, 255, 255}
	if got := contrast(black, white); math.Abs(got-21) > 1e-9 {
		t.Errorf("black on white = %v, want 21", got)
	}
	if got := contrast(white, white); got != 1 {
		t.Errorf("white on white = %v, want 1", got)
	}
	// #767676 on white is the classic 4.54:1.
	if got := contrast([3]float64{0x76, 0x76, 0x76}, white); math.Abs(got-4.54) > 0.01 {
		t.Errorf("#767676 on white = %.3f, want 4.54", got)
	}
}

// TestPaletteContrast checks every foreground/background pair the
// stylesheet uses: text at 4.5:1 (WCAG AA), graphics and control borders
// at 3:1 (WCAG 1.4.11).
func TestPaletteContrast(t *testing.T) {
	p := palette(t)
	text := [][2]string{
		{"fg", "bg"}, {"fg", "surface"}, {"fg", "code-bg"}, {"muted", "bg"}, {"muted", "surface"},
		{"link", "bg"}, {"link", "surface"}, {"accent-fg", "accent"}, {"danger-fg", "danger"},
		{"nav-fg", "nav-bg"}, {"nav-fg", "nav-current"}, {"nav-bg", "nav-fg"},
		{"ok-fg", "ok-bg"}, {"error-fg", "error-bg"}, {"note-fg", "note-bg"},
		{"state-online", "bg"}, {"state-silent", "bg"}, {"state-revoked", "bg"},
	}
	for _, sev := range severities {
		text = append(text, [2]string{"sev-fg", "sev-" + sev})
	}
	graphics := [][2]string{{"border", "bg"}, {"border", "surface"}, {"focus", "bg"}, {"focus", "surface"}, {"nav-fg", "nav-bg"}}
	for _, sev := range severities {
		graphics = append(graphics, [2]string{"sev-" + sev, "bg"}, [2]string{"sev-" + sev, "surface"})
	}
	check := func(pairs [][2]string, min float64) {
		for _, pr := range pairs {
			fg, ok1 := p[pr[0]]
			bg, ok2 := p[pr[1]]
			if !ok1 || !ok2 {
				t.Errorf("--%s or --%s is not a colour of :root", pr[0], pr[1])
				continue
			}
			if r := contrast(fg, bg); r < min {
				t.Errorf("--%s on --%s: %.2f:1, want at least %.1f:1", pr[0], pr[1], r, min)
			} else {
				t.Logf("--%s on --%s: %.2f:1", pr[0], pr[1], r)
			}
		}
	}
	check(text, 4.5)
	check(graphics, 3)

	// Every colour used for text in the stylesheet is in a checked pair.
	css, _ := files.ReadFile("static/console.css")
	checked := map[string]bool{}
	for _, pr := range text {
		checked[pr[0]] = true
	}
	for _, m := range regexp.MustCompile(`(?m)(?:^|[;{\s])color:\s*var\(--([a-z0-9-]+)\)`).FindAllStringSubmatch(string(css), -1) {
		if !checked[m[1]] {
			t.Errorf("text colour --%s is in no checked pair", m[1])
		}
	}
	// No literal colours outside :root, so the pairs above are all there is.
	body := regexp.MustCompile(`(?s):root\s*\{.*?\}`).ReplaceAllString(string(css), "")
	if m := regexp.MustCompile(`#[0-9a-fA-F]{3,6}\b|rgba?\(`).FindString(body); m != "" {
		t.Errorf("literal colour %s outside :root", m)
	}
}
