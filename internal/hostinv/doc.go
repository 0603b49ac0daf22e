// Package hostinv takes a read-only inventory of a running Linux machine for
// the host agent: operating system and kernel, processes, listening ports,
// users and groups, sudo rules, cron jobs, systemd services and kernel
// modules. Installed software packages, cloud identity and containers are
// inventoried elsewhere.
//
// Everything is read below a configurable root (default "/") and its proc
// directory, so the same code inventories the host it runs on, a host
// filesystem mounted into a container, or a fake tree in a test. Symbolic
// links under the root resolve as if the root were "/" and never leave it.
// Every read is bounded; a source that cannot be read becomes a [Problem] in
// the [Snapshot] and collection goes on. The package does not log.
//
// It imports only the standard library so that it stays small in the agent
// binary; the agent (cmd/vigil-agent and its internal packages) imports it.
package hostinv
