package main

import (
	"encoding/json"
	"testing"
)

func TestSemverBelow(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		ok       bool
	}{
		{"1.2.3", "1.2.2", true},
		{"1.3.0", "1.2.0", true},
		{"2.0.0", "", false},
		{"1.2.3-rc.1", "", false},
		{"2.1.0+incompatible", "2.0.0+incompatible", true},
		{"0.0.0-20220906165146-f3363e06e74c", "", false},
	} {
		got, ok := semverBelow(tc.in)
		if got != tc.want || ok != tc.ok {
			t.Errorf("semverBelow(%q) = %q, %v; want %q, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

func TestValidGoRequire(t *testing.T) {
	for _, tc := range []struct {
		path, version string
		want          bool
	}{
		{"github.com/a/b", "1.2.3", true},
		{"github.com/a/b", "2.0.0", false},
		{"github.com/a/b", "2.0.0+incompatible", true},
		{"github.com/a/b/v3", "3.1.0", true},
		{"github.com/a/b/v3", "2.1.0", false},
		{"gopkg.in/yaml.v2", "2.2.8", true},
		{"gopkg.in/yaml.v2", "3.0.0", false},
		{"stdlib", "1.21.0", false},
		{"github.com/a/b", "0.0.0-20220906165146-f3363e06e74c", true},
		{"github.com/a/b", "1.2", false},
	} {
		if got := validGoRequire(tc.path, tc.version); got != tc.want {
			t.Errorf("validGoRequire(%q, %q) = %v, want %v", tc.path, tc.version, got, tc.want)
		}
	}
}

func TestYAMLToJSONKeepsScalarText(t *testing.T) {
	got, err := yamlToJSON([]byte("id: PYSEC-1\naffected:\n- versions:\n  - 1.10\n  - \"2.0\"\n  - 3\nwithdrawn: null\n"))
	if err != nil {
		t.Fatal(err)
	}
	var v struct {
		Affected  []struct{ Versions []string }
		Withdrawn *string
	}
	if err := json.Unmarshal(got, &v); err != nil {
		t.Fatalf("%s: %v", got, err)
	}
	if want := []string{"1.10", "2.0", "3"}; len(v.Affected) != 1 || len(v.Affected[0].Versions) != 3 ||
		v.Affected[0].Versions[0] != want[0] || v.Affected[0].Versions[1] != want[1] || v.Affected[0].Versions[2] != want[2] {
		t.Errorf("versions = %s, want %v", got, want)
	}
	if v.Withdrawn != nil {
		t.Errorf("withdrawn = %q, want null", *v.Withdrawn)
	}
}

func TestGroupsJoinAliasesTransitively(t *testing.T) {
	g := newGroups([]*record{
		{ID: "GO-2021-0001", Aliases: []string{"CVE-2021-1", "GHSA-aaaa"}},
		{ID: "PYSEC-2021-9", Aliases: []string{"GHSA-aaaa"}},
		{ID: "RUSTSEC-2020-1"},
	})
	if g.find("PYSEC-2021-9") != g.find("CVE-2021-1") {
		t.Error("PYSEC-2021-9 and CVE-2021-1 share GHSA-aaaa but are in different groups")
	}
	if g.find("RUSTSEC-2020-1") == g.find("CVE-2021-1") {
		t.Error("unrelated records share a group")
	}
	if got := g.label("GO-2021-0001"); got != "CVE-2021-1" {
		t.Errorf("label = %q, want the CVE", got)
	}
}

func TestExplain(t *testing.T) {
	recs := []*record{
		{ID: "PYSEC-1", Affected: []affected{pyAffected("jw.util", osvRange{Type: "ECOSYSTEM", Events: []map[string]string{{"introduced": "0"}, {"fixed": "2.3"}}})}},
		{ID: "PYSEC-2", Affected: []affected{pyAffected("horizon",
			osvRange{Type: "GIT", Events: []map[string]string{{"introduced": "0"}}},
			osvRange{Type: "ECOSYSTEM", Events: []map[string]string{{"introduced": "0"}}})}},
	}
	g := newGroups(recs)
	for _, tc := range []struct {
		f           finding
		only        string
		source      string
		peerSources map[string]bool
		rec         *record
		want        string
	}{
		{finding{Ecosystem: "PyPI", Package: "jw-util", Version: "1.0", Group: "PYSEC-1"}, "vigil", "", nil, recs[0], "name-spelling"},
		{finding{Ecosystem: "PyPI", Package: "horizon", Version: "23.3.1", Group: "PYSEC-2"}, "vigil", "", nil, recs[1], "git-range-first"},
		{finding{Ecosystem: "Go", Package: "stdlib", Version: "1.21", Group: "GO-1"}, "osv-scanner", "/x/go.mod", nil, nil, "go-directive"},
		{finding{Ecosystem: "Go", Package: "github.com/0xERR0R/blocky", Version: "0.28.0", Group: "GO-2"}, "vigil", "", map[string]bool{"sbom": true}, nil, "purl-lowercase"},
		{finding{Ecosystem: "Go", Package: "github.com/0xERR0R/blocky", Version: "0.28.0", Group: "GO-2"}, "vigil", "", map[string]bool{"lockfile": true}, nil, "unknown"},
	} {
		var rs []*record
		if tc.rec != nil {
			rs = []*record{tc.rec}
		}
		d := explain(tc.f, tc.only, "osv-scanner", nil, tc.source, tc.peerSources, rs, g)
		if d.Cause != tc.want {
			t.Errorf("%s %s only in %s: cause %q, want %q", tc.f.Package, tc.f.Version, tc.only, d.Cause, tc.want)
		}
		if _, ok := explanations[d.Cause]; !ok {
			t.Errorf("cause %q has no explanation", d.Cause)
		}
	}
}

func pyAffected(name string, rs ...osvRange) affected {
	var a affected
	a.Package.Name, a.Package.Ecosystem = name, "PyPI"
	a.Ranges = rs
	return a
}

func TestNormalise(t *testing.T) {
	if got := normPackage("PyPI", "Jw.Util__x"); got != "jw-util-x" {
		t.Errorf("normPackage = %q", got)
	}
	if got := normVersion("Go", "v1.2.3"); got != "1.2.3" {
		t.Errorf("normVersion = %q", got)
	}
}
