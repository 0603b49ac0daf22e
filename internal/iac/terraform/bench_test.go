package terraform

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"testing/fstest"

	"github.com/vigil-sec/vigil/internal/iac"
)

// benchCorpus generates roots modules of files files each, every root
// calling a shared local module with for_each, plus variables, locals,
// dynamic blocks and references.
func benchCorpus(roots, files int) *iac.Input {
	fsys := fstest.MapFS{
		"shared/main.tf": {Data: []byte(`
variable "name" { type = string }
variable "rules" { default = [] }
resource "aws_security_group" "this" {
  name = var.name
  dynamic "ingress" {
    for_each = var.rules
    content {
      from_port   = ingress.value
      to_port     = ingress.value
      cidr_blocks = ["0.0.0.0/0"]
    }
  }
}
output "id" { value = aws_security_group.this.name }
`)},
	}
	for r := range roots {
		for f := range files {
			fsys[fmt.Sprintf("root%04d/f%d.tf", r, f)] = &fstest.MapFile{Data: []byte(fmt.Sprintf(`
variable "env%[1]d" { default = "prod" }
locals {
  name%[1]d = "svc-%[1]d-${var.env%[1]d}"
  tags%[1]d = merge({ Env = var.env%[1]d }, { Name = local.name%[1]d })
}
resource "aws_s3_bucket" "b%[1]d" {
  for_each = toset(["a", "b", "c"])
  bucket   = "${local.name%[1]d}-${each.key}"
  tags     = local.tags%[1]d
  versioning { enabled = true }
}
resource "aws_s3_bucket_public_access_block" "p%[1]d" {
  count  = 2
  bucket = aws_s3_bucket.b%[1]d["a"].bucket
  block_public_acls = count.index == 0
}
module "sg%[1]d" {
  source   = "../shared"
  for_each = { web = [80, 443], ssh = [22] }
  name     = "${local.name%[1]d}-${each.key}"
  rules    = each.value
}
resource "aws_instance" "i%[1]d" {
  ami             = "ami-123"
  security_groups = [for m in module.sg%[1]d : m.id]
  subnet          = cidrsubnet("10.0.0.0/16", 8, %[1]d)
}
`, f))}
		}
	}
	var names []string
	for n := range fsys {
		names = append(names, n)
	}
	slices.Sort(names)
	return &iac.Input{FS: fsys, Files: names}
}

func BenchmarkLoad(b *testing.B) {
	in := benchCorpus(200, 5)
	l := New(Options{})
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		rs, errs := l.Load(context.Background(), in)
		if len(errs) > 0 || len(rs) != 200*5*(3+2+2+1) {
			b.Fatalf("%d resources, errors %v", len(rs), errs)
		}
	}
	b.ReportMetric(float64(len(in.Files))*float64(b.N)/b.Elapsed().Seconds(), "files/s")
}
