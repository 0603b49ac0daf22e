package report

import (
	"cmp"
	"fmt"
	"io"
	"net/url"
	"slices"
	"strings"

	"github.com/vigil-sec/vigil/internal/finding"
	"github.com/vigil-sec/vigil/internal/inventory"
	"github.com/vigil-sec/vigil/internal/sarif"
	"github.com/vigil-sec/vigil/internal/vuln"
)

// FingerprintKey is the SARIF partial fingerprint holding a match's
// finding ID (finding.NewID): the same vulnerability of the same package of
// the same asset has the same fingerprint in every scan.
const FingerprintKey = "vigil/finding/v1"

// WriteVulnSARIF writes rep as a SARIF 2.1.0 log (see VulnSARIF).
func WriteVulnSARIF(w io.Writer, rep *vuln.Report, tool sarif.Tool) error {
	rules, results := VulnSARIF(rep)
	return sarif.Write(w, tool, rules, results)
}

// VulnSARIF turns rep into SARIF rules and results: one rule per
// vulnerability ID, one result per match. A suppressed match is a result
// with an external suppression saying why. A result's location is the
// package's declaring file (its first location, made relative to the
// asset's root) and, logically, name@version.
func VulnSARIF(rep *vuln.Report) ([]sarif.Rule, []sarif.Result) {
	r := resultOf(rep)
	pkgs := packageIndex(r)
	matches := sortedMatches(rep)

	byID := map[string][]*vuln.Match{}
	var ids []string
	for i := range matches {
		m := &matches[i]
		if _, ok := byID[m.ID]; !ok {
			ids = append(ids, m.ID)
		}
		byID[m.ID] = append(byID[m.ID], m)
	}
	slices.Sort(ids)
	rules := make([]sarif.Rule, 0, len(ids))
	for _, id := range ids {
		rules = append(rules, vulnRule(id, byID[id]))
	}

	results := make([]sarif.Result, 0, len(matches))
	for i := range matches {
		m := &matches[i]
		results = append(results, vulnResult(m, pkgs[m.PackageID], r.Asset.ID))
	}
	return rules, results
}

// vulnRule describes vulnerability id from its matches (riskiest first):
// the highest severity and CVSS score among them grade it.
func vulnRule(id string, ms []*vuln.Match) sarif.Rule {
	sev := finding.SeverityUnknown
	var cvss *vuln.CVSS
	var aliases []string
	summary := ""
	for _, m := range ms {
		sev = max(sev, m.Severity)
		if m.CVSS != nil && (cvss == nil || m.CVSS.Score > cvss.Score) {
			cvss = m.CVSS
		}
		aliases = append(aliases, m.Aliases...)
		summary = cmp.Or(summary, m.Summary)
	}
	slices.Sort(aliases)
	aliases = slices.Compact(aliases)

	short := id
	if summary != "" {
		short = id + ": " + summary
	}
	full := cmp.Or(summary, "Known vulnerability "+id+".")
	if len(aliases) > 0 {
		full = strings.TrimSuffix(full, ".") + ". Also known as " + strings.Join(aliases, ", ") + "."
	}

	props := map[string]any{"tags": []string{"security", "vulnerability", sev.String()}}
	if len(aliases) > 0 {
		props["aliases"] = aliases
	}
	if cvss != nil {
		props[sarif.SecuritySeverityProperty] = sarif.SecuritySeverity(cvss.Score)
		props["cvss"] = cvss
	} else if score, ok := sarif.SeverityScore(sev); ok {
		props[sarif.SecuritySeverityProperty] = sarif.SecuritySeverity(score)
	}

	var help, md strings.Builder
	fmt.Fprintf(&help, "%s (%s)\n", short, sev)
	fmt.Fprintf(&md, "**%s** (%s)\n\n", mdEscape(short), sev)
	if cvss != nil {
		fmt.Fprintf(&help, "CVSS %s %.1f %s\n", cvss.Version, cvss.Score, cvss.Vector)
		fmt.Fprintf(&md, "CVSS %s **%.1f** `%s`\n\n", cvss.Version, cvss.Score, cvss.Vector)
	}
	help.WriteString("Affected packages:\n")
	md.WriteString("| Package | Installed | Fixed in |\n|---|---|---|\n")
	for _, m := range ms {
		fmt.Fprintf(&help, "  %s %s: fixed in %s\n", m.Package, m.Version, fixedIn(m))
		fmt.Fprintf(&md, "| %s | %s | %s |\n", mdEscape(m.Package), mdEscape(m.Version), mdEscape(fixedIn(m)))
	}
	fmt.Fprintf(&help, "Details: %s\n", advisoryURL(id))

	return sarif.Rule{
		ID:               id,
		ShortDescription: short,
		FullDescription:  full,
		HelpURI:          advisoryURL(id),
		Help:             help.String(),
		HelpMarkdown:     md.String(),
		DefaultLevel:     sarif.LevelFor(sev),
		Properties:       props,
	}
}

