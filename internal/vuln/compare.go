package vuln

import (
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/google/osv-scalibr/semantic"
)

// errVersion is returned for a version an ecosystem's ordering cannot read.
var errVersion = errors.New("unreadable version")

// version is an installed version parsed once under one ecosystem's
// ordering, compared with many advisory versions.
type version struct {
	eco string // ordering: an OSV ecosystem base ("Debian", "PyPI") or "SEMVER"
	v   semantic.Version
}

// parseVersion reads s under the ordering of ecosystem eco, an OSV ecosystem
// with or without release ("Debian:11") or "SEMVER" for OSV SEMVER ranges.
//
// Ordering is OSV-SCALIBR's semantic package (dpkg, RPM, APK, SemVer, PEP
// 440, Maven, NuGet, Packagist, RubyGems, ...), after normalising what it
// does not: Go versions are "v"-less SemVer with the toolchain's "go1.21rc2"
// spellings mapped to "1.21.0-rc.2" (see goVersion).
func parseVersion(eco, s string) (version, error) {
	base, _, _ := strings.Cut(eco, ":")
	key := [2]string{base, s}
	parsed.Lock()
	r, ok := parsed.m[key]
	parsed.Unlock()
	if ok {
		return r.v, r.err
	}
	v, err := parseUncached(base, s)
	parsed.Lock()
	if len(parsed.m) >= maxParsed {
		clear(parsed.m)
	}
	parsed.m[key] = parsedVersion{v, err}
	parsed.Unlock()
	return v, err
}

// parsed memoises parseVersion, a pure function: advisories repeat the same
// few thousand version strings (PyPA's version lists run to hundreds per
// record) across every package of a scan, and parsing dominated matching
// (a 5,000-package SBOM: 2.3 s without, 1.0 s with). It is bounded by
// maxParsed entries and emptied when full.
var parsed = struct {
	sync.Mutex
	m map[[2]string]parsedVersion
}{m: map[[2]string]parsedVersion{}}

const maxParsed = 1 << 18

type parsedVersion struct {
	v   version
	err error
}

func parseUncached(base, s string) (version, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return version{}, fmt.Errorf("%w: empty", errVersion)
	}
	var (
		v   semantic.Version
		err error
	)
	switch base {
	case "SEMVER", "Go":
		if base == "Go" {
			s = goVersion(s)
		}
		v = semantic.ParseSemverVersion(strings.TrimPrefix(s, "v"))
	default:
		v, err = semantic.Parse(s, base)
	}
	if err != nil {
		return version{}, fmt.Errorf("%w %q (%s): %w", errVersion, s, base, err)
	}
	return version{eco: base, v: v}, nil
}

// compare orders v against the version string w of the same ecosystem:
// -1 when v < w, 0 when equal, +1 when v > w.
func (v version) compare(w string) (int, error) {
	pw, err := parseVersion(v.eco, w)
	if err != nil {
		return 0, err
	}
	c, err := v.v.Compare(pw.v)
	if err != nil {
		return 0, fmt.Errorf("%w %q (%s): %w", errVersion, w, v.eco, err)
	}
	return c, nil
}

// compareVersions orders two version strings of ecosystem eco.
func compareVersions(eco, a, b string) (int, error) {
	v, err := parseVersion(eco, a)
	if err != nil {
		return 0, err
	}
	return v.compare(b)
}

// goVersion maps the Go toolchain's version spellings to the SemVer the Go
// vulnerability database uses, as govulncheck does: "go1.21.3" → "1.21.3",
// "go1.21" → "1.21.0", "go1.21rc2" → "1.21.0-rc.2", "go1.20beta1" →
// "1.20.0-beta.1". A " X:boringcrypto"-style suffix is dropped. Module
// versions ("v1.2.3", pseudo-versions) only lose their "v".
func goVersion(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), " ")
	rest, ok := strings.CutPrefix(s, "go")
	if !ok {
		return strings.TrimPrefix(s, "v")
	}
	pre := ""
	for _, tag := range []string{"rc", "beta", "alpha"} {
		if i := strings.Index(rest, tag); i > 0 {
			pre = "-" + tag + "." + rest[i+len(tag):]
			rest = rest[:i]
			break
		}
	}
	switch strings.Count(rest, ".") {
	case 0:
		rest += ".0.0"
	case 1:
		rest += ".0"
	}
	return rest + pre
}
