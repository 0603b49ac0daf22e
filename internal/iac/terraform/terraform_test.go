package terraform

import (
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"
	"github.com/vigil-sec/vigil/internal/iac"
)

// loadDir scans a testdata directory with the loader alone.
func loadDir(t *testing.T, dir string, opts Options) (map[string]iac.Resource, []iac.FileError) {
	t.Helper()
	res, err := iac.Scan(context.Background(), "testdata/"+dir, []iac.Loader{New(opts)}, iac.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return byAddress(t, res.Resources), res.Errors
}

// loadFS loads an in-memory tree.
func loadFS(t testing.TB, fsys fstest.MapFS, opts Options) ([]iac.Resource, []iac.FileError) {
	t.Helper()
	var files []string
	for name := range fsys {
		files = append(files, name)
	}
	slices.Sort(files)
	return New(opts).Load(context.Background(), &iac.Input{FS: fsys, Files: files})
}

func byAddress(t *testing.T, rs []iac.Resource) map[string]iac.Resource {
	t.Helper()
	m := map[string]iac.Resource{}
	for _, r := range rs {
		key := r.Address
		if _, dup := m[key]; dup {
			t.Fatalf("address %s emitted twice", key)
		}
		m[key] = r
	}
	return m
}

// attr walks a dotted path ("ingress.1.from_port") through Attrs.
func attr(r iac.Resource, p string) (any, bool) {
	var cur any = r.Attrs
	for _, part := range strings.Split(p, ".") {
		switch c := cur.(type) {
		case map[string]any:
			v, ok := c[part]
			if !ok {
				return nil, false
			}
			cur = v
		case []any:
			i := 0
			for _, ch := range part {
				if ch < '0' || ch > '9' {
					return nil, false
				}
				i = i*10 + int(ch-'0')
			}
			if i >= len(c) {
				return nil, false
			}
			cur = c[i]
		default:
			return nil, false
		}
	}
	return cur, true
}

// absent is the expected value of an attribute that must not be in Attrs.
type absentT struct{}

var absent = absentT{}

type attrCase struct {
	addr, path string
	want       any
}

func checkAttrs(t *testing.T, got map[string]iac.Resource, cases []attrCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.addr+"/"+c.path, func(t *testing.T) {
			r, ok := got[c.addr]
			if !ok {
				t.Fatalf("no resource %s; have %v", c.addr, keys(got))
			}
			v, ok := attr(r, c.path)
			if c.want == absent {
				if ok {
					t.Fatalf("%s should be absent (unknown), got %#v", c.path, v)
				}
				return
			}
			if !ok {
				t.Fatalf("%s missing; attrs %v", c.path, r.Attrs)
			}
			if diff := cmp.Diff(c.want, v); diff != "" {
				t.Errorf("%s (-want +got):\n%s", c.path, diff)
			}
		})
	}
}

func keys[V any](m map[string]V) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

