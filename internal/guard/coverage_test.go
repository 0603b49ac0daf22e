package guard

import (
	"testing"

	"github.com/vigil-sec/vigil/internal/detect"
	"github.com/vigil-sec/vigil/internal/sensor"
)

// TestRulesSeeTheirFiles: every built-in rule's firing fixture about a
// file is an event the sensor, with its default watched and read paths,
// reports. A rule judging paths the sensor never watches is dead: it
// passes its own tests and never fires on a host.
func TestRulesSeeTheirFiles(t *testing.T) {
	rs, err := detect.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	e, err := detect.New(rs, nil)
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, r := range e.Rules() {
		for _, tc := range r.Tests {
			ev := tc.Event
			if tc.Expect != detect.ExpectFire || ev.File == nil || ev.Kind == sensor.KindExec {
				continue
			}
			checked++
			if !(sensor.Options{}).Delivers(&ev) {
				t.Errorf("%s %q: the sensor's default paths never report %s %s (write %v, new path %q)",
					r.ID, tc.Name, ev.Kind, ev.File.Path, ev.File.Write, ev.File.NewPath)
			}
		}
	}
	if checked < 20 {
		t.Errorf("only %d file fixtures checked", checked)
	}
}
