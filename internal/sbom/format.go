package sbom

import (
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/vigil-sec/vigil/internal/inventory"
)

// Format names an SBOM document format.
type Format string

// The formats Vigil writes and reads.
const (
	CycloneDXJSON Format = "cyclonedx-json"
	SPDXJSON      Format = "spdx-json"
)

// Formats lists the supported formats, for flag help.
func Formats() []Format { return []Format{CycloneDXJSON, SPDXJSON} }

// CycloneDX specification versions EncodeCycloneDX can write.
const (
	CycloneDX15 = "1.5"
	CycloneDX16 = "1.6"
)

// SPDX23 is the SPDX specification version EncodeSPDX writes.
const SPDX23 = "2.3"

// MaxDocumentSize bounds how many bytes Decode reads.
const MaxDocumentSize = 256 << 20

// Errors returned by this package, wrapped with detail; test with errors.Is.
var (
	// ErrUnknownFormat: the input is neither CycloneDX JSON nor SPDX JSON.
	ErrUnknownFormat = errors.New("not a CycloneDX or SPDX JSON document")
	// ErrUnsupportedVersion: a specification version this package cannot
	// write or read.
	ErrUnsupportedVersion = errors.New("unsupported specification version")
	// ErrMalformed: the document is not well-formed JSON of its format.
	ErrMalformed = errors.New("malformed SBOM document")
	// ErrTooLarge: the document is over MaxDocumentSize.
	ErrTooLarge = errors.New("SBOM document too large")
)

// EncodeOptions says how to write a document. The zero value is valid.
type EncodeOptions struct {
	// Tool and ToolVersion name the program writing the document;
	// Tool defaults to "vigil".
	Tool        string
	ToolVersion string
	// Timestamp is the document's creation time; zero means now. Only the
	// timestamp differs between two encodings of the same result.
	Timestamp time.Time
	// SpecVersion is the specification version to write: for CycloneDX
	// "1.5" (the default) or "1.6"; for SPDX only "2.3" (the default).
	SpecVersion string
}

func (o EncodeOptions) tool() string {
	if o.Tool == "" {
		return "vigil"
	}
	return o.Tool
}

func (o EncodeOptions) timestamp() string {
	t := o.Timestamp
	if t.IsZero() {
		t = time.Now()
	}
	return t.UTC().Format(time.RFC3339)
}

// ParseFormat returns the Format named s.
func ParseFormat(s string) (Format, error) {
	for _, f := range Formats() {
		if string(f) == s {
			return f, nil
		}
	}
	return "", fmt.Errorf("sbom format %q: %w (want one of %v)", s, ErrUnknownFormat, Formats())
}

// Encode writes r to w in format f.
func Encode(w io.Writer, f Format, r *inventory.Result, opts EncodeOptions) error {
	switch f {
	case CycloneDXJSON:
		return EncodeCycloneDX(w, r, opts)
	case SPDXJSON:
		return EncodeSPDX(w, r, opts)
	}
	return fmt.Errorf("sbom format %q: %w", f, ErrUnknownFormat)
}
