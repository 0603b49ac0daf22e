// Package detect judges runtime events (internal/sensor.Event) against
// rules and raises alerts.
//
// Rules are YAML files (docs/runtime-rules.md): reusable lists and
// macros, and rules whose conditions and exceptions are CEL expressions
// over the event's process, ancestry, container, file, network,
// credential, mount and target. Every expression is expanded (macros and
// lists inlined) and compiled once; the Engine indexes rules by event
// kind and evaluates each with a cost limit, over CEL values that wrap the
// sensor's structs directly (no JSON on the hot path). Rules carry their
// own fixtures, which RunTests executes. The built-in library lives in
// rules/ (embedded). Watch reloads a rule directory on change and keeps
// the rules in force when an edit does not compile. JSONLog is the
// size-bounded, rotated JSON-lines alert log (internal/guard's sinks write
// through it).
//
// The agent imports this package; it imports only internal/sensor and
// internal/finding of Vigil. Nothing here logs: evaluation errors are
// counted per rule (Engine.EvalErrors) and reload errors handed to the
// caller.
package detect
