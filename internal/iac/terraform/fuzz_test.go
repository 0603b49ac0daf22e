package terraform

import (
	"context"
	"os"
	"testing"
	"testing/fstest"
	"time"

	"github.com/vigil-sec/vigil/internal/iac"
)

func FuzzLoadHCL(f *testing.F) {
	for _, name := range []string{"testdata/basic/main.tf", "testdata/modules/main.tf", "testdata/malformed/bad.tf", "testdata/files/app/main.tf"} {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`resource "a_b" "c" { dynamic "x" { for_each = [1] content { y = x.value } } }`))
	f.Add([]byte(`locals { a = [for i in range(3) : "${i}%{ if i > 1 }!%{ endif }"] }`))
	f.Add([]byte(`module "m" { source = "./" count = 2 }`))
	f.Fuzz(func(t *testing.T, src []byte) {
		fsys := fstest.MapFS{
			"main.tf":          {Data: src},
			"t.tpl":            {Data: []byte("${x}")},
			"m/main.tf":        {Data: []byte(`variable "v" {} output "o" { value = var.v }`)},
			"terraform.tfvars": {Data: []byte(`v = 1`)},
		}
		in := &iac.Input{FS: fsys, Files: []string{"m/main.tf", "main.tf", "t.tpl", "terraform.tfvars"}}
		start := time.Now()
		rs, _ := New(Options{}).Load(context.Background(), in)
		if d := time.Since(start); d > 10*time.Second {
			t.Fatalf("slow input: %v", d)
		}
		for _, r := range rs {
			if err := checkShape(r.Attrs, 0); err != nil {
				t.Fatalf("%s: %v", r.Address, err)
			}
		}
	})
}

func FuzzPlan(f *testing.F) {
	b, err := os.ReadFile("testdata/plan/plan.json")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Add([]byte(`{"format_version":"1.0","resource_changes":[{"address":"a.b","mode":"managed","type":"a","change":{"after":{"x":1},"after_unknown":{"x":true}}}]}`))
	f.Fuzz(func(t *testing.T, src []byte) {
		in := &iac.Input{FS: fstest.MapFS{"plan.json": {Data: src}}, Files: []string{"plan.json"}}
		rs, _ := New(Options{}).Load(context.Background(), in)
		for _, r := range rs {
			if err := checkShape(r.Attrs, 0); err != nil {
				t.Fatalf("%s: %v", r.Address, err)
			}
			if r.Location.Range.StartLine < 1 || r.Location.Range.EndLine < r.Location.Range.StartLine {
				t.Fatalf("bad range %v", r.Location.Range)
			}
		}
	})
}
