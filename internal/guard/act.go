package guard

import (
	"errors"
	"fmt"

	"github.com/vigil-sec/vigil/internal/detect"
	"github.com/vigil-sec/vigil/internal/respond"
	"github.com/vigil-sec/vigil/internal/sensor"
)

// act carries out the alert's action through the responder and returns
// its record; nil when the response is off, the rule only alerts or the
// event is outside actOn.
func (g *Guard) act(a *detect.Alert) *respond.Record {
	if g.resp == nil || a.Action == "" || a.Action == detect.ActionAlert {
		return nil
	}
	ev := &a.Event
	if g.actOn != nil && !g.actOn(ev) {
		return nil
	}
	var rec respond.Record
	var err error
	switch a.Action {
	case detect.ActionKill:
		rec, err = g.resp.Kill(ev.Process)
	case detect.ActionQuarantine:
		rec, err = g.quarantine(ev, "rule "+a.RuleID)
	case detect.ActionIsolate:
		if ev.Container == nil {
			rec, err = g.refuse(respond.ActionIsolate, fmt.Sprintf("pid %d (%s)", ev.Process.PID, ev.Process.Name),
				fmt.Errorf("isolate pid %d: %w: the host network is never isolated", ev.Process.PID, ErrNoContainer))
			break
		}
		rec, err = g.isolate(ev)
	default:
		rec, err = g.refuse(respond.Action(a.Action), "", fmt.Errorf("%w: %q", respond.ErrUnknownAction, a.Action))
	}
	g.st.count(&g.st.actions, string(rec.Action))
	if err != nil {
		g.st.count(&g.st.actionErrors, string(rec.Action))
	}
	return &rec
}

// isolate cuts the network of the event's container through the event's
// process, or — when that process is gone already, as a one-shot command
// soon is — through the container's first process, if that is still in the
// same mount namespace as the event's (the runtime's PID may be stale).
func (g *Guard) isolate(ev *sensor.Event) (respond.Record, error) {
	rec, err := g.resp.Isolate(respond.IsolateTarget{PID: ev.Process.PID, StartTime: ev.Process.StartTime, Container: ev.Container.ID})
	init := ev.Container.InitPID
	if !errors.Is(err, respond.ErrGone) || init <= 0 || ev.Process.MntNS == 0 || mountNSOf(fmt.Sprint(init)) != ev.Process.MntNS {
		return rec, err
	}
	rec2, err2 := g.resp.Isolate(respond.IsolateTarget{PID: init, Container: ev.Container.ID})
	if err2 == nil {
		rec2.Detail += fmt.Sprintf(" (through the container's first process: pid %d had exited)", ev.Process.PID)
	}
	return rec2, err2
}

// quarantine moves the event's file aside: the file it is about, or the
// executable of its process.
func (g *Guard) quarantine(ev *sensor.Event, reason string) (respond.Record, error) {
	path := ev.Process.Exe
	if ev.File != nil && ev.File.Path != "" {
		path = ev.File.Path
	}
	if path == "" {
		return g.refuse(respond.ActionQuarantine, "", fmt.Errorf("quarantine: %w", ErrNoTarget))
	}
	if ns := ev.Process.MntNS; ns != 0 && g.mntNS != 0 && ns != g.mntNS {
		return g.refuse(respond.ActionQuarantine, path,
			fmt.Errorf("quarantine %s: %w (mnt:[%d], the guard's is mnt:[%d])", path, ErrOtherMountNS, ns, g.mntNS))
	}
	return g.resp.Quarantine(path, reason)
}

// refuse is the record of an action the guard declines before asking the
// responder.
func (g *Guard) refuse(a respond.Action, target string, err error) (respond.Record, error) {
	return respond.Record{Action: a, Target: target, DryRun: g.resp.DryRun(), Time: g.now().UTC(), Err: err.Error()}, err
}
