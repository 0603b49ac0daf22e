package console

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// view is what every template gets.
type view struct {
	Lang         lang
	Title        string
	Nav          string // the section of the page, for aria-current
	Version      string
	AssetVersion string
	Path         string // this page's URI, where the language switcher returns
	S            *session
	Page         any
}

// Live says the page offers to refresh itself: the pages that change while
// one watches them (the overview, events, agents).
func (v *view) Live() bool {
	return v.S != nil && (v.Nav == "overview" || v.Nav == "events" || v.Nav == "agents")
}

// pageNames are the templates that render a whole page.
var pageNames = []string{
	"login", "error", "overview", "assets", "asset", "vulns", "vuln", "findings", "finding", "events",
	"agents", "users", "tokens", "audit", "notifications",
}

// parseTemplates parses the layout with each page.
func (c *Console) parseTemplates() {
	base := template.New("base").Funcs(baseFuncs(langEN))
	base = template.Must(base.ParseFS(files, "templates/layout.html", "templates/parts.html"))
	c.base = base
	c.pages = map[string]*template.Template{}
	for _, name := range pageNames {
		t := template.Must(base.Clone())
		c.pages[name] = template.Must(t.ParseFS(files, "templates/"+name+".html"))
	}
}

// templateFiles lists the embedded templates (for tests).
func templateFiles() []string {
	names, _ := fs.Glob(files, "templates/*.html")
	return names
}

// baseFuncs are the template functions; t and label translate into l.
func baseFuncs(l lang) template.FuncMap {
	return template.FuncMap{
		"t":          func(key string, args ...any) string { return l.t(key, args...) },
		"label":      func(prefix, v string) string { return l.label(prefix, v) },
		"time":       fmtTime,
		"ptime":      func(t *time.Time) string { return fmtTimeP(t) },
		"date":       func(t time.Time) string { return t.UTC().Format(time.DateOnly) },
		"risk":       func(f float64) string { return strconv.FormatFloat(f, 'f', 1, 64) },
		"num":        num,
		"bytes":      fmtBytes,
		"seconds":    func(f float64) string { return strconv.FormatFloat(f, 'f', 1, 64) },
		"pct":        func(f float64) string { return strconv.FormatFloat(f*100, 'f', 1, 64) + "%" },
		"labels":     fmtLabels,
		"short":      shortID,
		"join":       strings.Join,
		"esc":        url.PathEscape,
		"severities": func() []string { return severities },
		"sevClass":   sevClass,
		"add":        func(a, b int) int { return a + b },
		"contains":   slices.Contains[[]string],
		"sub":        func(a, b, c float64) float64 { return a - b - c },
		"list":       func(v ...string) []string { return v },
		"dict":       dict,
		"statuses":   func() []string { return statuses },
		"roles":      func() []string { return roles },
		"langs":      func() []lang { return langs },
		"langName":   func(x lang) string { return langNames[x] },
		"deref":      func(b *bool) bool { return b != nil && *b },
		"summary":    func(raw json.RawMessage) string { return jsonSummary(raw, 300) },
		"alert": func(kind string, raw json.RawMessage) *alertView {
			if v, ok := parseAlert(kind, raw); ok {
				return &v
			}
			return nil
		},
		"navItem": func(v *view, name, href string) navLink {
			return navLink{Name: name, Href: href, Label: l.t("nav." + name), Current: v.Nav == name}
		},
	}
}

// navLink is one entry of the main navigation.
type navLink struct {
	Name, Href, Label string
	Current           bool
}

// navSections are the main navigation's sections (each has a "nav." key).
var navSections = []string{"overview", "assets", "vulnerabilities", "findings", "events", "agents", "settings"}

// langNames name each language in itself.
var langNames = map[lang]string{langEN: "English", langZH: "简体中文"}

// dict makes a map of key, value pairs for a sub-template.
func dict(kv ...any) (map[string]any, error) {
	if len(kv)%2 != 0 {
		return nil, errors.New("dict: odd number of arguments")
	}
	m := make(map[string]any, len(kv)/2)
	for i := 0; i < len(kv); i += 2 {
		k, ok := kv[i].(string)
		if !ok {
			return nil, errors.New("dict: key is not a string")
		}
		m[k] = kv[i+1]
	}
	return m, nil
}