func vulnResult(m *vuln.Match, p *inventory.Package, assetID string) sarif.Result {
	msg := fmt.Sprintf("%s %s is affected by %s (%s)", m.Package, m.Version, m.ID, m.Severity)
	if fix := fixedIn(m); fix != "-" {
		msg += "; fixed in " + fix
	} else {
		msg += "; no fix is known"
	}
	if m.KEV != nil {
		msg += "; known to be exploited (CISA KEV)"
	}
	msg += "."

	loc := sarif.Location{LogicalName: m.Package + "@" + m.Version, LogicalKind: "package"}
	if p != nil && len(p.Locations) > 0 {
		loc.URI = strings.TrimPrefix(p.Locations[0].Path, "/")
	}

	props := map[string]any{
		"packageId": m.PackageID,
		"package":   m.Package,
		"version":   m.Version,
		"ecosystem": string(m.Ecosystem),
		"severity":  m.Severity.String(),
		"riskScore": m.Risk.Score,
	}
	if p != nil && p.PURL != "" {
		props["purl"] = p.PURL
	}
	if m.FixVersion != "" {
		props["fixVersion"] = m.FixVersion
	}
	if len(m.Fixed) > 0 {
		props["fixedVersions"] = m.Fixed
	}
	if m.EPSS != nil {
		props["epss"] = m.EPSS.Score
	}
	if m.KEV != nil {
		props["kev"] = true
	}
	if m.Reachable != nil {
		props["reachable"] = *m.Reachable
	}

	res := sarif.Result{
		RuleID:       m.ID,
		Level:        sarif.LevelFor(m.Severity),
		Message:      msg,
		Locations:    []sarif.Location{loc},
		Fingerprints: map[string]string{FingerprintKey: m.Finding(assetID).ID},
		Properties:   props,
	}
	if s := m.Suppressed; s != nil {
		res.Suppressions = []sarif.Suppression{{
			Kind:          sarif.KindExternal,
			Status:        sarif.StatusAccepted,
			Justification: suppressionText(s),
		}}
	}
	return res
}

// suppressionText says in words who suppressed a match and why.
func suppressionText(s *vuln.Suppression) string {
	out := s.By
	if s.Status != "" {
		out += " (" + s.Status + ")"
	}
	if s.Reason != "" {
		out += ": " + s.Reason
	}
	return out
}

// advisoryURL is a page about vulnerability id: OSV.dev indexes every ID
// Vigil matches on (CVE, GHSA, GO-, PYSEC-, RUSTSEC-, DSA-, ...).
func advisoryURL(id string) string {
	return "https://osv.dev/vulnerability/" + url.PathEscape(id)
}

// mdEscape keeps text from being read as Markdown table or emphasis syntax.
func mdEscape(s string) string {
	return mdEscaper.Replace(s)
}

var mdEscaper = strings.NewReplacer(`\`, `\\`, "|", `\|`, "*", `\*`, "_", `\_`, "`", "\\`", "<", "&lt;", ">", "&gt;", "\n", " ")
