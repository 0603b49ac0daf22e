package vulndb

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/advisory"
)

// corpus sizes a synthetic data set.
type corpus struct {
	osv, debian, alpine int // advisories of each kind
}

var words = strings.Fields(`the a an of in to and or when with by from via attacker remote
	local crafted request response header buffer overflow underflow integer heap stack
	memory corruption denial service injection cross site scripting path traversal
	certificate validation signature bypass authentication session cookie token parser
	decoder encoder archive compression stream handler server client library function
	may can could allow cause lead execute arbitrary code read write disclose sensitive
	information infinite loop excessive consumption resource panic crash null pointer`)

func sentence(r *rand.Rand, n int) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(words[r.IntN(len(words))])
	}
	return b.String()
}

// synthetic makes a deterministic data set shaped like the real feeds:
// OSV records (Go, PyPI, crates.io) with long details, Debian DSAs/DLAs
// naming a source package in several releases, Alpine per-branch records.
// Package names repeat across advisories, as they do in the real data.
func synthetic(c corpus) []advisory.Advisory {
	r := rand.New(rand.NewPCG(1, 2))
	var out []advisory.Advisory
	t := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range c.osv {
		var eco, name string
		var typ advisory.RangeType = advisory.SemVer
		var symbols []string
		switch i % 4 {
		case 0, 1:
			eco, name = "Go", fmt.Sprintf("github.com/org%d/mod%d", i%97, r.IntN(c.osv/5+1))
			symbols = []string{name + ".Parse", name + ".Decoder.Read", name + "/internal.Do"}
		case 2:
			eco, name, typ = "PyPI", fmt.Sprintf("Py_Pkg.%d", r.IntN(c.osv/10+1)), advisory.Ecosystem
		default:
			eco, name = "crates.io", fmt.Sprintf("crate-%d", r.IntN(c.osv/10+1))
		}
		out = append(out, advisory.Advisory{
			ID: fmt.Sprintf("OSV-%d", i), Source: "osv",
			Aliases:   []string{fmt.Sprintf("CVE-2024-%d", 10000+i), fmt.Sprintf("GHSA-%04x-%04x-%04x", i, i*7%65536, i*13%65536)},
			Summary:   sentence(r, 10),
			Details:   sentence(r, 150+r.IntN(150)),
			Published: t.Add(time.Duration(i) * time.Hour), Modified: t.Add(time.Duration(i) * time.Hour * 2),
			Severity:   []advisory.Severity{{Type: advisory.CVSSv3, Vector: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}},
			References: []string{"https://example.com/advisory/" + fmt.Sprint(i), "https://github.com/example/fix/commit/abcdef" + fmt.Sprint(i)},
			Affected: []advisory.Affected{{
				Ecosystem: eco, Package: name, Symbols: symbols,
				Ranges: []advisory.Range{{Type: typ, Events: []advisory.Event{{Introduced: "0"}, {Fixed: fmt.Sprintf("1.%d.%d", i%20, i%7)}}}},
			}},
		})
	}
	releases := []string{"Debian:10", "Debian:11", "Debian:12"}
	for i := range c.debian {
		a := advisory.Advisory{
			ID: fmt.Sprintf("DSA-%d-1", 1000+i), Source: "debian",
			Aliases:  []string{fmt.Sprintf("CVE-2023-%d", 20000+i), fmt.Sprintf("CVE-2023-%d", 40000+i)},
			Summary:  sentence(r, 6),
			Modified: t.Add(time.Duration(i) * time.Hour),
		}
		pkgs := []string{fmt.Sprintf("src%d", r.IntN(1500))}
		if i%3 == 0 {
			pkgs = append(pkgs, fmt.Sprintf("src%d", r.IntN(1500)))
		}
		for _, rel := range releases {
			for _, p := range pkgs {
				a.Affected = append(a.Affected, advisory.Affected{
					Ecosystem: rel, Package: p, Severity: "high",
					Ranges: []advisory.Range{{Type: advisory.Ecosystem, Events: []advisory.Event{{Introduced: "0"}, {Fixed: fmt.Sprintf("%d.%d-1+deb%du%d", i%9, i%5, 10, i%4)}}}},
				})
			}
		}
		out = append(out, a)
	}
	for i := range c.alpine {
		a := advisory.Advisory{ID: fmt.Sprintf("CVE-2019-%d", 30000+i), Source: "alpine"}
		p := fmt.Sprintf("apk%d", r.IntN(800))
		for _, br := range []string{"Alpine:v3.10", "Alpine:v3.11"} {
			a.Affected = append(a.Affected, advisory.Affected{
				Ecosystem: br, Package: p,
				Ranges: []advisory.Range{{Type: advisory.Ecosystem, Events: []advisory.Event{{Introduced: "0"}, {Fixed: fmt.Sprintf("1.%d-r0", i%30)}}}},
			})
		}
		out = append(out, a)
	}
	return out
}

