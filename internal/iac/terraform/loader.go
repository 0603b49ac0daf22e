package terraform

import (
	"bytes"
	"context"
	"path"
	"slices"
	"strings"
	"sync"

	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/vigil-sec/vigil/internal/iac"
	"github.com/zclconf/go-cty/cty"
)

// Options tune a Loader. The zero value evaluates with the variables the
// configuration itself sets.
type Options struct {
	// Vars are -var style values by variable name: HCL expression text
	// (["a","b"], {k = "v"}, 3) or plain strings. They override every
	// variable file, in every root module.
	Vars map[string]string
	// VarFiles are .tfvars or .tfvars.json paths relative to the scanned
	// root, applied in order to every root module after its own
	// terraform.tfvars and *.auto.tfvars files.
	VarFiles []string
}

// Loader reads Terraform modules and plan JSON. It is safe for concurrent
// use; each Load is independent.
type Loader struct {
	opts Options
}

var _ iac.Loader = (*Loader)(nil)

// New returns a Loader.
func New(opts Options) *Loader { return &Loader{opts: opts} }

// Name implements iac.Loader.
func (*Loader) Name() string { return "terraform" }

// run is the state of one Load.
type run struct {
	ctx   context.Context
	in    *iac.Input
	opts  Options
	files map[string]bool // every file of the input, for fileexists
	dirs  map[string]*dirEntry

	mu   sync.Mutex
	errs []iac.FileError

	cliVars  map[string]cliVar
	fileVars []map[string]cty.Value // Options.VarFiles, in order
}

// dirEntry is one module directory.
type dirEntry struct {
	dir      string
	files    []string // .tf and .tf.json, sorted
	varFiles []string // terraform.tfvars and *.auto.tfvars(.json), in precedence order
	pre      map[string]*hclsyntax.Body
	called   bool
	callees  []string

	once sync.Once
	mod  *module
}

func isConfig(name string) bool {
	return strings.HasSuffix(name, ".tf") || strings.HasSuffix(name, ".tf.json")
}

func isVars(name string) bool {
	return strings.HasSuffix(name, ".tfvars") || strings.HasSuffix(name, ".tfvars.json")
}

// isAutoVars reports whether Terraform loads a variable file of the root
// module's directory by itself.
func isAutoVars(base string) bool {
	return base == "terraform.tfvars" || base == "terraform.tfvars.json" ||
		strings.HasSuffix(base, ".auto.tfvars") || strings.HasSuffix(base, ".auto.tfvars.json")
}

// Load implements iac.Loader.
func (l *Loader) Load(ctx context.Context, in *iac.Input) ([]iac.Resource, []iac.FileError) {
	r := &run{ctx: ctx, in: in, opts: l.opts, files: make(map[string]bool, len(in.Files)), dirs: map[string]*dirEntry{}}
	var plans []string
	var autoVars []string
	for _, f := range in.Files {
		r.files[f] = true
		switch {
		case isConfig(f):
			d := path.Dir(f)
			e := r.dirs[d]
			if e == nil {
				e = &dirEntry{dir: d}
				r.dirs[d] = e
			}
			e.files = append(e.files, f)
		case isVars(f):
			if isAutoVars(path.Base(f)) {
				autoVars = append(autoVars, f)
			}
		case strings.HasSuffix(f, ".json"):
			if r.isPlan(f) {
				plans = append(plans, f)
			}
		}
	}
	for _, f := range autoVars {
		if e := r.dirs[path.Dir(f)]; e != nil {
			e.varFiles = append(e.varFiles, f)
		}
	}
	for _, e := range r.dirs {
		slices.SortFunc(e.varFiles, compareVarFiles)
	}
	r.loadOptionVars()

	dirs := make([]*dirEntry, 0, len(r.dirs))
	for _, e := range r.dirs {
		dirs = append(dirs, e)
	}
	slices.SortFunc(dirs, func(a, b *dirEntry) int { return strings.Compare(a.dir, b.dir) })

	// Find the module calls between directories, parsing only the files
	// that can hold a module block.
	iac.ForEach(ctx, len(dirs), func(i int) { r.scanCalls(dirs[i]) })
	roots := r.roots(dirs)

	type result struct {
		res  []iac.Resource
		errs []iac.FileError
	}
	results := make([]result, len(roots)+len(plans))
	iac.ForEach(ctx, len(results), func(i int) {
		if i >= len(roots) {
			res, err := r.loadPlan(plans[i-len(roots)])
			results[i].res = res
			if err != nil {
				results[i].errs = []iac.FileError{{File: plans[i-len(roots)], Err: err}}
			}
			return
		}
		e := roots[i]
		mod := r.module(e.dir)
		if mod == nil {
			return
		}
		ev := newEvaluation(r, e.dir)
		sc := newScope(ev, mod, "", nil, 0, []string{e.dir}, r.rootInputs(e, mod))
		sc.run()
		if ev.exhausted {
			ev.fail(mod.files[0], ErrBudget)
		}
		results[i] = result{ev.out, ev.errs}
		if !e.called {
			e.mod = nil // no one else evaluates a root: let it go
		}
	})
	var out []iac.Resource
	errs := r.errs
	for _, res := range results {
		out = append(out, res.res...)
		errs = append(errs, res.errs...)
	}
	return out, errs
}

