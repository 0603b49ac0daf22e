// Package api serves the server's REST API under /api/v1: sign-in and
// sessions, users and API tokens, enrollment tokens, agents, assets,
// packages, findings, vulnerabilities, events and the audit log, with the
// OpenAPI document generated from the same route table that registers the
// handlers.
//
// Every route is declared once in that table with the access it needs
// (public, any signed-in principal, or a role with the matching token
// scope); New refuses a route without one, and unknown paths under /api/v1
// answer only after authentication. Every change is written to the audit
// log.
//
// It is imported by the server's main; it depends on internal/auth and
// internal/store.
package api
