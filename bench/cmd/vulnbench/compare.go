package main

import (
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
)

// finding is one vulnerability of one package version, tool-neutral: the
// package normalised (PEP 503 names for PyPI, no "v" on Go versions) and
// the vulnerability as its alias group.
type finding struct {
	Ecosystem string `json:"ecosystem"`
	Package   string `json:"package"`
	Version   string `json:"version"`
	Group     string `json:"group"` // root of the alias group
}

func (f finding) key() string {
	return f.Ecosystem + "\x00" + f.Package + "\x00" + f.Version + "\x00" + f.Group
}

var pep503 = regexp.MustCompile(`[-_.]+`)

func normPackage(eco, name string) string {
	if eco == "PyPI" {
		return strings.ToLower(pep503.ReplaceAllString(name, "-"))
	}
	return name
}

func normVersion(eco, v string) string {
	if eco == "Go" {
		return strings.TrimPrefix(v, "v")
	}
	return v
}

// findings is a tool's findings with, for each, the identifiers the tool
// reported it under and where it came from.
type findings struct {
	set    map[string]finding
	ids    map[string][]string
	source map[string]string
	// sourceTypes are the kinds of input the tool read ("lockfile",
	// "sbom", "docker"), for osv-scanner.
	sourceTypes map[string]bool
}

func newFindings() *findings {
	return &findings{set: map[string]finding{}, ids: map[string][]string{}, source: map[string]string{}, sourceTypes: map[string]bool{}}
}

func (fs *findings) add(g *groups, eco, name, version, id, source string) {
	eco = baseEcosystem(eco)
	f := finding{Ecosystem: eco, Package: normPackage(eco, name), Version: normVersion(eco, version), Group: g.find(id)}
	k := f.key()
	fs.set[k] = f
	if !slices.Contains(fs.ids[k], id) {
		fs.ids[k] = append(fs.ids[k], id)
	}
	if source != "" {
		fs.source[k] = source
	}
}

// readVigil reads a vigil.vulnerabilities/v1 document. Each merged
// advisory of a match counts (they may belong to different groups);
// suppressed matches do not.
func readVigil(path string, g *groups) (*findings, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var doc struct {
		Matches []struct {
			ID         string          `json:"id"`
			Advisories []string        `json:"advisories"`
			Package    string          `json:"package"`
			Version    string          `json:"version"`
			Ecosystem  string          `json:"ecosystem"`
			Suppressed json.RawMessage `json:"suppressed"`
		} `json:"matches"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	fs := newFindings()
	for _, m := range doc.Matches {
		if len(m.Suppressed) > 0 && string(m.Suppressed) != "null" {
			continue
		}
		ids := m.Advisories
		if len(ids) == 0 {
			ids = []string{m.ID}
		}
		for _, id := range ids {
			fs.add(g, m.Ecosystem, m.Package, m.Version, id, "")
		}
	}
	return fs, nil
}

// readOSVScanner reads osv-scanner's --format json output.
func readOSVScanner(path string, g *groups) (*findings, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var doc struct {
		Results []struct {
			Source struct {
				Path string `json:"path"`
				Type string `json:"type"`
			} `json:"source"`
			Packages []struct {
				Package struct {
					Name      string `json:"name"`
					Version   string `json:"version"`
					Ecosystem string `json:"ecosystem"`
				} `json:"package"`
				Vulnerabilities []struct {
					ID string `json:"id"`
				} `json:"vulnerabilities"`
			} `json:"packages"`
		} `json:"results"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	fs := newFindings()
	for _, res := range doc.Results {
		fs.sourceTypes[res.Source.Type] = true
		for _, p := range res.Packages {
			for _, v := range p.Vulnerabilities {
				fs.add(g, p.Package.Ecosystem, p.Package.Name, p.Package.Version, v.ID, res.Source.Path)
			}
		}
	}
	return fs, nil
}

// comparison is the outcome for one input: Vigil against a peer
// (osv-scanner, or dpkg's ordering for Debian).
type comparison struct {
	Input        string                 `json:"input"`
	Peer         string                 `json:"peer"`
	ByEcosystem  map[string]*ecoCounts  `json:"byEcosystem"`
	Differences  []difference           `json:"differences"`
	Explanations map[string]explanation `json:"explanations"`
}

type ecoCounts struct {
	Vigil     int `json:"vigil"`
	Peer      int `json:"peer"`
	Agreed    int `json:"agreed"`
	OnlyVigil int `json:"onlyVigil"`
	OnlyPeer  int `json:"onlyPeer"`
}

// difference is a finding one tool has and the other has not.
type difference struct {
	Input string `json:"input"`
	finding
	Label   string   `json:"label"`   // the group's CVE, or its root
	OnlyIn  string   `json:"onlyIn"`  // "vigil" or the peer
	IDs     []string `json:"ids"`     // what the reporting tool called it
	Records []string `json:"records"` // the group's records naming the package
	Cause   string   `json:"cause"`   // a key of explanations
	Facts   []string `json:"facts"`   // what each record says, not naming the version
}

// compare diffs Vigil's findings on one input with a peer's and explains
// each difference from the records.
func compare(input, peer string, vigil, other *findings, recs []*record, g *groups) *comparison {
	c := &comparison{Input: input, Peer: peer, ByEcosystem: map[string]*ecoCounts{}, Differences: []difference{}, Explanations: map[string]explanation{}}
	counts := func(eco string) *ecoCounts {
		if c.ByEcosystem[eco] == nil {
			c.ByEcosystem[eco] = &ecoCounts{}
		}
		return c.ByEcosystem[eco]
	}
	byGroup := map[string][]*record{}
	for _, r := range recs {
		byGroup[g.find(r.ID)] = append(byGroup[g.find(r.ID)], r)
	}
	for k, f := range vigil.set {
		n := counts(f.Ecosystem)
		n.Vigil++
		if _, ok := other.set[k]; ok {
			n.Agreed++
			continue
		}
		n.OnlyVigil++
		c.Differences = append(c.Differences, explain(f, "vigil", peer, vigil.ids[k], "", other.sourceTypes, byGroup[f.Group], g))
	}
	for k, f := range other.set {
		n := counts(f.Ecosystem)
		n.Peer++
		if _, ok := vigil.set[k]; ok {
			continue
		}
		n.OnlyPeer++
		c.Differences = append(c.Differences, explain(f, peer, peer, other.ids[k], other.source[k], other.sourceTypes, byGroup[f.Group], g))
	}
	for i := range c.Differences {
		c.Differences[i].Input = input
	}
	slices.SortFunc(c.Differences, func(a, b difference) int {
		return strings.Compare(a.Ecosystem+a.Package+a.Version+a.Label, b.Ecosystem+b.Package+b.Version+b.Label)
	})
	for _, d := range c.Differences {
		c.Explanations[d.Cause] = explanations[d.Cause]
	}
	return c
}
