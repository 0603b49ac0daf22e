package detect

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"gopkg.in/yaml.v3"

	"github.com/vigil-sec/vigil/internal/sensor"
)

// What a rule test expects of its event.
const (
	ExpectFire  = "fire"  // the rule must raise an alert
	ExpectQuiet = "quiet" // the rule must not (and must evaluate cleanly)
)

// RuleTest is one fixture of a rule: an event, written in YAML with the
// sensor's JSON field names, and whether the rule must fire on it. An
// event without a kind takes the rule's first kind.
type RuleTest struct {
	Name   string       `yaml:"name"`
	Expect string       `yaml:"expect"`
	Event  sensor.Event `yaml:"event"`
}

// UnmarshalYAML reads a test; its event is decoded with the sensor's JSON
// field names, unknown fields refused.
func (t *RuleTest) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.MappingNode {
		return fmt.Errorf("line %d: a test is a mapping (name, expect, event)", n.Line)
	}
	var ev *yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		switch k.Value {
		case "name":
			if err := v.Decode(&t.Name); err != nil {
				return err
			}
		case "expect":
			if err := v.Decode(&t.Expect); err != nil {
				return err
			}
		case "event":
			ev = v
		default:
			return fmt.Errorf("line %d: field %s not found in a test (name, expect, event)", k.Line, k.Value)
		}
	}
	if ev == nil {
		return fmt.Errorf("line %d: test %q has no event", n.Line, t.Name)
	}
	e, err := decodeEvent(ev)
	if err != nil {
		return fmt.Errorf("line %d: test %q: %w", ev.Line, t.Name, err)
	}
	t.Event = *e
	return nil
}

// decodeEvent turns a YAML node into a sensor.Event by way of JSON, so
// fixtures use exactly the field names of the event's JSON form.
// Fixtures are read once, at load; the hot path never does this.
func decodeEvent(n *yaml.Node) (*sensor.Event, error) {
	var raw any
	if err := n.Decode(&raw); err != nil {
		return nil, err
	}
	data, err := json.Marshal(raw)
	if err != nil {
		return nil, fmt.Errorf("event: %w", err)
	}
	return ParseEvent(data)
}

// ParseEvent reads one event in its JSON form (as the alert log writes
// it). Unknown fields are refused; numbers in args become int64 when
// integral.
func ParseEvent(data []byte) (*sensor.Event, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	dec.UseNumber()
	var e sensor.Event
	if err := dec.Decode(&e); err != nil {
		return nil, fmt.Errorf("event: %w", err)
	}
	for k, v := range e.Args {
		switch x := v.(type) {
		case json.Number:
			if i, err := x.Int64(); err == nil {
				e.Args[k] = i
			} else if f, err := x.Float64(); err == nil {
				e.Args[k] = f
			}
		case string, bool, nil:
		default:
			return nil, fmt.Errorf("event: args.%s: want a string or a number", k)
		}
	}
	return &e, nil
}

// TestResult is the outcome of one rule test.
type TestResult struct {
	RuleID string
	Name   string
	Expect string
	// Fired says whether the rule raised an alert.
	Fired bool
	// Output is the rendered output when it fired.
	Output string
	// Err is why the test failed; nil when it passed.
	Err error
}

// Passed reports whether the test held.
func (t *TestResult) Passed() bool { return t.Err == nil }

// RunTests runs every test of every rule of e: the fixture's event is
// matched against that rule alone. A "fire" test must raise an alert, a
// "quiet" test must not; a condition that fails to evaluate fails the
// test either way.
func RunTests(e *Engine) []TestResult {
	var out []TestResult
	for _, c := range e.rules {
		for i := range c.rule.Tests {
			t := &c.rule.Tests[i]
			name := t.Name
			if name == "" {
				name = fmt.Sprintf("#%d", i)
			}
			tr := TestResult{RuleID: c.rule.ID, Name: name, Expect: t.Expect}
			tr.Fired, tr.Output, tr.Err = c.test(&t.Event, e)
			if tr.Err == nil {
				switch {
				case t.Expect == ExpectFire && !tr.Fired:
					tr.Err = errors.New("want an alert, the rule stayed quiet")
				case t.Expect == ExpectQuiet && tr.Fired:
					tr.Err = fmt.Errorf("want no alert, got %q", tr.Output)
				}
			}
			out = append(out, tr)
		}
	}
	return out
}

func (c *compiled) test(ev *sensor.Event, e *Engine) (bool, string, error) {
	if !slices.Contains(c.rule.Kinds, anyKind) && !slices.Contains(c.rule.Kinds, ev.Kind) {
		return false, "", nil
	}
	act := &activation{ev: ev}
	ok, err := c.eval(act)
	if err != nil {
		return false, "", fmt.Errorf("condition fails on the fixture: %w", err)
	}
	if !ok {
		return false, "", nil
	}
	if g := e.guardFor(c, ev.Kind); g != nil && !g.admits(ev) {
		// The rule fires, but Match would never have evaluated it.
		return false, "", fmt.Errorf("the condition holds but the rule's guard (guard.go) refuses the event: please report this")
	}
	return true, c.alert(act, e.now()).Output, nil
}
