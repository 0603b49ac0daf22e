package terraform

import (
	"fmt"
	"math/big"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/vigil-sec/vigil/internal/iac"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
	"github.com/zclconf/go-cty/cty/function"
)

// Expansion limits.
const (
	maxInstances      = 1_000   // instances of one resource or module block
	maxTotalInstances = 100_000 // resource and module instances of one root
	maxModuleDepth    = 10      // nested module calls
)

// evaluation is the evaluation of one root module and the modules it
// calls. It runs on one goroutine.
type evaluation struct {
	r          *run
	root       string // the root module's directory
	funcs      map[string]function.Function
	ctx0       *hcl.EvalContext // functions only, for expressions without references
	iterations int
	tplBytes   int
	instances  int
	exhausted  bool // a work budget ran out
	out        []iac.Resource
	errs       []iac.FileError
}

func newEvaluation(r *run, root string) *evaluation {
	ev := &evaluation{r: r, root: root}
	ev.funcs = ev.funcsFor()
	ev.ctx0 = &hcl.EvalContext{Functions: ev.funcs}
	return ev
}

func (ev *evaluation) fail(file string, err error) {
	ev.errs = append(ev.errs, iac.FileError{File: file, Err: err})
}

// addInstance counts one more resource or module instance, refusing it
// once the root's budget is spent.
func (ev *evaluation) addInstance(file string) bool {
	ev.instances++
	if ev.instances == maxTotalInstances+1 {
		ev.fail(file, fmt.Errorf("%w: over %d instances in one root module; the rest are left out", ErrBudget, maxTotalInstances))
	}
	return ev.instances <= maxTotalInstances
}

// value is an evaluated expression and the resources it refers to,
// directly or through variables, locals and module outputs.
type value struct {
	v    cty.Value
	refs []string
}

const (
	idle uint8 = iota
	busy
	done
)

type slot struct {
	state uint8
	value
}

// scope is one instance of a module: its variables and the memoized
// values of its locals, outputs, resources and module calls. Everything
// is evaluated on demand, so declarations may come in any order; a value
// that depends on itself is unknown.
type scope struct {
	ev      *evaluation
	mod     *module
	prefix  string // "", "module.net." or `module.net["a"].`
	via     []iac.Location
	depth   int
	chain   []string // module directories from the root, for cycle detection
	vars    map[string]value
	varObj  cty.Value
	pathObj cty.Value
	locals  map[string]*slot
	outputs map[string]*slot
	res     map[string]*resState
	calls   map[string]*callState
}

var terraformObj = cty.ObjectVal(map[string]cty.Value{"workspace": cty.StringVal("default")})

func newScope(ev *evaluation, mod *module, prefix string, via []iac.Location, depth int, chain []string, inputs map[string]value) *scope {
	s := &scope{
		ev: ev, mod: mod, prefix: prefix, via: via, depth: depth, chain: chain,
		vars:    make(map[string]value, len(mod.variables)),
		locals:  map[string]*slot{},
		outputs: map[string]*slot{},
		res:     map[string]*resState{},
		calls:   map[string]*callState{},
	}
	obj := make(map[string]cty.Value, len(mod.variables))
	for name, vd := range mod.variables {
		val, ok := inputs[name]
		if !ok {
			val.v = cty.DynamicVal
			if vd.def != nil {
				if v, diags := vd.def.Value(ev.ctx0); !diags.HasErrors() {
					val.v = v
				}
			}
		}
		val.v = convertVar(val.v, vd)
		s.vars[name] = val
		obj[name] = val.v
	}
	s.varObj = cty.ObjectVal(obj)
	s.pathObj = cty.ObjectVal(map[string]cty.Value{
		"module": cty.StringVal(relPath(ev.root, mod.dir)),
		"root":   cty.StringVal("."),
		"cwd":    cty.StringVal("."),
	})
	return s
}

