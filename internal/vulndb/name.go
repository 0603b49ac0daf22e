package vulndb

import (
	"strings"

	"github.com/vigil-sec/vigil/internal/advisory"
)

// nameKey is the name column of the affected table for package name in
// ecosystem: advisory.NormalizeName of the name without surrounding white
// space (PyPI names by PEP 503, NuGet and Packagist names in lower case,
// ...). Builds and lookups both go through it, so they agree whatever
// spelling the feed or the inventory used. The keys are baked into the
// file: a change of advisory.NormalizeName's rules needs a SchemaVersion
// bump.
func nameKey(ecosystem, name string) string {
	return advisory.NormalizeName(ecosystem, strings.TrimSpace(name))
}
