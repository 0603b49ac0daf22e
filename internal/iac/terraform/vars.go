package terraform

import (
	"fmt"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
)

// cliVar is one Options.Vars entry: the text as given and, when the text
// is a constant HCL expression, its value.
type cliVar struct {
	raw string
	val cty.Value // NilVal when raw is not an expression
}

func parseCLIVar(raw string) cliVar {
	cv := cliVar{raw: raw}
	if len(raw) > maxValueWeight || checkNesting([]byte(raw), maxNesting) != nil {
		return cv
	}
	e, diags := hclsyntax.ParseExpression([]byte(raw), "-var", hcl.InitialPos)
	if diags.HasErrors() || len(e.Variables()) > 0 {
		return cv
	}
	if v, diags := e.Value(nil); !diags.HasErrors() {
		cv.val = v
	}
	return cv
}

// value is the variable's value given its declared type: for a string
// variable the text as is (as Terraform does), otherwise the parsed value
// when there is one.
func (cv cliVar) value(ty cty.Type) cty.Value {
	if ty == cty.String || cv.val == cty.NilVal {
		return cty.StringVal(cv.raw)
	}
	return cv.val
}

// loadOptionVars parses Options.Vars and Options.VarFiles once per Load.
func (r *run) loadOptionVars() {
	r.cliVars = make(map[string]cliVar, len(r.opts.Vars))
	for k, v := range r.opts.Vars {
		r.cliVars[k] = parseCLIVar(v)
	}
	for _, f := range r.opts.VarFiles {
		vals, err := r.readVarFile(f)
		if err != nil {
			r.addErr(f, err)
			continue
		}
		r.fileVars = append(r.fileVars, vals)
	}
}

// readVarFile reads a variable file. Its values must be constants; one
// that is not is unknown.
func (r *run) readVarFile(name string) (map[string]cty.Value, error) {
	src, err := r.in.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("read variables: %w", err)
	}
	attrs, err := parseVars(name, src)
	if err != nil {
		return nil, err
	}
	vals := make(map[string]cty.Value, len(attrs))
	for k, a := range attrs {
		v, diags := a.Expr.Value(nil)
		if diags.HasErrors() {
			v = cty.DynamicVal
		}
		vals[k] = capValue(v)
	}
	return vals, nil
}

// rootInputs are the values a root module's variables get from its
// directory's variable files, Options.VarFiles and Options.Vars, later
// ones winning.
func (r *run) rootInputs(e *dirEntry, mod *module) map[string]value {
	in := map[string]value{}
	set := func(vals map[string]cty.Value) {
		for k, v := range vals {
			if mod.variables[k] != nil {
				in[k] = value{v: v}
			}
		}
	}
	for _, f := range e.varFiles {
		vals, err := r.readVarFile(f)
		if err != nil {
			r.addErr(f, err)
			continue
		}
		set(vals)
	}
	for _, vals := range r.fileVars {
		set(vals)
	}
	for k, cv := range r.cliVars {
		if vd := mod.variables[k]; vd != nil {
			in[k] = value{v: cv.value(vd.ty)}
		}
	}
	return in
}
