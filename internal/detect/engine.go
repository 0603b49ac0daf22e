package detect

import (
	"errors"
	"fmt"
	"math/bits"
	"path"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/checker"
	"github.com/google/cel-go/common/ast"
	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/common/types/ref"
	"github.com/google/cel-go/ext"

	"github.com/vigil-sec/vigil/internal/finding"
	"github.com/vigil-sec/vigil/internal/sensor"
)

// Alert is one rule that fired on one event.
type Alert struct {
	RuleID   string           `json:"ruleId"`
	Title    string           `json:"title"`
	Severity finding.Severity `json:"severity"`
	MITRE    []string         `json:"mitre,omitempty"`
	Tags     []string         `json:"tags,omitempty"`
	// Output is the rule's output template, rendered over the event.
	Output string `json:"output"`
	Action Action `json:"action"`
	// Time is when the alert was raised.
	Time  time.Time    `json:"time"`
	Event sensor.Event `json:"event"`
}

// Options tune an Engine. The zero value (or nil) is the default.
type Options struct {
	// Now is the clock stamping alerts; nil means time.Now.
	Now func() time.Time
	// CostLimit bounds one expression's evaluation (CEL cost units);
	// 0 means DefaultCostLimit.
	CostLimit uint64
}

// DefaultCostLimit bounds one rule evaluation. The built-in rules cost a
// few hundred units on a typical event; the limit is there for the rule
// that iterates a hostile argument list.
const DefaultCostLimit = 100_000

// Engine matches events against compiled rules. It is safe for
// concurrent use.
type Engine struct {
	rules  []*compiled
	byKind map[sensor.Kind][]guarded
	now    func() time.Time
	pool   sync.Pool
}

type compiled struct {
	rule *Rule
	// match is condition && !(exception || …), one program, with
	// run-time cost tracking. fast is the same program without tracking,
	// set when the expression's worst-case cost over an event within the
	// size hints (hintSize) is statically below the limit; match is then
	// planned only when an event outside the hints comes.
	match  *program
	fast   cel.Program
	expr   ast.Expr // the checked expression, for guardOf
	output *template
	errs   atomic.Uint64
}

// guarded is a rule with its name guard for one event kind.
type guarded struct {
	c *compiled
	g guard
}

// newEnv is the environment every expression is compiled in: the rule
// variables (docs/runtime-rules.md), optional syntax, the strings, lists,
// sets, math (bit operations) and network extensions, and Vigil's caps()
// and basename().
func newEnv() (*cel.Env, error) {
	mapT := cel.MapType(cel.StringType, cel.DynType)
	return cel.NewEnv(
		cel.Variable("event", mapT),
		cel.Variable("process", mapT),
		cel.Variable("parents", cel.ListType(mapT)),
		cel.Variable("container", cel.DynType),
		cel.Variable("file", mapT),
		cel.Variable("network", mapT),
		cel.Variable("cred", mapT),
		cel.Variable("mount", mapT),
		cel.Variable("target", mapT),
		cel.Variable("args", mapT),
		cel.OptionalTypes(),
		cel.CrossTypeNumericComparisons(true),
		ext.Strings(),
		ext.Lists(),
		ext.Sets(),
		ext.Math(),
		ext.Network(),
		ext.Bindings(),
		cel.Function("caps",
			cel.Overload("caps_int", []*cel.Type{cel.IntType}, cel.ListType(cel.StringType),
				cel.UnaryBinding(capsOf))),
		cel.Function("basename",
			cel.Overload("basename_string", []*cel.Type{cel.StringType}, cel.StringType,
				cel.UnaryBinding(func(v ref.Val) ref.Val {
					s, ok := v.(types.String)
					if !ok {
						return types.MaybeNoSuchOverloadErr(v)
					}
					return types.String(baseName(string(s)))
				}))),
	)
}

// baseName is basename(): the last element of a path, "" for "".
func baseName(s string) string {
	if s == "" {
		return ""
	}
	return path.Base(s)
}

