package policy

import (
	"bytes"
	"context"
	"encoding/json"
	"path"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/vigil-sec/vigil/internal/finding"
	"github.com/vigil-sec/vigil/internal/iac"
)

// jsonLoader reads *.res.json files holding []iac.Resource: the engine's
// tests need no real format parser.
type jsonLoader struct{}

func (jsonLoader) Name() string { return "json-resources" }

func (jsonLoader) Load(_ context.Context, in *iac.Input) ([]iac.Resource, []iac.FileError) {
	var out []iac.Resource
	var errs []iac.FileError
	for _, f := range in.Files {
		if !strings.HasSuffix(f, ".res.json") {
			continue
		}
		b, err := in.ReadFile(f)
		if err == nil {
			var rs []iac.Resource
			if err = json.Unmarshal(b, &rs); err == nil {
				for i := range rs {
					rs[i].Location.File = f
					rs[i].Attrs, _ = iac.Normalize(rs[i].Attrs).(map[string]any)
				}
				out = append(out, rs...)
				continue
			}
		}
		errs = append(errs, iac.FileError{File: f, Err: err})
	}
	return out, errs
}

func bucket(addr string, attrs map[string]any, start, end int) iac.Resource {
	return iac.Resource{
		Source: iac.SourceTerraform, Type: "aws_s3_bucket", Address: addr, Provider: "aws",
		Location: iac.Location{File: "main.tf", Range: iac.Range{StartLine: start, EndLine: end}},
		Attrs:    attrs,
		Lines:    map[string]iac.Range{"acl": {StartLine: start + 1, EndLine: start + 1}},
	}
}

func mustCompile(t *testing.T, rules ...Rule) *Engine {
	t.Helper()
	for i := range rules {
		if rules[i].Title == "" {
			rules[i].Title = "t"
		}
		if rules[i].Severity == 0 {
			rules[i].Severity = finding.SeverityHigh
		}
	}
	e, err := Compile(rules)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func TestEvaluate(t *testing.T) {
	res := []iac.Resource{
		bucket("aws_s3_bucket.public", map[string]any{"acl": "public-read"}, 1, 4),
		bucket("aws_s3_bucket.private", map[string]any{"acl": "private"}, 6, 9),
		bucket("aws_s3_bucket.unknown", map[string]any{}, 11, 12),
		{
			Source: iac.SourceTerraform, Type: "aws_s3_bucket_public_access_block", Address: "aws_s3_bucket_public_access_block.p",
			Location: iac.Location{File: "main.tf", Range: iac.Range{StartLine: 14, EndLine: 17}},
			Attrs:    map[string]any{"block_public_acls": true},
			Refs:     map[string][]string{"bucket": {"aws_s3_bucket.private"}},
		},
	}
	e := mustCompile(t,
		Rule{ID: "T-ACL", Types: []string{"aws_s3_bucket"}, Condition: `attrs.?acl.orValue("private") in ["public-read", "public-read-write"]`, Path: `"acl"`, Message: `resource.address + " is " + attrs.acl`},
		Rule{ID: "T-PAB", Types: []string{"aws_s3_bucket"}, Condition: `!related[?"aws_s3_bucket_public_access_block"].orValue([]).exists(p, p.attrs.?block_public_acls.orValue(false))`},
		Rule{ID: "T-ERR", Types: []string{"aws_s3_bucket"}, Condition: `attrs.acl == "x"`},
	)
	out, err := e.Evaluate(context.Background(), res)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range out.Findings {
		got = append(got, f.RuleID+" "+f.Address+" "+f.Location.Range.String()+" "+f.Message)
	}
	want := []string{
		"T-PAB aws_s3_bucket.public 1-4 t",
		"T-ACL aws_s3_bucket.public 2 aws_s3_bucket.public is public-read",
		"T-PAB aws_s3_bucket.unknown 11-12 t",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("findings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// T-ERR cannot be decided on the bucket without an acl: an error, never a finding.
	if len(out.Errors) != 1 || out.Errors[0].RuleID != "T-ERR" || out.Errors[0].Address != "aws_s3_bucket.unknown" {
		t.Errorf("errors = %+v, want one T-ERR on aws_s3_bucket.unknown", out.Errors)
	}
}

func TestEachContainers(t *testing.T) {
	rules, err := LoadDir(builtinFS, "rules/kubernetes")
	if err != nil {
		t.Fatal(err)
	}
	e, err := Compile(rules)
	if err != nil {
		t.Fatal(err)
	}
	cron := iac.Resource{
		Source: iac.SourceKubernetes, Type: "CronJob", Address: "CronJob/prod/backup",
		Location: iac.Location{File: "cron.yaml", Range: iac.Range{StartLine: 1, EndLine: 30}},
		Attrs: iac.Normalize(map[string]any{"spec": map[string]any{"jobTemplate": map[string]any{"spec": map[string]any{"template": map[string]any{"spec": map[string]any{
			"initContainers": []any{map[string]any{"name": "init", "securityContext": map[string]any{"privileged": true}}},
			"containers":     []any{map[string]any{"name": "main"}},
		}}}}}}).(map[string]any),
		Lines: map[string]iac.Range{"spec.jobTemplate.spec.template.spec.initContainers.0.securityContext.privileged": {StartLine: 12, EndLine: 12}},
	}
	out, err := e.Only("VGL-K8S-POD-001").Evaluate(context.Background(), []iac.Resource{cron})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Findings) != 1 {
		t.Fatalf("findings = %+v, want 1", out.Findings)
	}
	f := out.Findings[0]
	if f.Location.Range.StartLine != 12 || f.Message != "Container init runs privileged" || f.Path != "spec.jobTemplate.spec.template.spec.initContainers.0.securityContext.privileged" {
		t.Errorf("finding = %+v", f)
	}
}

func TestCompileErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		rule Rule
		want string
	}{
		{"syntax", Rule{ID: "T-A", Types: []string{"*"}, Condition: `attrs.(`}, "condition"},
		{"not bool", Rule{ID: "T-B", Types: []string{"*"}, Condition: `"yes"`}, "yields string"},
		{"unknown variable", Rule{ID: "T-C", Types: []string{"*"}, Condition: `nosuch.x`}, "undeclared"},
		{"bad id", Rule{ID: "lower", Types: []string{"*"}, Condition: `true`}, "id"},
		{"no types", Rule{ID: "T-D", Condition: `true`}, "types"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.rule.Title, tc.rule.Severity = "t", finding.SeverityLow
			_, err := Compile([]Rule{tc.rule})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want one mentioning %q", err, tc.want)
			}
		})
	}
}

