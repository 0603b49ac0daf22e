package detect

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/common/types/ref"
	"github.com/google/cel-go/common/types/traits"
)

// An output template is literal text with CEL expressions in ${…}:
//
//	shell ${process.exe} got a socket as stdin (parent ${parents[0].name})
//
// "$$" is a literal "$". Each expression is compiled with the rule; a
// value renders as text (lists space-separated, null as nothing), and an
// expression that fails on an event renders as "<?>" — the alert is
// raised all the same.

// maxOutput bounds one rendered output.
const maxOutput = 4 << 10

// template is a parsed output template.
type template struct {
	parts []part
}

type part struct {
	text string
	prog *program // nil for literal text
}

// splitTemplate cuts src into literal text and expression sources.
func splitTemplate(src string) (lits []string, exprs []string, err error) {
	var lit strings.Builder
	for i := 0; i < len(src); {
		c := src[i]
		if c != '$' {
			lit.WriteByte(c)
			i++
			continue
		}
		if i+1 < len(src) && src[i+1] == '$' {
			lit.WriteByte('$')
			i += 2
			continue
		}
		if i+1 >= len(src) || src[i+1] != '{' {
			lit.WriteByte('$')
			i++
			continue
		}
		end, ok := closeBrace(src, i+2)
		if !ok {
			return nil, nil, fmt.Errorf("unclosed ${ at offset %d", i)
		}
		expr := strings.TrimSpace(src[i+2 : end])
		if expr == "" {
			return nil, nil, fmt.Errorf("empty ${} at offset %d", i)
		}
		lits = append(lits, lit.String())
		lit.Reset()
		exprs = append(exprs, expr)
		i = end + 1
	}
	lits = append(lits, lit.String())
	return lits, exprs, nil
}

// closeBrace finds the '}' closing an expression that starts at src[i],
// skipping nested braces and string literals.
func closeBrace(src string, i int) (int, bool) {
	depth := 0
	for i < len(src) {
		switch c := src[i]; {
		case c == '"' || c == '\'':
			i = skipString(src, i, false)
			continue
		case c == '{':
			depth++
		case c == '}':
			if depth == 0 {
				return i, true
			}
			depth--
		}
		i++
	}
	return 0, false
}

func (c *compiler) template(src string) (*template, error) {
	lits, exprs, err := splitTemplate(src)
	if err != nil {
		return nil, err
	}
	t := &template{}
	var errs []error
	for i, lit := range lits {
		if lit != "" {
			t.parts = append(t.parts, part{text: lit})
		}
		if i == len(exprs) {
			break
		}
		a, err := c.check(exprs[i], nil)
		if err != nil {
			errs = append(errs, fmt.Errorf("${%s}: %w", exprs[i], err))
			continue
		}
		p, err := c.lazyProgram(a)
		if err != nil {
			errs = append(errs, fmt.Errorf("${%s}: %w", exprs[i], err))
			continue
		}
		t.parts = append(t.parts, part{text: exprs[i], prog: p})
	}
	return t, errors.Join(errs...)
}

func (t *template) render(act *activation) string {
	var b strings.Builder
	for _, p := range t.parts {
		if p.prog == nil {
			b.WriteString(p.text)
			continue
		}
		v, err := p.prog.Eval(act)
		if err != nil {
			b.WriteString("<?>")
			continue
		}
		writeVal(&b, v, 0)
		if b.Len() > maxOutput {
			break
		}
	}
	s := b.String()
	if len(s) > maxOutput {
		s = strings.ToValidUTF8(s[:maxOutput], "") + "…"
	}
	return s
}

// writeVal renders a CEL value as text.
func writeVal(b *strings.Builder, v ref.Val, depth int) {
	if depth > 4 || b.Len() > maxOutput {
		return
	}
	switch x := v.(type) {
	case types.String:
		b.WriteString(string(x))
	case types.Int:
		b.WriteString(strconv.FormatInt(int64(x), 10))
	case types.Uint:
		b.WriteString(strconv.FormatUint(uint64(x), 10))
	case types.Double:
		b.WriteString(strconv.FormatFloat(float64(x), 'g', -1, 64))
	case types.Bool:
		b.WriteString(strconv.FormatBool(bool(x)))
	case types.Null:
		// nothing
	case types.Timestamp:
		b.WriteString(x.Time.UTC().Format(time.RFC3339Nano))
	case traits.Lister:
		it := x.Iterator()
		for i := 0; it.HasNext() == types.True; i++ {
			if i > 0 {
				b.WriteByte(' ')
			}
			writeVal(b, it.Next(), depth+1)
		}
	case traits.Mapper:
		b.WriteByte('{')
		it := x.Iterator()
		for i := 0; it.HasNext() == types.True; i++ {
			if i > 0 {
				b.WriteString(", ")
			}
			k := it.Next()
			writeVal(b, k, depth+1)
			b.WriteString(": ")
			writeVal(b, x.Get(k), depth+1)
		}
		b.WriteByte('}')
	default:
		fmt.Fprint(b, v.Value())
	}
}
