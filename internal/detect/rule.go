package detect

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"path"
	"regexp"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/vigil-sec/vigil/internal/finding"
	"github.com/vigil-sec/vigil/internal/sensor"
)

// Action is what the agent does when a rule fires.
type Action string

// The actions. The agent's responder carries them out; detect only names
// them.
const (
	ActionAlert      Action = "alert"      // raise the alert only
	ActionKill       Action = "kill"       // kill the process
	ActionQuarantine Action = "quarantine" // move the file aside (restorable)
	ActionIsolate    Action = "isolate"    // cut the container's network
)

var actions = []Action{ActionAlert, ActionKill, ActionQuarantine, ActionIsolate}

// kinds are the event kinds a rule may name ("*" means every kind).
var kinds = []sensor.Kind{
	sensor.KindExec, sensor.KindFork, sensor.KindExit, sensor.KindConnect,
	sensor.KindAccept, sensor.KindBind, sensor.KindListen, sensor.KindTCPState,
	sensor.KindOpen, sensor.KindUnlink, sensor.KindRename, sensor.KindChmod,
	sensor.KindSetUID, sensor.KindSetGID, sensor.KindCapset, sensor.KindPtrace,
	sensor.KindMemfd, sensor.KindMount, sensor.KindBPF, sensor.KindModuleLoad,
	sensor.KindLink, sensor.KindTruncate, sensor.KindSetns,
}

// anyKind in a rule's kinds makes it apply to every event.
const anyKind sensor.Kind = "*"

// Rule is one detection: which events it looks at, when it fires, what
// it says and what the agent should do.
type Rule struct {
	// ID is stable across releases ("VGL-RT-001"); alerts, exceptions
	// and overrides name it.
	ID          string           `yaml:"id" json:"id"`
	Title       string           `yaml:"title" json:"title"`
	Description string           `yaml:"description" json:"description"`
	Severity    finding.Severity `yaml:"severity" json:"severity"`
	// MITRE lists ATT&CK technique ids (T1059, T1059.004).
	MITRE []string `yaml:"mitre,omitempty" json:"mitre,omitempty"`
	Tags  []string `yaml:"tags,omitempty" json:"tags,omitempty"`
	// Kinds are the event kinds the rule judges; "*" means every kind.
	Kinds []sensor.Kind `yaml:"kinds" json:"kinds"`
	// Condition is a CEL expression, true when the event is suspicious.
	Condition string `yaml:"condition" json:"condition"`
	// Exceptions are CEL expressions; any true one silences the rule.
	Exceptions []string `yaml:"exceptions,omitempty" json:"exceptions,omitempty"`
	// Output is the alert's text: literal text with ${CEL} expressions.
	// The title is used when empty.
	Output string `yaml:"output,omitempty" json:"output,omitempty"`
	// Action defaults to alert.
	Action Action `yaml:"action,omitempty" json:"action,omitempty"`
	// Enabled defaults to true; false keeps the rule out of the engine
	// (a user file can turn a built-in rule off by re-declaring it).
	Enabled *bool `yaml:"enabled,omitempty" json:"enabled,omitempty"`

	Tests []RuleTest `yaml:"tests,omitempty" json:"-"`

	// File is where the rule was read from.
	File string `yaml:"-" json:"file,omitempty"`
}

// IsEnabled reports whether the rule takes part in matching.
func (r *Rule) IsEnabled() bool { return r.Enabled == nil || *r.Enabled }

// Ruleset is what rule files declare: lists, macros and rules. Lists and
// macros are shared by every rule of the set.
type Ruleset struct {
	// Lists maps a name to strings; a rule names it where a CEL list
	// literal could stand (process.name in shells).
	Lists map[string][]string
	// Macros maps a name to a CEL expression, inlined (in parentheses)
	// wherever a rule names it.
	Macros map[string]string
	Rules  []Rule
}

