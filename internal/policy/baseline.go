package policy

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
)

// Baseline is a set of accepted findings, recorded by fingerprint (rule,
// file, resource address and attribute path — no line numbers, so edits
// elsewhere in a file keep it valid). Scanning with a baseline reports only
// new findings as failing; the accepted ones are kept, marked.
type Baseline struct {
	Version  int             `json:"version"`
	Findings []BaselineEntry `json:"findings"`
}

// BaselineEntry is one accepted finding; the fields besides Fingerprint
// are there for the humans reviewing the file.
type BaselineEntry struct {
	Fingerprint string `json:"fingerprint"`
	RuleID      string `json:"ruleId"`
	File        string `json:"file"`
	Address     string `json:"address"`
}

const baselineVersion = 1

// maxBaseline bounds a baseline file.
const maxBaseline = 64 << 20

// NewBaseline records every finding of fs.
func NewBaseline(fs []Finding) *Baseline {
	b := &Baseline{Version: baselineVersion}
	seen := map[string]bool{}
	for _, f := range fs {
		if seen[f.Fingerprint] {
			continue
		}
		seen[f.Fingerprint] = true
		b.Findings = append(b.Findings, BaselineEntry{Fingerprint: f.Fingerprint, RuleID: f.RuleID, File: f.Location.File, Address: f.Address})
	}
	slices.SortFunc(b.Findings, func(a, b BaselineEntry) int {
		return cmpStrings(a.File, b.File, a.Address, b.Address, a.RuleID, b.RuleID, a.Fingerprint, b.Fingerprint)
	})
	return b
}

// ReadBaseline decodes a baseline file.
func ReadBaseline(r io.Reader) (*Baseline, error) {
	var b Baseline
	dec := json.NewDecoder(io.LimitReader(r, maxBaseline))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&b); err != nil {
		return nil, fmt.Errorf("read baseline: %w", err)
	}
	if b.Version != baselineVersion {
		return nil, fmt.Errorf("read baseline: version %d, want %d", b.Version, baselineVersion)
	}
	for i, e := range b.Findings {
		if e.Fingerprint == "" {
			return nil, fmt.Errorf("read baseline: entry %d has no fingerprint", i)
		}
	}
	return &b, nil
}

// Write encodes the baseline.
func (b *Baseline) Write(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(b); err != nil {
		return errors.Join(errors.New("write baseline"), err)
	}
	return nil
}

// Apply marks the findings the baseline accepts.
func (b *Baseline) Apply(fs []Finding) {
	set := make(map[string]bool, len(b.Findings))
	for _, e := range b.Findings {
		set[e.Fingerprint] = true
	}
	for i := range fs {
		if fs[i].Suppressed == "" && set[fs[i].Fingerprint] {
			fs[i].Suppressed, fs[i].SuppressedBy = "accepted in the baseline", "baseline"
		}
	}
}
