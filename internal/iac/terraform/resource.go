package terraform

import (
	"slices"
	"strconv"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/vigil-sec/vigil/internal/iac"
	"github.com/zclconf/go-cty/cty"
)

type resState struct {
	state uint8
	exp   expansion
	insts []*resInst
	vals  map[string]cty.Value // values for references, by attributes read
}

type resInst struct {
	key cty.Value
	obj map[string]cty.Value // evaluated attributes and blocks, for references
	res iac.Resource
}

// resourceMeta are the resource arguments that are not attributes.
var resourceMeta = map[string]bool{"count": true, "for_each": true, "provider": true, "depends_on": true}

// resourceMetaBlocks are the resource blocks that are not configuration.
var resourceMetaBlocks = map[string]bool{"provisioner": true, "connection": true}

// resource evaluates every instance of a resource block, once.
func (s *scope) resource(d *resourceDecl) *resState {
	key := d.typ + "." + d.name
	if rs := s.res[key]; rs != nil {
		return rs
	}
	rs := &resState{state: busy}
	s.res[key] = rs
	rs.exp = s.expand(d.count, d.forEach, d.file, "resource "+key)
	loc := iac.Location{File: d.file, Range: blockRange(d.block)}
	for i := range rs.exp.n() {
		if !s.ev.addInstance(d.file) {
			break
		}
		ic := rs.exp.inst(i)
		c := &collector{lines: map[string]iac.Range{}, refs: map[string][]string{}}
		attrs, obj := s.body(d.block.Body, ic, "", true, c)
		r := iac.Resource{
			Source:   iac.SourceTerraform,
			Type:     d.typ,
			Address:  s.prefix + key + instanceKey(ic.key),
			Location: loc,
			Via:      s.via,
			Provider: providerOf(d.typ),
			Attrs:    attrs,
			Lines:    c.lines,
		}
		if len(c.refs) > 0 {
			r.Refs = c.refs
		}
		rs.insts = append(rs.insts, &resInst{key: ic.key, obj: obj, res: r})
	}
	rs.state = done
	return rs
}

// resValue is the value a reference to a resource sees: the attributes
// written in its configuration, with the attributes the expression reads
// but the configuration does not set (ids, arns …) unknown.
func (s *scope) resValue(typ, name string, attrs []string) cty.Value {
	d := s.mod.resByName[typ+"."+name]
	if d == nil {
		return cty.DynamicVal
	}
	rs := s.resource(d)
	if rs.state != done {
		return cty.DynamicVal // refers to itself
	}
	// References to the same attributes share one value: a block with
	// many instances referring to another must not rebuild it each time.
	slices.Sort(attrs)
	attrs = slices.Compact(attrs)
	ck := strings.Join(attrs, ",")
	if v, ok := rs.vals[ck]; ok {
		return v
	}
	v := rs.value(attrs)
	if rs.vals == nil {
		rs.vals = map[string]cty.Value{}
	}
	rs.vals[ck] = v
	return v
}

func (rs *resState) value(attrs []string) cty.Value {
	obj := func(in *resInst) cty.Value {
		m := make(map[string]cty.Value, len(in.obj)+len(attrs))
		for k, v := range in.obj {
			m[k] = v
		}
		for _, a := range attrs {
			if _, ok := m[a]; !ok && a != "" {
				m[a] = cty.DynamicVal
			}
		}
		return cty.ObjectVal(m)
	}
	switch rs.exp.kind {
	case expNone:
		if len(rs.insts) == 0 {
			return cty.DynamicVal
		}
		return obj(rs.insts[0])
	case expCount:
		if len(rs.insts) == 0 {
			return cty.EmptyTupleVal
		}
		l := make([]cty.Value, len(rs.insts))
		for i, in := range rs.insts {
			l[i] = obj(in)
		}
		return cty.TupleVal(l)
	case expEach:
		m := make(map[string]cty.Value, len(rs.insts))
		for _, in := range rs.insts {
			m[in.key.AsString()] = obj(in)
		}
		return cty.ObjectVal(m)
	}
	return cty.DynamicVal
}

// collector gathers the line ranges and references of a resource's
// attribute paths.
type collector struct {
	lines map[string]iac.Range
	refs  map[string][]string
}

// blockGroup is the blocks of one type in a body, in order.
type blockGroup struct {
	list    []any
	vals    []cty.Value
	unknown bool // a dynamic block's for_each was unknown
}

