package vuln

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/vigil-sec/vigil/internal/advisory"
	"github.com/vigil-sec/vigil/internal/inventory"
)

// sharedAdvisories is the shared real data set, beside the project.
var sharedAdvisories = filepath.Join("..", "..", "..", "shared", "data", "advisories")

// BenchmarkFind matches a 5,000-package inventory of a Debian 11 image
// against the whole real Debian DSA/DLA lists and Go vulnerability
// database held in memory: 1,000 dpkg packages, five binaries per source
// package, of every source with a bullseye advisory (half at versions
// before every fix, half after), 2,000 Go modules named in the Go
// database, from two binaries (half old), and 2,000 npm packages with none.
func BenchmarkFind(b *testing.B) {
	if _, err := os.Stat(sharedAdvisories); err != nil {
		b.Skipf("shared data not found at %s: %v", sharedAdvisories, err)
	}
	src := newMemSource()
	var debSources []string
	seen := map[string]bool{}
	for _, list := range []string{"DSA.list", "DLA.list"} {
		f, err := os.Open(filepath.Join(sharedAdvisories, "debian-tracker", list))
		if err != nil {
			b.Fatal(err)
		}
		err = advisory.ParseDebianList(f, func(a advisory.Advisory, _ error) error {
			src.add(a)
			for _, e := range a.Affected {
				if e.Ecosystem == "Debian:11" && !seen[e.Package] {
					seen[e.Package] = true
					debSources = append(debSources, e.Package)
				}
			}
			return nil
		})
		f.Close()
		if err != nil {
			b.Fatal(err)
		}
	}
	var goModules []string
	seenGo := map[string]bool{}
	err := advisory.WalkOSV(os.DirFS(filepath.Join(sharedAdvisories, "osv-go")), func(a advisory.Advisory, err error) error {
		if err != nil {
			return nil
		}
		src.add(a)
		for _, e := range a.Affected {
			if !seenGo[e.Package] {
				seenGo[e.Package] = true
				goModules = append(goModules, e.Package)
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	slices.Sort(debSources)
	slices.Sort(goModules)
	if len(debSources) < 100 || len(goModules) < 1000 {
		b.Fatalf("only %d Debian sources and %d Go modules in the data", len(debSources), len(goModules))
	}
	var ps []inventory.Package
	for i := 0; len(ps) < 1000; i++ {
		s := fmt.Sprintf("no-advisory-%d", i)
		if i < len(debSources) {
			s = debSources[i]
		}
		v := "0.1-1" // before every fix
		if i%2 == 1 {
			v = "99:1.0-1" // after every fix
		}
		for _, bin := range []string{s, "lib" + s, s + "-common", s + "-data", s + "-doc"} {
			ps = append(ps, debPkg(bin, v, s, v))
		}
	}
	for i := range 2000 {
		m := goModules[i%len(goModules)]
		v := "0.0.1"
		if i%2 == 1 {
			v = "99.0.0"
		}
		p := goBinPkg(m, v)
		p.Locations = []inventory.Location{{Path: fmt.Sprintf("/bin/app%d", i/len(goModules))}}
		p.ComputeID()
		ps = append(ps, p)
	}
	for i := range 2000 {
		ps = append(ps, pkg(inventory.Npm, fmt.Sprintf("npm-package-%d", i), "1.2.3"))
	}
	r := result(debian11, ps...)
	b.ResetTimer()
	var rep *Report
	for range b.N {
		var err error
		if rep, err = Find(context.Background(), src, r, Options{}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(rep.Matches)), "matches")
	b.ReportMetric(float64(src.queries)/float64(b.N), "queries/op")
}
