package compare

import (
	"cmp"
	"slices"
)

// Comparison is the packages of several tools' SBOMs of one input.
type Comparison struct {
	// Sets are the tools' packages; Sets[0] is the subject (Vigil).
	Sets []*Set
	// Rows are the packages some tools report and others do not, ordered
	// by class, then by key.
	Rows []Row
	// Common is how many packages every tool reports.
	Common int
}

// Row is one package not every tool reports.
type Row struct {
	Key Key
	// In says which of Comparison.Sets report it.
	In []bool
	// Class explains the difference.
	Class *Class
	// Detail is what the other tools report instead, if anything
	// ("syft: 1.2.3").
	Detail string
}

// Compare compares sets; the first is the subject the classes speak of.
func Compare(sets ...*Set) *Comparison {
	c := &Comparison{Sets: sets}
	union := map[Key]bool{}
	for _, s := range sets {
		for k := range s.Keys {
			union[k] = true
		}
	}
	idx := newIndex(sets)
	for k := range union {
		in := make([]bool, len(sets))
		all := true
		for i, s := range sets {
			_, in[i] = s.Keys[k]
			all = all && in[i]
		}
		if all {
			c.Common++
			continue
		}
		cl, detail := classify(k, in, sets, idx)
		c.Rows = append(c.Rows, Row{Key: k, In: in, Class: cl, Detail: detail})
	}
	order := map[*Class]int{}
	for i, cl := range Classes {
		order[cl] = i
	}
	slices.SortFunc(c.Rows, func(a, b Row) int {
		return cmp.Or(
			cmp.Compare(order[a.Class], order[b.Class]),
			cmp.Compare(a.Key.Type, b.Key.Type),
			cmp.Compare(a.Key.Name, b.Key.Name),
			cmp.Compare(a.Key.Version, b.Key.Version),
		)
	})
	return c
}

// Only returns the rows reported by set i and not by set j.
func (c *Comparison) Only(i, j int) []Row {
	var out []Row
	for _, r := range c.Rows {
		if r.In[i] && !r.In[j] {
			out = append(out, r)
		}
	}
	return out
}

// index finds, per tool, the versions reported for a type and name, and the
// types reported for a name and version.
type index struct {
	versions []map[[2]string][]string // (type, name) → versions
	types    []map[[2]string][]string // (name, version) → types
}

func newIndex(sets []*Set) *index {
	ix := &index{}
	for _, s := range sets {
		v := map[[2]string][]string{}
		t := map[[2]string][]string{}
		for k := range s.Keys {
			v[[2]string{k.Type, k.Name}] = append(v[[2]string{k.Type, k.Name}], k.Version)
			t[[2]string{k.Name, k.Version}] = append(t[[2]string{k.Name, k.Version}], k.Type)
		}
		for _, m := range []map[[2]string][]string{v, t} {
			for key := range m {
				slices.Sort(m[key])
			}
		}
		ix.versions = append(ix.versions, v)
		ix.types = append(ix.types, t)
	}
	return ix
}
