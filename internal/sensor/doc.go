// Package sensor sees what happens on a host as it happens: process exec,
// fork and exit, network connections, file actions on watched paths,
// privilege changes and kernel-facing calls, from eBPF programs attached
// to tracepoints (CO-RE against the kernel's BTF; system calls through the
// raw sys_enter/sys_exit tracepoints and a table of programs by syscall
// number), or from the process connector and /proc when eBPF is
// unavailable (degraded mode, reported as such). docs/sensor.md describes the hooks and limits.
//
// Its product is the Event (event.go): typed, enriched with the process
// and its ancestry (a bounded process cache) and the container, image and
// Kubernetes pod it runs in. internal/detect judges Events against rules;
// internal/respond acts on them. The agent links this package; the server
// never does. Nothing here logs: counters (ring-buffer drops, decode
// errors) are exposed as metrics by the caller.
package sensor
