package vulndb

import (
	"context"
	"fmt"
	"path/filepath"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/vigil-sec/vigil/internal/advisory"
)

func ids(advs []advisory.Advisory) []string {
	var out []string
	for _, a := range advs {
		out = append(out, a.ID)
	}
	return out
}

func fixed(a advisory.Advisory) []string {
	var out []string
	for _, e := range a.Affected {
		for _, r := range e.Ranges {
			for _, ev := range r.Events {
				if ev.Fixed != "" {
					out = append(out, ev.Fixed)
				}
			}
		}
	}
	return out
}

func TestAffected(t *testing.T) {
	path, _ := buildFixture(t, t.TempDir())
	db := openT(t, path)
	ctx := context.Background()

	tests := []struct {
		eco, name string
		want      []string // IDs
		fixed     [][]string
	}{
		{"Go", "golang.org/x/net", []string{"GO-2024-0001"}, [][]string{{"0.17.0"}}},
		{"Go", "golang.org/x/text", []string{"GO-2024-0002"}, [][]string{{"0.3.9"}}},
		{"Go", "golang.org/x/old", nil, nil}, // only in an older revision
		{"Go", "Golang.org/x/net", nil, nil}, // Go paths are case-sensitive
		{"PyPI", "foo-bar-baz", []string{"PYSEC-2024-1"}, [][]string{{"1.2"}}},
		{"PyPI", "FOO.BAR_baz", []string{"PYSEC-2024-1"}, nil},
		{"PyPI", " foo__bar--baz ", []string{"PYSEC-2024-1"}, nil},
		{"PyPI", "foobarbaz", nil, nil},
		{"Debian:11", "openssl", []string{"DLA-3000-1", "DSA-5000-1"}, [][]string{{"1.1.1n-0+deb11u5"}, {"1.1.1n-0+deb11u4"}}},
		{"Debian:12", "openssl", []string{"DSA-5000-1"}, [][]string{{"3.0.8-1"}}},
		{"Debian:11", "nss", []string{"DSA-5000-1"}, [][]string{{"2:3.61-1+deb11u3"}}},
		{"Debian:12", "nss", nil, nil},
		{"Debian", "openssl", nil, nil},
		{"Debian:10", "openssl", nil, nil},
		{"Alpine:v3.10", "openssl", []string{"CVE-2020-1234"}, [][]string{{"1.1.1g-r0"}}},
		{"Alpine:v3.11", "openssl", []string{"CVE-2020-1234"}, [][]string{{"1.1.1g-r1"}}},
		{"Alpine:v3.11", "libressl", []string{"CVE-2020-1234"}, [][]string{{"3.0.2-r1"}}},
		{"Alpine:v3.10", "libressl", nil, nil},
		{"npm", "left-pad", []string{"GHSA-wwww-xxxx-yyyy"}, nil},
		{"npm", "JSONStream", []string{"GHSA-npmc-ase0-0001"}, nil},
		{"npm", "jsonstream", nil, nil},
		{"NuGet", "newtonsoft.json", []string{"GHSA-nuge-t000-0001"}, nil},
		{"NuGet", "NEWTONSOFT.JSON", []string{"GHSA-nuge-t000-0001"}, nil},
		{"crates.io", "smallvec", []string{"RUSTSEC-2024-0001"}, [][]string{{"0.6.14", "1.6.1"}}},
		{"", "openssl", nil, nil},
		{"Go", "", nil, nil},
		{"Maven", "nothing:here", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.eco+"/"+tt.name, func(t *testing.T) {
			got, err := db.Affected(ctx, tt.eco, tt.name)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, ids(got)); diff != "" {
				t.Errorf("IDs (-want +got):\n%s", diff)
			}
			for i, a := range got {
				for _, e := range a.Affected {
					if e.Ecosystem != tt.eco || nameKey(e.Ecosystem, e.Package) != nameKey(tt.eco, tt.name) {
						t.Errorf("%s: entry for %s/%s returned for %s/%s", a.ID, e.Ecosystem, e.Package, tt.eco, tt.name)
					}
				}
				if tt.fixed != nil {
					if diff := cmp.Diff(tt.fixed[i], fixed(a)); diff != "" {
						t.Errorf("%s fixed versions (-want +got):\n%s", a.ID, diff)
					}
				}
			}
		})
	}
}

