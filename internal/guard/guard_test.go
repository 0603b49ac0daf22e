package guard

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/detect"
	"github.com/vigil-sec/vigil/internal/respond"
	"github.com/vigil-sec/vigil/internal/sensor"
)

// These tests drive the guard's pipeline with events from a fake source,
// so they run without root; attack_test.go runs it on the real sensor.

// fakeSource is a sensor.Source fed by the test.
type fakeSource struct {
	ch   chan sensor.Event
	once sync.Once
}

func newFakeSource() *fakeSource { return &fakeSource{ch: make(chan sensor.Event, 64)} }

func (f *fakeSource) Events() <-chan sensor.Event { return f.ch }
func (f *fakeSource) Mode() string                { return "fake" }
func (f *fakeSource) Stats() sensor.Stats         { return sensor.Stats{Mode: "fake"} }
func (f *fakeSource) Close() error {
	f.once.Do(func() { close(f.ch) })
	return nil
}

// clock is a settable time source.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// collect is a Sink that keeps every alert.
type collect struct {
	mu sync.Mutex
	a  []*Alert
}

func (c *collect) Write(a *Alert) error {
	c.mu.Lock()
	c.a = append(c.a, a)
	c.mu.Unlock()
	return nil
}

func (c *collect) all() []*Alert {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]*Alert(nil), c.a...)
}

// wait returns the first alert matching pred, failing after 10 s.
func (c *collect) wait(t *testing.T, what string, pred func(*Alert) bool) *Alert {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		for _, a := range c.all() {
			if pred(a) {
				return a
			}
		}
		if time.Now().After(deadline) {
			var seen []string
			for _, a := range c.all() {
				seen = append(seen, a.RuleID+" "+a.Output)
			}
			t.Fatalf("no alert %s within 10s; %d alerts:\n%s", what, len(seen), strings.Join(seen, "\n"))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// fakeGuard is a guard on a fake source, running until the test ends.
type fakeGuard struct {
	*Guard
	src   *fakeSource
	sink  *collect
	clock *clock
	done  chan error
}

func startFake(t *testing.T, opts Options) *fakeGuard {
	t.Helper()
	f := &fakeGuard{src: newFakeSource(), sink: &collect{}, clock: &clock{t: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)}, done: make(chan error, 1)}
	opts.Sinks = append(opts.Sinks, f.sink)
	opts.Now = f.clock.Now
	g, err := build(opts)
	if err != nil {
		t.Fatalf("build: %v", err)
	}
	g.src = f.src
	f.Guard = g
	ctx, cancel := context.WithCancel(context.Background())
	go func() { f.done <- g.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-f.done; err != nil {
			t.Errorf("Run: %v", err)
		}
		g.Close()
	})
	return f
}

// send delivers an event and waits until the guard has judged it.
func (f *fakeGuard) send(t *testing.T, ev sensor.Event) {
	t.Helper()
	n := f.Stats().Events
	f.src.ch <- ev
	deadline := time.Now().Add(10 * time.Second)
	for f.Stats().Events <= n {
		if time.Now().After(deadline) {
			t.Fatal("event not judged within 10s")
		}
		time.Sleep(time.Millisecond)
	}
}

// child starts `sleep 60` and returns it as the sensor would describe it.
func child(t *testing.T, name string) (sensor.Process, *exec.Cmd) {
	t.Helper()
	cmd := exec.Command("sleep", "60")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	b, err := os.ReadFile("/proc/" + strconv.Itoa(cmd.Process.Pid) + "/stat")
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
	ticks, err := strconv.ParseUint(f[19], 10, 64) // field 22: start time in clock ticks
	if err != nil {
		t.Fatal(err)
	}
	return sensor.Process{PID: int32(cmd.Process.Pid), PPID: int32(os.Getpid()), StartTime: ticks * 10_000_000,
		Name: name, Exe: "/tmp/" + name, Args: []string{name}}, cmd
}

