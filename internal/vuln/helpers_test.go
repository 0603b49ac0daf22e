package vuln

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/vigil-sec/vigil/internal/advisory"
	"github.com/vigil-sec/vigil/internal/asset"
	"github.com/vigil-sec/vigil/internal/inventory"
)

// memSource is an in-memory Source: advisories keyed by (ecosystem with
// release, normalised name), as package vulndb keys them.
type memSource struct {
	advs    map[[2]string][]advisory.Advisory
	epss    map[string]advisory.EPSS
	kev     map[string]advisory.KEV
	queries int
}

var _ Source = (*memSource)(nil)

func newMemSource(advs ...advisory.Advisory) *memSource {
	s := &memSource{advs: map[[2]string][]advisory.Advisory{}, epss: map[string]advisory.EPSS{}, kev: map[string]advisory.KEV{}}
	s.add(advs...)
	return s
}

func (s *memSource) add(advs ...advisory.Advisory) {
	for _, a := range advs {
		seen := map[[2]string]bool{}
		for _, e := range a.Affected {
			k := [2]string{e.Ecosystem, advisory.NormalizeName(e.Ecosystem, e.Package)}
			if !seen[k] {
				seen[k] = true
				s.advs[k] = append(s.advs[k], a)
			}
		}
	}
}

func (s *memSource) Affected(_ context.Context, eco, name string) ([]advisory.Advisory, error) {
	s.queries++
	return s.advs[[2]string{eco, advisory.NormalizeName(eco, name)}], nil
}

func (s *memSource) EPSS(_ context.Context, cve string) (advisory.EPSS, bool, error) {
	e, ok := s.epss[cve]
	return e, ok, nil
}

func (s *memSource) KEV(_ context.Context, cve string) (advisory.KEV, bool, error) {
	k, ok := s.kev[cve]
	return k, ok, nil
}

// osvAdv builds an OSV advisory with one affected package and one range
// of events written "introduced:0", "fixed:1.2", "last_affected:1.3",
// "limit:2.0".
func osvAdv(id string, aliases []string, eco, pkg string, rt advisory.RangeType, events ...string) advisory.Advisory {
	return advisory.Advisory{
		ID: id, Source: "osv", Aliases: aliases,
		Affected: []advisory.Affected{{Ecosystem: eco, Package: pkg, Ranges: []advisory.Range{rng(rt, events...)}}},
	}
}

func rng(rt advisory.RangeType, events ...string) advisory.Range {
	r := advisory.Range{Type: rt}
	for _, ev := range events {
		k, v, _ := strings.Cut(ev, ":")
		switch k {
		case "introduced":
			r.Events = append(r.Events, advisory.Event{Introduced: v})
		case "fixed":
			r.Events = append(r.Events, advisory.Event{Fixed: v})
		case "last_affected":
			r.Events = append(r.Events, advisory.Event{LastAffected: v})
		case "limit":
			r.Events = append(r.Events, advisory.Event{Limit: v})
		default:
			panic("bad event " + ev)
		}
	}
	return r
}

func pkg(eco inventory.Ecosystem, name, version string) inventory.Package {
	p := inventory.Package{Name: name, Version: version, Ecosystem: eco, Extractor: "test",
		Locations: []inventory.Location{{Path: "/test"}}}
	p.ComputeID()
	return p
}

func debPkg(name, version, src, srcVersion string) inventory.Package {
	p := pkg(inventory.Debian, name, version)
	p.Extractor = "os/dpkg"
	p.Source = &inventory.Source{Name: src, Version: srcVersion}
	p.ComputeID()
	return p
}

func result(os *asset.OS, ps ...inventory.Package) *inventory.Result {
	return &inventory.Result{Asset: asset.Asset{ID: "a", Kind: asset.KindImage, OS: os}, Packages: ps}
}

var (
	debian11   = &asset.OS{ID: "debian", VersionID: "11", Codename: "bullseye"}
	debian12   = &asset.OS{ID: "debian", VersionID: "12", Codename: "bookworm"}
	osCodename = &asset.OS{ID: "debian", Codename: "bullseye"}
	debian10   = &asset.OS{ID: "debian", VersionID: "10", Codename: "buster"}
	ubuntu22   = &asset.OS{ID: "ubuntu", VersionID: "22.04", Codename: "jammy"}
	alpine11   = &asset.OS{ID: "alpine", VersionID: "3.11.6"}
)

func find(t testing.TB, src Source, r *inventory.Result, o Options) *Report {
	t.Helper()
	rep, err := Find(context.Background(), src, r, o)
	if err != nil {
		t.Fatalf("Find: %v", err)
	}
	return rep
}

// ids lists the report's match IDs for package name, sorted.
func ids(rep *Report, name string) []string {
	var out []string
	for _, m := range rep.Matches {
		if name == "" || m.Package == name {
			out = append(out, m.ID)
		}
	}
	slices.Sort(out)
	return out
}

func matchOf(t testing.TB, rep *Report, pkgName, id string) Match {
	t.Helper()
	for _, m := range rep.Matches {
		if m.Package == pkgName && m.ID == id {
			return m
		}
	}
	t.Fatalf("no match %s for %s; have %v", id, pkgName, ids(rep, ""))
	return Match{}
}

// loadOSV parses the OSV records in testdata/osv with advisory.ParseOSV.
func loadOSV(t testing.TB, names ...string) []advisory.Advisory {
	t.Helper()
	var out []advisory.Advisory
	for _, n := range names {
		path := filepath.Join("testdata", "osv", n)
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		a, err := advisory.ParseOSV(f, n)
		f.Close()
		if err != nil {
			t.Fatalf("%s: %v", n, err)
		}
		out = append(out, a)
	}
	return out
}

// loadDebian parses testdata/debian/DSA.list with advisory.ParseDebianList.
func loadDebian(t testing.TB) []advisory.Advisory {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", "debian", "DSA.list"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []advisory.Advisory
	err = advisory.ParseDebianList(f, func(a advisory.Advisory, err error) error {
		if err != nil {
			t.Errorf("%s: %v", a.ID, err)
		}
		out = append(out, a)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}
