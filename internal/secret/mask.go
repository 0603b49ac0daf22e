package secret

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"strings"
	"unicode/utf8"
)

// redact shows the first characters of secret and its length in bytes:
// "LTAI5t…(24)". It shows at most six bytes and never more than a third of
// the secret, cut back to a whole UTF-8 character, so a short secret shows
// little or nothing ("…(5)").
func redact(secret string) string {
	n := min(6, len(secret)/3)
	for n > 0 && !utf8.RuneStart(secret[n]) {
		n--
	}
	return strings.ToValidUTF8(secret[:n], "?") + "…(" + strconv.Itoa(len(secret)) + ")"
}

// fingerprint identifies a secret found by a rule, wherever it is: the hex
// form of the first 16 bytes of SHA-256(ruleID + "\x00" + secret).
func fingerprint(ruleID, secret string) string {
	h := sha256.New()
	h.Write([]byte(ruleID))
	h.Write([]byte{0})
	h.Write([]byte(secret))
	return hex.EncodeToString(h.Sum(nil)[:16])
}
