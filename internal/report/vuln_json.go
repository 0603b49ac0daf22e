package report

import (
	"io"
	"time"

	"github.com/vigil-sec/vigil/internal/asset"
	"github.com/vigil-sec/vigil/internal/inventory"
	"github.com/vigil-sec/vigil/internal/vuln"
)

// VulnSchemaVersion names the vulnerability JSON document's schema
// (docs/formats/vuln-json.md). Like SchemaVersion, it changes only when a
// field is removed or changes meaning.
const VulnSchemaVersion = "vigil.vulnerabilities/v1"

// VulnDocument is the JSON form of a vulnerability report: the inventory
// Document's fields, then the matches and the upgrades that fix them.
type VulnDocument struct {
	SchemaVersion string      `json:"schemaVersion"`
	Tool          Tool        `json:"tool"`
	GeneratedAt   time.Time   `json:"generatedAt"`
	Complete      bool        `json:"complete"`
	Asset         asset.Asset `json:"asset"`
	Summary       VulnSummary `json:"summary"`
	// Matches are riskiest first, suppressed ones included (with their
	// "suppressed" reason).
	Matches []vuln.Match `json:"matches"`
	// Fixes are the upgrades to make, the one removing the highest risk
	// first.
	Fixes []vuln.PackageFix `json:"fixes"`
	// Skipped counts packages that were not matched and why.
	Skipped  []vuln.Skipped      `json:"skipped,omitempty"`
	Packages []inventory.Package `json:"packages"`
	Unknowns []inventory.Unknown `json:"unknowns,omitempty"`
}

// VulnSummary counts packages (as Summary does) and matches.
type VulnSummary struct {
	Summary
	// Vulnerabilities counts the matches that are not suppressed.
	Vulnerabilities int `json:"vulnerabilities"`
	// Suppressed counts the matches an ignore rule or VEX statement
	// suppressed.
	Suppressed int `json:"suppressed"`
	// Fixable counts the unsuppressed matches with a known fix; KEV those
	// in CISA's Known Exploited Vulnerabilities catalogue.
	Fixable int `json:"fixable"`
	KEV     int `json:"kev"`
	// BySeverity counts unsuppressed matches per severity; every severity
	// is present, zero or not.
	BySeverity map[string]int `json:"bySeverity"`
}

// SummarizeVulns counts rep's packages and matches.
func SummarizeVulns(rep *vuln.Report) VulnSummary {
	s := VulnSummary{Summary: Summarize(resultOf(rep)), BySeverity: map[string]int{}}
	for _, sev := range severities {
		s.BySeverity[sev.String()] = 0
	}
	for _, m := range rep.Matches {
		if m.Suppressed != nil {
			s.Suppressed++
			continue
		}
		s.Vulnerabilities++
		s.BySeverity[m.Severity.String()]++
		if hasFix(&m) {
			s.Fixable++
		}
		if m.KEV != nil {
			s.KEV++
		}
	}
	return s
}

// WriteVulnJSON writes rep as a VulnDocument.
func WriteVulnJSON(w io.Writer, rep *vuln.Report, tool Tool, now time.Time) error {
	base := newDocument(resultOf(rep), tool, now)
	matches := sortedMatches(rep)
	if matches == nil {
		matches = []vuln.Match{}
	}
	plans := fixPlans(rep)
	fixes := make([]vuln.PackageFix, len(plans))
	for i, p := range plans {
		fixes[i] = p.PackageFix
	}
	doc := VulnDocument{
		SchemaVersion: VulnSchemaVersion,
		Tool:          base.Tool,
		GeneratedAt:   base.GeneratedAt,
		Complete:      base.Complete,
		Asset:         base.Asset,
		Summary:       SummarizeVulns(rep),
		Matches:       matches,
		Fixes:         fixes,
		Skipped:       rep.Skipped,
		Packages:      base.Packages,
		Unknowns:      base.Unknowns,
	}
	return encodeJSON(w, doc)
}