// render executes a page template with the request's language.
func (c *Console) render(w http.ResponseWriter, r *http.Request, status int, name string, v *view) {
	t, err := c.pages[name].Clone()
	if err != nil {
		c.log.ErrorContext(r.Context(), "clone template", "page", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	t.Funcs(baseFuncs(v.Lang))
	v.Version, v.AssetVersion = c.version, c.assetVer
	if v.Path == "" {
		v.Path = r.URL.RequestURI()
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", v); err != nil {
		c.log.ErrorContext(r.Context(), "render", "page", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// show renders a page of a signed-in user.
func (c *Console) show(w http.ResponseWriter, r *http.Request, s *session, name, nav, title string, page any) error {
	c.render(w, r, http.StatusOK, name, &view{Lang: s.lang, Title: title, Nav: nav, S: s, Page: page})
	return nil
}

// errorView is the error page's data.
type errorView struct {
	Status  int
	Heading string
	Message string
	Back    string
}

// fail renders an error page: the API's refusal with its status, or a
// fixed text for anything unexpected.
func (c *Console) fail(w http.ResponseWriter, r *http.Request, s *session, err error) {
	var ae *apiError
	ev := errorView{Status: http.StatusInternalServerError, Back: backTo(r)}
	l := s.lang
	switch {
	case errors.As(err, &ae):
		ev.Status = ae.Status
		switch ae.Status {
		case http.StatusNotFound:
			ev.Heading = l.t("error.notFound")
		case http.StatusForbidden:
			ev.Heading = l.t("error.forbidden")
		case http.StatusBadRequest, http.StatusConflict, http.StatusUnprocessableEntity:
			ev.Heading = l.t("error.invalid")
		default:
			ev.Heading = l.t("error.failed")
		}
		ev.Message = ae.Message
		if ae == errCSRF {
			ev.Message = l.t("error.csrf")
		}
		if ae.Status >= 500 {
			c.log.WarnContext(r.Context(), "API error", "path", r.URL.Path, "err", err)
		}
	default:
		c.log.ErrorContext(r.Context(), "console error", "path", r.URL.Path, "err", err)
		ev.Heading = l.t("error.failed")
		ev.Message = l.t("error.internal")
	}
	c.render(w, r, ev.Status, "error", &view{Lang: l, Title: ev.Heading, S: s, Page: ev})
}

// backTo is where an error page's "back" link goes: the form's next
// field, else the referring page of this site, else the overview.
func backTo(r *http.Request) string {
	if r.Method == http.MethodPost {
		if next := r.PostForm.Get("next"); next != "" {
			return safeNext(next)
		}
	}
	if ref, err := url.Parse(r.Referer()); err == nil && ref.Host == r.Host && ref.Path != "" && r.Referer() != "" {
		return safeNext(ref.RequestURI())
	}
	return "/"
}

// Formatting helpers of the templates.

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format("2006-01-02 15:04 UTC")
}

func fmtTimeP(t *time.Time) string {
	if t == nil {
		return "—"
	}
	return fmtTime(*t)
}

func fmtBytes(n uint64) string {
	const unit = 1024
	if n < unit {
		return strconv.FormatUint(n, 10) + " B"
	}
	div, exp := uint64(unit), 0
	for m := n / unit; m >= unit && exp < 4; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTP"[exp])
}

func fmtLabels(m map[string]string) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, k+"="+m[k])
	}
	return strings.Join(parts, ", ")
}

// shortID shortens a long identifier for a table cell (the full one is
// in the link and its title).
func shortID(s string) string {
	if len(s) <= 24 {
		return s
	}
	return s[:20] + "…"
}

func sevClass(sev string) string {
	if slices.Contains(severities, sev) {
		return sev
	}
	return "unknown"
}

// jsonSummary renders a JSON object's top-level fields as "k: v" text,
// bounded, for event and audit details.
func jsonSummary(raw json.RawMessage, maxLen int) string {
	if len(raw) == 0 {
		return ""
	}
	var m map[string]any
	if json.Unmarshal(raw, &m) != nil {
		s := string(raw)
		if len(s) > maxLen {
			s = s[:maxLen] + "…"
		}
		return s
	}
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(m)) {
		if b.Len() > 0 {
			b.WriteString(" · ")
		}
		b.WriteString(k)
		b.WriteString(": ")
		b.WriteString(scalar(m[k]))
		if b.Len() > maxLen {
			return truncate(b.String(), maxLen)
		}
	}
	return b.String()
}

// scalar renders a decoded JSON value compactly.
func scalar(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	case []any:
		parts := make([]string, 0, len(x))
		for _, e := range x {
			parts = append(parts, scalar(e))
		}
		return strings.Join(parts, " ")
	default:
		b, _ := json.Marshal(x)
		return string(b)
	}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	i := n
	for i > 0 && !utf8Start(s[i]) {
		i--
	}
	return s[:i] + "…"
}

func utf8Start(b byte) bool { return b&0xC0 != 0x80 }
