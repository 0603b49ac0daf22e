package vuln

import (
	"regexp"
	"strings"

	"github.com/vigil-sec/vigil/internal/advisory"
	"github.com/vigil-sec/vigil/internal/asset"
	"github.com/vigil-sec/vigil/internal/inventory"
)

// query is what one inventory package is looked up as: the advisory
// ecosystem (with release), the name advisories use, and the version to
// compare.
type query struct {
	eco     string
	name    string // normalised for lookup (see lookupName)
	version string
}

// Reasons a package is not matched; they appear in Report.Skipped.
const (
	skipRPM        = "no advisory data for RPM distributions yet"
	skipDistro     = "no advisory data for this distribution"
	skipNoRelease  = "distribution release unknown"
	skipGoMod      = "go.mod's go directive is a minimum, not the toolchain that builds it"
	skipNoVersion  = "no version"
	skipEcosystem  = "ecosystem without advisory data"
	skipBadVersion = "version unreadable by the ecosystem's ordering"
)

// queryFor says how package p of an asset with operating system os is
// looked up, or why it is not ("" query.eco and a reason).
//
//   - Debian: "Debian:<major VERSION_ID>", keyed by the source package and
//     compared at the source version (the binary version when the source
//     has none), only on assets whose os-release ID is debian: a .deb on
//     Ubuntu or another derivative is not the package Debian's advisories
//     speak of.
//   - Alpine: "Alpine:v<major.minor>", keyed by the origin package, only on
//     assets whose ID is alpine.
//   - RPM: not matched (no RPM distribution feed yet).
//   - Language ecosystems: the OSV ecosystem as is, the name normalised
//     as advisory.NormalizeName does (PEP 503 for PyPI).
//   - Go: the standard library is "stdlib" at the toolchain version
//     (go1.21.3 → 1.21.3); the "stdlib" of a go.mod's go directive is not
//     matched (it is the minimum the module accepts, not what built it).
func queryFor(os *asset.OS, p *inventory.Package) (query, string) {
	switch p.Ecosystem {
	case inventory.Debian:
		if os == nil || os.ID != "debian" {
			return query{}, skipDistro
		}
		major := debianRelease(os)
		if major == "" {
			return query{}, skipNoRelease
		}
		name, ver := p.Name, p.Version
		if p.Source != nil {
			if p.Source.Name != "" {
				name = p.Source.Name
			}
			if p.Source.Version != "" {
				ver = p.Source.Version
			}
		}
		return query{eco: "Debian:" + major, name: name, version: ver}, ""
	case inventory.Alpine:
		if os == nil || os.ID != "alpine" {
			return query{}, skipDistro
		}
		rel := alpineRelease(os.VersionID)
		if rel == "" {
			return query{}, skipNoRelease
		}
		name := p.Name
		if p.Source != nil && p.Source.Name != "" {
			name = p.Source.Name
		}
		return query{eco: "Alpine:" + rel, name: name, version: p.Version}, ""
	case inventory.RPM:
		return query{}, skipRPM
	case inventory.Go:
		if p.Name == "stdlib" && p.Extractor == "go/gomod" {
			return query{}, skipGoMod
		}
		return query{eco: string(inventory.Go), name: p.Name, version: p.Version}, ""
	case inventory.Npm, inventory.PyPI, inventory.Maven, inventory.Cargo,
		inventory.RubyGems, inventory.Packagist, inventory.NuGet:
		return query{eco: string(p.Ecosystem), name: lookupName(string(p.Ecosystem), p.Name), version: p.Version}, ""
	}
	return query{}, skipEcosystem
}

// debianCodenames are the releases whose os-release may lack VERSION_ID
// (testing images) but carry VERSION_CODENAME.
var debianCodenames = map[string]string{
	"stretch": "9", "buster": "10", "bullseye": "11", "bookworm": "12", "trixie": "13", "forky": "14",
}

// debianRelease is the major release of a Debian OS: "11" for VERSION_ID
// "11" or "11.7", or from the codename when VERSION_ID is missing.
func debianRelease(os *asset.OS) string {
	if v, _, _ := strings.Cut(os.VersionID, "."); v != "" {
		return v
	}
	return debianCodenames[os.Codename]
}

var alpineVersion = regexp.MustCompile(`^(\d+)\.(\d+)`)

// alpineRelease is "v3.19" for VERSION_ID "3.19.1".
func alpineRelease(versionID string) string {
	m := alpineVersion.FindStringSubmatch(versionID)
	if m == nil {
		return ""
	}
	return "v" + m[1] + "." + m[2]
}

// lookupName is a package name as advisory stores key it
// (advisory.NormalizeName): PEP 503 for PyPI, lower case for the
// case-insensitive registries, as written elsewhere.
func lookupName(eco, name string) string {
	return advisory.NormalizeName(eco, name)
}
