package detect

import (
	"math"
	"regexp/syntax"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/google/cel-go/common/ast"
	"github.com/google/cel-go/common/operators"
	"github.com/google/cel-go/common/types"

	"github.com/vigil-sec/vigil/internal/sensor"
)

// A guard is a necessary condition that a rule's expression implies for
// one event kind, cheap enough to test before the rule is evaluated: the
// rule can be true only when one of its atoms holds (process.name is one
// of a few names, process.exe starts with /tmp/, an argument contains
// "/dev/tcp/", the event comes from a container …). Most events are
// ordinary, so of the dozens of exec rules only the few about this
// program are evaluated: an exec of /bin/true on the host runs none.
//
// A guard is derived from the checked expression, never declared by the
// rule's author, and over-approximates: a && b implies each of a and b,
// so the narrower of their guards is kept; a || b implies the union of
// theirs; s.matches(re) implies the literal prefixes or substrings every
// match of re has; what the analysis does not understand admits every
// event. TestGuardsSound checks every built-in rule's firing fixtures get
// through their guards.
type guard struct {
	all   bool // no constraint found: every event is admitted
	atoms []atom
	// and are further guards that must admit the event too (a && b keeps
	// both sides' guards: uid != 0 && euid == 0).
	and []guard
}

// maxAnd bounds the guards kept beside the narrowest of a conjunction.
const maxAnd = 4

var admitAll = guard{all: true}

// atom is one cheap test on an event field.
type atom struct {
	field guardField
	op    atomOp
	set   map[string]bool // opIn
	strs  []string        // opPrefix, opSuffix, opContains: any of them
	fold  bool            // strs are lower case; compare the value lowered (ASCII)
	n     int64           // opIntEq, opIntNe
}

type atomOp uint8

const (
	opIn       atomOp = iota // the string field is one of set
	opPrefix                 // the string field starts with one of strs
	opSuffix                 // … ends with one of strs
	opContains               // … contains one of strs
	opTrue                   // the bool field is true, or the value is present
	opIntEq
	opIntNe
)

// guardField is a field (or a simple function of one) that atoms test.
type guardField uint8

const (
	gfName         guardField = iota // process.name
	gfNameLower                      // process.name.lowerAscii()
	gfExe                            // process.exe
	gfExeBase                        // basename(process.exe)
	gfExeBaseLower                   // basename(process.exe).lowerAscii()
	gfFilePath                       // file.path
	gfFileNewPath                    // file.newPath
	gfArg                            // an element of process.args (in process.args.exists)
	gfArgLower                       // … lowered
	gfExeDeleted                     // process.exeDeleted
	gfExeMemfd                       // process.exeMemfd
	gfFileWrite                      // file.write
	gfContainer                      // container != null
	gfUID                            // process.uid
	gfEUID                           // process.euid
	gfNone

	lastStringField = gfArgLower
)

// lower returns the lowered twin of a string field, or gfNone.
func (f guardField) lower() guardField {
	switch f {
	case gfName:
		return gfNameLower
	case gfExeBase:
		return gfExeBaseLower
	case gfArg:
		return gfArgLower
	}
	return gfNone
}

// str returns a string field's value; ok is false when the event has no
// such value (a file field of a network event), where every test fails
// just as the rule's own selection would. Argument fields are tested
// element by element (holds).
func (f guardField) str(ev *sensor.Event) (string, bool) {
	switch f {
	case gfName:
		return ev.Process.Name, true
	case gfNameLower:
		return lowerASCII(ev.Process.Name), true
	case gfExe:
		return ev.Process.Exe, true
	case gfExeBase:
		return baseName(ev.Process.Exe), true
	case gfExeBaseLower:
		return lowerASCII(baseName(ev.Process.Exe)), true
	case gfFilePath:
		if ev.File != nil {
			return ev.File.Path, true
		}
	case gfFileNewPath:
		if ev.File != nil {
			return ev.File.NewPath, true
		}
	}
	return "", false
}

