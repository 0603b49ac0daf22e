package hostinv

import (
	"strings"
)

// OS identifies the operating system distribution, from os-release(5).
type OS struct {
	ID              string   `json:"id,omitempty"`
	IDLike          []string `json:"idLike,omitempty"`
	Name            string   `json:"name,omitempty"`
	VersionID       string   `json:"versionId,omitempty"`
	VersionCodename string   `json:"versionCodename,omitempty"`
	PrettyName      string   `json:"prettyName,omitempty"`
}

// collectOS reads etc/os-release, or usr/lib/os-release when it is absent.
func (c *collector) collectOS() {
	for _, name := range []string{"etc/os-release", "usr/lib/os-release"} {
		data, ok := c.readFile("os", name)
		if !ok {
			continue
		}
		c.snap.OS = osFromRelease(parseOSRelease(data))
		return
	}
}

// osFromRelease picks the fields of OS from os-release variables.
func osFromRelease(v map[string]string) OS {
	return OS{
		ID:              v["ID"],
		IDLike:          splitList(v["ID_LIKE"], " "),
		Name:            v["NAME"],
		VersionID:       v["VERSION_ID"],
		VersionCodename: v["VERSION_CODENAME"],
		PrettyName:      v["PRETTY_NAME"],
	}
}

// maxOSReleaseVars bounds the variables kept from one os-release file.
const maxOSReleaseVars = 256

// parseOSRelease parses the shell-like KEY=value assignments of an
// os-release file. Lines that are not assignments are ignored.
func parseOSRelease(data []byte) map[string]string {
	vars := map[string]string{}
	for line := range strings.Lines(string(data)) {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' {
			continue
		}
		key, val, ok := strings.Cut(line, "=")
		if !ok || !isEnvName(key) {
			continue
		}
		if _, dup := vars[key]; !dup && len(vars) >= maxOSReleaseVars {
			continue
		}
		vars[key] = unquoteShell(val)
	}
	return vars
}

// isEnvName reports whether s is a shell variable name.
func isEnvName(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		switch {
		case r == '_', 'A' <= r && r <= 'Z', 'a' <= r && r <= 'z':
		case '0' <= r && r <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}

// unquoteShell undoes the quoting os-release allows: single quotes taken
// literally, double quotes with backslash escapes, and bare words with
// backslash escapes. Unterminated quotes run to the end.
func unquoteShell(s string) string {
	var b strings.Builder
	quote := byte(0)
	for i := 0; i < len(s); i++ {
		ch := s[i]
		switch {
		case quote == '\'':
			if ch == '\'' {
				quote = 0
			} else {
				b.WriteByte(ch)
			}
		case ch == '\\' && i+1 < len(s) && (quote == 0 || strings.IndexByte("$\"\\`", s[i+1]) >= 0):
			i++
			b.WriteByte(s[i])
		case quote == '"':
			if ch == '"' {
				quote = 0
			} else {
				b.WriteByte(ch)
			}
		case ch == '"' || ch == '\'':
			quote = ch
		default:
			b.WriteByte(ch)
		}
	}
	return b.String()
}
