package inventory

import (
	packageurl "github.com/package-url/packageurl-go"
	"slices"
	"strconv"
	"strings"

	"github.com/google/osv-scalibr/extractor"
	javaarchive "github.com/google/osv-scalibr/extractor/filesystem/language/java/archive"
	javameta "github.com/google/osv-scalibr/extractor/filesystem/language/java/archive/metadata"
	requirementsmeta "github.com/google/osv-scalibr/extractor/filesystem/language/python/requirements"
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
		if p.Ecosystem == Npm {
			// SCALIBR adds a "source" qualifier of its own (PUBLIC_REGISTRY,
			// UNKNOWN) that no purl consumer knows and that differs between
			// a lock file and node_modules for the same package.
			kept := packageurl.Qualifiers(u.Qualifiers)
			kept = slices.DeleteFunc(kept, func(q packageurl.Qualifier) bool { return q.Key == "source" })
			u.Qualifiers = purl.Qualifiers(kept)
		}
		p.PURL = u.String()
	}
	p.Locations = []Location{{Path: "/" + name}}
	if d := sp.Location.Descriptor; d != nil && d.File != nil && d.File.Path != "" && d.File.Path != name {
		p.Locations[0].Path = "/" + strings.TrimPrefix(d.File.Path, "/")
	}
	if nested := nestedArchives(sp, name); len(nested) > 0 {
		// A package from an archive inside the file (a fat jar's
		// BOOT-INF/lib/x.jar) names each nested member after a colon:
		// /app.jar:BOOT-INF/lib/x.jar.
		p.Locations[0].Path = "/" + name + ":" + strings.Join(nested, ":")
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
	case *requirementsmeta.Metadata:
		// requirements.txt: Version is the lowest the requirement allows
		// ("flask>=1.0" gives 1.0); keep what was written.
		p.setMeta("requirement", m.Requirement)
		p.setMeta("versionComparator", m.VersionComparator)
	}
	if g, ok := sp.Metadata.(interface{ DepGroups() []string }); ok {
		// Lock files say which groups need a package ("dev", "optional");
		// none means a production dependency.
		groups := slices.Clone(g.DepGroups())
		slices.Sort(groups)
		p.setMeta("depGroups", strings.Join(slices.Compact(groups), ","))
	}
	if p.Ecosystem == Go && x == "go/binary" && sp.Name == "go" {
		// SCALIBR names the toolchain "go"; OSV's Go database calls the
		// standard library "stdlib", which is what a matcher looks up.
		p.Name = "stdlib"
		p.PURL = (&purl.PackageURL{Type: purl.TypeGolang, Name: "stdlib", Version: sp.Version}).String()
		p.setMeta("toolchain", "go"+sp.Version)
	}
	p.ComputeID()
	return p, true
}

// nestedArchives lists, outermost first, the archives inside file name
// that sp was found in, each relative to the one containing it. SCALIBR's
// java/archive extractor keeps the outer file as the descriptor and lists
// the nested archives' paths (name/BOOT-INF/lib/x.jar, ...) first among the
// related locations.
func nestedArchives(sp *extractor.Package, name string) []string {
	var out []string
	outer := name
	for _, r := range sp.Location.Related {
		if r.File == nil || !javaarchive.IsArchive(r.File.Path) {
			continue
		}
		member, ok := strings.CutPrefix(r.File.Path, outer+"/")
		if !ok || member == "" {
			continue
		}
		out = append(out, member)
		outer = r.File.Path
	}
	return out
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
