package terraform

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	hcljson "github.com/hashicorp/hcl/v2/json"
	"github.com/zclconf/go-cty/cty"
)

// maxNesting bounds the bracket nesting of a configuration file; deeper
// files are refused before the parser (which recurses) sees them.
const maxNesting = 64

// ErrTooDeep means a file nests brackets deeper than the parser is allowed
// to recurse.
var ErrTooDeep = errors.New("nesting too deep")

// checkNesting scans src for bracket depth, counting the brackets of code
// and of template interpolations but not those inside quoted strings or
// comments. It is a cheap upper bound on the depth the HCL parser will
// recurse to.
func checkNesting(src []byte, limit int) error {
	const (
		bracket = 'b'
		str     = 's'
	)
	var stack []byte
	line := 1
	for i := 0; i < len(src); i++ {
		c := src[i]
		if c == '\n' {
			line++
		}
		top := byte(0)
		if n := len(stack); n > 0 {
			top = stack[n-1]
		}
		if top == str {
			switch c {
			case '\\':
				if i+1 < len(src) && src[i+1] != '\n' {
					i++
				}
			case '"', '\n':
				stack = stack[:len(stack)-1]
			case '$', '%':
				if i+1 < len(src) && src[i+1] == '{' {
					i++
					stack = append(stack, bracket)
				}
			}
		} else {
			switch c {
			case '"':
				stack = append(stack, str)
			case '#':
				for i+1 < len(src) && src[i+1] != '\n' {
					i++
				}
			case '/':
				if i+1 < len(src) && src[i+1] == '/' {
					for i+1 < len(src) && src[i+1] != '\n' {
						i++
					}
				} else if i+1 < len(src) && src[i+1] == '*' {
					i += 2
					for i < len(src) && !(src[i] == '*' && i+1 < len(src) && src[i+1] == '/') {
						if src[i] == '\n' {
							line++
						}
						i++
					}
					i++
				}
			case '{', '[', '(':
				stack = append(stack, bracket)
			case '}', ']', ')':
				if len(stack) > 0 {
					stack = stack[:len(stack)-1]
				}
			}
		}
		if len(stack) > limit {
			return fmt.Errorf("%w: more than %d levels at line %d", ErrTooDeep, limit, line)
		}
	}
	return nil
}

// diagError turns HCL diagnostics into one error naming the first problem
// with its line and column.
func diagError(diags hcl.Diagnostics) error {
	for _, d := range diags {
		if d.Severity != hcl.DiagError {
			continue
		}
		msg := d.Summary
		if d.Detail != "" {
			msg += ": " + d.Detail
		}
		if d.Subject != nil {
			return fmt.Errorf("%d:%d: %s", d.Subject.Start.Line, d.Subject.Start.Column, msg)
		}
		return errors.New(msg)
	}
	return nil
}

// parseConfig parses one .tf or .tf.json file into a native syntax body.
// JSON files are converted so that the evaluator sees one syntax.
func parseConfig(name string, src []byte) (*hclsyntax.Body, error) {
	if err := checkNesting(src, maxNesting); err != nil {
		return nil, err
	}
	if strings.HasSuffix(name, ".json") {
		f, diags := hcljson.Parse(src, name)
		if diags.HasErrors() {
			return nil, diagError(diags)
		}
		return jsonConfig(f.Body, name)
	}
	f, diags := hclsyntax.ParseConfig(src, name, hcl.InitialPos)
	if diags.HasErrors() {
		return nil, diagError(diags)
	}
	b := f.Body.(*hclsyntax.Body)
	guard(b)
	return b, nil
}

// parseVars parses a .tfvars or .tfvars.json file into its attributes.
func parseVars(name string, src []byte) (hclsyntax.Attributes, error) {
	if err := checkNesting(src, maxNesting); err != nil {
		return nil, err
	}
	if strings.HasSuffix(name, ".json") {
		f, diags := hcljson.Parse(src, name)
		if diags.HasErrors() {
			return nil, diagError(diags)
		}
		return jsonAttrs(f.Body, name)
	}
	f, diags := hclsyntax.ParseConfig(src, name, hcl.InitialPos)
	if diags.HasErrors() {
		return nil, diagError(diags)
	}
	b := f.Body.(*hclsyntax.Body)
	guard(b)
	return b.Attributes, nil
}

// guard rewrites the expressions that repeat work so that evaluating them
// charges the evaluation budget (see funcs.go): the collection of every for
// expression (one unit per element) and every interpolated part of a string
// template (one unit per byte). Nested for expressions and templates over
// large collections are how a small file could make the evaluator do
// unbounded work; the budget stops them.
func guard(n hclsyntax.Node) {
	hclsyntax.VisitAll(n, func(n hclsyntax.Node) hcl.Diagnostics {
		switch e := n.(type) {
		case *hclsyntax.ForExpr:
			e.CollExpr = wrapCall(forBudgetFunc, e.CollExpr)
		case *hclsyntax.TemplateExpr:
			for i, p := range e.Parts {
				if _, lit := p.(*hclsyntax.LiteralValueExpr); !lit {
					e.Parts[i] = wrapCall(tplBudgetFunc, p)
				}
			}
		}
		return nil
	})
}

func wrapCall(name string, e hclsyntax.Expression) hclsyntax.Expression {
	if call, ok := e.(*hclsyntax.FunctionCallExpr); ok && call.Name == name {
		return e
	}
	r := e.Range()
	return &hclsyntax.FunctionCallExpr{
		Name:            name,
		Args:            []hclsyntax.Expression{e},
		NameRange:       r,
		OpenParenRange:  r,
		CloseParenRange: r,
	}
}

