package sarif

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/vigil-sec/vigil/internal/finding"
)

// Version is the SARIF version Write produces.
const Version = "2.1.0"

// SchemaURI is the OASIS schema of SARIF 2.1.0 (errata 01), written as the
// log's "$schema".
const SchemaURI = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"

// Result levels, as SARIF names them.
const (
	LevelError   = "error"
	LevelWarning = "warning"
	LevelNote    = "note"
	LevelNone    = "none"
)

// Suppression kinds and statuses, as SARIF names them.
const (
	KindExternal = "external" // suppressed by a file or service outside the analysed artefact
	KindInSource = "inSource" // suppressed by a comment or attribute in the artefact itself

	StatusAccepted    = "accepted"
	StatusUnderReview = "underReview"
	StatusRejected    = "rejected"
)

// SecuritySeverityProperty is the rule property GitHub code scanning reads
// to grade and sort security results: a CVSS-like score from "0.0" to
// "10.0", written as a string.
const SecuritySeverityProperty = "security-severity"

// Errors returned by Write, wrapped with detail; test with errors.Is.
var (
	// ErrInvalid: a rule or result cannot be written as valid SARIF (no
	// rule ID, two rules with one ID, an unknown level, a result naming
	// no rule).
	ErrInvalid = errors.New("invalid SARIF input")
)

// Tool names the program that produced the results.
type Tool struct {
	Name           string
	Version        string
	InformationURI string
}

// Rule describes one kind of result: a vulnerability, a policy check, a
// secret detector.
type Rule struct {
	// ID identifies the rule and is what results name; required and unique.
	ID string
	// Name is an optional identifier-like name ("OutdatedOpenSSL").
	Name             string
	ShortDescription string
	FullDescription  string
	HelpURI          string
	// Help is plain text; HelpMarkdown, when set, is shown instead by
	// viewers that render Markdown.
	Help         string
	HelpMarkdown string
	// DefaultLevel is the level of results that set none: one of the Level
	// constants, or "" for SARIF's own default (warning).
	DefaultLevel string
	// Properties go into the rule's property bag; SecuritySeverityProperty
	// and "tags" ([]string) are understood by GitHub.
	Properties map[string]any
}

// Result is one finding of a rule.
type Result struct {
	// RuleID names a Rule passed to Write.
	RuleID string
	// Level is one of the Level constants, or "" for the rule's default.
	Level string
	// Message says what was found, in words; required.
	Message   string
	Locations []Location
	// Fingerprints are partial fingerprints: stable identities that let a
	// viewer recognise the same result across runs ("vigil/finding/v1").
	Fingerprints map[string]string
	// Suppressions say why the result does not count, when it does not.
	Suppressions []Suppression
	Properties   map[string]any
}

// Location is where a result was found: a file (and lines), a logical
// thing (a package, a resource), or both.
type Location struct {
	// URI is a relative reference ("app/go.mod") or an absolute URI; it is
	// escaped as needed when written.
	URI string
	// StartLine and EndLine are 1-based; zero leaves them out.
	StartLine, EndLine int
	// LogicalName names the logical location ("openssl@3.0.2"), and
	// LogicalKind says what it is (SARIF's "module", "resource",
	// "function" ...).
	LogicalName string
	LogicalKind string
}

// Suppression records that a result is suppressed and why.
type Suppression struct {
	// Kind is KindExternal or KindInSource.
	Kind string
	// Status is one of the Status constants or "".
	Status        string
	Justification string
}

