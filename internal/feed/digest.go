package feed

import (
	"bufio"
	"bytes"
	"fmt"
	"strings"
)

// maxSidecarBytes bounds a digest sidecar download.
const maxSidecarBytes = 64 << 10

// parseDigest finds the SHA-256 of file in the text of a digest sidecar:
// bare hex, sha256sum lines ("<hex>  <name>" or "<hex> *<name>") or BSD
// lines ("SHA256 (<name>) = <hex>"). With several lines the one naming file
// is used; a single line is used whatever it names.
func parseDigest(b []byte, file string) (string, error) {
	var (
		found []string // digests of every line
		named string   // digest of the line naming file
	)
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, maxSidecarBytes)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) == 0 || strings.HasPrefix(fields[0], "#") {
			continue
		}
		var sum, name string
		switch {
		case len(fields) == 4 && strings.EqualFold(fields[0], "SHA256") && fields[2] == "=":
			sum, name = fields[3], strings.TrimSuffix(strings.TrimPrefix(fields[1], "("), ")")
		case len(fields) == 1:
			sum = fields[0]
		default:
			sum, name = fields[0], strings.TrimPrefix(fields[1], "*")
		}
		sum = strings.ToLower(sum)
		if !isHexDigest(sum) {
			return "", fmt.Errorf("%w: sidecar line %q is not a SHA-256 digest", ErrDigest, truncate(sc.Text(), 80))
		}
		found = append(found, sum)
		if name != "" && (name == file || strings.HasSuffix(name, "/"+file)) && named == "" {
			named = sum
		}
	}
	if err := sc.Err(); err != nil {
		return "", fmt.Errorf("%w: sidecar: %w", ErrDigest, err)
	}
	switch {
	case named != "":
		return named, nil
	case len(found) == 1:
		return found[0], nil
	case len(found) == 0:
		return "", fmt.Errorf("%w: sidecar holds no digest", ErrDigest)
	default:
		return "", fmt.Errorf("%w: sidecar has %d digests and none for %q", ErrDigest, len(found), file)
	}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
