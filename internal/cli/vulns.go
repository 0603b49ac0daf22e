package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/vigil-sec/vigil/internal/finding"
	"github.com/vigil-sec/vigil/internal/inventory"
	"github.com/vigil-sec/vigil/internal/report"
	"github.com/vigil-sec/vigil/internal/sarif"
	"github.com/vigil-sec/vigil/internal/sbom"
	"github.com/vigil-sec/vigil/internal/scan"
	"github.com/vigil-sec/vigil/internal/vex"
	"github.com/vigil-sec/vigil/internal/vuln"
	"github.com/vigil-sec/vigil/internal/vulndb"
)

// ErrGate means the scan found vulnerabilities at or above --fail-on.
var ErrGate = errors.New("vulnerabilities at or above the --fail-on severity")

// vulnFlags select and filter vulnerability matching.
type vulnFlags struct {
	db            string
	noVulns       bool
	severity      string
	ignoreUnfixed bool
	failOn        string
	ignoreFile    string
	vex           multiFlag
	maxAge        time.Duration
}

func (f *vulnFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.db, "db", "", "vulnerability database (default $VIGIL_DB or ~/.cache/vigil/db/vulndb.sqlite); matching runs when it exists")
	fs.BoolVar(&f.noVulns, "no-vulns", false, "list packages only; do not match vulnerabilities")
	fs.StringVar(&f.severity, "severity", "", "report only vulnerabilities of this severity or higher (low, medium, high, critical); unrated ones are always kept")
	fs.BoolVar(&f.ignoreUnfixed, "ignore-unfixed", false, "leave out vulnerabilities with no known fix")
	fs.StringVar(&f.failOn, "fail-on", "", "exit with code 4 when an unsuppressed vulnerability of this severity or higher is found")
	fs.StringVar(&f.ignoreFile, "ignore-file", "", "YAML file of accepted vulnerabilities, each with a reason and optional expiry")
	fs.Var(&f.vex, "vex", "OpenVEX or CycloneDX VEX document; not_affected and fixed statements suppress matches (repeatable)")
	fs.DurationVar(&f.maxAge, "max-db-age", DefaultMaxAge, "warn when the vulnerability database is older than this")
}

// wantsVulns reports whether a flag only makes sense with matching, so a
// missing database must be an error rather than a warning.
func (f *vulnFlags) wantsVulns() bool {
	return f.db != "" || f.severity != "" || f.ignoreUnfixed || f.failOn != "" || f.ignoreFile != "" || len(f.vex) > 0
}

// openDB finds the database, or says why there is none. A nil DB with a nil
// error means matching is off.
func (f *vulnFlags) openDB(env *Env) (*vulndb.DB, error) {
	if f.noVulns {
		if f.wantsVulns() {
			return nil, usagef("--no-vulns contradicts the vulnerability flags given")
		}
		return nil, nil
	}
	path := resolveDB(env, f.db)
	if path == "" {
		if f.wantsVulns() {
			return nil, errors.New("no vulnerability database configured: set --db or $VIGIL_DB, or run 'vigil db update'")
		}
		return nil, nil
	}
	db, err := vulndb.Open(path)
	if errors.Is(err, vulndb.ErrNotFound) && !f.wantsVulns() {
		fmt.Fprintf(env.Stderr, "note: no vulnerability database at %s; listing packages only (run 'vigil db update' or 'vigil db build')\n", path)
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if db.Stale(f.maxAge, env.now()) {
		fmt.Fprintf(env.Stderr, "warning: the vulnerability database was built %s, more than %s ago; run 'vigil db update'\n",
			db.Meta().BuiltAt.UTC().Format(time.RFC3339), f.maxAge)
	}
	return db, nil
}

// match finds the vulnerabilities of a scan.
func (f *vulnFlags) match(ctx context.Context, env *Env, db *vulndb.DB, s *scan.Scanned) (*vuln.Report, error) {
	o := vuln.Options{Now: env.Now}
	if f.severity != "" {
		sev, err := finding.ParseSeverity(f.severity)
		if err != nil {
			return nil, usagef("--severity: %v", err)
		}
		o.MinSeverity = sev
	}
	o.IgnoreUnfixed = f.ignoreUnfixed
	if s.Symbols != nil {
		o.Symbols = s.Symbols.For
	}
	if f.ignoreFile != "" {
		sup, err := vuln.LoadIgnoreFile(f.ignoreFile)
		if err != nil {
			return nil, err
		}
		o.Suppressors = append(o.Suppressors, sup)
	}
	for _, path := range f.vex {
		set, err := loadVEX(path)
		if err != nil {
			return nil, err
		}
		o.Suppressors = append(o.Suppressors, set)
	}
	return vuln.Find(ctx, db, s.Result, o)
}

func loadVEX(path string) (*vex.Set, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("--vex: %w", err)
	}
	defer fh.Close()
	return vex.Load(fh, path)
}

// gate applies --fail-on to a report.
func (f *vulnFlags) gate(rep *vuln.Report) error {
	if f.failOn == "" || rep == nil {
		return nil
	}
	min, err := finding.ParseSeverity(f.failOn)
	if err != nil {
		return usagef("--fail-on: %v", err)
	}
	n := 0
	for _, m := range rep.Matches {
		if m.Suppressed == nil && m.Severity >= min {
			n++
		}
	}
	if n > 0 {
		return fmt.Errorf("%w: %d found", ErrGate, n)
	}
	return nil
}

// outputs knows every --format and what each needs.
var formats = []string{"table", "json", "cyclonedx", "cyclonedx-1.6", "spdx", "sarif", "openvex"}

func checkFormat(format string) error {
	for _, f := range formats {
		if f == format {
			return nil
		}
	}
	return usagef("unknown --format %q (want table, json, cyclonedx, cyclonedx-1.6, spdx, sarif or openvex)", format)
}

// writeReport renders a scan with its vulnerabilities (rep may be nil when
// matching was off).
func writeReport(w io.Writer, env *Env, format string, res *inventory.Result, rep *vuln.Report) error {
	tool := report.Tool{Name: "vigil", Version: env.Version}
	if rep == nil {
		switch format {
		case "sarif", "openvex":
			return fmt.Errorf("--format %s reports vulnerabilities and needs a vulnerability database", format)
		}
		enc, err := encoderFor(format, env)
		if err != nil {
			return err
		}
		return enc(w, res)
	}
	opts := sbom.EncodeOptions{Tool: "vigil", ToolVersion: env.Version, Timestamp: env.now()}
	switch format {
	case "table":
		return report.WriteVulnTable(w, rep)
	case "json":
		return report.WriteVulnJSON(w, rep, tool, env.now())
	case "sarif":
		return report.WriteVulnSARIF(w, rep, sarif.Tool{Name: "vigil", Version: env.Version, InformationURI: "https://github.com/vigil-sec/vigil"})
	case "openvex":
		return vex.WriteOpenVEX(w, rep, "vigil", env.now())
	case "cyclonedx":
		opts.SpecVersion = sbom.CycloneDX15
		return sbom.EncodeCycloneDXReport(w, rep, opts)
	case "cyclonedx-1.6":
		opts.SpecVersion = sbom.CycloneDX16
		return sbom.EncodeCycloneDXReport(w, rep, opts)
	case "spdx":
		// SPDX 2.3 has no place for vulnerabilities: write the inventory.
		opts.SpecVersion = sbom.SPDX23
		return sbom.EncodeSPDX(w, res, opts)
	}
	return checkFormat(format)
}