// Write writes rules and results to w as a SARIF 2.1.0 log of one run of
// tool. Rules are written sorted by ID, results sorted by rule, location,
// message and fingerprints, so that the output does not depend on the order
// of the input; neither slice is modified.
func Write(w io.Writer, tool Tool, rules []Rule, results []Result) error {
	log, err := build(tool, rules, results)
	if err != nil {
		return fmt.Errorf("write SARIF: %w", err)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(log); err != nil {
		return fmt.Errorf("write SARIF: %w", err)
	}
	return nil
}

// LevelFor maps a finding severity to a result level: critical and high
// are errors, medium a warning, low and unknown notes.
func LevelFor(s finding.Severity) string {
	switch s {
	case finding.SeverityCritical, finding.SeverityHigh:
		return LevelError
	case finding.SeverityMedium:
		return LevelWarning
	}
	return LevelNote
}

// SecuritySeverity formats a 0–10 score (a CVSS base score) as the
// security-severity property wants it: one decimal, as a string.
func SecuritySeverity(score float64) string {
	return strconv.FormatFloat(min(max(score, 0), 10), 'f', 1, 64)
}

// SeverityScore is the score that stands for a severity when no CVSS score
// is known: the middle of GitHub's band for it (low 0.1–3.9, medium
// 4.0–6.9, high 7.0–8.9, critical 9.0–10.0). ok is false for unknown.
func SeverityScore(s finding.Severity) (score float64, ok bool) {
	switch s {
	case finding.SeverityCritical:
		return 9.5, true
	case finding.SeverityHigh:
		return 8.0, true
	case finding.SeverityMedium:
		return 5.5, true
	case finding.SeverityLow:
		return 2.0, true
	}
	return 0, false
}

func validLevel(l string) bool {
	switch l {
	case "", LevelError, LevelWarning, LevelNote, LevelNone:
		return true
	}
	return false
}

func build(tool Tool, rules []Rule, results []Result) (*log, error) {
	if tool.Name == "" {
		return nil, fmt.Errorf("%w: tool has no name", ErrInvalid)
	}
	rules = slices.Clone(rules)
	slices.SortFunc(rules, func(a, b Rule) int { return strings.Compare(a.ID, b.ID) })
	index := make(map[string]int, len(rules))
	descs := make([]reportingDescriptor, len(rules))
	for i, r := range rules {
		if r.ID == "" {
			return nil, fmt.Errorf("%w: rule without an ID", ErrInvalid)
		}
		if _, dup := index[r.ID]; dup {
			return nil, fmt.Errorf("%w: two rules with ID %q", ErrInvalid, r.ID)
		}
		if !validLevel(r.DefaultLevel) {
			return nil, fmt.Errorf("%w: rule %q: unknown level %q", ErrInvalid, r.ID, r.DefaultLevel)
		}
		index[r.ID] = i
		descs[i] = reportingDescriptor{
			ID:               r.ID,
			Name:             r.Name,
			ShortDescription: text(r.ShortDescription),
			FullDescription:  text(r.FullDescription),
			HelpURI:          r.HelpURI,
			Properties:       r.Properties,
		}
		if r.Help != "" || r.HelpMarkdown != "" {
			descs[i].Help = &multiformat{Text: cmp.Or(r.Help, r.HelpMarkdown), Markdown: r.HelpMarkdown}
		}
		if r.DefaultLevel != "" {
			descs[i].DefaultConfiguration = &reportingConfiguration{Level: r.DefaultLevel}
		}
	}

	out := make([]result, len(results))
	for i, r := range results {
		idx, ok := index[r.RuleID]
		if !ok {
			return nil, fmt.Errorf("%w: result names unknown rule %q", ErrInvalid, r.RuleID)
		}
		if !validLevel(r.Level) {
			return nil, fmt.Errorf("%w: result of %q: unknown level %q", ErrInvalid, r.RuleID, r.Level)
		}
		if r.Message == "" {
			return nil, fmt.Errorf("%w: result of %q has no message", ErrInvalid, r.RuleID)
		}
		res := result{
			RuleID:              r.RuleID,
			RuleIndex:           idx,
			Level:               r.Level,
			Message:             message{Text: r.Message},
			PartialFingerprints: r.Fingerprints,
			Properties:          r.Properties,
		}
		for _, l := range r.Locations {
			res.Locations = append(res.Locations, newLocation(l))
		}
		for _, s := range r.Suppressions {
			if s.Kind != KindExternal && s.Kind != KindInSource {
				return nil, fmt.Errorf("%w: result of %q: unknown suppression kind %q", ErrInvalid, r.RuleID, s.Kind)
			}
			switch s.Status {
			case "", StatusAccepted, StatusUnderReview, StatusRejected:
			default:
				return nil, fmt.Errorf("%w: result of %q: unknown suppression status %q", ErrInvalid, r.RuleID, s.Status)
			}
			res.Suppressions = append(res.Suppressions, suppression(s))
		}
		out[i] = res
	}
	slices.SortStableFunc(out, compareResults)

	return &log{
		Schema:  SchemaURI,
		Version: Version,
		Runs: []run{{
			Tool: toolWrapper{Driver: driver{
				Name:           tool.Name,
				Version:        tool.Version,
				InformationURI: tool.InformationURI,
				Rules:          descs,
			}},
			Results: out,
		}},
	}, nil
}

// compareResults orders results by rule, then by where, then by what they
// say, so that Write's output does not depend on input order.
func compareResults(a, b result) int {
	if c := cmp.Compare(a.RuleIndex, b.RuleIndex); c != 0 {
		return c
	}
	if c := slices.CompareFunc(a.Locations, b.Locations, compareLocations); c != 0 {
		return c
	}
	if c := strings.Compare(a.Message.Text, b.Message.Text); c != 0 {
		return c
	}
	if c := strings.Compare(a.Level, b.Level); c != 0 {
		return c
	}
	return strings.Compare(mapKey(a.PartialFingerprints), mapKey(b.PartialFingerprints))
}

func compareLocations(a, b location) int {
	var au, bu string
	var al, bl int
	if a.PhysicalLocation != nil {
		au = a.PhysicalLocation.ArtifactLocation.URI
		if a.PhysicalLocation.Region != nil {
			al = a.PhysicalLocation.Region.StartLine
		}
	}
	if b.PhysicalLocation != nil {
		bu = b.PhysicalLocation.ArtifactLocation.URI
		if b.PhysicalLocation.Region != nil {
			bl = b.PhysicalLocation.Region.StartLine
		}
	}
	if c := strings.Compare(au, bu); c != 0 {
		return c
	}
	if c := cmp.Compare(al, bl); c != 0 {
		return c
	}
	var an, bn string
	if len(a.LogicalLocations) > 0 {
		an = a.LogicalLocations[0].Name
	}
	if len(b.LogicalLocations) > 0 {
		bn = b.LogicalLocations[0].Name
	}
	return strings.Compare(an, bn)
}

// mapKey renders a string map in key order, for comparisons.
func mapKey(m map[string]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b strings.Builder
	for _, k := range keys {
		b.WriteString(k)
		b.WriteByte(0)
		b.WriteString(m[k])
		b.WriteByte(0)
	}
	return b.String()
}

func newLocation(l Location) location {
	var out location
	if l.URI != "" {
		pl := &physicalLocation{ArtifactLocation: artifactLocation{URI: escapeURI(l.URI)}}
		if l.StartLine > 0 {
			pl.Region = &region{StartLine: l.StartLine}
			if l.EndLine >= l.StartLine {
				pl.Region.EndLine = l.EndLine
			}
		}
		out.PhysicalLocation = pl
	}
	if l.LogicalName != "" {
		out.LogicalLocations = []logicalLocation{{Name: l.LogicalName, Kind: l.LogicalKind}}
	}
	return out
}

// escapeURI makes a path or URI a valid URI reference: an absolute URI is
// kept as it is, anything else is treated as a slash-separated path and
// percent-escaped.
func escapeURI(s string) string {
	if u, err := url.Parse(s); err == nil && u.Scheme != "" && u.Opaque == "" && strings.Contains(s, "://") {
		return u.String()
	}
	return (&url.URL{Path: s}).String()
}

func text(s string) *multiformat {
	if s == "" {
		return nil
	}
	return &multiformat{Text: s}
}

// The subset of the SARIF 2.1.0 object model Vigil writes. Field names and
// order follow the specification (§3).

type log struct {
	Schema  string `json:"$schema"`
	Version string `json:"version"`
	Runs    []run  `json:"runs"`
}

type run struct {
	Tool    toolWrapper `json:"tool"`
	Results []result    `json:"results"`
}

type toolWrapper struct {
	Driver driver `json:"driver"`
}

type driver struct {
	Name           string                `json:"name"`
	Version        string                `json:"version,omitempty"`
	InformationURI string                `json:"informationUri,omitempty"`
	Rules          []reportingDescriptor `json:"rules"`
}

type reportingDescriptor struct {
	ID                   string                  `json:"id"`
	Name                 string                  `json:"name,omitempty"`
	ShortDescription     *multiformat            `json:"shortDescription,omitempty"`
	FullDescription      *multiformat            `json:"fullDescription,omitempty"`
	DefaultConfiguration *reportingConfiguration `json:"defaultConfiguration,omitempty"`
	HelpURI              string                  `json:"helpUri,omitempty"`
	Help                 *multiformat            `json:"help,omitempty"`
	Properties           map[string]any          `json:"properties,omitempty"`
}

type multiformat struct {
	Text     string `json:"text"`
	Markdown string `json:"markdown,omitempty"`
}

type reportingConfiguration struct {
	Level string `json:"level,omitempty"`
}

type result struct {
	RuleID              string            `json:"ruleId"`
	RuleIndex           int               `json:"ruleIndex"`
	Level               string            `json:"level,omitempty"`
	Message             message           `json:"message"`
	Locations           []location        `json:"locations,omitempty"`
	PartialFingerprints map[string]string `json:"partialFingerprints,omitempty"`
	Suppressions        []suppression     `json:"suppressions,omitempty"`
	Properties          map[string]any    `json:"properties,omitempty"`
}

type message struct {
	Text string `json:"text"`
}

type location struct {
	PhysicalLocation *physicalLocation `json:"physicalLocation,omitempty"`
	LogicalLocations []logicalLocation `json:"logicalLocations,omitempty"`
}

type physicalLocation struct {
	ArtifactLocation artifactLocation `json:"artifactLocation"`
	Region           *region          `json:"region,omitempty"`
}

type artifactLocation struct {
	URI string `json:"uri"`
}

type region struct {
	StartLine int `json:"startLine"`
	EndLine   int `json:"endLine,omitempty"`
}

type logicalLocation struct {
	Name string `json:"name"`
	Kind string `json:"kind,omitempty"`
}

type suppression struct {
	Kind          string `json:"kind"`
	Status        string `json:"status,omitempty"`
	Justification string `json:"justification,omitempty"`
}