func alive(cmd *exec.Cmd) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(cmd.Process.Pid) + "/stat")
	if err != nil {
		return false
	}
	s := string(b)
	return !strings.HasPrefix(s[strings.LastIndexByte(s, ')')+2:], "Z")
}

func byRule(id string) func(*Alert) bool { return func(a *Alert) bool { return a.RuleID == id } }

func TestOptionsValidate(t *testing.T) {
	file := filepath.Join(t.TempDir(), "f")
	os.WriteFile(file, nil, 0o600)
	for _, o := range []Options{
		{Response: "enforce"},
		{RulesDir: "/nonexistent/vigil-rules"},
		{RulesDir: file},
		{AlertLogKeep: -1},
		{Sinks: []Sink{nil}},
		{Sensor: sensor.Options{WatchedPaths: []string{"relative/"}}},
	} {
		if err := o.Validate(); err == nil {
			t.Errorf("Validate(%+v) = nil, want an error", o)
		}
	}
	if err := (&Options{Response: ResponseDryRun, RulesDir: t.TempDir()}).Validate(); err != nil {
		t.Errorf("Validate: %v", err)
	}
}

// TestDryRunKillAndRepeats: a miner exec alerts with a dry-run kill record
// (the process survives); the same rule on the same process is held back
// for the window, then alerts again.
func TestDryRunKillAndRepeats(t *testing.T) {
	f := startFake(t, Options{Response: ResponseDryRun})
	p, cmd := child(t, "xmrig")
	ev := sensor.Event{Kind: sensor.KindExec, Process: p, File: &sensor.File{Path: p.Exe}}
	f.send(t, ev)
	a := f.sink.wait(t, "VGL-RT-021", byRule("VGL-RT-021"))
	r := a.Response
	if r == nil || r.Action != respond.ActionKill || !r.DryRun || r.Err != "" || !strings.HasPrefix(r.Detail, "would") {
		t.Fatalf("response = %+v, want a dry-run kill", r)
	}
	if a.Event.Process.PID != p.PID || a.Action != detect.ActionKill {
		t.Errorf("alert %+v", a.Alert)
	}
	if !alive(cmd) {
		t.Error("a dry run killed the process")
	}

	f.send(t, ev)
	f.clock.add(repeatWindow - time.Second)
	f.send(t, ev)
	st := f.Stats()
	if st.Alerts["VGL-RT-021"] != 1 || st.Suppressed["VGL-RT-021"] != 2 {
		t.Errorf("within the window: alerts %v suppressed %v", st.Alerts, st.Suppressed)
	}
	// Another process is another key (a made-up one: the responder
	// refuses it for its start time).
	q := p
	q.StartTime += 1000 * 10_000_000
	f.send(t, sensor.Event{Kind: sensor.KindExec, Process: q})
	f.clock.add(time.Second)
	f.send(t, ev)
	st = f.Stats()
	if st.Alerts["VGL-RT-021"] != 3 || st.Suppressed["VGL-RT-021"] != 2 {
		t.Errorf("after the window: alerts %v suppressed %v", st.Alerts, st.Suppressed)
	}
	if st.Actions["kill"] != 3 || st.ActionErrors["kill"] != 1 || st.Mode != "fake" || st.Rules == 0 {
		// The made-up start time is refused (ErrIdentity): an error.
		t.Errorf("stats %+v", st)
	}
}

// TestResponseOff: alerts carry no record and nothing is tried.
func TestResponseOff(t *testing.T) {
	f := startFake(t, Options{})
	p, cmd := child(t, "xmrig")
	f.send(t, sensor.Event{Kind: sensor.KindExec, Process: p})
	a := f.sink.wait(t, "VGL-RT-021", byRule("VGL-RT-021"))
	if a.Response != nil || !alive(cmd) {
		t.Errorf("response %+v, alive %v", a.Response, alive(cmd))
	}
	if st := f.Stats(); len(st.Actions) != 0 {
		t.Errorf("actions %v", st.Actions)
	}
}

