package results

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/vigil-sec/vigil/bench/internal/compare"
	"github.com/vigil-sec/vigil/bench/internal/corpus"
)

// Tools measured, in table order. The first three write the SBOMs that are
// compared; the Vigil variants are checked to find exactly what the first
// scan found.
const (
	vigil        = "vigil"
	vigilRescan  = "vigil-rescan"
	vigilNoCache = "vigil-nocache"
	syft         = "syft"
	scalibr      = "scalibr"
)

var (
	peers    = []string{syft, scalibr}
	variants = []string{vigilRescan, vigilNoCache}
)

var toolLabel = map[string]string{
	vigil:        "Vigil, first scan (empty `--cache-dir`)",
	vigilRescan:  "Vigil, re-scan (warm `--cache-dir`)",
	vigilNoCache: "Vigil, `--no-cache`",
	syft:         "Syft",
	scalibr:      "OSV-SCALIBR",
}

// corpusResult is everything measured and compared on one corpus.
type corpusResult struct {
	corpus.Corpus
	stats map[string]*stat // by tool
	sets  map[string]*compare.Set
	cmp   *compare.Comparison // nil when an SBOM is missing
	// variantDiff says, per Vigil variant, how its packages differ from
	// the first scan's ("" when identical).
	variantDiff map[string]string
	errs        []string
}

// Write reads the run in work and writes out/RESULTS.md and
// out/results/CORPUS.md.
func Write(work, out string) error {
	env, err := readEnv(filepath.Join(work, "env.tsv"))
	if err != nil {
		return err
	}
	runs, err := readTimes(filepath.Join(work, "times.tsv"))
	if err != nil {
		return err
	}
	cs, err := corpus.ReadList(filepath.Join(work, "corpora.tsv"))
	if err != nil {
		return err
	}
	st := stats(runs)
	var res []*corpusResult
	for _, c := range cs {
		r := &corpusResult{Corpus: c, stats: map[string]*stat{}, sets: map[string]*compare.Set{}, variantDiff: map[string]string{}}
		for k, s := range st {
			if k[0] == c.Name {
				r.stats[k[1]] = s
			}
		}
		if len(r.stats) == 0 {
			continue // not run (VIGIL_BENCH_ONLY)
		}
		for _, tool := range append([]string{vigil, syft, scalibr}, variants...) {
			s, err := compare.ReadFile(tool, filepath.Join(work, "sbom", c.Name+"-"+tool+".json"))
			switch {
			case errors.Is(err, fs.ErrNotExist):
				if _, ran := r.stats[tool]; ran {
					r.errs = append(r.errs, fmt.Sprintf("%s wrote no SBOM", tool))
				}
			case err != nil:
				r.errs = append(r.errs, fmt.Sprintf("%s: %v", tool, err))
			default:
				r.sets[tool] = s
			}
		}
		if r.sets[vigil] != nil && r.sets[syft] != nil && r.sets[scalibr] != nil {
			r.cmp = compare.Compare(r.sets[vigil], r.sets[syft], r.sets[scalibr])
		}
		for _, v := range variants {
			if r.sets[v] != nil && r.sets[vigil] != nil {
				r.variantDiff[v] = sameKeys(r.sets[vigil], r.sets[v])
			}
		}
		res = append(res, r)
	}
	if err := os.MkdirAll(filepath.Join(out, "results"), 0o755); err != nil {
		return err
	}
	for _, r := range res {
		if r.cmp == nil {
			continue
		}
		if err := os.WriteFile(filepath.Join(out, "results", r.Name+".md"), detailPage(r), 0o644); err != nil {
			return err
		}
	}
	return os.WriteFile(filepath.Join(out, "RESULTS.md"), summary(env, readMachine(), runs, res), 0o644)
}

// sameKeys describes how b's packages differ from a's, or returns "".
func sameKeys(a, b *compare.Set) string {
	var missing, extra int
	for k := range a.Keys {
		if _, ok := b.Keys[k]; !ok {
			missing++
		}
	}
	for k := range b.Keys {
		if _, ok := a.Keys[k]; !ok {
			extra++
		}
	}
	if missing == 0 && extra == 0 && a.Components == b.Components {
		return ""
	}
	return fmt.Sprintf("%d packages missing, %d extra, %d components instead of %d", missing, extra, b.Components, a.Components)
}

func mib(kb int64) float64 { return float64(kb) / 1024 }

// sec formats seconds with three decimals below 1 s, two above.
func sec(s float64) string {
	if s < 1 {
		return fmt.Sprintf("%.3f", s)
	}
	return fmt.Sprintf("%.2f", s)
}