// TestAffectedRecord checks that a returned advisory is the stored one,
// field for field, with Affected filtered to the package asked about.
func TestAffectedRecord(t *testing.T) {
	path, _ := buildFixture(t, t.TempDir())
	db := openT(t, path)
	ctx := context.Background()

	byID := map[string]advisory.Advisory{}
	for _, a := range fixture() {
		if _, ok := byID[a.ID]; !ok || !a.Modified.Before(byID[a.ID].Modified) {
			byID[a.ID] = a
		}
	}
	for _, tc := range []struct {
		eco, name, id string
		entries       []int // indexes into the record's Affected
	}{
		{"Debian:12", "openssl", "DSA-5000-1", []int{1}},
		{"Debian:11", "nss", "DSA-5000-1", []int{2}},
		{"Go", "golang.org/x/net", "GO-2024-0001", []int{0}},
		{"crates.io", "smallvec", "RUSTSEC-2024-0001", []int{0, 1}},
		{"npm", "left-pad", "GHSA-wwww-xxxx-yyyy", []int{0}},
	} {
		// Twice: the second time the record comes from the cache.
		for pass := range 2 {
			got, err := db.Affected(ctx, tc.eco, tc.name)
			if err != nil {
				t.Fatal(err)
			}
			var a *advisory.Advisory
			for i := range got {
				if got[i].ID == tc.id {
					a = &got[i]
				}
			}
			if a == nil {
				t.Fatalf("%s/%s: %s missing from %v", tc.eco, tc.name, tc.id, ids(got))
			}
			want := byID[tc.id]
			want.Affected = nil
			for _, i := range tc.entries {
				want.Affected = append(want.Affected, byID[tc.id].Affected[i])
			}
			if diff := cmp.Diff(want, *a); diff != "" {
				t.Errorf("pass %d: %s/%s %s (-want +got):\n%s", pass, tc.eco, tc.name, tc.id, diff)
			}
			// The caller owns the result: scribbling on it must not show
			// in the next lookup.
			a.Summary = "scribbled"
			if len(a.Aliases) > 0 {
				a.Aliases[0] = "scribbled"
			}
			if len(a.Severity) > 0 {
				a.Severity[0].Vector = "scribbled"
			}
		}
	}
	if a := mustOne(t, db, "GHSA-wwww-xxxx-yyyy", "npm", "left-pad"); !a.Withdrawn.Equal(t2) {
		t.Errorf("withdrawn advisory: Withdrawn = %v, want %v", a.Withdrawn, t2)
	}
}

func mustOne(t *testing.T, db *DB, id, eco, name string) advisory.Advisory {
	t.Helper()
	got, err := db.Affected(context.Background(), eco, name)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range got {
		if a.ID == id {
			return a
		}
	}
	t.Fatalf("%s/%s: %s not found in %v", eco, name, id, ids(got))
	return advisory.Advisory{}
}

