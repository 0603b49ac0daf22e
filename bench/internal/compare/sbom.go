package compare

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/package-url/packageurl-go"
)

// Key identifies a package across tools.
type Key struct {
	Type    string // purl type: deb, npm, golang…; "none" without a purl
	Name    string // namespace/name where the namespace is part of the name
	Version string
}

func (k Key) String() string { return k.Type + ":" + k.Name + "@" + k.Version }

// Set is the packages one tool reported.
type Set struct {
	Tool string
	// Components counts the package components read (every component but
	// operating systems and files).
	Components int
	// Keys maps each distinct package to how many components name it.
	Keys map[Key]int
	// Paths maps each package to the locations the tool gave for it, if
	// any (CycloneDX evidence or tool-specific properties).
	Paths map[Key][]string
	// Unknowns are the files the tool said it could not read
	// ("path (extractor): error"), from Vigil's vigil:unknown:N:*
	// metadata properties.
	Unknowns []string
}

// maxSBOM bounds the size of an SBOM read back (the largest here are a few
// megabytes).
const maxSBOM = 1 << 30

type cdxBOM struct {
	Metadata struct {
		Properties []cdxProperty `json:"properties"`
	} `json:"metadata"`
	Components []cdxComponent `json:"components"`
}

type cdxProperty struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

type cdxComponent struct {
	Type       string         `json:"type"`
	Name       string         `json:"name"`
	Group      string         `json:"group"`
	Version    string         `json:"version"`
	PURL       string         `json:"purl"`
	Components []cdxComponent `json:"components"`
	Properties []cdxProperty  `json:"properties"`
	Evidence   struct {
		Occurrences []struct {
			Location string `json:"location"`
		} `json:"occurrences"`
	} `json:"evidence"`
}

// ReadFile reads the CycloneDX JSON SBOM at path, written by tool.
func ReadFile(tool, path string) (*Set, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	s, err := Read(tool, io.LimitReader(f, maxSBOM))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return s, nil
}

// Read reads a CycloneDX JSON SBOM written by tool.
func Read(tool string, r io.Reader) (*Set, error) {
	var bom cdxBOM
	if err := json.NewDecoder(r).Decode(&bom); err != nil {
		return nil, err
	}
	s := &Set{Tool: tool, Keys: map[Key]int{}, Paths: map[Key][]string{}, Unknowns: unknowns(bom.Metadata.Properties)}
	var walk func([]cdxComponent) error
	walk = func(cs []cdxComponent) error {
		for _, c := range cs {
			if err := walk(c.Components); err != nil {
				return err
			}
			if c.Type == "operating-system" || c.Type == "file" {
				continue
			}
			k, err := keyOf(c)
			if err != nil {
				return err
			}
			s.Components++
			s.Keys[k]++
			s.Paths[k] = append(s.Paths[k], locations(c)...)
		}
		return nil
	}
	return s, walk(bom.Components)
}

// unknowns reads Vigil's vigil:unknown:N:{path,extractor,error}
// properties, in order of N.
func unknowns(props []cdxProperty) []string {
	type unknown struct{ path, extractor, err string }
	byN := map[int]*unknown{}
	for _, p := range props {
		rest, ok := strings.CutPrefix(p.Name, "vigil:unknown:")
		if !ok {
			continue
		}
		ns, field, ok := strings.Cut(rest, ":")
		n, err := strconv.Atoi(ns)
		if !ok || err != nil {
			continue
		}
		u := byN[n]
		if u == nil {
			u = &unknown{}
			byN[n] = u
		}
		switch field {
		case "path":
			u.path = p.Value
		case "extractor":
			u.extractor = p.Value
		case "error":
			u.err = p.Value
		}
	}
	out := make([]string, 0, len(byN))
	for _, n := range slices.Sorted(maps.Keys(byN)) {
		u := byN[n]
		out = append(out, fmt.Sprintf("%s (%s): %s", u.path, u.extractor, u.err))
	}
	return out
}

// locationProps are the properties tools put a package's file in.
var locationProps = map[string]bool{
	"syft:location:0:path": true,
	"vigil:location":       true,
	"vigil:location:0":     true,
}

func locations(c cdxComponent) []string {
	var out []string
	for _, o := range c.Evidence.Occurrences {
		out = append(out, o.Location)
	}
	for _, p := range c.Properties {
		if locationProps[p.Name] {
			out = append(out, p.Value)
		}
	}
	return out
}

// distroTypes are purl types whose namespace is the distribution, not part
// of the package's name.
var distroTypes = map[string]bool{"deb": true, "rpm": true, "apk": true, "alpm": true}

func keyOf(c cdxComponent) (Key, error) {
	if c.PURL == "" {
		name := c.Name
		if c.Group != "" {
			name = c.Group + "/" + name
		}
		return Key{Type: "none", Name: name, Version: c.Version}, nil
	}
	p, err := packageurl.FromString(c.PURL)
	if err != nil {
		// Tools write what they read: Syft takes the name of a template
		// package.json ("<%= name %>") into its purl unescaped. Keep the
		// component, keyed by the purl's type and its own name and version.
		typ, _, _ := strings.Cut(strings.TrimPrefix(c.PURL, "pkg:"), "/")
		return Key{Type: strings.ToLower(typ), Name: c.Name, Version: c.Version}, nil
	}
	k := Key{Type: strings.ToLower(p.Type), Name: p.Name, Version: p.Version}
	if p.Namespace != "" && !distroTypes[k.Type] {
		k.Name = p.Namespace + "/" + p.Name
	}
	if k.Type == "deb" || k.Type == "rpm" {
		// An epoch may be a qualifier instead of part of the version.
		if e := p.Qualifiers.Map()["epoch"]; e != "" && e != "0" && !strings.Contains(k.Version, ":") {
			k.Version = e + ":" + k.Version
		}
	}
	if k.Type == "golang" {
		// Syft writes a module path's major-version suffix or last element
		// as the purl's subpath (…/validator@v10.2.0#v10); the module is
		// …/validator/v10 either way.
		if p.Subpath != "" {
			k.Name += "/" + p.Subpath
		}
		// Syft keeps Go's "v" (v1.2.3, and go1.22.1 for the toolchain);
		// Vigil and SCALIBR write 1.2.3 as OSV does.
		k.Version = strings.TrimPrefix(k.Version, "v")
		if k.Name == "stdlib" || k.Name == "go" {
			k.Version = strings.TrimPrefix(k.Version, "go")
		}
	}
	return k, nil
}
