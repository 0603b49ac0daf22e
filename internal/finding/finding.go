package finding

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
)

// Kind says which engine raised a finding.
type Kind string

// The kinds of finding.
const (
	KindVulnerability    Kind = "vulnerability"
	KindMisconfiguration Kind = "misconfiguration"
	KindSecret           Kind = "secret"
	KindBaseline         Kind = "baseline"
	KindAlert            Kind = "alert"
)

// Severity grades a finding. The zero value is SeverityUnknown.
type Severity int

// Severities, lowest first so that they compare with < and >.
const (
	SeverityUnknown Severity = iota
	SeverityLow
	SeverityMedium
	SeverityHigh
	SeverityCritical
)

var severityNames = [...]string{"unknown", "low", "medium", "high", "critical"}

func (s Severity) String() string {
	if s < 0 || int(s) >= len(severityNames) {
		return "unknown"
	}
	return severityNames[s]
}

// ParseSeverity reads a severity name, case-insensitively.
func ParseSeverity(s string) (Severity, error) {
	for i, n := range severityNames {
		if strings.EqualFold(s, n) {
			return Severity(i), nil
		}
	}
	return SeverityUnknown, fmt.Errorf("unknown severity %q (want one of %s)", s, strings.Join(severityNames[:], ", "))
}

// MarshalText writes the severity's name.
func (s Severity) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText reads a severity's name.
func (s *Severity) UnmarshalText(b []byte) error {
	v, err := ParseSeverity(string(b))
	*s = v
	return err
}

// Finding is one problem on one asset.
type Finding struct {
	// ID is stable: see NewID.
	ID       string   `json:"id"`
	Kind     Kind     `json:"kind"`
	Severity Severity `json:"severity"`
	// RuleID is the advisory id (CVE-..., GHSA-...), policy rule id or
	// detector id that raised the finding.
	RuleID  string `json:"ruleId"`
	AssetID string `json:"assetId"`
	// PackageID is set for findings about a package (vulnerabilities).
	PackageID string `json:"packageId,omitempty"`
	Title     string `json:"title"`
	// Evidence says what was seen and where: a path and line, a layer, a
	// process, a version.
	Evidence []Evidence `json:"evidence,omitempty"`
	// Remediation says how to fix it, in words (upgrade to X, set Y).
	Remediation string `json:"remediation,omitempty"`
}

// Evidence is one observation backing a finding.
type Evidence struct {
	Path  string `json:"path,omitempty"`
	Line  int    `json:"line,omitempty"`
	Layer string `json:"layer,omitempty"`
	// Detail is free text: the offending value (redacted for secrets),
	// the installed version, the event.
	Detail string `json:"detail,omitempty"`
}

// NewID derives a finding's ID from what makes it the same finding: the
// asset, the kind, the rule and the subject (a package ID, a file path and
// resource address, a secret fingerprint).
func NewID(assetID string, kind Kind, ruleID, subject string) string {
	h := sha256.New()
	for _, s := range []string{assetID, string(kind), ruleID, subject} {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	return "f-" + hex.EncodeToString(h.Sum(nil)[:12])
}
