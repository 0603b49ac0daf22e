package results

import (
	"fmt"
	"strings"

	"github.com/vigil-sec/vigil/bench/internal/compare"
	"github.com/vigil-sec/vigil/bench/internal/corpus"
)

// The goals of issue 2, per corpus. Each returns "met (…)" or "**not met**
// (…)" with the numbers it was decided on, or "–" when not measured.

func verdict(ok bool, format string, args ...any) string {
	s := fmt.Sprintf(format, args...)
	if ok {
		return "met (" + s + ")"
	}
	return "**not met** (" + s + ")"
}

func bothRan(r *corpusResult, a, b string) (*stat, *stat, bool) {
	x, y := r.stats[a], r.stats[b]
	return x, y, x != nil && y != nil && !x.failed && !y.failed
}

// goalFaster: Vigil's first scan takes at most half Syft's time.
func goalFaster(r *corpusResult) string {
	v, s, ok := bothRan(r, vigil, syft)
	if !ok {
		return "–"
	}
	return verdict(2*v.wall <= s.wall, "%.1f× faster", s.wall/v.wall)
}

// goalVsScalibrTime: Vigil's first scan is no slower than SCALIBR.
func goalVsScalibrTime(r *corpusResult) string {
	v, s, ok := bothRan(r, vigil, scalibr)
	if !ok {
		return "–"
	}
	return verdict(v.wall <= s.wall, "%s s vs %s s", sec(v.wall), sec(s.wall))
}

// goalVsScalibrRSS: Vigil's first scan peaks at no more memory than
// SCALIBR.
func goalVsScalibrRSS(r *corpusResult) string {
	v, s, ok := bothRan(r, vigil, scalibr)
	if !ok {
		return "–"
	}
	return verdict(v.rssKB <= s.rssKB, "%.0f vs %.0f MiB", mib(v.rssKB), mib(s.rssKB))
}

// goalPackages: Vigil reports at least as many distinct packages as each
// peer, and none of the packages a peer reports and Vigil does not is a
// real package Vigil misses (a VigilMiss class, or an unexplained one).
func goalPackages(r *corpusResult) string {
	if r.cmp == nil {
		return "–"
	}
	n := len(r.sets[vigil].Keys)
	ok := true
	var parts []string
	for i, peer := range peers {
		m := len(r.sets[peer].Keys)
		if n < m {
			ok = false
		}
		var misses []string
		for _, row := range r.cmp.Only(i+1, 0) {
			if row.Class.VigilMiss || row.Class == compare.Unexplained {
				misses = append(misses, "`"+row.Key.String()+"`")
			}
		}
		part := fmt.Sprintf("%d vs %s %d", n, peer, m)
		switch {
		case len(misses) == 0:
			part += ", no real miss"
		case len(misses) <= 3:
			part += fmt.Sprintf(", misses %s", strings.Join(misses, ", "))
			ok = false
		default:
			part += fmt.Sprintf(", misses %d real packages", len(misses))
			ok = false
		}
		parts = append(parts, part)
	}
	return verdict(ok, "%s", strings.Join(parts, "; "))
}

// goalRescan: a re-scan with a warm cache takes under 10% of the first
// scan.
func goalRescan(r *corpusResult) string {
	if r.Kind == corpus.Dir {
		return "– (a directory: no layer cache)"
	}
	v, s, ok := bothRan(r, vigil, vigilRescan)
	if !ok {
		return "–"
	}
	return verdict(s.wall < 0.1*v.wall, "%.1f%%", 100*s.wall/v.wall)
}