// convertVar converts a variable's value to its declared type and applies
// the type's optional attribute defaults. A value that does not convert is
// kept as it is.
func convertVar(v cty.Value, vd *variable) (out cty.Value) {
	if vd.ty == cty.DynamicPseudoType || !v.IsKnown() || v.IsNull() {
		return v
	}
	c, err := convert.Convert(v, vd.ty)
	if err != nil {
		return v
	}
	if vd.defaults != nil {
		defer func() {
			if recover() != nil {
				out = c
			}
		}()
		c = vd.defaults.Apply(c)
	}
	return c
}

// relPath is the slash path of to relative to from; both are relative to
// the scanned root.
func relPath(from, to string) string {
	split := func(p string) []string {
		if p == "." || p == "" {
			return nil
		}
		return strings.Split(p, "/")
	}
	f, t := split(from), split(to)
	i := 0
	for i < len(f) && i < len(t) && f[i] == t[i] {
		i++
	}
	parts := make([]string, 0, len(f)-i+len(t)-i)
	for range f[i:] {
		parts = append(parts, "..")
	}
	parts = append(parts, t[i:]...)
	if len(parts) == 0 {
		return "."
	}
	return strings.Join(parts, "/")
}

// run evaluates and emits every resource of the scope, then of the
// modules it calls.
func (s *scope) run() {
	for _, p := range s.mod.providers {
		s.ev.out = append(s.ev.out, s.provider(p))
	}
	for _, d := range s.mod.resources {
		for _, in := range s.resource(d).insts {
			s.ev.out = append(s.ev.out, in.res)
		}
	}
	for _, d := range s.mod.calls {
		for _, ci := range s.call(d.name).insts {
			ci.sc.run()
		}
	}
}

func attrStep(tr hcl.Traversal, i int) string {
	if i < len(tr) {
		if a, ok := tr[i].(hcl.TraverseAttr); ok {
			return a.Name
		}
	}
	return ""
}

