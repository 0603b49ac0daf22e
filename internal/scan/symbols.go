package scan

import (
	"io"
	"io/fs"
	"strings"

	"github.com/vigil-sec/vigil/internal/inventory"
	"github.com/vigil-sec/vigil/internal/vuln"
)

// Options are what every target's scan shares.
type Options struct {
	// GoSymbols reads the function table of every Go binary found, so the
	// vulnerability matcher can say whether vulnerable symbols are present.
	GoSymbols bool
}

// Scanned is the outcome of one scan.
type Scanned struct {
	Result *inventory.Result
	// Symbols is set when Options.GoSymbols asked for it.
	Symbols *Symbols
	// Stats says how an image scan went; zero for other targets.
	Stats ImageStats
}

// Symbols holds the function symbols of the Go binaries of one scan, keyed
// by the binary's path in the asset.
type Symbols struct {
	byPath map[string]map[string]bool
}

// For returns the symbol set of the binary p was found in; ok is false when
// p is not from a Go binary or its symbols could not be read.
func (s *Symbols) For(p inventory.Package) (map[string]bool, bool) {
	if s == nil || len(p.Locations) == 0 {
		return nil, false
	}
	m, ok := s.byPath[p.Locations[0].Path]
	return m, ok
}

// Len is the number of binaries whose symbols were read.
func (s *Symbols) Len() int {
	if s == nil {
		return 0
	}
	return len(s.byPath)
}

// collectSymbols reads the symbol tables of the Go binaries pkgs were found
// in. A binary whose table cannot be read is left out: its matches then say
// nothing about reachability, which is the truth.
func collectSymbols(fsys fs.FS, pkgs []inventory.Package) *Symbols {
	s := &Symbols{byPath: map[string]map[string]bool{}}
	seen := map[string]bool{}
	for _, p := range pkgs {
		if p.Extractor != "go/binary" || len(p.Locations) == 0 {
			continue
		}
		path := p.Locations[0].Path
		if seen[path] {
			continue
		}
		seen[path] = true
		f, err := fsys.Open(strings.TrimPrefix(path, "/"))
		if err != nil {
			continue
		}
		if ra, ok := f.(io.ReaderAt); ok {
			if syms, err := vuln.GoSymbols(ra); err == nil {
				s.byPath[path] = syms
			}
		}
		f.Close()
	}
	return s
}
