// Package auth owns how the server's API tells who is calling and what they
// may do: argon2id password hashes and the password policy, bearer tokens
// (vgl_<kind>_<secret>, of which only the SHA-256 is stored), login
// throttling, and roles capped by token scopes (Principal).
//
// It depends only on package store (for its types) and is imported by the
// API (internal/api) and the server's bootstrap. It does not log.
package auth