// fileSchema lists the top-level blocks the loader reads from JSON files.
var fileSchema = &hcl.BodySchema{Blocks: []hcl.BlockHeaderSchema{
	{Type: "variable", LabelNames: []string{"name"}},
	{Type: "locals"},
	{Type: "output", LabelNames: []string{"name"}},
	{Type: "module", LabelNames: []string{"name"}},
	{Type: "resource", LabelNames: []string{"type", "name"}},
	{Type: "data", LabelNames: []string{"type", "name"}},
	{Type: "provider", LabelNames: []string{"name"}},
}}

// jsonConfig converts a Terraform JSON file into a native syntax body:
// the known top-level blocks become blocks, their properties attributes.
// Without provider schemas a JSON object cannot be told apart from a
// nested block, so nested blocks stay object or array values.
func jsonConfig(body hcl.Body, name string) (*hclsyntax.Body, error) {
	content, _, diags := body.PartialContent(fileSchema)
	if diags.HasErrors() {
		return nil, diagError(diags)
	}
	out := &hclsyntax.Body{Attributes: hclsyntax.Attributes{}}
	for _, blk := range content.Blocks {
		attrs, err := jsonAttrs(blk.Body, name)
		if err != nil {
			return nil, err
		}
		end := blk.DefRange
		for _, a := range attrs {
			if a.SrcRange.End.Byte > end.End.Byte {
				end = a.SrcRange
			}
		}
		out.Blocks = append(out.Blocks, &hclsyntax.Block{
			Type:            blk.Type,
			Labels:          blk.Labels,
			Body:            &hclsyntax.Body{Attributes: attrs, SrcRange: hcl.RangeBetween(blk.DefRange, end)},
			TypeRange:       blk.DefRange,
			LabelRanges:     blk.LabelRanges,
			OpenBraceRange:  blk.DefRange,
			CloseBraceRange: end,
		})
	}
	// Blocks come back grouped by schema order; keep the file's order.
	sort.SliceStable(out.Blocks, func(i, j int) bool {
		return out.Blocks[i].TypeRange.Start.Byte < out.Blocks[j].TypeRange.Start.Byte
	})
	return out, nil
}

// jsonAttrs reads the properties of a JSON object body as attributes with
// native syntax expressions.
func jsonAttrs(body hcl.Body, name string) (hclsyntax.Attributes, error) {
	attrs, diags := body.JustAttributes()
	if diags.HasErrors() {
		return nil, diagError(diags)
	}
	out := make(hclsyntax.Attributes, len(attrs))
	for k, a := range attrs {
		if k == "//" {
			continue // a JSON comment
		}
		v, diags := a.Expr.Value(nil) // literal structure, strings unparsed
		if diags.HasErrors() {
			return nil, diagError(diags)
		}
		e, err := jsonExpr(v, a.Expr.Range(), name, 0)
		if err != nil {
			return nil, err
		}
		out[k] = &hclsyntax.Attribute{Name: k, Expr: e, SrcRange: a.Range, NameRange: a.NameRange, EqualsRange: a.NameRange}
	}
	return out, nil
}

// jsonExpr turns a literal JSON value into a native expression, parsing
// strings holding ${…} or %{…} as templates the way Terraform does.
func jsonExpr(v cty.Value, r hcl.Range, name string, depth int) (hclsyntax.Expression, error) {
	if depth > maxNesting {
		return nil, fmt.Errorf("%w: more than %d levels", ErrTooDeep, maxNesting)
	}
	ty := v.Type()
	switch {
	case v.IsNull() || !v.IsKnown():
		return &hclsyntax.LiteralValueExpr{Val: v, SrcRange: r}, nil
	case ty == cty.String:
		s := v.AsString()
		if !strings.Contains(s, "${") && !strings.Contains(s, "%{") {
			return &hclsyntax.LiteralValueExpr{Val: v, SrcRange: r}, nil
		}
		if err := checkNesting([]byte(`"`+s), maxNesting); err != nil {
			return nil, err
		}
		e, diags := hclsyntax.ParseTemplate([]byte(s), name, r.Start)
		if diags.HasErrors() {
			return nil, diagError(diags)
		}
		guard(e)
		return e, nil
	case ty.IsObjectType() || ty.IsMapType():
		o := &hclsyntax.ObjectConsExpr{SrcRange: r, OpenRange: r}
		for it := v.ElementIterator(); it.Next(); {
			k, ev := it.Element()
			ve, err := jsonExpr(ev, r, name, depth+1)
			if err != nil {
				return nil, err
			}
			o.Items = append(o.Items, hclsyntax.ObjectConsItem{
				KeyExpr:   &hclsyntax.LiteralValueExpr{Val: k, SrcRange: r},
				ValueExpr: ve,
			})
		}
		return o, nil
	case ty.IsTupleType() || ty.IsListType():
		t := &hclsyntax.TupleConsExpr{SrcRange: r, OpenRange: r}
		for it := v.ElementIterator(); it.Next(); {
			_, ev := it.Element()
			ve, err := jsonExpr(ev, r, name, depth+1)
			if err != nil {
				return nil, err
			}
			t.Exprs = append(t.Exprs, ve)
		}
		return t, nil
	default:
		return &hclsyntax.LiteralValueExpr{Val: v, SrcRange: r}, nil
	}
}
