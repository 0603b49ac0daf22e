package report

import (
	"bufio"
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/vigil-sec/vigil/internal/finding"
	"github.com/vigil-sec/vigil/internal/iac"
	"github.com/vigil-sec/vigil/internal/policy"
	"github.com/vigil-sec/vigil/internal/sarif"
)

// ConfigSchemaVersion names the JSON schema of a config scan.
const ConfigSchemaVersion = "vigil.config/v1"

// ConfigReport is the outcome of `vigil scan config`.
type ConfigReport struct {
	// Target is the path scanned.
	Target string
	// Findings include suppressed ones (with their reason).
	Findings []policy.Finding
	// Rules are the rules that were evaluated, for SARIF's rule table.
	Rules []*policy.Rule
	// Problems are files that could not be read or understood.
	Problems []iac.FileError
	// RuleErrors are rule evaluations that failed at run time.
	RuleErrors []policy.EvalError
	// Warnings are notes for the user (suppressions not honoured).
	Warnings  []string
	Files     int
	Resources int
}

// ConfigSummary counts a config scan's unsuppressed findings.
type ConfigSummary struct {
	Findings   int            `json:"findings"`
	BySeverity map[string]int `json:"bySeverity"`
	Suppressed int            `json:"suppressed"`
	Files      int            `json:"files"`
	Resources  int            `json:"resources"`
}

// SummarizeConfig counts r's findings.
func SummarizeConfig(r *ConfigReport) ConfigSummary {
	s := ConfigSummary{BySeverity: map[string]int{}, Files: r.Files, Resources: r.Resources}
	for _, f := range r.Findings {
		if f.Suppressed != "" {
			s.Suppressed++
			continue
		}
		s.Findings++
		s.BySeverity[f.Severity.String()]++
	}
	return s
}

// configFindings returns r's findings, highest severity first, then by
// place.
func configFindings(fs []policy.Finding) []policy.Finding {
	out := slices.Clone(fs)
	slices.SortStableFunc(out, func(a, b policy.Finding) int {
		if a.Severity != b.Severity {
			return cmp.Compare(b.Severity, a.Severity)
		}
		return 0
	})
	return out
}

func configLocation(f *policy.Finding) string {
	loc := f.Location.File
	if f.Location.Range.StartLine != 0 {
		loc += ":" + f.Location.Range.String()
	}
	// A resource written in a module or a chart template: say where it
	// was instantiated from (the call in the root module).
	if len(f.Via) > 0 && f.Via[0].File != f.Location.File {
		loc += " via " + f.Via[0].File
		if f.Via[0].Range.StartLine != 0 {
			loc += ":" + strconv.Itoa(f.Via[0].Range.StartLine)
		}
	}
	return loc
}

