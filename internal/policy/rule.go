package policy

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/vigil-sec/vigil/internal/finding"
	"github.com/vigil-sec/vigil/internal/iac"
)

// Rule is one check: what it looks at, when it fires, and what to say.
type Rule struct {
	// ID is stable across releases ("VGL-AWS-S3-001"); suppressions and
	// baselines name it.
	ID          string           `yaml:"id" json:"id"`
	Title       string           `yaml:"title" json:"title"`
	Severity    finding.Severity `yaml:"severity" json:"severity"`
	Description string           `yaml:"description" json:"description"`
	Remediation string           `yaml:"remediation" json:"remediation"`
	References  []string         `yaml:"references,omitempty" json:"references,omitempty"`
	// Frameworks maps a framework to its control ids:
	// {"cis-aws-1.5": ["2.1.1"], "pss": ["baseline"], "nsa-cisa-k8s": ["pod-security"]}.
	Frameworks map[string][]string `yaml:"frameworks,omitempty" json:"frameworks,omitempty"`

	// Sources limits the rule to resources read from these formats
	// (terraform, kubernetes, …); empty means any.
	Sources []iac.Source `yaml:"sources,omitempty" json:"sources,omitempty"`
	// Types lists the resource types the rule judges; "*" means every type
	// of the rule's sources. Required.
	Types []string `yaml:"types" json:"types"`
	// Each, when set, is a CEL expression yielding a list; Condition is
	// then evaluated once per element (bound to `item`, its position to
	// `index`) and each true result is its own finding.
	Each string `yaml:"each,omitempty" json:"each,omitempty"`
	// Condition is a CEL expression that is true when the resource (or
	// item) violates the rule. Required.
	Condition string `yaml:"condition" json:"condition"`
	// Path is an optional CEL expression yielding the attribute path the
	// finding is about ("ingress.0.cidr_blocks"); the finding then points
	// at that attribute's lines.
	Path string `yaml:"path,omitempty" json:"path,omitempty"`
	// Message is an optional CEL expression yielding the finding's
	// message; the title is used otherwise.
	Message string `yaml:"message,omitempty" json:"message,omitempty"`

	Tests []RuleTest `yaml:"tests,omitempty" json:"-"`

	// File is where the rule was read from.
	File string `yaml:"-" json:"file,omitempty"`
}

// RuleTest is one fixture: files that, scanned, must (Expect "fail") or
// must not (Expect "pass") make the rule fire.
type RuleTest struct {
	Name string `yaml:"name"`
	// Expect is "fail" or "pass".
	Expect string `yaml:"expect"`
	// Files maps file names to their content.
	Files map[string]string `yaml:"files"`
	// Count, when set on a "fail" test, is the exact number of findings.
	Count int `yaml:"count,omitempty"`
}

// ruleFile is the on-disk shape: a YAML file with a list of rules.
type ruleFile struct {
	Rules []Rule `yaml:"rules"`
}

var idPattern = regexp.MustCompile(`^[A-Z][A-Z0-9]*(-[A-Z0-9]+)+$`)

// Validate checks a rule's metadata (not its expressions: Compile does).
func (r *Rule) Validate() error {
	var errs []error
	if !idPattern.MatchString(r.ID) {
		errs = append(errs, fmt.Errorf("id %q: want upper-case words joined by dashes (VGL-AWS-S3-001)", r.ID))
	}
	if strings.TrimSpace(r.Title) == "" {
		errs = append(errs, errors.New("title is required"))
	}
	if r.Severity == finding.SeverityUnknown {
		errs = append(errs, errors.New("severity is required (low, medium, high, critical)"))
	}
	if len(r.Types) == 0 {
		errs = append(errs, errors.New("types is required (resource types, or \"*\")"))
	}
	if strings.TrimSpace(r.Condition) == "" {
		errs = append(errs, errors.New("condition is required"))
	}
	for i, t := range r.Tests {
		if t.Expect != "pass" && t.Expect != "fail" {
			errs = append(errs, fmt.Errorf("tests[%d] %q: expect must be pass or fail", i, t.Name))
		}
		if len(t.Files) == 0 {
			errs = append(errs, fmt.Errorf("tests[%d] %q: no files", i, t.Name))
		}
		for name := range t.Files {
			if !fs.ValidPath(name) {
				errs = append(errs, fmt.Errorf("tests[%d] %q: file name %q must be a relative slash path", i, t.Name, name))
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

// ParseRules reads one rule file. name is used in errors and recorded as
// each rule's File.
func ParseRules(name string, data []byte) ([]Rule, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var f ruleFile
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	var errs []error
	for i := range f.Rules {
		f.Rules[i].File = name
		if err := f.Rules[i].Validate(); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
		}
	}
	return f.Rules, errors.Join(errs...)
}

// maxRuleFile bounds one rule file.
const maxRuleFile = 4 << 20

// LoadDir reads every *.yaml / *.yml rule file under dir of fsys. Rule ids
// must be unique across the set.
func LoadDir(fsys fs.FS, dir string) ([]Rule, error) {
	var rules []Rule
	var errs []error
	err := fs.WalkDir(fsys, dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		if ext := path.Ext(p); ext != ".yaml" && ext != ".yml" {
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
		rs, err := ParseRules(p, data)
		if err != nil {
			errs = append(errs, err)
		}
		rules = append(rules, rs...)
		return nil
	})
	if err != nil {
		return nil, err
	}
	seen := map[string]string{}
	for _, r := range rules {
		if prev, ok := seen[r.ID]; ok {
			errs = append(errs, fmt.Errorf("rule %s defined twice (%s and %s)", r.ID, prev, r.File))
		}
		seen[r.ID] = r.File
	}
	slices.SortFunc(rules, func(a, b Rule) int { return strings.Compare(a.ID, b.ID) })
	return rules, errors.Join(errs...)
}
