package respond

import (
	"errors"
	"fmt"
	"time"
)

// Action is what a rule asks the responder to do.
type Action string

// The actions. ActionAlert is the default: raise the alert, touch nothing.
const (
	ActionAlert      Action = "alert"
	ActionKill       Action = "kill"
	ActionQuarantine Action = "quarantine"
	ActionRestore    Action = "restore"
	ActionIsolate    Action = "isolate"
	ActionUnisolate  Action = "unisolate"
)

// ParseAction accepts the actions a rule file may name: "alert" (or ""),
// "kill", "quarantine" and "isolate".
func ParseAction(s string) (Action, error) {
	switch a := Action(s); a {
	case "":
		return ActionAlert, nil
	case ActionAlert, ActionKill, ActionQuarantine, ActionIsolate:
		return a, nil
	}
	return "", fmt.Errorf("%w: %q (want alert, kill, quarantine or isolate)", ErrUnknownAction, s)
}

// Errors. Refusals wrap one of these, so callers can tell a safety check
// from a system failure with errors.Is.
var (
	ErrUnknownAction = errors.New("unknown response action")
	// ErrProtected: the process is PID 1, the responder, one of its
	// ancestors or a kernel thread.
	ErrProtected = errors.New("protected process")
	// ErrIdentity: the process at that PID is not the one the event was
	// about (its start time differs, or no start time was given).
	ErrIdentity = errors.New("process identity mismatch")
	// ErrGone: no process has that PID any more.
	ErrGone = errors.New("process gone")
	// ErrForbiddenPath: the path is relative, under /proc, /sys or /dev,
	// or inside the quarantine directory.
	ErrForbiddenPath = errors.New("path not allowed")
	// ErrNotRegular: the path is a directory, device, FIFO, socket or
	// symbolic link.
	ErrNotRegular = errors.New("not a regular file")
	// ErrExists: Restore found a file at the original path.
	ErrExists = errors.New("original path exists")
	// ErrNotFound: no quarantined file has that id.
	ErrNotFound = errors.New("not in quarantine")
	// ErrCorrupt: a sidecar is malformed, or the stored content no longer
	// matches its SHA-256.
	ErrCorrupt = errors.New("quarantine entry corrupt")
	// ErrHostNetwork: the target shares the responder's (the host's)
	// network namespace.
	ErrHostNetwork = errors.New("target is in the host network namespace")
	// ErrDryRun: an operator action (Restore) was asked of a dry-run
	// Responder; nothing was changed.
	ErrDryRun = errors.New("dry run: nothing changed")
)

// Record says what an action did or, in dry-run, would have done.
type Record struct {
	Action Action `json:"action"`
	// Target names what was acted on: "pid 123 (sleep)", a path, a
	// quarantine id, "netns of pid 123".
	Target string    `json:"target"`
	DryRun bool      `json:"dryRun,omitempty"`
	Time   time.Time `json:"time"`
	// Detail says what was (or would be) done.
	Detail string `json:"detail,omitempty"`
	// Err is the error's text when the action failed or was refused.
	Err string `json:"error,omitempty"`
}

// DefaultQuarantineDir is where quarantined files go unless
// Options.QuarantineDir says otherwise.
const DefaultQuarantineDir = "/var/lib/vigil-agent/quarantine"

// Options configure a Responder. The zero value acts for real, with the
// default quarantine directory and the wall clock.
type Options struct {
	// DryRun makes every action report what it would do and do nothing.
	DryRun bool
	// QuarantineDir holds quarantined files and their sidecars. It is
	// created 0700 and must be owned by the responder's user.
	QuarantineDir string
	// Now stamps records and sidecars; time.Now when nil.
	Now func() time.Time
}

// Responder carries out response actions. It is safe for concurrent use.
type Responder struct {
	dryRun bool
	qdir   string
	now    func() time.Time
}

// New returns a Responder.
func New(opts Options) *Responder {
	r := &Responder{dryRun: opts.DryRun, qdir: opts.QuarantineDir, now: opts.Now}
	if r.qdir == "" {
		r.qdir = DefaultQuarantineDir
	}
	if r.now == nil {
		r.now = time.Now
	}
	return r
}

// DryRun reports whether r only records what it would do.
func (r *Responder) DryRun() bool { return r.dryRun }

func (r *Responder) record(a Action, target string) Record {
	return Record{Action: a, Target: target, DryRun: r.dryRun, Time: r.now().UTC()}
}

// fail fills rec.Err and returns rec with err.
func fail(rec Record, err error) (Record, error) {
	rec.Err = err.Error()
	return rec, err
}