// eval evaluates e in the scope, building the variables it refers to and
// nothing else. Any error makes the value unknown.
func (s *scope) eval(e hclsyntax.Expression, ic *inst) value {
	trs := e.Variables()
	if len(trs) == 0 {
		v, diags := e.Value(s.ev.ctx0)
		if diags.HasErrors() {
			return value{v: cty.DynamicVal}
		}
		return value{v: v}
	}
	vars := make(map[string]cty.Value, 4)
	var (
		refs      []string
		needLocal map[string]bool
		needCall  map[string][]outRef // call → outputs referred to
		needRes   map[string]map[string][]string
	)
	for _, tr := range trs {
		root := tr.RootName()
		if ic != nil {
			if it, ok := ic.iters[root]; ok {
				vars[root] = it
				continue
			}
		}
		switch root {
		case "var":
			vars[root] = s.varObj
			if name := attrStep(tr, 1); name != "" {
				refs = append(refs, s.vars[name].refs...)
			}
		case "local":
			if name := attrStep(tr, 1); name != "" {
				if needLocal == nil {
					needLocal = map[string]bool{}
				}
				needLocal[name] = true
			}
		case "module":
			if name := attrStep(tr, 1); name != "" {
				if needCall == nil {
					needCall = map[string][]outRef{}
				}
				o := outRef{name: attrStep(tr, 2)}
				if len(tr) > 2 {
					if ix, ok := tr[2].(hcl.TraverseIndex); ok {
						o = outRef{key: ix.Key, name: attrStep(tr, 3)}
					}
				}
				needCall[name] = append(needCall[name], o)
			}
		case "path":
			vars[root] = s.pathObj
		case "terraform":
			vars[root] = terraformObj
		case "count":
			vars[root] = cty.DynamicVal
			if ic != nil && ic.count != cty.NilVal {
				vars[root] = cty.ObjectVal(map[string]cty.Value{"index": ic.count})
			}
		case "each":
			vars[root] = cty.DynamicVal
			if ic != nil && ic.eachKey != cty.NilVal {
				vars[root] = cty.ObjectVal(map[string]cty.Value{"key": ic.eachKey, "value": ic.eachVal})
			}
		case "data":
			vars[root] = cty.DynamicVal
			if t, n := attrStep(tr, 1), attrStep(tr, 2); t != "" && n != "" {
				refs = append(refs, s.prefix+"data."+t+"."+n)
			}
		default:
			name := attrStep(tr, 1)
			if !s.mod.resTypes[root] || name == "" {
				vars[root] = cty.DynamicVal
				continue
			}
			ref, at := s.prefix+root+"."+name, 2
			if len(tr) > 2 {
				if ix, ok := tr[2].(hcl.TraverseIndex); ok {
					ref += instanceKey(ix.Key)
					at = 3
				}
			}
			refs = append(refs, ref)
			if needRes == nil {
				needRes = map[string]map[string][]string{}
			}
			if needRes[root] == nil {
				needRes[root] = map[string][]string{}
			}
			needRes[root][name] = append(needRes[root][name], attrStep(tr, at))
		}
	}
	if needLocal != nil {
		m := make(map[string]cty.Value, len(needLocal))
		for name := range needLocal {
			lv := s.local(name)
			m[name] = lv.v
			refs = append(refs, lv.refs...)
		}
		vars["local"] = cty.ObjectVal(m)
	}
	if needCall != nil {
		m := make(map[string]cty.Value, len(needCall))
		for name, outs := range needCall {
			var r []string
			m[name], r = s.callValue(name, outs)
			refs = append(refs, r...)
		}
		vars["module"] = cty.ObjectVal(m)
	}
	for typ, names := range needRes {
		m := make(map[string]cty.Value, len(names))
		for name, attrs := range names {
			m[name] = s.resValue(typ, name, attrs)
		}
		vars[typ] = cty.ObjectVal(m)
	}
	v, diags := e.Value(&hcl.EvalContext{Variables: vars, Functions: s.ev.funcs})
	if diags.HasErrors() {
		v = cty.DynamicVal
	}
	return value{v: v, refs: compactRefs(refs)}
}

func compactRefs(refs []string) []string {
	if len(refs) < 2 {
		return refs
	}
	slices.Sort(refs)
	return slices.Compact(refs)
}

func (s *scope) local(name string) value {
	sl := s.locals[name]
	if sl == nil {
		sl = &slot{}
		s.locals[name] = sl
	}
	switch sl.state {
	case done:
		return sl.value
	case busy:
		return value{v: cty.DynamicVal} // a cycle
	}
	sl.state = busy
	sl.value = value{v: cty.DynamicVal}
	if a := s.mod.locals[name]; a != nil {
		sl.value = s.eval(a.Expr, nil)
		sl.v = capValue(sl.v)
	}
	sl.state = done
	return sl.value
}

func (s *scope) output(name string) value {
	sl := s.outputs[name]
	if sl == nil {
		sl = &slot{}
		s.outputs[name] = sl
	}
	switch sl.state {
	case done:
		return sl.value
	case busy:
		return value{v: cty.DynamicVal}
	}
	sl.state = busy
	sl.value = value{v: cty.DynamicVal}
	if a := s.mod.outputs[name]; a != nil {
		sl.value = s.eval(a.Expr, nil)
		sl.v = capValue(sl.v)
	}
	sl.state = done
	return sl.value
}

// inst is what an expression inside one instance of a block may refer to
// beyond the scope: count.index, each.key and each.value, and the
// iterators of the dynamic blocks around it.
type inst struct {
	key              cty.Value // the instance key; NilVal for a single instance
	count            cty.Value
	eachKey, eachVal cty.Value
	iters            map[string]cty.Value
}