func TestBasic(t *testing.T) {
	got, errs := loadDir(t, "basic", Options{})
	if len(errs) > 0 {
		t.Fatalf("errors: %v", errs)
	}
	checkAttrs(t, got, []attrCase{
		// terraform.tfvars sets env; locals resolve out of order.
		{"aws_s3_bucket.logs", "bucket", "acme-prod-logs"},
		{"aws_s3_bucket.logs", "tags", map[string]any{"Owner": "sec", "Env": "prod"}},
		// count and format.
		{"aws_s3_bucket.data[0]", "bucket", "acme-prod-data-0"},
		{"aws_s3_bucket.data[1]", "bucket", "acme-prod-data-1"},
		// an unset variable and a local cycle are unknown: absent.
		{"aws_s3_bucket.data[0]", "acl", absent},
		{"aws_s3_bucket.data[0]", "policy", absent},
		// for_each over a set; a computed attribute of another resource
		// is unknown, a written one is used.
		{`aws_s3_bucket_logging.data["a"]`, "target_prefix", "a/a"},
		{`aws_s3_bucket_logging.data["b"]`, "target_prefix", "b/b"},
		{`aws_s3_bucket_logging.data["a"]`, "bucket", absent},
		{`aws_s3_bucket_logging.data["a"]`, "target_bucket", "acme-prod-logs"},
		// a static block then a dynamic block fed by *.auto.tfvars.
		{"aws_security_group.web", "ingress.0.from_port", int64(443)},
		{"aws_security_group.web", "ingress.1.from_port", int64(22)},
		{"aws_security_group.web", "ingress.2.to_port", int64(80)},
		{"aws_security_group.web", "ingress.2.cidr_blocks", []any{"10.0.1.0/24"}},
		// one block is still a list; an unknown list element is nil.
		{"aws_security_group.web", "egress", []any{map[string]any{"cidr_blocks": []any{nil, "10.1.0.0/16"}}}},
		// functions, data sources, templatefile, terraform.workspace.
		{"aws_instance.web", "ami", "ami-2"},
		{"aws_instance.web", "host", "10.0.1.5"},
		{"aws_instance.web", "subnet_id", absent},
		{"aws_instance.web", "tags", map[string]any{"Name": "acme-prod", "Ws": "default"}},
		{"aws_instance.web", "user_data", "#!/bin/sh\necho acme-prod\n"},
		{"aws_instance.web", "vpc_security_group_ids", []any{nil, "sg-static"}},
	})
	if _, ok := got["data.aws_vpc.main"]; ok {
		t.Error("data sources must not be emitted")
	}

	sg := got["aws_security_group.web"]
	for p, want := range map[string]iac.Range{
		"name":                  {StartLine: 42, EndLine: 42},
		"ingress.0":             {StartLine: 44, EndLine: 48},
		"ingress.1":             {StartLine: 53, EndLine: 57},
		"ingress.2.cidr_blocks": {StartLine: 56, EndLine: 56},
	} {
		if sg.Lines[p] != want {
			t.Errorf("Lines[%s] = %v, want %v", p, sg.Lines[p], want)
		}
	}
	if want := (iac.Location{File: "main.tf", Range: iac.Range{StartLine: 41, EndLine: 63}}); sg.Location != want {
		t.Errorf("Location = %v, want %v", sg.Location, want)
	}
	if sg.Provider != "aws" || sg.Source != iac.SourceTerraform || sg.Type != "aws_security_group" {
		t.Errorf("Provider/Source/Type = %q/%q/%q", sg.Provider, sg.Source, sg.Type)
	}
}

func TestRefs(t *testing.T) {
	got, _ := loadDir(t, "basic", Options{})
	mods, _ := loadDir(t, "modules", Options{})
	tests := []struct {
		res  iac.Resource
		path string
		want []string
	}{
		{got[`aws_s3_bucket_logging.data["a"]`], "bucket", []string{"aws_s3_bucket.data[0]"}},
		{got[`aws_s3_bucket_logging.data["a"]`], "target_bucket", []string{"aws_s3_bucket.logs"}},
		{got["aws_instance.web"], "vpc_security_group_ids", []string{"aws_security_group.web"}},
		{got["aws_instance.web"], "subnet_id", []string{"data.aws_vpc.main"}},
		{got["aws_security_group.web"], "egress.0.cidr_blocks", []string{"data.aws_vpc.main"}},
		{got["aws_s3_bucket.logs"], "bucket", nil},
		// Inside a module, module-prefixed; through a variable, the
		// caller's resource.
		{mods[`module.bucket["a"].aws_s3_bucket_logging.this`], "bucket", []string{`module.bucket["a"].aws_s3_bucket.this`}},
		{mods[`module.bucket["b"].aws_s3_bucket_logging.this`], "target_bucket", []string{"aws_s3_bucket.central"}},
		// Through a module output, only the instance written.
		{mods["aws_s3_bucket_policy.p"], "bucket", []string{`module.bucket["a"].aws_s3_bucket.this`}},
	}
	for _, tt := range tests {
		t.Run(tt.res.Address+"/"+tt.path, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, tt.res.Refs[tt.path]); diff != "" {
				t.Errorf("Refs (-want +got):\n%s", diff)
			}
		})
	}
}