// lowerASCII is CEL's lowerAscii(): only A-Z change.
func lowerASCII(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; 'A' <= c && c <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if 'A' <= b[j] && b[j] <= 'Z' {
					b[j] += 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}

func (a *atom) holds(ev *sensor.Event) bool {
	switch a.op {
	case opIn, opPrefix, opSuffix, opContains:
		if a.field == gfArg || a.field == gfArgLower {
			for _, s := range ev.Process.Args {
				if a.field == gfArgLower {
					s = lowerASCII(s)
				}
				if a.test(s) {
					return true
				}
			}
			return false
		}
		s, ok := a.field.str(ev)
		return ok && a.test(s)
	case opTrue:
		switch a.field {
		case gfExeDeleted:
			return ev.Process.ExeDeleted
		case gfExeMemfd:
			return ev.Process.ExeMemfd
		case gfFileWrite:
			return ev.File != nil && ev.File.Write
		case gfContainer:
			return ev.Container != nil
		}
	case opIntEq, opIntNe:
		var n int64
		switch a.field {
		case gfUID:
			n = int64(ev.Process.UID)
		case gfEUID:
			n = int64(ev.Process.EUID)
		default:
			return true
		}
		return (n == a.n) == (a.op == opIntEq)
	}
	return true
}

// test applies a string atom to one value.
func (a *atom) test(s string) bool {
	if a.fold {
		s = lowerASCII(s)
	}
	switch a.op {
	case opIn:
		return a.set[s]
	case opPrefix:
		return slices.ContainsFunc(a.strs, func(p string) bool { return strings.HasPrefix(s, p) })
	case opSuffix:
		return slices.ContainsFunc(a.strs, func(p string) bool { return strings.HasSuffix(s, p) })
	case opContains:
		return slices.ContainsFunc(a.strs, func(p string) bool { return strings.Contains(s, p) })
	}
	return true
}

func (g *guard) admits(ev *sensor.Event) bool {
	for i := range g.and {
		if !g.and[i].admits(ev) {
			return false
		}
	}
	if g.all {
		return true
	}
	for i := range g.atoms {
		if g.atoms[i].holds(ev) {
			return true
		}
	}
	return false
}

// cost guesses how many events a guard admits, to keep the narrower of
// two: exact names are rare, a bool flag like exeDeleted rarer still,
// "from a container" or "opened for writing" common; short prefixes and
// substrings match more than long ones.
func (g *guard) cost() int {
	if g.all {
		return math.MaxInt
	}
	c := 0
	for _, a := range g.atoms {
		switch {
		case a.op == opIn:
			c += len(a.set)
		case a.op == opPrefix || a.op == opSuffix || a.op == opContains:
			for _, s := range a.strs {
				c += max(1, 64>>min(len(s), 6))
			}
		case a.field == gfExeDeleted || a.field == gfExeMemfd:
			c++
		default:
			c += 1000
		}
	}
	return c
}

// union admits what either admits: the guard of a || b. The sides'
// conjuncts are dropped (a && x || b admits at least a || b).
func union(a, b guard) guard {
	if a.all || b.all {
		return admitAll
	}
	return guard{atoms: append(append([]atom(nil), a.atoms...), b.atoms...)}
}

// intersect admits what both admit: the guard of a && b, the narrower
// tested first.
func intersect(a, b guard) guard {
	if b.cost() < a.cost() {
		a, b = b, a
	}
	if b.all && len(b.and) == 0 {
		return a
	}
	if len(a.and) >= maxAnd {
		return a
	}
	a.and = append(slices.Clip(a.and), b)
	return a
}

// guardCtx is what guardOf knows about where it is: the event kind and,
// inside process.args.exists(a, …), the name of the element variable.
type guardCtx struct {
	kind   sensor.Kind
	argVar string
	depth  int // nesting, bounded: a deeper expression admits all
}

// guardOf derives the guard of a boolean expression evaluated on events
// of kind k. event.kind == "x" is false for every other kind: such a
// branch admits nothing.
func guardOf(e ast.Expr, k sensor.Kind) guard {
	return guardCtx{kind: k}.of(e)
}

func (g guardCtx) of(e ast.Expr) guard {
	if g.depth++; g.depth > 64 {
		return admitAll
	}
	switch e.Kind() {
	case ast.SelectKind:
		if f := g.field(e); f == gfExeDeleted || f == gfExeMemfd || f == gfFileWrite {
			return guard{atoms: []atom{{field: f, op: opTrue}}}
		}
		return admitAll
	case ast.ComprehensionKind:
		return g.exists(e.AsComprehension())
	case ast.CallKind:
	default:
		return admitAll
	}
	c := e.AsCall()
	args := c.Args()
	switch fn := c.FunctionName(); {
	case fn == operators.LogicalAnd && len(args) == 2:
		return intersect(g.of(args[0]), g.of(args[1]))
	case fn == operators.LogicalOr && len(args) == 2:
		return union(g.of(args[0]), g.of(args[1]))
	case fn == operators.Conditional && len(args) == 3:
		return union(g.of(args[1]), g.of(args[2]))
	case (fn == operators.Equals || fn == operators.NotEquals) && len(args) == 2:
		return g.compare(args[0], args[1], fn == operators.Equals)
	case fn == operators.In && len(args) == 2 && args[1].Kind() == ast.ListKind:
		f := g.field(args[0])
		if f > lastStringField {
			return admitAll
		}
		set := map[string]bool{}
		for _, el := range args[1].AsList().Elements() {
			lit, ok := stringLit(el)
			if !ok {
				return admitAll
			}
			set[lit] = true
		}
		return guard{atoms: []atom{{field: f, op: opIn, set: set}}}
	case (fn == "startsWith" || fn == "endsWith" || fn == "contains") && c.IsMemberFunction() && len(args) == 1:
		f := g.field(c.Target())
		lit, ok := stringLit(args[0])
		if !ok || f > lastStringField {
			return admitAll
		}
		op := map[string]atomOp{"startsWith": opPrefix, "endsWith": opSuffix, "contains": opContains}[fn]
		return guard{atoms: []atom{{field: f, op: op, strs: []string{lit}}}}
	case fn == "matches" && c.IsMemberFunction() && len(args) == 1:
		f := g.field(c.Target())
		lit, ok := stringLit(args[0])
		if !ok || f > lastStringField {
			return admitAll
		}
		return regexGuard(f, lit)
	}
	return admitAll
}

// exists is the guard of process.args.exists(a, P): P's guard, with the
// atoms about a turned into "some argument …". Other comprehensions
// admit all.
func (g guardCtx) exists(c ast.ComprehensionExpr) guard {
	if g.argVar != "" || !g.isSelect(c.IterRange(), "process", "args") || c.HasIterVar2() {
		return admitAll
	}
	init := c.AccuInit()
	step := c.LoopStep()
	if init.Kind() != ast.LiteralKind || init.AsLiteral() != types.False || !isIdent(c.Result(), c.AccuVar()) ||
		step.Kind() != ast.CallKind || step.AsCall().FunctionName() != operators.LogicalOr || len(step.AsCall().Args()) != 2 ||
		!isIdent(step.AsCall().Args()[0], c.AccuVar()) {
		return admitAll
	}
	inner := g
	inner.argVar = c.IterVar()
	return inner.of(step.AsCall().Args()[1])
}

// compare is the guard of x == y (eq) or x != y.
func (g guardCtx) compare(x, y ast.Expr, eq bool) guard {
	for _, pair := range [][2]ast.Expr{{x, y}, {y, x}} {
		f, lit := pair[0], pair[1]
		if s, ok := stringLit(lit); ok {
			if g.isSelect(f, "event", "kind") {
				if (s == string(g.kind)) != eq {
					return guard{} // never true for this kind
				}
				return admitAll
			}
			if gf := g.field(f); eq && gf <= lastStringField {
				return guard{atoms: []atom{{field: gf, op: opIn, set: map[string]bool{s: true}}}}
			}
			return admitAll
		}
		if n, ok := intLit(lit); ok {
			if gf := g.field(f); gf == gfUID || gf == gfEUID {
				op := opIntNe
				if eq {
					op = opIntEq
				}
				return guard{atoms: []atom{{field: gf, op: op, n: n}}}
			}
			return admitAll
		}
		if !eq && lit.Kind() == ast.LiteralKind && lit.AsLiteral() == types.NullValue && g.isIdent(f, "container") {
			return guard{atoms: []atom{{field: gfContainer, op: opTrue}}}
		}
	}
	return admitAll
}

// field names the guard field e computes, or gfNone.
func (g guardCtx) field(e ast.Expr) guardField {
	switch e.Kind() {
	case ast.IdentKind:
		if g.argVar != "" && e.AsIdent() == g.argVar {
			return gfArg
		}
	case ast.SelectKind:
		for _, f := range []struct {
			v, name string
			gf      guardField
		}{
			{"process", "name", gfName}, {"process", "exe", gfExe},
			{"process", "exeDeleted", gfExeDeleted}, {"process", "exeMemfd", gfExeMemfd},
			{"process", "uid", gfUID}, {"process", "euid", gfEUID},
			{"file", "path", gfFilePath}, {"file", "newPath", gfFileNewPath}, {"file", "write", gfFileWrite},
		} {
			if g.isSelect(e, f.v, f.name) {
				return f.gf
			}
		}
	case ast.CallKind:
		c := e.AsCall()
		switch {
		case c.FunctionName() == "lowerAscii" && c.IsMemberFunction() && len(c.Args()) == 0:
			return g.field(c.Target()).lower()
		case c.FunctionName() == "basename" && !c.IsMemberFunction() && len(c.Args()) == 1 && g.field(c.Args()[0]) == gfExe:
			return gfExeBase
		}
	}
	return gfNone
}

// isSelect reports whether e is v.field for the rule variable v (not
// shadowed by the comprehension's variable).
func (g guardCtx) isSelect(e ast.Expr, v, field string) bool {
	if e.Kind() != ast.SelectKind {
		return false
	}
	s := e.AsSelect()
	return !s.IsTestOnly() && s.FieldName() == field && g.isIdent(s.Operand(), v)
}

func (g guardCtx) isIdent(e ast.Expr, name string) bool {
	return name != g.argVar && isIdent(e, name)
}

func isIdent(e ast.Expr, name string) bool {
	return e.Kind() == ast.IdentKind && e.AsIdent() == name
}

func stringLit(e ast.Expr) (string, bool) {
	if e.Kind() != ast.LiteralKind {
		return "", false
	}
	s, ok := e.AsLiteral().(types.String)
	return string(s), ok
}

func intLit(e ast.Expr) (int64, bool) {
	if e.Kind() != ast.LiteralKind {
		return 0, false
	}
	switch v := e.AsLiteral().(type) {
	case types.Int:
		return int64(v), true
	case types.Uint:
		if v <= math.MaxInt64 {
			return int64(v), true
		}
	}
	return 0, false
}

// maxLits bounds the strings a regular expression is expanded into.
const maxLits = 64

// regexGuard is the guard of f.matches(pattern) (RE2, unanchored): a
// pattern anchored at the start (^…) implies one of the literal prefixes
// it begins with; any other implies one of the literal strings some part
// of it always contains. A case-insensitive pattern compares lowered
// values, unless its literals have letters whose case folding leaves
// ASCII (k and s: the Kelvin and long-s signs), where it admits all.
func regexGuard(f guardField, pattern string) guard {
	re, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil {
		return admitAll
	}
	re = re.Simplify()
	subs := []*syntax.Regexp{re}
	if re.Op == syntax.OpConcat {
		subs = re.Sub
	}
	if len(subs) > 0 && subs[0].Op == syntax.OpBeginText {
		prefixes := []string{""}
		fold := false
		for _, s := range subs[1:] {
			next, sfold, ok := expandLits(s, prefixes)
			if !ok {
				break
			}
			prefixes, fold = next, fold || sfold
		}
		if slices.Contains(prefixes, "") {
			return admitAll
		}
		return foldedAtom(f, opPrefix, prefixes, fold)
	}
	// The part with the longest shortest literal is the best filter.
	var best []string
	bestFold, bestLen := false, 0
	for _, s := range subs {
		lits, fold, ok := expandLits(s, []string{""})
		if !ok {
			continue
		}
		shortest := math.MaxInt
		for _, l := range lits {
			shortest = min(shortest, len(l))
		}
		if shortest > bestLen {
			best, bestFold, bestLen = lits, fold, shortest
		}
	}
	if best == nil {
		return admitAll
	}
	return foldedAtom(f, opContains, best, bestFold)
}

func foldedAtom(f guardField, op atomOp, strs []string, fold bool) guard {
	if fold {
		for i, s := range strs {
			if strings.ContainsAny(s, "ksKS") || !isASCII(s) {
				return admitAll
			}
			strs[i] = strings.ToLower(s)
		}
	}
	return guard{atoms: []atom{{field: f, op: op, strs: strs, fold: fold}}}
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// expandLits appends to each of heads every string re matches, when re
// matches a small finite set of strings; ok is false otherwise. fold says
// a literal was case-insensitive.
func expandLits(re *syntax.Regexp, heads []string) (out []string, fold, ok bool) {
	cross := func(tails []string) ([]string, bool) {
		if len(heads)*len(tails) > maxLits {
			return nil, false
		}
		var out []string
		for _, h := range heads {
			for _, t := range tails {
				out = append(out, h+t)
			}
		}
		return out, true
	}
	switch re.Op {
	case syntax.OpLiteral:
		out, ok = cross([]string{string(re.Rune)})
		return out, re.Flags&syntax.FoldCase != 0, ok
	case syntax.OpEmptyMatch:
		return heads, false, true
	case syntax.OpCapture:
		return expandLits(re.Sub[0], heads)
	case syntax.OpConcat:
		out = heads
		for _, s := range re.Sub {
			var f bool
			if out, f, ok = expandLits(s, out); !ok {
				return nil, false, false
			}
			fold = fold || f
		}
		return out, fold, true
	case syntax.OpAlternate:
		for _, s := range re.Sub {
			alt, f, ok := expandLits(s, heads)
			if !ok || len(out)+len(alt) > maxLits {
				return nil, false, false
			}
			out, fold = append(out, alt...), fold || f
		}
		return out, fold, true
	case syntax.OpQuest:
		alt, f, ok := expandLits(re.Sub[0], heads)
		if !ok || len(alt)+len(heads) > maxLits {
			return nil, false, false
		}
		return append(slices.Clone(heads), alt...), f, true
	case syntax.OpCharClass:
		var tails []string
		for i := 0; i+1 < len(re.Rune); i += 2 {
			lo, hi := re.Rune[i], re.Rune[i+1]
			if hi-lo >= maxLits || len(tails)+int(hi-lo)+1 > maxLits {
				return nil, false, false
			}
			for r := lo; r <= hi; r++ {
				tails = append(tails, string(r))
			}
		}
		out, ok = cross(tails)
		return out, false, ok
	}
	return nil, false, false
}