// sharedNote says how much other work ran on the machine while the tools
// were measured (see othersLoad): "shared" above a fifth of a CPU.
func sharedNote(env map[string]string, m machine, runs []run) string {
	cpus, ok := othersLoad(env, runs)
	if !ok {
		return "How busy the machine was otherwise was not recorded."
	}
	if cpus <= 0.2 {
		return fmt.Sprintf("Other work used %.2f of the %d CPUs on average while the tools were measured: the machine was quiet.", cpus, m.cpus)
	}
	return fmt.Sprintf("**The machine was shared**: other developers' builds and tests used %.2f of the %d CPUs on average while the tools were measured "+
		"(busy CPU time from /proc/stat minus the tools' own). Absolute times are noisy, and each tool's runs are consecutive, "+
		"so a burst of other work can penalise one tool more than another; the min–max range shows how much a number moved between runs.", cpus, m.cpus)
}

// summary renders RESULTS.md.
func summary(env map[string]string, m machine, runs []run, res []*corpusResult) []byte {
	var b bytes.Buffer
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	p("# SBOM benchmark results\n\n")
	p("Written by `bash bench/sbom.sh` (see [README.md](README.md)); do not edit by hand.\n\n")
	p("- Date: %s\n", env["date"])
	p("- Machine: %s\n", m)
	p("- Load average (1, 5, 15 min) before the measurements: %s; after: %s. ", env["loadavg_start"], env["loadavg_end"])
	p("%s\n", sharedNote(env, m, runs))
	p("- Tools: Vigil `%s` (built from %s), Syft `%s`, OSV-SCALIBR `%s`; %s; npm %s.\n", env["vigil"], cmp.Or(env["vigil_src"], "this tree"), env["syft"], env["scalibr"], env["go"], env["npm"])
	p("- Method: each tool writes a CycloneDX JSON SBOM of the same input; one unmeasured warm-up run, then %s measured runs; wall time measured around GNU time with bash's microsecond clock, peak RSS from GNU time (`/usr/bin/time -f %%M`); the median is shown, with the range of wall times. Every tool runs with its default settings (SCALIBR with `--plugins=extractors/default --offline`: its default extractors, no detectors).\n\n", env["runs"])

	p("## Goals (issue 2)\n\n")
	p("| corpus | ≥2× faster than Syft | no slower than SCALIBR | no more peak RSS than SCALIBR | same or more packages | re-scan < 10%% of first scan |\n|---|---|---|---|---|---|\n")
	for _, r := range res {
		p("| %s | %s | %s | %s | %s | %s |\n", r.Name, goalFaster(r), goalVsScalibrTime(r), goalVsScalibrRSS(r), goalPackages(r), goalRescan(r))
	}
	p("\n")

	for _, r := range res {
		path := r.Path
		if c := env["cache"]; c != "" {
			if rel, err := filepath.Rel(c, path); err == nil && !strings.HasPrefix(rel, "..") {
				path = filepath.Join("$VIGIL_BENCH_CACHE", rel)
			}
		}
		p("## Corpus `%s`\n\n%s. Input: `%s`.\n\n", r.Name, r.Description, path)
		for _, e := range r.errs {
			p("- **Error:** %s\n", e)
		}
		if len(r.errs) > 0 {
			p("\n")
		}
		p("| tool | wall s (median) | wall s (min–max) | peak RSS MiB | packages | components | Vigil ÷ tool, time | Vigil ÷ tool, RSS |\n|---|---:|---:|---:|---:|---:|---:|---:|\n")
		v := r.stats[vigil]
		for _, tool := range []string{vigil, vigilRescan, vigilNoCache, syft, scalibr} {
			s := r.stats[tool]
			if s == nil {
				continue
			}
			pk, comp := "–", "–"
			if set := r.sets[tool]; set != nil {
				pk, comp = fmt.Sprint(len(set.Keys)), fmt.Sprint(set.Components)
			}
			rt, rr := "", ""
			if slices.Contains(peers, tool) && v != nil {
				rt = fmt.Sprintf("%.2g", v.wall/s.wall)
				rr = fmt.Sprintf("%.2g", float64(v.rssKB)/float64(s.rssKB))
			}
			note := ""
			if s.failed {
				note = fmt.Sprintf(" (**failed**, exit codes %v)", s.exits)
			} else if s.incompleteVigil {
				note = " (exit 3: incomplete)"
			}
			p("| %s%s | %s | %s–%s | %.0f | %s | %s | %s | %s |\n", toolLabel[tool], note, sec(s.wall), sec(s.wallMin), sec(s.wallMax), mib(s.rssKB), pk, comp, rt, rr)
		}
		if rs, ok := r.stats[vigilRescan]; ok && v != nil {
			p("\nRe-scan with a warm cache: %s s, %.1f%% of the first scan.\n", sec(rs.wall), 100*rs.wall/v.wall)
		}
		if set := r.sets[vigil]; set != nil && len(set.Unknowns) > 0 {
			p("\n**Vigil marked its result incomplete (exit code 3)**: it could not read %d file(s):\n\n", len(set.Unknowns))
			for _, u := range set.Unknowns {
				p("- `%s`\n", u)
			}
			p("\n")
		}
		for _, tool := range variants {
			if d, ok := r.variantDiff[tool]; ok {
				if d == "" {
					p("%s reported exactly the packages of the first scan.\n", toolLabel[tool])
				} else {
					p("**%s differs from the first scan: %s.**\n", toolLabel[tool], d)
				}
			}
		}
		p("\n")
		if r.cmp != nil {
			writeDiffSummary(&b, r)
		}
	}
	return b.Bytes()
}

