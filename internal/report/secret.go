package report

import (
	"cmp"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/vigil-sec/vigil/internal/secret"
)

// SecretSchemaVersion names the secrets JSON document's schema
// (docs/formats/secrets-json.md). It changes only when a field is removed
// or changes meaning.
const SecretSchemaVersion = "vigil.secrets/v1"

// SecretReport is what a secret scan found, ready to render. Findings never
// hold a secret in clear, so nothing here does either.
type SecretReport struct {
	Target SecretTarget
	// Findings include suppressed ones (with their reason).
	Findings []secret.Finding
	// Problems are the parts of the target that could not be read.
	Problems []secret.Problem
	Stats    SecretStats
}

// SecretTarget says what was scanned.
type SecretTarget struct {
	// Kind is "directory", "git" or "image".
	Kind string `json:"kind"`
	// Name is the target as given on the command line.
	Name string `json:"name"`
	// Digest is an image's config digest.
	Digest string `json:"digest,omitempty"`
}

// SecretStats count what was read.
type SecretStats struct {
	Files   int   `json:"files"`
	Bytes   int64 `json:"bytes"`
	Blobs   int   `json:"blobs,omitempty"`
	Commits int   `json:"commits,omitempty"`
}

// Complete reports whether every part of the target was read.
func (r *SecretReport) Complete() bool { return len(r.Problems) == 0 }

// sortedFindings orders findings by severity (highest first), then where
// they are, then rule, so that output does not depend on scan order.
func sortedFindings(fs []secret.Finding) []secret.Finding {
	out := slices.Clone(fs)
	slices.SortStableFunc(out, func(a, b secret.Finding) int {
		return cmp.Or(
			cmp.Compare(b.Severity, a.Severity),
			strings.Compare(a.Path, b.Path),
			cmp.Compare(a.LayerIndex, b.LayerIndex),
			strings.Compare(a.Layer, b.Layer),
			strings.Compare(a.Date, b.Date),
			strings.Compare(a.Commit, b.Commit),
			cmp.Compare(a.Line, b.Line),
			cmp.Compare(a.Column, b.Column),
			strings.Compare(a.RuleID, b.RuleID),
			strings.Compare(a.Fingerprint, b.Fingerprint),
		)
	})
	return out
}

// SecretDocument is the JSON form of a SecretReport.
type SecretDocument struct {
	SchemaVersion string        `json:"schemaVersion"`
	Tool          Tool          `json:"tool"`
	GeneratedAt   time.Time     `json:"generatedAt"`
	Complete      bool          `json:"complete"`
	Target        SecretTarget  `json:"target"`
	Summary       SecretSummary `json:"summary"`
	// Findings are highest severity first, suppressed ones included.
	Findings []secret.Finding `json:"findings"`
	Problems []secret.Problem `json:"problems,omitempty"`
}

// SecretSummary counts findings and what was read.
type SecretSummary struct {
	SecretStats
	// Findings counts the findings that are not suppressed.
	Findings int `json:"findings"`
	// Suppressed counts findings an inline ignore or the baseline suppressed.
	Suppressed int `json:"suppressed"`
	// BySeverity counts unsuppressed findings; every severity is present.
	BySeverity map[string]int `json:"bySeverity"`
}

// SummarizeSecrets counts r's findings.
func SummarizeSecrets(r *SecretReport) SecretSummary {
	s := SecretSummary{SecretStats: r.Stats, BySeverity: map[string]int{}}
	for _, sev := range severities {
		s.BySeverity[sev.String()] = 0
	}
	for _, f := range r.Findings {
		if f.Suppressed != "" {
			s.Suppressed++
			continue
		}
		s.Findings++
		s.BySeverity[f.Severity.String()]++
	}
	return s
}

// WriteSecretJSON writes r as a SecretDocument.
func WriteSecretJSON(w io.Writer, r *SecretReport, tool Tool, now time.Time) error {
	fs := sortedFindings(r.Findings)
	if fs == nil {
		fs = []secret.Finding{}
	}
	return encodeJSON(w, SecretDocument{
		SchemaVersion: SecretSchemaVersion,
		Tool:          tool,
		GeneratedAt:   now.UTC(),
		Complete:      r.Complete(),
		Target:        r.Target,
		Summary:       SummarizeSecrets(r),
		Findings:      fs,
		Problems:      r.Problems,
	})
}
