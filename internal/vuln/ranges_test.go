package vuln

import (
	"slices"
	"testing"

	"github.com/vigil-sec/vigil/internal/advisory"
)

// TestEvaluate checks the OSV evaluation rules, including the examples of
// the OSV schema's evaluation section.
func TestEvaluate(t *testing.T) {
	S, E := advisory.SemVer, advisory.Ecosystem
	tests := []struct {
		name     string
		eco, ver string
		entry    advisory.Affected
		affected bool
		fixes    []string
		unfixed  bool
	}{
		{"introduced 0, before fix", "Go", "1.0.0", aff(rng(S, "introduced:0", "fixed:1.0.1")), true, []string{"1.0.1"}, false},
		{"at the fix", "Go", "1.0.1", aff(rng(S, "introduced:0", "fixed:1.0.1")), false, nil, false},
		{"below introduced", "Go", "0.9.0", aff(rng(S, "introduced:1.0.0", "fixed:1.0.1")), false, nil, false},
		{"at introduced", "Go", "1.0.0", aff(rng(S, "introduced:1.0.0", "fixed:1.0.1")), true, []string{"1.0.1"}, false},
		{"second branch", "Go", "1.19.0", aff(rng(S, "introduced:0", "fixed:1.18.6", "introduced:1.19.0-0", "fixed:1.19.1")), true, []string{"1.19.1"}, false},
		{"between branches", "Go", "1.18.7", aff(rng(S, "introduced:0", "fixed:1.18.6", "introduced:1.19.0-0", "fixed:1.19.1")), false, nil, false},
		{"events out of order are sorted", "Go", "1.19.0", aff(rng(S, "fixed:1.19.1", "introduced:1.19.0-0", "fixed:1.18.6", "introduced:0")), true, []string{"1.19.1"}, false},
		{"open-ended", "PyPI", "9.0", aff(rng(E, "introduced:1.0")), true, nil, true},
		{"last_affected included", "PyPI", "2.0", aff(rng(E, "introduced:1.0", "last_affected:2.0")), true, nil, true},
		{"last_affected, above", "PyPI", "2.0.post1", aff(rng(E, "introduced:1.0", "last_affected:2.0")), false, nil, false},
		{"limit bounds above", "Go", "2.0.0", aff(rng(S, "introduced:0", "limit:1.5.0")), false, nil, false},
		{"limit, below", "Go", "1.0.0", aff(rng(S, "introduced:0", "limit:1.5.0")), true, nil, true},
		{"limit *", "Go", "9.0.0", aff(rng(S, "introduced:0", "limit:*")), true, nil, true},
		{"git ranges ignored", "Go", "1.0.0", aff(rng(advisory.Git, "introduced:0", "fixed:abc")), false, nil, false},
		{"versions list", "PyPI", "5.1.1", advisory.Affected{Versions: []string{"5.1", "5.1.1"}}, true, nil, true},
		{"versions list, normalised equality", "PyPI", "5.1.0", advisory.Affected{Versions: []string{"5.1"}}, true, nil, true},
		{"versions list miss", "PyPI", "5.1.3", advisory.Affected{Versions: []string{"5.1", "5.1.1"}}, false, nil, false},
		{"two overlapping ranges", "PyPI", "1.5", aff(rng(E, "introduced:0", "fixed:2.0"), rng(E, "introduced:1.0", "fixed:1.6")), true, []string{"2.0", "1.6"}, false},
		{"SEMVER range on a PyPI entry orders by SemVer", "PyPI", "1.0.0-rc.1", aff(rng(S, "introduced:0", "fixed:1.0.0")), true, []string{"1.0.0"}, false},
		{"dpkg ordering with epoch and tilde", "Debian:11", "1:2.4.52-1~deb11u1", aff(rng(E, "introduced:0", "fixed:1:2.4.52-1~deb11u2")), true, []string{"1:2.4.52-1~deb11u2"}, false},
		{"dpkg: epoch puts it above the fix", "Debian:11", "1:2.4.52-1", aff(rng(E, "introduced:0", "fixed:2.4.56-1~deb11u1")), false, nil, false},
		{"unreadable event skips the range", "Debian:11", "1.0-1", aff(rng(E, "introduced:0", "fixed:x:1.0")), false, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in, err := newInstalled(tt.eco, tt.ver)
			if err != nil {
				t.Fatal(err)
			}
			h := in.evaluate(&tt.entry)
			if h.affected != tt.affected || !slices.Equal(h.fixes, tt.fixes) || h.unfixed != tt.unfixed {
				t.Errorf("got affected=%v fixes=%v unfixed=%v, want %v %v %v", h.affected, h.fixes, h.unfixed, tt.affected, tt.fixes, tt.unfixed)
			}
		})
	}
}

func aff(rs ...advisory.Range) advisory.Affected { return advisory.Affected{Ranges: rs} }

// TestFixSearch: the highest first fix can fall inside another range of
// an advisory (a vulnerability reintroduced on a later branch); the
// search moves on to that range's fix.
func TestFixSearch(t *testing.T) {
	a := aff(rng(advisory.SemVer, "introduced:0", "fixed:1.2.5", "introduced:1.3.0", "fixed:1.3.2"))
	b := aff(rng(advisory.SemVer, "introduced:0", "fixed:1.3.1"))
	if got := fixSearch("npm", "1.3.1", []*advisory.Affected{&a, &b}); got != "1.3.2" {
		t.Errorf("fixSearch = %q, want 1.3.2", got)
	}
	if got := fixSearch("npm", "1.2.5", []*advisory.Affected{&a}); got != "1.2.5" {
		t.Errorf("fixSearch = %q, want 1.2.5", got)
	}
	// An open-ended range in one record does not veto another's fix.
	open := aff(rng(advisory.SemVer, "introduced:0"))
	if got := fixSearch("npm", "1.2.5", []*advisory.Affected{&a, &open}); got != "1.2.5" {
		t.Errorf("fixSearch with open range = %q, want 1.2.5", got)
	}
}
