package policy

import (
	"context"
	"errors"
	"fmt"
	"testing/fstest"

	"github.com/vigil-sec/vigil/internal/iac"
)

// TestResult is the outcome of one rule test.
type TestResult struct {
	RuleID string
	Name   string
	Expect string
	// Findings is how many findings the rule raised on the fixture.
	Findings int
	// Err is why the test failed; nil when it passed.
	Err error
}

// Passed reports whether the test held.
func (t *TestResult) Passed() bool { return t.Err == nil }

// RunTests runs every test of every rule in e: each fixture is scanned with
// loaders (in memory, nothing touches the disk) and only that rule is
// evaluated. A "fail" fixture must raise at least one finding (exactly
// Count when set), a "pass" fixture none; a fixture that does not load
// cleanly, or that makes the rule's expressions error, fails its test.
func RunTests(ctx context.Context, e *Engine, loaders []iac.Loader) ([]TestResult, error) {
	var out []TestResult
	for _, r := range e.Rules() {
		one := e.Only(r.ID)
		for i, t := range r.Tests {
			name := t.Name
			if name == "" {
				name = fmt.Sprintf("#%d", i)
			}
			tr := TestResult{RuleID: r.ID, Name: name, Expect: t.Expect}
			tr.Findings, tr.Err = runTest(ctx, one, r, &t, loaders)
			if err := ctx.Err(); err != nil {
				return out, err
			}
			out = append(out, tr)
		}
	}
	return out, nil
}

func runTest(ctx context.Context, e *Engine, r *Rule, t *RuleTest, loaders []iac.Loader) (int, error) {
	fsys := fstest.MapFS{}
	for name, content := range t.Files {
		fsys[name] = &fstest.MapFile{Data: []byte(content), Mode: 0o644}
	}
	scan, err := iac.ScanFS(ctx, fsys, loaders, iac.Options{})
	if err != nil {
		return 0, err
	}
	if len(scan.Errors) > 0 {
		errs := make([]error, len(scan.Errors))
		for i := range scan.Errors {
			errs[i] = &scan.Errors[i]
		}
		return 0, fmt.Errorf("fixture does not load: %w", errors.Join(errs...))
	}
	if len(scan.Resources) == 0 {
		return 0, errors.New("fixture holds no resource any loader understands")
	}
	res, err := e.Evaluate(ctx, scan.Resources)
	if err != nil {
		return 0, err
	}
	if len(res.Errors) > 0 {
		return len(res.Findings), fmt.Errorf("rule errors on the fixture: %w", &res.Errors[0])
	}
	sup := NewSuppressions(func(name string) ([]byte, error) { return fsys.ReadFile(name) })
	sup.Apply(res.Findings)
	n := 0
	for _, f := range res.Findings {
		if f.Suppressed == "" {
			n++
		}
	}
	switch {
	case t.Expect == "pass" && n > 0:
		return n, fmt.Errorf("want no finding, got %d (first at %s:%s on %s)", n, res.Findings[0].Location.File, res.Findings[0].Location.Range, res.Findings[0].Address)
	case t.Expect == "fail" && n == 0:
		return 0, fmt.Errorf("want a finding, got none (%d resources loaded: %s)", len(scan.Resources), describe(scan.Resources))
	case t.Expect == "fail" && t.Count > 0 && n != t.Count:
		return n, fmt.Errorf("want %d findings, got %d", t.Count, n)
	}
	return n, nil
}

func describe(rs []iac.Resource) string {
	s := ""
	for i, r := range rs {
		if i == 5 {
			return s + ", …"
		}
		if i > 0 {
			s += ", "
		}
		s += r.Type + " " + r.Address
	}
	return s
}