func TestModules(t *testing.T) {
	got, errs := loadDir(t, "modules", Options{})
	if len(errs) > 0 {
		t.Fatalf("errors: %v", errs)
	}
	want := []string{
		"aws_s3_bucket.central",
		"aws_s3_bucket_policy.p",
		`module.bucket["a"].aws_s3_bucket.this`,
		`module.bucket["a"].aws_s3_bucket_logging.this`,
		`module.bucket["b"].aws_s3_bucket.this`,
		`module.bucket["b"].aws_s3_bucket_logging.this`,
		"module.net.aws_vpc.main",
	}
	if diff := cmp.Diff(want, keys(got)); diff != "" {
		t.Fatalf("addresses (-want +got):\n%s", diff)
	}
	checkAttrs(t, got, []attrCase{
		{`module.bucket["a"].aws_s3_bucket.this`, "bucket", "bkt-alpha"},
		{`module.bucket["b"].aws_s3_bucket.this`, "bucket", "bkt-beta"},
		// outputs of a local module feed the root; a remote module's are unknown.
		{"aws_s3_bucket_policy.p", "bucket", "bkt-alpha"},
		{"aws_s3_bucket_policy.p", "arns", []any{"bkt-alpha", "bkt-beta"}},
		{"aws_s3_bucket_policy.p", "vpc", absent},
		// a .tf.json module with cidrsubnets in a local.
		{"aws_s3_bucket_policy.p", "subnets", []any{"10.0.0.0/20", "10.0.16.0/20"}},
		{"module.net.aws_vpc.main", "tags", map[string]any{"Name": "main-10.0.0.0/16"}},
	})
	b := got[`module.bucket["b"].aws_s3_bucket.this`]
	wantLoc := iac.Location{File: "modules/bucket/main.tf", Range: iac.Range{StartLine: 9, EndLine: 11}}
	wantVia := []iac.Location{{File: "main.tf", Range: iac.Range{StartLine: 1, EndLine: 6}}}
	if b.Location != wantLoc {
		t.Errorf("Location = %v, want %v", b.Location, wantLoc)
	}
	if diff := cmp.Diff(wantVia, b.Via); diff != "" {
		t.Errorf("Via (-want +got):\n%s", diff)
	}
	if len(got["aws_s3_bucket.central"].Via) != 0 {
		t.Error("a root resource has no Via")
	}
}

func TestVariableOverrides(t *testing.T) {
	tests := []struct {
		name string
		opts Options
		env  string
		port []any
	}{
		{"tfvars", Options{}, "prod", []any{int64(22), int64(80)}},
		{"var file", Options{VarFiles: []string{"override.tfvars"}}, "stage", []any{int64(22), int64(80)}},
		{"var beats var file", Options{VarFiles: []string{"override.tfvars"}, Vars: map[string]string{"env": "cli", "ports": "[8443]"}}, "cli", []any{int64(8443)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, errs := loadDir(t, "basic", tt.opts)
			if len(errs) > 0 {
				t.Fatalf("errors: %v", errs)
			}
			if b, _ := attr(got["aws_s3_bucket.logs"], "bucket"); b != "acme-"+tt.env+"-logs" {
				t.Errorf("bucket = %v, want env %s", b, tt.env)
			}
			var ports []any
			for _, in := range got["aws_security_group.web"].Attrs["ingress"].([]any)[1:] {
				ports = append(ports, in.(map[string]any)["from_port"])
			}
			if diff := cmp.Diff(tt.port, ports); diff != "" {
				t.Errorf("dynamic ports (-want +got):\n%s", diff)
			}
		})
	}
}

func TestFiles(t *testing.T) {
	got, errs := loadDir(t, "files", Options{})
	if len(errs) > 0 {
		t.Fatalf("errors: %v", errs)
	}
	checkAttrs(t, got, []attrCase{
		{"aws_instance.in", "user_data", "port=8080\n12\n"},
		// ../../secret.tpl exists but is outside the scanned tree.
		{"aws_instance.out", "user_data", absent},
		{"aws_instance.out", "ami", "ami-1"},
		{"aws_instance.read", "exists", true},
		{"aws_instance.read", "missing", false},
	})
}

func TestMalformed(t *testing.T) {
	got, errs := loadDir(t, "malformed", Options{})
	if len(errs) != 1 || errs[0].File != "bad.tf" {
		t.Fatalf("errors = %v, want one for bad.tf", errs)
	}
	if msg := errs[0].Error(); !strings.Contains(msg, "bad.tf: ") || !strings.Contains(msg, ":") {
		t.Errorf("error %q has no position", msg)
	}
	checkAttrs(t, got, []attrCase{{"aws_s3_bucket.ok", "bucket", "fine"}})
}

