package feed

import (
	"encoding/hex"
	"fmt"
	"net/url"
	"strings"
)

// Kinds of source, naming the format package vulndb parses the file as.
const (
	KindOSV    = "osv"    // an OSV export: all.zip of one ecosystem
	KindDebian = "debian" // a Debian security tracker list (data/DSA/list, data/DLA/list)
	KindAlpine = "alpine" // an Alpine secdb file (JSON or YAML)
	KindEPSS   = "epss"   // FIRST EPSS scores, CSV, usually gzip-compressed
	KindKEV    = "kev"    // CISA Known Exploited Vulnerabilities, JSON
)

// Source is one file to download.
type Source struct {
	// Name is the file's name in the cache directory and the source's
	// identity: letters, digits, '.', '_' and '-', starting with a letter
	// or digit, at most 128 bytes, not ending in ".part", ".part.json" or
	// ".meta.json" (Fetch's own files).
	Name string
	// Kind is one of the Kind constants.
	Kind string
	// URL is an http or https URL.
	URL string
	// SHA256 is the expected digest of the file in hex, if known. It takes
	// precedence over DigestURL.
	SHA256 string
	// DigestURL is the URL of a sidecar holding the file's SHA-256, as
	// sha256sum writes it ("<hex>  <name>", one or more lines; the line
	// naming the file's URL base name is used) or as bare hex.
	DigestURL string
}

// Validate reports whether s can be fetched.
func (s Source) Validate() error {
	if err := validName(s.Name); err != nil {
		return fmt.Errorf("%w: %w", ErrSource, err)
	}
	switch s.Kind {
	case KindOSV, KindDebian, KindAlpine, KindEPSS, KindKEV:
	default:
		return fmt.Errorf("%w: %s: unknown kind %q", ErrSource, s.Name, s.Kind)
	}
	if err := validURL(s.URL); err != nil {
		return fmt.Errorf("%w: %s: url: %w", ErrSource, s.Name, err)
	}
	if s.DigestURL != "" {
		if err := validURL(s.DigestURL); err != nil {
			return fmt.Errorf("%w: %s: digest url: %w", ErrSource, s.Name, err)
		}
	}
	if s.SHA256 != "" && !isHexDigest(s.SHA256) {
		return fmt.Errorf("%w: %s: sha256 is not 64 hex digits", ErrSource, s.Name)
	}
	return nil
}

// reservedSuffixes are the endings of the files Fetch keeps beside a
// source's file; no source may be named with them.
var reservedSuffixes = []string{".part", ".part.json", ".meta.json"}

func validName(name string) error {
	if name == "" || len(name) > 128 {
		return fmt.Errorf("name %q: empty or longer than 128 bytes", name)
	}
	for i, c := range []byte(name) {
		alnum := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
		if !alnum && (i == 0 || c != '.' && c != '_' && c != '-') {
			return fmt.Errorf("name %q: only letters, digits, '.', '_' and '-', starting with a letter or digit", name)
		}
	}
	for _, suf := range reservedSuffixes {
		if strings.HasSuffix(name, suf) {
			return fmt.Errorf("name %q: ends in reserved %q", name, suf)
		}
	}
	return nil
}

func validURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return err
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return fmt.Errorf("%q is not an absolute http(s) URL", u.Redacted())
	}
	return nil
}

func isHexDigest(s string) bool {
	if len(s) != 64 {
		return false
	}
	_, err := hex.DecodeString(s)
	return err == nil
}

// redact returns raw with any password in it replaced, for error messages.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "<unparsable URL>"
	}
	return u.Redacted()
}
