package main

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
)

// explanation says why the tools differ on a kind of finding, and which
// of them is right.
type explanation struct {
	Right string `json:"right"` // "Vigil", "osv-scanner", or "?" when not yet understood
	Text  string `json:"text"`
}

// explanations are the causes of difference the benchmark knows. Each was
// found by reading both tools' code and the records involved; "unknown"
// is for anything new, to be looked at.
var explanations = map[string]explanation{
	"go-directive": {
		Right: "Vigil",
		Text: "osv-scanner v1.9.2 turns go.mod's `go` directive into a `stdlib` package (and `go 1.21` into 1.21.9999, " +
			"`patchPackageForRequest`), then matches every Go standard library advisory against it. The directive is the " +
			"minimum language version the module accepts, not the toolchain that builds it; Vigil deliberately does not " +
			"match it (reported under `skipped`). Standard library findings belong to binaries, where the toolchain is known.",
	},
	"name-spelling": {
		Right: "Vigil",
		Text: "The advisory spells the PyPI name in a non-normalised form. osv-scanner v1.9.2 normalises the name it reads " +
			"from requirements.txt (PEP 503) but compares it with the advisory's name byte for byte (`IsAffected`: " +
			"`affected.Package.Name == pkg.Name`), so the two never meet. Vigil normalises both sides (PEP 503), " +
			"as PyPI itself does.",
	},
	"git-range-first": {
		Right: "Vigil",
		Text: "The record's first range is a GIT range. osv-scanner v1.9.2's `rangeAffectsVersion` returns false as soon " +
			"as it meets a range that is not ECOSYSTEM or SEMVER instead of skipping it, so the record's ECOSYSTEM range " +
			"is never read and only its explicit `versions` list counts. The version is inside the ECOSYSTEM range but " +
			"not in the list (the PyPA lists are incomplete: pre-releases, old or later releases are often missing), " +
			"so osv-scanner misses it. Under the OSV schema a version is affected when any range *or* the list " +
			"includes it, and each version here is plainly inside its range (see what the records say, below).",
	},
	"purl-lowercase": {
		Right: "Vigil",
		Text: "The SBOM names a Go module with capitals (`pkg:golang/github.com/0xERR0R/blocky@…`). osv-scanner v1.9.2 " +
			"parses purls with packageurl-go v0.1.3, which lower-cases golang namespaces and names, and then compares " +
			"`github.com/0xerr0r/blocky` byte for byte with the advisory's `github.com/0xERR0R/blocky`: no match. Go " +
			"module paths are case-sensitive (the module proxy escapes capitals as `!x`), and Vigil keeps the name as " +
			"written (it takes the component's name, and the purl only for what the name lacks). From go.mod files " +
			"and binaries osv-scanner keeps the case and agrees with Vigil.",
	},
	"no-peer-data": {
		Right: "n/a",
		Text: "osv-scanner has no Debian database offline (its Debian data would be OSV records converted from the " +
			"tracker; it cannot read the DSA list). These are checked against dpkg's own version ordering instead " +
			"(see the Debian rows).",
	},
	"unknown": {
		Right: "?",
		Text:  "Not explained yet: see the facts column.",
	},
}

// explain builds the difference for finding f that only tool has,
// classifying its cause from the records of its group.
func explain(f finding, only, peer string, ids []string, source string, peerSources map[string]bool, recs []*record, g *groups) difference {
	d := difference{finding: f, Label: g.label(f.Group), OnlyIn: only, IDs: slices.Sorted(slices.Values(ids))}
	gitFirst, listed, spelledOther := false, false, false
	for _, r := range recs {
		for _, a := range r.Affected {
			if baseEcosystem(a.Package.Ecosystem) != f.Ecosystem || normPackage(f.Ecosystem, a.Package.Name) != f.Package {
				continue
			}
			if !slices.Contains(d.Records, r.ID) {
				d.Records = append(d.Records, r.ID)
			}
			if a.Package.Name != f.Package && f.Ecosystem == "PyPI" {
				spelledOther = true
				d.Facts = append(d.Facts, fmt.Sprintf("%s names the package %q", r.ID, a.Package.Name))
			}
			if len(a.Ranges) > 0 && a.Ranges[0].Type == "GIT" {
				gitFirst = true
			}
			inList := slices.Contains(a.Versions, f.Version)
			listed = listed || inList
			fact := fmt.Sprintf("%s: %s; %d versions listed", r.ID, rangesText(a.Ranges), len(a.Versions))
			if inList {
				fact += ", this one among them"
			}
			if r.Withdrawn != "" {
				fact += "; withdrawn " + r.Withdrawn
			}
			d.Facts = append(d.Facts, fact)
		}
	}
	switch {
	case only == "osv-scanner" && f.Ecosystem == "Go" && f.Package == "stdlib" && filepath.Base(source) == "go.mod":
		d.Cause = "go-directive"
	case only == "vigil" && peer == "osv-scanner" && f.Ecosystem == "Debian":
		d.Cause = "no-peer-data"
	case only == "vigil" && peer == "osv-scanner" && f.Ecosystem == "Go" && peerSources["sbom"] && f.Package != strings.ToLower(f.Package):
		d.Cause = "purl-lowercase"
	case only == "vigil" && spelledOther:
		d.Cause = "name-spelling"
	case only == "vigil" && gitFirst && !listed:
		d.Cause = "git-range-first"
	default:
		d.Cause = "unknown"
	}
	return d
}

// rangesText summarises ranges: "GIT; ECOSYSTEM [0, 1.2.3)".
func rangesText(rs []osvRange) string {
	var parts []string
	for _, r := range rs {
		if r.Type == "GIT" {
			parts = append(parts, "GIT")
			continue
		}
		var ev []string
		for _, e := range r.Events {
			switch {
			case e["introduced"] != "":
				ev = append(ev, ">="+e["introduced"])
			case e["fixed"] != "":
				ev = append(ev, "<"+e["fixed"])
			case e["last_affected"] != "":
				ev = append(ev, "<="+e["last_affected"])
			case e["limit"] != "":
				ev = append(ev, "limit "+e["limit"])
			}
		}
		parts = append(parts, r.Type+" "+strings.Join(ev, " "))
	}
	return strings.Join(parts, "; ")
}
