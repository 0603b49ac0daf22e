package terraform

import (
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"path"
	"strings"

	"github.com/hashicorp/go-cty-funcs/collection"
	"github.com/hashicorp/go-cty-funcs/encoding"
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/ext/tryfunc"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/function"
	"github.com/zclconf/go-cty/cty/function/stdlib"
)

// Names of the internal functions guard() wraps expressions in.
const (
	forBudgetFunc = "vigil__for"
	tplBudgetFunc = "vigil__tpl"
)

// Evaluation limits. A root module whose evaluation goes over one of them
// gets unknown values for the rest and a FileError saying so.
const (
	maxIterations = 250_000   // for-expression elements and dynamic blocks
	maxTplBytes   = 256 << 20 // bytes interpolated into string templates
	maxArgWeight  = 16 << 20  // weight of one function call's arguments
	maxFormatNum  = 10_000    // width or precision in a format verb
	maxIndent     = 1_000     // spaces given to indent()
	maxProduct    = 100_000   // elements setproduct may build
)

// ErrBudget means one root module's evaluation used up its work budget.
var ErrBudget = errors.New("evaluation budget exhausted")

// errFileOutside refuses file functions on paths leaving the scanned tree.
var errFileOutside = errors.New("path is outside the scanned tree")

// baseFuncs are the pure functions, shared by every evaluation. They are
// the cty standard library plus the Terraform functions built from it,
// each guarded against arguments heavy enough to exhaust memory.
var baseFuncs = func() map[string]function.Function {
	fs := map[string]function.Function{
		"abs": stdlib.AbsoluteFunc, "ceil": stdlib.CeilFunc, "floor": stdlib.FloorFunc,
		"log": stdlib.LogFunc, "max": stdlib.MaxFunc, "min": stdlib.MinFunc,
		"parseint": stdlib.ParseIntFunc, "pow": stdlib.PowFunc, "signum": stdlib.SignumFunc,

		"chomp": stdlib.ChompFunc, "join": stdlib.JoinFunc, "lower": stdlib.LowerFunc,
		"upper": stdlib.UpperFunc, "regex": stdlib.RegexFunc, "regexall": stdlib.RegexAllFunc,
		"split": stdlib.SplitFunc, "strrev": stdlib.ReverseFunc, "substr": stdlib.SubstrFunc,
		"title": stdlib.TitleFunc, "trim": stdlib.TrimFunc, "trimprefix": stdlib.TrimPrefixFunc,
		"trimsuffix": stdlib.TrimSuffixFunc, "trimspace": stdlib.TrimSpaceFunc,
		"format": boundedFormat(stdlib.FormatFunc), "formatlist": boundedFormat(stdlib.FormatListFunc),
		"indent": boundedIndent(), "replace": replaceFunc(),
		"startswith": strPredicate(strings.HasPrefix), "endswith": strPredicate(strings.HasSuffix),
		"strcontains": strPredicate(strings.Contains),

		"chunklist": stdlib.ChunklistFunc, "coalesce": collection.CoalesceFunc,
		"coalescelist": stdlib.CoalesceListFunc, "compact": stdlib.CompactFunc,
		"concat": stdlib.ConcatFunc, "contains": stdlib.ContainsFunc, "distinct": stdlib.DistinctFunc,
		"element": stdlib.ElementFunc, "flatten": stdlib.FlattenFunc, "index": stdlib.IndexFunc,
		"keys": stdlib.KeysFunc, "length": lengthFunc(), "lookup": stdlib.LookupFunc,
		"merge": stdlib.MergeFunc, "range": stdlib.RangeFunc, "reverse": stdlib.ReverseListFunc,
		"setintersection": stdlib.SetIntersectionFunc, "setunion": stdlib.SetUnionFunc,
		"setsubtract": stdlib.SetSubtractFunc, "setsymmetricdifference": stdlib.SetSymmetricDifferenceFunc,
		"setproduct": boundedProduct(), "slice": stdlib.SliceFunc, "sort": stdlib.SortFunc,
		"values": stdlib.ValuesFunc, "zipmap": stdlib.ZipmapFunc,
		"one": oneFunc(), "sum": sumFunc(), "alltrue": allAnyFunc(true), "anytrue": allAnyFunc(false),

		"base64encode": encoding.Base64EncodeFunc, "base64decode": encoding.Base64DecodeFunc,
		"urlencode": encoding.URLEncodeFunc, "jsonencode": stdlib.JSONEncodeFunc,
		"jsondecode": boundedJSONDecode(), "csvdecode": stdlib.CSVDecodeFunc,
		"md5": hashFunc(md5.New, false), "sha1": hashFunc(sha1.New, false),
		"sha256": hashFunc(sha256.New, false), "sha512": hashFunc(sha512.New, false),
		"base64sha256": hashFunc(sha256.New, true), "base64sha512": hashFunc(sha512.New, true),

		"tobool": stdlib.MakeToFunc(cty.Bool), "tonumber": stdlib.MakeToFunc(cty.Number),
		"tostring": stdlib.MakeToFunc(cty.String),
		"tolist":   stdlib.MakeToFunc(cty.List(cty.DynamicPseudoType)),
		"toset":    stdlib.MakeToFunc(cty.Set(cty.DynamicPseudoType)),
		"tomap":    stdlib.MakeToFunc(cty.Map(cty.DynamicPseudoType)),

		"cidrhost": cidrHostFunc(), "cidrnetmask": cidrNetmaskFunc(),
		"cidrsubnet": cidrSubnetFunc(), "cidrsubnets": cidrSubnetsFunc(),

		"formatdate": stdlib.FormatDateFunc, "timeadd": stdlib.TimeAddFunc,
		"basename": pathFunc(path.Base), "dirname": pathFunc(path.Dir),

		"sensitive": identityFunc(), "nonsensitive": identityFunc(),
	}
	// Functions whose result differs per run or depends on the machine are
	// unknown by definition.
	for _, name := range []string{"timestamp", "plantimestamp", "uuid", "uuidv5", "bcrypt", "abspath", "pathexpand"} {
		fs[name] = unknownFunc(cty.String)
	}
	for name, f := range fs {
		fs[name] = weighed(f)
	}
	fs["try"] = tryfunc.TryFunc
	fs["can"] = tryfunc.CanFunc
	return fs
}()

