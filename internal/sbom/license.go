package sbom

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"

	"github.com/github/go-spdx/v2/spdxexp"
)

// maxLicenseLen bounds the license strings we try to parse as SPDX
// expressions; longer ones (whole license texts, sometimes) are kept as
// text.
const maxLicenseLen = 512

// spdxExpression returns s normalized as a valid SPDX license expression
// whose identifiers are all on the SPDX license list, and whether it is one.
// License references (LicenseRef-, DocumentRef-) are not accepted: they
// mean nothing outside the document that defines them.
func spdxExpression(s string) (string, bool) {
	if s == "" || len(s) > maxLicenseLen || strings.Contains(s, "LicenseRef-") || strings.Contains(s, "DocumentRef-") {
		return "", false
	}
	norm, invalid := spdxexp.ValidateAndNormalizeLicensesWithOptions([]string{s}, spdxexp.ValidateLicensesOptions{
		FailAllLicenseRefs:  true,
		FailAllDocumentRefs: true,
	})
	if len(invalid) > 0 || len(norm) != 1 {
		return "", false
	}
	return norm[0], true
}

// licenseCache remembers spdxExpression's answers within one encoding:
// packages repeat the same few licenses, and validation is not cheap.
type licenseCache map[string]licenseAnswer

type licenseAnswer struct {
	norm string
	ok   bool
}

func (c licenseCache) expression(s string) (string, bool) {
	if a, ok := c[s]; ok {
		return a.norm, a.ok
	}
	norm, ok := spdxExpression(s)
	c[s] = licenseAnswer{norm, ok}
	return norm, ok
}

// isID reports whether s is exactly one SPDX license identifier, as written
// on the list.
func (c licenseCache) isID(s string) bool {
	if strings.ContainsAny(s, " ()") {
		return false
	}
	norm, ok := c.expression(s)
	return ok && norm == s
}

// licenseRef returns the SPDX LicenseRef- identifier Vigil uses for license
// text that is not a valid SPDX expression: a readable part of the text and
// a hash of all of it, so that different texts never share an identifier.
func licenseRef(text string) string {
	var b strings.Builder
	b.WriteString("LicenseRef-")
	n := 0
	dash := false
	for _, r := range text {
		if n >= 40 {
			break
		}
		if r < 128 && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.') {
			b.WriteRune(r)
			n++
			dash = false
		} else if !dash && n > 0 {
			b.WriteByte('-')
			n++
			dash = true
		}
	}
	if !dash && n > 0 {
		b.WriteByte('-')
	}
	sum := sha256.Sum256([]byte(text))
	b.WriteString(hex.EncodeToString(sum[:4]))
	return b.String()
}