// lookups makes n lookups shaped like an SBOM's packages: mostly names the
// data set has (spelled as inventories spell them), some it does not.
func lookups(c corpus, n int) [][2]string {
	r := rand.New(rand.NewPCG(3, 4))
	out := make([][2]string, 0, n)
	for i := range n {
		switch i % 20 {
		case 0, 1, 2, 3, 4, 5, 6:
			out = append(out, [2]string{"Go", fmt.Sprintf("github.com/org%d/mod%d", r.IntN(97), r.IntN(c.osv/5+1))})
		case 7, 8:
			out = append(out, [2]string{"PyPI", fmt.Sprintf("py-pkg-%d", r.IntN(c.osv/5+1))})
		case 9:
			out = append(out, [2]string{"crates.io", fmt.Sprintf("crate-%d", r.IntN(c.osv/5+1))})
		case 10, 11, 12, 13, 14:
			out = append(out, [2]string{"Debian:11", fmt.Sprintf("src%d", r.IntN(3000))})
		case 15, 16:
			out = append(out, [2]string{"Debian:12", fmt.Sprintf("src%d", r.IntN(3000))})
		case 17:
			out = append(out, [2]string{"Alpine:v3.11", fmt.Sprintf("apk%d", r.IntN(1600))})
		default:
			out = append(out, [2]string{"npm", fmt.Sprintf("left-pad-%d", i)})
		}
	}
	return out
}

