// Package terraform reads Terraform configuration into iac.Resources with
// their attributes evaluated as far as the configuration alone allows.
//
// It owns two formats: HCL modules (.tf, .tf.json, with .tfvars and
// .tfvars.json variable files) and plan JSON (`terraform show -json`
// output). Modules are directories; the root modules of a scan are the
// directories no other scanned module calls as a local source. Each root is
// evaluated with its variables, locals, local module calls, count, for_each,
// dynamic blocks and the pure Terraform functions. What cannot be known
// without running Terraform (computed attributes, data sources, remote
// modules, unset variables) is left out of Attrs, never guessed.
//
// Everything read is treated as hostile: nesting, instance counts, module
// depth, function results and the total evaluation work are bounded, and
// files are read only through iac.Input. The package does not log.
//
// Imported by the scan command's loader list; it imports iac and the HCL and
// cty libraries only.
package terraform
