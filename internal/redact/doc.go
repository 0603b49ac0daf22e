// Package redact keeps secrets out of logs: a slog.Handler placed in front
// of every sink runs the secret scanner over each record's message and
// string attributes and replaces what it finds with the redacted form
// ("LTAI5t…(24)") before the record reaches the sink.
//
// Imported by the CLI (and later the agent and server) where loggers are
// built. It depends only on package secret.
package redact
