// Package kube reads Kubernetes configuration into the common IaC model:
// plain manifests (YAML or JSON, multi-document, List kinds flattened),
// Helm charts rendered offline with their values, and Kustomize overlays
// built in memory. Each object becomes one iac.Resource whose Attrs is the
// whole object, so that policies see exactly what would reach the API
// server.
//
// Loader implements iac.Loader; the scan command registers it next to the
// other format loaders. Only cmd/ wiring and tests should import this
// package: the policy engine works on iac.Resource and needs nothing here.
//
// Lines and ranges: a plain manifest's are its own. A Helm resource's are
// lines of the template's rendered output (exact where directives expand
// in place, shifted otherwise). A Kustomize resource's are those of the
// document it came from (found by kind and name in the origin file), so a
// value a patch changed points at the base's line for that path.
//
// Nothing here touches the network or the disk outside the scanned file
// set: charts are loaded from the scan's files, kustomizations are built on
// an in-memory file system, and remote Kustomize bases are refused.
package kube
