package detect

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// reserved are names a list or macro may not take: the rule variables,
// CEL's keywords and the namespaces and functions rules call bare.
var reserved = func() map[string]bool {
	m := map[string]bool{}
	for _, n := range strings.Fields(`event process parents container file network cred mount target args
		true false null in as break const continue else for function if import let loop package namespace return var void while
		caps basename math base64 sets lists strings cel optional has size int uint double string bool bytes dyn type duration timestamp`) {
		m[n] = true
	}
	return m
}()

// maxExpandDepth bounds macro nesting; maxExpanded bounds an expanded
// expression, so a macro that doubles itself cannot blow up memory.
const (
	maxExpandDepth = 16
	maxExpanded    = 1 << 20
)

// ErrMacroCycle means a macro names itself, directly or through others.
var ErrMacroCycle = errors.New("macro cycle")

// expander inlines macros and lists into CEL source.
type expander struct {
	lists  map[string][]string
	macros map[string]string
	// listText caches each list's CEL literal.
	listText map[string]string
}

func newExpander(lists map[string][]string, macros map[string]string) *expander {
	return &expander{lists: lists, macros: macros, listText: map[string]string{}}
}

// expand returns src with every bare identifier that names a list
// replaced by a list literal and every one that names a macro replaced by
// the macro's (expanded) expression in parentheses. Identifiers inside
// string literals, after a '.' (field selection) or before a '(' (a
// function call) are left alone.
func (x *expander) expand(src string) (string, error) {
	return x.expandDepth(src, nil)
}

func (x *expander) expandDepth(src string, stack []string) (string, error) {
	if len(stack) > maxExpandDepth {
		return "", fmt.Errorf("macro %s: nested more than %d deep", stack[len(stack)-1], maxExpandDepth)
	}
	var b strings.Builder
	var err error
	scanIdents(src, func(lit string, ident bool) bool {
		if !ident {
			b.WriteString(lit)
			return true
		}
		if l, ok := x.lists[lit]; ok {
			b.WriteString(x.listLiteral(lit, l))
		} else if m, ok := x.macros[lit]; ok {
			for _, s := range stack {
				if s == lit {
					err = fmt.Errorf("%w: %s → %s", ErrMacroCycle, strings.Join(stack, " → "), lit)
					return false
				}
			}
			var inner string
			inner, err = x.expandDepth(m, append(stack, lit))
			if err != nil {
				return false
			}
			b.WriteByte('(')
			b.WriteString(inner)
			b.WriteByte(')')
		} else {
			b.WriteString(lit)
		}
		if b.Len() > maxExpanded {
			err = fmt.Errorf("expression over %d bytes after expanding macros", maxExpanded)
			return false
		}
		return true
	})
	if err != nil {
		return "", err
	}
	return b.String(), nil
}

func (x *expander) listLiteral(name string, l []string) string {
	if s, ok := x.listText[name]; ok {
		return s
	}
	var b strings.Builder
	b.WriteByte('[')
	for i, v := range l {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(strconv.Quote(v))
	}
	b.WriteByte(']')
	x.listText[name] = b.String()
	return b.String()
}

// scanIdents walks CEL source and calls emit with consecutive pieces of
// it: ident is true for a bare identifier that could name a variable
// (not a field after '.', not a function before '(', not a string
// prefix). Concatenating the pieces gives src back. emit returning false
// stops the walk.
func scanIdents(src string, emit func(piece string, ident bool) bool) {
	i := 0
	lastSig := byte(0) // last significant (non-space) byte before the current piece
	prevSig := byte(0) // the one before lastSig
	sig := func(c byte) { prevSig, lastSig = lastSig, c }
	for i < len(src) {
		c := src[i]
		switch {
		case c == '"' || c == '\'':
			end := skipString(src, i, false)
			if !emit(src[i:end], false) {
				return
			}
			sig('"')
			i = end
		case c == '`':
			end := strings.IndexByte(src[i+1:], '`')
			if end < 0 {
				end = len(src)
			} else {
				end += i + 2
			}
			if !emit(src[i:end], false) {
				return
			}
			sig('`')
			i = end
		case c == '/' && i+1 < len(src) && src[i+1] == '/':
			end := strings.IndexByte(src[i:], '\n')
			if end < 0 {
				end = len(src)
			} else {
				end += i
			}
			if !emit(src[i:end], false) {
				return
			}
			i = end
		case isIdentStart(c):
			j := i + 1
			for j < len(src) && isIdentPart(src[j]) {
				j++
			}
			word := src[i:j]
			// A string prefix (r"…", b'…', rb"…").
			if j < len(src) && (src[j] == '"' || src[j] == '\'') && isStringPrefix(word) {
				end := skipString(src, j, strings.ContainsAny(word, "rR"))
				if !emit(src[i:end], false) {
					return
				}
				sig('"')
				i = end
				continue
			}
			field := lastSig == '.' || (lastSig == '?' && prevSig == '.')
			k := j
			for k < len(src) && isSpace(src[k]) {
				k++
			}
			call := k < len(src) && src[k] == '('
			if !emit(word, !field && !call) {
				return
			}
			sig('a')
			i = j
		case isDigit(c):
			j := i + 1
			for j < len(src) && (isIdentPart(src[j]) || src[j] == '.') {
				j++
			}
			if !emit(src[i:j], false) {
				return
			}
			sig('0')
			i = j
		default:
			if !emit(src[i:i+1], false) {
				return
			}
			if !isSpace(c) {
				sig(c)
			}
			i++
		}
	}
}

// skipString returns the index just past the string literal opening at
// src[i] (a quote), or len(src) when it is not closed.
func skipString(src string, i int, raw bool) int {
	q := src[i]
	triple := i+2 < len(src) && src[i+1] == q && src[i+2] == q
	j := i + 1
	if triple {
		j = i + 3
	}
	for j < len(src) {
		c := src[j]
		switch {
		case c == '\\' && !raw:
			j += 2
			continue
		case c == q && !triple:
			return j + 1
		case c == q && triple && j+2 < len(src) && src[j+1] == q && src[j+2] == q:
			return j + 3
		case c == '\n' && !triple:
			return j
		}
		j++
	}
	return len(src)
}

func isStringPrefix(w string) bool {
	switch strings.ToLower(w) {
	case "r", "b", "rb", "br":
		return true
	}
	return false
}

func isIdentStart(c byte) bool {
	return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
}
func isIdentPart(c byte) bool { return isIdentStart(c) || isDigit(c) }
func isDigit(c byte) bool     { return c >= '0' && c <= '9' }
func isSpace(c byte) bool     { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }
