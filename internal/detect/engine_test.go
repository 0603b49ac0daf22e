package detect

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/sensor"
)

func mustParse(t testing.TB, src string) *Ruleset {
	t.Helper()
	rs, err := Parse("test.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

func TestExpand(t *testing.T) {
	x := newExpander(
		map[string][]string{"shells": {"bash", "sh"}, "q": {`a"b`}},
		map[string]string{"is_shell": "process.name in shells", "outer": "is_shell && true", "loop": "loop2", "loop2": "loop"},
	)
	tests := []struct {
		src, want string
		err       error
	}{
		{src: "process.name in shells", want: `process.name in ["bash", "sh"]`},
		{src: "outer", want: `((process.name in ["bash", "sh"]) && true)`},
		{src: `"shells" == 'is_shell' && r"shells" != ""`, want: `"shells" == 'is_shell' && r"shells" != ""`},
		{src: "file.shells || process.?shells.orValue(1)", want: "file.shells || process.?shells.orValue(1)"},
		{src: "shells(1)", want: "shells(1)"},
		{src: "x in q", want: `x in ["a\"b"]`},
		{src: "loop", err: ErrMacroCycle},
		{src: `"""shells""" + shells[0]`, want: `"""shells""" + ["bash", "sh"][0]`},
	}
	for _, tc := range tests {
		t.Run(tc.src, func(t *testing.T) {
			got, err := x.expand(tc.src)
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("err %v, want %v", err, tc.err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("got %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

func TestTemplate(t *testing.T) {
	rs := mustParse(t, `
rules:
  - id: T-1
    title: t
    severity: low
    kinds: [exec]
    condition: "true"
    output: 'cost $$5 ${process.name} args=${process.args} map=${{"k": 1}["k"]} missing=${container.id} str=${"}"} $x'
`)
	e, err := New(rs, nil)
	if err != nil {
		t.Fatal(err)
	}
	as := e.Match(&sensor.Event{Kind: sensor.KindExec, Process: sensor.Process{Name: "ls", Args: []string{"ls", "-l"}}})
	want := `cost $5 ls args=ls -l map=1 missing=<?> str=} $x`
	if len(as) != 1 || as[0].Output != want {
		t.Fatalf("got %+v, want output %q", as, want)
	}
}

func TestCompileErrors(t *testing.T) {
	base := "rules:\n  - id: T-1\n    title: t\n    severity: low\n    kinds: [exec]\n"
	tests := []struct {
		name, src, want string
	}{
		{"unknown field", base + "    condition: process.nmae == 'x'\n", `process has no field "nmae"`},
		{"not a bool", base + "    condition: 1 + 1\n", "want bool"},
		{"syntax", base + "    condition: process.name ==\n", "condition"},
		{"bad exception", base + "    condition: 'true'\n    exceptions: ['1 +']\n", "exceptions[0]"},
		{"bad output", base + "    condition: 'true'\n    output: '${'\n", "unclosed"},
		{"cycle", "macros: {a: b, b: a}\n" + base + "    condition: a\n", "macro cycle"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rs, err := Parse("x.yaml", []byte(tc.src))
			if err == nil {
				_, err = New(rs, nil)
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %v, want it to mention %q", err, tc.want)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct{ name, src, want string }{
		{"unknown key", "rules:\n  - id: T-1\n    titel: x\n", "titel"},
		{"bad kind", "rules:\n  - {id: T-1, title: t, severity: low, kinds: [execve], condition: 'true'}\n", "unknown kind"},
		{"bad action", "rules:\n  - {id: T-1, title: t, severity: low, kinds: [exec], condition: 'true', action: nuke}\n", "action"},
		{"bad mitre", "rules:\n  - {id: T-1, title: t, severity: low, kinds: [exec], condition: 'true', mitre: [X1]}\n", "mitre"},
		{"reserved list", "lists: {process: [a]}\n", "variable"},
		{"bad expect", "rules:\n  - {id: T-1, title: t, severity: low, kinds: [exec], condition: 'true', tests: [{expect: maybe, event: {}}]}\n", "fire or quiet"},
		{"bad fixture", "rules:\n  - {id: T-1, title: t, severity: low, kinds: [exec], condition: 'true', tests: [{expect: fire, event: {process: {nme: x}}}]}\n", "nme"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("x.yaml", []byte(tc.src))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %v, want it to mention %q", err, tc.want)
			}
		})
	}
}

func TestMatchIndexExceptionsErrors(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	rs := mustParse(t, `
rules:
  - id: T-EXEC
    title: exec of x
    severity: high
    mitre: [T1059]
    kinds: [exec]
    condition: process.name == "x"
    exceptions: [process.uid == 7]
    action: kill
  - id: T-ANY
    title: any kind
    severity: low
    kinds: ["*"]
    condition: process.name == "x" && event.kind == "open"
  - id: T-ERR
    title: errors
    severity: low
    kinds: [exec]
    condition: args.missing == 1
  - id: T-OFF
    title: disabled
    severity: low
    kinds: [exec]
    condition: "true"
    enabled: false
`)
	e, err := New(rs, &Options{Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(e.Rules()); n != 3 {
		t.Fatalf("%d rules compiled, want 3 (one disabled)", n)
	}
	as := e.Match(&sensor.Event{Kind: sensor.KindExec, Process: sensor.Process{Name: "x"}})
	if len(as) != 1 || as[0].RuleID != "T-EXEC" || as[0].Action != ActionKill || !as[0].Time.Equal(now) || as[0].MITRE[0] != "T1059" || as[0].Output != "exec of x" {
		t.Fatalf("exec: %+v", as)
	}
	if as := e.Match(&sensor.Event{Kind: sensor.KindExec, Process: sensor.Process{Name: "x", UID: 7}}); len(as) != 0 {
		t.Fatalf("exception ignored: %+v", as)
	}
	as = e.Match(&sensor.Event{Kind: sensor.KindOpen, Process: sensor.Process{Name: "x"}})
	if len(as) != 1 || as[0].RuleID != "T-ANY" || as[0].Action != ActionAlert {
		t.Fatalf("open: %+v", as)
	}
	if got := e.EvalErrors()["T-ERR"]; got != 2 {
		t.Fatalf("T-ERR errors %d, want 2", got)
	}
}

func TestRulesetWith(t *testing.T) {
	base := mustParse(t, `
lists: {l: [a]}
rules:
  - {id: T-1, title: one, severity: low, kinds: [exec], condition: process.name in l}
  - {id: T-2, title: two, severity: low, kinds: [exec], condition: "true"}
`)
	over := mustParse(t, `
lists: {l: [b]}
rules:
  - {id: T-2, title: two, severity: low, kinds: [exec], condition: "true", enabled: false}
  - {id: U-1, title: mine, severity: low, kinds: [exec], condition: process.name in l}
`)
	e, err := New(base.With(over), nil)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, a := range e.Match(&sensor.Event{Kind: sensor.KindExec, Process: sensor.Process{Name: "b"}}) {
		ids = append(ids, a.RuleID)
	}
	if strings.Join(ids, ",") != "T-1,U-1" {
		t.Fatalf("fired %v, want T-1,U-1 (list replaced, T-2 turned off)", ids)
	}
}

func TestRunTestsReportsFailures(t *testing.T) {
	rs := mustParse(t, `
rules:
  - id: T-1
    title: t
    severity: low
    kinds: [exec]
    condition: process.name == "x"
    tests:
      - {name: ok, expect: fire, event: {process: {name: x}}}
      - {name: wrong, expect: quiet, event: {process: {name: x}}}
      - {name: other kind, expect: fire, event: {kind: open, process: {name: x}}}
`)
	e, err := New(rs, nil)
	if err != nil {
		t.Fatal(err)
	}
	res := RunTests(e)
	if len(res) != 3 || !res[0].Passed() || res[1].Passed() || res[2].Passed() {
		t.Fatalf("%+v", res)
	}
}

// TestTrackedProgramPlannedOnDemand: a fast rule's cost-tracked program
// is planned only when an event outside the size hints comes, and then
// judges as the fast one does and still enforces the cost limit.
func TestTrackedProgramPlannedOnDemand(t *testing.T) {
	rs := mustParse(t, `
rules:
  - id: T-ARGS
    title: args
    severity: low
    kinds: [exec]
    condition: process.args.exists(a, a == "-e")
    output: 'ran ${process.name}'
`)
	e, err := New(rs, &Options{CostLimit: 2000})
	if err != nil {
		t.Fatal(err)
	}
	c := e.rules[0]
	if c.fast == nil {
		t.Fatal("rule has no fast program")
	}
	planned := func(p *program) bool { return p.p != nil }
	if planned(c.match) || planned(c.output.parts[1].prog) {
		t.Fatal("tracked condition or output planned at load")
	}
	small := &sensor.Event{Kind: sensor.KindExec, Process: sensor.Process{Name: "nc", Args: []string{"nc", "-e", "/bin/sh"}}}
	if as := e.Match(small); len(as) != 1 || as[0].Output != "ran nc" {
		t.Fatalf("within hints: %+v", as)
	}
	if planned(c.match) || !planned(c.output.parts[1].prog) {
		t.Fatal("a match within the hints planned the tracked condition, or its output was not planned")
	}
	// Past the hints (16 times hintSize arguments): the tracked program,
	// whose limit stops the scan of a list that long: an error, no alert.
	big := &sensor.Event{Kind: sensor.KindExec, Process: sensor.Process{Name: "nc", Args: make([]string, 16*hintSize)}}
	big.Process.Args[len(big.Process.Args)-1] = "-e"
	if withinHints(big) {
		t.Fatal("big event within the hints")
	}
	if as := e.Match(big); len(as) != 0 {
		t.Fatalf("cost limit not enforced: %+v", as)
	}
	if !planned(c.match) || e.EvalErrors()["T-ARGS"] != 1 {
		t.Fatalf("tracked program planned %v, errors %v", planned(c.match), e.EvalErrors())
	}
	// Few arguments, one longer than the hints: tracked, within the limit.
	big.Process.Args = []string{strings.Repeat("x", hintSize+1), "-e"}
	if withinHints(big) {
		t.Fatal("event with a long argument within the hints")
	}
	if as := e.Match(big); len(as) != 1 {
		t.Fatalf("tracked program: %+v", as)
	}
}
