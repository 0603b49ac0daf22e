package secret

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"regexp/syntax"
	"slices"
	"strings"
)

// ErrInvalidRule is wrapped by NewScanner's errors about a rule.
var ErrInvalidRule = errors.New("secret: invalid rule")

// Window sizes. A keyword hit hands a rule's expression the hit's line plus
// contextLines lines before and after it. An expression that can span
// lines (a PEM block; see spansLines) gets up to multilineLines lines on
// each side instead, so that a whole private key fits: the window grows to
// hold the longest match such a rule should make. Every side is also capped
// at sideBytes (multilineBytes) bytes, so a window never holds more than
// one line plus 8 KiB (64 KiB) of context.
// Windows of one rule that overlap are merged up to mergedMax bytes, and
// no expression ever runs on more than one window at a time.
const (
	contextLines   = 2
	multilineLines = 256
	sideBytes      = 4 << 10
	multilineBytes = 32 << 10
	mergedMax      = 256 << 10

	defaultMaxFileSize = 64 << 20
	defaultPairLines   = 5
	binarySniff        = 8 << 10
)

// Options tune a Scanner. The zero value is ready to use.
type Options struct {
	// MaxFileSize bounds the bytes scanned per file: only the first
	// MaxFileSize bytes are scanned. 0 means 64 MiB.
	MaxFileSize int64
}

// Scanner runs a set of rules over bytes. It is safe for concurrent use.
type Scanner struct {
	rules []*compiledRule
	pre   *prefilter
	opts  Options
}

type compiledRule struct {
	*Rule
	index     int
	secretIdx int // submatch named "secret", or -1
	multiline bool
	pair      int // index of the Pair rule, or -1
	pairLines int
	generic   bool // tagged "generic": yields to specific rules
	// ownLine: the expression itself spells one of the rule's keywords and
	// cannot span lines, so a match lies on the line of a keyword hit and
	// the window is that line alone (a third of the regex work on code
	// dense with "key", "token" and "secret").
	ownLine bool
}

// NewScanner checks rules (unique IDs, keywords, an expression) and builds
// the keyword prefilter.
func NewScanner(rules []*Rule, opts Options) (*Scanner, error) {
	if opts.MaxFileSize <= 0 {
		opts.MaxFileSize = defaultMaxFileSize
	}
	s := &Scanner{opts: opts}
	byID := map[string]int{}
	for i, r := range rules {
		if r == nil {
			return nil, fmt.Errorf("rule %d is nil: %w", i, ErrInvalidRule)
		}
		if r.ID == "" {
			return nil, fmt.Errorf("rule %d has no ID: %w", i, ErrInvalidRule)
		}
		if _, dup := byID[r.ID]; dup {
			return nil, fmt.Errorf("rule %q: duplicate ID: %w", r.ID, ErrInvalidRule)
		}
		byID[r.ID] = i
		if r.Regex == nil {
			return nil, fmt.Errorf("rule %q: no expression: %w", r.ID, ErrInvalidRule)
		}
		if !slices.ContainsFunc(r.Keywords, func(k string) bool { return len(k) >= 3 }) {
			return nil, fmt.Errorf("rule %q: no keyword of three or more bytes: %w", r.ID, ErrInvalidRule)
		}
		c := &compiledRule{Rule: r, index: i, secretIdx: r.Regex.SubexpIndex("secret"), pair: -1, generic: slices.Contains(r.Tags, "generic")}
		c.ownLine = spellsKeyword(r) && examplesFitTwoLines(r)
		c.multiline = spansLines(r.Regex)
		s.rules = append(s.rules, c)
	}
	for _, c := range s.rules {
		if c.Pair == "" {
			continue
		}
		j, ok := byID[c.Pair]
		if !ok || j == c.index {
			return nil, fmt.Errorf("rule %q: pair rule %q not in the set: %w", c.ID, c.Pair, ErrInvalidRule)
		}
		c.pair, c.pairLines = j, c.PairLines
		if c.pairLines <= 0 {
			c.pairLines = defaultPairLines
		}
	}
	s.pre = newPrefilter(rules)
	return s, nil
}

