package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"regexp"

	"github.com/package-url/packageurl-go"
)

// dsaEntry is one release line of a DSA: the advisory fixes source in
// the release at version fixed.
type dsaEntry struct {
	id, source, fixed string
}

var (
	dsaHeader = regexp.MustCompile(`^\[[^\]]+\]\s+(D[SL]A-\d+-\d+)\s`)
	dsaNotes  = regexp.MustCompile(`^\s+\{`)
)

// readDSA reads the release lines of a tracker list with their advisory.
func readDSA(path, release string) ([]dsaEntry, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	line := regexp.MustCompile(`^\s+\[` + regexp.QuoteMeta(release) + `\]\s+-\s+(\S+)\s+(\d\S*)`)
	var out []dsaEntry
	cur := ""
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		t := sc.Text()
		if m := dsaHeader.FindStringSubmatch(t); m != nil {
			cur = m[1]
			continue
		}
		if dsaNotes.MatchString(t) {
			continue
		}
		if m := line.FindStringSubmatch(t); m != nil && cur != "" {
			out = append(out, dsaEntry{id: cur, source: m[1], fixed: m[2]})
		}
	}
	return out, sc.Err()
}

// dpkgLess asks dpkg whether a < b under Debian's version ordering,
// caching answers (the binaries of one source share versions).
type dpkgLess map[[2]string]bool

func (c dpkgLess) less(a, b string) (bool, error) {
	k := [2]string{a, b}
	if v, ok := c[k]; ok {
		return v, nil
	}
	err := exec.Command("dpkg", "--compare-versions", a, "lt", b).Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
		c[k] = true
	case errors.As(err, &exit) && exit.ExitCode() == 1:
		c[k] = false
	default:
		return false, fmt.Errorf("dpkg --compare-versions %q lt %q: %w", a, b, err)
	}
	return c[k], nil
}

// debianOracle lists the DSAs that affect each Debian package of an SBOM,
// judged by dpkg itself: a binary package is affected by a DSA of its
// source when its version is lower than the DSA's fixed version for the
// release. It is independent of Vigil's Debian code.
func debianOracle(sbomPath, dsaList, release string, g *groups) (*findings, error) {
	data, err := os.ReadFile(sbomPath)
	if err != nil {
		return nil, err
	}
	var bom cdxBOM
	if err := json.Unmarshal(data, &bom); err != nil {
		return nil, fmt.Errorf("%s: %w", sbomPath, err)
	}
	entries, err := readDSA(dsaList, release)
	if err != nil {
		return nil, err
	}
	bySource := map[string][]dsaEntry{}
	for _, e := range entries {
		bySource[e.source] = append(bySource[e.source], e)
	}
	cmp := dpkgLess{}
	fs := newFindings()
	for _, c := range bom.Components {
		pu, err := packageurl.FromString(c.PURL)
		if err != nil || pu.Type != "deb" {
			continue
		}
		src := pu.Qualifiers.Map()["upstream"]
		if src == "" {
			src = pu.Name
		}
		for _, e := range bySource[src] {
			lt, err := cmp.less(c.Version, e.fixed)
			if err != nil {
				return nil, err
			}
			if lt {
				fs.add(g, "Debian", c.Name, c.Version, e.id, "")
			}
		}
	}
	return fs, nil
}

// onlyEcosystem keeps the findings of one ecosystem.
func (fs *findings) onlyEcosystem(eco string) *findings {
	out := newFindings()
	for k, f := range fs.set {
		if f.Ecosystem == eco {
			out.set[k] = f
			out.ids[k] = fs.ids[k]
		}
	}
	return out
}