// body evaluates a resource body (or a nested block's) into Attrs values
// and into the cty object references see. Nested blocks become lists of
// objects under their type name.
func (s *scope) body(b *hclsyntax.Body, ic *inst, prefix string, top bool, c *collector) (map[string]any, map[string]cty.Value) {
	attrs := make(map[string]any, len(b.Attributes)+len(b.Blocks))
	vals := make(map[string]cty.Value, len(b.Attributes)+len(b.Blocks))
	for name, a := range b.Attributes {
		if top && resourceMeta[name] {
			continue
		}
		p := prefix + name
		c.lines[p] = lineRange(a.SrcRange)
		val := s.eval(a.Expr, ic)
		if len(val.refs) > 0 {
			c.refs[p] = val.refs
		}
		vals[name] = val.v
		if x, ok := toAny(val.v, 1); ok && x != nil {
			attrs[name] = x
		}
	}
	if len(b.Blocks) == 0 {
		return attrs, vals
	}
	groups := map[string]*blockGroup{}
	group := func(typ string) *blockGroup {
		g := groups[typ]
		if g == nil {
			g = &blockGroup{}
			groups[typ] = g
		}
		return g
	}
	for _, blk := range b.Blocks {
		switch {
		case top && resourceMetaBlocks[blk.Type]:
		case blk.Type == "dynamic" && len(blk.Labels) == 1:
			s.dynamic(blk, ic, prefix, c, group(blk.Labels[0]))
		default:
			s.nested(blk.Body, blockRange(blk), ic, prefix+blk.Type, c, group(blk.Type))
		}
	}
	for typ, g := range groups {
		if g.unknown {
			vals[typ] = cty.DynamicVal
			continue
		}
		attrs[typ] = g.list
		vals[typ] = cty.TupleVal(g.vals)
	}
	return attrs, vals
}

// nested evaluates one nested block as the next element of its group.
func (s *scope) nested(b *hclsyntax.Body, r iac.Range, ic *inst, path string, c *collector, g *blockGroup) {
	p := path + "." + strconv.Itoa(len(g.list))
	c.lines[p] = r
	a, v := s.body(b, ic, p+".", false, c)
	g.list = append(g.list, a)
	g.vals = append(g.vals, cty.ObjectVal(v))
}

// dynamic expands a dynamic block: one block per element of its for_each,
// with the iterator (named by `iterator`, else by the block type) holding
// key and value. An unknown for_each makes the whole block type unknown.
func (s *scope) dynamic(blk *hclsyntax.Block, ic *inst, prefix string, c *collector, g *blockGroup) {
	typ := blk.Labels[0]
	fe := blk.Body.Attributes["for_each"]
	var content *hclsyntax.Block
	for _, cb := range blk.Body.Blocks {
		if cb.Type == "content" {
			content = cb
			break
		}
	}
	if fe == nil || content == nil {
		return
	}
	iter := typ
	if it := blk.Body.Attributes["iterator"]; it != nil {
		if kw := hcl.ExprAsKeyword(it.Expr); kw != "" {
			iter = kw
		}
	}
	v, _ := s.eval(fe.Expr, ic).v.UnmarkDeep()
	if !v.IsKnown() || v.IsNull() || !v.CanIterateElements() || (v.Type().IsSetType() && !v.IsWhollyKnown()) {
		g.unknown = true
		return
	}
	r := blockRange(content)
	for it := v.ElementIterator(); it.Next(); {
		s.ev.iterations++
		if s.ev.iterations > maxIterations {
			s.ev.exhausted = true
			g.unknown = true
			return
		}
		k, e := it.Element()
		child := ic.withIter(iter, cty.ObjectVal(map[string]cty.Value{"key": k, "value": e}))
		s.nested(content.Body, r, child, prefix+typ, c, g)
	}
}

// provider evaluates a provider block into a resource of type "provider":
// its attributes plus "name" (aws, google …) and, when set, "alias".
func (s *scope) provider(p *providerDecl) iac.Resource {
	c := &collector{lines: map[string]iac.Range{}, refs: map[string][]string{}}
	attrs, _ := s.body(p.block.Body, &inst{}, "", true, c)
	attrs["name"] = p.name
	addr := "provider." + p.name
	if alias, ok := attrs["alias"].(string); ok && alias != "" {
		addr += "." + alias
	}
	r := iac.Resource{
		Source:   iac.SourceTerraform,
		Type:     "provider",
		Address:  s.prefix + addr,
		Location: iac.Location{File: p.file, Range: blockRange(p.block)},
		Via:      s.via,
		Provider: p.name,
		Attrs:    attrs,
		Lines:    c.lines,
	}
	if len(c.refs) > 0 {
		r.Refs = c.refs
	}
	return r
}
