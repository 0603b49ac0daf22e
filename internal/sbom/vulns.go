package sbom

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	cdx "github.com/CycloneDX/cyclonedx-go"

	"github.com/vigil-sec/vigil/internal/finding"
	"github.com/vigil-sec/vigil/internal/inventory"
	"github.com/vigil-sec/vigil/internal/vuln"
)

// Names of the pairs Vigil puts on a CycloneDX vulnerability; see
// docs/formats/vuln-json.md.
const (
	propRiskScore       = "vigil:risk:score"
	propRiskReason      = "vigil:risk:reason"
	propEPSSScore       = "vigil:epss:score"
	propEPSSPercentile  = "vigil:epss:percentile"
	propKEV             = "vigil:kev"
	propKEVDateAdded    = "vigil:kev:dateAdded"
	propReachable       = "vigil:reachable"
	propFixed           = "vigil:fixed"
	propSuppressedBy    = "vigil:suppressed:by"
	propSuppressedRule  = "vigil:suppressed:rule"
	propSuppressedState = "vigil:suppressed:status"
)

// EncodeCycloneDXReport writes rep to w as a CycloneDX JSON document: the
// BOM EncodeCycloneDX writes for rep's inventory, plus one entry in
// "vulnerabilities" per match, affecting the package's component. A
// suppressed match carries an analysis saying why. Output is deterministic
// as EncodeCycloneDX's is; the serial number depends on the matches too.
func EncodeCycloneDXReport(w io.Writer, rep *vuln.Report, opts EncodeOptions) error {
	r := rep.Result
	if r == nil {
		r = &inventory.Result{}
	}
	bom, err := cycloneDXBOM(r, opts)
	if err != nil {
		return err
	}

	matches := slices.Clone(rep.Matches)
	slices.SortStableFunc(matches, func(a, b vuln.Match) int {
		return cmp.Or(strings.Compare(a.ID, b.ID), strings.Compare(a.PackageID, b.PackageID),
			strings.Compare(a.Package, b.Package), strings.Compare(a.Version, b.Version))
	})
	if len(matches) > 0 {
		// The same inventory with other matches is another document.
		b, err := json.Marshal(matches)
		if err != nil {
			return fmt.Errorf("encode CycloneDX: %w", err)
		}
		sum := sha256.Sum256(append([]byte(bom.SerialNumber+"\x00"), b...))
		bom.SerialNumber = nameUUID(hex.EncodeToString(sum[:]))
	}

	components := map[string]bool{}
	reserved := []string{bom.Metadata.Component.BOMRef}
	for _, c := range *bom.Components {
		components[c.BOMRef] = true
		reserved = append(reserved, c.BOMRef)
	}
	refs := newUniqueIDs(reserved...)
	vulns := make([]cdx.Vulnerability, 0, len(matches))
	for i := range matches {
		vulns = append(vulns, cdxVulnerability(&matches[i], r.Asset.ID, refs, components))
	}
	if len(vulns) > 0 {
		bom.Vulnerabilities = &vulns
	}
	return writeCycloneDX(w, bom)
}

func cdxVulnerability(m *vuln.Match, assetID string, refs *uniqueIDs, components map[string]bool) cdx.Vulnerability {
	f := m.Finding(assetID)
	v := cdx.Vulnerability{
		BOMRef:         refs.take(f.ID),
		ID:             m.ID,
		Source:         vulnSource(m.ID),
		Description:    m.Summary,
		Recommendation: f.Remediation,
	}

	var refIDs []string
	for _, id := range slices.Concat(m.Aliases, m.Advisories) {
		if id != "" && id != m.ID && !slices.Contains(refIDs, id) {
			refIDs = append(refIDs, id)
		}
	}
	slices.Sort(refIDs)
	if len(refIDs) > 0 {
		vr := make([]cdx.VulnerabilityReference, len(refIDs))
		for i, id := range refIDs {
			vr[i] = cdx.VulnerabilityReference{ID: id, Source: vulnSource(id)}
		}
		v.References = &vr
	}

	rating := cdx.VulnerabilityRating{Severity: cdxSeverity(m.Severity)}
	if c := m.CVSS; c != nil {
		score := c.Score
		rating.Score = &score
		rating.Vector = c.Vector
		rating.Method = cvssMethod(c.Version)
	}
	v.Ratings = &[]cdx.VulnerabilityRating{rating}

	unaffected := false
	if s := m.Suppressed; s != nil {
		a := &cdx.VulnerabilityAnalysis{Detail: s.Reason}
		switch s.Status {
		case "not_affected":
			a.State = cdx.IASNotAffected
			a.Justification = cdxJustification(s.Reason)
			unaffected = true
		case "fixed":
			a.State = cdx.IASResolved
			unaffected = true
		default:
			// An ignore rule accepts the risk: the package is affected.
			a.Response = &[]cdx.ImpactAnalysisResponse{cdx.IARWillNotFix}
		}
		v.Analysis = a
	}
	if components[m.PackageID] {
		status := cdx.VulnerabilityStatusAffected
		if unaffected {
			status = cdx.VulnerabilityStatusNotAffected
		}
		v.Affects = &[]cdx.Affects{{
			Ref:   m.PackageID,
			Range: &[]cdx.AffectedVersions{{Version: m.Version, Status: status}},
		}}
	}
	v.Properties = cdxProperties(vulnProps(m))
	return v
}

