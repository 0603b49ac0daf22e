package bundle

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"path"
	"strings"
	"time"
)

// Format is the manifest format this package writes and reads.
const Format = "vigil-db-bundle/v1"

// Names of the archive members besides the database.
const (
	ManifestName  = "manifest.json"
	SignatureName = "manifest.sig"
)

// maxManifestBytes bounds manifest.json.
const maxManifestBytes = 1 << 20

// Manifest describes the database in a bundle. It is stored as JSON in
// manifest.json and signed byte for byte.
type Manifest struct {
	// Format is always Format.
	Format string `json:"format"`
	// BuiltAt is when the database was built (from its own metadata);
	// Import refuses a bundle older than the installed database.
	BuiltAt time.Time `json:"builtAt"`
	// Created is when the bundle was written.
	Created time.Time `json:"created"`
	// File is the database member's name: a plain file name.
	File string `json:"file"`
	// Size and SHA256 (lowercase hex) describe the database file.
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
	// KeyID names the signing key (see KeyID).
	KeyID string `json:"keyId"`
	// Meta is the database's own metadata, for display; Import does not
	// interpret it, and returns it in compact form (manifest.json is
	// indented).
	Meta json.RawMessage `json:"meta,omitempty"`
}

// validate checks a decoded manifest, maxSize bounding the database.
func (m *Manifest) validate(maxSize int64) error {
	if m.Format != Format {
		return fmt.Errorf("%w: %q, want %q", ErrFormat, m.Format, Format)
	}
	if err := checkFile(m.File); err != nil {
		return err
	}
	if m.Size < 0 {
		return fmt.Errorf("%w: manifest: negative size", ErrCorrupt)
	}
	if m.Size > maxSize {
		return fmt.Errorf("%w: database of %d bytes, limit %d", ErrTooLarge, m.Size, maxSize)
	}
	if !isDigest(m.SHA256) {
		return fmt.Errorf("%w: manifest: sha256 %q is not 64 lowercase hex digits", ErrCorrupt, m.SHA256)
	}
	if m.BuiltAt.IsZero() {
		return fmt.Errorf("%w: manifest: no builtAt", ErrCorrupt)
	}
	return nil
}

// checkFile accepts a plain file name for the database member: letters,
// digits, '.', '_' and '-', not starting with '.', at most 128 bytes.
func checkFile(name string) error {
	if err := checkPath(name); err != nil {
		return err
	}
	if name == "" || len(name) > 128 || name == ManifestName || name == SignatureName {
		return fmt.Errorf("%w: database name %q", ErrMember, name)
	}
	for i, c := range []byte(name) {
		alnum := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
		if !alnum && (i == 0 || c != '.' && c != '_' && c != '-') {
			return fmt.Errorf("%w: database name %q: only letters, digits, '.', '_' and '-', starting with a letter or digit", ErrMember, name)
		}
	}
	return nil
}

// checkPath rejects a name that could address a file outside the directory
// it is meant for: absolute, with a ".." element, a backslash, a drive
// letter or a NUL.
func checkPath(name string) error {
	bad := strings.HasPrefix(name, "/") || strings.ContainsAny(name, "\\\x00") ||
		len(name) >= 2 && name[1] == ':'
	for _, el := range strings.Split(name, "/") {
		bad = bad || el == ".."
	}
	if bad || path.IsAbs(name) {
		return fmt.Errorf("%w: %q", ErrPath, name)
	}
	return nil
}

func isDigest(s string) bool {
	if len(s) != 64 || strings.ToLower(s) != s {
		return false
	}
	_, err := hex.DecodeString(s)
	return err == nil
}