func build(tb testing.TB, path string, advs []advisory.Advisory, epss int) Meta {
	tb.Helper()
	b, err := NewBuilder(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer b.Abort()
	for _, a := range advs {
		if err := b.AddAdvisory(a); err != nil {
			tb.Fatal(err)
		}
	}
	date := time.Date(2026, 8, 1, 0, 0, 0, 0, time.UTC)
	for i := range epss {
		if err := b.AddEPSS(advisory.EPSS{CVE: fmt.Sprintf("CVE-%d-%d", 1999+i%27, i), Score: float64(i%1000) / 1000, Percentile: float64(i%997) / 997, Date: date}); err != nil {
			tb.Fatal(err)
		}
	}
	for i := range epss / 200 {
		if err := b.AddKEV(advisory.KEV{CVE: fmt.Sprintf("CVE-%d-%d", 1999+i%27, i*200), VendorProject: "Vendor", Product: "Product", Name: sentence(rand.New(rand.NewPCG(uint64(i), 0)), 6), DateAdded: date, RequiredAction: "Apply mitigations per vendor instructions."}); err != nil {
			tb.Fatal(err)
		}
	}
	meta, err := b.Finish(date)
	if err != nil {
		tb.Fatal(err)
	}
	return meta
}

// The 100k-advisory database BenchmarkAffected reads, built once per run.
var big struct {
	once sync.Once
	dir  string
	path string
	c    corpus
	err  error
}

var bigCorpus = corpus{osv: 60000, debian: 30000, alpine: 10000}

func bigDB(b *testing.B) string {
	big.once.Do(func() {
		big.dir, big.err = os.MkdirTemp("", "vulndb-bench-")
		if big.err != nil {
			return
		}
		big.path = filepath.Join(big.dir, "vulndb.sqlite")
		start := time.Now()
		meta := build(b, big.path, synthetic(bigCorpus), 250000)
		fi, _ := os.Stat(big.path)
		b.Logf("built %d advisories + %d EPSS + %d KEV in %v: %.1f MB", meta.Advisories, meta.EPSS, meta.KEV, time.Since(start).Round(time.Millisecond), float64(fi.Size())/1e6)
	})
	if big.err != nil {
		b.Fatal(big.err)
	}
	return big.path
}

func TestMain(m *testing.M) {
	code := m.Run()
	if big.dir != "" {
		os.RemoveAll(big.dir)
	}
	os.Exit(code)
}

// BenchmarkAffected matches an SBOM of 5,000 packages (one op) against
// 100,000 advisories: cold (open, match, close), warm (a DB already used
// once) and parallel (the 5,000 lookups spread over GOMAXPROCS
// goroutines, warm).
func BenchmarkAffected(b *testing.B) {
	path := bigDB(b)
	keys := lookups(bigCorpus, 5000)
	ctx := context.Background()
	run := func(b *testing.B, db *DB, keys [][2]string) int {
		hits := 0
		for _, k := range keys {
			got, err := db.Affected(ctx, k[0], k[1])
			if err != nil {
				b.Fatal(err)
			}
			hits += len(got)
		}
		return hits
	}
	b.Run("cold", func(b *testing.B) {
		hits := 0
		for b.Loop() {
			db, err := Open(path)
			if err != nil {
				b.Fatal(err)
			}
			hits = run(b, db, keys)
			db.Close()
		}
		b.ReportMetric(float64(hits), "advisories/op")
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(keys)), "ns/lookup")
	})
	b.Run("warm", func(b *testing.B) {
		db, err := Open(path)
		if err != nil {
			b.Fatal(err)
		}
		defer db.Close()
		run(b, db, keys)
		hits := 0
		for b.Loop() {
			hits = run(b, db, keys)
		}
		b.ReportMetric(float64(hits), "advisories/op")
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(keys)), "ns/lookup")
	})
	// All the shared data, opened cold for each SBOM. "all-vulnerable":
	// the SBOM is the first 5,000 packages the data names, so every lookup
	// hits (tensorflow's PyPI records with their long version lists
	// included); "10pct-vulnerable": 500 of those and 4,500 packages with
	// no advisory.
	for _, tc := range []struct {
		name string
		hit  int
	}{{"shared-data-all-vulnerable-cold", 5000}, {"shared-data-10pct-vulnerable-cold", 500}} {
		b.Run(tc.name, func(b *testing.B) {
			advs := loadShared(b)
			path := filepath.Join(b.TempDir(), "vulndb.sqlite")
			build(b, path, advs, 0)
			seen := map[[2]string]bool{}
			var keys [][2]string
			for _, a := range advs {
				for _, e := range a.Affected {
					k := [2]string{e.Ecosystem, e.Package}
					if !seen[k] && len(keys) < tc.hit {
						seen[k] = true
						keys = append(keys, k)
					}
				}
			}
			hitKeys := len(keys)
			for i := 0; len(keys) < 5000; i++ {
				eco := []string{"Go", "PyPI", "Debian:11", "crates.io", "Alpine:v3.11"}[i%5]
				keys = append(keys, [2]string{eco, fmt.Sprintf("unaffected-%d", i)})
			}
			hits := 0
			for b.Loop() {
				db, err := Open(path)
				if err != nil {
					b.Fatal(err)
				}
				hits = run(b, db, keys)
				db.Close()
			}
			b.ReportMetric(float64(hitKeys), "vulnerable-packages")
			b.ReportMetric(float64(hits), "advisories/op")
		})
	}
	b.Run("parallel", func(b *testing.B) {
		db, err := Open(path)
		if err != nil {
			b.Fatal(err)
		}
		defer db.Close()
		run(b, db, keys)
		n := runtime.GOMAXPROCS(0)
		for b.Loop() {
			var wg sync.WaitGroup
			for g := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					lo, hi := g*len(keys)/n, (g+1)*len(keys)/n
					run(b, db, keys[lo:hi])
				}()
			}
			wg.Wait()
		}
	})
}

// BenchmarkBuild builds databases the size of today's feeds.
func BenchmarkBuild(b *testing.B) {
	for _, tc := range []struct {
		name string
		advs func(b *testing.B) []advisory.Advisory
		epss int
	}{
		// ~8,000 OSV records, ~8,000 Debian DSA/DLA in three releases,
		// Alpine; EPSS and KEV at their real sizes.
		{"shared-size", func(*testing.B) []advisory.Advisory {
			return synthetic(corpus{osv: 8000, debian: 8000, alpine: 3000})
		}, 0},
		{"shared-size+epss+kev", func(*testing.B) []advisory.Advisory {
			return synthetic(corpus{osv: 8000, debian: 8000, alpine: 3000})
		}, 280000},
		// Every record of the shared data folder, parsed by package
		// advisory.
		{"shared-data", func(b *testing.B) []advisory.Advisory { return loadShared(b) }, 0},
	} {
		b.Run(tc.name, func(b *testing.B) {
			advs := tc.advs(b)
			dir := b.TempDir()
			var size int64
			for b.Loop() {
				path := filepath.Join(dir, "vulndb.sqlite")
				build(b, path, advs, tc.epss)
				fi, err := os.Stat(path)
				if err != nil {
					b.Fatal(err)
				}
				size = fi.Size()
			}
			b.ReportMetric(float64(len(advs)), "advisories")
			b.ReportMetric(float64(size)/1e6, "MB")
		})
	}
}
