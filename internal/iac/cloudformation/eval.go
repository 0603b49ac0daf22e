package cloudformation

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// marker values of the evaluation. An unknown value becomes absent (a map
// key) or nil (a list element) in Attrs; noValue (AWS::NoValue) removes
// the key or element.
type marker struct{ name string }

var (
	unknown = &marker{"unknown"}
	noValue = &marker{"novalue"}
)

// tri is a three-valued truth: a condition may not be known.
type tri int8

const (
	triUnknown tri = iota
	triFalse
	triTrue
)

func triOf(b bool) tri {
	if b {
		return triTrue
	}
	return triFalse
}

// Bounds of the work one template may cost: evaluation steps (nodes
// visited, list elements produced) and the nesting of condition and
// intrinsic evaluation.
const (
	maxSteps     = 4_000_000
	maxEvalDepth = 256
	maxSplit     = 100_000
)

// evaluator resolves intrinsic functions against one template's
// parameters, mappings, conditions and resources.
type evaluator struct {
	params     map[string]any // known values; unknown ones are absent
	resources  map[string]any
	mappings   map[string]any
	conditions map[string]any
	condCache  map[string]tri
	condBusy   map[string]bool
	steps      int
	depth      int
	// refs collects, for the resource being evaluated, the attribute
	// paths that name other resources. Nil while evaluating conditions.
	refs map[string][]string
}

func newEvaluator(top map[string]any, ros bool, opts Options) *evaluator {
	e := &evaluator{
		params:    map[string]any{},
		condCache: map[string]tri{},
		condBusy:  map[string]bool{},
	}
	e.resources, _ = top["Resources"].(map[string]any)
	e.mappings, _ = top["Mappings"].(map[string]any)
	e.conditions, _ = top["Conditions"].(map[string]any)
	params, _ := top["Parameters"].(map[string]any)
	for name, raw := range params {
		def, _ := raw.(map[string]any)
		typ, _ := def["Type"].(string)
		if s, ok := opts.Params[name]; ok {
			e.params[name] = paramValue(typ, s)
			continue
		}
		d, ok := def["Default"]
		if !ok || strings.Contains(typ, "::Parameter::Value<") {
			continue // no default, or the default names an SSM/OOS parameter
		}
		if s, isString := d.(string); isString {
			e.params[name] = paramValue(typ, s)
		} else {
			e.params[name] = d
		}
	}
	// Pseudo parameters given by the caller.
	for name, v := range opts.Params {
		if strings.HasPrefix(name, "AWS::") || strings.HasPrefix(name, "ALIYUN::") {
			e.params[name] = v
		}
	}
	return e
}

// paramValue is the value Ref gives for a parameter of type typ set to s.
func paramValue(typ, s string) any {
	if typ == "CommaDelimitedList" || strings.HasPrefix(typ, "List<") {
		parts := strings.Split(s, ",")
		out := make([]any, len(parts))
		for i, p := range parts {
			out[i] = strings.TrimSpace(p)
		}
		return out
	}
	if typ == "Number" {
		if i, err := strconv.ParseInt(s, 10, 64); err == nil {
			return i
		}
		if f, err := strconv.ParseFloat(s, 64); err == nil {
			return f
		}
	}
	return s
}

// properties evaluates a resource's Properties into Attrs and its Refs.
func (e *evaluator) properties(raw any) (map[string]any, map[string][]string) {
	e.refs = map[string][]string{}
	v := e.finalize(e.eval(raw, ""))
	attrs, ok := v.(map[string]any)
	if !ok {
		attrs = map[string]any{}
	}
	refs := e.refs
	e.refs = nil
	if len(refs) == 0 {
		refs = nil
	}
	return attrs, refs
}

