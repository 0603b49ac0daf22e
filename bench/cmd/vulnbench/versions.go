package main

import (
	"math/rand/v2"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// candidate is a version of a package the inputs may pin, with why it
// was chosen.
type candidate struct {
	version string
	inside  bool   // inside an affected range of record rec
	rec     string // the record it came from
	how     string // "listed", "introduced", "last_affected", "below fixed", "fixed"
}

// index is every package of one ecosystem named by an advisory, with the
// versions its records make interesting.
type index map[string][]candidate

// buildIndex collects candidates for ecosystem eco: versions listed as
// affected, introduced and last_affected events (inside), fixed events
// (outside, for that record), and for SEMVER ranges the release just
// below a fix (inside).
func buildIndex(recs []*record, eco string) index {
	ix := index{}
	for _, r := range recs {
		if r.Withdrawn != "" {
			continue
		}
		for _, a := range r.Affected {
			if a.Package.Ecosystem != eco {
				continue
			}
			name := a.Package.Name
			add := func(v string, inside bool, how string) {
				if v == "" || v == "0" || v == "0.0.0-0" {
					return
				}
				ix[name] = append(ix[name], candidate{version: v, inside: inside, rec: r.ID, how: how})
			}
			for _, v := range a.Versions {
				add(v, true, "listed")
			}
			for _, rg := range a.Ranges {
				if rg.Type != "SEMVER" && rg.Type != "ECOSYSTEM" {
					continue
				}
				for _, e := range rg.Events {
					add(e["introduced"], true, "introduced")
					add(e["last_affected"], true, "last_affected")
					if f := e["fixed"]; f != "" {
						add(f, false, "fixed")
						if rg.Type == "SEMVER" {
							if b, ok := semverBelow(f); ok {
								add(b, true, "below fixed")
							}
						}
					}
				}
			}
		}
	}
	for name, cs := range ix {
		// One candidate per version, the first seen.
		seen := map[string]bool{}
		out := cs[:0]
		for _, c := range cs {
			if !seen[c.version] {
				seen[c.version] = true
				out = append(out, c)
			}
		}
		ix[name] = out
	}
	return ix
}

var semverRE = regexp.MustCompile(`^(\d+)\.(\d+)\.(\d+)(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$`)

// semverBelow is a release just below release v: 1.2.3 → 1.2.2,
// 1.3.0 → 1.2.0. Prereleases, x.0.0 and versions with build metadata
// other than +incompatible have none.
func semverBelow(v string) (string, bool) {
	m := semverRE.FindStringSubmatch(v)
	if m == nil || m[4] != "" || (m[5] != "" && m[5] != "+incompatible") {
		return "", false
	}
	maj, _ := strconv.Atoi(m[1])
	mnr, _ := strconv.Atoi(m[2])
	pat, _ := strconv.Atoi(m[3])
	switch {
	case pat > 0:
		pat--
	case mnr > 0:
		mnr--
	default:
		return "", false
	}
	return strconv.Itoa(maj) + "." + strconv.Itoa(mnr) + "." + strconv.Itoa(pat) + m[5], true
}

var (
	goMajorSuffix = regexp.MustCompile(`/v(\d+)$`)
	gopkgInSuffix = regexp.MustCompile(`^gopkg\.in/.*\.v(\d+)$`)
)

// validGoRequire reports whether "require path vVERSION" (version given
// without its "v") is a valid go.mod
// line: a semantic version whose major version agrees with the module
// path (/vN, gopkg.in's .vN, or +incompatible beyond v1).
func validGoRequire(path, version string) bool {
	if path == "stdlib" || path == "toolchain" || !strings.Contains(path, ".") {
		return false
	}
	m := semverRE.FindStringSubmatch(version)
	if m == nil {
		return false
	}
	maj, _ := strconv.Atoi(m[1])
	incompatible := m[5] == "+incompatible"
	if m[5] != "" && !incompatible {
		return false
	}
	if g := gopkgInSuffix.FindStringSubmatch(path); g != nil {
		want, _ := strconv.Atoi(g[1])
		return !incompatible && (maj == want || (want == 0 && maj == 0))
	}
	if s := goMajorSuffix.FindStringSubmatch(path); s != nil {
		want, _ := strconv.Atoi(s[1])
		if want >= 2 {
			return !incompatible && maj == want
		}
	}
	if incompatible {
		return maj >= 2
	}
	return maj <= 1
}

// pick chooses a candidate of cs, inside an affected range when inside
// (falling back to any), with r.
func pick(r *rand.Rand, cs []candidate, inside bool, ok func(candidate) bool) (candidate, bool) {
	var pool, all []candidate
	for _, c := range cs {
		if !ok(c) {
			continue
		}
		all = append(all, c)
		if c.inside == inside {
			pool = append(pool, c)
		}
	}
	if len(pool) == 0 {
		pool = all
	}
	if len(pool) == 0 {
		return candidate{}, false
	}
	return pool[r.IntN(len(pool))], true
}

// sortedNames is the index's package names, shuffled by r (sorted first so
// the shuffle is deterministic).
func sortedNames(ix index, r *rand.Rand) []string {
	names := make([]string, 0, len(ix))
	for n := range ix {
		names = append(names, n)
	}
	slices.Sort(names)
	r.Shuffle(len(names), func(i, j int) { names[i], names[j] = names[j], names[i] })
	return names
}