// weighed wraps f so that a call whose arguments weigh more than
// maxArgWeight fails instead of copying them.
func weighed(f function.Function) function.Function {
	spec := &function.Spec{
		Params:   f.Params(),
		VarParam: f.VarParam(),
		Type:     f.ReturnTypeForValues,
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			w := 0
			for _, a := range args {
				if w = weight(a, w, maxArgWeight); w > maxArgWeight {
					return cty.NilVal, fmt.Errorf("%w: arguments over %d bytes", ErrBudget, maxArgWeight)
				}
			}
			return f.Call(args)
		},
	}
	return function.New(spec)
}

// weight adds to w the size of v (string bytes plus one per element),
// stopping early once over limit.
func weight(v cty.Value, w, limit int) int {
	if w > limit || !v.IsKnown() || v.IsNull() {
		return w
	}
	v, _ = v.Unmark()
	ty := v.Type()
	switch {
	case ty == cty.String:
		return w + len(v.AsString())
	case ty.IsPrimitiveType():
		return w + 1
	case v.CanIterateElements():
		for it := v.ElementIterator(); it.Next() && w <= limit; {
			k, e := it.Element()
			w = weight(e, w+1, limit)
			if k.Type() == cty.String {
				w += len(k.AsString())
			}
		}
	}
	return w
}

// funcs returns the function table of one evaluation: the shared pure
// functions plus file access confined to the scanned tree and the budget
// hooks.
func (ev *evaluation) funcsFor() map[string]function.Function {
	fs := make(map[string]function.Function, len(baseFuncs)+8)
	for k, v := range baseFuncs {
		fs[k] = v
	}
	fs[forBudgetFunc] = ev.budgetFunc(func(v cty.Value) int {
		if v.IsKnown() && !v.IsNull() && v.CanIterateElements() {
			return max(1, v.LengthInt())
		}
		return 1
	}, &ev.iterations, maxIterations)
	fs[tplBudgetFunc] = ev.budgetFunc(func(v cty.Value) int {
		if v.IsKnown() && !v.IsNull() && v.Type() == cty.String {
			return len(v.AsString())
		}
		return 1
	}, &ev.tplBytes, maxTplBytes)
	fs["file"] = ev.fileFunc(func(b []byte) (cty.Value, error) {
		return cty.StringVal(string(b)), nil
	})
	fs["filebase64"] = ev.fileFunc(func(b []byte) (cty.Value, error) {
		return cty.StringVal(base64.StdEncoding.EncodeToString(b)), nil
	})
	fs["fileexists"] = ev.fileExistsFunc()
	fs["templatefile"] = ev.templateFileFunc(fs)
	return fs
}