// spansLines reports whether re can match text running over several
// non-blank lines: it repeats a dot that matches newlines, or a character
// class holding both the newline and letters or digits ("[A-Za-z0-9+/=\s]+",
// "[\s\S]*?"). Whitespace alone ("\s*" between a key and its value) spans at
// most the blank lines the ordinary context already covers.
func spansLines(re *regexp.Regexp) bool {
	t, err := syntax.Parse(re.String(), syntax.Perl)
	if err != nil {
		return true // be generous with the window
	}
	var walk func(r *syntax.Regexp, repeated bool) bool
	walk = func(r *syntax.Regexp, repeated bool) bool {
		switch r.Op {
		case syntax.OpAnyChar:
			return repeated
		case syntax.OpCharClass:
			return repeated && inClass(r.Rune, '\n') &&
				(inClass(r.Rune, 'A') || inClass(r.Rune, 'a') || inClass(r.Rune, '0'))
		case syntax.OpStar, syntax.OpPlus:
			repeated = true
		case syntax.OpRepeat:
			repeated = repeated || r.Max < 0 || r.Max > 2
		}
		return slices.ContainsFunc(r.Sub, func(sub *syntax.Regexp) bool { return walk(sub, repeated) })
	}
	return walk(t, false)
}

func inClass(ranges []rune, c rune) bool {
	for i := 0; i+1 < len(ranges); i += 2 {
		if ranges[i] <= c && c <= ranges[i+1] {
			return true
		}
	}
	return false
}

// candidate is one accepted match before it becomes a Finding.
type candidate struct {
	rule   *compiledRule
	off    int // of the secret
	secret string
	line   int
	col    int
}

// window is a byte range of the input handed to one rule's expression.
type window struct{ start, end int }

// Scan returns the findings in data, which came from loc, ordered by
// position. Findings are deduplicated by rule, secret and line; those that
// an inline "vigil:ignore" comment covers carry Suppressed.
//
// Binary input (a NUL byte in the first 8 KiB) is scanned as its printable
// ASCII runs: every other byte counts as a line break, so rules see only
// text, while lines and columns still count the original bytes.
func (s *Scanner) Scan(data []byte, loc Location) []Finding {
	if int64(len(data)) > s.opts.MaxFileSize {
		data = data[:s.opts.MaxFileSize]
	}
	text := data
	if bytes.IndexByte(data[:min(len(data), binarySniff)], 0) >= 0 {
		text = printableRuns(data)
	}
	filter := newLineFilter(loc.Path)
	windows := s.windows(text, filter)
	var cands []candidate
	for ri, ws := range windows {
		for _, w := range ws {
			cands = s.match(cands, s.rules[ri], text, w, filter)
		}
	}
	if len(cands) == 0 {
		return nil
	}
	slices.SortFunc(cands, func(a, b candidate) int {
		if a.off != b.off {
			return a.off - b.off
		}
		return a.rule.index - b.rule.index
	})
	// Lines and columns, counted incrementally in the original bytes.
	line, lineStart, pos := 1, 0, 0
	for i := range cands {
		c := &cands[i]
		seg := data[pos:c.off]
		if n := bytes.Count(seg, []byte{'\n'}); n > 0 {
			line += n
			lineStart = pos + bytes.LastIndexByte(seg, '\n') + 1
		}
		pos = c.off
		c.line, c.col = line, c.off-lineStart+1
	}
	type key struct {
		rule   int
		secret string
		line   int
	}
	seen := map[key]bool{}
	emit := func(c candidate) (Finding, bool) {
		k := key{c.rule.index, c.secret, c.line}
		if seen[k] {
			return Finding{}, false
		}
		seen[k] = true
		f := Finding{
			RuleID:      c.rule.ID,
			Description: c.rule.Description,
			Severity:    c.rule.Severity,
			Location:    loc,
			Line:        c.line,
			Column:      c.col,
			Redacted:    redact(c.secret),
			Fingerprint: fingerprint(c.rule.ID, c.secret),
		}
		if c.rule.pair >= 0 {
			p, ok := nearest(cands, c.rule.pair, c.line, c.rule.pairLines)
			if !ok {
				return Finding{}, false
			}
			f.Paired = redact(p.secret)
		}
		if reason, ok := inlineIgnore(data, c.off-c.col+1, f.RuleID, f.Fingerprint); ok {
			f.Suppressed = "inline: " + reason
		}
		return f, true
	}
	// Specific rules first; a generic rule (password = "…") reports only a
	// secret no specific rule already reported, so one secret is one
	// finding under its most precise name.
	var out []Finding
	var spans [][2]int
	for _, generic := range []bool{false, true} {
		for _, c := range cands {
			if c.rule.generic != generic {
				continue
			}
			end := c.off + len(c.secret)
			if generic && slices.ContainsFunc(spans, func(sp [2]int) bool { return c.off < sp[1] && sp[0] < end }) {
				continue
			}
			f, ok := emit(c)
			if !ok {
				continue
			}
			if !generic {
				spans = append(spans, [2]int{c.off, end})
			}
			out = append(out, f)
		}
	}
	slices.SortStableFunc(out, func(a, b Finding) int {
		if a.Line != b.Line {
			return a.Line - b.Line
		}
		return a.Column - b.Column
	})
	return out
}

