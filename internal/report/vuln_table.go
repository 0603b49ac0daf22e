package report

import (
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/vigil-sec/vigil/internal/vuln"
)

// WriteVulnTable writes rep for a person: the asset, then its
// vulnerabilities riskiest first, then the upgrades that fix most, then how
// many matches were suppressed and what could not be read.
func WriteVulnTable(w io.Writer, rep *vuln.Report) error {
	ew := &errWriter{w: w}
	r := resultOf(rep)
	writeHeader(ew, r)

	var shown []vuln.Match
	suppressed := map[string]int{}
	bySev := map[string]int{}
	for _, m := range sortedMatches(rep) {
		if m.Suppressed != nil {
			suppressed[m.Suppressed.By]++
			continue
		}
		shown = append(shown, m)
		bySev[m.Severity.String()]++
	}
	nSuppressed := len(rep.Matches) - len(shown)

	if len(shown) == 0 {
		ew.printf("Vulnerabilities: none")
	} else {
		var parts []string
		for _, s := range severities {
			if n := bySev[s.String()]; n > 0 {
				parts = append(parts, fmt.Sprintf("%s %d", s, n))
			}
		}
		ew.printf("Vulnerabilities: %d (%s)", len(shown), strings.Join(parts, ", "))
	}
	if nSuppressed > 0 {
		ew.printf("; %d suppressed", nSuppressed)
	}
	ew.printf("\n")

	if len(shown) > 0 {
		ew.printf("\n")
		tw := tabwriter.NewWriter(ew, 2, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "  ID\tSEVERITY\tPACKAGE\tINSTALLED\tFIXED IN\tRISK\tKEV\tEPSS")
		for _, m := range shown {
			fixed := fixedIn(&m)
			kev, epss := "", "-"
			if m.KEV != nil {
				kev = "yes"
			}
			if m.EPSS != nil {
				epss = strconv.FormatFloat(m.EPSS.Score*100, 'f', 1, 64) + "%"
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%.1f\t%s\t%s\n",
				m.ID, m.Severity, m.Package, m.Version, fixed, m.Risk.Score, kev, epss)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}

	var plans []fixPlan
	for _, p := range fixPlans(rep) {
		if p.Fixes > 0 {
			plans = append(plans, p)
		}
	}
	if len(plans) > 0 {
		ew.printf("\nFix first:\n")
		tw := tabwriter.NewWriter(ew, 2, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "  PACKAGE\tINSTALLED\tUPGRADE TO\tFIXES")
		for _, p := range plans {
			fixes := plural(p.Fixes, "vulnerability", "vulnerabilities")
			if p.Unfixed > 0 {
				fixes += fmt.Sprintf(" (%d more without a fix)", p.Unfixed)
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", p.Package, p.Version, p.FixVersion, fixes)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}

	if nSuppressed > 0 {
		by := make([]string, 0, len(suppressed))
		for k := range suppressed {
			by = append(by, k)
		}
		slices.Sort(by)
		parts := make([]string, len(by))
		for i, k := range by {
			parts[i] = fmt.Sprintf("%d by %s", suppressed[k], k)
		}
		ew.printf("\nSuppressed: %s not shown (%s); the JSON output says why.\n",
			plural(nSuppressed, "match", "matches"), strings.Join(parts, ", "))
	}
	var expired []string
	for _, m := range shown {
		if e := m.ExpiredSuppression; e != nil {
			line := fmt.Sprintf("  %s in %s %s: %s rule", m.ID, m.Package, m.Version, e.By)
			if !e.Expires.IsZero() {
				line += " expired " + e.Expires.UTC().Format(time.DateOnly)
			}
			if e.Reason != "" {
				line += " (" + e.Reason + ")"
			}
			expired = append(expired, line)
		}
	}
	if len(expired) > 0 {
		ew.printf("\nEXPIRED: these suppressions no longer apply; the matches count again:\n%s\n", strings.Join(expired, "\n"))
	}
	if len(rep.Skipped) > 0 {
		ew.printf("\nNOT CHECKED: these packages were not matched; they may have vulnerabilities not listed:\n")
		for _, sk := range rep.Skipped {
			ew.printf("  %s: %s (%s)\n", sk.Ecosystem, plural(sk.Packages, "package", "packages"), sk.Reason)
		}
	}
	writeIncomplete(ew, r, "packages and their vulnerabilities")
	return ew.err
}

// fixedIn says which version fixes m: the matcher's choice, else every
// fixed version the advisories give, else "-".
func fixedIn(m *vuln.Match) string {
	switch {
	case m.FixVersion != "":
		return m.FixVersion
	case len(m.Fixed) > 0:
		return strings.Join(m.Fixed, ", ")
	}
	return "-"
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}