// With returns a new set: s, with the lists, macros and rules of over
// replacing those of the same name or id. It is how a user directory
// extends (or overrides) the built-in library.
func (s *Ruleset) With(over *Ruleset) *Ruleset {
	out := &Ruleset{Lists: map[string][]string{}, Macros: map[string]string{}}
	for _, x := range []*Ruleset{s, over} {
		if x == nil {
			continue
		}
		maps.Copy(out.Lists, x.Lists)
		maps.Copy(out.Macros, x.Macros)
	}
	replaced := map[string]bool{}
	if over != nil {
		for _, r := range over.Rules {
			replaced[r.ID] = true
		}
	}
	if s != nil {
		for _, r := range s.Rules {
			if !replaced[r.ID] {
				out.Rules = append(out.Rules, r)
			}
		}
	}
	if over != nil {
		out.Rules = append(out.Rules, over.Rules...)
	}
	sortRules(out.Rules)
	return out
}

func sortRules(rs []Rule) {
	slices.SortFunc(rs, func(a, b Rule) int { return strings.Compare(a.ID, b.ID) })
}

// file is the on-disk shape of one rule file.
type file struct {
	Lists  map[string][]string `yaml:"lists"`
	Macros map[string]string   `yaml:"macros"`
	Rules  []Rule              `yaml:"rules"`
}

var (
	idPattern    = regexp.MustCompile(`^[A-Z][A-Z0-9]*(-[A-Z0-9]+)+$`)
	mitrePattern = regexp.MustCompile(`^T[0-9]{4}(\.[0-9]{3})?$`)
	namePattern  = regexp.MustCompile(`^[a-z_][a-z0-9_]*$`)
)

