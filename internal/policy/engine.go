package policy

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/common/types/ref"
	"github.com/google/cel-go/ext"

	"github.com/vigil-sec/vigil/internal/finding"
	"github.com/vigil-sec/vigil/internal/iac"
)

// Evaluator judges resources against a rule set. It is the seam between
// Vigil's scanners and the rule language: the CEL Engine implements it
// today; another language would implement it beside.
type Evaluator interface {
	Evaluate(ctx context.Context, resources []iac.Resource) (*Result, error)
}

var _ Evaluator = (*Engine)(nil)

// Finding is one rule violated by one resource (or one element of it).
type Finding struct {
	RuleID   string           `json:"ruleId"`
	Severity finding.Severity `json:"severity"`
	Title    string           `json:"title"`
	Message  string           `json:"message"`
	// Resource says what is wrong.
	Source   iac.Source `json:"source"`
	Type     string     `json:"type"`
	Address  string     `json:"address"`
	Provider string     `json:"provider,omitempty"`
	// Location is where: the attribute the rule named, else the resource.
	Location iac.Location   `json:"location"`
	Via      []iac.Location `json:"via,omitempty"`
	// ResourceRange is the whole resource's lines (Location may be one
	// attribute's).
	ResourceRange iac.Range `json:"resourceRange"`
	// Path is the attribute path the finding is about, when the rule said.
	Path string `json:"path,omitempty"`
	// Fingerprint identifies the finding across edits: rule, file,
	// address and path, never line numbers.
	Fingerprint string `json:"fingerprint"`
	// Suppressed is why the finding does not count ("" when it does), and
	// SuppressedBy says how: "inline" (a vigil:ignore comment) or
	// "baseline".
	Suppressed   string `json:"suppressed,omitempty"`
	SuppressedBy string `json:"suppressedBy,omitempty"`
}

// Result is what an evaluation found.
type Result struct {
	Findings []Finding
	// Errors are rule evaluations that failed at run time (a rule
	// expression that assumed a shape the resource does not have). They
	// never become findings; they are reported so rule authors see them.
	Errors []EvalError
}

// EvalError is a rule that could not be evaluated against a resource.
type EvalError struct {
	RuleID  string
	Address string
	File    string
	Err     error
}

func (e *EvalError) Error() string {
	return fmt.Sprintf("rule %s on %s (%s): %v", e.RuleID, e.Address, e.File, e.Err)
}

// Engine evaluates compiled CEL rules. It is safe for concurrent use.
type Engine struct {
	joins *joins
	rules []*compiled
	// byType indexes rules by resource type; "*" rules apply to every type.
	byType map[string][]*compiled
	any    []*compiled
}

type compiled struct {
	rule      *Rule
	each      cel.Program
	condition cel.Program
	path      cel.Program
	message   cel.Program
}

// costLimit bounds one expression's evaluation, so a rule cannot loop
// over a hostile resource for ever.
const costLimit = 1_000_000

// newEnv is the CEL environment every rule is compiled in: the variables
// documented in docs/policy.md, CEL's optional syntax (a.?b.orValue(x)),
// and the string, list, set, math, encoder and network extensions.
func newEnv(j *joins) (*cel.Env, error) {
	return cel.NewEnv(
		j.function(),
		cel.Variable("resource", cel.MapType(cel.StringType, cel.DynType)),
		cel.Variable("attrs", cel.MapType(cel.StringType, cel.DynType)),
		cel.Variable("related", cel.MapType(cel.StringType, cel.ListType(cel.DynType))),
		cel.Variable("all", cel.MapType(cel.StringType, cel.ListType(cel.DynType))),
		cel.Variable("pod", cel.MapType(cel.StringType, cel.DynType)),
		cel.Variable("podPath", cel.StringType),
		cel.Variable("containers", cel.ListType(cel.DynType)),
		cel.Variable("item", cel.DynType),
		cel.Variable("index", cel.IntType),
		cel.OptionalTypes(),
		cel.CrossTypeNumericComparisons(true),
		ext.Strings(),
		ext.Lists(),
		ext.Sets(),
		ext.Math(),
		ext.Encoders(),
		ext.Network(),
		ext.Bindings(),
		ext.TwoVarComprehensions(),
	)
}

