package vuln

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/vigil-sec/vigil/internal/inventory"
)

// maxIgnoreFile bounds the ignore file read.
const maxIgnoreFile = 4 << 20

// ErrIgnoreFile is wrapped by every error about an ignore file's content.
var ErrIgnoreFile = errors.New("invalid ignore file")

// IgnoreRule is one entry of an ignore file.
type IgnoreRule struct {
	// ID is the vulnerability (CVE, GHSA, GO-, DSA-, ...); it matches a
	// match whose ID, alias or merged advisory has it.
	ID string `yaml:"id"`
	// Package, when set, limits the rule to packages of that name (the
	// binary package or, for distributions, its source package).
	Package string `yaml:"package,omitempty"`
	// Reason is required: an exception nobody can explain is a finding.
	Reason string `yaml:"reason"`
	// Expires, when set (YYYY-MM-DD), ends the rule: it applies through
	// that day (UTC) and not after.
	Expires string `yaml:"expires,omitempty"`

	expires time.Time // the instant the rule stops applying
}

// IgnoreFile is a parsed ignore file; it is a Suppressor.
type IgnoreFile struct {
	Rules []IgnoreRule `yaml:"ignore"`
}

var _ Suppressor = (*IgnoreFile)(nil)

// LoadIgnoreFile reads an ignore file:
//
//	ignore:
//	  - id: CVE-2023-1234
//	    package: openssl        # optional
//	    reason: not reachable: we never parse untrusted certificates
//	    expires: 2026-12-31     # optional, YYYY-MM-DD, inclusive
//
// A rule without id or reason, an unknown key or a bad date is an error
// wrapping ErrIgnoreFile.
func LoadIgnoreFile(path string) (Suppressor, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("ignore file: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxIgnoreFile+1))
	if err != nil {
		return nil, fmt.Errorf("read ignore file %s: %w", path, err)
	}
	if len(b) > maxIgnoreFile {
		return nil, fmt.Errorf("%w %s: larger than %d bytes", ErrIgnoreFile, path, maxIgnoreFile)
	}
	ig, err := ParseIgnoreFile(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return ig, nil
}

// ParseIgnoreFile parses the content of an ignore file (see LoadIgnoreFile).
func ParseIgnoreFile(b []byte) (*IgnoreFile, error) {
	var ig IgnoreFile
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&ig); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%w: %w", ErrIgnoreFile, err)
	}
	for i := range ig.Rules {
		r := &ig.Rules[i]
		r.ID = strings.TrimSpace(r.ID)
		r.Reason = strings.TrimSpace(r.Reason)
		switch {
		case r.ID == "":
			return nil, fmt.Errorf("%w: rule %d: no id", ErrIgnoreFile, i+1)
		case r.Reason == "":
			return nil, fmt.Errorf("%w: rule %d (%s): no reason", ErrIgnoreFile, i+1, r.ID)
		}
		if r.Expires != "" {
			d, err := time.Parse(time.DateOnly, strings.TrimSpace(r.Expires))
			if err != nil {
				return nil, fmt.Errorf("%w: rule %d (%s): expires %q is not YYYY-MM-DD", ErrIgnoreFile, i+1, r.ID, r.Expires)
			}
			r.expires = d.AddDate(0, 0, 1)
		}
	}
	return &ig, nil
}

// Suppress returns the rule naming m (and p, when the rule names a
// package) that lasts longest, expired or not: the matcher decides, by
// Expires, whether it still applies.
func (ig *IgnoreFile) Suppress(m *Match, p *inventory.Package) *Suppression {
	var best *IgnoreRule
	for i := range ig.Rules {
		r := &ig.Rules[i]
		if !r.names(m) || (r.Package != "" && !samePackage(r.Package, p)) {
			continue
		}
		// Of several rules, the one lasting longest (never expiring first).
		if best == nil || (!best.expires.IsZero() && (r.expires.IsZero() || r.expires.After(best.expires))) {
			best = r
		}
	}
	if best == nil {
		return nil
	}
	return &Suppression{By: "ignore-file", Reason: best.Reason, Rule: best.ID, Expires: best.expires}
}

func (r *IgnoreRule) names(m *Match) bool {
	eq := func(s string) bool { return strings.EqualFold(s, r.ID) }
	return eq(m.ID) || slices.ContainsFunc(m.Aliases, eq) || slices.ContainsFunc(m.Advisories, eq)
}

func samePackage(name string, p *inventory.Package) bool {
	if p == nil {
		return false
	}
	return name == p.Name || (p.Source != nil && name == p.Source.Name)
}
