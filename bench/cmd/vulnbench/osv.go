package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// record is the part of an OSV record the benchmark reads. raw is the
// record as JSON (YAML records converted), as osv-scanner is given it.
type record struct {
	ID        string     `json:"id"`
	Aliases   []string   `json:"aliases"`
	Withdrawn string     `json:"withdrawn"`
	Affected  []affected `json:"affected"`

	raw []byte
}

type affected struct {
	Package struct {
		Name      string `json:"name"`
		Ecosystem string `json:"ecosystem"`
	} `json:"package"`
	Ranges   []osvRange `json:"ranges"`
	Versions []string   `json:"versions"`
}

type osvRange struct {
	Type   string              `json:"type"`
	Events []map[string]string `json:"events"`
}

// osvFolders are the shared data's OSV folders and the ecosystem each
// holds.
var osvFolders = map[string]string{
	"osv-go":        "Go",
	"osv-crates.io": "crates.io",
	"osv-pypi":      "PyPI",
}

// loadOSV reads every OSV record (JSON or YAML) under the advisories
// directory's OSV folders.
func loadOSV(advisories string) ([]*record, error) {
	var out []*record
	for _, folder := range slices.Sorted(maps.Keys(osvFolders)) {
		root := filepath.Join(advisories, folder)
		err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			ext := filepath.Ext(path)
			if ext != ".json" && ext != ".yaml" && ext != ".yml" {
				return nil
			}
			data, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			if ext != ".json" {
				if data, err = yamlToJSON(data); err != nil {
					return fmt.Errorf("%s: %w", path, err)
				}
			}
			r := &record{raw: data}
			if err := json.Unmarshal(data, r); err != nil {
				return fmt.Errorf("%s: %w", path, err)
			}
			out = append(out, r)
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	slices.SortFunc(out, func(a, b *record) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

// yamlToJSON converts one YAML document to JSON. It is deliberately not
// Vigil's converter, so that a bug there cannot hide in the comparison:
// scalars become strings (their source text, so "1.10" stays "1.10"),
// nulls stay null; OSV has no numeric or boolean fields that matter.
func yamlToJSON(data []byte) ([]byte, error) {
	var doc yaml.Node
	if err := yaml.NewDecoder(bytes.NewReader(data)).Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("empty YAML document")
		}
		return nil, err
	}
	v, err := yamlValue(&doc, 0)
	if err != nil {
		return nil, err
	}
	return json.Marshal(v)
}

func yamlValue(n *yaml.Node, depth int) (any, error) {
	if depth > 100 {
		return nil, errors.New("YAML nested too deep")
	}
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) != 1 {
			return nil, errors.New("empty YAML document")
		}
		return yamlValue(n.Content[0], depth+1)
	case yaml.AliasNode:
		return yamlValue(n.Alias, depth+1)
	case yaml.MappingNode:
		m := make(map[string]any, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			v, err := yamlValue(n.Content[i+1], depth+1)
			if err != nil {
				return nil, err
			}
			m[n.Content[i].Value] = v
		}
		return m, nil
	case yaml.SequenceNode:
		s := make([]any, 0, len(n.Content))
		for _, c := range n.Content {
			v, err := yamlValue(c, depth+1)
			if err != nil {
				return nil, err
			}
			s = append(s, v)
		}
		return s, nil
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return nil, nil
		}
		return n.Value, nil
	}
	return nil, fmt.Errorf("unexpected YAML node kind %d", n.Kind)
}

// baseEcosystem is an OSV ecosystem without its release ("Debian:11" →
// "Debian").
func baseEcosystem(eco string) string {
	b, _, _ := strings.Cut(eco, ":")
	return b
}
