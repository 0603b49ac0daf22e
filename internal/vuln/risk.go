package vuln

import (
	"fmt"
	"math"

	"github.com/vigil-sec/vigil/internal/finding"
)

// Exposure is what is known of how reachable an asset is from attackers;
// the zero value means nothing is known and changes no score.
type Exposure struct {
	// InternetFacing is true when the asset is reachable from the
	// internet (a public load balancer, a public IP with an open security
	// group), false when it is known not to be, nil when unknown.
	InternetFacing *bool `json:"internetFacing,omitempty"`
	// ListeningPorts are the ports the asset listens on, when known.
	ListeningPorts []int `json:"listeningPorts,omitempty"`
}

// Risk score constants; docs/risk.md explains them and must change with them.
const (
	riskDefaultCritical = 90
	riskDefaultHigh     = 75
	riskDefaultMedium   = 50
	riskDefaultLow      = 25
	riskDefaultUnknown  = 50 // not yet graded: ranked as medium, not as harmless

	riskKEVBonus = 25 // known exploited in the wild
	riskKEVFloor = 80 // ... and never below this
	riskEPSSMax  = 20 // added at EPSS percentile 1.0
	riskEPSSFrom = 0.70

	riskInternetFacing = 10
	riskInternal       = -5
	riskListening      = 3
	riskReachable      = 5
	riskUnreachable    = 0.5 // factor: vulnerable code not linked in
)

// riskOf ranks a match; see docs/risk.md for the formula. It reads the
// match's CVSS, Severity, KEV, EPSS, Reachable and Fixed.
func riskOf(m *Match, exp Exposure) Risk {
	var r Risk
	var score float64
	switch {
	case m.CVSS != nil:
		score = m.CVSS.Score * 10
		r.Reasons = append(r.Reasons, fmt.Sprintf("CVSS %s base score %.1f (%s)", m.CVSS.Version, m.CVSS.Score, ratingName(m.CVSS.Score)))
	default:
		switch m.Severity {
		case finding.SeverityCritical:
			score = riskDefaultCritical
		case finding.SeverityHigh:
			score = riskDefaultHigh
		case finding.SeverityMedium:
			score = riskDefaultMedium
		case finding.SeverityLow:
			score = riskDefaultLow
		default:
			score = riskDefaultUnknown
		}
		if m.Severity == finding.SeverityUnknown {
			r.Reasons = append(r.Reasons, "severity unknown: ranked as medium until graded")
		} else {
			r.Reasons = append(r.Reasons, fmt.Sprintf("rated %s by the advisory (no CVSS vector)", m.Severity))
		}
	}
	if m.KEV != nil {
		score = math.Max(score+riskKEVBonus, riskKEVFloor)
		reason := "known exploited in the wild (CISA KEV " + m.KEV.CVE + ")"
		if m.KEV.KnownRansomwareUse {
			reason += ", used by ransomware"
		}
		r.Reasons = append(r.Reasons, reason)
	}
	if m.EPSS != nil {
		p := m.EPSS.Percentile
		if p > riskEPSSFrom {
			score += riskEPSSMax * (math.Min(p, 1) - riskEPSSFrom) / (1 - riskEPSSFrom)
			r.Reasons = append(r.Reasons, fmt.Sprintf("EPSS %.3f (percentile %.0f): exploitation more likely than for most", m.EPSS.Score, p*100))
		} else {
			r.Reasons = append(r.Reasons, fmt.Sprintf("EPSS %.3f (percentile %.0f)", m.EPSS.Score, p*100))
		}
	}
	switch {
	case exp.InternetFacing != nil && *exp.InternetFacing:
		score += riskInternetFacing
		r.Reasons = append(r.Reasons, "asset is internet-facing")
	case exp.InternetFacing != nil:
		score += riskInternal
		r.Reasons = append(r.Reasons, "asset is not internet-facing")
	case len(exp.ListeningPorts) > 0:
		score += riskListening
		r.Reasons = append(r.Reasons, fmt.Sprintf("asset listens on %d port(s)", len(exp.ListeningPorts)))
	}
	if m.Reachable != nil {
		if *m.Reachable {
			score += riskReachable
			r.Reasons = append(r.Reasons, "vulnerable symbols are linked into the binary")
		} else {
			score *= riskUnreachable
			r.Reasons = append(r.Reasons, "vulnerable symbols are not linked into the binary (halved)")
		}
	}
	if len(m.Fixed) == 0 {
		r.Reasons = append(r.Reasons, "no fix available: mitigate, do not wait (score unchanged)")
	}
	r.Score = math.Round(math.Max(0, math.Min(100, score))*10) / 10
	return r
}