func TestMergeOrderIndependent(t *testing.T) {
	// The same records added in reverse order give the same answers,
	// except for ties, which the later record wins.
	recs := fixture()
	dir := t.TempDir()
	path := filepath.Join(dir, "rev.sqlite")
	b, err := NewBuilder(path)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Abort()
	for i := len(recs) - 1; i >= 0; i-- {
		if err := b.AddAdvisory(recs[i]); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := b.Finish(t2); err != nil {
		t.Fatal(err)
	}
	fwdPath, _ := buildFixture(t, t.TempDir())
	fwd, rev := openT(t, fwdPath), openT(t, path)
	ctx := context.Background()
	for _, k := range [][2]string{
		{"Go", "golang.org/x/net"}, {"Go", "golang.org/x/text"}, {"Go", "golang.org/x/old"},
		{"Debian:11", "openssl"}, {"Alpine:v3.10", "openssl"}, {"Alpine:v3.11", "openssl"},
		{"Alpine:v3.11", "libressl"},
	} {
		a, err := fwd.Affected(ctx, k[0], k[1])
		if err != nil {
			t.Fatal(err)
		}
		b, err := rev.Affected(ctx, k[0], k[1])
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(a, b); diff != "" {
			t.Errorf("%v: forward vs reverse build (-fwd +rev):\n%s", k, diff)
		}
	}
}

func TestEPSSAndKEV(t *testing.T) {
	path, _ := buildFixture(t, t.TempDir())
	db := openT(t, path)
	ctx := context.Background()

	for _, tc := range []struct {
		cve  string
		want advisory.EPSS
		ok   bool
	}{
		{"CVE-2023-0001", advisory.EPSS{CVE: "CVE-2023-0001", Score: 0.5, Percentile: 0.9, Date: t1}, true},
		{" cve-2023-0001", advisory.EPSS{CVE: "CVE-2023-0001", Score: 0.5, Percentile: 0.9, Date: t1}, true},
		{"CVE-2024-0001", advisory.EPSS{CVE: "CVE-2024-0001", Score: 0.01, Percentile: 0.3, Date: t0}, true},
		{"CVE-1999-0001", advisory.EPSS{}, false},
		{"", advisory.EPSS{}, false},
	} {
		got, ok, err := db.EPSS(ctx, tc.cve)
		if err != nil {
			t.Fatal(err)
		}
		if ok != tc.ok {
			t.Errorf("EPSS(%q) ok = %v, want %v", tc.cve, ok, tc.ok)
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("EPSS(%q) (-want +got):\n%s", tc.cve, diff)
		}
	}

	k, ok, err := db.KEV(ctx, "cve-2023-0001")
	if err != nil || !ok {
		t.Fatalf("KEV: %v, %v", ok, err)
	}
	if diff := cmp.Diff(fixtureKEV[0], k); diff != "" {
		t.Errorf("KEV (-want +got):\n%s", diff)
	}
	if k, ok, err := db.KEV(ctx, "CVE-2024-0001"); err != nil || ok {
		t.Errorf("KEV of a CVE not in the catalogue: %+v, %v, %v", k, ok, err)
	}
}

func TestMeta(t *testing.T) {
	path, built := buildFixture(t, t.TempDir())
	want := Meta{
		SchemaVersion: SchemaVersion,
		BuiltAt:       t2.Add(time.Hour),
		Sources:       fixtureSources,
		Advisories:    11,
		Withdrawn:     1,
		ByEcosystem:   map[string]int{"Go": 2, "PyPI": 1, "Debian": 2, "Alpine": 1, "npm": 2, "NuGet": 1, "crates.io": 1},
		EPSS:          2,
		EPSSDate:      t1,
		KEV:           1,
	}
	if diff := cmp.Diff(want, built); diff != "" {
		t.Errorf("Finish's Meta (-want +got):\n%s", diff)
	}
	db := openT(t, path)
	got := db.Meta()
	if diff := cmp.Diff(built, got); diff != "" {
		t.Errorf("Meta after Open differs from Finish's (-finish +open):\n%s", diff)
	}
	// Meta returns a copy.
	got.Sources[0].Name = "x"
	got.ByEcosystem["Go"] = 99
	if diff := cmp.Diff(built, db.Meta()); diff != "" {
		t.Errorf("Meta changed through a returned copy:\n%s", diff)
	}
}

func TestStale(t *testing.T) {
	// The fixture's oldest input was fetched at t2-1h, built at t2+1h.
	path, _ := buildFixture(t, t.TempDir())
	db := openT(t, path)

	// An empty database: no sources, so its age is the build time.
	emptyPath := filepath.Join(t.TempDir(), "empty.sqlite")
	b, err := NewBuilder(emptyPath)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Finish(t2); err != nil {
		t.Fatal(err)
	}
	empty := openT(t, emptyPath)

	day := 24 * time.Hour
	for _, tc := range []struct {
		name   string
		db     *DB
		maxAge time.Duration
		now    time.Time
		want   bool
	}{
		{"fresh", db, day, t2, false},
		{"oldest source decides", db, day, t2.Add(day - time.Hour + time.Second), true},
		{"just within", db, day, t2.Add(day - time.Hour), false},
		{"check disabled", db, 0, t2.Add(1000 * day), false},
		{"clock behind", db, day, t0, false},
		{"no sources: build time", empty, day, t2.Add(day + time.Second), true},
		{"no sources: fresh", empty, day, t2.Add(day), false},
	} {
		if got := tc.db.Stale(tc.maxAge, tc.now); got != tc.want {
			t.Errorf("%s: Stale(%v, %v) = %v, want %v", tc.name, tc.maxAge, tc.now, got, tc.want)
		}
	}
}

// TestConcurrentAffected runs lookups from many goroutines at once (run
// with -race) and checks each against the serial answer.
func TestConcurrentAffected(t *testing.T) {
	path, _ := buildFixture(t, t.TempDir())
	db := openT(t, path)
	ctx := context.Background()
	keys := [][2]string{
		{"Go", "golang.org/x/net"}, {"Go", "golang.org/x/text"}, {"PyPI", "foo-bar-baz"},
		{"Debian:11", "openssl"}, {"Debian:12", "openssl"}, {"Alpine:v3.11", "openssl"},
		{"crates.io", "smallvec"}, {"npm", "nothing"},
	}
	want := make([][]advisory.Advisory, len(keys))
	for i, k := range keys {
		var err error
		if want[i], err = db.Affected(ctx, k[0], k[1]); err != nil {
			t.Fatal(err)
		}
	}
	// A fresh DB, so that goroutines also race to fill the cache.
	db = openT(t, path)
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for g := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := range 50 {
				i := (g + n) % len(keys)
				got, err := db.Affected(ctx, keys[i][0], keys[i][1])
				if err != nil {
					errs <- err
					return
				}
				if diff := cmp.Diff(want[i], got); diff != "" {
					errs <- fmt.Errorf("%v (-serial +concurrent):\n%s", keys[i], diff)
					return
				}
				got0 := got
				for j := range got0 {
					got0[j].Summary = "mine" // callers own their results
				}
				if _, _, err := db.EPSS(ctx, "CVE-2023-0001"); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestDefaultPath(t *testing.T) {
	t.Setenv("HOME", "/home/u")
	t.Setenv("VIGIL_DB", "/x/db.sqlite")
	t.Setenv("XDG_CACHE_HOME", "/xdg")
	if got := DefaultPath(); got != "/x/db.sqlite" {
		t.Errorf("with VIGIL_DB: %q", got)
	}
	t.Setenv("VIGIL_DB", "")
	if got, want := DefaultPath(), filepath.FromSlash("/xdg/vigil/db/vulndb.sqlite"); got != want {
		t.Errorf("with XDG_CACHE_HOME: %q, want %q", got, want)
	}
	t.Setenv("XDG_CACHE_HOME", "relative/ignored")
	if got, want := DefaultPath(), filepath.FromSlash("/home/u/.cache/vigil/db/vulndb.sqlite"); got != want {
		t.Errorf("with a relative XDG_CACHE_HOME: %q, want %q", got, want)
	}
	t.Setenv("XDG_CACHE_HOME", "")
	if got, want := DefaultPath(), filepath.FromSlash("/home/u/.cache/vigil/db/vulndb.sqlite"); got != want {
		t.Errorf("with HOME only: %q, want %q", got, want)
	}
}

func TestCloneRecordCopiesEverySlice(t *testing.T) {
	// Fill every slice of an Advisory, clone it, and check that no slice
	// is shared: a new field added to advisory.Advisory without a line in
	// cloneRecord fails here.
	var a advisory.Advisory
	fillSlices(t, &a)
	c := cloneRecord(&a)
	checkNoSharedSlices(t, &a, &c)
}

func fillSlices(t *testing.T, a *advisory.Advisory) {
	t.Helper()
	v := reflect.ValueOf(a).Elem()
	for i := range v.NumField() {
		if f := v.Field(i); f.Kind() == reflect.Slice && v.Type().Field(i).Name != "Affected" {
			f.Set(reflect.MakeSlice(f.Type(), 1, 1))
		}
	}
}

func checkNoSharedSlices(t *testing.T, a, c *advisory.Advisory) {
	t.Helper()
	va, vc := reflect.ValueOf(a).Elem(), reflect.ValueOf(c).Elem()
	n := 0
	for i := range va.NumField() {
		name := va.Type().Field(i).Name
		if va.Field(i).Kind() != reflect.Slice || name == "Affected" {
			continue
		}
		n++
		if vc.Field(i).Len() != va.Field(i).Len() {
			t.Errorf("%s: clone has %d elements, want %d", name, vc.Field(i).Len(), va.Field(i).Len())
		} else if vc.Field(i).Pointer() == va.Field(i).Pointer() {
			t.Errorf("%s: clone shares the original's array", name)
		}
	}
	if n < 5 {
		t.Errorf("only %d slice fields checked", n)
	}
}
