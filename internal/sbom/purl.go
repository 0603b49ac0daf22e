package sbom

import (
	"net/url"
	"strings"

	"github.com/package-url/packageurl-go"

	"github.com/vigil-sec/vigil/internal/asset"
	"github.com/vigil-sec/vigil/internal/inventory"
)

// maxPURLLen bounds the purls we parse; longer ones are kept as text.
const maxPURLLen = 4096

// purlEcosystems maps purl types to Vigil ecosystems.
var purlEcosystems = map[string]inventory.Ecosystem{
	packageurl.TypeDebian:   inventory.Debian,
	packageurl.TypeRPM:      inventory.RPM,
	packageurl.TypeApk:      inventory.Alpine,
	packageurl.TypeGolang:   inventory.Go,
	packageurl.TypeNPM:      inventory.Npm,
	packageurl.TypePyPi:     inventory.PyPI,
	packageurl.TypeMaven:    inventory.Maven,
	packageurl.TypeCargo:    inventory.Cargo,
	packageurl.TypeGem:      inventory.RubyGems,
	packageurl.TypeComposer: inventory.Packagist,
	packageurl.TypeNuget:    inventory.NuGet,
}

// parsePURL parses s, reporting whether it is a valid purl.
func parsePURL(s string) (packageurl.PackageURL, bool) {
	if s == "" || len(s) > maxPURLLen {
		return packageurl.PackageURL{}, false
	}
	p, err := packageurl.FromString(s)
	if err != nil || p.Type == "" || p.Name == "" {
		return packageurl.PackageURL{}, false
	}
	if p.Type == packageurl.TypeGolang {
		p.Namespace, p.Name = goModuleCase(s, p.Namespace, p.Name)
	}
	return p, true
}

// goModuleCase undoes packageurl-go's lowercasing of Go purls: Go module
// paths are case-sensitive (github.com/0xERR0R/blocky), and so are the Go
// vulnerability database's names. It returns the namespace and name as
// written in s when they equal the parsed ones but for case.
func goModuleCase(s, ns, name string) (string, string) {
	rest, ok := strings.CutPrefix(s, "pkg:")
	if !ok {
		return ns, name
	}
	rest, ok = strings.CutPrefix(strings.TrimLeft(rest, "/"), "golang/")
	if !ok {
		return ns, name
	}
	if i := strings.IndexAny(rest, "@?#"); i >= 0 {
		rest = rest[:i]
	}
	rawNS, rawName := "", rest
	if i := strings.LastIndexByte(rest, '/'); i >= 0 {
		rawNS, rawName = rest[:i], rest[i+1:]
	}
	uNS, err1 := url.PathUnescape(rawNS)
	uName, err2 := url.PathUnescape(rawName)
	if err1 != nil || err2 != nil || !strings.EqualFold(uNS, ns) || !strings.EqualFold(uName, name) {
		return ns, name
	}
	return uNS, uName
}

// ecosystemOf maps a purl type to a Vigil ecosystem, Other when unknown.
func ecosystemOf(p packageurl.PackageURL) inventory.Ecosystem {
	if e, ok := purlEcosystems[p.Type]; ok {
		return e
	}
	return inventory.Other
}

// purlName returns the package name Vigil uses for purl p: the namespace
// joined on for ecosystems whose names include it.
func purlName(p packageurl.PackageURL) string {
	if p.Namespace == "" {
		return p.Name
	}
	switch p.Type {
	case packageurl.TypeMaven:
		return p.Namespace + ":" + p.Name
	case packageurl.TypeGolang, packageurl.TypeNPM, packageurl.TypeComposer:
		return p.Namespace + "/" + p.Name
	}
	return p.Name
}

// packageName reconciles a component's own name and group with its purl:
// SBOM writers differ on whether Maven groups, npm scopes and Go module
// paths live in the name or beside it.
func packageName(name, group string, eco inventory.Ecosystem, p packageurl.PackageURL, purlOK bool) string {
	if name == "" {
		if purlOK {
			return purlName(p)
		}
		return group
	}
	sep := ""
	switch eco {
	case inventory.Maven:
		sep = ":"
	case inventory.Go, inventory.Npm, inventory.Packagist:
		sep = "/"
	default:
		return name
	}
	switch {
	case strings.Contains(name, sep):
		return name
	case group != "":
		return group + sep + name
	case purlOK && p.Namespace != "" && p.Name == name:
		return p.Namespace + sep + name
	}
	return name
}

// qualifier returns purl qualifier k's value.
func qualifier(p packageurl.PackageURL, k string) string {
	return p.Qualifiers.Map()[k]
}

// distroOS parses a purl "distro" qualifier ("debian-12", "alpine-3.19.1",
// "ubuntu-22.04", "rhel-9.3", "bookworm") into an OS.
func distroOS(p packageurl.PackageURL) *asset.OS {
	d := qualifier(p, "distro")
	if d == "" {
		return nil
	}
	if i := strings.LastIndexByte(d, '-'); i > 0 && i+1 < len(d) && d[i+1] >= '0' && d[i+1] <= '9' {
		return &asset.OS{ID: strings.ToLower(d[:i]), VersionID: d[i+1:]}
	}
	// A bare codename, as some writers give for Debian and Ubuntu.
	id := p.Namespace
	if id == "" {
		id = d
	}
	return &asset.OS{ID: strings.ToLower(id), Codename: d}
}

// upstreamSource reads the source package other writers record in a purl's
// "upstream" qualifier: "glibc" or "glibc@2.36-9" for deb and apk, a source
// RPM file name for rpm.
func upstreamSource(p packageurl.PackageURL) *inventory.Source {
	u := qualifier(p, "upstream")
	if u == "" {
		return nil
	}
	if p.Type == packageurl.TypeRPM {
		if base, ok := strings.CutSuffix(u, ".src.rpm"); ok {
			// name-version-release
			if i := strings.LastIndexByte(base, '-'); i > 0 {
				if j := strings.LastIndexByte(base[:i], '-'); j > 0 {
					return &inventory.Source{Name: base[:j], Version: base[j+1:]}
				}
			}
		}
		return &inventory.Source{Name: u}
	}
	name, version, _ := strings.Cut(u, "@")
	return &inventory.Source{Name: name, Version: version}
}
