package main

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
)

// The Terraform corpus: two local modules and as many "stacks" (root
// modules) as the file count asks, five files each. Stacks use variables
// with tfvars, locals, a module called with for_each, a dynamic block,
// count and functions, and carry a seeded mix of secure and insecure
// settings, so every tool has to evaluate to judge them.

const bucketModule = `variable "name" {
  type = string
}

variable "public" {
  type    = bool
  default = false
}

variable "tags" {
  type    = map(string)
  default = {}
}
`

const bucketModuleMain = `resource "aws_s3_bucket" "this" {
  bucket = var.name
  tags   = merge(var.tags, { Module = "bucket" })
}

resource "aws_s3_bucket_acl" "this" {
  bucket = aws_s3_bucket.this.id
  acl    = var.public ? "public-read" : "private"
}

resource "aws_s3_bucket_versioning" "this" {
  bucket = aws_s3_bucket.this.id
  versioning_configuration {
    status = var.public ? "Suspended" : "Enabled"
  }
}
`

const bucketModuleOutputs = `output "id" {
  value = aws_s3_bucket.this.id
}

output "arn" {
  value = aws_s3_bucket.this.arn
}
`

const networkModuleVars = `variable "cidr" {
  type = string
}

variable "open_ports" {
  type    = list(number)
  default = []
}
`

const networkModuleMain = `resource "aws_vpc" "this" {
  cidr_block           = var.cidr
  enable_dns_hostnames = true
}

resource "aws_subnet" "private" {
  count      = 2
  vpc_id     = aws_vpc.this.id
  cidr_block = cidrsubnet(var.cidr, 8, count.index)
}

resource "aws_security_group" "edge" {
  name        = "edge"
  description = "edge traffic"
  vpc_id      = aws_vpc.this.id

  dynamic "ingress" {
    for_each = var.open_ports
    content {
      description = "port ${ingress.value}"
      from_port   = ingress.value
      to_port     = ingress.value
      protocol    = "tcp"
      cidr_blocks = ["0.0.0.0/0"]
    }
  }

  egress {
    from_port   = 0
    to_port     = 0
    protocol    = "-1"
    cidr_blocks = ["0.0.0.0/0"]
  }
}
`

func writeFile(path, content string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, []byte(content), 0o644)
}

func genTerraform(out string, files int, seed uint64) error {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	mods := map[string]string{
		"modules/bucket/variables.tf":  bucketModule,
		"modules/bucket/main.tf":       bucketModuleMain,
		"modules/bucket/outputs.tf":    bucketModuleOutputs,
		"modules/network/variables.tf": networkModuleVars,
		"modules/network/main.tf":      networkModuleMain,
	}
	for p, c := range mods {
		if err := writeFile(filepath.Join(out, p), c); err != nil {
			return err
		}
	}
	stacks := max(1, (files-len(mods))/5)
	for i := range stacks {
		dir := filepath.Join(out, "stacks", fmt.Sprintf("s%05d", i))
		for name, content := range stackFiles(i, r) {
			if err := writeFile(filepath.Join(dir, name), content); err != nil {
				return err
			}
		}
	}
	return nil
}

func pick[T any](r *rand.Rand, xs ...T) T { return xs[r.IntN(len(xs))] }

