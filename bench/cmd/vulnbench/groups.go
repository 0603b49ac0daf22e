package main

import "strings"

// groups joins vulnerability identifiers that name the same vulnerability
// (a record's ID and its aliases, transitively), so that GO-, GHSA-,
// PYSEC-, RUSTSEC- and CVE- names of one issue compare equal.
type groups struct {
	parent map[string]string
	byRoot map[string][]string // built on first use of members
}

func newGroups(recs []*record) *groups {
	g := &groups{parent: map[string]string{}}
	for _, r := range recs {
		for _, a := range r.Aliases {
			g.union(r.ID, a)
		}
		g.find(r.ID)
	}
	return g
}

func (g *groups) find(id string) string {
	p, ok := g.parent[id]
	if !ok {
		g.parent[id] = id
		return id
	}
	if p == id {
		return id
	}
	root := g.find(p)
	g.parent[id] = root
	return root
}

func (g *groups) union(a, b string) {
	ra, rb := g.find(a), g.find(b)
	if ra == rb {
		return
	}
	g.byRoot = nil
	// The smaller identifier is the root, so results do not depend on
	// the order records were read in.
	if rb < ra {
		ra, rb = rb, ra
	}
	g.parent[rb] = ra
}

// members lists every identifier of id's group.
func (g *groups) members(id string) []string {
	if g.byRoot == nil {
		g.byRoot = map[string][]string{}
		for m := range g.parent {
			r := g.find(m)
			g.byRoot[r] = append(g.byRoot[r], m)
		}
	}
	if ms, ok := g.byRoot[g.find(id)]; ok {
		return ms
	}
	return []string{id}
}

// label names a group for people: its CVE when it has one, else its root.
func (g *groups) label(id string) string {
	best := ""
	for _, m := range g.members(id) {
		if strings.HasPrefix(m, "CVE-") && (best == "" || m < best) {
			best = m
		}
	}
	if best == "" {
		return g.find(id)
	}
	return best
}
