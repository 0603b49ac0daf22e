// Package respond carries out the response actions a runtime rule may ask
// for once it has fired: kill the offending process, move a file into
// quarantine (restorably), or cut a container off the network by installing
// an nftables table inside its network namespace. Alerting alone needs no
// action and is represented only by ActionAlert.
//
// Every action returns a Record of what was done — or, with Options.DryRun,
// of what would have been done; a dry-run Responder reads /proc and the
// file system to say so but changes nothing.
//
// Actions are guarded against the mistakes an automated responder can make:
// a process is identified by its PID and start time and signalled through a
// pidfd, so a reused PID is never killed; PID 1, the responder itself and
// its ancestors are never killed; only regular files outside /proc, /sys and
// /dev are quarantined; the host's own network namespace is never isolated.
// See docs/response.md.
//
// The package does not log. It is imported by the agent (internal/agent)
// and its commands; it must not import the server, the store or the console.
// It needs Linux and, for most targets, root.
package respond