// compareVarFiles orders a directory's variable files by Terraform's
// precedence, lowest first.
func compareVarFiles(a, b string) int {
	rank := func(f string) int {
		switch path.Base(f) {
		case "terraform.tfvars":
			return 0
		case "terraform.tfvars.json":
			return 1
		}
		return 2
	}
	if ra, rb := rank(a), rank(b); ra != rb {
		return ra - rb
	}
	return strings.Compare(a, b)
}

func (r *run) addErr(file string, err error) {
	r.mu.Lock()
	r.errs = append(r.errs, iac.FileError{File: file, Err: err})
	r.mu.Unlock()
}

// scanCalls records the local module calls of a directory. Files without
// the word "module" cannot call one and are left for later; the others
// are parsed now and kept, so that no file is parsed twice.
func (r *run) scanCalls(e *dirEntry) {
	for _, f := range e.files {
		src, err := r.in.ReadFile(f)
		if err != nil || !bytes.Contains(src, []byte("module")) {
			continue // read errors are reported when the module is built
		}
		body, err := parseConfig(f, src)
		if err != nil {
			continue
		}
		if e.pre == nil {
			e.pre = map[string]*hclsyntax.Body{}
		}
		e.pre[f] = body
		for _, blk := range body.Blocks {
			if blk.Type != "module" || len(blk.Labels) != 1 {
				continue
			}
			if a := blk.Body.Attributes["source"]; a != nil {
				if v, diags := a.Expr.Value(nil); !diags.HasErrors() && v.Type() == cty.String && v.IsKnown() && !v.IsNull() {
					if d := localSource(e.dir, v.AsString()); d != "" && d != e.dir {
						e.callees = append(e.callees, d)
					}
				}
			}
		}
	}
}

// roots returns the directories no other directory calls, plus any
// directory that calls only run into (a cycle with no way in), so that no
// module is left unevaluated.
func (r *run) roots(dirs []*dirEntry) []*dirEntry {
	for _, e := range dirs {
		for _, c := range e.callees {
			if ce := r.dirs[c]; ce != nil {
				ce.called = true
			}
		}
	}
	var roots []*dirEntry
	reached := map[string]bool{}
	var visit func(d string)
	visit = func(d string) {
		if reached[d] {
			return
		}
		reached[d] = true
		if e := r.dirs[d]; e != nil {
			for _, c := range e.callees {
				visit(c)
			}
		}
	}
	for _, e := range dirs {
		if !e.called {
			roots = append(roots, e)
			visit(e.dir)
		}
	}
	for _, e := range dirs {
		if !reached[e.dir] {
			roots = append(roots, e)
			visit(e.dir)
		}
	}
	return roots
}

// module returns the parsed declarations of a directory, building them
// once. It returns nil for a directory with no configuration files.
func (r *run) module(dir string) *module {
	e := r.dirs[dir]
	if e == nil {
		return nil
	}
	e.once.Do(func() {
		m := newModule(dir)
		for _, f := range e.files {
			body := e.pre[f]
			if body == nil {
				src, err := r.in.ReadFile(f)
				if err != nil {
					r.addErr(f, err)
					continue
				}
				if body, err = parseConfig(f, src); err != nil {
					r.addErr(f, err)
					continue
				}
			}
			m.add(f, body)
		}
		e.pre = nil
		if len(m.files) > 0 {
			e.mod = m
		}
	})
	return e.mod
}