func TestCostLimit(t *testing.T) {
	e := mustCompile(t, Rule{ID: "T-COST", Types: []string{"*"}, Condition: `lists.range(2000).all(i, lists.range(2000).all(j, i + j >= 0))`})
	out, err := e.Evaluate(context.Background(), []iac.Resource{bucket("b.x", map[string]any{}, 1, 1)})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Findings) != 0 || len(out.Errors) != 1 {
		t.Fatalf("a runaway rule must stop with an error: %+v", out)
	}
}

func TestSuppressionsAndBaseline(t *testing.T) {
	src := "resource \"aws_s3_bucket\" \"a\" {\n" + // 1
		"  acl = \"public-read\" # vigil:ignore T-ACL public website bucket\n" + // 2
		"}\n" + // 3
		"# vigil:ignore T-ACL\n" + // 4: no reason, not honoured
		"resource \"aws_s3_bucket\" \"b\" {\n" + // 5
		"  acl = \"public-read\"\n" + // 6
		"}\n"
	res := []iac.Resource{
		bucket("aws_s3_bucket.a", map[string]any{"acl": "public-read"}, 1, 3),
		bucket("aws_s3_bucket.b", map[string]any{"acl": "public-read"}, 5, 7),
	}
	e := mustCompile(t, Rule{ID: "T-ACL", Types: []string{"aws_s3_bucket"}, Condition: `attrs.?acl.orValue("") == "public-read"`, Path: `"acl"`})
	out, err := e.Evaluate(context.Background(), res)
	if err != nil {
		t.Fatal(err)
	}
	sup := NewSuppressions(func(string) ([]byte, error) { return []byte(src), nil })
	sup.Apply(out.Findings)
	if out.Findings[0].Suppressed != "public website bucket" || out.Findings[0].SuppressedBy != "inline" {
		t.Errorf("a: %+v", out.Findings[0])
	}
	if out.Findings[1].Suppressed != "" {
		t.Errorf("b must not be suppressed by a reason-less comment: %+v", out.Findings[1])
	}
	if len(sup.Warnings) != 1 || !strings.Contains(sup.Warnings[0], "main.tf:4") {
		t.Errorf("warnings = %q", sup.Warnings)
	}

	// Baseline: accept today's findings; an edit that moves lines keeps them
	// accepted; a new finding is not.
	var buf bytes.Buffer
	if err := NewBaseline(out.Findings).Write(&buf); err != nil {
		t.Fatal(err)
	}
	b, err := ReadBaseline(&buf)
	if err != nil {
		t.Fatal(err)
	}
	moved := []iac.Resource{
		bucket("aws_s3_bucket.b", map[string]any{"acl": "public-read"}, 25, 27),
		bucket("aws_s3_bucket.c", map[string]any{"acl": "public-read"}, 30, 32),
	}
	out2, _ := e.Evaluate(context.Background(), moved)
	b.Apply(out2.Findings)
	if out2.Findings[0].SuppressedBy != "baseline" || out2.Findings[1].Suppressed != "" {
		t.Errorf("baseline applied wrongly: %+v", out2.Findings)
	}
	if _, err := ReadBaseline(strings.NewReader(`{"version":9,"findings":[]}`)); err == nil {
		t.Error("a baseline of an unknown version must be refused")
	}
}