func stackFiles(i int, r *rand.Rand) map[string]string {
	env := pick(r, "prod", "staging", "dev")
	nb := 1 + r.IntN(3)
	var names []string
	for b := range nb {
		names = append(names, fmt.Sprintf("%q", fmt.Sprintf("s%05d-data-%d", i, b)))
	}
	ports := pick(r, "[]", "[443]", "[22]", "[22, 3389]", "[5432]", "[80, 443]")
	public := pick(r, "false", "false", "true")
	imds := pick(r, "required", "required", "optional")
	encrypted := pick(r, "true", "true", "false")
	dbPublic := pick(r, "false", "false", "true")

	vars := fmt.Sprintf(`variable "env" {
  type    = string
  default = "dev"
}

variable "bucket_names" {
  type = list(string)
}

variable "public_buckets" {
  type    = bool
  default = false
}

variable "open_ports" {
  type    = list(number)
  default = []
}

variable "instance_count" {
  type    = number
  default = 1
}

variable "db_public" {
  type    = bool
  default = false
}

variable "kms_key_id" {
  type    = string
  default = null
}
`)
	tfvars := fmt.Sprintf(`env            = %q
bucket_names   = [%s]
public_buckets = %s
open_ports     = %s
instance_count = %d
db_public      = %s
`, env, strings.Join(names, ", "), public, ports, 1+r.IntN(2), dbPublic)

	main := fmt.Sprintf(`locals {
  name = "stack-%05d-${var.env}"
  tags = {
    Stack       = local.name
    Environment = var.env
    Owner       = "team-%d"
  }
}

module "buckets" {
  source   = "../../modules/bucket"
  for_each = toset(var.bucket_names)
  name     = each.value
  public   = var.public_buckets
  tags     = local.tags
}

resource "aws_s3_bucket" "logs" {
  bucket = "${local.name}-logs"
  tags   = local.tags
}

resource "aws_s3_bucket_public_access_block" "logs" {
  bucket                  = aws_s3_bucket.logs.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = %s
}

resource "aws_cloudtrail" "main" {
  name                          = "${local.name}-trail"
  s3_bucket_name                = aws_s3_bucket.logs.id
  is_multi_region_trail         = %s
  enable_log_file_validation    = %s
  include_global_service_events = true
}
`, i, i%17, pick(r, "true", "false"), pick(r, "true", "false"), pick(r, "true", "true", "false"))

	net := fmt.Sprintf(`module "network" {
  source     = "../../modules/network"
  cidr       = "10.%d.0.0/16"
  open_ports = var.open_ports
}

resource "aws_security_group" "admin" {
  name        = "${local.name}-admin"
  description = "administration"

  ingress {
    description = "ssh"
    from_port   = 22
    to_port     = 22
    protocol    = "tcp"
    cidr_blocks = [%s]
  }
}
`, i%250, pick(r, `"10.0.0.0/8"`, `"10.0.0.0/8"`, `"0.0.0.0/0"`))

	compute := fmt.Sprintf(`resource "aws_instance" "app" {
  count         = var.instance_count
  ami           = "ami-0abcdef%07d"
  instance_type = lookup({ prod = "m5.large", staging = "t3.medium" }, var.env, "t3.micro")

  metadata_options {
    http_endpoint = "enabled"
    http_tokens   = %q
  }

  root_block_device {
    encrypted   = %s
    volume_size = 20
  }

  tags = merge(local.tags, { Name = "${local.name}-app-${count.index}" })
}

resource "aws_ebs_volume" "data" {
  availability_zone = "eu-west-1a"
  size              = 100
  encrypted         = %s
  kms_key_id        = var.kms_key_id
}

resource "aws_db_instance" "db" {
  identifier              = "${local.name}-db"
  engine                  = "postgres"
  instance_class          = "db.t3.micro"
  allocated_storage       = 20
  publicly_accessible     = var.db_public
  storage_encrypted       = %s
  backup_retention_period = %d
  deletion_protection     = var.env == "prod"
  username                = "app"
  manage_master_user_password = true
}
`, i, imds, encrypted, encrypted, pick(r, "true", "true", "false"), pick(r, 0, 7, 14))

	return map[string]string{
		"variables.tf":     vars,
		"terraform.tfvars": tfvars,
		"main.tf":          main,
		"network.tf":       net,
		"compute.tf":       compute,
	}
}

// The Kubernetes corpus: one manifest per file, a mix of workloads,
// services, RBAC and network policies with seeded good and bad settings.
func genKubernetes(out string, files int, seed uint64) error {
	r := rand.New(rand.NewPCG(seed, seed^0x51ed2701a4c3f5b9))
	for i := range files {
		var doc string
		switch i % 10 {
		case 0, 1, 2, 3:
			doc = deployment(i, r)
		case 4, 5:
			doc = service(i, r)
		case 6:
			doc = daemonset(i, r)
		case 7:
			doc = cronjob(i, r)
		case 8:
			doc = role(i, r)
		default:
			doc = netpol(i, r)
		}
		if err := writeFile(filepath.Join(out, fmt.Sprintf("ns%03d", i%200), fmt.Sprintf("m%05d.yaml", i)), doc); err != nil {
			return err
		}
	}
	return nil
}

func securityContext(r *rand.Rand, indent string) string {
	switch r.IntN(4) {
	case 0:
		return indent + "securityContext:\n" + indent + "  privileged: true\n"
	case 1:
		return indent + "securityContext:\n" + indent + "  allowPrivilegeEscalation: true\n" + indent + "  capabilities:\n" + indent + "    add: [\"SYS_ADMIN\"]\n"
	default:
		return indent + "securityContext:\n" + indent + "  allowPrivilegeEscalation: false\n" + indent + "  runAsNonRoot: true\n" + indent + "  readOnlyRootFilesystem: true\n" + indent + "  capabilities:\n" + indent + "    drop: [\"ALL\"]\n" + indent + "  seccompProfile:\n" + indent + "    type: RuntimeDefault\n"
	}
}

