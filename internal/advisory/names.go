package advisory

import "strings"

// EcosystemBase returns an OSV ecosystem without its release or repository
// suffix: "Debian:11" → "Debian", "Alpine:v3.11" → "Alpine",
// "Maven:https://maven.google.com" → "Maven", "Go" → "Go".
func EcosystemBase(ecosystem string) string {
	if i := strings.IndexByte(ecosystem, ':'); i >= 0 {
		return ecosystem[:i]
	}
	return ecosystem
}

// NormalizeName returns the key under which a package name is stored and
// looked up in ecosystem (compared without its ":release" suffix, ignoring
// case). Names are compared the way the ecosystem's registry compares them:
//
//   - PyPI: PEP 503 normalisation, lowercase with every run of "-", "_"
//     and "." replaced by one "-" (the OSV schema requires this form).
//   - NuGet, Packagist, Hex, Pub, GitHub Actions, VSCode: case-insensitive
//     registries (NuGet ids, Composer vendor/package, GitHub owner/repo,
//     VS Code publisher.name; Hex and Pub allow only lowercase): lowercased.
//   - Everything else as is: npm (legacy names differ only in case),
//     Go module paths, crates.io (Cargo.lock spells the canonical name),
//     Maven groupId:artifactId, RubyGems, Debian, Alpine, RPM-based
//     distributions and the rest.
func NormalizeName(ecosystem, name string) string {
	switch base := EcosystemBase(ecosystem); {
	case strings.EqualFold(base, "PyPI"):
		return pep503(name)
	case strings.EqualFold(base, "NuGet"),
		strings.EqualFold(base, "Packagist"),
		strings.EqualFold(base, "Hex"),
		strings.EqualFold(base, "Pub"),
		strings.EqualFold(base, "GitHub Actions"),
		strings.EqualFold(base, "VSCode"):
		return strings.ToLower(name)
	}
	return name
}

// pep503 normalises a Python distribution name.
func pep503(name string) string {
	var b strings.Builder
	b.Grow(len(name))
	sep := false
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c == '-' || c == '_' || c == '.':
			sep = true
			continue
		case 'A' <= c && c <= 'Z':
			c += 'a' - 'A'
		}
		if sep {
			b.WriteByte('-')
			sep = false
		}
		b.WriteByte(c)
	}
	if sep {
		b.WriteByte('-')
	}
	return b.String()
}
