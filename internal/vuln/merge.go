package vuln

import (
	"strconv"
	"strings"

	"github.com/vigil-sec/vigil/internal/advisory"
)

// unit is one vulnerability as one advisory states it for one package: the
// identifiers it is known by and the fixes its matched ranges name.
type unit struct {
	adv *advisory.Advisory
	ids []string
	// keys are the identifiers it merges by: all of ids, except that the
	// units split from one distribution advisory do not merge by its ID.
	keys    []string
	entries []*advisory.Affected // the advisory's entries for the package
	matched []*advisory.Affected // those the installed version is in
	fixes   []string
}

// split turns an advisory into the vulnerabilities it states. An OSV record
// is one vulnerability known by its ID and aliases. A distribution
// advisory (a DSA or DLA) bundles the fixes of several CVEs: it becomes
// one unit per CVE, each known by that CVE and the advisory's ID, so that
// five CVEs fixed by one DSA stay five vulnerabilities and merge each with
// the OSV records of the same CVE. A distribution advisory without a CVE
// (a regression update) is one unit under its own ID.
func (u unit) split() []unit {
	a := u.adv
	var cves []string
	for _, id := range a.Aliases {
		if isCVE(id) {
			cves = append(cves, id)
		}
	}
	if a.Source == "osv" || len(cves) <= 1 {
		u.ids = append([]string{a.ID}, a.Aliases...)
		u.keys = u.ids
		return []unit{u}
	}
	out := make([]unit, 0, len(cves))
	for _, c := range cves {
		v := u
		v.ids = []string{c, a.ID}
		v.keys = []string{c}
		out = append(out, v)
	}
	return out
}

// mergeUnits groups units that share an identifier, transitively (union
// find over identifiers), in order of first appearance.
func mergeUnits(units []unit) [][]unit {
	parent := make([]int, len(units))
	for i := range parent {
		parent[i] = i
	}
	var find func(int) int
	find = func(i int) int {
		for parent[i] != i {
			parent[i] = parent[parent[i]]
			i = parent[i]
		}
		return i
	}
	owner := map[string]int{}
	for i, u := range units {
		for _, id := range u.keys {
			id = strings.ToUpper(strings.TrimSpace(id))
			if id == "" {
				continue
			}
			if j, ok := owner[id]; ok {
				a, b := find(i), find(j)
				if a != b {
					parent[max(a, b)] = min(a, b)
				}
				continue
			}
			owner[id] = i
		}
	}
	var order []int
	groups := map[int][]unit{}
	for i, u := range units {
		r := find(i)
		if _, ok := groups[r]; !ok {
			order = append(order, r)
		}
		groups[r] = append(groups[r], u)
	}
	out := make([][]unit, 0, len(order))
	for _, r := range order {
		out = append(out, groups[r])
	}
	return out
}

// preferredID names a merged vulnerability: its CVE; the lowest-numbered
// CVE when the records carry several (duplicates are rejected in favour of
// the first assigned, as a rule); else the first identifier in sorted
// order (GHSA- before GO- before PYSEC- before RUSTSEC-).
func preferredID(ids map[string]bool) string {
	var best string
	for id := range ids {
		if isCVE(id) && (best == "" || cveLess(id, best)) {
			best = id
		}
	}
	if best != "" {
		return best
	}
	for id := range ids {
		if best == "" || id < best {
			best = id
		}
	}
	return best
}

func isCVE(id string) bool { return strings.HasPrefix(id, "CVE-") }

// cveLess orders CVE IDs by year, then number (CVE-2021-9999 before
// CVE-2021-10000); unparseable ones by string.
func cveLess(a, b string) bool {
	ya, na, oka := cveParts(a)
	yb, nb, okb := cveParts(b)
	if !oka || !okb {
		return a < b
	}
	if ya != yb {
		return ya < yb
	}
	if na != nb {
		return na < nb
	}
	return a < b
}

func cveParts(id string) (year, num int, ok bool) {
	parts := strings.Split(id, "-")
	if len(parts) != 3 {
		return 0, 0, false
	}
	y, err1 := strconv.Atoi(parts[1])
	n, err2 := strconv.Atoi(parts[2])
	return y, n, err1 == nil && err2 == nil
}
