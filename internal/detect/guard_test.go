package detect

import (
	"path/filepath"
	"regexp"
	"testing"

	"github.com/vigil-sec/vigil/internal/sensor"
)

// TestGuardsSound evaluates every built-in rule, without its guard, on
// every event the tests know (benign workloads and every rule's fixtures)
// and checks the guard admits each event the rule fires on; it also
// checks the guards do their job: an ordinary exec evaluates no rule.
func TestGuardsSound(t *testing.T) {
	e := builtinEngine(t)
	var stream []sensor.Event
	files, _ := filepath.Glob("testdata/benign/*.yaml")
	for _, f := range files {
		stream = append(stream, loadSequence(t, f)...)
	}
	for _, r := range e.Rules() {
		for _, tc := range r.Tests {
			stream = append(stream, tc.Event)
		}
	}
	fired := 0
	for i := range stream {
		ev := &stream[i]
		for _, gc := range e.byKind[ev.Kind] {
			ok, err := gc.c.eval(&activation{ev: ev, fast: withinHints(ev)})
			if err != nil || !ok {
				continue
			}
			fired++
			if !gc.g.admits(ev) {
				t.Errorf("%s fires on %s event %+v but its guard refuses it", gc.c.rule.ID, ev.Kind, ev.Process)
			}
		}
	}
	if fired == 0 {
		t.Fatal("no rule fired on the corpus")
	}
	ordinary := &sensor.Event{Kind: sensor.KindExec, Process: sensor.Process{Name: "true", Exe: "/usr/bin/true", Args: []string{"/bin/true"}, UID: 1000, EUID: 1000}}
	for _, gc := range e.byKind[sensor.KindExec] {
		if gc.g.admits(ordinary) {
			t.Errorf("%s: guard admits an exec of /bin/true", gc.c.rule.ID)
		}
	}
}

func TestRegexGuard(t *testing.T) {
	tests := []struct {
		pattern string
		admit   []string
		refuse  []string
	}{
		{`^/(tmp|var/tmp|dev/shm)/(.*/)?\.[^/]+/`, []string{"/tmp/.x/a", "/dev/shm/a/.b/c"}, []string{"/usr/tmp/.x/", "/tm"}},
		{`^ip6?tables(-legacy|-nft)?$`, []string{"iptables", "ip6tables-nft"}, []string{"ip7tables", "nft"}},
		{`stratum[0-9]?\+(tcp|ssl|tls)://`, []string{"stratum+tcp://pool", "x-stratum2+ssl://"}, []string{"tcp://pool"}},
		{`(?i)(mimipenguin|lazagne)`, []string{"./MimiPenguin.sh", "lazagne"}, []string{"mimi"}},
		{`^\[.*\]$`, []string{"[kworker/0:1]"}, []string{"kworker"}},
		{`(?i)kworker`, []string{"KWORKER", "\u212Aworker"}, nil}, // k folds out of ASCII: admits all
		{`a|`, []string{"", "b"}, nil}, // an empty alternative: admits all
		{`[`, []string{"x"}, nil},      // invalid: admits all
	}
	for _, tc := range tests {
		g := regexGuard(gfName, tc.pattern)
		for _, s := range tc.admit {
			if !g.admits(&sensor.Event{Process: sensor.Process{Name: s}}) {
				t.Errorf("%q: refuses %q", tc.pattern, s)
			}
		}
		for _, s := range tc.refuse {
			if g.admits(&sensor.Event{Process: sensor.Process{Name: s}}) {
				t.Errorf("%q: admits %q", tc.pattern, s)
			}
		}
	}
}

// FuzzRegexGuard checks a guard never refuses a string its pattern
// matches: rule patterns come from users.
func FuzzRegexGuard(f *testing.F) {
	for _, s := range [][2]string{{`^/(tmp|var/tmp)/`, "/tmp/x"}, {`(?i)lazagne`, "LaZagne"}, {`a[bc]?d`, "xabdx"}, {`^x{2}y`, "xxy"}} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, pattern, s string) {
		re, err := regexp.Compile(pattern)
		if err != nil || !re.MatchString(s) {
			return
		}
		g := regexGuard(gfName, pattern)
		if !g.admits(&sensor.Event{Process: sensor.Process{Name: s}}) {
			t.Fatalf("pattern %q matches %q, its guard refuses it (%+v)", pattern, s, g)
		}
	})
}