// capNames are Linux capability names by bit (linux/capability.h).
var capNames = []string{
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID",
	"CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE",
	"CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK",
	"CAP_IPC_OWNER", "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE",
	"CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE", "CAP_SYS_RESOURCE",
	"CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE", "CAP_AUDIT_WRITE",
	"CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG",
	"CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF",
	"CAP_CHECKPOINT_RESTORE",
}

func capsOf(v ref.Val) ref.Val {
	n, ok := v.(types.Int)
	if !ok {
		return types.MaybeNoSuchOverloadErr(v)
	}
	set := uint64(n)
	out := make([]string, 0, bits.OnesCount64(set))
	for i := 0; set != 0; i++ {
		if set&1 != 0 {
			if i < len(capNames) {
				out = append(out, capNames[i])
			} else {
				out = append(out, fmt.Sprintf("CAP_%d", i))
			}
		}
		set >>= 1
	}
	return types.NewStringList(types.DefaultTypeAdapter, out)
}

// New compiles the enabled rules of rs. Every expression is expanded
// (lists and macros inlined), type-checked and planned once; an error
// names the rule, the expression and the file.
func New(rs *Ruleset, opts *Options) (*Engine, error) {
	if opts == nil {
		opts = &Options{}
	}
	if rs == nil {
		rs = &Ruleset{}
	}
	if err := validateNames(rs.Lists, rs.Macros); err != nil {
		return nil, err
	}
	env, err := newEnv()
	if err != nil {
		return nil, fmt.Errorf("rule environment: %w", err)
	}
	limit := opts.CostLimit
	if limit == 0 {
		limit = DefaultCostLimit
	}
	c := &compiler{env: env, x: newExpander(rs.Lists, rs.Macros), limit: limit}
	e := &Engine{byKind: map[sensor.Kind][]guarded{}, now: opts.Now}
	if e.now == nil {
		e.now = time.Now
	}
	e.pool.New = func() any { return new(activation) }
	var errs []error
	seen := map[string]bool{}
	for i := range rs.Rules {
		r := &rs.Rules[i]
		if seen[r.ID] {
			errs = append(errs, fmt.Errorf("rule %s (%s): defined twice", r.ID, r.File))
			continue
		}
		seen[r.ID] = true
		if !r.IsEnabled() {
			continue
		}
		cr, err := c.rule(r)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		e.rules = append(e.rules, cr)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	slices.SortFunc(e.rules, func(a, b *compiled) int { return strings.Compare(a.rule.ID, b.rule.ID) })
	for _, cr := range e.rules {
		ks := cr.rule.Kinds
		if slices.Contains(ks, anyKind) {
			ks = kinds
		}
		for _, k := range ks {
			if !slices.ContainsFunc(e.byKind[k], func(g guarded) bool { return g.c == cr }) {
				e.byKind[k] = append(e.byKind[k], guarded{cr, guardOf(cr.expr, k)})
			}
		}
	}
	return e, nil
}

type compiler struct {
	env   *cel.Env
	x     *expander
	limit uint64
}

// check expands and type-checks one expression.
func (c *compiler) check(src string, want *cel.Type) (*cel.Ast, error) {
	exp, err := c.x.expand(src)
	if err != nil {
		return nil, err
	}
	a, iss := c.env.Compile(exp)
	if iss.Err() != nil {
		return nil, iss.Err()
	}
	if want != nil && a.OutputType() != cel.DynType && !a.OutputType().IsExactType(want) {
		return nil, fmt.Errorf("yields %s, want %s", a.OutputType(), want)
	}
	if err := checkFields(a); err != nil {
		return nil, err
	}
	return a, nil
}

func (c *compiler) program(a *cel.Ast) (cel.Program, error) {
	return c.env.Program(a, cel.EvalOptions(cel.OptOptimize), cel.CostLimit(c.limit))
}

// program is a cost-tracked CEL program planned when first evaluated.
// A planned program holds its own interpretable tree and cost-tracker
// tables, and most of a rule set's are never run on a quiet host: the
// tracked twin of a fast condition runs only for events outside the size
// hints, an output only when its rule fires. Planned eagerly, the built-in
// rules' would be about a third of the agent's idle heap.
type program struct {
	once sync.Once
	c    *compiler
	ast  *cel.Ast
	p    cel.Program
	err  error
}

// lazyProgram checks that a plans (so a rule that cannot fails at load)
// and returns a program that plans it again when first evaluated.
func (c *compiler) lazyProgram(a *cel.Ast) (*program, error) {
	if _, err := c.program(a); err != nil {
		return nil, err
	}
	return &program{c: c, ast: a}, nil
}

// eagerProgram returns a program planned now (the condition of a rule
// with no fast program: it runs on every event the rule's guard admits).
func (c *compiler) eagerProgram(a *cel.Ast) (*program, error) {
	p, err := c.program(a)
	if err != nil {
		return nil, err
	}
	return &program{p: p}, nil
}

// Eval plans the program if it is not yet, then evaluates it.
func (p *program) Eval(act *activation) (ref.Val, error) {
	p.once.Do(func() {
		if p.p == nil {
			p.p, p.err = p.c.program(p.ast)
		}
		p.c, p.ast = nil, nil
	})
	if p.err != nil {
		return nil, p.err
	}
	v, _, err := p.p.Eval(act)
	return v, err
}

// fastProgram returns a program without run-time cost tracking (which
// triples evaluation time) when the static worst case of a is within the
// limit for events within the size hints; nil otherwise.
func (c *compiler) fastProgram(a *cel.Ast) (cel.Program, error) {
	est, err := c.env.EstimateCost(a, sizeHints{})
	if err != nil || est.Max > c.limit {
		return nil, nil
	}
	return c.env.Program(a, cel.EvalOptions(cel.OptOptimize))
}

// hintSize bounds every list, map and string of an event that takes the
// untracked path: Match checks the event against it (withinHints).
const hintSize = 256

// sizeHints tells the cost estimator how big event values can be.
type sizeHints struct{}

func (sizeHints) EstimateSize(n checker.AstNode) *checker.SizeEstimate {
	if len(n.Path()) > 0 {
		return &checker.SizeEstimate{Min: 0, Max: hintSize}
	}
	return nil
}

func (sizeHints) EstimateCallCost(fn, overload string, target *checker.AstNode, args []checker.AstNode) *checker.CallEstimate {
	switch fn {
	case "caps":
		return &checker.CallEstimate{CostEstimate: checker.CostEstimate{Min: 1, Max: 64}, ResultSize: &checker.SizeEstimate{Min: 0, Max: 64}}
	case "basename":
		return &checker.CallEstimate{CostEstimate: checker.CostEstimate{Min: 1, Max: hintSize / 10}, ResultSize: &checker.SizeEstimate{Min: 0, Max: hintSize}}
	}
	return nil
}

// withinHints reports whether every string, list and map of ev a rule
// can reach is within hintSize.
func withinHints(ev *sensor.Event) bool {
	short := func(ss ...string) bool {
		for _, s := range ss {
			if len(s) > hintSize {
				return false
			}
		}
		return true
	}
	proc := func(p *sensor.Process) bool {
		return len(p.Args) <= hintSize && short(p.Args...) &&
			short(p.Name, p.Exe, p.Cwd, p.Stdin, p.Stdout)
	}
	if !proc(&ev.Process) || len(ev.Parents) > hintSize || len(ev.Args) > hintSize {
		return false
	}
	for i := range ev.Parents {
		if !proc(&ev.Parents[i]) {
			return false
		}
	}
	if ev.Target != nil && !proc(ev.Target) {
		return false
	}
	if f := ev.File; f != nil && !short(f.Path, f.NewPath) {
		return false
	}
	if n := ev.Network; n != nil && !short(n.Family, n.Protocol, n.SrcAddr, n.DstAddr, n.OldState, n.NewState, n.Path) {
		return false
	}
	if m := ev.Mount; m != nil && !short(m.Source, m.Target, m.FSType) {
		return false
	}
	if c := ev.Container; c != nil && !short(c.ID, c.Name, c.Image, c.Runtime, c.Pod, c.Namespace) {
		return false
	}
	for k, v := range ev.Args {
		if s, ok := v.(string); (ok && len(s) > hintSize) || len(k) > hintSize {
			return false
		}
	}
	return true
}

func (c *compiler) rule(r *Rule) (*compiled, error) {
	if err := r.Validate(); err != nil {
		return nil, err
	}
	fail := func(what string, err error) error {
		return fmt.Errorf("rule %s (%s): %s: %w", r.ID, r.File, what, err)
	}
	if _, err := c.check(r.Condition, cel.BoolType); err != nil {
		return nil, fail("condition", err)
	}
	src := "(" + r.Condition + ")"
	if len(r.Exceptions) > 0 {
		parts := make([]string, len(r.Exceptions))
		for i, x := range r.Exceptions {
			if _, err := c.check(x, cel.BoolType); err != nil {
				return nil, fail(fmt.Sprintf("exceptions[%d]", i), err)
			}
			parts[i] = "(" + x + ")"
		}
		src += " && !(" + strings.Join(parts, " || ") + ")"
	}
	a, err := c.check(src, cel.BoolType)
	if err != nil {
		return nil, fail("condition with exceptions", err)
	}
	fast, err := c.fastProgram(a)
	if err != nil {
		return nil, fail("condition", err)
	}
	plan := c.eagerProgram
	if fast != nil {
		plan = c.lazyProgram
	}
	p, err := plan(a)
	if err != nil {
		return nil, fail("condition", err)
	}
	out := &compiled{rule: r, match: p, fast: fast, expr: a.NativeRep().Expr()}
	tmpl := r.Output
	if tmpl == "" {
		tmpl = strings.ReplaceAll(r.Title, "$", "$$")
	}
	if out.output, err = c.template(tmpl); err != nil {
		return nil, fail("output", err)
	}
	return out, nil
}

// checkFields rejects selections of keys a rule variable does not have
// (process.nmae), which would otherwise fail on every event at run time.
func checkFields(a *cel.Ast) error {
	var errs []error
	visit(a.NativeRep().Expr(), func(e ast.Expr) {
		if e.Kind() != ast.SelectKind {
			return
		}
		sel := e.AsSelect()
		op := sel.Operand()
		var keys map[string]bool
		var name string
		switch op.Kind() {
		case ast.IdentKind:
			name = op.AsIdent()
			keys = variables[name]
		case ast.SelectKind:
			// event.process.x, event.file.x …
			in := op.AsSelect()
			if in.Operand().Kind() == ast.IdentKind && in.Operand().AsIdent() == "event" {
				name = "event." + in.FieldName()
				keys = variables[in.FieldName()]
				if in.FieldName() == "parents" || in.FieldName() == "args" {
					keys = nil
				}
			}
		}
		if keys != nil && !keys[sel.FieldName()] {
			errs = append(errs, fmt.Errorf("%s has no field %q", name, sel.FieldName()))
		}
	})
	return errors.Join(errs...)
}

// visit calls fn on every node of e.
func visit(e ast.Expr, fn func(ast.Expr)) {
	fn(e)
	switch e.Kind() {
	case ast.CallKind:
		c := e.AsCall()
		if c.IsMemberFunction() {
			visit(c.Target(), fn)
		}
		for _, a := range c.Args() {
			visit(a, fn)
		}
	case ast.SelectKind:
		visit(e.AsSelect().Operand(), fn)
	case ast.ListKind:
		for _, x := range e.AsList().Elements() {
			visit(x, fn)
		}
	case ast.MapKind:
		for _, x := range e.AsMap().Entries() {
			en := x.AsMapEntry()
			visit(en.Key(), fn)
			visit(en.Value(), fn)
		}
	case ast.StructKind:
		for _, x := range e.AsStruct().Fields() {
			visit(x.AsStructField().Value(), fn)
		}
	case ast.ComprehensionKind:
		c := e.AsComprehension()
		visit(c.IterRange(), fn)
		visit(c.AccuInit(), fn)
		visit(c.LoopCondition(), fn)
		visit(c.LoopStep(), fn)
		visit(c.Result(), fn)
	}
}

// Kinds returns the event kinds some rule judges, sorted: the only ones
// Match needs to see.
func (e *Engine) Kinds() []sensor.Kind {
	out := make([]sensor.Kind, 0, len(e.byKind))
	for k, rules := range e.byKind {
		if len(rules) > 0 {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}

// Rules returns the compiled (enabled) rules, sorted by id.
func (e *Engine) Rules() []*Rule {
	out := make([]*Rule, len(e.rules))
	for i, c := range e.rules {
		out[i] = c.rule
	}
	return out
}

// EvalErrors counts, per rule id, evaluations that failed at run time (a
// condition that assumed a shape the event does not have, or ran over
// the cost limit). A failed evaluation never fires. Rules without errors
// are left out.
func (e *Engine) EvalErrors() map[string]uint64 {
	out := map[string]uint64{}
	for _, c := range e.rules {
		if n := c.errs.Load(); n > 0 {
			out[c.rule.ID] = n
		}
	}
	return out
}

// Match returns the alerts ev raises: one per rule whose kinds include
// ev.Kind, whose condition holds and no exception of which does. It
// returns nil (and allocates little) when nothing fires.
func (e *Engine) Match(ev *sensor.Event) []Alert {
	rules := e.byKind[ev.Kind]
	if len(rules) == 0 {
		return nil
	}
	act := e.pool.Get().(*activation)
	act.ev = ev
	act.fast = withinHints(ev)
	var out []Alert
	for _, gc := range rules {
		if !gc.g.admits(ev) {
			continue
		}
		c := gc.c
		ok, err := c.eval(act)
		if err != nil {
			c.errs.Add(1)
			continue
		}
		if ok {
			out = append(out, c.alert(act, e.now()))
		}
	}
	*act = activation{}
	e.pool.Put(act)
	return out
}

// guardFor returns c's guard for events of kind k, nil if c does not
// judge k.
func (e *Engine) guardFor(c *compiled, k sensor.Kind) *guard {
	for i := range e.byKind[k] {
		if e.byKind[k][i].c == c {
			return &e.byKind[k][i].g
		}
	}
	return nil
}

func (c *compiled) eval(act *activation) (bool, error) {
	var v ref.Val
	var err error
	if act.fast && c.fast != nil {
		v, _, err = c.fast.Eval(act)
	} else {
		v, err = c.match.Eval(act)
	}
	if err != nil {
		return false, err
	}
	b, ok := v.(types.Bool)
	if !ok {
		return false, fmt.Errorf("condition yields %s, not a bool", v.Type().TypeName())
	}
	return bool(b), nil
}

func (c *compiled) alert(act *activation, now time.Time) Alert {
	r := c.rule
	action := r.Action
	if action == "" {
		action = ActionAlert
	}
	return Alert{
		RuleID:   r.ID,
		Title:    r.Title,
		Severity: r.Severity,
		MITRE:    r.MITRE,
		Tags:     r.Tags,
		Output:   c.output.render(act),
		Action:   action,
		Time:     now,
		Event:    *act.ev,
	}
}

// FastRules counts the rules whose worst-case cost is statically bounded
// (evaluated without run-time cost tracking on ordinary events).
func (e *Engine) FastRules() int {
	n := 0
	for _, c := range e.rules {
		if c.fast != nil {
			n++
		}
	}
	return n
}
