package secret

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
)

// ErrBadBaseline is wrapped by LoadBaseline's errors about the content.
var ErrBadBaseline = errors.New("secret: bad baseline")

// baselineVersion is the only format version LoadBaseline reads.
const baselineVersion = 1

// maxBaselineSize bounds the bytes LoadBaseline reads.
const maxBaselineSize = 32 << 20

// Baseline is a set of accepted findings, identified by fingerprint. A
// fingerprint depends only on the rule and the secret, so an entry keeps
// matching when the file moves or the secret is copied elsewhere; the path
// is recorded for people reading the file.
//
// Format (JSON):
//
//	{"version": 1, "fingerprints": [
//	  {"fingerprint": "<32 hex>", "ruleId": "…", "path": "…", "reason": "…"}]}
type Baseline struct {
	entries map[string]BaselineEntry
}

// BaselineEntry is one accepted finding.
type BaselineEntry struct {
	Fingerprint string `json:"fingerprint"`
	RuleID      string `json:"ruleId,omitempty"`
	Path        string `json:"path,omitempty"`
	Reason      string `json:"reason,omitempty"`
}

type baselineFile struct {
	Version      int             `json:"version"`
	Fingerprints []BaselineEntry `json:"fingerprints"`
}

// LoadBaseline reads a baseline of at most 32 MiB.
func LoadBaseline(r io.Reader) (*Baseline, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxBaselineSize+1))
	if err != nil {
		return nil, fmt.Errorf("read baseline: %w", err)
	}
	if len(data) > maxBaselineSize {
		return nil, fmt.Errorf("baseline larger than %d bytes: %w", maxBaselineSize, ErrBadBaseline)
	}
	var f baselineFile
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("parse baseline: %w: %w", ErrBadBaseline, err)
	}
	if f.Version != baselineVersion {
		return nil, fmt.Errorf("baseline version %d, want %d: %w", f.Version, baselineVersion, ErrBadBaseline)
	}
	b := &Baseline{entries: make(map[string]BaselineEntry, len(f.Fingerprints))}
	for i, e := range f.Fingerprints {
		fp := strings.ToLower(e.Fingerprint)
		if len(fp) != 32 {
			return nil, fmt.Errorf("baseline entry %d: fingerprint %q is not 32 hex digits: %w", i, e.Fingerprint, ErrBadBaseline)
		}
		if _, err := hex.DecodeString(fp); err != nil {
			return nil, fmt.Errorf("baseline entry %d: fingerprint %q is not 32 hex digits: %w", i, e.Fingerprint, ErrBadBaseline)
		}
		e.Fingerprint = fp
		b.entries[fp] = e
	}
	return b, nil
}

// Len returns the number of entries.
func (b *Baseline) Len() int { return len(b.entries) }

// Apply marks the findings whose fingerprint the baseline holds with
// Suppressed = "baseline", unless an inline comment suppressed them already.
func (b *Baseline) Apply(findings []Finding) {
	if b == nil {
		return
	}
	for i := range findings {
		f := &findings[i]
		if f.Suppressed != "" {
			continue
		}
		if _, ok := b.entries[f.Fingerprint]; ok {
			f.Suppressed = "baseline"
		}
	}
}

// WriteBaseline writes a baseline accepting every finding that an inline
// comment does not already suppress, one entry per fingerprint (the first
// path seen), sorted by fingerprint.
func WriteBaseline(w io.Writer, findings []Finding) error {
	f := baselineFile{Version: baselineVersion, Fingerprints: []BaselineEntry{}}
	seen := map[string]bool{}
	for _, fd := range findings {
		if strings.HasPrefix(fd.Suppressed, "inline:") || seen[fd.Fingerprint] {
			continue
		}
		seen[fd.Fingerprint] = true
		f.Fingerprints = append(f.Fingerprints, BaselineEntry{
			Fingerprint: fd.Fingerprint, RuleID: fd.RuleID, Path: fd.Path,
		})
	}
	slices.SortFunc(f.Fingerprints, func(a, b BaselineEntry) int { return strings.Compare(a.Fingerprint, b.Fingerprint) })
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(f); err != nil {
		return fmt.Errorf("write baseline: %w", err)
	}
	return nil
}