// Compile checks and compiles rules. Every rule's expressions are checked
// against the environment; an error names the rule and the expression.
func Compile(rules []Rule) (*Engine, error) {
	j := &joins{}
	env, err := newEnv(j)
	if err != nil {
		return nil, fmt.Errorf("policy environment: %w", err)
	}
	e := &Engine{joins: j, byType: map[string][]*compiled{}}
	var errs []error
	for i := range rules {
		r := &rules[i]
		c, err := compileRule(env, r)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		e.add(c)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return e, nil
}

// add indexes a compiled rule by the types it judges.
func (e *Engine) add(c *compiled) {
	e.rules = append(e.rules, c)
	for _, t := range c.rule.Types {
		if t == "*" {
			e.any = append(e.any, c)
		} else {
			e.byType[t] = append(e.byType[t], c)
		}
	}
}

func compileRule(env *cel.Env, r *Rule) (*compiled, error) {
	if err := r.Validate(); err != nil {
		return nil, err
	}
	c := &compiled{rule: r}
	prog := func(field, src string, want *cel.Type) (cel.Program, error) {
		if strings.TrimSpace(src) == "" {
			return nil, nil
		}
		ast, iss := env.Compile(src)
		if iss.Err() != nil {
			return nil, fmt.Errorf("rule %s (%s): %s: %w", r.ID, r.File, field, iss.Err())
		}
		out := ast.OutputType()
		if want != nil && out != cel.DynType && !out.IsAssignableType(want) && !(want.Kind() == types.ListKind && out.Kind() == types.ListKind) {
			return nil, fmt.Errorf("rule %s (%s): %s yields %s, want %s", r.ID, r.File, field, out, want)
		}
		p, err := env.Program(ast, cel.EvalOptions(cel.OptOptimize), cel.CostLimit(costLimit))
		if err != nil {
			return nil, fmt.Errorf("rule %s (%s): %s: %w", r.ID, r.File, field, err)
		}
		return p, nil
	}
	var err error
	if c.condition, err = prog("condition", r.Condition, cel.BoolType); err != nil {
		return nil, err
	}
	if c.each, err = prog("each", r.Each, cel.ListType(cel.DynType)); err != nil {
		return nil, err
	}
	if c.path, err = prog("path", r.Path, cel.StringType); err != nil {
		return nil, err
	}
	if c.message, err = prog("message", r.Message, cel.StringType); err != nil {
		return nil, err
	}
	return c, nil
}

// Rules returns the compiled rules, sorted by id.
func (e *Engine) Rules() []*Rule {
	out := make([]*Rule, len(e.rules))
	for i, c := range e.rules {
		out[i] = c.rule
	}
	slices.SortFunc(out, func(a, b *Rule) int { return strings.Compare(a.ID, b.ID) })
	return out
}

// Only returns an engine with just the rule of that id (for rule tests).
func (e *Engine) Only(id string) *Engine {
	o := &Engine{joins: e.joins, byType: map[string][]*compiled{}}
	for _, c := range e.rules {
		if c.rule.ID == id {
			o.add(c)
		}
	}
	return o
}

func (c *compiled) applies(r *iac.Resource) bool {
	return len(c.rule.Sources) == 0 || slices.Contains(c.rule.Sources, r.Source)
}

// Evaluate runs every applicable rule over every resource, in parallel.
// Findings come out sorted by file, line, rule and address.
func (e *Engine) Evaluate(ctx context.Context, resources []iac.Resource) (*Result, error) {
	ix := newIndex(resources)
	ix.once.Do(ix.build)
	e.joins.register(ix.all)
	defer e.joins.forget(ix.all)
	type out struct {
		fs   []Finding
		errs []EvalError
	}
	workers := min(runtime.GOMAXPROCS(0), max(1, len(resources)/64))
	results := make([]out, workers)
	var next atomic.Int64
	take := func() int { return int(next.Add(1) - 1) }
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			o := &results[w]
			for {
				i := take()
				if i >= len(resources) || ctx.Err() != nil {
					return
				}
				r := &resources[i]
				rules := e.byType[r.Type]
				if len(e.any) > 0 {
					rules = append(slices.Clip(rules), e.any...)
				}
				if len(rules) == 0 {
					continue
				}
				act := ix.activation(i)
				for _, c := range rules {
					if !c.applies(r) {
						continue
					}
					fs, err := c.eval(r, act)
					o.fs = append(o.fs, fs...)
					if err != nil {
						o.errs = append(o.errs, EvalError{RuleID: c.rule.ID, Address: r.Address, File: r.Location.File, Err: err})
					}
				}
			}
		})
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	res := &Result{}
	for _, o := range results {
		res.Findings = append(res.Findings, o.fs...)
		res.Errors = append(res.Errors, o.errs...)
	}
	SortFindings(res.Findings)
	slices.SortFunc(res.Errors, func(a, b EvalError) int {
		return cmpStrings(a.File, b.File, a.Address, b.Address, a.RuleID, b.RuleID)
	})
	return res, nil
}