func (ic *inst) withIter(name string, v cty.Value) *inst {
	c := inst{}
	if ic != nil {
		c = *ic
	}
	c.iters = make(map[string]cty.Value, len(c.iters)+1)
	if ic != nil {
		for k, x := range ic.iters {
			c.iters[k] = x
		}
	}
	c.iters[name] = v
	return &c
}

// The ways a block expands to instances.
const (
	expNone    = iota // one instance, no key
	expCount          // keyed by number
	expEach           // keyed by string
	expUnknown        // count or for_each not known: one instance, no key
)

type expansion struct {
	kind    int
	keys    []cty.Value
	vals    []cty.Value
	isCount bool // for expUnknown: which argument was unknown
}

func (x *expansion) n() int {
	if x.kind == expCount || x.kind == expEach {
		return len(x.keys)
	}
	return 1
}

func (x *expansion) inst(i int) *inst {
	switch x.kind {
	case expCount:
		return &inst{key: x.keys[i], count: x.keys[i]}
	case expEach:
		return &inst{key: x.keys[i], eachKey: x.keys[i], eachVal: x.vals[i]}
	case expUnknown:
		if x.isCount {
			return &inst{count: cty.UnknownVal(cty.Number)}
		}
		return &inst{eachKey: cty.UnknownVal(cty.String), eachVal: cty.DynamicVal}
	}
	return &inst{}
}

// expand evaluates a block's count or for_each.
func (s *scope) expand(count, forEach hclsyntax.Expression, file, what string) expansion {
	switch {
	case count != nil:
		unknown := expansion{kind: expUnknown, isCount: true}
		v, _ := s.eval(count, nil).v.UnmarkDeep()
		if !v.IsKnown() || v.IsNull() {
			return unknown
		}
		nv, err := convert.Convert(v, cty.Number)
		if err != nil {
			return unknown
		}
		n, acc := nv.AsBigFloat().Int64()
		if acc != big.Exact || n < 0 {
			return unknown
		}
		if n > maxInstances {
			s.ev.fail(file, fmt.Errorf("%s: count of %d is over the limit of %d; the rest are left out", what, n, maxInstances))
			n = maxInstances
		}
		x := expansion{kind: expCount, keys: make([]cty.Value, n)}
		for i := range x.keys {
			x.keys[i] = cty.NumberIntVal(int64(i))
		}
		return x
	case forEach != nil:
		unknown := expansion{kind: expUnknown}
		v, _ := s.eval(forEach, nil).v.UnmarkDeep()
		if !v.IsKnown() || v.IsNull() {
			return unknown
		}
		ty := v.Type()
		x := expansion{kind: expEach}
		switch {
		case ty.IsMapType() || ty.IsObjectType():
			for it := v.ElementIterator(); it.Next(); {
				k, e := it.Element()
				x.keys = append(x.keys, k)
				x.vals = append(x.vals, e)
			}
		case ty.IsSetType() || ty.IsListType() || ty.IsTupleType():
			if !v.IsWhollyKnown() {
				return unknown
			}
			seen := map[string]bool{}
			for it := v.ElementIterator(); it.Next(); {
				_, e := it.Element()
				sv, err := convert.Convert(e, cty.String)
				if err != nil || sv.IsNull() {
					return unknown
				}
				if !seen[sv.AsString()] {
					seen[sv.AsString()] = true
					x.keys = append(x.keys, sv)
					x.vals = append(x.vals, sv)
				}
			}
			slices.SortFunc(x.keys, func(a, b cty.Value) int { return strings.Compare(a.AsString(), b.AsString()) })
			x.vals = slices.Clone(x.keys)
		default:
			return unknown
		}
		if len(x.keys) > maxInstances {
			s.ev.fail(file, fmt.Errorf("%s: for_each of %d elements is over the limit of %d; the rest are left out", what, len(x.keys), maxInstances))
			x.keys, x.vals = x.keys[:maxInstances], x.vals[:maxInstances]
		}
		return x
	}
	return expansion{kind: expNone}
}