func vulnProps(m *vuln.Match) []prop {
	var ps []prop
	add := func(n, v string) { ps = append(ps, prop{n, v}) }
	add(propRiskScore, strconv.FormatFloat(m.Risk.Score, 'f', -1, 64))
	for _, r := range m.Risk.Reasons {
		add(propRiskReason, r)
	}
	for _, f := range m.Fixed {
		add(propFixed, f)
	}
	if e := m.EPSS; e != nil {
		add(propEPSSScore, strconv.FormatFloat(e.Score, 'f', -1, 64))
		add(propEPSSPercentile, strconv.FormatFloat(e.Percentile, 'f', -1, 64))
	}
	if k := m.KEV; k != nil {
		add(propKEV, "true")
		if !k.DateAdded.IsZero() {
			add(propKEVDateAdded, k.DateAdded.UTC().Format("2006-01-02"))
		}
	}
	if m.Reachable != nil {
		add(propReachable, strconv.FormatBool(*m.Reachable))
	}
	if s := m.Suppressed; s != nil {
		add(propSuppressedBy, s.By)
		if s.Status != "" {
			add(propSuppressedState, s.Status)
		}
		if s.Rule != "" {
			add(propSuppressedRule, s.Rule)
		}
	}
	return ps
}

// vulnSources maps vulnerability ID prefixes to the database that assigns
// them and the address of an ID's page there.
var vulnSources = []struct{ prefix, name, url string }{
	{"CVE-", "NVD", "https://nvd.nist.gov/vuln/detail/"},
	{"GHSA-", "GitHub", "https://github.com/advisories/"},
	{"GO-", "Go", "https://pkg.go.dev/vuln/"},
	{"RUSTSEC-", "RustSec", "https://rustsec.org/advisories/"},
	{"PYSEC-", "PyPA", "https://osv.dev/vulnerability/"},
	{"DSA-", "Debian", "https://security-tracker.debian.org/tracker/"},
	{"DLA-", "Debian", "https://security-tracker.debian.org/tracker/"},
	{"DTSA-", "Debian", "https://security-tracker.debian.org/tracker/"},
}

// vulnSource names the database an ID comes from, by its prefix; IDs of
// other databases are attributed to OSV, which indexes them all.
func vulnSource(id string) *cdx.Source {
	for _, s := range vulnSources {
		if strings.HasPrefix(id, s.prefix) {
			url := s.url + id
			if s.name == "RustSec" {
				url += ".html"
			}
			return &cdx.Source{Name: s.name, URL: url}
		}
	}
	return &cdx.Source{Name: "OSV", URL: "https://osv.dev/vulnerability/" + id}
}

func cdxSeverity(s finding.Severity) cdx.Severity {
	switch s {
	case finding.SeverityCritical:
		return cdx.SeverityCritical
	case finding.SeverityHigh:
		return cdx.SeverityHigh
	case finding.SeverityMedium:
		return cdx.SeverityMedium
	case finding.SeverityLow:
		return cdx.SeverityLow
	}
	return cdx.SeverityUnknown
}

func cvssMethod(version string) cdx.ScoringMethod {
	switch version {
	case "2.0":
		return cdx.ScoringMethodCVSSv2
	case "3.0":
		return cdx.ScoringMethodCVSSv3
	case "3.1":
		return cdx.ScoringMethodCVSSv31
	case "4.0":
		return cdx.ScoringMethodCVSSv4
	}
	return cdx.ScoringMethodOther
}

// cdxJustifications are CycloneDX's not_affected justifications.
var cdxJustifications = []cdx.ImpactAnalysisJustification{
	cdx.IAJCodeNotPresent, cdx.IAJCodeNotReachable, cdx.IAJRequiresConfiguration,
	cdx.IAJRequiresDependency, cdx.IAJRequiresEnvironment, cdx.IAJProtectedByCompiler,
	cdx.IAJProtectedAtRuntime, cdx.IAJProtectedAtPerimeter, cdx.IAJProtectedByMitigatingControl,
}

// openVEXJustifications maps the OpenVEX justifications that have a
// CycloneDX equivalent to it.
var openVEXJustifications = map[string]cdx.ImpactAnalysisJustification{
	"component_not_present":               cdx.IAJCodeNotPresent,
	"vulnerable_code_not_present":         cdx.IAJCodeNotPresent,
	"vulnerable_code_not_in_execute_path": cdx.IAJCodeNotReachable,
	"inline_mitigations_already_exist":    cdx.IAJProtectedByMitigatingControl,
}

// cdxJustification returns the CycloneDX justification for the one a
// suppression's reason starts with ("code_not_reachable: ...",
// "vulnerable_code_not_present: ..."), when it starts with one that has a
// CycloneDX equivalent; the reason itself is always the analysis detail.
func cdxJustification(reason string) cdx.ImpactAnalysisJustification {
	word, _, _ := strings.Cut(reason, ":")
	word = strings.TrimSpace(word)
	for _, j := range cdxJustifications {
		if word == string(j) {
			return j
		}
	}
	return openVEXJustifications[word]
}
