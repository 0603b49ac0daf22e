package notify

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/vigil-sec/vigil/internal/finding"
	"github.com/vigil-sec/vigil/internal/store"
)

// Store is what the Dispatcher reads and records.
type Store interface {
	ListChannels(ctx context.Context, o store.ListOptions) (store.Page[store.Channel], error)
	ListFindings(ctx context.Context, o store.ListOptions) (store.Page[store.Finding], error)
	Asset(ctx context.Context, id string) (store.Asset, error)
	RecordDelivery(ctx context.Context, id int64, at time.Time, errText string) error
}

// Dispatcher sends notifications for the server: Assessed and Events
// queue work without blocking (a full queue drops it, counted in
// Dropped), Run sends it.
type Dispatcher struct {
	st    Store
	send  *Sender
	log   *slog.Logger
	now   func() time.Time
	queue chan func(context.Context)
	// Dropped counts work dropped on a full queue.
	Dropped func()
}

// queueSize bounds the work waiting to be sent.
const queueSize = 256

// maxListed bounds the findings one message lists.
const maxListed = 10

// NewDispatcher returns a Dispatcher sending with s.
func NewDispatcher(st Store, s *Sender, log *slog.Logger) *Dispatcher {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Dispatcher{st: st, send: s, log: log, now: s.o.Now, queue: make(chan func(context.Context), queueSize), Dropped: func() {}}
}

// Run sends queued notifications until ctx ends.
func (d *Dispatcher) Run(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case job := <-d.queue:
			job(ctx)
		}
	}
}

func (d *Dispatcher) enqueue(job func(context.Context)) {
	select {
	case d.queue <- job:
	default:
		d.Dropped()
		d.log.Warn("notification queue full; dropped a notification")
	}
}

// Assessed is called after an assessment of an asset: when it found new
// or reopened findings, every enabled channel whose minimum severity they
// reach gets one message listing them.
func (d *Dispatcher) Assessed(assetID string, sync store.FindingsSync) {
	if sync.New+sync.Reopened == 0 {
		return
	}
	d.enqueue(func(ctx context.Context) { d.findings(ctx, assetID) })
}

// Events is called with events the server recorded; agent.silent events
// go to every enabled channel whose minimum severity they reach.
func (d *Dispatcher) Events(evs []store.Event) {
	for _, e := range evs {
		if e.Kind != EventSilent {
			continue
		}
		d.enqueue(func(ctx context.Context) { d.silent(ctx, e) })
	}
}

// Test sends a test message (text, or a standard one when empty) to one
// channel now and records the outcome.
func (d *Dispatcher) Test(ctx context.Context, ch store.Channel, text string) error {
	if text == "" {
		text = fmt.Sprintf("This is a test of the notification channel %q. If you can read it, the channel works.", ch.Name)
	}
	m := Message{Event: EventTest, Severity: "info", Title: "Vigil test notification", Text: text, Time: d.now()}
	return d.deliver(ctx, ch, m)
}

// deliver sends m to ch and records the outcome.
func (d *Dispatcher) deliver(ctx context.Context, ch store.Channel, m Message) error {
	err := d.send.Send(ctx, ch.Kind, ch.Config, m)
	errText := ""
	if err != nil {
		errText = err.Error()
	}
	if rerr := d.st.RecordDelivery(ctx, ch.ID, d.now(), errText); rerr != nil {
		d.log.Error("recording a delivery", "channel", ch.ID, "err", rerr)
	}
	return err
}

// channels returns the enabled channels.
func (d *Dispatcher) channels(ctx context.Context) ([]store.Channel, error) {
	var all []store.Channel
	o := store.ListOptions{Filter: map[string]string{"enabled": "true"}, Limit: 1000}
	for {
		p, err := d.st.ListChannels(ctx, o)
		if err != nil {
			return nil, err
		}
		all = append(all, p.Items...)
		if p.Next == "" {
			return all, nil
		}
		o.Cursor = p.Next
	}
}

// rank is a severity's rank (unknown: 0).
func rank(sev string) int {
	s, err := finding.ParseSeverity(sev)
	if err != nil {
		return 0
	}
	return int(s)
}