func (e *evaluator) step(n int) bool {
	e.steps += n
	return e.steps <= maxSteps
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func (e *evaluator) addRef(path, id string) {
	if e.refs == nil {
		return
	}
	if !slices.Contains(e.refs[path], id) {
		e.refs[path] = append(e.refs[path], id)
	}
}

// intrinsic reports whether m is an intrinsic function call ({"Ref": x},
// {"Fn::Sub": x}) and returns its name and argument.
func intrinsic(m map[string]any) (string, any, bool) {
	if len(m) != 1 {
		return "", nil, false
	}
	for k, v := range m {
		if k == "Ref" || k == "Condition" || strings.HasPrefix(k, "Fn::") {
			return k, v, true
		}
	}
	return "", nil, false
}

// eval resolves the intrinsic functions in v. path is v's attribute path,
// under which references to resources are recorded. The result may hold
// the unknown and noValue markers; finalize removes them.
func (e *evaluator) eval(v any, path string) any {
	if !e.step(1) || e.depth > maxEvalDepth {
		return unknown
	}
	e.depth++
	defer func() { e.depth-- }()
	switch x := v.(type) {
	case map[string]any:
		if name, arg, ok := intrinsic(x); ok && name != "Condition" {
			return e.call(name, arg, path)
		}
		out := make(map[string]any, len(x))
		for k, val := range x {
			r := e.eval(val, join(path, k))
			if r != noValue {
				out[k] = r
			}
		}
		return out
	case []any:
		out := make([]any, 0, len(x))
		for _, val := range x {
			r := e.eval(val, join(path, strconv.Itoa(len(out))))
			if r != noValue {
				out = append(out, r)
			}
		}
		return out
	default:
		return x
	}
}

// call evaluates one intrinsic function.
func (e *evaluator) call(name string, arg any, path string) any {
	switch name {
	case "Ref":
		return e.ref(arg, path)
	case "Fn::GetAtt":
		return e.getAtt(arg, path)
	case "Fn::Sub":
		return e.sub(arg, path)
	case "Fn::Join":
		return e.join(arg, path)
	case "Fn::Select":
		return e.selectFn(arg, path)
	case "Fn::Split":
		return e.split(arg, path)
	case "Fn::FindInMap":
		return e.findInMap(arg, path)
	case "Fn::If":
		return e.ifFn(arg, path)
	case "Fn::Equals", "Fn::And", "Fn::Or", "Fn::Not":
		switch e.withoutRefs(func() tri { return e.cond(map[string]any{name: arg}) }) {
		case triTrue:
			return true
		case triFalse:
			return false
		}
		return unknown
	case "Fn::Base64":
		if s, ok := e.eval(arg, path).(string); ok {
			return base64.StdEncoding.EncodeToString([]byte(s))
		}
		return unknown
	case "Fn::Length":
		if l, ok := e.eval(arg, path).([]any); ok {
			return int64(len(l))
		}
		return unknown
	case "Fn::ToJsonString":
		v := e.eval(arg, path)
		if !e.known(v) {
			return unknown
		}
		b, err := json.Marshal(v)
		if err != nil {
			return unknown
		}
		return string(b)
	default:
		// Fn::GetAZs, Fn::ImportValue, Fn::Cidr, Fn::Transform and
		// functions this evaluator does not know: the value is unknown,
		// but the references in the arguments still link resources.
		e.eval(arg, path)
		return unknown
	}
}

func isNoValue(name string) bool { return name == "AWS::NoValue" || name == "ALIYUN::NoValue" }

func (e *evaluator) ref(arg any, path string) any {
	name, ok := arg.(string)
	if !ok {
		e.eval(arg, path)
		return unknown
	}
	if isNoValue(name) {
		return noValue
	}
	if v, ok := e.params[name]; ok {
		return v
	}
	if _, ok := e.resources[name]; ok {
		e.addRef(path, name)
	}
	return unknown
}

func (e *evaluator) getAtt(arg any, path string) any {
	var res any
	switch x := arg.(type) {
	case []any:
		if len(x) > 0 {
			res = e.eval(x[0], path)
		}
	case string:
		res, _, _ = strings.Cut(x, ".")
	}
	if id, ok := res.(string); ok {
		if _, ok := e.resources[id]; ok {
			e.addRef(path, id)
		}
	}
	return unknown
}

// sub evaluates Fn::Sub: "${Name}" is a variable of the optional map, a
// parameter or pseudo parameter, "${Res}" and "${Res.Attr}" name a resource
// (unknown), "${!Text}" is the literal "${Text}".
func (e *evaluator) sub(arg any, path string) any {
	var tmpl any
	var local map[string]any
	switch x := arg.(type) {
	case string:
		tmpl = x
	case []any:
		if len(x) > 0 {
			tmpl = e.eval(x[0], path)
		}
		if len(x) > 1 {
			local, _ = x[1].(map[string]any)
		}
	}
	s, ok := tmpl.(string)
	if !ok {
		return unknown
	}
	var sb strings.Builder
	isKnown := true
	for {
		i := strings.Index(s, "${")
		if i < 0 {
			sb.WriteString(s)
			break
		}
		j := strings.IndexByte(s[i:], '}')
		if j < 0 {
			sb.WriteString(s)
			break
		}
		sb.WriteString(s[:i])
		inner := s[i+2 : i+j]
		s = s[i+j+1:]
		if lit, ok := strings.CutPrefix(inner, "!"); ok {
			sb.WriteString("${" + lit + "}")
			continue
		}
		name := strings.TrimSpace(inner)
		var v any = unknown
		if lv, ok := local[name]; ok {
			v = e.eval(lv, path)
		} else if res, _, dotted := strings.Cut(name, "."); dotted {
			if _, ok := e.resources[res]; ok {
				e.addRef(path, res)
			}
		} else {
			v = e.ref(name, path)
		}
		str, ok := scalarString(v)
		if !ok {
			isKnown = false
			continue
		}
		sb.WriteString(str)
		if !e.step(len(str) / 64) {
			return unknown
		}
	}
	if !isKnown {
		return unknown
	}
	return sb.String()
}

// scalarString is the text a scalar takes in a string context.
func scalarString(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case int64:
		return strconv.FormatInt(x, 10), true
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64), true
	case bool:
		return strconv.FormatBool(x), true
	}
	return "", false
}

