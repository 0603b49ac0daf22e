package advisory

import "time"

// Advisory is one vulnerability record from one source, normalised.
type Advisory struct {
	// ID is the record's own identifier: GO-2024-2687, RUSTSEC-2021-0001,
	// PYSEC-2021-1, GHSA-xxxx-xxxx-xxxx, DSA-5389-1, DLA-3000-1, or a CVE for
	// Alpine secdb entries (which are keyed by CVE).
	ID string `json:"id"`
	// Source names the feed it came from: "osv", "debian", "alpine".
	Source string `json:"source"`
	// Aliases are other identifiers of the same vulnerability (CVE, GHSA,
	// ...). Debian advisories list their CVEs here.
	Aliases []string `json:"aliases,omitempty"`
	// Related are identifiers of related but distinct vulnerabilities.
	Related []string `json:"related,omitempty"`
	// Upstream are identifiers of upstream vulnerabilities a downstream
	// record (a distribution's advisory) covers, as in OSV's upstream field:
	// not aliases, but the CVEs to join EPSS and KEV data on.
	Upstream  []string  `json:"upstream,omitempty"`
	Summary   string    `json:"summary,omitempty"`
	Details   string    `json:"details,omitempty"`
	Published time.Time `json:"published,omitzero"`
	Modified  time.Time `json:"modified,omitzero"`
	// Withdrawn is non-zero for a retracted advisory; matching ignores it.
	Withdrawn time.Time `json:"withdrawn,omitzero"`
	// Severity holds score vectors as published (CVSS v2/v3.x/v4).
	Severity   []Severity `json:"severity,omitempty"`
	References []string   `json:"references,omitempty"`
	Affected   []Affected `json:"affected"`
}

// SeverityType is the scoring system of a Severity.
type SeverityType string

// Scoring systems, named as in the OSV schema.
const (
	CVSSv2 SeverityType = "CVSS_V2"
	CVSSv3 SeverityType = "CVSS_V3" // v3.0 and v3.1 vectors
	CVSSv4 SeverityType = "CVSS_V4"
)

// Severity is one published score vector.
type Severity struct {
	Type SeverityType `json:"type"`
	// Vector is the vector string ("CVSS:3.1/AV:N/..."); the score is
	// computed from it, never copied from text.
	Vector string `json:"vector"`
}

// Affected says which versions of one package an advisory applies to.
type Affected struct {
	// Ecosystem is the OSV ecosystem, with the release where the ecosystem
	// has releases: "Go", "PyPI", "crates.io", "npm", "Debian:11",
	// "Alpine:v3.11".
	Ecosystem string `json:"ecosystem"`
	// Package is the name within the ecosystem. For Debian it is the
	// *source* package, for Alpine the origin package.
	Package string `json:"package"`
	// Ranges are version ranges; a version is affected when any range
	// contains it or Versions lists it.
	Ranges   []Range  `json:"ranges,omitempty"`
	Versions []string `json:"versions,omitempty"`
	// Symbols are the vulnerable Go symbols, "import/path.Symbol" or
	// "import/path.Type.Method" (OSV ecosystem_specific.imports). Empty
	// means the whole package is affected.
	Symbols []string `json:"symbols,omitempty"`
	// Severity is a distribution's own rating where it gives one
	// ("low", "medium", "high", "critical"; Debian urgency mapped).
	Severity string `json:"severity,omitempty"`
}

// RangeType is how a Range's versions are ordered.
type RangeType string

// Range types, as in the OSV schema.
const (
	// Ecosystem ranges order versions by the ecosystem's own rules
	// (dpkg, RPM, APK, PEP 440, Maven, ...).
	Ecosystem RangeType = "ECOSYSTEM"
	// SemVer ranges order versions by SemVer 2.0 (Go, npm, crates.io).
	SemVer RangeType = "SEMVER"
	// Git ranges name commits; Vigil does not match them.
	Git RangeType = "GIT"
)

// Range is a sequence of events: a version is affected from an Introduced
// event up to (excluding) the next Fixed or Limit, or up to and including
// a LastAffected.
type Range struct {
	Type   RangeType `json:"type"`
	Events []Event   `json:"events"`
}

// Event is one boundary; exactly one field is set. Introduced "0" means
// "from the first version".
type Event struct {
	Introduced   string `json:"introduced,omitempty"`
	Fixed        string `json:"fixed,omitempty"`
	LastAffected string `json:"lastAffected,omitempty"`
	Limit        string `json:"limit,omitempty"`
}

// EPSS is FIRST's Exploit Prediction Scoring System estimate for one CVE.
type EPSS struct {
	CVE string `json:"cve"`
	// Score is the probability (0..1) of exploitation in the next 30 days.
	Score float64 `json:"score"`
	// Percentile ranks Score among all scored CVEs (0..1).
	Percentile float64   `json:"percentile"`
	Date       time.Time `json:"date,omitzero"`
}

// KEV is one entry of CISA's Known Exploited Vulnerabilities catalogue.
type KEV struct {
	CVE                string    `json:"cve"`
	VendorProject      string    `json:"vendorProject,omitempty"`
	Product            string    `json:"product,omitempty"`
	Name               string    `json:"name,omitempty"`
	DateAdded          time.Time `json:"dateAdded,omitzero"`
	DueDate            time.Time `json:"dueDate,omitzero"`
	RequiredAction     string    `json:"requiredAction,omitempty"`
	KnownRansomwareUse bool      `json:"knownRansomwareUse,omitempty"`
}