func (d *Dispatcher) findings(ctx context.Context, assetID string) {
	chs, err := d.channels(ctx)
	if err != nil || len(chs) == 0 {
		if err != nil {
			d.log.Error("notification channels", "err", err)
		}
		return
	}
	// The findings this assessment made new or reopened, riskiest first.
	p, err := d.st.ListFindings(ctx, store.ListOptions{
		Filter: map[string]string{"asset_id": assetID, "status": store.StatusNew + "," + store.StatusReopened},
		Sort:   "severity", Desc: true, Limit: 1000,
	})
	if err != nil {
		d.log.Error("new findings", "asset", assetID, "err", err)
		return
	}
	name := assetID
	if a, err := d.st.Asset(ctx, assetID); err == nil && a.Name != "" {
		name = a.Name
	}
	for _, ch := range chs {
		min := rank(ch.MinSeverity)
		var fs []store.Finding
		for _, f := range p.Items {
			if rank(f.Severity) >= min {
				fs = append(fs, f)
			}
		}
		if len(fs) == 0 {
			continue
		}
		if err := d.deliver(ctx, ch, findingsMessage(name, assetID, fs, d.now())); err != nil {
			d.log.Warn("notification failed", "channel", ch.ID, "name", ch.Name, "kind", ch.Kind, "err", err)
		}
	}
}

// findingsMessage lists new findings of one asset (the first maxListed).
func findingsMessage(name, assetID string, fs []store.Finding, now time.Time) Message {
	var b strings.Builder
	for i, f := range fs {
		if i == maxListed {
			fmt.Fprintf(&b, "… and %d more\n", len(fs)-maxListed)
			break
		}
		fmt.Fprintf(&b, "- [%s] %s", f.Severity, f.RuleID)
		if f.Package != "" {
			fmt.Fprintf(&b, " in %s %s", f.Package, f.PackageVersion)
		}
		if f.FixedVersion != "" {
			fmt.Fprintf(&b, " (fixed in %s)", f.FixedVersion)
		}
		b.WriteByte('\n')
	}
	type item struct {
		ID       string  `json:"id"`
		Kind     string  `json:"kind"`
		RuleID   string  `json:"ruleId"`
		Severity string  `json:"severity"`
		Risk     float64 `json:"risk"`
		Package  string  `json:"package,omitempty"`
		Version  string  `json:"packageVersion,omitempty"`
		Fixed    string  `json:"fixedVersion,omitempty"`
		Status   string  `json:"status"`
	}
	items := make([]item, 0, len(fs))
	for _, f := range fs {
		items = append(items, item{f.ID, f.Kind, f.RuleID, f.Severity, f.Risk, f.Package, f.PackageVersion, f.FixedVersion, f.Status})
	}
	noun := "findings"
	if len(fs) == 1 {
		noun = "finding"
	}
	return Message{
		Event: EventFindings, Severity: fs[0].Severity,
		Title: fmt.Sprintf("%d new %s on %s", len(fs), noun, oneLine(name)),
		Text:  b.String(), Time: now,
		Data: map[string]any{"assetId": assetID, "assetName": name, "findings": items},
	}
}

func (d *Dispatcher) silent(ctx context.Context, e store.Event) {
	chs, err := d.channels(ctx)
	if err != nil {
		d.log.Error("notification channels", "err", err)
		return
	}
	var data struct {
		Hostname string    `json:"hostname"`
		LastSeen time.Time `json:"lastSeen"`
	}
	json.Unmarshal(e.Data, &data)
	host := data.Hostname
	if host == "" {
		host = e.AgentID
	}
	m := Message{Event: EventSilent, Severity: e.Severity, Time: e.Time,
		Title: "Agent silent: " + oneLine(host),
		Text:  fmt.Sprintf("The agent %s on %s has not reported since %s.", e.AgentID, oneLine(host), data.LastSeen.UTC().Format(time.RFC3339)),
		Data:  e}
	for _, ch := range chs {
		if rank(e.Severity) < rank(ch.MinSeverity) {
			continue
		}
		if err := d.deliver(ctx, ch, m); err != nil {
			d.log.Warn("notification failed", "channel", ch.ID, "name", ch.Name, "kind", ch.Kind, "err", err)
		}
	}
}