// nearest returns the candidate of rule index ri closest in lines to line,
// at most maxLines away. cands are sorted by position, hence by line.
func nearest(cands []candidate, ri, line, maxLines int) (candidate, bool) {
	i, _ := slices.BinarySearchFunc(cands, line-maxLines, func(c candidate, l int) int { return c.line - l })
	var best candidate
	bestD := -1
	for ; i < len(cands) && cands[i].line <= line+maxLines; i++ {
		c := cands[i]
		if c.rule.index != ri {
			continue
		}
		d := max(c.line-line, line-c.line)
		if bestD < 0 || d < bestD {
			best, bestD = c, d
		}
	}
	return best, bestD >= 0
}

// windows runs the prefilter and returns, per rule, the merged windows
// around its keyword hits.
func (s *Scanner) windows(text []byte, filter lineFilter) [][]window {
	out := make([][]window, len(s.rules))
	// The line of the last hit, cached: hits arrive in order, and a long
	// line with many hits must not be measured again for each.
	ls, le := -1, -1
	skip := false
	last := make([]int, len(s.rules)) // per rule, 1 + start of the line of its last hit
	s.pre.hits(text, func(pos, kw int) {
		if pos < ls || pos > le {
			ls = bytes.LastIndexByte(text[:pos], '\n') + 1
			le = bytes.IndexByte(text[pos:], '\n')
			if le < 0 {
				le = len(text)
			} else {
				le += pos
			}
			skip = filter.skip(trimCR(text[ls:le]))
		}
		if skip {
			return
		}
		for _, ri := range s.pre.owners[kw] {
			if last[ri] == ls+1 {
				continue // another hit on the line of this rule's last hit
			}
			last[ri] = ls + 1
			ws := out[ri]
			var w window
			if r := s.rules[ri]; r.ownLine && !r.multiline {
				w = nextLine(text, ls, le)
			} else {
				w = s.window(text, ls, le, r.multiline)
			}
			if n := len(ws); n > 0 && w.start <= ws[n-1].end && w.end-ws[n-1].start <= mergedMax {
				ws[n-1].end = max(ws[n-1].end, w.end)
				continue
			}
			out[ri] = append(ws, w)
		}
	})
	return out
}

// nextLine extends the line [ls, le) by the line after it (capped like the
// context windows), for rules whose every match contains a keyword: such a
// match starts on a hit's line or, when the keyword closes it, just before,
// and reaches at most into the next line ("password:" then the value).
func nextLine(text []byte, ls, le int) window {
	end := le
	if end < len(text) {
		if i := bytes.IndexByte(text[end+1:], '\n'); i >= 0 && i < sideBytes {
			end += 1 + i
		} else {
			end = min(len(text), end+1+sideBytes)
		}
	}
	return window{ls, end}
}

// window extends the line [ls, le) by the context lines on each side.
func (s *Scanner) window(text []byte, ls, le int, multiline bool) window {
	lines, limit := contextLines, sideBytes
	if multiline {
		lines, limit = multilineLines, multilineBytes
	}
	start := ls
	for i := 0; i < lines && start > 0 && ls-start < limit; i++ {
		start = bytes.LastIndexByte(text[:start-1], '\n') + 1
	}
	start = max(start, ls-limit)
	end := le
	for i := 0; i < lines && end < len(text) && end-le < limit; i++ {
		j := bytes.IndexByte(text[end+1:], '\n')
		if j < 0 {
			end = len(text)
			break
		}
		end += 1 + j
	}
	end = min(end, le+limit, len(text))
	return window{start, end}
}

