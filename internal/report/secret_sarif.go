package report

import (
	"cmp"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/vigil-sec/vigil/internal/sarif"
	"github.com/vigil-sec/vigil/internal/secret"
)

// SecretFingerprintKey is the SARIF partial fingerprint holding a secret
// finding's fingerprint: the same rule and secret have the same one
// wherever they appear.
const SecretFingerprintKey = "vigil/secret/v1"

// WriteSecretSARIF writes r as a SARIF 2.1.0 log (see SecretSARIF).
func WriteSecretSARIF(w io.Writer, r *SecretReport, tool sarif.Tool) error {
	rules, results := SecretSARIF(r)
	return sarif.Write(w, tool, rules, results)
}

// SecretSARIF turns r into SARIF rules and results: one rule per rule ID
// that found something, one result per finding. A suppressed finding is a
// result with a suppression: in source for an inline vigil:ignore, external
// for a baseline. Messages show only the redacted secret.
func SecretSARIF(r *SecretReport) ([]sarif.Rule, []sarif.Result) {
	fs := sortedFindings(r.Findings)
	// A rule is graded by the highest severity among its findings, and
	// described by the first of them (findings are highest severity first).
	byRule := map[string]*secret.Finding{}
	var ids []string
	for i := range fs {
		if _, ok := byRule[fs[i].RuleID]; !ok {
			byRule[fs[i].RuleID] = &fs[i]
			ids = append(ids, fs[i].RuleID)
		}
	}
	slices.Sort(ids)
	rules := make([]sarif.Rule, 0, len(ids))
	for _, id := range ids {
		rules = append(rules, secretRule(byRule[id]))
	}

	results := make([]sarif.Result, 0, len(fs))
	for _, f := range fs {
		results = append(results, secretResult(&f))
	}
	return rules, results
}

func secretRule(f *secret.Finding) sarif.Rule {
	desc := f.Description
	if desc == "" {
		desc = "Secret found by rule " + f.RuleID
	}
	props := map[string]any{
		"tags": []string{"security", "secret", f.Severity.String()},
	}
	if score, ok := sarif.SeverityScore(f.Severity); ok {
		props[sarif.SecuritySeverityProperty] = sarif.SecuritySeverity(score)
	}
	return sarif.Rule{
		ID:               f.RuleID,
		ShortDescription: desc,
		FullDescription:  desc + ". Rotate the credential, then remove it from the source (and its history).",
		DefaultLevel:     sarif.LevelFor(f.Severity),
		Properties:       props,
	}
}

func secretResult(f *secret.Finding) sarif.Result {
	msg := fmt.Sprintf("%s: %s", cmp.Or(f.Description, f.RuleID), f.Redacted)
	switch {
	case f.Commit != "":
		msg += " in commit " + shortCommit(f.Commit)
	case f.Layer != "":
		msg += fmt.Sprintf(" in image layer %d", f.LayerIndex)
	}
	msg += "."
	props := map[string]any{
		"severity": f.Severity.String(),
		"redacted": f.Redacted,
	}
	if f.Column > 0 {
		props["column"] = f.Column
	}
	if f.Paired != "" {
		props["paired"] = f.Paired
	}
	if f.Commit != "" {
		props["commit"] = f.Commit
		if f.Author != "" {
			props["author"] = f.Author
		}
		if f.Date != "" {
			props["date"] = f.Date
		}
	}
	if f.Layer != "" {
		props["layer"] = f.Layer
		props["layerIndex"] = f.LayerIndex
		if f.CreatedBy != "" {
			props["createdBy"] = f.CreatedBy
		}
	}
	res := sarif.Result{
		RuleID:       f.RuleID,
		Level:        sarif.LevelFor(f.Severity),
		Message:      msg,
		Locations:    []sarif.Location{{URI: strings.TrimPrefix(f.Path, "/"), StartLine: f.Line}},
		Fingerprints: map[string]string{SecretFingerprintKey: f.Fingerprint},
		Properties:   props,
	}
	if f.Suppressed != "" {
		kind := sarif.KindExternal
		if strings.Contains(f.Suppressed, "vigil:ignore") || strings.Contains(strings.ToLower(f.Suppressed), "inline") {
			kind = sarif.KindInSource
		}
		res.Suppressions = []sarif.Suppression{{Kind: kind, Status: sarif.StatusAccepted, Justification: f.Suppressed}}
	}
	return res
}
