package vex

import (
	"net/url"
	"slices"
	"strings"

	"github.com/package-url/packageurl-go"
)

// maxPURLLen bounds the purls parsed; longer ones never match.
const maxPURLLen = 4096

// PackageIRIPrefix starts the product @id WriteOpenVEX gives a package
// without a valid purl: the prefix and the Vigil package ID. The .invalid
// domain is reserved: Vigil publishes nothing there.
const PackageIRIPrefix = "https://vigil.invalid/package/"

// product is what a statement is about: a package URL, or a reference (a
// CycloneDX bom-ref, a Vigil package IRI) that can only match a Vigil
// package ID.
type product struct {
	purl   packageurl.PackageURL
	isPURL bool
	// ref is the identifier as written (for a BOM-Link, its fragment).
	ref string
	// versions, when not empty, limits a CycloneDX affects entry to these
	// exact versions.
	versions []string
}

// newProduct reads an OpenVEX @id, a purl identifier or a CycloneDX
// affects ref.
func newProduct(id string) product {
	id = strings.TrimSpace(id)
	// A CycloneDX BOM-Link names a component of another BOM:
	// urn:cdx:<serial>/<version>#<bom-ref>.
	if strings.HasPrefix(id, "urn:cdx:") {
		if _, frag, ok := strings.Cut(id, "#"); ok {
			if f, err := url.PathUnescape(frag); err == nil {
				id = f
			}
		}
	}
	p, ok := parsePURL(id)
	return product{purl: p, isPURL: ok, ref: id}
}

// matches reports whether the product is the package with Vigil ID id,
// purl pp (when purlOK) and version.
func (pr *product) matches(id string, pp packageurl.PackageURL, purlOK bool, version string) bool {
	if len(pr.versions) > 0 && !slices.Contains(pr.versions, version) {
		return false
	}
	if pr.isPURL {
		return purlOK && purlMatches(pr.purl, pp)
	}
	return id != "" && (pr.ref == id || pr.ref == PackageIRIPrefix+id)
}

// purlMatches reports whether statement purl s covers package purl p: the
// same type, namespace and name; the same version unless s has none; every
// qualifier of s present in p with the same value (so a purl without
// qualifiers covers every architecture and distribution); the same subpath
// if s has one.
func purlMatches(s, p packageurl.PackageURL) bool {
	if s.Type != p.Type || s.Namespace != p.Namespace || s.Name != p.Name {
		return false
	}
	if s.Version != "" && s.Version != p.Version {
		return false
	}
	if s.Subpath != "" && s.Subpath != p.Subpath {
		return false
	}
	if len(s.Qualifiers) > 0 {
		pq := p.Qualifiers.Map()
		for _, q := range s.Qualifiers {
			if v, ok := pq[q.Key]; !ok || v != q.Value {
				return false
			}
		}
	}
	return true
}

// parsePURL parses s, reporting whether it is a valid purl.
func parsePURL(s string) (packageurl.PackageURL, bool) {
	if !strings.HasPrefix(s, "pkg:") || len(s) > maxPURLLen {
		return packageurl.PackageURL{}, false
	}
	p, err := packageurl.FromString(s)
	if err != nil || p.Type == "" || p.Name == "" {
		return packageurl.PackageURL{}, false
	}
	return p, true
}
