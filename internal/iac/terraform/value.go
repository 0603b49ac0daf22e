package terraform

import (
	"math/big"
	"strconv"
	"strings"

	"github.com/vigil-sec/vigil/internal/iac"
	"github.com/zclconf/go-cty/cty"
)

// maxValueWeight bounds a named value (a variable, local or output): a
// heavier one is treated as unknown, so that values cannot double in size
// from one local to the next.
const maxValueWeight = 1 << 20

// capValue returns v, or an unknown value when v is too heavy to carry on.
func capValue(v cty.Value) cty.Value {
	if weight(v, 0, maxValueWeight) > maxValueWeight {
		return cty.DynamicVal
	}
	return v
}

// toAny converts an evaluated value to the JSON-like shapes of iac.Resource
// Attrs. ok is false when v is unknown: its map key must then be absent.
// Unknown elements of lists become nil; unknown map values are dropped.
func toAny(v cty.Value, depth int) (out any, ok bool) {
	if !v.IsKnown() {
		return nil, false
	}
	if v.IsMarked() {
		v, _ = v.Unmark()
		if !v.IsKnown() {
			return nil, false
		}
	}
	if v.IsNull() || depth > iac.MaxDepth {
		return nil, true
	}
	ty := v.Type()
	switch {
	case ty == cty.String:
		return v.AsString(), true
	case ty == cty.Bool:
		return v.True(), true
	case ty == cty.Number:
		return number(v.AsBigFloat()), true
	case ty.IsListType() || ty.IsSetType() || ty.IsTupleType():
		l := make([]any, 0, v.LengthInt())
		for it := v.ElementIterator(); it.Next(); {
			_, e := it.Element()
			x, _ := toAny(e, depth+1)
			l = append(l, x)
		}
		return l, true
	case ty.IsMapType() || ty.IsObjectType():
		m := make(map[string]any, v.LengthInt())
		for it := v.ElementIterator(); it.Next(); {
			k, e := it.Element()
			if x, ok := toAny(e, depth+1); ok {
				m[k.AsString()] = x
			}
		}
		return m, true
	}
	return nil, false
}

func number(f *big.Float) any {
	if f.IsInt() {
		if i, acc := f.Int64(); acc == big.Exact {
			return i
		}
	}
	x, _ := f.Float64()
	return iac.Normalize(x)
}

// instanceKey formats an instance key the way Terraform addresses write
// it: [0] for count, ["name"] for for_each.
func instanceKey(k cty.Value) string {
	if k == cty.NilVal || !k.IsKnown() || k.IsNull() {
		return ""
	}
	switch k.Type() {
	case cty.Number:
		if i, acc := k.AsBigFloat().Int64(); acc == big.Exact {
			return "[" + strconv.FormatInt(i, 10) + "]"
		}
		return "[" + k.AsBigFloat().Text('f', -1) + "]"
	case cty.String:
		return "[" + strconv.Quote(k.AsString()) + "]"
	}
	return ""
}

// providerOf names the provider of a resource type: its prefix up to the
// first underscore (aws, google, azurerm, kubernetes …).
func providerOf(typ string) string {
	if i := strings.IndexByte(typ, '_'); i > 0 {
		return typ[:i]
	}
	return typ
}