// Validate checks a rule's metadata (not its expressions: New compiles
// them).
func (r *Rule) Validate() error {
	var errs []error
	if !idPattern.MatchString(r.ID) {
		errs = append(errs, fmt.Errorf("id %q: want upper-case words joined by dashes (VGL-RT-001)", r.ID))
	}
	if strings.TrimSpace(r.Title) == "" {
		errs = append(errs, errors.New("title is required"))
	}
	if r.Severity == finding.SeverityUnknown {
		errs = append(errs, errors.New("severity is required (low, medium, high, critical)"))
	}
	for _, m := range r.MITRE {
		if !mitrePattern.MatchString(m) {
			errs = append(errs, fmt.Errorf("mitre %q: want a technique id (T1059 or T1059.004)", m))
		}
	}
	if len(r.Kinds) == 0 {
		errs = append(errs, errors.New("kinds is required (exec, open, connect …, or \"*\")"))
	}
	for _, k := range r.Kinds {
		if k != anyKind && !slices.Contains(kinds, k) {
			errs = append(errs, fmt.Errorf("unknown kind %q", k))
		}
	}
	if strings.TrimSpace(r.Condition) == "" {
		errs = append(errs, errors.New("condition is required"))
	}
	for i, x := range r.Exceptions {
		if strings.TrimSpace(x) == "" {
			errs = append(errs, fmt.Errorf("exceptions[%d] is empty", i))
		}
	}
	if r.Action != "" && !slices.Contains(actions, r.Action) {
		errs = append(errs, fmt.Errorf("action %q: want alert, kill, quarantine or isolate", r.Action))
	}
	for i := range r.Tests {
		t := &r.Tests[i]
		if t.Expect != ExpectFire && t.Expect != ExpectQuiet {
			errs = append(errs, fmt.Errorf("tests[%d] %q: expect must be fire or quiet", i, t.Name))
		}
		if t.Event.Kind == "" {
			if len(r.Kinds) == 0 || r.Kinds[0] == anyKind {
				errs = append(errs, fmt.Errorf("tests[%d] %q: the event needs a kind", i, t.Name))
			} else {
				t.Event.Kind = r.Kinds[0]
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("rule %s: %w", cmpOr(r.ID, "(no id)"), err)
	}
	return nil
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// validateNames checks list and macro names: identifiers that shadow no
// variable, keyword or each other.
func validateNames(lists map[string][]string, macros map[string]string) error {
	var errs []error
	check := func(what, name string) {
		switch {
		case !namePattern.MatchString(name):
			errs = append(errs, fmt.Errorf("%s %q: want a lower-case identifier (a-z, 0-9, _)", what, name))
		case reserved[name]:
			errs = append(errs, fmt.Errorf("%s %q: the name is a variable, function or keyword of the rule language", what, name))
		}
	}
	for _, n := range slices.Sorted(maps.Keys(lists)) {
		check("list", n)
	}
	for _, n := range slices.Sorted(maps.Keys(macros)) {
		check("macro", n)
		if _, ok := lists[n]; ok {
			errs = append(errs, fmt.Errorf("macro %q: a list has the same name", n))
		}
		if strings.TrimSpace(macros[n]) == "" {
			errs = append(errs, fmt.Errorf("macro %q is empty", n))
		}
	}
	return errors.Join(errs...)
}

// Parse reads one rule file. name is used in errors and recorded as each
// rule's File.
func Parse(name string, data []byte) (*Ruleset, error) {
	if len(data) > maxRuleFile {
		return nil, fmt.Errorf("%s: rule file over %d bytes", name, maxRuleFile)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var f file
	if err := dec.Decode(&f); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	var errs []error
	if err := validateNames(f.Lists, f.Macros); err != nil {
		errs = append(errs, fmt.Errorf("%s: %w", name, err))
	}
	seen := map[string]bool{}
	for i := range f.Rules {
		r := &f.Rules[i]
		r.File = name
		if err := r.Validate(); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
		}
		if seen[r.ID] {
			errs = append(errs, fmt.Errorf("%s: rule %s defined twice", name, r.ID))
		}
		seen[r.ID] = true
	}
	return &Ruleset{Lists: f.Lists, Macros: f.Macros, Rules: f.Rules}, errors.Join(errs...)
}

// maxRuleFile bounds one rule file.
const maxRuleFile = 4 << 20

// Load reads every *.yaml / *.yml rule file under dir of fsys into one
// set. Rule ids, list and macro names must be unique across the files.
// A file that does not parse is reported (all problems joined) and the
// rules that did parse are returned beside the error.
func Load(fsys fs.FS, dir string) (*Ruleset, error) {
	out := &Ruleset{Lists: map[string][]string{}, Macros: map[string]string{}}
	var errs []error
	where := map[string]string{}
	claim := func(kind, name, file string) bool {
		key := kind + " " + name
		if prev, ok := where[key]; ok {
			errs = append(errs, fmt.Errorf("%s %s defined twice (%s and %s)", kind, name, prev, file))
			return false
		}
		where[key] = file
		return true
	}
	err := fs.WalkDir(fsys, dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || (path.Ext(p) != ".yaml" && path.Ext(p) != ".yml") {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		if info.Size() > maxRuleFile {
			errs = append(errs, fmt.Errorf("%s: rule file over %d bytes", p, maxRuleFile))
			return nil
		}
		data, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		rs, err := Parse(p, data)
		if err != nil {
			errs = append(errs, err)
		}
		if rs == nil {
			return nil
		}
		for n, l := range rs.Lists {
			if claim("list", n, p) {
				out.Lists[n] = l
			}
		}
		for n, m := range rs.Macros {
			if claim("macro", n, p) {
				out.Macros[n] = m
			}
		}
		for _, r := range rs.Rules {
			if claim("rule", r.ID, p) {
				out.Rules = append(out.Rules, r)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("load rules from %s: %w", dir, err)
	}
	for n := range out.Macros {
		if _, ok := out.Lists[n]; ok {
			errs = append(errs, fmt.Errorf("macro %s: a list has the same name", n))
		}
	}
	sortRules(out.Rules)
	return out, errors.Join(errs...)
}