func TestRunTests(t *testing.T) {
	resJSON := func(acl string) string {
		return `[{"source":"terraform","type":"aws_s3_bucket","address":"aws_s3_bucket.x","location":{"range":{"startLine":1,"endLine":3}},"attrs":{"acl":"` + acl + `"}}]`
	}
	rule := Rule{ID: "T-ACL", Types: []string{"aws_s3_bucket"}, Condition: `attrs.acl == "public-read"`,
		Tests: []RuleTest{
			{Name: "public", Expect: "fail", Files: map[string]string{"a.res.json": resJSON("public-read")}},
			{Name: "private", Expect: "pass", Files: map[string]string{"a.res.json": resJSON("private")}},
			{Name: "wrong expectation", Expect: "pass", Files: map[string]string{"a.res.json": resJSON("public-read")}},
			{Name: "broken fixture", Expect: "fail", Files: map[string]string{"a.res.json": `[{`}},
			{Name: "nothing loads", Expect: "fail", Files: map[string]string{"README": `hi`}},
		}}
	e := mustCompile(t, rule)
	got, err := RunTests(context.Background(), e, []iac.Loader{jsonLoader{}})
	if err != nil {
		t.Fatal(err)
	}
	pass := map[string]bool{}
	for _, r := range got {
		pass[r.Name] = r.Passed()
	}
	want := map[string]bool{"public": true, "private": true, "wrong expectation": false, "broken fixture": false, "nothing loads": false}
	for k, v := range want {
		if pass[k] != v {
			t.Errorf("test %q passed=%v, want %v", k, pass[k], v)
		}
	}
}

func TestLoadDir(t *testing.T) {
	ok := "rules:\n  - id: T-ONE\n    title: one\n    severity: low\n    types: ['*']\n    condition: 'true'\n"
	fsys := fstest.MapFS{
		"a/one.yaml": {Data: []byte(ok)},
		"b/dup.yml":  {Data: []byte(ok)},
		"c/bad.yaml": {Data: []byte("rules:\n  - id: T-BAD\n    unknownfield: 1\n")},
		"notes.txt":  {Data: []byte("ignored")},
	}
	_, err := LoadDir(fsys, ".")
	if err == nil || !strings.Contains(err.Error(), "defined twice") || !strings.Contains(err.Error(), "unknownfield") {
		t.Errorf("err = %v", err)
	}
	rules, err := LoadDir(fsys, "a")
	if err != nil || len(rules) != 1 || path.Base(rules[0].File) != "one.yaml" {
		t.Errorf("rules = %+v, err = %v", rules, err)
	}
}

func FuzzParseRules(f *testing.F) {
	f.Add([]byte("rules:\n  - id: T-ONE\n    title: one\n    severity: low\n    types: ['*']\n    condition: 'true'\n"))
	f.Add([]byte("rules: [{id: X-1, tests: [{expect: fail, files: {'../x': y}}]}]"))
	f.Fuzz(func(t *testing.T, data []byte) {
		rules, err := ParseRules("f.yaml", data)
		if err != nil {
			return
		}
		_, _ = Compile(rules)
	})
}

