package terraform

import (
	"fmt"
	"slices"
	"strings"

	"github.com/vigil-sec/vigil/internal/iac"
	"github.com/zclconf/go-cty/cty"
)

type callState struct {
	state    uint8
	exp      expansion
	insts    []*childInst
	valState uint8
	val      cty.Value
}

type childInst struct {
	key cty.Value
	sc  *scope
}

// call expands a module call, once: its instances, each a scope of the
// called module with the inputs evaluated here. Remote sources and
// directories outside the scan give no instances; their outputs are
// unknown.
func (s *scope) call(name string) *callState {
	if cs := s.calls[name]; cs != nil {
		return cs
	}
	cs := &callState{state: busy, val: cty.DynamicVal}
	s.calls[name] = cs
	defer func() { cs.state = done }()
	d := s.mod.callByNm[name]
	if d == nil || d.local == "" {
		return cs
	}
	child := s.ev.r.module(d.local)
	if child == nil {
		return cs
	}
	if s.depth+1 > maxModuleDepth {
		s.ev.fail(d.file, fmt.Errorf("module %s: nesting deeper than %d modules", name, maxModuleDepth))
		return cs
	}
	if slices.Contains(s.chain, child.dir) {
		s.ev.fail(d.file, fmt.Errorf("module %s: cycle %s -> %s", name, strings.Join(s.chain, " -> "), child.dir))
		return cs
	}
	cs.exp = s.expand(d.count, d.forEach, d.file, "module "+name)
	chain := append(slices.Clip(s.chain), child.dir)
	loc := iac.Location{File: d.file, Range: blockRange(d.block)}
	via := append(slices.Clip(s.via), loc)
	for i := range cs.exp.n() {
		if !s.ev.addInstance(d.file) {
			break
		}
		ic := cs.exp.inst(i)
		inputs := make(map[string]value, len(d.inputs))
		for k, a := range d.inputs {
			v := s.eval(a.Expr, ic)
			v.v = capValue(v.v)
			inputs[k] = v
		}
		prefix := s.prefix + "module." + name + instanceKey(ic.key) + "."
		sc := newScope(s.ev, child, prefix, via, s.depth+1, chain, inputs)
		cs.insts = append(cs.insts, &childInst{key: ic.key, sc: sc})
	}
	return cs
}

// callValue is what module.NAME evaluates to: an object of the module's
// outputs, a tuple of them under count, an object of them under for_each.
// It also returns the references of the outputs read.
func (s *scope) callValue(name string, outs []outRef) (cty.Value, []string) {
	cs := s.call(name)
	if cs.state != done || len(cs.insts) == 0 && cs.exp.kind == expNone {
		return cty.DynamicVal, nil
	}
	var refs []string
	for _, ci := range cs.insts {
		for _, o := range outs {
			if o.name != "" && (o.key == cty.NilVal || ci.key != cty.NilVal && o.key.Type() == ci.key.Type() && o.key.RawEquals(ci.key)) {
				refs = append(refs, ci.sc.output(o.name).refs...)
			}
		}
	}
	switch cs.valState {
	case done:
		return cs.val, refs
	case busy:
		return cty.DynamicVal, refs
	}
	cs.valState = busy
	objs := make([]cty.Value, len(cs.insts))
	for i, ci := range cs.insts {
		m := make(map[string]cty.Value, len(ci.sc.mod.outputs))
		for o := range ci.sc.mod.outputs {
			m[o] = ci.sc.output(o).v
		}
		objs[i] = cty.ObjectVal(m)
	}
	switch cs.exp.kind {
	case expNone:
		cs.val = objs[0]
	case expCount:
		cs.val = cty.EmptyTupleVal
		if len(objs) > 0 {
			cs.val = cty.TupleVal(objs)
		}
	case expEach:
		m := make(map[string]cty.Value, len(objs))
		for i, ci := range cs.insts {
			m[ci.key.AsString()] = objs[i]
		}
		cs.val = cty.ObjectVal(m)
	default:
		cs.val = cty.DynamicVal
	}
	cs.valState = done
	return cs.val, refs
}

// outRef is an output an expression reads: module.NAME.out, or
// module.NAME[key].out for one instance.
type outRef struct {
	key  cty.Value // NilVal when the reference has no literal key
	name string
}
