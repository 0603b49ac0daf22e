// Package iac is the common model of infrastructure-as-code that every
// configuration parser produces and the policy engine judges: a Resource is
// one thing a file declares (a Terraform resource, a Kubernetes object, a
// Dockerfile, a compose service, a CloudFormation resource) with its
// evaluated attributes and where it was written.
//
// The format packages (iac/terraform, iac/kube, iac/docker,
// iac/cloudformation) import iac; iac imports none of them. Scan (scan.go)
// walks a directory tree and hands the files to every registered Loader.
// Nothing here logs; per-file problems are returned as FileErrors and the
// rest of the scan goes on.
package iac
