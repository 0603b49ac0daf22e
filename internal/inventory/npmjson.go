package inventory

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/google/osv-scalibr/extractor"
	scalibrfs "github.com/google/osv-scalibr/fs"
	"github.com/google/osv-scalibr/purl"
)

// maxPackageJSON bounds the package.json read by the fallback below.
const maxPackageJSON = 8 << 20

// packageJSONFallback reads the identity of an installed npm package from
// its package.json when SCALIBR's extractor rejected the file. SCALIBR
// decodes descriptive fields (contributors, author, ...) into strict
// structs, so a well-formed package.json whose "contributors" is a string —
// parse5 7.x ships one — fails as a whole and the package would be lost.
// Only name, version and license matter for the inventory; those are read
// leniently here. A file without a name and version is no package.
func packageJSONFallback(sfs scalibrfs.FS, c candidate) ([]*extractor.Package, error) {
	f, err := sfs.Open(c.name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxPackageJSON+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxPackageJSON {
		return nil, fmt.Errorf("package.json over %d bytes", maxPackageJSON)
	}
	var doc struct {
		Name    string          `json:"name"`
		Version string          `json:"version"`
		License json.RawMessage `json:"license"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, err
	}
	if strings.TrimSpace(doc.Name) == "" || strings.TrimSpace(doc.Version) == "" {
		return nil, nil
	}
	p := &extractor.Package{
		Name:     doc.Name,
		Version:  doc.Version,
		PURLType: purl.TypeNPM,
		Location: extractor.LocationFromPath(c.name),
	}
	if l := licenseOf(doc.License); l != "" {
		p.Licenses = []string{l}
	}
	return []*extractor.Package{p}, nil
}

// licenseOf reads package.json's license: an SPDX expression string, or the
// deprecated {"type": "MIT"} object.
func licenseOf(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var o struct {
		Type string `json:"type"`
	}
	if json.Unmarshal(raw, &o) == nil {
		return o.Type
	}
	return ""
}
