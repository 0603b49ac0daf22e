package redact

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/vigil-sec/vigil/internal/secret"
)

// Placeholder replaces a line holding a secret that could not be located
// exactly: whole-line removal errs on the side of not leaking.
const Placeholder = "[REDACTED]"

// Handler redacts secrets from records before passing them on.
type Handler struct {
	next slog.Handler
	src  *scannerSource
}

// scannerSource hands out the scanner, building it on first use when it was
// given as a constructor: compiling the rule tables costs milliseconds that
// a command which never logs should not pay.
type scannerSource struct {
	once  sync.Once
	build func() (*secret.Scanner, error)
	s     *secret.Scanner
}

func (src *scannerSource) get() *secret.Scanner {
	src.once.Do(func() {
		if src.build != nil {
			src.s, _ = src.build() // nil on failure: String then redacts every line
		}
	})
	return src.s
}

var _ slog.Handler = (*Handler)(nil)

// NewHandler returns a handler that redacts, with s, the message and every
// string-valued attribute (also errors, Stringers and other values, as they
// would be formatted) of each record, then passes it to next. s must not be
// nil.
func NewHandler(next slog.Handler, s *secret.Scanner) slog.Handler {
	src := &scannerSource{s: s}
	src.once.Do(func() {})
	return &Handler{next: next, src: src}
}

// NewLazyHandler is NewHandler with the scanner built by build when the
// first record is handled. If build fails, every message and string
// attribute is replaced by Placeholder: a log line is better lost than a
// secret leaked.
func NewLazyHandler(next slog.Handler, build func() (*secret.Scanner, error)) slog.Handler {
	return &Handler{next: next, src: &scannerSource{build: build}}
}

// Enabled defers to the next handler.
func (h *Handler) Enabled(ctx context.Context, l slog.Level) bool { return h.next.Enabled(ctx, l) }

// Handle redacts r and passes it on.
func (h *Handler) Handle(ctx context.Context, r slog.Record) error {
	out := slog.NewRecord(r.Time, r.Level, String(h.src.get(), r.Message), r.PC)
	r.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(h.attr(a))
		return true
	})
	return h.next.Handle(ctx, out)
}

// WithAttrs redacts as once, here, rather than on every record.
func (h *Handler) WithAttrs(as []slog.Attr) slog.Handler {
	red := make([]slog.Attr, len(as))
	for i, a := range as {
		red[i] = h.attr(a)
	}
	return &Handler{next: h.next.WithAttrs(red), src: h.src}
}

// WithGroup defers to the next handler.
func (h *Handler) WithGroup(name string) slog.Handler {
	return &Handler{next: h.next.WithGroup(name), src: h.src}
}

func (h *Handler) attr(a slog.Attr) slog.Attr {
	v := a.Value.Resolve()
	switch v.Kind() {
	case slog.KindString:
		return slog.String(a.Key, String(h.src.get(), v.String()))
	case slog.KindGroup:
		g := v.Group()
		red := make([]any, len(g))
		for i, ga := range g {
			red[i] = h.attr(ga)
		}
		return slog.Group(a.Key, red...)
	case slog.KindAny:
		var text string
		switch x := v.Any().(type) {
		case error:
			text = x.Error()
		case fmt.Stringer:
			text = x.String()
		case []byte:
			text = string(x)
		default:
			text = fmt.Sprintf("%+v", x)
		}
		if red := String(h.src.get(), text); red != text {
			return slog.String(a.Key, red)
		}
	}
	return slog.Attr{Key: a.Key, Value: v}
}

// String returns text with every secret s finds in it replaced, wherever
// it occurs, by its redacted form. A secret whose exact position cannot be
// worked out from the finding takes its whole line with it (see
// Placeholder).
func String(s *secret.Scanner, text string) string {
	if text == "" {
		return text
	}
	if s == nil {
		return Placeholder // no scanner: redact everything rather than leak
	}
	fs := s.Scan([]byte(text), secret.Location{Path: "log"})
	if len(fs) == 0 {
		return text
	}
	lines := strings.SplitAfter(text, "\n")
	found := map[string]string{} // secret → redacted
	wipe := map[int]bool{}       // lines to replace whole
	for _, f := range fs {
		if f.Line < 1 || f.Line > len(lines) {
			return Placeholder // unplaceable: redact everything rather than leak
		}
		line := strings.TrimSuffix(lines[f.Line-1], "\n")
		if start, end, ok := locate(line, f); ok {
			found[line[start:end]] = f.Redacted
		} else {
			wipe[f.Line-1] = true
		}
	}
	for i := range wipe {
		lines[i] = Placeholder + lines[i][len(strings.TrimSuffix(lines[i], "\n")):]
	}
	out := strings.Join(lines, "")
	// The scanner reports a secret once per line: replace every occurrence,
	// longest secrets first in case one contains another.
	secrets := slices.Collect(maps.Keys(found))
	slices.SortFunc(secrets, func(a, b string) int { return cmp.Or(cmp.Compare(len(b), len(a)), strings.Compare(a, b)) })
	for _, sec := range secrets {
		out = strings.ReplaceAll(out, sec, found[sec])
	}
	return out
}

// locate finds f's secret within line: at its column, with the length its
// redacted form ends with ("…(24)"), checked against the redacted prefix;
// else at the only occurrence of that prefix followed by enough bytes.
func locate(line string, f secret.Finding) (start, end int, ok bool) {
	prefix, n, ok := parseRedacted(f.Redacted)
	if !ok || n <= 0 {
		return 0, 0, false
	}
	fits := func(i int) bool {
		return i >= 0 && i+n <= len(line) && strings.HasPrefix(line[i:], prefix)
	}
	if c := f.Column - 1; fits(c) {
		return c, c + n, true
	}
	if prefix == "" {
		return 0, 0, false
	}
	var at []int
	for i := 0; i < len(line); {
		j := strings.Index(line[i:], prefix)
		if j < 0 {
			break
		}
		if fits(i + j) {
			at = append(at, i+j)
		}
		i += j + 1
	}
	if len(at) != 1 {
		return 0, 0, false
	}
	return at[0], at[0] + n, true
}

// parseRedacted splits "LTAI5t…(24)" into its prefix and length.
func parseRedacted(r string) (prefix string, n int, ok bool) {
	open := strings.LastIndexByte(r, '(')
	if open < 0 || !strings.HasSuffix(r, ")") {
		return "", 0, false
	}
	n, err := strconv.Atoi(r[open+1 : len(r)-1])
	if err != nil {
		return "", 0, false
	}
	prefix = strings.TrimSuffix(r[:open], "…")
	return prefix, n, true
}