// TestBuiltinCompile checks the built-in library parses and compiles; it
// needs no format parser (TestBuiltinRules runs the fixtures).
func TestBuiltinCompile(t *testing.T) {
	rules, err := Builtin()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Compile(rules); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d built-in rules compile", len(rules))
}

func TestEachTypedList(t *testing.T) {
	e := mustCompile(t, Rule{ID: "T-EACH", Types: []string{"*"}, Each: `["a", "b"]`, Condition: `item == "b"`, Path: `"x." + string(index)`})
	out, err := e.Evaluate(context.Background(), []iac.Resource{bucket("b.x", map[string]any{}, 1, 1)})
	if err != nil || len(out.Findings) != 1 || out.Findings[0].Path != "x.1" {
		t.Fatalf("out = %+v, err = %v", out, err)
	}
}

func TestWhere(t *testing.T) {
	pab := func(addr, b string) iac.Resource {
		r := iac.Resource{Source: iac.SourceTerraform, Type: "aws_s3_bucket_public_access_block", Address: addr, Attrs: map[string]any{}}
		if b != "" {
			r.Attrs["bucket"] = b
		}
		return r
	}
	res := []iac.Resource{
		bucket("aws_s3_bucket.a", map[string]any{"bucket": "a"}, 1, 1),
		bucket("aws_s3_bucket.b", map[string]any{"bucket": "b"}, 2, 2),
		bucket("aws_s3_bucket.c", map[string]any{"bucket": "c"}, 3, 3),
		pab("p.a", "a"), pab("p.a2", "a"), pab("p.unknown", ""),
	}
	e := mustCompile(t, Rule{ID: "T-W", Types: []string{"aws_s3_bucket"},
		Condition: `all.where("aws_s3_bucket_public_access_block", "bucket", attrs.bucket).size() != 2`,
		Message:   `string(all.where("aws_s3_bucket_public_access_block", "bucket", null).size())`})
	out, err := e.Evaluate(context.Background(), res)
	if err != nil || len(out.Errors) > 0 {
		t.Fatal(err, out.Errors)
	}
	var got []string
	for _, f := range out.Findings {
		got = append(got, f.Address+" "+f.Message)
	}
	if strings.Join(got, ",") != "aws_s3_bucket.b 1,aws_s3_bucket.c 1" {
		t.Errorf("got %v", got)
	}
	// where() outside `all` is an error, not a crash.
	e2 := mustCompile(t, Rule{ID: "T-W2", Types: []string{"aws_s3_bucket"}, Condition: `{"x": [1]}.where("x", "y", 1).size() > 0`})
	out, _ = e2.Evaluate(context.Background(), res[:1])
	if len(out.Errors) != 1 {
		t.Errorf("errors = %v", out.Errors)
	}
}

// TestRelatedScope: two root modules declaring the same addresses do not
// see each other's references.
func TestRelatedScope(t *testing.T) {
	mk := func(dir, typ, addr string, refs map[string][]string) iac.Resource {
		return iac.Resource{Source: iac.SourceTerraform, Type: typ, Address: addr, Attrs: map[string]any{}, Refs: refs,
			Location: iac.Location{File: dir + "/main.tf", Range: iac.Range{StartLine: 1, EndLine: 1}}}
	}
	res := []iac.Resource{
		mk("a", "aws_s3_bucket", "aws_s3_bucket.logs", nil),
		mk("b", "aws_s3_bucket", "aws_s3_bucket.logs", nil),
		mk("a", "aws_s3_bucket_public_access_block", "aws_s3_bucket_public_access_block.p", map[string][]string{"bucket": {"aws_s3_bucket.logs"}}),
	}
	e := mustCompile(t, Rule{ID: "T-R", Types: []string{"aws_s3_bucket"}, Condition: `related[?"aws_s3_bucket_public_access_block"].orValue([]).size() == 0`})
	out, err := e.Evaluate(context.Background(), res)
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Findings) != 1 || out.Findings[0].Location.File != "b/main.tf" {
		t.Errorf("findings = %+v, want only b's bucket", out.Findings)
	}
}