func args(arg any, n int) ([]any, bool) {
	l, ok := arg.([]any)
	return l, ok && len(l) >= n
}

func (e *evaluator) join(arg any, path string) any {
	l, ok := args(arg, 2)
	if !ok {
		e.eval(arg, path)
		return unknown
	}
	delim, dok := e.eval(l[0], path).(string)
	list, lok := e.eval(l[1], path).([]any)
	if !dok || !lok || !e.step(len(list)) {
		return unknown
	}
	parts := make([]string, len(list))
	for i, x := range list {
		s, ok := scalarString(x)
		if !ok {
			return unknown
		}
		parts[i] = s
	}
	return strings.Join(parts, delim)
}

func (e *evaluator) selectFn(arg any, path string) any {
	l, ok := args(arg, 2)
	if !ok {
		e.eval(arg, path)
		return unknown
	}
	idx := e.eval(l[0], path)
	list, lok := e.eval(l[1], path).([]any)
	var i int64 = -1
	switch x := idx.(type) {
	case int64:
		i = x
	case string:
		if n, err := strconv.ParseInt(x, 10, 64); err == nil {
			i = n
		}
	}
	if !lok || i < 0 || i >= int64(len(list)) {
		return unknown
	}
	return list[i]
}

func (e *evaluator) split(arg any, path string) any {
	l, ok := args(arg, 2)
	if !ok {
		e.eval(arg, path)
		return unknown
	}
	delim, dok := e.eval(l[0], path).(string)
	s, sok := e.eval(l[1], path).(string)
	if !dok || !sok || delim == "" {
		return unknown
	}
	n := strings.Count(s, delim) + 1
	if n > maxSplit || !e.step(n) {
		return unknown
	}
	parts := strings.Split(s, delim)
	out := make([]any, len(parts))
	for i, p := range parts {
		out[i] = p
	}
	return out
}

func (e *evaluator) findInMap(arg any, path string) any {
	l, ok := args(arg, 3)
	if !ok {
		e.eval(arg, path)
		return unknown
	}
	var def any = unknown
	if len(l) > 3 {
		if m, ok := l[3].(map[string]any); ok {
			if d, ok := m["DefaultValue"]; ok {
				def = e.eval(d, path)
			}
		}
	}
	var cur any = e.mappings
	for _, k := range l[:3] {
		key, ok := scalarString(e.eval(k, path))
		if !ok {
			return unknown
		}
		m, ok := cur.(map[string]any)
		if !ok {
			return def
		}
		if cur, ok = m[key]; !ok {
			return def
		}
	}
	return cur
}

func (e *evaluator) ifFn(arg any, path string) any {
	l, ok := args(arg, 3)
	if !ok {
		e.eval(arg, path)
		return unknown
	}
	name, _ := l[0].(string)
	switch e.withoutRefs(func() tri { return e.condition(name) }) {
	case triTrue:
		return e.eval(l[1], path)
	case triFalse:
		return e.eval(l[2], path)
	}
	// Either branch may be taken: the value is unknown, but both
	// branches' references are possible links.
	e.eval(l[1], path)
	e.eval(l[2], path)
	return unknown
}

// withoutRefs runs f with reference recording off: conditions are
// evaluated once for the template, not for a resource's attributes.
func (e *evaluator) withoutRefs(f func() tri) tri {
	saved := e.refs
	e.refs = nil
	defer func() { e.refs = saved }()
	return f()
}

