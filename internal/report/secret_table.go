package report

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/vigil-sec/vigil/internal/secret"
)

// WriteSecretTable writes r for a person: the target, the unsuppressed
// findings highest severity first (redacted), how many were suppressed, and
// what could not be read.
func WriteSecretTable(w io.Writer, r *SecretReport) error {
	ew := &errWriter{w: w}
	t := r.Target
	ew.printf("Target:   %s %s\n", t.Kind, t.Name)
	if t.Digest != "" {
		ew.printf("Digest:   %s\n", t.Digest)
	}
	ew.printf("Scanned:  %s\n", scannedText(r.Stats))

	sum := SummarizeSecrets(r)
	if sum.Findings == 0 {
		ew.printf("Secrets:  none\n")
	} else {
		var parts []string
		for _, s := range severities {
			if n := sum.BySeverity[s.String()]; n > 0 {
				parts = append(parts, fmt.Sprintf("%s %d", s, n))
			}
		}
		ew.printf("Secrets:  %d (%s)\n\n", sum.Findings, strings.Join(parts, ", "))
		tw := tabwriter.NewWriter(ew, 2, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "  RULE\tSEVERITY\tLOCATION\tREDACTED\tFINGERPRINT")
		for _, f := range sortedFindings(r.Findings) {
			if f.Suppressed != "" {
				continue
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\n", f.RuleID, f.Severity, secretLocation(&f), f.Redacted, shortDigest(f.Fingerprint))
		}
		tw.Flush()
	}
	if sum.Suppressed > 0 {
		ew.printf("\n%s not shown (inline vigil:ignore or baseline); --format json lists them.\n",
			plural(sum.Suppressed, "suppressed finding", "suppressed findings"))
	}
	if len(r.Problems) > 0 {
		ew.printf("\nINCOMPLETE: %d part(s) of the target could not be read; secrets there are not listed:\n", len(r.Problems))
		for _, p := range r.Problems {
			ew.printf("  %s: %s\n", p.Path, p.Err)
		}
	}
	return ew.err
}

func scannedText(s SecretStats) string {
	out := fmt.Sprintf("%s, %d bytes", plural(s.Files, "file", "files"), s.Bytes)
	if s.Commits > 0 {
		out += fmt.Sprintf(", %s", plural(s.Commits, "commit", "commits"))
	}
	if s.Blobs > 0 {
		out += fmt.Sprintf(", %s", plural(s.Blobs, "blob", "blobs"))
	}
	return out
}

// secretLocation is path:line, then the commit or layer it is in.
func secretLocation(f *secret.Finding) string {
	out := f.Path
	if f.Line > 0 {
		out += fmt.Sprintf(":%d", f.Line)
	}
	switch {
	case f.Commit != "":
		out += " (commit " + shortCommit(f.Commit) + ")"
	case f.Layer != "":
		out += fmt.Sprintf(" (layer %d)", f.LayerIndex)
	}
	return out
}

func shortCommit(c string) string {
	if len(c) > 7 {
		return c[:7]
	}
	return c
}
