package main

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// pin is one package version written into an accuracy input.
type pin struct {
	eco, name, version string
	why                string // how the version was chosen, for the manifest
}

// seed makes every generated input the same from run to run.
const seed = 20260824

// writeInputs writes the accuracy inputs under dir: go/go.mod,
// rust/Cargo.lock and python/requirements.txt, each pinning perEco old
// packages taken from the advisories (two in three inside an affected
// range, one in three at a fixed version), plus a few edge cases, and
// manifest.tsv listing every pin and why it was chosen.
func writeInputs(recs []*record, dir string, perEco int) error {
	r := rand.New(rand.NewPCG(seed, 1))
	var all []pin

	goPins := choose(r, buildIndex(recs, "Go"), "Go", perEco, func(name string, c candidate) bool {
		return validGoRequire(name, c.version)
	})
	goPins = addEdge(goPins, goEdges(recs)...)
	all = append(all, goPins...)
	if err := writeFile(filepath.Join(dir, "go", "go.mod"), goMod(goPins)); err != nil {
		return err
	}

	crates := choose(r, buildIndex(recs, "crates.io"), "crates.io", perEco, func(_ string, c candidate) bool {
		return semverRE.MatchString(c.version)
	})
	all = append(all, crates...)
	if err := writeFile(filepath.Join(dir, "rust", "Cargo.lock"), cargoLock(crates)); err != nil {
		return err
	}

	py := choose(r, buildIndex(recs, "PyPI"), "PyPI", perEco, func(_ string, c candidate) bool {
		return c.how != "below fixed"
	})
	py = addEdge(py, pypiEdges(recs, py)...)
	all = append(all, py...)
	if err := writeFile(filepath.Join(dir, "python", "requirements.txt"), requirements(py)); err != nil {
		return err
	}

	var b strings.Builder
	b.WriteString("ecosystem\tpackage\tversion\twhy\n")
	for _, p := range all {
		fmt.Fprintf(&b, "%s\t%s\t%s\t%s\n", p.eco, p.name, p.version, p.why)
	}
	return writeFile(filepath.Join(dir, "manifest.tsv"), b.String())
}

// choose pins n packages of ix: for each, a version inside an affected
// range, except every third one, pinned at a fixed version.
func choose(r *rand.Rand, ix index, eco string, n int, ok func(string, candidate) bool) []pin {
	var out []pin
	for _, name := range sortedNames(ix, r) {
		if len(out) == n {
			break
		}
		inside := len(out)%3 != 2
		c, found := pick(r, ix[name], inside, func(c candidate) bool { return ok(name, c) })
		if !found {
			continue
		}
		where := "outside " + c.rec
		if c.inside {
			where = "inside " + c.rec
		}
		out = append(out, pin{eco: eco, name: name, version: c.version, why: fmt.Sprintf("%s (%s)", where, c.how)})
	}
	slices.SortFunc(out, func(a, b pin) int { return strings.Compare(a.name, b.name) })
	return out
}

// addEdge adds edge cases, replacing a random pick of the same package.
func addEdge(pins []pin, edges ...pin) []pin {
	for _, e := range edges {
		pins = slices.DeleteFunc(pins, func(p pin) bool { return strings.EqualFold(p.name, e.name) })
		pins = append(pins, e)
	}
	return pins
}

// goEdges are Go cases a random pick may miss: a +incompatible version
// and a pseudo-version (both real releases of modules with advisories).
func goEdges(recs []*record) []pin {
	var out []pin
	known := buildIndex(recs, "Go")
	for _, e := range []pin{
		{eco: "Go", name: "github.com/dgrijalva/jwt-go", version: "3.2.0+incompatible", why: "edge: +incompatible version"},
		{eco: "Go", name: "golang.org/x/net", version: "0.0.0-20211112202133-69e39bad7dc2", why: "edge: pseudo-version"},
		{eco: "Go", name: "github.com/docker/distribution", version: "2.7.1+incompatible", why: "edge: +incompatible version"},
	} {
		if _, ok := known[e.name]; ok {
			out = append(out, e)
		}
	}
	return out
}

