package sbom

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/vigil-sec/vigil/internal/asset"
	"github.com/vigil-sec/vigil/internal/inventory"
)

// maxNesting bounds how deep nested components are followed.
const maxNesting = 32

// Decode reads a CycloneDX or SPDX JSON document, whichever r holds, and
// returns its inventory and format. The result's asset is of kind sbom: Name
// is name, Digest the sha256 of the document, and OS, Platform, Layers and
// RepoDigests what the document carried of them; Labels name the
// document's subject ("sbom.subject.name", ...). Packages get their IDs
// from Package.ComputeID. A document that says it is incomplete gives a
// result with Unknowns.
//
// At most MaxDocumentSize bytes are read; a longer document is an error
// (ErrTooLarge), as are documents in neither format (ErrUnknownFormat),
// versions this package cannot read (ErrUnsupportedVersion) and documents
// that do not parse (ErrMalformed).
func Decode(r io.Reader, name string) (*inventory.Result, Format, error) {
	return decode(r, name, MaxDocumentSize)
}

func decode(r io.Reader, name string, limit int64) (*inventory.Result, Format, error) {
	var buf bytes.Buffer
	n, err := buf.ReadFrom(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, "", fmt.Errorf("read SBOM %s: %w", name, err)
	}
	if n > limit {
		return nil, "", fmt.Errorf("read SBOM %s: %w (over %d bytes)", name, ErrTooLarge, limit)
	}
	data := buf.Bytes()

	f, version, err := sniff(data)
	if err != nil {
		return nil, "", fmt.Errorf("decode SBOM %s: %w", name, err)
	}

	sum := sha256.Sum256(data)
	digest := "sha256:" + hex.EncodeToString(sum[:])
	a := asset.Asset{
		ID:     asset.NewID(asset.KindSBOM, digest),
		Kind:   asset.KindSBOM,
		Name:   name,
		Digest: digest,
	}

	var res *inventory.Result
	switch f {
	case CycloneDXJSON:
		res, err = decodeCycloneDX(data, a)
	default:
		res, err = decodeSPDX(data, a, version)
	}
	if err != nil {
		return nil, "", fmt.Errorf("decode %s %s: %w", f, name, err)
	}
	return res, f, nil
}

// sniff tells the format of data from its top-level fields, and for SPDX
// the version.
func sniff(data []byte) (Format, string, error) {
	trimmed := bytes.TrimLeft(bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")), " \t\r\n")
	switch {
	case len(trimmed) == 0:
		return "", "", fmt.Errorf("%w: empty input", ErrUnknownFormat)
	case trimmed[0] == '<':
		return "", "", fmt.Errorf("%w: XML documents are not supported, use JSON", ErrUnknownFormat)
	case bytes.HasPrefix(trimmed, []byte("SPDXVersion:")):
		return "", "", fmt.Errorf("%w: SPDX tag-value documents are not supported, use JSON", ErrUnknownFormat)
	case trimmed[0] != '{':
		if json.Valid(trimmed) {
			return "", "", fmt.Errorf("%w: top-level JSON value is not an object", ErrUnknownFormat)
		}
		return "", "", fmt.Errorf("%w: not JSON", ErrUnknownFormat)
	}

	var head struct {
		BOMFormat   json.RawMessage `json:"bomFormat"`
		SpecVersion json.RawMessage `json:"specVersion"`
		SPDXVersion json.RawMessage `json:"spdxVersion"`
		Context     json.RawMessage `json:"@context"`
	}
	if err := json.Unmarshal(data, &head); err != nil {
		return "", "", jsonError(err)
	}
	if head.BOMFormat != nil {
		var s string
		if err := json.Unmarshal(head.BOMFormat, &s); err != nil || s != "CycloneDX" {
			return "", "", fmt.Errorf("%w: bomFormat is %s, want \"CycloneDX\"", ErrUnknownFormat, clip(head.BOMFormat))
		}
		return CycloneDXJSON, "", nil
	}
	if head.SPDXVersion != nil {
		var s string
		if err := json.Unmarshal(head.SPDXVersion, &s); err != nil {
			return "", "", fmt.Errorf("%w: spdxVersion is %s, want a string", ErrMalformed, clip(head.SPDXVersion))
		}
		switch s {
		case "SPDX-2.1", "SPDX-2.2", "SPDX-2.3":
			return SPDXJSON, s, nil
		}
		return "", "", fmt.Errorf("%w: spdxVersion %q (want SPDX-2.1, SPDX-2.2 or SPDX-2.3)", ErrUnsupportedVersion, clip(s))
	}
	if bytes.Contains(head.Context, []byte("spdx.org/rdf/3")) {
		return "", "", fmt.Errorf("%w: SPDX 3 documents are not supported", ErrUnsupportedVersion)
	}
	return "", "", fmt.Errorf("%w: no bomFormat or spdxVersion field", ErrUnknownFormat)
}

// jsonError wraps a JSON decoding error as ErrMalformed, saying where.
func jsonError(err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return fmt.Errorf("%w: invalid JSON at byte %d: %v", ErrMalformed, syn.Offset, err)
	case errors.As(err, &typ):
		return fmt.Errorf("%w: wrong type at byte %d: %v", ErrMalformed, typ.Offset, err)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return fmt.Errorf("%w: truncated JSON", ErrMalformed)
	}
	return fmt.Errorf("%w: %v", ErrMalformed, err)
}

// clip shortens untrusted text for an error message.
func clip[T ~string | ~[]byte](s T) string {
	const n = 64
	if len(s) > n {
		return strings.ToValidUTF8(string(s[:n]), "?") + "..."
	}
	return strings.ToValidUTF8(string(s), "?")
}

// finish completes a decoded result: OS from purls when the document had
// none, layer indices from the asset's layers, package IDs, and order.
func finish(res *inventory.Result) {
	a := &res.Asset
	if a.OS == nil {
		for _, p := range res.Packages {
			if pu, ok := parsePURL(p.PURL); ok && (p.Ecosystem == inventory.Debian || p.Ecosystem == inventory.RPM || p.Ecosystem == inventory.Alpine) {
				if o := distroOS(pu); o != nil {
					a.OS = o
					break
				}
			}
		}
	}
	layerIndex := map[string]int{}
	for _, l := range a.Layers {
		layerIndex[l.DiffID] = l.Index
	}
	for i := range res.Packages {
		p := &res.Packages[i]
		for j := range p.Locations {
			l := &p.Locations[j]
			if l.LayerDiffID != "" && l.LayerIndex == 0 {
				if idx, ok := layerIndex[l.LayerDiffID]; ok {
					l.LayerIndex = idx
				}
			}
		}
		if p.Locations == nil {
			p.Locations = []inventory.Location{}
		}
		p.ComputeID()
	}
	res.Sort()
}

// guard runs a third-party parser, turning a panic on hostile input into
// ErrMalformed rather than bringing the server down. Vigil's own code is
// not guarded, so that fuzzing finds its bugs.
func guard(parse func() error) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("%w: parser failed: %v", ErrMalformed, p)
		}
	}()
	return parse()
}
