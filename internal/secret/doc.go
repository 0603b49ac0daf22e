// Package secret finds leaked credentials — cloud access keys, tokens,
// private keys, passwords in connection strings — in bytes from any source:
// working trees, archives, every blob of a git history, every layer of a
// container image (files deleted later included).
//
// Detection runs in two stages so that no regular expression ever scans a
// whole file: an Aho-Corasick pass finds each rule's keywords, and only the
// lines around a hit are handed to that rule's expression. Findings carry a
// redacted form and a stable fingerprint, never the secret itself.
//
// Imported by the CLI (and later the agent and server). It does not log:
// whatever it would say could contain a secret.
package secret