// writeDiffSummary writes the package-set comparison of one corpus: per
// type counts, and per class the rows with examples.
func writeDiffSummary(b *bytes.Buffer, r *corpusResult) {
	p := func(format string, args ...any) { fmt.Fprintf(b, format, args...) }
	c := r.cmp
	p("### Packages\n\n")
	types := map[string]bool{}
	for _, s := range c.Sets {
		for k := range s.Keys {
			types[k.Type] = true
		}
	}
	p("Distinct packages (purl type, name, version) per purl type:\n\n| purl type |")
	for _, s := range c.Sets {
		p(" %s |", s.Tool)
	}
	p("\n|---|%s\n", strings.Repeat("---:|", len(c.Sets)))
	for _, t := range sortedKeys(types) {
		p("| %s |", t)
		for _, s := range c.Sets {
			n := 0
			for k := range s.Keys {
				if k.Type == t {
					n++
				}
			}
			p(" %d |", n)
		}
		p("\n")
	}
	p("\n*Packages* are distinct (purl type, name, version); *components* count every SBOM entry. All three tools write one component per place a package was found (the same Go module in several binaries, the same npm package installed in several `node_modules`); Vigil and SCALIBR also write one for each `package-lock.json` entry, beside the installed package's own.\n")
	p("\n%d packages are reported by all three tools", c.Common)
	if len(c.Rows) == 0 {
		p(", and no tool reports any other.\n\n")
		return
	}
	p("; %d by some only. Full lists: [results/%s.md](results/%s.md).\n\n", len(c.Rows), r.Name, r.Name)
	p("| difference | reported by | not by | packages | examples |\n|---|---|---|---:|---|\n")
	for _, g := range groupRows(c) {
		ex := make([]string, 0, 3)
		for _, row := range g.rows[:min(3, len(g.rows))] {
			s := "`" + row.Key.String() + "`"
			if row.Detail != "" {
				s += " (" + row.Detail + ")"
			}
			ex = append(ex, s)
		}
		p("| %s | %s | %s | %d | %s |\n", g.class.Title, g.in, g.notIn, len(g.rows), strings.Join(ex, "; "))
	}
	p("\n")
	seen := map[*compare.Class]bool{}
	for _, g := range groupRows(c) {
		if seen[g.class] {
			continue
		}
		seen[g.class] = true
		p("- **%s**: %s\n", g.class.Title, g.class.Explanation)
	}
	p("\n")
}

// rowGroup is the rows of one class reported by the same tools.
type rowGroup struct {
	class     *compare.Class
	in, notIn string
	rows      []compare.Row
}

func groupRows(c *compare.Comparison) []rowGroup {
	var out []rowGroup
	for _, row := range c.Rows {
		var in, notIn []string
		for i, s := range c.Sets {
			if row.In[i] {
				in = append(in, s.Tool)
			} else {
				notIn = append(notIn, s.Tool)
			}
		}
		g := rowGroup{class: row.Class, in: strings.Join(in, ", "), notIn: strings.Join(notIn, ", ")}
		if n := len(out); n > 0 && out[n-1].class == g.class && out[n-1].in == g.in {
			out[n-1].rows = append(out[n-1].rows, row)
			continue
		}
		found := false
		for i := range out {
			if out[i].class == g.class && out[i].in == g.in {
				out[i].rows = append(out[i].rows, row)
				found = true
				break
			}
		}
		if !found {
			g.rows = []compare.Row{row}
			out = append(out, g)
		}
	}
	return out
}

// detailPage renders results/CORPUS.md: every row, grouped.
func detailPage(r *corpusResult) []byte {
	var b bytes.Buffer
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	p("# Package differences on corpus `%s`\n\n", r.Name)
	p("Written by `bash bench/sbom.sh`; see [../RESULTS.md](../RESULTS.md) for the explanations. ")
	p("Each line is a package (purl type:name@version) that some tools report and others do not.\n\n")
	if len(r.cmp.Rows) == 0 {
		p("Every tool reports the same %d packages.\n", r.cmp.Common)
	}
	for _, g := range groupRows(r.cmp) {
		p("## %s — reported by %s, not by %s (%d)\n\n", g.class.Title, g.in, g.notIn, len(g.rows))
		for _, row := range g.rows {
			p("- `%s`", row.Key)
			if row.Detail != "" {
				p(" — %s", row.Detail)
			}
			p("\n")
		}
		p("\n")
	}
	return b.Bytes()
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