// match runs rule r on text[w.start:w.end] and appends the accepted
// candidates.
func (s *Scanner) match(cands []candidate, r *compiledRule, text []byte, w window, filter lineFilter) []candidate {
	win := text[w.start:w.end]
	for _, m := range r.Regex.FindAllSubmatchIndex(win, -1) {
		a, b := secretSpan(m, r.secretIdx)
		if a >= b {
			continue
		}
		off := w.start + a
		secret := string(win[a:b])
		if filter.skip(trimCR(lineAt(text, off))) || isPlaceholder(secret) {
			continue
		}
		if r.generic && isReference(secret) {
			continue
		}
		if r.Entropy > 0 && shannon(secret) < r.Entropy {
			continue
		}
		if r.Validate != nil && !r.Validate(secret) {
			continue
		}
		cands = append(cands, candidate{rule: r, off: off, secret: secret})
	}
	return cands
}

// secretSpan picks the secret out of a submatch index: the group named
// "secret", else the first group that matched, else the whole match.
func secretSpan(m []int, named int) (int, int) {
	if named > 0 && m[2*named] >= 0 {
		return m[2*named], m[2*named+1]
	}
	if named < 0 {
		for g := 1; 2*g+1 < len(m); g++ {
			if m[2*g] >= 0 {
				return m[2*g], m[2*g+1]
			}
		}
	}
	return m[0], m[1]
}

// lineAt returns the line holding offset off, without its newline.
func lineAt(text []byte, off int) []byte {
	ls := bytes.LastIndexByte(text[:off], '\n') + 1
	le := bytes.IndexByte(text[off:], '\n')
	if le < 0 {
		return text[ls:]
	}
	return text[ls : off+le]
}

func trimCR(l []byte) []byte {
	return bytes.TrimSuffix(l, []byte{'\r'})
}

// printable marks the bytes kept when scanning binary input.
var printable = func() (t [256]bool) {
	for c := 0x20; c < 0x7f; c++ {
		t[c] = true
	}
	t['\t'], t['\n'], t['\r'] = true, true, true
	return t
}()

// printableRuns returns a copy of data in which every byte that is not
// printable ASCII is a newline, keeping offsets.
func printableRuns(data []byte) []byte {
	out := make([]byte, len(data))
	for i, c := range data {
		if printable[c] {
			out[i] = c
		} else {
			out[i] = '\n'
		}
	}
	return out
}

// spellsKeyword reports whether every match of r's expression contains one
// of r's keywords, judged on the parsed expression: some literal that every
// match must contain (through concatenations, captures, repeats of at least
// one, and every branch of an alternation) holds a keyword, compared
// case-insensitively. When unsure it answers false, which keeps the wider
// window (see compiledRule.ownLine).
func spellsKeyword(r *Rule) bool {
	re, err := syntax.Parse(r.Regex.String(), syntax.Perl)
	if err != nil {
		return false
	}
	hasKeyword := func(lit string) bool {
		lit = strings.ToLower(lit)
		for _, kw := range r.Keywords {
			if kw = strings.ToLower(kw); len(kw) >= 3 && strings.Contains(lit, kw) {
				return true
			}
		}
		return false
	}
	return mustContain(re, hasKeyword)
}

// examplesFitTwoLines reports whether every match of r in its own Examples
// lies within two lines: a rule whose real-world shape spreads wider (a
// .netrc entry) keeps the full context window.
func examplesFitTwoLines(r *Rule) bool {
	for _, ex := range r.Examples {
		for _, m := range r.Regex.FindAllString(ex, -1) {
			if strings.Count(m, "\n") > 1 {
				return false
			}
		}
	}
	return true
}

// mustContain reports whether every string re matches contains a literal
// run for which ok holds.
func mustContain(re *syntax.Regexp, ok func(string) bool) bool {
	switch re.Op {
	case syntax.OpLiteral:
		return ok(string(re.Rune))
	case syntax.OpCapture:
		return mustContain(re.Sub[0], ok)
	case syntax.OpPlus:
		return mustContain(re.Sub[0], ok)
	case syntax.OpRepeat:
		return re.Min >= 1 && mustContain(re.Sub[0], ok)
	case syntax.OpConcat:
		// Adjacent literals form one run: "ghp" "_" in a concatenation.
		var run []rune
		for _, sub := range re.Sub {
			if sub.Op == syntax.OpLiteral {
				run = append(run, sub.Rune...)
				if ok(string(run)) {
					return true
				}
				continue
			}
			run = run[:0]
			if mustContain(sub, ok) {
				return true
			}
		}
		return false
	case syntax.OpAlternate:
		for _, sub := range re.Sub {
			if !mustContain(sub, ok) {
				return false
			}
		}
		return len(re.Sub) > 0
	}
	return false
}
