package main

import (
	"bufio"
	_ "embed"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

//go:embed notes.md
var notes string

// timing is one measured run (a row of times.tsv).
type timing struct {
	input, tool string
	run         int
	wall, cpu   float64
	rssKB       int
	exit        int
}

// stats summarises a tool's runs on one input: medians of the measured
// runs (the warm-up, run 0, is left out when there are others).
type stats struct {
	n              int
	wall, min, max float64
	cpu            float64
	rssKB          int
	exits          []int
	warmupOnly     bool
	input, tool    string
}

func readTimes(path string) ([]timing, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []timing
	sc := bufio.NewScanner(f)
	first := true
	for sc.Scan() {
		if first {
			first = false
			continue
		}
		c := strings.Split(sc.Text(), "\t")
		if len(c) != 7 {
			continue
		}
		t := timing{input: c[0], tool: c[1]}
		t.run, _ = strconv.Atoi(c[2])
		t.wall, _ = strconv.ParseFloat(c[3], 64)
		t.rssKB, _ = strconv.Atoi(c[4])
		t.cpu, _ = strconv.ParseFloat(c[5], 64)
		t.exit, _ = strconv.Atoi(c[6])
		out = append(out, t)
	}
	return out, sc.Err()
}

func summarise(ts []timing, input, tool string) (stats, bool) {
	var runs []timing
	for _, t := range ts {
		if t.input == input && t.tool == tool {
			runs = append(runs, t)
		}
	}
	if len(runs) == 0 {
		return stats{}, false
	}
	s := stats{input: input, tool: tool}
	measured := slices.DeleteFunc(slices.Clone(runs), func(t timing) bool { return t.run == 0 })
	if len(measured) == 0 {
		measured, s.warmupOnly = runs, true
	}
	var walls, cpus []float64
	var rss []int
	for _, t := range measured {
		walls = append(walls, t.wall)
		cpus = append(cpus, t.cpu)
		rss = append(rss, t.rssKB)
		if !slices.Contains(s.exits, t.exit) {
			s.exits = append(s.exits, t.exit)
		}
	}
	s.n = len(measured)
	s.wall, s.cpu, s.rssKB = median(walls), median(cpus), medianInt(rss)
	s.min, s.max = slices.Min(walls), slices.Max(walls)
	return s, true
}

func median(xs []float64) float64 {
	s := slices.Sorted(slices.Values(xs))
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func medianInt(xs []int) int {
	s := slices.Sorted(slices.Values(xs))
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func readTSVMap(path string) map[string]string {
	m := map[string]string{}
	data, err := os.ReadFile(path)
	if err != nil {
		return m
	}
	for _, l := range strings.Split(string(data), "\n") {
		if k, v, ok := strings.Cut(l, "\t"); ok {
			m[k] = v
		}
	}
	return m
}

func readComparison(path string) (*comparison, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var c comparison
	if err := json.Unmarshal(data, &c); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &c, nil
}

// sbomMix counts an SBOM's components by purl type.
func sbomMix(path string) (map[string]int, int) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, 0
	}
	var bom cdxBOM
	if json.Unmarshal(data, &bom) != nil {
		return nil, 0
	}
	m := map[string]int{}
	n := 0
	for _, c := range bom.Components {
		if t, _, ok := strings.Cut(strings.TrimPrefix(c.PURL, "pkg:"), "/"); ok && c.PURL != "" {
			m[t]++
			n++
		}
	}
	return m, n
}

// inputs in report order, with what they are.
var reportInputs = []struct{ name, what string }{
	{"sbom-mixed", "CycloneDX SBOM, 5,000 packages: Debian 11 ×1,000 (binaries of DSA-fixed sources), Go ×1,600, PyPI ×1,300, crates.io ×1,100"},
	{"sbom-lang", "CycloneDX SBOM, 5,000 packages: Go ×2,000, PyPI ×1,650, crates.io ×1,350 (apples to apples: no Debian)"},
	{"accuracy", "a directory: go.mod, Cargo.lock and requirements.txt pinning ~30 old packages each (manifest below)"},
	{"gobin", "a `docker save` image holding one Go binary built with old dependencies"},
}

func writeReport(work, out string) error {
	env := readTSVMap(filepath.Join(work, "env.tsv"))
	ts, err := readTimes(filepath.Join(work, "times.tsv"))
	if err != nil {
		return err
	}
	cmps := map[string]*comparison{}
	for _, in := range []string{"accuracy", "gobin", "sbom-mixed", "sbom-lang", "sbom-mixed-debian"} {
		c, err := readComparison(filepath.Join(work, "cmp", in+".json"))
		if err != nil {
			return err
		}
		cmps[in] = c
	}
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }

	p("# Vulnerability matching: Vigil and osv-scanner\n\n")
	p("Written by `bench/vulns.sh` (run %s). Both tools match the same advisories — the shared data in "+
		"`shared/data/advisories` — against the same inputs, fully offline. Numbers are from one machine shared "+
		"with other developers: read the load average with them.\n\n", env["date"])

	p("## Machine and versions\n\n| | |\n|---|---|\n")
	memGiB := 0.0
	if kb, err := strconv.Atoi(env["mem_kb"]); err == nil {
		memGiB = float64(kb) / (1 << 20)
	}
	for _, row := range [][2]string{
		{"date (UTC)", env["date"]},
		{"CPU", fmt.Sprintf("%s, %s cores (nproc)", env["cpu"], env["nproc"])},
		{"memory", fmt.Sprintf("%.1f GiB", memGiB)},
		{"kernel", env["kernel"]},
		{"load average (1, 5, 15 min) at start / end", env["loadavg_start"] + " / " + env["loadavg_end"]},
		{"Vigil", "`" + env["vigil"] + "` (this tree)"},
		{"osv-scanner", env["osv-scanner"] + " (`go install github.com/google/osv-scanner/cmd/osv-scanner@v1.9.2`)"},
		{"Go", env["go"]},
		{"measured runs", env["runs"] + " per tool and input after one warm-up; medians"},
	} {
		p("| %s | %s |\n", row[0], row[1])
	}

	p("\n## Speed\n\n")
	p("Wall time and peak RSS (`/usr/bin/time`, `%%M`) of one command each: `vigil scan sbom FILE --db DB -f json` and " +
		"`osv-scanner --experimental-offline --experimental-local-db-path DIR --no-call-analysis=all --format json --sbom FILE`. " +
		"CPU is user + system time: less disturbed than wall time by other work on the machine.\n\n")
	p("| input | tool | wall median (min–max) | CPU median | peak RSS median | findings | exit |\n|---|---|---|---|---|---|---|\n")
	for _, in := range reportInputs {
		c := cmps[in.name]
		for _, tool := range []string{"vigil", "osv-scanner"} {
			s, ok := summarise(ts, in.name, tool)
			if !ok {
				continue
			}
			n := 0
			if c != nil {
				for _, e := range c.ByEcosystem {
					if tool == "vigil" {
						n += e.Vigil
					} else {
						n += e.Peer
					}
				}
			}
			runs := fmt.Sprintf("%.2f s (%.2f–%.2f)", s.wall, s.min, s.max)
			if s.warmupOnly {
				runs = fmt.Sprintf("%.2f s (one run)", s.wall)
			}
			p("| %s | %s | %s | %.2f s | %.0f MiB | %d | %s |\n", in.name, tool, runs, s.cpu, float64(s.rssKB)/1024, n, joinInts(s.exits))
		}
	}
	p("\nFindings are (package, version, vulnerability) after merging aliases (see Accuracy). osv-scanner exits 1 " +
		"whenever it finds something; on `sbom-mixed` it also says it has no Debian database.\n\n")
	p("| input | osv-scanner ÷ Vigil: wall | CPU | peak RSS |\n|---|---|---|---|\n")
	for _, in := range reportInputs {
		v, ok1 := summarise(ts, in.name, "vigil")
		o, ok2 := summarise(ts, in.name, "osv-scanner")
		if !ok1 || !ok2 || v.wall == 0 || v.cpu == 0 || v.rssKB == 0 {
			continue
		}
		p("| %s | %.1f× | %.1f× | %.1f× |\n", in.name, o.wall/v.wall, o.cpu/v.cpu, float64(o.rssKB)/float64(v.rssKB))
	}
	if s, ok := summarise(ts, "db-build", "vigil"); ok {
		p("\n**Database build** (`vigil db build --from shared/data/advisories --db FILE`, all five sources, a new file each run): "+
			"%.2f s median (%.2f–%.2f), CPU %.2f s, peak RSS %.0f MiB. osv-scanner has no build step: its offline "+
			"database is the OSV records zipped per ecosystem (`vulnbench osvdb`), read whole on every scan.\n", s.wall, s.min, s.max, s.cpu, float64(s.rssKB)/1024)
	}

	p("\n### Goals\n\n| goal | result | |\n|---|---|---|\n")
	if s, ok := summarise(ts, "sbom-mixed", "vigil"); ok {
		p("| Vigil under 1 s for a 5,000-package SBOM (`sbom-mixed`) | %.2f s wall, %.2f s CPU | %s |\n", s.wall, s.cpu, verdict(s.wall < 1))
	}
	if s, ok := summarise(ts, "sbom-lang", "vigil"); ok {
		p("| the same, language packages only (`sbom-lang`) | %.2f s wall, %.2f s CPU | %s |\n", s.wall, s.cpu, verdict(s.wall < 1))
	}
	if s, ok := summarise(ts, "db-build", "vigil"); ok {
		p("| `vigil db build` of all shared data under 30 s | %.2f s | %s |\n", s.wall, verdict(s.wall < 30))
	}

	p("\n## Accuracy\n\n")
	p("Each finding is normalised to (ecosystem, package, version, vulnerability): PyPI names by PEP 503, Go versions " +
		"without `v`, and the vulnerability as its **alias group** — a record's ID and aliases joined transitively over " +
		"all the shared OSV records — so GO-/GHSA-/PYSEC-/RUSTSEC-/CVE- spellings of one issue are one finding. Vigil's " +
		"findings are the records merged into each match (`advisories`), osv-scanner's the records it lists. " +
		"Debian has no peer offline, so Vigil's Debian matches on `sbom-mixed` are checked against dpkg itself " +
		"(`dpkg --compare-versions` of each package's version with each bullseye DSA fix of its source).\n\n")
	p("| input | ecosystem | peer | Vigil findings | peer findings | agreed | only Vigil | only peer |\n|---|---|---|---|---|---|---|---|\n")
	for _, name := range []string{"accuracy", "gobin", "sbom-lang", "sbom-mixed", "sbom-mixed-debian"} {
		c := cmps[name]
		for _, eco := range slices.Sorted(maps.Keys(c.ByEcosystem)) {
			n := c.ByEcosystem[eco]
			if c.Peer == "osv-scanner" && eco == "Debian" {
				p("| %s | %s | %s | %d | — (no data) | — | %d | — |\n", c.Input, eco, c.Peer, n.Vigil, n.OnlyVigil)
				continue
			}
			p("| %s | %s | %s | %d | %d | %d | %d | %d |\n", c.Input, eco, c.Peer, n.Vigil, n.Peer, n.Agreed, n.OnlyVigil, n.OnlyPeer)
		}
	}

	p("\n### Every difference, by cause\n\n")
	byCause := map[string][]difference{}
	expl := map[string]explanation{}
	for _, name := range []string{"accuracy", "gobin", "sbom-lang", "sbom-mixed", "sbom-mixed-debian"} {
		c := cmps[name]
		for _, d := range c.Differences {
			byCause[d.Cause] = append(byCause[d.Cause], d)
		}
		maps.Copy(expl, c.Explanations)
	}
	if len(byCause) == 0 {
		p("None: the tools agree on every finding.\n")
	}
	for _, cause := range slices.Sorted(maps.Keys(byCause)) {
		ds := byCause[cause]
		e, ok := explanations[cause] // this build's words, else the run's
		if !ok {
			e = expl[cause]
		}
		p("#### %s — %s; right: **%s**\n\n%s\n\n", cause, plural(len(ds), "finding"), e.Right, e.Text)
		if cause == "no-peer-data" {
			p("Listed by count only; the dpkg row of the table above says whether they are right.\n\n")
			continue
		}
		type row struct{ input, only, pkg, version string }
		rows := map[row][]difference{}
		pkgs := map[string]bool{}
		for _, d := range ds {
			r := row{d.Input, d.OnlyIn, d.Ecosystem + " " + d.Package, d.Version}
			rows[r] = append(rows[r], d)
			pkgs[d.Ecosystem+" "+d.Package] = true
		}
		keys := slices.SortedFunc(maps.Keys(rows), func(a, b row) int {
			return strings.Compare(a.input+a.pkg+a.version, b.input+b.pkg+b.version)
		})
		folded := len(keys) > 12
		if folded {
			p("%s on %s of %s; the table is folded:\n\n<details><summary>every one</summary>\n\n",
				plural(len(ds), "finding"), plural(len(keys), "package version"), plural(len(pkgs), "package"))
		}
		p("| input | only in | package | version | vulnerabilities (alias group: the reporting tool's IDs) |\n|---|---|---|---|---|\n")
		for _, k := range keys {
			var vs []string
			for _, d := range rows[k] {
				vs = append(vs, d.Label+" ("+strings.Join(d.IDs, ", ")+")")
			}
			slices.Sort(vs)
			p("| %s | %s | %s | %s | %d: %s |\n", k.input, k.only, k.pkg, k.version, len(vs), strings.Join(vs, "; "))
		}
		if folded {
			p("\n</details>\n")
		}
		p("\n")
		if cause == "go-directive" || cause == "purl-lowercase" {
			continue // the records play no part
		}
		// What each record says, with the versions it was asked about.
		facts := map[string][]string{}
		for _, d := range ds {
			for _, f := range d.Facts {
				k := d.Ecosystem + " " + d.Package + " — " + f
				if !slices.Contains(facts[k], d.Version) {
					facts[k] = append(facts[k], d.Version)
				}
			}
		}
		if len(facts) > 0 {
			p("<details><summary>what the records say (%d records)</summary>\n\n", len(facts))
			for _, f := range slices.Sorted(maps.Keys(facts)) {
				p("- %s; asked about %s\n", f, strings.Join(slices.Sorted(slices.Values(facts[f])), ", "))
			}
			p("\n</details>\n\n")
		}
	}

	p("\n%s\n", strings.TrimSpace(notes))

	p("\n## Inputs\n\n")
	for _, in := range reportInputs {
		p("- `%s`: %s", in.name, in.what)
		if strings.HasPrefix(in.name, "sbom") {
			if m, n := sbomMix(filepath.Join(work, "inputs", in.name+".cdx.json")); n > 0 {
				var parts []string
				for _, t := range slices.Sorted(maps.Keys(m)) {
					parts = append(parts, fmt.Sprintf("%s %d", t, m[t]))
				}
				p(" (purls: %s; %d in all)", strings.Join(parts, ", "), n)
			}
		}
		p(".\n")
	}
	p("\nThe SBOMs are generated from the advisories (`vulnbench sbom`, fixed seed): every package name is one the " +
		"advisories name — the worst case for a matcher, since every package needs its ranges evaluated — at versions " +
		"inside and outside affected ranges. Debian packages are binaries of the source packages with bullseye DSAs, at the " +
		"version before a `+deb11uN` update, the previous fix, or the latest fix (clean).\n\n")
	if bin, err := os.ReadFile(filepath.Join(work, "gobin.txt")); err == nil {
		p("The Go binary (`internal/fixture.GoBinary`, go %s, not stripped) is `%s`; it links gin v1.7.0, "+
			"golang.org/x/net and x/crypto of 2020–21, x/text v0.3.7, jwt-go v3.2.0+incompatible, gorilla/websocket "+
			"v1.4.0, tidwall/gjson v1.6.0 and yaml.v2 v2.2.8. osv-scanner v1.9.2 reads Go binaries only inside images "+
			"(`--experimental-oci-image`), so both tools scan the same one-layer `docker save` tarball.\n\n", env["go"], strings.TrimSpace(string(bin)))
	}
	if data, err := os.ReadFile(filepath.Join(work, "inputs", "accuracy", "manifest.tsv")); err == nil {
		p("<details><summary>accuracy input: every pinned package and why (manifest.tsv)</summary>\n\n")
		p("| ecosystem | package | version | chosen as |\n|---|---|---|---|\n")
		for i, l := range strings.Split(strings.TrimSpace(string(data)), "\n") {
			if i == 0 {
				continue
			}
			p("| %s |\n", strings.ReplaceAll(l, "\t", " | "))
		}
		p("\n`go.mod` also says `go 1.21` (which osv-scanner matches as the standard library, see above).\n\n</details>\n")
	}

	p("\n## Reproduce\n\n```sh\nbench/vulns.sh          # VIGIL_BENCH_RUNS=3, VIGIL_BENCH_CACHE=~/.cache/vigil-bench\n```\n\n" +
		"It installs osv-scanner v1.9.2 into the cache, builds Vigil and `bench/cmd/vulnbench`, builds both databases " +
		"from the shared data, writes the inputs, runs both tools inside a network namespace with no interfaces " +
		"(`unshare -n`: osv-scanner cannot reach anything, whatever its flags), compares and writes this file. The run " +
		"directory (`$VIGIL_BENCH_CACHE/vulns/<time>/`) keeps every output, log and comparison (`cmp/*.json`).\n")
	return os.WriteFile(out, []byte(b.String()), 0o644)
}

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "**not met**"
}

func joinInts(xs []int) string {
	var s []string
	for _, x := range slices.Sorted(slices.Values(xs)) {
		s = append(s, strconv.Itoa(x))
	}
	return strings.Join(s, ", ")
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return strconv.Itoa(n) + " " + what + "s"
}