// TestActions: quarantine and isolate through rules in RulesDir; the
// guard refuses what the responder must not be asked.
func TestActions(t *testing.T) {
	dir := t.TempDir()
	rules := `rules:
  - {id: T-Q, title: quarantine, severity: low, kinds: [open], condition: 'file.path.endsWith("/payload")', action: quarantine}
  - {id: T-I, title: isolate, severity: low, kinds: [connect], condition: 'network.dstPort == 4242', action: isolate}
`
	if err := os.WriteFile(filepath.Join(dir, "t.yaml"), []byte(rules), 0o644); err != nil {
		t.Fatal(err)
	}
	qdir := filepath.Join(t.TempDir(), "q")
	f := startFake(t, Options{Response: ResponseDryRun, RulesDir: dir, QuarantineDir: qdir})
	payload := filepath.Join(t.TempDir(), "payload")
	if err := os.WriteFile(payload, []byte("x"), 0o755); err != nil {
		t.Fatal(err)
	}
	p, _ := child(t, "dropper")
	p.MntNS = f.mntNS

	f.send(t, sensor.Event{Kind: sensor.KindOpen, Process: p, File: &sensor.File{Path: payload}})
	a := f.sink.wait(t, "T-Q", byRule("T-Q"))
	if r := a.Response; r == nil || r.Action != respond.ActionQuarantine || r.Err != "" || !r.DryRun || r.Target != payload {
		t.Errorf("quarantine: %+v", r)
	}
	if _, err := os.Stat(payload); err != nil {
		t.Errorf("dry run moved the file: %v", err)
	}

	// The same path seen by a process in another mount namespace is not
	// the guard's file.
	q := p
	q.StartTime++
	q.MntNS = f.mntNS + 1
	f.send(t, sensor.Event{Kind: sensor.KindOpen, Process: q, File: &sensor.File{Path: payload}})
	a = f.sink.wait(t, "T-Q other ns", func(a *Alert) bool { return a.RuleID == "T-Q" && a.Event.Process.StartTime == q.StartTime })
	if r := a.Response; r == nil || !strings.Contains(r.Err, ErrOtherMountNS.Error()) {
		t.Errorf("quarantine in another mount namespace: %+v", r)
	}

	// Isolating a host process is refused before the responder is asked.
	f.send(t, sensor.Event{Kind: sensor.KindConnect, Process: p, Network: &sensor.Network{Family: "inet", DstAddr: "127.0.0.1", DstPort: 4242}})
	a = f.sink.wait(t, "T-I", byRule("T-I"))
	if r := a.Response; r == nil || r.Action != respond.ActionIsolate || !strings.Contains(r.Err, ErrNoContainer.Error()) {
		t.Errorf("isolate on the host: %+v", r)
	}
	// A container process in the host's network namespace (this test's
	// child): the responder refuses it.
	f.clock.add(repeatWindow)
	f.send(t, sensor.Event{Kind: sensor.KindConnect, Process: p, Container: &sensor.Container{ID: "abc"},
		Network: &sensor.Network{Family: "inet", DstAddr: "127.0.0.1", DstPort: 4242}})
	a = f.sink.wait(t, "T-I container", func(a *Alert) bool { return a.RuleID == "T-I" && a.Event.Container != nil })
	if r := a.Response; r == nil || r.Err == "" || !strings.Contains(r.Target, "container abc") {
		t.Errorf("isolate of a process in the host network: %+v", r)
	}
	st := f.Stats()
	if st.ActionErrors["quarantine"] != 1 || st.ActionErrors["isolate"] != 2 {
		t.Errorf("action errors %v", st.ActionErrors)
	}
}

