package inventory

import (
	"strconv"
	"strings"

	"github.com/google/osv-scalibr/extractor"
	javameta "github.com/google/osv-scalibr/extractor/filesystem/language/java/archive/metadata"
	apkmeta "github.com/google/osv-scalibr/extractor/filesystem/os/apk/metadata"
	dpkgmeta "github.com/google/osv-scalibr/extractor/filesystem/os/dpkg/metadata"
	rpmmeta "github.com/google/osv-scalibr/extractor/filesystem/os/rpm/metadata"
	"github.com/google/osv-scalibr/purl"
)

// EcosystemOfPURLType maps a purl type to Vigil's ecosystem.
func EcosystemOfPURLType(t string) Ecosystem {
	switch t {
	case purl.TypeDebian:
		return Debian
	case purl.TypeRPM:
		return RPM
	case purl.TypeApk:
		return Alpine
	case purl.TypeGolang:
		return Go
	case purl.TypeNPM:
		return Npm
	case purl.TypePyPi:
		return PyPI
	case purl.TypeMaven:
		return Maven
	case purl.TypeCargo:
		return Cargo
	case purl.TypeGem:
		return RubyGems
	case purl.TypeComposer:
		return Packagist
	case purl.TypeNuget:
		return NuGet
	}
	return Other
}

// convert maps a SCALIBR package found in file name by extractor x to
// Vigil's model. It reports false for packages without a name.
func convert(sp *extractor.Package, x, name string) (Package, bool) {
	if sp == nil || strings.TrimSpace(sp.Name) == "" {
		return Package{}, false
	}
	p := Package{
		Name:      sp.Name,
		Version:   sp.Version,
		Ecosystem: EcosystemOfPURLType(sp.PURLType),
		Licenses:  cleanLicenses(sp.Licenses),
		Extractor: x,
	}
	if u := sp.PURL(); u != nil {
		p.PURL = u.String()
	}
	p.Locations = []Location{{Path: "/" + name}}
	if d := sp.Location.Descriptor; d != nil && d.File != nil && d.File.Path != "" && d.File.Path != name {
		// Archives report the nested member too (app.jar:lib/x.jar).
		p.Locations[0].Path = "/" + strings.TrimPrefix(d.File.Path, "/")
	}
	switch m := sp.Metadata.(type) {
	case *dpkgmeta.Metadata:
		src, srcVer := m.SourceName, m.SourceVersion
		if src == "" {
			src = m.PackageName
		}
		if srcVer == "" {
			srcVer = sp.Version
		}
		p.Source = &Source{Name: src, Version: srcVer}
		p.setMeta("architecture", m.Architecture)
	case *rpmmeta.Metadata:
		if m.Epoch > 0 {
			p.Version = strconv.Itoa(m.Epoch) + ":" + sp.Version
			p.setMeta("epoch", strconv.Itoa(m.Epoch))
		}
		if n, v, ok := parseSourceRPM(m.SourceRPM); ok {
			p.Source = &Source{Name: n, Version: v}
		}
		p.setMeta("architecture", m.Architecture)
		p.setMeta("vendor", m.Vendor)
	case *apkmeta.Metadata:
		origin := m.OriginName
		if origin == "" {
			origin = m.PackageName
		}
		p.Source = &Source{Name: origin, Version: sp.Version}
		p.setMeta("architecture", m.Architecture)
	case *javameta.Metadata:
		p.setMeta("groupId", m.GroupID)
		p.setMeta("artifactId", m.ArtifactID)
		p.setMeta("sha1", m.SHA1)
	}
	if p.Ecosystem == Go && x == "go/binary" && sp.Name == "go" {
		// SCALIBR names the toolchain "go"; OSV's Go database calls the
		// standard library "stdlib", which is what a matcher looks up.
		p.Name = "stdlib"
		p.setMeta("toolchain", "go"+sp.Version)
	}
	p.ComputeID()
	return p, true
}

func (p *Package) setMeta(k, v string) {
	if v == "" {
		return
	}
	if p.Metadata == nil {
		p.Metadata = map[string]string{}
	}
	p.Metadata[k] = v
}

func cleanLicenses(in []string) []string {
	var out []string
	for _, l := range in {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

// parseSourceRPM splits "bash-5.1.8-6.el9.src.rpm" into ("bash", "5.1.8-6.el9").
func parseSourceRPM(s string) (name, version string, ok bool) {
	s = strings.TrimSuffix(s, ".rpm")
	s = strings.TrimSuffix(s, ".src")
	s = strings.TrimSuffix(s, ".nosrc")
	// name-version-release: the last two dashes delimit version and release.
	r := strings.LastIndexByte(s, '-')
	if r <= 0 {
		return "", "", false
	}
	v := strings.LastIndexByte(s[:r], '-')
	if v <= 0 {
		return "", "", false
	}
	return s[:v], s[v+1:], true
}
