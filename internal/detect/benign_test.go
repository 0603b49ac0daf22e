package detect

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/vigil-sec/vigil/internal/sensor"
)

// loadSequence reads a fixture file of events (testdata/benign/*.yaml).
func loadSequence(t testing.TB, path string) []sensor.Event {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	evs, err := parseSequence(data)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return evs
}

// parseSequence reads {events: [event, …]} with the sensor's JSON names.
func parseSequence(data []byte) ([]sensor.Event, error) {
	var doc struct {
		Events []yaml.Node `yaml:"events"`
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&doc); err != nil {
		return nil, err
	}
	out := make([]sensor.Event, 0, len(doc.Events))
	for i := range doc.Events {
		e, err := decodeEvent(&doc.Events[i])
		if err != nil {
			return nil, err
		}
		out = append(out, *e)
	}
	return out, nil
}

func builtinEngine(t testing.TB) *Engine {
	t.Helper()
	rs, err := Builtin()
	if err != nil {
		t.Fatal(err)
	}
	e, err := New(rs, nil)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// TestBenignWorkloads: installing packages, building and testing a Go
// project and running a web server raise no alert from any built-in
// rule, and no rule fails to evaluate on them.
func TestBenignWorkloads(t *testing.T) {
	e := builtinEngine(t)
	files, _ := filepath.Glob("testdata/benign/*.yaml")
	if len(files) == 0 {
		t.Fatal("no benign fixtures")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			evs := loadSequence(t, f)
			if len(evs) < 10 {
				t.Fatalf("only %d events", len(evs))
			}
			for i := range evs {
				for _, a := range e.Match(&evs[i]) {
					t.Errorf("event %d (%s %s): %s fired: %s", i, evs[i].Kind, evs[i].Process.Name, a.RuleID, a.Output)
				}
			}
		})
	}
	if errs := e.EvalErrors(); len(errs) > 0 {
		t.Errorf("evaluation errors: %v", errs)
	}
}

// BenchmarkMatch measures a mixed stream (benign workloads plus every
// built-in rule's fixtures) against all built-in rules.
func BenchmarkMatch(b *testing.B) {
	e := builtinEngine(b)
	var stream []sensor.Event
	files, _ := filepath.Glob("testdata/benign/*.yaml")
	for _, f := range files {
		stream = append(stream, loadSequence(b, f)...)
	}
	for _, r := range e.Rules() {
		for _, tc := range r.Tests {
			stream = append(stream, tc.Event)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	n := 0
	for i := 0; b.Loop(); i++ {
		e.Match(&stream[i%len(stream)])
		n++
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkMatchExec measures the commonest event: an exec of an ordinary
// program (bench/runtime.sh's loop runs /bin/true) under a shell.
func BenchmarkMatchExec(b *testing.B) {
	e := builtinEngine(b)
	sh := sensor.Process{PID: 100, PPID: 1, Name: "bash", Exe: "/usr/bin/bash", Args: []string{"bash"}, Cwd: "/root", UID: 0, EUID: 0, Stdin: "tty", Stdout: "tty", TTY: true}
	ev := sensor.Event{Kind: sensor.KindExec, Process: sensor.Process{PID: 101, PPID: 100, Name: "true", Exe: "/usr/bin/true",
		Args: []string{"/bin/true"}, Cwd: "/root", Stdin: "tty", Stdout: "tty", TTY: true}, Parents: []sensor.Process{sh, sh, sh}}
	b.ReportAllocs()
	for b.Loop() {
		if alerts := e.Match(&ev); len(alerts) != 0 {
			b.Fatalf("alerts %v", alerts)
		}
	}
}