// TestHotReload: a rule file added while running takes effect; a broken
// edit keeps it and is counted; a fixed edit replaces it.
func TestHotReload(t *testing.T) {
	dir := t.TempDir()
	f := startFake(t, Options{RulesDir: dir})
	waitReloads := func(n uint64) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for f.Stats().Reloads < n {
			if time.Now().After(deadline) {
				t.Fatalf("reloads %d, want %d (stats %+v)", f.Stats().Reloads, n, f.Stats())
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	waitReloads(1)
	before := f.Stats().Rules
	file := filepath.Join(dir, "mine.yaml")
	write := func(name string) {
		t.Helper()
		src := "rules:\n  - {id: T-1, title: mine, severity: low, kinds: [exec], condition: 'process.name == \"" + name + "\"'}\n"
		if err := os.WriteFile(file, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("probe-a")
	waitReloads(2)
	if got := f.Stats().Rules; got != before+1 {
		t.Errorf("rules %d after adding one to %d", got, before)
	}
	f.send(t, sensor.Event{Kind: sensor.KindExec, Process: sensor.Process{PID: 10, StartTime: 1, Name: "probe-a"}})
	f.sink.wait(t, "T-1", byRule("T-1"))

	if err := os.WriteFile(file, []byte("rules: [{id: T-1, condition: 'process.name =='}]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for f.Stats().ReloadErrors == 0 {
		if time.Now().After(deadline) {
			t.Fatal("broken edit not reported")
		}
		time.Sleep(10 * time.Millisecond)
	}
	f.send(t, sensor.Event{Kind: sensor.KindExec, Process: sensor.Process{PID: 11, StartTime: 1, Name: "probe-a"}})
	f.sink.wait(t, "T-1 after a broken edit", func(a *Alert) bool { return a.RuleID == "T-1" && a.Event.Process.PID == 11 })

	write("probe-b")
	waitReloads(3)
	f.send(t, sensor.Event{Kind: sensor.KindExec, Process: sensor.Process{PID: 12, StartTime: 1, Name: "probe-a"}})
	f.send(t, sensor.Event{Kind: sensor.KindExec, Process: sensor.Process{PID: 13, StartTime: 1, Name: "probe-b"}})
	f.sink.wait(t, "T-1 fixed", func(a *Alert) bool { return a.RuleID == "T-1" && a.Event.Process.PID == 13 })
	for _, a := range f.sink.all() {
		if a.Event.Process.PID == 12 {
			t.Errorf("the replaced rule still fires: %+v", a.Alert)
		}
	}
	if st := f.Stats(); st.ReloadErrors != 1 || st.LastReloadError == "" {
		t.Errorf("reload errors %d %q", st.ReloadErrors, st.LastReloadError)
	}
}

// TestAlertLog: alerts are JSON lines with the whole event and the
// response record; the log rotates by size.
func TestAlertLog(t *testing.T) {
	log := filepath.Join(t.TempDir(), "alerts.jsonl")
	f := startFake(t, Options{Response: ResponseDryRun, AlertLog: log, AlertLogMaxBytes: 4096, AlertLogKeep: 1})
	p, _ := child(t, "xmrig")
	ev := sensor.Event{Kind: sensor.KindExec, Process: p,
		Parents:   []sensor.Process{{PID: 1, Name: "systemd"}},
		Container: &sensor.Container{ID: "c0ffee", Image: "img"}}
	f.send(t, ev)
	f.sink.wait(t, "VGL-RT-021", byRule("VGL-RT-021"))
	lines := readLines(t, log)
	var line string
	for _, l := range lines {
		if strings.Contains(l, `"ruleId":"VGL-RT-021"`) {
			line = l
		}
	}
	if line == "" {
		t.Fatalf("no VGL-RT-021 line in the alert log: %q", lines)
	}
	var got struct {
		RuleID string `json:"ruleId"`
		Event  struct {
			Process   sensor.Process    `json:"process"`
			Parents   []sensor.Process  `json:"parents"`
			Container *sensor.Container `json:"container"`
		} `json:"event"`
		Response *respond.Record `json:"response"`
	}
	if err := json.Unmarshal([]byte(line), &got); err != nil {
		t.Fatal(err)
	}
	if got.RuleID != "VGL-RT-021" || got.Event.Process.PID != p.PID || len(got.Event.Parents) != 1 ||
		got.Event.Container == nil || got.Event.Container.ID != "c0ffee" || got.Response == nil || got.Response.Action != respond.ActionKill {
		t.Errorf("logged %s", line)
	}
	for i := range 20 {
		f.clock.add(repeatWindow)
		ev.Process.StartTime += uint64(i + 1)
		f.send(t, ev)
	}
	if _, err := os.Stat(log + ".1"); err != nil {
		t.Errorf("no rotation: %v", err)
	}
	if _, err := os.Stat(log + ".2"); err == nil {
		t.Error("kept more than one old file")
	}
	if info, err := os.Stat(log); err != nil || info.Mode().Perm() != 0o600 {
		t.Errorf("log mode: %v %v", info, err)
	}
	if st := f.Stats(); st.SinkErrors != 0 {
		t.Errorf("sink errors %d: %s", st.SinkErrors, st.LastSinkError)
	}
}

func readLines(t *testing.T, path string) []string {
	t.Helper()
	fh, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	var out []string
	sc := bufio.NewScanner(fh)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		out = append(out, sc.Text())
	}
	return out
}

// TestSinkErrors: a failing sink is counted and does not stop the others.
func TestSinkErrors(t *testing.T) {
	bad := SinkFunc(func(*Alert) error { return errors.New("stream down") })
	f := startFake(t, Options{Sinks: []Sink{bad}})
	f.send(t, sensor.Event{Kind: sensor.KindExec, Process: sensor.Process{PID: 5, StartTime: 1, Name: "xmrig"}})
	f.sink.wait(t, "VGL-RT-021", byRule("VGL-RT-021"))
	if st := f.Stats(); st.SinkErrors == 0 || st.LastSinkError != "stream down" {
		t.Errorf("sink errors %d %q", st.SinkErrors, st.LastSinkError)
	}
}

// TestRunEnds: Run returns nil when its context ends or the guard is
// closed, ErrSensorStopped when the source ends by itself, ErrRunning
// when already running.
func TestRunEnds(t *testing.T) {
	mk := func() (*Guard, *fakeSource) {
		g, err := build(Options{})
		if err != nil {
			t.Fatal(err)
		}
		src := newFakeSource()
		g.src = src
		return g, src
	}
	g, src := mk()
	done := make(chan error, 1)
	go func() { done <- g.Run(context.Background()) }()
	time.Sleep(50 * time.Millisecond)
	if err := g.Run(context.Background()); !errors.Is(err, ErrRunning) {
		t.Errorf("second Run = %v, want ErrRunning", err)
	}
	src.Close()
	if err := <-done; !errors.Is(err, ErrSensorStopped) {
		t.Errorf("Run after the source ended = %v", err)
	}

	g, _ = mk()
	go func() { done <- g.Run(context.Background()) }()
	g.Close()
	if err := <-done; err != nil {
		t.Errorf("Run after Close = %v", err)
	}

	g, _ = mk()
	ctx, cancel := context.WithCancel(context.Background())
	go func() { done <- g.Run(ctx) }()
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run after cancel = %v", err)
	}
}

func TestLimiterBounded(t *testing.T) {
	l := newLimiter(time.Second, 4)
	now := time.Unix(100, 0)
	for i := range 10 {
		if !l.allow(limitKey{rule: "r", pid: int32(i)}, now) {
			t.Fatalf("key %d held back", i)
		}
	}
	if len(l.first) > 4 {
		t.Errorf("%d keys remembered, max 4", len(l.first))
	}
	if l.allow(limitKey{rule: "r", pid: 0}, now.Add(time.Millisecond)) {
		t.Error("repeat within the window let through")
	}
	if !l.allow(limitKey{rule: "r", pid: 0}, now.Add(time.Second)) {
		t.Error("repeat after the window held back")
	}
}
