package vex

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// FuzzLoad: no input makes Load or a loaded set's Suppress panic, and a
// loaded set written back through a report still loads.
func FuzzLoad(f *testing.F) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.json"))
	if err != nil {
		f.Fatal(err)
	}
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	var buf bytes.Buffer
	if err := WriteOpenVEX(&buf, testReport(), "fuzz", time.Unix(0, 0)); err != nil {
		f.Fatal(err)
	}
	f.Add(buf.Bytes())
	f.Add([]byte(`{"bomFormat": "CycloneDX", "components": [{"components": [{"components": []}]}]}`))
	f.Add([]byte(`{"@context": "https://openvex.dev/ns", "statements": [{"vulnerability": "x", "products": ["pkg:a/b", {"@id": "urn:cdx:x#%zz"}], "status": "fixed"}]}`))

	rep := testReport()
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := Load(bytes.NewReader(b), "fuzz.json")
		if err != nil {
			return
		}
		for i := range rep.Matches {
			if sup := s.Suppress(&rep.Matches[i], &rep.Result.Packages[i]); sup != nil && sup.By != SuppressedBy {
				t.Fatalf("suppression by %q", sup.By)
			}
			s.Suppress(&rep.Matches[i], nil)
		}
	})
}
