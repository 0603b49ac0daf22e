package vuln

import (
	"fmt"
	"strings"

	gocvss20 "github.com/pandatix/go-cvss/20"
	gocvss30 "github.com/pandatix/go-cvss/30"
	gocvss31 "github.com/pandatix/go-cvss/31"
	gocvss40 "github.com/pandatix/go-cvss/40"
	"github.com/vigil-sec/vigil/internal/advisory"
	"github.com/vigil-sec/vigil/internal/finding"
)

// scoreVector computes the base score of a published CVSS vector. The
// version comes from the vector's own prefix ("CVSS:3.1/", "CVSS:4.0/");
// a v2 vector has none ("AV:N/AC:L/Au:N/...").
func scoreVector(s advisory.Severity) (CVSS, error) {
	vec := strings.TrimSpace(s.Vector)
	switch {
	case strings.HasPrefix(vec, "CVSS:4.0/"):
		v, err := gocvss40.ParseVector(vec)
		if err != nil {
			return CVSS{}, fmt.Errorf("cvss 4.0 vector %q: %w", vec, err)
		}
		return CVSS{Version: "4.0", Vector: vec, Score: v.Score()}, nil
	case strings.HasPrefix(vec, "CVSS:3.1/"):
		v, err := gocvss31.ParseVector(vec)
		if err != nil {
			return CVSS{}, fmt.Errorf("cvss 3.1 vector %q: %w", vec, err)
		}
		return CVSS{Version: "3.1", Vector: vec, Score: v.BaseScore()}, nil
	case strings.HasPrefix(vec, "CVSS:3.0/"):
		v, err := gocvss30.ParseVector(vec)
		if err != nil {
			return CVSS{}, fmt.Errorf("cvss 3.0 vector %q: %w", vec, err)
		}
		return CVSS{Version: "3.0", Vector: vec, Score: v.BaseScore()}, nil
	case s.Type == advisory.CVSSv2 || strings.HasPrefix(vec, "AV:") || strings.HasPrefix(vec, "(AV:"):
		v2 := strings.TrimSuffix(strings.TrimPrefix(strings.TrimPrefix(vec, "CVSS:2.0/"), "("), ")")
		v, err := gocvss20.ParseVector(v2)
		if err != nil {
			return CVSS{}, fmt.Errorf("cvss 2.0 vector %q: %w", vec, err)
		}
		return CVSS{Version: "2.0", Vector: vec, Score: v.BaseScore()}, nil
	}
	return CVSS{}, fmt.Errorf("cvss vector %q: unknown version", vec)
}

// cvssRank orders CVSS versions by preference: v4 over v3.1 over v3.0 over v2.
func cvssRank(version string) int {
	switch version {
	case "4.0":
		return 4
	case "3.1":
		return 3
	case "3.0":
		return 2
	case "2.0":
		return 1
	}
	return 0
}

// bestCVSS picks, among the vectors of every merged advisory, the newest
// CVSS version present and, within it, the highest score (sources such as
// GHSA and NVD can disagree; the worse reading is kept). Unreadable vectors
// are skipped. ok is false when none is readable.
func bestCVSS(sevs []advisory.Severity) (best CVSS, ok bool) {
	for _, s := range sevs {
		c, err := scoreVector(s)
		if err != nil {
			continue
		}
		switch r, br := cvssRank(c.Version), cvssRank(best.Version); {
		case !ok, r > br, r == br && c.Score > best.Score:
			best, ok = c, true
		}
	}
	return best, ok
}

// rating is the qualitative rating of a CVSS score on the v3/v4 scale
// (None 0.0, Low 0.1–3.9, Medium 4.0–6.9, High 7.0–8.9, Critical 9.0–10.0).
// CVSS v2 has no Critical band of its own; its scores are rated on the same
// scale, as OSV-SCALIBR and most scanners do. None maps to Low: finding
// has no "none", and a scored vulnerability is not "unknown".
func rating(score float64) finding.Severity {
	switch {
	case score >= 9.0:
		return finding.SeverityCritical
	case score >= 7.0:
		return finding.SeverityHigh
	case score >= 4.0:
		return finding.SeverityMedium
	default:
		return finding.SeverityLow
	}
}

// ratingName is the CVSS rating's own name, for reasons in words.
func ratingName(score float64) string {
	if score == 0 {
		return "none"
	}
	return rating(score).String()
}

// textSeverity reads a distribution's or database's own severity word:
// Debian urgencies ("unimportant", "low", "medium", "high"), GHSA's
// ("low", "moderate", "high", "critical"), Red Hat's ("low", "moderate",
// "important", "critical"), Ubuntu's "negligible". Anything else is unknown.
func textSeverity(s string) finding.Severity {
	switch strings.ToLower(strings.TrimSpace(strings.TrimSuffix(s, "*"))) {
	case "critical":
		return finding.SeverityCritical
	case "high", "important":
		return finding.SeverityHigh
	case "medium", "moderate":
		return finding.SeverityMedium
	case "low", "unimportant", "negligible":
		return finding.SeverityLow
	}
	return finding.SeverityUnknown
}