// condition evaluates a named condition of the template, once.
func (e *evaluator) condition(name string) tri {
	if t, ok := e.condCache[name]; ok {
		return t
	}
	raw, ok := e.conditions[name]
	if !ok || e.condBusy[name] {
		return triUnknown // undefined, or defined in terms of itself
	}
	e.condBusy[name] = true
	t := e.cond(raw)
	delete(e.condBusy, name)
	e.condCache[name] = t
	return t
}

// cond evaluates a condition expression.
func (e *evaluator) cond(v any) tri {
	if !e.step(1) || e.depth > maxEvalDepth {
		return triUnknown
	}
	e.depth++
	defer func() { e.depth-- }()
	m, ok := v.(map[string]any)
	if !ok {
		if b, ok := v.(bool); ok {
			return triOf(b)
		}
		return triUnknown
	}
	name, arg, ok := intrinsic(m)
	if !ok {
		return triUnknown
	}
	l, _ := arg.([]any)
	switch name {
	case "Condition":
		s, _ := arg.(string)
		return e.condition(s)
	case "Fn::Equals":
		if len(l) != 2 {
			return triUnknown
		}
		a, b := e.eval(l[0], ""), e.eval(l[1], "")
		if !e.known(a) || !e.known(b) {
			return triUnknown
		}
		return triOf(equal(a, b))
	case "Fn::Not":
		if len(l) != 1 {
			return triUnknown
		}
		switch e.cond(l[0]) {
		case triTrue:
			return triFalse
		case triFalse:
			return triTrue
		}
		return triUnknown
	case "Fn::And", "Fn::Or":
		decisive, all := triFalse, triTrue // And
		if name == "Fn::Or" {
			decisive, all = triTrue, triFalse
		}
		result := all
		for _, c := range l {
			switch t := e.cond(c); t {
			case decisive:
				return decisive
			case triUnknown:
				result = triUnknown
			}
		}
		if len(l) == 0 {
			return triUnknown
		}
		return result
	default:
		// A value-valued intrinsic (Ref to a Boolean parameter, Fn::If).
		switch x := e.eval(v, "").(type) {
		case bool:
			return triOf(x)
		case string:
			if b, err := strconv.ParseBool(x); err == nil {
				return triOf(b)
			}
		}
		return triUnknown
	}
}

// equal compares two known values the way Fn::Equals does: scalars by
// their text ("1" equals 1), lists element by element.
func equal(a, b any) bool {
	if sa, ok := scalarString(a); ok {
		sb, ok := scalarString(b)
		return ok && sa == sb
	}
	la, aok := a.([]any)
	lb, bok := b.([]any)
	if aok && bok {
		return slices.EqualFunc(la, lb, equal)
	}
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return fmt.Sprint(a) == fmt.Sprint(b)
}

// known reports whether v holds no unknown part; the walk counts against
// the step budget, and a value too big for it is not known.
func (e *evaluator) known(v any) bool {
	switch x := v.(type) {
	case *marker:
		return false
	case map[string]any:
		if !e.step(len(x)) {
			return false
		}
		for _, c := range x {
			if !e.known(c) {
				return false
			}
		}
	case []any:
		if !e.step(len(x)) {
			return false
		}
		for _, c := range x {
			if !e.known(c) {
				return false
			}
		}
	}
	return true
}

// known reports whether v holds no unknown part.
func known(v any) bool {
	switch x := v.(type) {
	case *marker:
		return false
	case map[string]any:
		for _, e := range x {
			if !known(e) {
				return false
			}
		}
	case []any:
		for _, e := range x {
			if !known(e) {
				return false
			}
		}
	}
	return true
}

// finalize turns an evaluated value into Attrs shape: unknown map values
// are dropped, unknown list elements become nil. It copies, so values
// shared between resources (a parameter's list, a mapping) are not
// aliased in the output; the copying counts against the step budget.
func (e *evaluator) finalize(v any) any {
	switch x := v.(type) {
	case *marker:
		return unknown
	case map[string]any:
		if !e.step(len(x)) {
			return unknown
		}
		out := make(map[string]any, len(x))
		for k, val := range x {
			if r := e.finalize(val); r != unknown && r != noValue {
				out[k] = r
			}
		}
		return out
	case []any:
		if !e.step(len(x)) {
			return unknown
		}
		out := make([]any, 0, len(x))
		for _, val := range x {
			r := e.finalize(val)
			switch r {
			case noValue:
				continue
			case unknown:
				r = nil
			}
			out = append(out, r)
		}
		return out
	default:
		return x
	}
}
