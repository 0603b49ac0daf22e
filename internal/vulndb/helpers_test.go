package vulndb

import (
	"crypto/sha256"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/advisory"
)

var (
	t0 = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	t1 = time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC)
	t2 = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
)

func introFixed(typ advisory.RangeType, intro, fixed string) []advisory.Range {
	return []advisory.Range{{Type: typ, Events: []advisory.Event{{Introduced: intro}, {Fixed: fixed}}}}
}

// fixture is a small set of advisories exercising every path of the
// build: releases, name normalisation, merges, withdrawal.
func fixture() []advisory.Advisory {
	return []advisory.Advisory{
		{
			ID: "GO-2024-0001", Source: "osv", Aliases: []string{"CVE-2024-0001", "GHSA-aaaa-bbbb-cccc"},
			Summary: "HTTP/2 rapid reset in golang.org/x/net", Details: "details", Published: t0, Modified: t1,
			Severity:   []advisory.Severity{{Type: advisory.CVSSv3, Vector: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H"}},
			References: []string{"https://go.dev/issue/1"},
			Affected: []advisory.Affected{{
				Ecosystem: "Go", Package: "golang.org/x/net",
				Ranges:  introFixed(advisory.SemVer, "0", "0.17.0"),
				Symbols: []string{"golang.org/x/net/http2.Server.ServeConn"},
			}},
		},
		// An older revision of GO-2024-0001, added later: ignored, and so
		// is the package only it names.
		{
			ID: "GO-2024-0001", Source: "osv", Summary: "old summary", Modified: t0,
			Affected: []advisory.Affected{
				{Ecosystem: "Go", Package: "golang.org/x/net", Ranges: introFixed(advisory.SemVer, "0", "0.1.0")},
				{Ecosystem: "Go", Package: "golang.org/x/old", Ranges: introFixed(advisory.SemVer, "0", "0.1.0")},
			},
		},
		// GO-2024-0002 first names two modules, then a newer revision only
		// one: the other must no longer match.
		{
			ID: "GO-2024-0002", Source: "osv", Summary: "first", Modified: t1,
			Affected: []advisory.Affected{
				{Ecosystem: "Go", Package: "golang.org/x/net", Ranges: introFixed(advisory.SemVer, "0", "0.20.0")},
				{Ecosystem: "Go", Package: "golang.org/x/text", Ranges: introFixed(advisory.SemVer, "0", "0.3.8")},
			},
		},
		{
			ID: "GO-2024-0002", Source: "osv", Summary: "second", Modified: t2,
			Affected: []advisory.Affected{
				{Ecosystem: "Go", Package: "golang.org/x/text", Ranges: introFixed(advisory.SemVer, "0", "0.3.9")},
			},
		},
		{
			ID: "PYSEC-2024-1", Source: "osv", Modified: t1,
			Affected: []advisory.Affected{{Ecosystem: "PyPI", Package: "Foo_Bar.baz", Ranges: introFixed(advisory.Ecosystem, "0", "1.2")}},
		},
		{
			ID: "DSA-5000-1", Source: "debian", Aliases: []string{"CVE-2023-0001", "CVE-2023-0002"}, Modified: t0,
			Affected: []advisory.Affected{
				{Ecosystem: "Debian:11", Package: "openssl", Ranges: introFixed(advisory.Ecosystem, "0", "1.1.1n-0+deb11u4"), Severity: "high"},
				{Ecosystem: "Debian:12", Package: "openssl", Ranges: introFixed(advisory.Ecosystem, "0", "3.0.8-1")},
				{Ecosystem: "Debian:11", Package: "nss", Ranges: introFixed(advisory.Ecosystem, "0", "2:3.61-1+deb11u3")},
			},
		},
		{
			ID: "DLA-3000-1", Source: "debian", Aliases: []string{"CVE-2023-0003"}, Modified: t0,
			Affected: []advisory.Affected{
				{Ecosystem: "Debian:11", Package: "openssl", Ranges: introFixed(advisory.Ecosystem, "0", "1.1.1n-0+deb11u5")},
			},
		},
		// Alpine secdb: one record per branch with the same ID and no
		// Modified; they add up.
		{
			ID: "CVE-2020-1234", Source: "alpine",
			Affected: []advisory.Affected{{Ecosystem: "Alpine:v3.10", Package: "openssl", Ranges: introFixed(advisory.Ecosystem, "0", "1.1.1g-r0")}},
		},
		{
			ID: "CVE-2020-1234", Source: "alpine",
			Affected: []advisory.Affected{{Ecosystem: "Alpine:v3.11", Package: "openssl", Ranges: introFixed(advisory.Ecosystem, "0", "1.1.1g-r1")}},
		},
		// ... and per repository (main, community) of one branch.
		{
			ID: "CVE-2020-1234", Source: "alpine",
			Affected: []advisory.Affected{{Ecosystem: "Alpine:v3.11", Package: "libressl", Ranges: introFixed(advisory.Ecosystem, "0", "3.0.2-r1")}},
		},
		{
			ID: "GHSA-wwww-xxxx-yyyy", Source: "osv", Modified: t1, Withdrawn: t2,
			Affected: []advisory.Affected{{Ecosystem: "npm", Package: "left-pad", Ranges: introFixed(advisory.SemVer, "0", "1.3.0")}},
		},
		// Case matters in npm, not in NuGet.
		{
			ID: "GHSA-npmc-ase0-0001", Source: "osv", Modified: t1,
			Affected: []advisory.Affected{{Ecosystem: "npm", Package: "JSONStream", Ranges: introFixed(advisory.SemVer, "0", "1.3.1")}},
		},
		{
			ID: "GHSA-nuge-t000-0001", Source: "osv", Modified: t1,
			Affected: []advisory.Affected{{Ecosystem: "NuGet", Package: "Newtonsoft.Json", Ranges: introFixed(advisory.Ecosystem, "0", "13.0.1")}},
		},
		// Two entries for one package: both come back.
		{
			ID: "RUSTSEC-2024-0001", Source: "osv", Modified: t1,
			Affected: []advisory.Affected{
				{Ecosystem: "crates.io", Package: "smallvec", Ranges: introFixed(advisory.SemVer, "0.6.3", "0.6.14")},
				{Ecosystem: "crates.io", Package: "smallvec", Ranges: introFixed(advisory.SemVer, "1.0.0", "1.6.1")},
			},
		},
		// Only a Git range: stored, matched by nothing.
		{
			ID: "OSV-2024-0001", Source: "osv", Modified: t1,
			Affected: []advisory.Affected{{Ranges: []advisory.Range{{Type: advisory.Git, Events: []advisory.Event{{Introduced: "abc"}}}}}},
		},
	}
}

var fixtureEPSS = []advisory.EPSS{
	{CVE: "CVE-2023-0001", Score: 0.5, Percentile: 0.9, Date: t1},
	{CVE: "cve-2023-0001", Score: 0.1, Percentile: 0.2, Date: t0}, // older: ignored
	{CVE: "CVE-2024-0001", Score: 0.01, Percentile: 0.3, Date: t0},
}

var fixtureKEV = []advisory.KEV{
	{CVE: "CVE-2023-0001", VendorProject: "OpenSSL", Product: "OpenSSL", Name: "OpenSSL flaw", DateAdded: t1, DueDate: t2, RequiredAction: "patch", KnownRansomwareUse: true},
}

var fixtureSources = []SourceMeta{
	{Name: "osv-Go.zip", Kind: "osv", Records: 4, Digest: "aa", Fetched: t2},
	{Name: "DSA.list", Kind: "debian", Records: 2, Digest: "bb", Fetched: t2.Add(-time.Hour)},
}

// buildFixture builds the fixture at dir/vulndb.sqlite.
func buildFixture(tb testing.TB, dir string) (string, Meta) {
	tb.Helper()
	path := filepath.Join(dir, "vulndb.sqlite")
	b, err := NewBuilder(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer b.Abort()
	for _, a := range fixture() {
		if err := b.AddAdvisory(a); err != nil {
			tb.Fatal(err)
		}
	}
	for _, e := range fixtureEPSS {
		if err := b.AddEPSS(e); err != nil {
			tb.Fatal(err)
		}
	}
	for _, k := range fixtureKEV {
		if err := b.AddKEV(k); err != nil {
			tb.Fatal(err)
		}
	}
	for _, s := range fixtureSources {
		b.AddSource(s)
	}
	meta, err := b.Finish(t2.Add(time.Hour))
	if err != nil {
		tb.Fatal(err)
	}
	return path, meta
}

func openT(tb testing.TB, path string) *DB {
	tb.Helper()
	db, err := Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

// fileState is what must not change when a database is only read.
type fileState struct {
	sum     [32]byte
	modTime time.Time
	names   []string // of the directory
}

func stateOf(tb testing.TB, path string) fileState {
	tb.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		tb.Fatal(err)
	}
	ents, err := os.ReadDir(filepath.Dir(path))
	if err != nil {
		tb.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	slices.Sort(names)
	return fileState{sum: sha256.Sum256(data), modTime: fi.ModTime(), names: names}
}
