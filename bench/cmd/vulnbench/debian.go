package main

import (
	"bufio"
	"os"
	"regexp"
	"slices"
	"strings"
)

// debianFixes reads a Debian security tracker list (data/DSA/list format)
// and returns, per source package, the versions fixed in release (a
// codename such as "bullseye"), oldest first. The list is newest first.
func debianFixes(path, release string) (map[string][]string, []string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	line := regexp.MustCompile(`^\s+\[` + regexp.QuoteMeta(release) + `\]\s+-\s+(\S+)\s+(\d\S*)`)
	fixes := map[string][]string{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		m := line.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		if !slices.Contains(fixes[m[1]], m[2]) {
			fixes[m[1]] = append(fixes[m[1]], m[2])
		}
	}
	if err := sc.Err(); err != nil {
		return nil, nil, err
	}
	var sources []string
	for src, vs := range fixes {
		slices.Reverse(vs)
		sources = append(sources, src)
	}
	slices.Sort(sources)
	return fixes, sources, nil
}

var debStableUpdate = regexp.MustCompile(`\+deb\d+u\d+$`)

// debianOld is an installed version older than fixes[i]: the version
// before a "+debNNuM" stable update, else the previous fix, else none.
func debianOld(fixes []string, i int) (string, bool) {
	if base := debStableUpdate.ReplaceAllString(fixes[i], ""); base != fixes[i] {
		return base, true
	}
	if i > 0 {
		return fixes[i-1], true
	}
	return "", false
}

// debianBinaries are binary package names built from source src, to give
// an image several binaries per source as real ones have.
func debianBinaries(src string, n int) []string {
	stem := strings.TrimPrefix(src, "lib")
	cands := []string{src, "lib" + stem, src + "-common", "lib" + stem + "-dev", src + "-doc", src + "-data", src + "-utils", "lib" + stem + "-dbg", src + "-bin", "lib" + stem + "1"}
	var out []string
	for _, c := range cands {
		if len(out) == n {
			break
		}
		if !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	return out
}
