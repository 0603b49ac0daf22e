package vuln

import (
	"github.com/vigil-sec/vigil/internal/advisory"
	"github.com/vigil-sec/vigil/internal/inventory"
)

// maxFixSteps bounds the upgrade search; each step moves to a higher fixed
// version named by an advisory, so real data needs a handful.
const maxFixSteps = 64

// fixSearch returns the smallest version, starting at candidate, that no
// entry with a fix puts in an affected range: when the candidate falls in
// another range (a vulnerability reintroduced in a later branch, or one
// merged advisory fixing later than another), it moves up to the fix
// closing that range, until it is out of all of them. A range affected
// with no fix above the candidate does not move it: a fix one advisory
// names is trusted over another record's open-ended range. It returns ""
// when the candidate cannot be read or the search does not settle.
func fixSearch(eco, candidate string, entries []*advisory.Affected) string {
	for range maxFixSteps {
		in, err := newInstalled(eco, candidate)
		if err != nil {
			return ""
		}
		next := candidate
		for _, e := range entries {
			h := in.evaluate(e)
			if !h.affected {
				continue
			}
			for _, f := range h.fixes {
				if c, err := compareVersions(eco, f, next); err == nil && c > 0 {
					next = f
				}
			}
		}
		if next == candidate {
			return candidate
		}
		candidate = next
	}
	return ""
}

// pkgMatch is a kept match with the group it came from.
type pkgMatch struct {
	m Match
	g *group
}

// packageFix is the smallest upgrade of p fixing every unsuppressed match
// that has a fix: the highest of their fix versions, moved up while it
// falls in another affected range of any of them. ok is false when p has no
// unsuppressed match.
func packageFix(p *inventory.Package, in *installed, ms []pkgMatch) (PackageFix, bool) {
	fix := PackageFix{PackageID: p.ID, Package: p.Name, Version: p.Version}
	var entries []*advisory.Affected
	candidate := ""
	counted := false
	for _, pm := range ms {
		if pm.m.Suppressed != nil {
			continue
		}
		counted = true
		if pm.m.FixVersion == "" {
			fix.Unfixed++
			continue
		}
		entries = append(entries, pm.g.entries...)
		if candidate == "" {
			candidate = pm.m.FixVersion
		} else if c, err := compareVersions(in.eco, pm.m.FixVersion, candidate); err == nil && c > 0 {
			candidate = pm.m.FixVersion
		}
	}
	if !counted {
		return PackageFix{}, false
	}
	if candidate != "" {
		fix.FixVersion = fixSearch(in.eco, candidate, entries)
	}
	return fix, true
}