func TestTooDeep(t *testing.T) {
	deep := "locals {\n  x = " + strings.Repeat("[", 100) + strings.Repeat("]", 100) + "\n}\n"
	_, errs := loadFS(t, fstest.MapFS{
		"main.tf": {Data: []byte(deep)},
		"ok.tf":   {Data: []byte(`resource "aws_s3_bucket" "b" { bucket = "b" }`)},
	}, Options{})
	if len(errs) != 1 || !errors.Is(errs[0].Err, ErrTooDeep) {
		t.Fatalf("errors = %v, want ErrTooDeep", errs)
	}
	// Brackets inside strings and comments do not count.
	fine := "# " + strings.Repeat("[", 100) + "\nlocals {\n  x = \"" + strings.Repeat("{", 100) + "\"\n}\n"
	if err := checkNesting([]byte(fine), maxNesting); err != nil {
		t.Errorf("checkNesting(strings and comments) = %v", err)
	}
	// Interpolations inside strings do.
	interp := `x = "` + strings.Repeat("${", 70) + `"`
	if err := checkNesting([]byte(interp), maxNesting); !errors.Is(err, ErrTooDeep) {
		t.Errorf("checkNesting(interpolations) = %v, want ErrTooDeep", err)
	}
}

func TestLimits(t *testing.T) {
	tests := []struct {
		name      string
		src       string
		wantCount int
		wantErr   bool
	}{
		{"count capped", `resource "aws_x" "a" { count = 5000 }`, maxInstances, true},
		{"for_each capped", `resource "aws_x" "a" { for_each = toset([for i in range(1024) : tostring(i)]) }`, maxInstances, true},
		{"unknown count", `resource "aws_x" "a" { count = var.n }
variable "n" {}`, 1, false},
		{"count zero", `resource "aws_x" "a" { count = 0 }`, 0, false},
		{"nested for budget", `locals { x = [for a in range(1024) : [for b in range(1024) : [for c in range(1024) : c]]] }
resource "aws_x" "a" { v = local.x }`, 1, true},
		{"format width", `resource "aws_x" "a" { v = format("%999999999d", 1) }`, 1, false},
		{"doubling locals", `locals {
  a = "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
  b = "${local.a}${local.a}${local.a}${local.a}${local.a}${local.a}${local.a}${local.a}"
  c = "${local.b}${local.b}${local.b}${local.b}${local.b}${local.b}${local.b}${local.b}"
  d = "${local.c}${local.c}${local.c}${local.c}${local.c}${local.c}${local.c}${local.c}"
  e = "${local.d}${local.d}${local.d}${local.d}${local.d}${local.d}${local.d}${local.d}"
  f = "${local.e}${local.e}${local.e}${local.e}${local.e}${local.e}${local.e}${local.e}"
  g = "${local.f}${local.f}${local.f}${local.f}${local.f}${local.f}${local.f}${local.f}"
}
resource "aws_x" "a" { v = local.g }`, 1, false},
		{"setproduct", `resource "aws_x" "a" { v = setproduct(range(1024), range(1024), range(1024)) }`, 1, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rs, errs := loadFS(t, fstest.MapFS{"main.tf": {Data: []byte(tt.src)}}, Options{})
			if len(rs) != tt.wantCount {
				t.Errorf("%d resources, want %d", len(rs), tt.wantCount)
			}
			if (len(errs) > 0) != tt.wantErr {
				t.Errorf("errors = %v, want error: %v", errs, tt.wantErr)
			}
			for _, r := range rs {
				if _, ok := r.Attrs["v"]; ok && tt.name != "unknown count" {
					t.Errorf("v should be unknown after a limit, got %.60v", r.Attrs["v"])
				}
			}
		})
	}
}

func TestModuleLimits(t *testing.T) {
	fsys := fstest.MapFS{
		// a calls b, b calls a: no root; both are still evaluated once each
		// as roots, and the cycle is reported.
		"a/main.tf": {Data: []byte(`module "b" { source = "../b" }
resource "aws_x" "a" {}`)},
		"b/main.tf": {Data: []byte(`module "a" { source = "../a" }
resource "aws_x" "b" {}`)},
	}
	rs, errs := loadFS(t, fsys, Options{})
	if len(rs) == 0 {
		t.Fatal("no resources from a module cycle")
	}
	found := false
	for _, e := range errs {
		found = found || strings.Contains(e.Error(), "cycle")
	}
	if !found {
		t.Errorf("errors = %v, want a cycle", errs)
	}

	// A chain of 15 modules stops at depth 10.
	deep := fstest.MapFS{}
	for i := range 15 {
		dir := "m" + strings.Repeat("/n", i)
		deep[dir+"/main.tf"] = &fstest.MapFile{Data: []byte(`module "n" { source = "./n" }
resource "aws_x" "r" {}`)}
	}
	rs, errs = loadFS(t, deep, Options{})
	if len(rs) != maxModuleDepth+1 {
		t.Errorf("%d resources, want %d", len(rs), maxModuleDepth+1)
	}
	if len(errs) != 1 || !strings.Contains(errs[0].Error(), "deeper") {
		t.Errorf("errors = %v, want one about depth", errs)
	}
}

