package terraform

import (
	"path"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/ext/typeexpr"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/vigil-sec/vigil/internal/iac"
	"github.com/zclconf/go-cty/cty"
)

// module is the declarations of one directory's .tf and .tf.json files.
// It is built once per directory and shared, read-only, by every
// evaluation that calls it.
type module struct {
	dir       string
	files     []string // the configuration files that parsed
	variables map[string]*variable
	locals    map[string]*hclsyntax.Attribute
	outputs   map[string]*hclsyntax.Attribute
	resources []*resourceDecl
	resByName map[string]*resourceDecl // "type.name"
	resTypes  map[string]bool
	calls     []*callDecl
	callByNm  map[string]*callDecl
	providers []*providerDecl
	errs      []iac.FileError
}

// providerDecl is a provider configuration block. It is emitted as a
// resource of type "provider" (address provider.NAME or
// provider.NAME.ALIAS) so that rules can judge it: credentials written
// in code, insecure endpoints.
type providerDecl struct {
	name, file string
	block      *hclsyntax.Block
}

type variable struct {
	name     string
	def      hclsyntax.Expression // nil: no default
	ty       cty.Type
	defaults *typeexpr.Defaults
}

type resourceDecl struct {
	typ, name string
	file      string
	block     *hclsyntax.Block
	count     hclsyntax.Expression
	forEach   hclsyntax.Expression
}

type callDecl struct {
	name    string
	file    string
	block   *hclsyntax.Block
	source  string
	local   string // the called directory for a local source, "" otherwise
	count   hclsyntax.Expression
	forEach hclsyntax.Expression
	inputs  hclsyntax.Attributes
}

// callMeta are the module call arguments that are not input variables.
var callMeta = map[string]bool{"source": true, "version": true, "count": true, "for_each": true, "providers": true, "depends_on": true}

func newModule(dir string) *module {
	return &module{
		dir:       dir,
		variables: map[string]*variable{},
		locals:    map[string]*hclsyntax.Attribute{},
		outputs:   map[string]*hclsyntax.Attribute{},
		resByName: map[string]*resourceDecl{},
		resTypes:  map[string]bool{},
		callByNm:  map[string]*callDecl{},
	}
}

// add reads the declarations of one parsed file into m. Duplicate names
// keep the first declaration, as Terraform would refuse the module.
func (m *module) add(file string, body *hclsyntax.Body) {
	m.files = append(m.files, file)
	for _, blk := range body.Blocks {
		switch blk.Type {
		case "variable":
			if len(blk.Labels) != 1 || m.variables[blk.Labels[0]] != nil {
				continue
			}
			m.variables[blk.Labels[0]] = readVariable(blk)
		case "locals":
			for name, a := range blk.Body.Attributes {
				if _, dup := m.locals[name]; !dup {
					m.locals[name] = a
				}
			}
		case "output":
			if len(blk.Labels) != 1 {
				continue
			}
			if a := blk.Body.Attributes["value"]; a != nil && m.outputs[blk.Labels[0]] == nil {
				m.outputs[blk.Labels[0]] = a
			}
		case "resource":
			if len(blk.Labels) != 2 {
				continue
			}
			key := blk.Labels[0] + "." + blk.Labels[1]
			if m.resByName[key] != nil {
				continue
			}
			r := &resourceDecl{typ: blk.Labels[0], name: blk.Labels[1], file: file, block: blk}
			if a := blk.Body.Attributes["count"]; a != nil {
				r.count = a.Expr
			}
			if a := blk.Body.Attributes["for_each"]; a != nil {
				r.forEach = a.Expr
			}
			m.resources = append(m.resources, r)
			m.resByName[key] = r
			m.resTypes[r.typ] = true
		case "provider":
			if len(blk.Labels) == 1 {
				m.providers = append(m.providers, &providerDecl{name: blk.Labels[0], file: file, block: blk})
			}
		case "module":
			if len(blk.Labels) != 1 || m.callByNm[blk.Labels[0]] != nil {
				continue
			}
			c := &callDecl{name: blk.Labels[0], file: file, block: blk, inputs: hclsyntax.Attributes{}}
			for k, a := range blk.Body.Attributes {
				switch k {
				case "source":
					if v, diags := a.Expr.Value(nil); !diags.HasErrors() && v.Type() == cty.String && v.IsKnown() && !v.IsNull() {
						c.source = v.AsString()
						c.local = localSource(m.dir, c.source)
					}
				case "count":
					c.count = a.Expr
				case "for_each":
					c.forEach = a.Expr
				default:
					if !callMeta[k] {
						c.inputs[k] = a
					}
				}
			}
			m.calls = append(m.calls, c)
			m.callByNm[c.name] = c
		}
	}
}

// localSource resolves a module source written as a local path ("./x",
// "../x") against the calling directory. It returns "" for registry, git
// and other remote sources, and for paths leaving the scanned tree.
func localSource(dir, src string) string {
	if !strings.HasPrefix(src, "./") && !strings.HasPrefix(src, "../") && src != "." && src != ".." {
		return ""
	}
	p := path.Join(dir, src)
	if p == ".." || strings.HasPrefix(p, "../") {
		return ""
	}
	return p
}

func readVariable(blk *hclsyntax.Block) *variable {
	v := &variable{name: blk.Labels[0], ty: cty.DynamicPseudoType}
	if a := blk.Body.Attributes["default"]; a != nil {
		v.def = a.Expr
	}
	if a := blk.Body.Attributes["type"]; a != nil {
		expr := a.Expr
		// In JSON files the type is a string holding an expression.
		if lit, ok := expr.(*hclsyntax.LiteralValueExpr); ok && lit.Val.Type() == cty.String && !lit.Val.IsNull() {
			if e, diags := hclsyntax.ParseExpression([]byte(lit.Val.AsString()), "", hcl.InitialPos); !diags.HasErrors() {
				expr = e
			}
		}
		if ty, defs, diags := typeexpr.TypeConstraintWithDefaults(expr); !diags.HasErrors() {
			v.ty, v.defaults = ty, defs
		}
	}
	return v
}

// blockRange is the lines a block spans, header to closing brace.
func blockRange(b *hclsyntax.Block) iac.Range {
	r := b.Range()
	return iac.Range{StartLine: r.Start.Line, EndLine: max(r.End.Line, r.Start.Line)}
}

func lineRange(r hcl.Range) iac.Range {
	return iac.Range{StartLine: r.Start.Line, EndLine: max(r.End.Line, r.Start.Line)}
}
