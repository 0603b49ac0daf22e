package sbom

import (
	"crypto/sha1" // RFC 9562 defines name-based (version 5) UUIDs on SHA-1.
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/vigil-sec/vigil/internal/inventory"
)

// contentHash returns a hex SHA-256 over everything a document is made of
// except its timestamp, so that the same result written by the same tool in
// the same format always gets the same serial number or namespace.
func contentHash(f Format, spec string, r *inventory.Result, opts EncodeOptions) (string, error) {
	b, err := json.Marshal(struct {
		Format      Format            `json:"format"`
		Spec        string            `json:"spec"`
		Tool        string            `json:"tool"`
		ToolVersion string            `json:"toolVersion"`
		Result      *inventory.Result `json:"result"`
	}{f, spec, opts.tool(), opts.ToolVersion, r})
	if err != nil {
		return "", fmt.Errorf("hash result: %w", err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), nil
}

// serialNamespace is the RFC 9562 namespace of Vigil's CycloneDX serial
// numbers (a random UUID chosen once).
var serialNamespace = [16]byte{0x6b, 0x1f, 0x3c, 0x52, 0x0e, 0x4d, 0x4f, 0x0a, 0x9b, 0x27, 0x5d, 0x86, 0xc1, 0x3e, 0x70, 0x94}

// nameUUID returns the version 5 (name-based, SHA-1) UUID of name in
// serialNamespace, formatted as a URN.
func nameUUID(name string) string {
	h := sha1.New()
	h.Write(serialNamespace[:])
	h.Write([]byte(name))
	u := h.Sum(nil)[:16]
	u[6] = u[6]&0x0f | 0x50 // version 5
	u[8] = u[8]&0x3f | 0x80 // RFC 9562 variant
	x := hex.EncodeToString(u)
	return "urn:uuid:" + x[0:8] + "-" + x[8:12] + "-" + x[12:16] + "-" + x[16:20] + "-" + x[20:32]
}

// idChars keeps the characters allowed in SPDX identifiers and CycloneDX
// refs we make (letters, digits, '.', '-') and maps others to '-'.
func idChars(s string) string {
	b := []byte(s)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-') {
			b[i] = '-'
		}
	}
	return string(b)
}

// uniqueIDs hands out identifiers, suffixing "-2", "-3"... to any that was
// already taken. It remembers the last suffix per identifier, so that many
// duplicates (a hostile document decoded and written again) cost linear
// time.
type uniqueIDs struct {
	taken map[string]bool
	next  map[string]int
}

func newUniqueIDs(reserved ...string) *uniqueIDs {
	u := &uniqueIDs{taken: map[string]bool{}, next: map[string]int{}}
	for _, id := range reserved {
		u.taken[id] = true
	}
	return u
}

func (u *uniqueIDs) take(id string) string {
	if !u.taken[id] {
		u.taken[id] = true
		return id
	}
	for n := max(u.next[id], 2); ; n++ {
		if c := id + "-" + strconv.Itoa(n); !u.taken[c] {
			u.taken[c] = true
			u.next[id] = n + 1
			return c
		}
	}
}

// sortedCopy returns a copy of r with packages and unknowns in
// Result.Sort's order, leaving r untouched.
func sortedCopy(r *inventory.Result) *inventory.Result {
	c := *r
	c.Packages = slices.Clone(r.Packages)
	c.Unknowns = slices.Clone(r.Unknowns)
	c.Sort()
	return &c
}

// safeName makes s usable as a path segment of a URI.
func safeName(s string) string {
	s = strings.Trim(idChars(s), "-")
	if len(s) > 64 {
		s = s[:64]
	}
	if s == "" {
		return "sbom"
	}
	return s
}
