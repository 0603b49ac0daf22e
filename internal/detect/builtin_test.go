package detect

import (
	"regexp"
	"strings"
	"testing"
)

// minBuiltinRules is the size the built-in library must keep.
const minBuiltinRules = 60

var builtinID = regexp.MustCompile(`^VGL-RT-[0-9]{3}$`)

// TestBuiltinRules compiles the library and runs every rule's fixtures:
// each rule needs complete metadata and at least one fixture that fires
// and one that stays quiet.
func TestBuiltinRules(t *testing.T) {
	rs, err := Builtin()
	if err != nil {
		t.Fatal(err)
	}
	e, err := New(rs, nil)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(e.Rules()); n < minBuiltinRules {
		t.Errorf("%d built-in rules, want at least %d", n, minBuiltinRules)
	}
	for _, r := range e.Rules() {
		var fire, quiet int
		for _, tc := range r.Tests {
			switch tc.Expect {
			case ExpectFire:
				fire++
			case ExpectQuiet:
				quiet++
			}
		}
		switch {
		case !builtinID.MatchString(r.ID):
			t.Errorf("%s: built-in ids are VGL-RT-NNN", r.ID)
		case fire == 0 || quiet == 0:
			t.Errorf("%s: %d firing and %d quiet fixtures, want at least one of each", r.ID, fire, quiet)
		case len(r.MITRE) == 0:
			t.Errorf("%s: no MITRE ATT&CK technique", r.ID)
		case strings.TrimSpace(r.Description) == "" || r.Output == "":
			t.Errorf("%s: description and output are required in the built-in library", r.ID)
		}
	}
	for _, res := range RunTests(e) {
		if !res.Passed() {
			t.Errorf("%s %q (expect %s): %v", res.RuleID, res.Name, res.Expect, res.Err)
		}
	}
}
