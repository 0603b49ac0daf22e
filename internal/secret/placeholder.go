package secret

import (
	"bytes"
	"path"
	"strings"
)

// Line limits: lines longer than maxLineLen are never scanned (generated
// data, not configuration), nor lines longer than maxMinifiedLineLen in
// minified assets and source maps.
const (
	maxLineLen         = 64 << 10
	maxMinifiedLineLen = 4 << 10
)

// longSecret is the length above which only unambiguous placeholder
// markers are looked for.
const longSecret = 128

// placeholderWords make a secret obviously fake when they occur anywhere in
// it, in any case.
var placeholderWords = []string{
	"example", "your", "changeme", "change_me", "placeholder", "dummy", "sample",
}

// placeholderWholes make a secret obviously fake when they are all of it, in
// any case.
var placeholderWholes = map[string]bool{
	"test": true, "testing": true, "password": true, "passwd": true,
	"secret": true, "token": true, "null": true, "nil": true, "none": true,
	"undefined": true, "redacted": true, "true": true, "false": true,
}

// isPlaceholder reports whether secret is obviously not a real credential:
// documentation values, template variables, format verbs, masks, runs of
// one character and keyboard sequences, lock-file integrity hashes.
func isPlaceholder(secret string) bool {
	if len(secret) == 0 {
		return true
	}
	lower := lowerString(secret)
	if placeholderWholes[lower] {
		return true
	}
	if strings.Contains(lower, "example") || strings.Contains(lower, "placeholder") ||
		strings.Contains(secret, "${") || strings.Contains(secret, "{{") {
		return true
	}
	if len(secret) > longSecret {
		// A key block: short accidental substrings ("your", "xxxx", a
		// run of six) are likely in kilobytes of base64, so only the
		// unambiguous markers above count.
		return false
	}
	for _, w := range placeholderWords {
		if strings.Contains(lower, w) {
			return true
		}
	}
	if strings.Contains(secret, "xxxx") || strings.Contains(secret, "XXXX") ||
		strings.Contains(secret, "%s") || strings.Contains(secret, "%v") {
		return true
	}
	if i := strings.IndexByte(secret, '<'); i >= 0 && strings.IndexByte(secret[i+1:], '>') >= 0 {
		return true
	}
	for _, p := range []string{"sha512-", "sha384-", "sha256-", "sha1-"} {
		if strings.HasPrefix(secret, p) {
			return true // a subresource-integrity string
		}
	}
	if len(secret) >= 3 && strings.Count(secret, secret[:1]) == len(secret) {
		return true
	}
	return hasSequence(secret)
}

// hasSequence reports whether s holds a run of six or more consecutive
// ascending or descending digits or letters ("123456", "abcdef", "FEDCBA"),
// or is itself such a run of four or more. In random base64 such a run of
// six occurs about once in a billion positions.
func hasSequence(s string) bool {
	up, down := 1, 1
	for i := 1; i < len(s); i++ {
		a, b := s[i-1], s[i]
		same := class(a) != 0 && class(a) == class(b)
		if same && b == a+1 {
			up++
		} else {
			up = 1
		}
		if same && b+1 == a {
			down++
		} else {
			down = 1
		}
		if up >= 6 || down >= 6 {
			return true
		}
	}
	return len(s) >= 4 && (up == len(s) || down == len(s))
}

func class(c byte) byte {
	switch {
	case c >= '0' && c <= '9':
		return 1
	case c >= 'a' && c <= 'z':
		return 2
	case c >= 'A' && c <= 'Z':
		return 3
	}
	return 0
}

// lineFilter decides which lines of one file are not scanned: over-long and
// minified lines, and the hash-carrying lines of lock files.
type lineFilter struct {
	maxLen int
	lock   func(line []byte) bool // nil unless a lock file
}

func newLineFilter(p string) lineFilter {
	if i := strings.LastIndexByte(p, '!'); i >= 0 {
		p = p[i+1:] // the archive member's own name
	}
	base := path.Base(strings.ReplaceAll(p, `\`, "/"))
	f := lineFilter{maxLen: maxLineLen}
	if strings.HasSuffix(base, ".min.js") || strings.HasSuffix(base, ".min.css") ||
		strings.HasSuffix(base, ".map") || strings.HasSuffix(base, ".min.mjs") {
		f.maxLen = maxMinifiedLineLen
	}
	switch base {
	case "go.sum", "go.work.sum":
		f.lock = func(l []byte) bool { return bytes.Contains(l, []byte(" h1:")) }
	case "package-lock.json", "npm-shrinkwrap.json":
		f.lock = containsAny(`"integrity":`, `"resolved":`)
	case "yarn.lock":
		f.lock = func(l []byte) bool {
			t := bytes.TrimLeft(l, " \t")
			return bytes.HasPrefix(t, []byte("integrity ")) || bytes.HasPrefix(t, []byte("resolved ")) ||
				bytes.HasPrefix(t, []byte("checksum: ")) || bytes.HasPrefix(t, []byte("resolution: "))
		}
	case "pnpm-lock.yaml":
		f.lock = containsAny("integrity:", "resolution:")
	case "Cargo.lock":
		f.lock = containsAny("checksum = ")
	case "poetry.lock", "Pipfile.lock", "uv.lock":
		f.lock = containsAny("sha256:")
	case "composer.lock":
		f.lock = containsAny(`"shasum":`, `"reference":`)
	}
	return f
}

func containsAny(subs ...string) func([]byte) bool {
	return func(l []byte) bool {
		for _, s := range subs {
			if bytes.Contains(l, []byte(s)) {
				return true
			}
		}
		return false
	}
}

// skip reports whether line (without its newline) is not scanned.
func (f lineFilter) skip(line []byte) bool {
	return len(line) > f.maxLen || (f.lock != nil && f.lock(line))
}

// isReference reports whether a generic rule's candidate is a locator, not a
// credential: a URL ("https://…/token"), a URN ("urn:ietf:params:oauth:…") or
// a path. Specific rules know their formats and never ask; a URL carrying a
// password is the business of the URI rules.
func isReference(secret string) bool {
	lower := strings.ToLower(secret)
	return strings.Contains(lower, "://") || strings.HasPrefix(lower, "urn:") ||
		strings.HasPrefix(secret, "/") || strings.HasPrefix(secret, "./")
}