// pypiEdges are PyPI cases a random pick may miss: a name that PEP 503
// normalises differently from the advisory's spelling, a name written in
// another case, a version written non-canonically ("1.2" for the listed
// "1.2.0"), and a release newer than every listed version of an advisory
// without a fix (inside its range, not in its versions list).
func pypiEdges(recs []*record, chosen []pin) []pin {
	taken := map[string]bool{}
	for _, p := range chosen {
		taken[p.name] = true
	}
	ix := buildIndex(recs, "PyPI")
	var out []pin
	if _, ok := ix["jw.util"]; ok {
		out = append(out, pin{eco: "PyPI", name: "jw.util", version: "1.0", why: "edge: name with a dot (advisory spells it jw.util)"})
	}
	if _, ok := ix["pyyaml"]; ok {
		out = append(out, pin{eco: "PyPI", name: "PyYAML", version: "5.3", why: "edge: name in another case (advisory: pyyaml)"})
	}
	short := regexp.MustCompile(`^(\d+\.\d+)\.0$`)
	for _, name := range slices.Sorted(maps.Keys(ix)) {
		if taken[name] || name == "jw.util" || name == "pyyaml" {
			continue
		}
		found := false
		for _, c := range ix[name] {
			if m := short.FindStringSubmatch(c.version); m != nil && c.how == "listed" {
				out = append(out, pin{eco: "PyPI", name: name, version: m[1], why: fmt.Sprintf("edge: non-canonical version %s of listed %s (%s)", m[1], c.version, c.rec)})
				taken[name] = true
				found = true
				break
			}
		}
		if found {
			break
		}
	}
	if e, ok := unfixedNewer(recs, taken); ok {
		out = append(out, e)
	}
	return out
}

// unfixedNewer finds a PyPI advisory whose ECOSYSTEM range has no fix and
// lists versions, and pins the release after its last listed version.
func unfixedNewer(recs []*record, taken map[string]bool) (pin, bool) {
	for _, r := range recs {
		if r.Withdrawn != "" {
			continue
		}
		for _, a := range r.Affected {
			if a.Package.Ecosystem != "PyPI" || taken[a.Package.Name] || len(a.Versions) == 0 {
				continue
			}
			unfixed, gitFirst := false, len(a.Ranges) > 0 && a.Ranges[0].Type == "GIT"
			for _, rg := range a.Ranges {
				if rg.Type != "ECOSYSTEM" {
					continue
				}
				unfixed = true
				for _, e := range rg.Events {
					if e["fixed"] != "" || e["last_affected"] != "" || e["limit"] != "" {
						unfixed = false
					}
				}
			}
			if !unfixed || !gitFirst {
				continue
			}
			last := a.Versions[len(a.Versions)-1]
			next, ok := bumpLast(last)
			if !ok {
				continue
			}
			return pin{eco: "PyPI", name: a.Package.Name, version: next,
				why: fmt.Sprintf("edge: release after the last listed %s of unfixed %s (GIT range first)", last, r.ID)}, true
		}
	}
	return pin{}, false
}

var plainRelease = regexp.MustCompile(`^(\d+(?:\.\d+)*)\.(\d+)$`)

// bumpLast adds one to the last component of a plain release ("1.2.3" →
// "1.2.4").
func bumpLast(v string) (string, bool) {
	m := plainRelease.FindStringSubmatch(v)
	if m == nil {
		return "", false
	}
	n, _ := strconv.Atoi(m[2])
	return m[1] + "." + strconv.Itoa(n+1), true
}

func goMod(pins []pin) string {
	var b strings.Builder
	b.WriteString("module example.com/vigil-bench/accuracy\n\ngo 1.21\n\nrequire (\n")
	slices.SortFunc(pins, func(a, b pin) int { return strings.Compare(a.name, b.name) })
	for _, p := range pins {
		fmt.Fprintf(&b, "\t%s v%s\n", p.name, p.version)
	}
	b.WriteString(")\n")
	return b.String()
}

func cargoLock(pins []pin) string {
	var b strings.Builder
	b.WriteString("# This file is automatically @generated by Cargo.\n# It is not intended for manual editing.\nversion = 3\n")
	b.WriteString("\n[[package]]\nname = \"vigil-bench-accuracy\"\nversion = \"0.1.0\"\ndependencies = [\n")
	for _, p := range pins {
		fmt.Fprintf(&b, " %q,\n", p.name)
	}
	b.WriteString("]\n")
	for _, p := range pins {
		fmt.Fprintf(&b, "\n[[package]]\nname = %q\nversion = %q\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\n", p.name, p.version)
	}
	return b.String()
}

func requirements(pins []pin) string {
	var b strings.Builder
	slices.SortFunc(pins, func(a, b pin) int { return strings.Compare(strings.ToLower(a.name), strings.ToLower(b.name)) })
	for _, p := range pins {
		fmt.Fprintf(&b, "%s==%s\n", p.name, p.version)
	}
	return b.String()
}

func writeFile(path, content string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, []byte(content), 0o644)
}
