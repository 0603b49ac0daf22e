// Package policy is Vigil's one policy engine for posture checks: rules
// with stable ids and metadata whose conditions are CEL expressions over
// typed resources (internal/iac today; live clusters, admission requests
// and cloud accounts later, through the same Resource shape).
//
// Rule evaluation sits behind the Evaluator interface; the CEL engine
// (engine.go) is its one implementation. Why CEL and not Rego is written
// down in docs/policy.md. The built-in library lives in rules/ (embedded);
// users add rule directories of the same format. Every rule carries its
// own tests (positive and negative fixtures), which RunTests executes with
// the loaders the caller passes in, so this package imports no format
// parser. Nothing here logs.
package policy