func resources(r *rand.Rand, indent string) string {
	if r.IntN(3) == 0 {
		return ""
	}
	return indent + "resources:\n" + indent + "  limits: {cpu: 500m, memory: 256Mi}\n" + indent + "  requests: {cpu: 100m, memory: 128Mi}\n"
}

func image(r *rand.Rand) string {
	return pick(r, "nginx:1.25.3", "nginx:latest", "redis", "ghcr.io/acme/api:2.4.1", "busybox:1.36")
}

func deployment(i int, r *rand.Rand) string {
	hostNet := ""
	if r.IntN(8) == 0 {
		hostNet = "      hostNetwork: true\n"
	}
	vol := ""
	if r.IntN(10) == 0 {
		vol = "      volumes:\n        - name: docker\n          hostPath: {path: /var/run/docker.sock}\n"
	}
	return fmt.Sprintf(`apiVersion: apps/v1
kind: Deployment
metadata:
  name: app-%d
  namespace: ns%03d
  labels: {app: app-%d}
spec:
  replicas: %d
  selector:
    matchLabels: {app: app-%d}
  template:
    metadata:
      labels: {app: app-%d}
    spec:
%s      containers:
        - name: main
          image: %s
          ports:
            - containerPort: 8080
%s%s          env:
            - name: LOG_LEVEL
              value: info
%s`, i, i%200, i, 1+r.IntN(3), i, i, hostNet, image(r), securityContext(r, "          "), resources(r, "          "), vol)
}

func service(i int, r *rand.Rand) string {
	typ := pick(r, "ClusterIP", "ClusterIP", "NodePort", "LoadBalancer")
	return fmt.Sprintf(`apiVersion: v1
kind: Service
metadata:
  name: svc-%d
  namespace: ns%03d
spec:
  type: %s
  selector: {app: app-%d}
  ports:
    - port: 80
      targetPort: 8080
`, i, i%200, typ, i-4)
}

func daemonset(i int, r *rand.Rand) string {
	return fmt.Sprintf(`apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: agent-%d
  namespace: ns%03d
spec:
  selector:
    matchLabels: {app: agent-%d}
  template:
    metadata:
      labels: {app: agent-%d}
    spec:
      hostPID: %v
      containers:
        - name: agent
          image: %s
%s%s          volumeMounts:
            - {name: root, mountPath: /host, readOnly: true}
      volumes:
        - name: root
          hostPath: {path: /}
`, i, i%200, i, i, r.IntN(2) == 0, image(r), securityContext(r, "          "), resources(r, "          "))
}

func cronjob(i int, r *rand.Rand) string {
	return fmt.Sprintf(`apiVersion: batch/v1
kind: CronJob
metadata:
  name: job-%d
  namespace: ns%03d
spec:
  schedule: "0 3 * * *"
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: OnFailure
          containers:
            - name: job
              image: %s
              command: ["sh", "-c", "backup"]
%s%s`, i, i%200, image(r), securityContext(r, "              "), resources(r, "              "))
}

func role(i int, r *rand.Rand) string {
	rules := pick(r,
		"  - apiGroups: [\"\"]\n    resources: [\"pods\"]\n    verbs: [\"get\", \"list\"]\n",
		"  - apiGroups: [\"*\"]\n    resources: [\"*\"]\n    verbs: [\"*\"]\n",
		"  - apiGroups: [\"\"]\n    resources: [\"secrets\"]\n    verbs: [\"get\", \"list\", \"watch\"]\n",
	)
	kind := pick(r, "Role", "ClusterRole")
	ns := ""
	if kind == "Role" {
		ns = fmt.Sprintf("  namespace: ns%03d\n", i%200)
	}
	return fmt.Sprintf("apiVersion: rbac.authorization.k8s.io/v1\nkind: %s\nmetadata:\n  name: role-%d\n%srules:\n%s", kind, i, ns, rules)
}

func netpol(i int, r *rand.Rand) string {
	return fmt.Sprintf(`apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: default-deny-%d
  namespace: ns%03d
spec:
  podSelector: {}
  policyTypes: [Ingress]
`, i, i%200)
}