func TestFunctions(t *testing.T) {
	tests := []struct {
		expr string
		want any
	}{
		{`cidrsubnet("10.0.0.0/16", 8, 2)`, "10.0.2.0/24"},
		{`cidrsubnet("fd00::/56", 8, 255)`, "fd00:0:0:ff::/64"},
		{`cidrhost("10.0.0.0/24", -2)`, "10.0.0.254"},
		{`cidrnetmask("172.16.0.0/12")`, "255.240.0.0"},
		{`cidrsubnets("10.1.0.0/16", 4, 4, 8, 4)`, []any{"10.1.0.0/20", "10.1.16.0/20", "10.1.32.0/24", "10.1.48.0/20"}},
		{`merge({a = 1}, {b = 2}, {a = 3})`, map[string]any{"a": int64(3), "b": int64(2)}},
		{`lookup({a = "x"}, "b", "dflt")`, "dflt"},
		{`format("%s-%03d", "web", 7)`, "web-007"},
		{`jsonencode({b = [1, "2"], a = true})`, `{"a":true,"b":[1,"2"]}`},
		{`jsondecode("{\"x\": 1.5}")`, map[string]any{"x": 1.5}},
		{`replace("a-b-c", "/-/", "_")`, "a_b_c"},
		{`length("héllo")`, int64(5)},
		{`concat(["a"], ["b"])`, []any{"a", "b"}},
		{`coalesce("", "x")`, "x"},
		{`element(["a", "b"], 3)`, "b"},
		{`flatten([["a"], ["b", ["c"]]])`, []any{"a", "b", "c"}},
		{`distinct(["a", "a", "b"])`, []any{"a", "b"}},
		{`keys({b = 1, a = 2})`, []any{"a", "b"}},
		{`contains(["a"], "a")`, true},
		{`base64decode(base64encode("hi"))`, "hi"},
		{`try(tonumber("x"), 4)`, int64(4)},
		{`can(tonumber("x"))`, false},
		{`upper(join(",", split(" ", "a b")))`, "A,B"},
		{`sha256("")`, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
		{`one([])`, nil},
		{`sum([1, 2.5])`, 3.5},
		{`startswith("arn:aws", "arn:")`, true},
		{`{ for k, v in {a = 1} : upper(k) => v * 2 }`, map[string]any{"A": int64(2)}},
		{`[{n = 1}, {n = 2}][*].n`, []any{int64(1), int64(2)}},
		{`true ? "y" : "n"`, "y"},
		{`timestamp()`, absent},
		{`uuid()`, absent},
	}
	var src strings.Builder
	for i, tt := range tests {
		src.WriteString("resource \"aws_x\" \"r" + string(rune('a'+i/26)) + string(rune('a'+i%26)) + "\" {\n  v = " + tt.expr + "\n}\n")
	}
	rs, errs := loadFS(t, fstest.MapFS{"main.tf": {Data: []byte(src.String())}}, Options{})
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	if len(rs) != len(tests) {
		t.Fatalf("%d resources, want %d", len(rs), len(tests))
	}
	for i, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			v, ok := rs[i].Attrs["v"]
			if tt.want == absent {
				if ok {
					t.Errorf("got %#v, want absent", v)
				}
				return
			}
			if diff := cmp.Diff(tt.want, v); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestPlan(t *testing.T) {
	got, errs := loadDir(t, "plan", Options{})
	if len(errs) > 0 {
		t.Fatalf("errors: %v", errs)
	}
	if diff := cmp.Diff([]string{"aws_s3_bucket.b", "module.net.aws_vpc.main"}, keys(got)); diff != "" {
		t.Fatalf("addresses (-want +got):\n%s", diff)
	}
	b := got["aws_s3_bucket.b"]
	want := iac.Resource{
		Source:   iac.SourceTerraformPlan,
		Type:     "aws_s3_bucket",
		Address:  "aws_s3_bucket.b",
		Location: iac.Location{File: "plan.json", Range: iac.Range{StartLine: 7, EndLine: 18}},
		Provider: "aws",
		Attrs: map[string]any{
			"bucket": "plan-bucket", "force_destroy": false,
			"tags": map[string]any{"Env": "prod"}, "versioning": []any{map[string]any{"enabled": true}},
		},
	}
	if diff := cmp.Diff(want, b); diff != "" {
		t.Errorf("plan resource (-want +got):\n%s", diff)
	}
	vpc := got["module.net.aws_vpc.main"]
	if diff := cmp.Diff(map[string]any{"cidr_block": "10.0.0.0/16", "instance_tenancy": int64(1), "ratio": 0.5}, vpc.Attrs); diff != "" {
		t.Errorf("after_unknown not applied (-want +got):\n%s", diff)
	}
	if vpc.Location.Range.StartLine != 31 {
		t.Errorf("vpc range = %v", vpc.Location.Range)
	}
}

func TestJSONConfig(t *testing.T) {
	got, errs := loadDir(t, "json", Options{})
	if len(errs) > 0 {
		t.Fatalf("errors: %v", errs)
	}
	checkAttrs(t, got, []attrCase{
		{"aws_s3_bucket.j[1]", "bucket", "json-1"},
		{"aws_s3_bucket.j[0]", "versioning.0.enabled", true},
	})
}

// TestAttrsShape checks every value is one the iac.Resource contract
// allows, through a JSON round trip of one resource as documentation.
func TestAttrsShape(t *testing.T) {
	got, _ := loadDir(t, "basic", Options{})
	for _, r := range got {
		if err := checkShape(r.Attrs, 0); err != nil {
			t.Errorf("%s: %v", r.Address, err)
		}
	}
	if _, err := json.Marshal(got["aws_security_group.web"]); err != nil {
		t.Fatal(err)
	}
}

func checkShape(v any, depth int) error {
	switch x := v.(type) {
	case nil, bool, int64, float64, string:
		return nil
	case []any:
		for _, e := range x {
			if err := checkShape(e, depth+1); err != nil {
				return err
			}
		}
		return nil
	case map[string]any:
		for _, e := range x {
			if err := checkShape(e, depth+1); err != nil {
				return err
			}
		}
		return nil
	}
	return errors.New("bad shape")
}

func TestIgnoresOtherFiles(t *testing.T) {
	rs, errs := loadFS(t, fstest.MapFS{
		"k8s.json":   {Data: []byte(`{"kind": "Pod", "format_version": "x"}`)},
		"README.md":  {Data: []byte("# module")},
		"x.tfvars":   {Data: []byte("not = valid = hcl")}, // not a root's variable file
		"values.yml": {Data: []byte("a: b")},
	}, Options{})
	if len(rs) != 0 || len(errs) != 0 {
		t.Errorf("got %d resources, errors %v", len(rs), errs)
	}
}

var _ fs.FS = fstest.MapFS{}

func TestProviderBlocks(t *testing.T) {
	got, errs := loadFS(t, fstest.MapFS{
		"main.tf": {Data: []byte(`variable "region" {
  default = "eu-west-1"
}

provider "aws" {
  region     = var.region
  access_key = "AKIAIOSFODNN7EXAMPLE"
}

provider "aws" {
  alias  = "us"
  region = "us-east-1"
}
`)},
		"p.tf.json": {Data: []byte(`{"provider": {"google": {"project": "demo"}}}`)},
	}, Options{})
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	m := byAddress(t, got)
	aws := m["provider.aws"]
	if aws.Type != "provider" || aws.Attrs["name"] != "aws" || aws.Attrs["region"] != "eu-west-1" || aws.Attrs["access_key"] != "AKIAIOSFODNN7EXAMPLE" {
		t.Errorf("provider.aws = %+v", aws)
	}
	if aws.Location.Range.StartLine != 5 || aws.Lines["access_key"].StartLine != 7 {
		t.Errorf("provider.aws lines: %+v %+v", aws.Location, aws.Lines)
	}
	if us := m["provider.aws.us"]; us.Attrs["region"] != "us-east-1" {
		t.Errorf("provider.aws.us = %+v", us)
	}
	if g := m["provider.google"]; g.Attrs["project"] != "demo" || g.Location.File != "p.tf.json" {
		t.Errorf("provider.google = %+v", g)
	}
}
