package vuln

import (
	"context"
	"time"

	"github.com/vigil-sec/vigil/internal/advisory"
	"github.com/vigil-sec/vigil/internal/finding"
	"github.com/vigil-sec/vigil/internal/inventory"
)

// Source is where advisories come from (package vulndb implements it).
type Source interface {
	// Affected returns the advisories with an Affected entry for package
	// name in ecosystem (an OSV ecosystem with release, "Debian:11").
	Affected(ctx context.Context, ecosystem, name string) ([]advisory.Advisory, error)
	// EPSS and KEV look up exploitation data for a CVE; ok is false when
	// there is none.
	EPSS(ctx context.Context, cve string) (e advisory.EPSS, ok bool, err error)
	KEV(ctx context.Context, cve string) (k advisory.KEV, ok bool, err error)
}

// Match is one vulnerability of one package: every advisory that names the
// same vulnerability (through aliases) is merged into it.
type Match struct {
	// ID is the vulnerability's preferred identifier: its CVE when it has
	// one (the lowest-numbered when merged records carry several), else the
	// first of its identifiers in sorted order.
	ID string `json:"id"`
	// Aliases are every other identifier of it (GHSA, GO-, DSA-, ...).
	Aliases []string `json:"aliases,omitempty"`
	// Advisories are the IDs of the advisory records merged into it.
	Advisories []string `json:"advisories"`
	Summary    string   `json:"summary,omitempty"`

	// PackageID is the inventory.Package this is about.
	PackageID string              `json:"packageId"`
	Package   string              `json:"package"`
	Version   string              `json:"version"`
	Ecosystem inventory.Ecosystem `json:"ecosystem"`

	Severity finding.Severity `json:"severity"`
	// CVSS is the score the severity came from, when it came from one.
	CVSS *CVSS `json:"cvss,omitempty"`
	// EPSS and KEV carry exploitation data for the vulnerability's CVE.
	EPSS *advisory.EPSS `json:"epss,omitempty"`
	KEV  *advisory.KEV  `json:"kev,omitempty"`

	// Fixed lists the versions that fix it ("" entries never); empty means
	// no fix is known.
	Fixed []string `json:"fixed,omitempty"`
	// FixVersion is the smallest version out of every affected range the
	// installed version is in: the upgrade that fixes this match (the
	// highest of Fixed when merged advisories disagree). Empty when no fix
	// is known.
	FixVersion string `json:"fixVersion,omitempty"`
	// Reachable says, for Go binaries with a symbol table, whether the
	// vulnerable symbols are present: nil when unknown or not applicable.
	Reachable *bool `json:"reachable,omitempty"`

	Risk Risk `json:"risk"`
	// Suppressed is set when an ignore rule or a VEX statement says the
	// package is not affected; suppressed matches are kept for the record
	// but not counted by gates.
	Suppressed *Suppression `json:"suppressed,omitempty"`
	// ExpiredSuppression is a rule that would suppress the match but has
	// expired: the match counts again, and this says why it reappeared.
	ExpiredSuppression *Suppression `json:"expiredSuppression,omitempty"`
}

// CVSS is a score computed from a vector.
type CVSS struct {
	Version string  `json:"version"` // "2.0", "3.0", "3.1", "4.0"
	Vector  string  `json:"vector"`
	Score   float64 `json:"score"`
}

// Risk ranks a match for "fix this first" lists; see docs/risk.md.
type Risk struct {
	// Score is 0..100, higher first.
	Score float64 `json:"score"`
	// Reasons say, in words, what raised or lowered it.
	Reasons []string `json:"reasons,omitempty"`
}

// Suppression records why a match does not count.
type Suppression struct {
	// By is "ignore-file" or "vex".
	By     string `json:"by"`
	Reason string `json:"reason"`
	// Status is the VEX status ("not_affected", "fixed") where By is vex.
	Status string `json:"status,omitempty"`
	// Rule is the identifier the rule or statement names (its id in an
	// ignore file, the vulnerability of a VEX statement).
	Rule string `json:"rule,omitempty"`
	// Expires, when set, is the instant the suppression stops applying.
	Expires time.Time `json:"expires,omitzero"`
}

// PackageFix is the smallest upgrade of one package that fixes all its
// matches that have a fix.
type PackageFix struct {
	PackageID string `json:"packageId"`
	Package   string `json:"package"`
	Version   string `json:"version"`
	// FixVersion is the smallest version that fixes every fixable match.
	FixVersion string `json:"fixVersion"`
	// Unfixed counts matches with no known fix.
	Unfixed int `json:"unfixed,omitempty"`
}

// Report is an inventory with its vulnerabilities.
type Report struct {
	Result  *inventory.Result `json:"result"`
	Matches []Match           `json:"matches"`
	Fixes   []PackageFix      `json:"fixes,omitempty"`
	// Skipped counts the packages that were not matched, by ecosystem and
	// reason (no advisory data for the distribution, unreadable version):
	// a vulnerability-free report says nothing about them.
	Skipped []Skipped `json:"skipped,omitempty"`
}

// Skipped counts packages of one ecosystem not matched for one reason.
type Skipped struct {
	Ecosystem inventory.Ecosystem `json:"ecosystem"`
	Reason    string              `json:"reason"`
	Packages  int                 `json:"packages"`
}

// Finding turns a match into the shared finding model.
func (m *Match) Finding(assetID string) finding.Finding {
	f := finding.Finding{
		ID:        finding.NewID(assetID, finding.KindVulnerability, m.ID, m.PackageID),
		Kind:      finding.KindVulnerability,
		Severity:  m.Severity,
		RuleID:    m.ID,
		AssetID:   assetID,
		PackageID: m.PackageID,
		Title:     m.ID + " in " + m.Package + " " + m.Version,
		Evidence:  []finding.Evidence{{Detail: m.Package + "@" + m.Version}},
	}
	switch {
	case m.FixVersion != "":
		f.Remediation = "upgrade " + m.Package + " to " + m.FixVersion + " or later"
	case len(m.Fixed) > 0:
		f.Remediation = "upgrade " + m.Package + " to " + m.Fixed[0] + " or later"
	}
	return f
}
