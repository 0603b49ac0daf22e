package main

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"

	"github.com/package-url/packageurl-go"
)

// mix is how many components of each ecosystem a generated SBOM holds.
type mix struct {
	Debian, Go, PyPI, Crates int
}

func (m mix) total() int { return m.Debian + m.Go + m.PyPI + m.Crates }

// parseMix reads "debian=1000,go=1600,pypi=1300,crates=1100".
func parseMix(s string) (mix, error) {
	var m mix
	for _, kv := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(kv), "=")
		var n int
		if _, err := fmt.Sscanf(v, "%d", &n); !ok || err != nil || n < 0 {
			return m, fmt.Errorf("bad mix element %q (want eco=N)", kv)
		}
		switch k {
		case "debian":
			m.Debian = n
		case "go":
			m.Go = n
		case "pypi":
			m.PyPI = n
		case "crates":
			m.Crates = n
		default:
			return m, fmt.Errorf("unknown ecosystem %q in mix (want debian, go, pypi, crates)", k)
		}
	}
	return m, nil
}

type cdxBOM struct {
	BOMFormat    string         `json:"bomFormat"`
	SpecVersion  string         `json:"specVersion"`
	SerialNumber string         `json:"serialNumber"`
	Version      int            `json:"version"`
	Metadata     cdxMetadata    `json:"metadata"`
	Components   []cdxComponent `json:"components"`
}

type cdxMetadata struct {
	Timestamp string       `json:"timestamp"`
	Component cdxComponent `json:"component"`
}

type cdxComponent struct {
	Type    string `json:"type"`
	BOMRef  string `json:"bom-ref"`
	Name    string `json:"name"`
	Version string `json:"version,omitempty"`
	PURL    string `json:"purl,omitempty"`
}

// writeSBOM writes a CycloneDX 1.5 JSON SBOM of m's components: Debian 11
// binary packages of the sources fixed by DSAs (at versions before a fix,
// or at the latest fix), and Go modules, PyPI and crates.io packages named
// by the OSV advisories, at versions inside and outside their affected
// ranges. Every name is one with advisories: the worst case for a matcher.
// Every purl is distinct (osv-scanner keys packages by purl).
func writeSBOM(recs []*record, dsaList string, m mix, path string) error {
	r := rand.New(rand.NewPCG(seed, 2))
	bom := cdxBOM{
		BOMFormat:    "CycloneDX",
		SpecVersion:  "1.5",
		SerialNumber: fmt.Sprintf("urn:uuid:00000000-0000-4000-8000-%012d", m.total()),
		Version:      1,
		Metadata: cdxMetadata{
			Timestamp: "2026-08-01T00:00:00Z",
			Component: cdxComponent{Type: "container", BOMRef: "root", Name: "vigil-bench/vulns", Version: "1"},
		},
	}
	add := func(c cdxComponent) {
		c.Type = "library"
		c.BOMRef = fmt.Sprintf("c%05d", len(bom.Components))
		bom.Components = append(bom.Components, c)
	}
	if m.Debian > 0 {
		bom.Components = append(bom.Components, cdxComponent{Type: "operating-system", BOMRef: "os", Name: "debian", Version: "11"})
		fixes, sources, err := debianFixes(dsaList, "bullseye")
		if err != nil {
			return err
		}
		perSource := (m.Debian + len(sources) - 1) / len(sources)
		r.Shuffle(len(sources), func(i, j int) { sources[i], sources[j] = sources[j], sources[i] })
		n := 0
		for i, src := range sources {
			fx := fixes[src]
			var ver string
			switch i % 3 {
			case 0: // before the latest fix
				ver, _ = debianOld(fx, len(fx)-1)
			case 1: // before the first fix
				ver, _ = debianOld(fx, 0)
			}
			if ver == "" { // at the latest fix: nothing applies
				ver = fx[len(fx)-1]
			}
			for _, bin := range debianBinaries(src, perSource) {
				if n == m.Debian {
					break
				}
				q := packageurl.QualifiersFromMap(map[string]string{"arch": "amd64", "distro": "debian-11", "upstream": src})
				pu := packageurl.NewPackageURL("deb", "debian", bin, ver, q, "")
				add(cdxComponent{Name: bin, Version: ver, PURL: pu.ToString()})
				n++
			}
		}
		if n < m.Debian {
			return fmt.Errorf("only %d Debian packages from %d sources", n, len(sources))
		}
	}
	langs := []struct {
		eco, purlType string
		n             int
		ok            func(string, candidate) bool
		version       func(string) string
	}{
		{"Go", "golang", m.Go, func(name string, c candidate) bool {
			return (name == "stdlib" || validGoRequire(name, c.version)) && semverRE.MatchString(c.version)
		}, func(v string) string { return "v" + v }},
		{"PyPI", "pypi", m.PyPI, func(string, candidate) bool { return true }, func(v string) string { return v }},
		{"crates.io", "cargo", m.Crates, func(_ string, c candidate) bool { return semverRE.MatchString(c.version) }, func(v string) string { return v }},
	}
	for _, l := range langs {
		if l.n == 0 {
			continue
		}
		ix := buildIndex(recs, l.eco)
		names := sortedNames(ix, r)
		used := map[string]bool{}
		got := 0
		for pass := 0; got < l.n; pass++ {
			progress := false
			for _, name := range names {
				if got == l.n {
					break
				}
				var pool []candidate
				for _, c := range ix[name] {
					if !used[name+"@"+c.version] && l.ok(name, c) {
						pool = append(pool, c)
					}
				}
				if len(pool) == 0 {
					continue
				}
				c := pool[r.IntN(len(pool))]
				used[name+"@"+c.version] = true
				ns, base := "", name
				if l.purlType == "golang" {
					if i := strings.LastIndexByte(name, '/'); i > 0 {
						ns, base = name[:i], name[i+1:]
					}
				}
				v := l.version(c.version)
				pu := packageurl.NewPackageURL(l.purlType, ns, base, v, nil, "")
				add(cdxComponent{Name: name, Version: v, PURL: pu.ToString()})
				got++
				progress = true
			}
			if !progress {
				return fmt.Errorf("%s: only %d distinct package versions, want %d", l.eco, got, l.n)
			}
		}
	}
	data, err := json.MarshalIndent(bom, "", " ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, data, 0o644)
}
