package vulndb

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/vigil-sec/vigil/internal/advisory"
)

// sharedData is the shared folder of real advisory data (../shared/data
// from the project root); tests using it skip when it is absent.
var sharedData = filepath.Join("..", "..", "..", "shared", "data", "advisories")

var shared struct {
	once sync.Once
	advs []advisory.Advisory
	bad  int // records the parsers rejected
	err  error
}

// loadShared parses every record of the shared data folder with package
// advisory's parsers: OSV (Go, crates.io, PyPI), the Debian DSA and DLA
// lists, Alpine secdb. Records a parser rejects are counted, not fatal:
// this tests the database, not the parsers.
func loadShared(tb testing.TB) []advisory.Advisory {
	tb.Helper()
	if _, err := os.Stat(sharedData); err != nil {
		tb.Skipf("no shared advisory data: %v", err)
	}
	shared.once.Do(func() {
		keep := func(a advisory.Advisory, err error) error {
			if a.ID == "" {
				shared.bad++
				return nil
			}
			if err != nil {
				shared.bad++ // partly read: keep what was read
			}
			shared.advs = append(shared.advs, a)
			return nil
		}
		for _, dir := range []string{"osv-go", "osv-crates.io", "osv-pypi"} {
			if err := advisory.WalkOSV(os.DirFS(filepath.Join(sharedData, dir)), keep); err != nil {
				shared.err = err
				return
			}
		}
		for _, list := range []string{"DSA.list", "DLA.list"} {
			f, err := os.Open(filepath.Join(sharedData, "debian-tracker", list))
			if err != nil {
				shared.err = err
				return
			}
			err = advisory.ParseDebianList(f, keep)
			f.Close()
			if err != nil {
				shared.err = err
				return
			}
		}
		shared.err = filepath.WalkDir(filepath.Join(sharedData, "alpine-secdb"), func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(p, ".yaml") {
				return err
			}
			f, err := os.Open(p)
			if err != nil {
				return err
			}
			defer f.Close()
			return advisory.ParseAlpineSecDB(f, p, keep)
		})
	})
	if shared.err != nil {
		tb.Fatal(shared.err)
	}
	return shared.advs
}

// TestSharedData builds a database from all the shared data and checks
// that every record comes back under every package it names, whole, and
// under no other release.
func TestSharedData(t *testing.T) {
	if testing.Short() {
		t.Skip("builds from every shared record")
	}
	advs := loadShared(t)
	t.Logf("%d records (%d rejected by the parsers)", len(advs), shared.bad)
	path := filepath.Join(t.TempDir(), "vulndb.sqlite")
	meta := build(t, path, advs, 0)
	t.Logf("Meta: %d advisories, by ecosystem %v", meta.Advisories, meta.ByEcosystem)
	for _, eco := range []string{"Go", "crates.io", "PyPI", "Debian", "Alpine"} {
		if meta.ByEcosystem[eco] == 0 {
			t.Errorf("no %s advisories in %v", eco, meta.ByEcosystem)
		}
	}

	// What the database should answer: the newest record per ID (the
	// shared data has no duplicate IDs within a source, but Alpine's
	// per-branch files repeat CVEs, which must add up).
	want := map[[2]string]map[string]bool{} // key → IDs
	for _, a := range advs {
		for _, e := range a.Affected {
			if e.Ecosystem == "" || e.Package == "" {
				continue
			}
			k := [2]string{e.Ecosystem, nameKey(e.Ecosystem, e.Package)}
			if want[k] == nil {
				want[k] = map[string]bool{}
			}
			want[k][a.ID] = true
		}
	}
	db := openT(t, path)
	ctx := context.Background()
	for k, ids := range want {
		got, err := db.Affected(ctx, k[0], k[1])
		if err != nil {
			t.Fatal(err)
		}
		gotIDs := map[string]bool{}
		for _, g := range got {
			gotIDs[g.ID] = true
			if len(g.Affected) == 0 {
				t.Errorf("%s under %v: no Affected entries", g.ID, k)
			}
			for _, e := range g.Affected {
				if e.Ecosystem != k[0] || nameKey(e.Ecosystem, e.Package) != k[1] {
					t.Errorf("%s: %s/%s returned for %v", g.ID, e.Ecosystem, e.Package, k)
				}
			}
		}
		for id := range ids {
			if !gotIDs[id] {
				t.Errorf("%s not found under %v", id, k)
			}
		}
		if len(gotIDs) != len(ids) {
			t.Errorf("%v: %d advisories, want %d", k, len(gotIDs), len(ids))
		}
	}
	t.Logf("%d keys checked", len(want))
}