// SortFindings orders findings by file, line, rule, address and path.
func SortFindings(fs []Finding) {
	slices.SortFunc(fs, func(a, b Finding) int {
		if c := strings.Compare(a.Location.File, b.Location.File); c != 0 {
			return c
		}
		if a.Location.Range.StartLine != b.Location.Range.StartLine {
			return a.Location.Range.StartLine - b.Location.Range.StartLine
		}
		return cmpStrings(a.RuleID, b.RuleID, a.Address, b.Address, a.Path, b.Path)
	})
}

func cmpStrings(pairs ...string) int {
	for i := 0; i+1 < len(pairs); i += 2 {
		if c := strings.Compare(pairs[i], pairs[i+1]); c != 0 {
			return c
		}
	}
	return 0
}

// eval runs one rule on one resource.
func (c *compiled) eval(r *iac.Resource, act map[string]any) ([]Finding, error) {
	if c.each == nil {
		ok, err := evalBool(c.condition, act)
		if err != nil || !ok {
			return nil, err
		}
		f, err := c.finding(r, act)
		if err != nil {
			return nil, err
		}
		return []Finding{f}, nil
	}
	v, _, err := c.each.Eval(act)
	if err != nil {
		return nil, err
	}
	items, err := listOf(v)
	if err != nil {
		return nil, fmt.Errorf("each: %w", err)
	}
	var out []Finding
	var errs []error
	for i, item := range items {
		a := make(map[string]any, len(act)+2)
		for k, x := range act {
			a[k] = x
		}
		a["item"] = item
		a["index"] = int64(i)
		ok, err := evalBool(c.condition, a)
		if err != nil {
			errs = append(errs, fmt.Errorf("item %d: %w", i, err))
			continue
		}
		if !ok {
			continue
		}
		f, err := c.finding(r, a)
		if err != nil {
			errs = append(errs, fmt.Errorf("item %d: %w", i, err))
			continue
		}
		out = append(out, f)
	}
	return out, errors.Join(errs...)
}

func listOf(v ref.Val) ([]ref.Val, error) {
	l, ok := v.(interface {
		Size() ref.Val
		Get(ref.Val) ref.Val
	})
	if !ok || v.Type() != types.ListType {
		return nil, fmt.Errorf("want a list, got %s", v.Type().TypeName())
	}
	n, _ := l.Size().(types.Int)
	out := make([]ref.Val, 0, int(n))
	for i := range int64(n) {
		out = append(out, l.Get(types.Int(i)))
	}
	return out, nil
}

func evalBool(p cel.Program, act map[string]any) (bool, error) {
	v, _, err := p.Eval(act)
	if err != nil {
		return false, err
	}
	b, ok := v.(types.Bool)
	if !ok {
		return false, fmt.Errorf("condition yields %s, not a bool", v.Type().TypeName())
	}
	return bool(b), nil
}

func evalString(p cel.Program, act map[string]any) (string, error) {
	v, _, err := p.Eval(act)
	if err != nil {
		return "", err
	}
	s, ok := v.(types.String)
	if !ok {
		return "", fmt.Errorf("yields %s, not a string", v.Type().TypeName())
	}
	return string(s), nil
}

func (c *compiled) finding(r *iac.Resource, act map[string]any) (Finding, error) {
	f := Finding{
		RuleID:   c.rule.ID,
		Severity: c.rule.Severity,
		Title:    c.rule.Title,
		Message:  c.rule.Title,
		Source:   r.Source,
		Type:     r.Type,
		Address:  r.Address,
		Provider: r.Provider,
		Location: r.Location,
		Via:      r.Via,

		ResourceRange: r.Location.Range,
	}
	if c.path != nil {
		p, err := evalString(c.path, act)
		if err != nil {
			return f, fmt.Errorf("path: %w", err)
		}
		f.Path = p
		f.Location.Range = r.Line(p)
	}
	if c.message != nil {
		m, err := evalString(c.message, act)
		if err != nil {
			return f, fmt.Errorf("message: %w", err)
		}
		f.Message = m
	}
	f.Fingerprint = fingerprint(f.RuleID, f.Location.File, f.Address, f.Path)
	return f, nil
}

func fingerprint(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}
