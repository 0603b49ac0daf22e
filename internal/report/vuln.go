package report

import (
	"cmp"
	"slices"
	"strings"

	"github.com/vigil-sec/vigil/internal/finding"
	"github.com/vigil-sec/vigil/internal/inventory"
	"github.com/vigil-sec/vigil/internal/vuln"
)

// Shared by the vulnerability writers: one order for matches and fixes,
// one way of counting.

// resultOf returns rep's inventory, an empty one when it has none.
func resultOf(rep *vuln.Report) *inventory.Result {
	if rep.Result == nil {
		return &inventory.Result{}
	}
	return rep.Result
}

// sortedMatches returns a copy of rep's matches, riskiest first; ties go by
// severity, ID, package, version and package ID, so that output is
// deterministic.
func sortedMatches(rep *vuln.Report) []vuln.Match {
	ms := slices.Clone(rep.Matches)
	slices.SortStableFunc(ms, compareRisk)
	return ms
}

func compareRisk(a, b vuln.Match) int {
	if c := cmp.Compare(b.Risk.Score, a.Risk.Score); c != 0 {
		return c
	}
	if c := cmp.Compare(b.Severity, a.Severity); c != 0 {
		return c
	}
	if c := strings.Compare(a.ID, b.ID); c != 0 {
		return c
	}
	if c := strings.Compare(a.Package, b.Package); c != 0 {
		return c
	}
	if c := strings.Compare(a.Version, b.Version); c != 0 {
		return c
	}
	return strings.Compare(a.PackageID, b.PackageID)
}

// severities lists every severity, highest first.
var severities = []finding.Severity{
	finding.SeverityCritical, finding.SeverityHigh, finding.SeverityMedium,
	finding.SeverityLow, finding.SeverityUnknown,
}

// fixPlan is a PackageFix with what it achieves, counting only matches
// that are not suppressed.
type fixPlan struct {
	vuln.PackageFix
	// Fixes counts the matches the upgrade fixes; Unfixed those of the
	// package with no known fix.
	Fixes, Unfixed int
	// maxRisk is the highest risk score among the fixed matches.
	maxRisk float64
}

// fixPlans returns rep's fixes, the ones to do first first: by the highest
// risk they remove, then by how many matches they fix.
func fixPlans(rep *vuln.Report) []fixPlan {
	type count struct {
		fixes, unfixed int
		maxRisk        float64
	}
	counts := map[string]*count{}
	for _, m := range rep.Matches {
		if m.Suppressed != nil {
			continue
		}
		c := counts[m.PackageID]
		if c == nil {
			c = &count{}
			counts[m.PackageID] = c
		}
		if !hasFix(&m) {
			c.unfixed++
			continue
		}
		c.fixes++
		c.maxRisk = max(c.maxRisk, m.Risk.Score)
	}
	plans := make([]fixPlan, 0, len(rep.Fixes))
	for _, f := range rep.Fixes {
		p := fixPlan{PackageFix: f}
		if c := counts[f.PackageID]; c != nil {
			p.Fixes, p.Unfixed, p.maxRisk = c.fixes, c.unfixed, c.maxRisk
		}
		plans = append(plans, p)
	}
	slices.SortStableFunc(plans, func(a, b fixPlan) int {
		if c := cmp.Compare(b.maxRisk, a.maxRisk); c != 0 {
			return c
		}
		if c := cmp.Compare(b.Fixes, a.Fixes); c != 0 {
			return c
		}
		if c := strings.Compare(a.Package, b.Package); c != 0 {
			return c
		}
		return strings.Compare(a.PackageID, b.PackageID)
	})
	return plans
}

// packageIndex maps package IDs to packages (the first, should two share
// an ID).
func packageIndex(r *inventory.Result) map[string]*inventory.Package {
	idx := make(map[string]*inventory.Package, len(r.Packages))
	for i := range r.Packages {
		p := &r.Packages[i]
		if _, ok := idx[p.ID]; !ok {
			idx[p.ID] = p
		}
	}
	return idx
}

// hasFix reports whether a fixed version of m's package is known.
func hasFix(m *vuln.Match) bool { return m.FixVersion != "" || len(m.Fixed) > 0 }