// budgetFunc returns an identity function that charges cost(v) to *used
// and fails once *used passes limit.
func (ev *evaluation) budgetFunc(cost func(cty.Value) int, used *int, limit int) function.Function {
	return function.New(&function.Spec{
		Params: []function.Parameter{{
			Name: "v", Type: cty.DynamicPseudoType,
			AllowNull: true, AllowUnknown: true, AllowDynamicType: true, AllowMarked: true,
		}},
		Type: func(args []cty.Value) (cty.Type, error) { return args[0].Type(), nil },
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			v, _ := args[0].Unmark()
			*used += cost(v)
			if *used > limit {
				ev.exhausted = true
				return cty.NilVal, ErrBudget
			}
			return args[0], nil
		},
	})
}

// resolve maps a path written in the configuration (relative to the root
// module, as Terraform runs there) to a path of the scanned tree, refusing
// absolute paths and paths leaving the tree.
func (ev *evaluation) resolve(p string) (string, error) {
	p = strings.ReplaceAll(p, `\`, "/")
	if path.IsAbs(p) || (len(p) > 1 && p[1] == ':') {
		return "", fmt.Errorf("%q: %w", p, errFileOutside)
	}
	full := path.Join(ev.root, p)
	if full == ".." || strings.HasPrefix(full, "../") {
		return "", fmt.Errorf("%q: %w", p, errFileOutside)
	}
	return full, nil
}

func (ev *evaluation) fileFunc(conv func([]byte) (cty.Value, error)) function.Function {
	return function.New(&function.Spec{
		Params: []function.Parameter{{Name: "path", Type: cty.String}},
		Type:   function.StaticReturnType(cty.String),
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			name, err := ev.resolve(args[0].AsString())
			if err != nil {
				return cty.NilVal, err
			}
			b, err := ev.r.in.ReadFile(name)
			if err != nil {
				return cty.NilVal, fmt.Errorf("read %s: %w", name, err)
			}
			return conv(b)
		},
	})
}

func (ev *evaluation) fileExistsFunc() function.Function {
	return function.New(&function.Spec{
		Params: []function.Parameter{{Name: "path", Type: cty.String}},
		Type:   function.StaticReturnType(cty.Bool),
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			name, err := ev.resolve(args[0].AsString())
			if err != nil {
				return cty.NilVal, err
			}
			_, ok := ev.r.files[name]
			return cty.BoolVal(ok), nil
		},
	})
}

// templateFileFunc renders a template file of the scanned tree with the
// given variables and the functions of fs, except templatefile itself
// (Terraform forbids the recursion).
func (ev *evaluation) templateFileFunc(fs map[string]function.Function) function.Function {
	return function.New(&function.Spec{
		Params: []function.Parameter{
			{Name: "path", Type: cty.String},
			{Name: "vars", Type: cty.DynamicPseudoType, AllowUnknown: true},
		},
		Type: function.StaticReturnType(cty.DynamicPseudoType),
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			name, err := ev.resolve(args[0].AsString())
			if err != nil {
				return cty.NilVal, err
			}
			vars := args[1]
			if !vars.IsWhollyKnown() {
				return cty.DynamicVal, nil
			}
			if vars.IsNull() || !(vars.Type().IsObjectType() || vars.Type().IsMapType()) {
				return cty.NilVal, errors.New("vars must be a map or object")
			}
			b, err := ev.r.in.ReadFile(name)
			if err != nil {
				return cty.NilVal, fmt.Errorf("read %s: %w", name, err)
			}
			if err := checkNesting(append([]byte{'"'}, b...), maxNesting); err != nil {
				return cty.NilVal, fmt.Errorf("%s: %w", name, err)
			}
			expr, diags := hclsyntax.ParseTemplate(b, name, hcl.InitialPos)
			if diags.HasErrors() {
				return cty.NilVal, fmt.Errorf("%s: %w", name, diagError(diags))
			}
			guard(expr)
			tf := make(map[string]function.Function, len(fs))
			for k, f := range fs {
				if k != "templatefile" {
					tf[k] = f
				}
			}
			ctx := &hcl.EvalContext{Variables: vars.AsValueMap(), Functions: tf}
			v, diags := expr.Value(ctx)
			if diags.HasErrors() {
				return cty.NilVal, fmt.Errorf("%s: %w", name, diagError(diags))
			}
			return v, nil
		},
	})
}

func unknownFunc(ty cty.Type) function.Function {
	return function.New(&function.Spec{
		VarParam: &function.Parameter{Name: "args", Type: cty.DynamicPseudoType, AllowUnknown: true, AllowNull: true, AllowDynamicType: true},
		Type:     function.StaticReturnType(ty),
		Impl: func([]cty.Value, cty.Type) (cty.Value, error) {
			return cty.UnknownVal(ty), nil
		},
	})
}

func identityFunc() function.Function {
	return function.New(&function.Spec{
		Params: []function.Parameter{{Name: "v", Type: cty.DynamicPseudoType, AllowUnknown: true, AllowNull: true, AllowDynamicType: true, AllowMarked: true}},
		Type:   func(args []cty.Value) (cty.Type, error) { return args[0].Type(), nil },
		Impl:   func(args []cty.Value, _ cty.Type) (cty.Value, error) { return args[0], nil },
	})
}

func pathFunc(f func(string) string) function.Function {
	return function.New(&function.Spec{
		Params: []function.Parameter{{Name: "path", Type: cty.String}},
		Type:   function.StaticReturnType(cty.String),
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			return cty.StringVal(f(args[0].AsString())), nil
		},
	})
}

func strPredicate(f func(s, sub string) bool) function.Function {
	return function.New(&function.Spec{
		Params: []function.Parameter{{Name: "str", Type: cty.String}, {Name: "sub", Type: cty.String}},
		Type:   function.StaticReturnType(cty.Bool),
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			return cty.BoolVal(f(args[0].AsString(), args[1].AsString())), nil
		},
	})
}

func hashFunc(h func() hash.Hash, b64 bool) function.Function {
	return function.New(&function.Spec{
		Params: []function.Parameter{{Name: "str", Type: cty.String}},
		Type:   function.StaticReturnType(cty.String),
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			d := h()
			d.Write([]byte(args[0].AsString()))
			sum := d.Sum(nil)
			if b64 {
				return cty.StringVal(base64.StdEncoding.EncodeToString(sum)), nil
			}
			return cty.StringVal(hex.EncodeToString(sum)), nil
		},
	})
}

// lengthFunc is Terraform's length: characters of a string, elements of a
// collection.
func lengthFunc() function.Function {
	return function.New(&function.Spec{
		Params: []function.Parameter{{Name: "value", Type: cty.DynamicPseudoType, AllowUnknown: true, AllowDynamicType: true, AllowMarked: true}},
		Type:   function.StaticReturnType(cty.Number),
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			v, marks := args[0].Unmark()
			if v.Type() == cty.String {
				n, err := stdlib.Strlen(v)
				return n.WithMarks(marks), err
			}
			if !v.IsKnown() {
				return cty.UnknownVal(cty.Number), nil
			}
			n, err := stdlib.Length(v)
			return n.WithMarks(marks), err
		},
	})
}

func oneFunc() function.Function {
	return function.New(&function.Spec{
		Params: []function.Parameter{{Name: "list", Type: cty.DynamicPseudoType}},
		Type:   function.StaticReturnType(cty.DynamicPseudoType),
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			v := args[0]
			if !v.CanIterateElements() {
				return cty.NilVal, errors.New("must be a list, set or tuple")
			}
			switch n := v.LengthInt(); n {
			case 0:
				return cty.NullVal(cty.DynamicPseudoType), nil
			case 1:
				it := v.ElementIterator()
				it.Next()
				_, e := it.Element()
				return e, nil
			default:
				return cty.NilVal, fmt.Errorf("must have at most one element, has %d", n)
			}
		},
	})
}

func sumFunc() function.Function {
	return function.New(&function.Spec{
		Params: []function.Parameter{{Name: "list", Type: cty.DynamicPseudoType}},
		Type:   function.StaticReturnType(cty.Number),
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			v := args[0]
			if !v.CanIterateElements() || v.LengthInt() == 0 {
				return cty.NilVal, errors.New("must be a non-empty list or set of numbers")
			}
			total := cty.Zero
			for it := v.ElementIterator(); it.Next(); {
				_, e := it.Element()
				if !e.IsKnown() {
					return cty.UnknownVal(cty.Number), nil
				}
				if e.Type() != cty.Number || e.IsNull() {
					return cty.NilVal, errors.New("elements must be numbers")
				}
				total = total.Add(e)
			}
			return total, nil
		},
	})
}

func allAnyFunc(all bool) function.Function {
	return function.New(&function.Spec{
		Params: []function.Parameter{{Name: "list", Type: cty.List(cty.Bool)}},
		Type:   function.StaticReturnType(cty.Bool),
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			for it := args[0].ElementIterator(); it.Next(); {
				_, e := it.Element()
				if !e.IsKnown() {
					return cty.UnknownVal(cty.Bool), nil
				}
				if e.IsNull() {
					continue
				}
				if e.True() != all {
					return cty.BoolVal(!all), nil
				}
			}
			return cty.BoolVal(all), nil
		},
	})
}

// boundedFormat refuses format verbs with a width or precision large
// enough to build huge strings from a short format.
func boundedFormat(f function.Function) function.Function {
	return function.New(&function.Spec{
		Params:   f.Params(),
		VarParam: f.VarParam(),
		Type:     f.ReturnTypeForValues,
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			if fv, _ := args[0].Unmark(); fv.IsKnown() && !fv.IsNull() && fv.Type() == cty.String {
				if err := checkFormat(fv.AsString()); err != nil {
					return cty.NilVal, err
				}
			}
			return f.Call(args)
		},
	})
}

func checkFormat(s string) error {
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= '0' && c <= '9' {
			n = n*10 + int(c-'0')
			if n > maxFormatNum {
				return fmt.Errorf("%w: format width over %d", ErrBudget, maxFormatNum)
			}
			continue
		}
		n = 0
	}
	return nil
}

func boundedIndent() function.Function {
	return function.New(&function.Spec{
		Params: stdlib.IndentFunc.Params(),
		Type:   function.StaticReturnType(cty.String),
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			if n, _ := args[0].AsBigFloat().Int64(); n < 0 || n > maxIndent {
				return cty.NilVal, fmt.Errorf("indent of %d spaces is out of range", n)
			}
			return stdlib.IndentFunc.Call(args)
		},
	})
}

// replaceFunc is Terraform's replace: a substring, or a regular expression
// when written /like this/. Results bigger than maxArgWeight are refused
// before they are built.
func replaceFunc() function.Function {
	return function.New(&function.Spec{
		Params: []function.Parameter{{Name: "str", Type: cty.String}, {Name: "substr", Type: cty.String}, {Name: "replace", Type: cty.String}},
		Type:   function.StaticReturnType(cty.String),
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			str, sub, rep := args[0].AsString(), args[1].AsString(), args[2].AsString()
			if (len(str)+1)*max(1, len(rep)) > maxArgWeight && len(rep) > len(sub) {
				return cty.NilVal, fmt.Errorf("%w: replace result could exceed %d bytes", ErrBudget, maxArgWeight)
			}
			if len(sub) > 1 && sub[0] == '/' && sub[len(sub)-1] == '/' {
				return stdlib.RegexReplace(args[0], cty.StringVal(sub[1:len(sub)-1]), args[2])
			}
			return cty.StringVal(strings.ReplaceAll(str, sub, rep)), nil
		},
	})
}

func boundedProduct() function.Function {
	f := stdlib.SetProductFunc
	return function.New(&function.Spec{
		VarParam: f.VarParam(),
		Type:     f.ReturnTypeForValues,
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			n := 1
			for _, a := range args {
				if a.IsKnown() && !a.IsNull() && a.CanIterateElements() {
					n *= max(1, a.LengthInt())
				}
				if n > maxProduct {
					return cty.NilVal, fmt.Errorf("%w: setproduct over %d elements", ErrBudget, maxProduct)
				}
			}
			return f.Call(args)
		},
	})
}

func boundedJSONDecode() function.Function {
	f := stdlib.JSONDecodeFunc
	return function.New(&function.Spec{
		Params: f.Params(),
		Type: func(args []cty.Value) (cty.Type, error) {
			if s := args[0]; s.IsKnown() && !s.IsNull() {
				if err := checkNesting([]byte(s.AsString()), maxNesting); err != nil {
					return cty.DynamicPseudoType, err
				}
			}
			return f.ReturnTypeForValues(args)
		},
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) { return f.Call(args) },
	})
}