// WriteConfigTable writes r for a person.
func WriteConfigTable(w io.Writer, r *ConfigReport) error {
	ew := &errWriter{w: w}
	sum := SummarizeConfig(r)
	ew.printf("Target:     %s\n", r.Target)
	ew.printf("Scanned:    %s, %s\n", plural(r.Files, "file", "files"), plural(r.Resources, "resource", "resources"))
	if sum.Findings == 0 {
		ew.printf("Findings:   none\n")
	} else {
		var parts []string
		for _, s := range severities {
			if n := sum.BySeverity[s.String()]; n > 0 {
				parts = append(parts, fmt.Sprintf("%s %d", s, n))
			}
		}
		ew.printf("Findings:   %d (%s)\n\n", sum.Findings, strings.Join(parts, ", "))
		tw := tabwriter.NewWriter(ew, 2, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "  SEVERITY\tRULE\tRESOURCE\tLOCATION\tMESSAGE")
		for _, f := range configFindings(r.Findings) {
			if f.Suppressed != "" {
				continue
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\n", f.Severity, f.RuleID, f.Address, configLocation(&f), f.Message)
		}
		tw.Flush()
	}
	if sum.Suppressed > 0 {
		ew.printf("\n%s not shown (inline vigil:ignore or baseline); --format json lists them.\n",
			plural(sum.Suppressed, "suppressed finding", "suppressed findings"))
	}
	for _, wn := range r.Warnings {
		ew.printf("warning: %s\n", wn)
	}
	if len(r.RuleErrors) > 0 {
		ew.printf("\n%s could not be evaluated (first: %s)\n", plural(len(r.RuleErrors), "rule evaluation", "rule evaluations"), r.RuleErrors[0].Error())
	}
	if len(r.Problems) > 0 {
		ew.printf("\nINCOMPLETE: %s could not be read; findings there are not listed:\n", plural(len(r.Problems), "file", "files"))
		for _, p := range r.Problems {
			ew.printf("  %s\n", p.Error())
		}
	}
	return ew.err
}

// ConfigDocument is the JSON form of a config scan.
type ConfigDocument struct {
	SchemaVersion string           `json:"schemaVersion"`
	Tool          Tool             `json:"tool"`
	GeneratedAt   time.Time        `json:"generatedAt"`
	Target        string           `json:"target"`
	Complete      bool             `json:"complete"`
	Summary       ConfigSummary    `json:"summary"`
	Findings      []policy.Finding `json:"findings"`
	Problems      []ConfigProblem  `json:"problems,omitempty"`
	Warnings      []string         `json:"warnings,omitempty"`
}

// ConfigProblem is a file that could not be read, or a rule that could
// not be evaluated.
type ConfigProblem struct {
	File    string `json:"file"`
	RuleID  string `json:"ruleId,omitempty"`
	Address string `json:"address,omitempty"`
	Error   string `json:"error"`
}

// WriteConfigJSON writes r as a ConfigDocument. Findings are encoded one
// at a time, so a scan with a hundred thousand findings never holds its
// whole document in memory twice.
func WriteConfigJSON(w io.Writer, r *ConfigReport, tool Tool, now time.Time) error {
	var problems []ConfigProblem
	for _, p := range r.Problems {
		problems = append(problems, ConfigProblem{File: p.File, Error: p.Err.Error()})
	}
	for _, e := range r.RuleErrors {
		problems = append(problems, ConfigProblem{File: e.File, RuleID: e.RuleID, Address: e.Address, Error: e.Err.Error()})
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	field := func(name string, v any, last bool) error {
		b, err := json.MarshalIndent(v, "  ", "  ")
		if err != nil {
			return err
		}
		fmt.Fprintf(bw, "  %q: %s", name, b)
		if !last {
			bw.WriteString(",")
		}
		bw.WriteString("\n")
		return nil
	}
	bw.WriteString("{\n")
	for _, f := range []struct {
		name string
		v    any
	}{
		{"schemaVersion", ConfigSchemaVersion},
		{"tool", tool},
		{"generatedAt", now.UTC()},
		{"target", r.Target},
		{"complete", len(r.Problems) == 0},
		{"summary", SummarizeConfig(r)},
	} {
		if err := field(f.name, f.v, false); err != nil {
			return err
		}
	}
	bw.WriteString(`  "findings": [`)
	for i := range r.Findings {
		b, err := json.MarshalIndent(&r.Findings[i], "    ", "  ")
		if err != nil {
			return err
		}
		if i > 0 {
			bw.WriteString(",")
		}
		bw.WriteString("\n    ")
		bw.Write(b)
	}
	if len(r.Findings) > 0 {
		bw.WriteString("\n  ")
	}
	bw.WriteString("]")
	if len(problems) > 0 {
		bw.WriteString(",\n")
		if err := field("problems", problems, len(r.Warnings) == 0); err != nil {
			return err
		}
	} else if len(r.Warnings) > 0 {
		bw.WriteString(",\n")
	} else {
		bw.WriteString("\n")
	}
	if len(r.Warnings) > 0 {
		if err := field("warnings", r.Warnings, true); err != nil {
			return err
		}
	}
	bw.WriteString("}\n")
	return bw.Flush()
}

// ConfigFingerprintKey is the SARIF partial fingerprint of a config
// finding: rule, file, resource and attribute, never lines.
const ConfigFingerprintKey = "vigil/config/v1"

// WriteConfigSARIF writes r as a SARIF 2.1.0 log: every evaluated rule in
// the rule table, one result per finding, suppressions as SARIF
// suppressions.
func WriteConfigSARIF(w io.Writer, r *ConfigReport, tool sarif.Tool) error {
	rules := make([]sarif.Rule, 0, len(r.Rules))
	for _, rule := range r.Rules {
		rules = append(rules, configRule(rule))
	}
	results := make([]sarif.Result, 0, len(r.Findings))
	for _, f := range r.Findings {
		res := sarif.Result{
			RuleID:       f.RuleID,
			Level:        sarif.LevelFor(f.Severity),
			Message:      f.Message + " (" + f.Address + ")",
			Fingerprints: map[string]string{ConfigFingerprintKey: f.Fingerprint},
			Locations: []sarif.Location{{
				URI: f.Location.File, StartLine: f.Location.Range.StartLine, EndLine: f.Location.Range.EndLine,
				LogicalName: f.Address, LogicalKind: "resource",
			}},
		}
		switch f.SuppressedBy {
		case "inline":
			res.Suppressions = []sarif.Suppression{{Kind: sarif.KindInSource, Status: sarif.StatusAccepted, Justification: f.Suppressed}}
		case "baseline":
			res.Suppressions = []sarif.Suppression{{Kind: sarif.KindExternal, Status: sarif.StatusAccepted, Justification: f.Suppressed}}
		}
		results = append(results, res)
	}
	return sarif.Write(w, tool, rules, results)
}

func configRule(r *policy.Rule) sarif.Rule {
	tags := []string{"security", "misconfiguration", r.Severity.String()}
	for fw := range r.Frameworks {
		tags = append(tags, fw)
	}
	slices.Sort(tags[3:])
	props := map[string]any{"tags": tags}
	if score, ok := sarif.SeverityScore(r.Severity); ok {
		props[sarif.SecuritySeverityProperty] = sarif.SecuritySeverity(score)
	}
	if len(r.Frameworks) > 0 {
		props["frameworks"] = r.Frameworks
	}
	help := strings.TrimSpace(r.Description)
	if r.Remediation != "" {
		help += "\n\nRemediation: " + strings.TrimSpace(r.Remediation)
	}
	var uri string
	if len(r.References) > 0 {
		uri = r.References[0]
	}
	return sarif.Rule{
		ID:               r.ID,
		ShortDescription: r.Title,
		FullDescription:  cmp.Or(strings.TrimSpace(r.Description), r.Title),
		Help:             help,
		HelpURI:          uri,
		DefaultLevel:     sarif.LevelFor(r.Severity),
		Properties:       props,
	}
}

// FailingConfig counts unsuppressed findings at or above min.
func FailingConfig(r *ConfigReport, min finding.Severity) int {
	n := 0
	for _, f := range r.Findings {
		if f.Suppressed == "" && f.Severity >= min {
			n++
		}
	}
	return n
}
