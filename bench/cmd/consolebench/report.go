package main

import (
	"bufio"
	_ "embed"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// notes is the hand-written part of the report: the method's choices and
// what was found and fixed along the way.
//
//go:embed notes.md
var notes string

func runReport(args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("consolebench report", flag.ContinueOnError)
	fs.SetOutput(stderr)
	seedDir := fs.String("seed", "", "the seeded store's directory")
	runDir := fs.String("run", "", "the run directory (measure.json, env.tsv)")
	out := fs.String("out", "", "the report to write")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *seedDir == "" || *runDir == "" || *out == "" {
		return fmt.Errorf("report: -seed, -run and -out are required")
	}
	info, err := readSeed(*seedDir)
	if err != nil {
		return err
	}
	b, err := os.ReadFile(filepath.Join(*runDir, "measure.json"))
	if err != nil {
		return err
	}
	var run runInfo
	if err := json.Unmarshal(b, &run); err != nil {
		return fmt.Errorf("measure.json: %w", err)
	}
	env, err := readTSV(filepath.Join(*runDir, "env.tsv"))
	if err != nil {
		return err
	}
	var sb strings.Builder
	writeReport(&sb, info, &run, env)
	return os.WriteFile(*out, []byte(sb.String()), 0o644)
}

// readTSV reads "key<TAB>value" lines.
func readTSV(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	m := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), "\t"); ok {
			m[k] = v
		}
	}
	return m, sc.Err()
}

func num(n int) string {
	s := fmt.Sprint(n)
	var out []byte
	for i := range len(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	return string(out)
}

func msf(x float64) string {
	switch {
	case x >= 100:
		return fmt.Sprintf("%.0f", x)
	case x >= 10:
		return fmt.Sprintf("%.1f", x)
	}
	return fmt.Sprintf("%.2f", x)
}

func kib(n int) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.0f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

func verdict(tg *target, goal float64) string {
	switch {
	case tg.Errors > 0:
		return fmt.Sprintf("**failed** (%d × status %d)", tg.Errors, tg.Status)
	case tg.P95 < goal:
		return "met"
	}
	return "**not met**"
}

func writeReport(w io.Writer, info *seedInfo, run *runInfo, env map[string]string) {
	p := info.Params
	c := info.Counts
	goal := run.GoalMillis
	var pages, apis []*target
	for _, tg := range run.Targets {
		if tg.Kind == "page" {
			pages = append(pages, tg)
		} else {
			apis = append(apis, tg)
		}
	}
	met := func(ts []*target) int {
		n := 0
		for _, tg := range ts {
			if tg.Errors == 0 && tg.P95 < goal {
				n++
			}
		}
		return n
	}
	worst := func(ts []*target) *target {
		var m *target
		for _, tg := range ts {
			if m == nil || tg.P95 > m.P95 {
				m = tg
			}
		}
		return m
	}
	fmt.Fprintf(w, "# Console page times at scale\n\n")
	fmt.Fprintf(w, "Written by `bash bench/console.sh` (run %s); do not edit by hand — the notes at the end come from "+
		"[bench/cmd/consolebench/notes.md](cmd/consolebench/notes.md).\n\n", run.Started.Format("2006-01-02T15:04:05Z"))
	fmt.Fprintf(w, "**Goal (issue 8):** with 100,000 assets and 1,000,000 findings loaded, every page answers in under 1 s (p95).\n\n")
	status := "met"
	if met(pages) < len(pages) {
		status = "not met"
	}
	wp, wa := worst(pages), worst(apis)
	fmt.Fprintf(w, "**Result: %s.** %d of %d console pages and %d of %d API calls answered in under 1 s at the 95th percentile "+
		"(%d requests each). Slowest page: %s (`%s`), p95 %s ms; slowest API call: `%s`, p95 %s ms.\n\n",
		status, met(pages), len(pages), met(apis), len(apis), run.N, wp.Name, wp.Path, msf(wp.P95), wa.Path, msf(wa.P95))
	var missed []string
	for _, tg := range pages {
		if tg.Errors > 0 || tg.P95 >= goal {
			missed = append(missed, fmt.Sprintf("%s — %s (`%s`, p95 %s ms)", tg.Group, tg.Name, shortPath(tg.Path), msf(tg.P95)))
		}
	}
	if len(missed) > 0 {
		fmt.Fprintf(w, "Pages that missed the goal: %s. Why, and the store changes that bring them under 1 s, are in the notes at the end.\n\n", strings.Join(missed, "; "))
	}

	fmt.Fprintf(w, "## Machine and run\n\n| | |\n|---|---|\n")
	fmt.Fprintf(w, "| date (UTC) | %s |\n", run.Started.Format("2006-01-02T15:04:05Z"))
	fmt.Fprintf(w, "| CPU | %s, %d cores (nproc) |\n", run.Machine.CPU, run.Machine.CPUs)
	fmt.Fprintf(w, "| memory | %.1f GiB |\n", float64(run.Machine.MemKiB)/(1<<20))
	fmt.Fprintf(w, "| kernel | %s |\n", run.Machine.Kernel)
	fmt.Fprintf(w, "| load average (1, 5, 15 min) at start / end | %s / %s |\n", run.LoadStart, run.LoadEnd)
	fmt.Fprintf(w, "| other work on the machine during the measurement | %.2f of the %d CPUs on average (busy time from /proc/stat minus the server's and the client's) |\n", run.OtherCPUs, run.Machine.CPUs)
	fmt.Fprintf(w, "| Vigil | `%s` (`go build ./cmd/vigil`), %s |\n", env["vigil"], env["go"])
	fmt.Fprintf(w, "| server | `vigil server --local-agent=false` on loopback, embedded SQLite store (%s), no vulnerability database (no re-assessment runs) |\n", env["store"])
	fmt.Fprintf(w, "| server start | %s s from launch to /healthz (opening the store, pending migrations, planner statistics) |\n", env["startSeconds"])
	fmt.Fprintf(w, "| server during the measurement | %.1f s CPU; peak RSS %.0f MiB |\n", run.ServerCPU, float64(run.ServerHWM)/(1<<20))
	fmt.Fprintf(w, "| requests | sign-in through the `/login` form (%.0f ms), then one unmeasured pass over every page and API call, then %d rounds of one request to each, one at a time (%.0f s in all); time to the last byte of the answer, measured by the client |\n\n",
		run.Login, run.N, run.Seconds)

	fmt.Fprintf(w, "## Data\n\n")
	fmt.Fprintf(w, "Seeded once through the store's public methods (`bench/cmd/consolebench seed`) and cached in "+
		"`$VIGIL_BENCH_CACHE/console/%s/`; every run copies it, so measurements start from the same file. "+
		"Seeding took %.0f minutes on %s (%d CPUs); the file is %.2f GiB.\n\n",
		info.Key, info.Seconds/60, info.Started.Format("2006-01-02"), info.Machine.CPUs, float64(info.DBBytes)/(1<<30))
	fmt.Fprintf(w, "| what | count | how |\n|---|---:|---|\n")
	fmt.Fprintf(w, "| assets | %s | %s hosts (one agent each), %s images, %s containers (%s of them gone); 5 clouds, 20 regions, 7 distributions; labels env, team, app, role |\n",
		num(p.Assets), num(c["assets.host"]), num(c["assets.image"]), num(c["assets.container"]), num(c["assetsGone"]))
	fmt.Fprintf(w, "| packages | %s | %d per host, %d per image, %d per container, more where the asset's vulnerabilities name other packages; with their inventory record as data |\n",
		num(c["packages"]), p.HostPackages, p.ImagePackages, p.ContainerPackages)
	fmt.Fprintf(w, "| host inventory items | %s | 80 per host: processes, ports, users, groups, services, cron jobs, sudo rules, kernel modules |\n", num(c["items"]))
	fmt.Fprintf(w, "| vulnerability findings | %s | %s new, %s open, %s fixed, %s accepted; over %s vulnerability IDs: one on %.1f%% of the findings, 20 on 6%%, 1,000 on 32.5%%, the rest spread; each with a `vuln.Match` as data |\n",
		num(c["findings.vulnerability"]), num(c["status.new"]), num(c["status.open"]), num(c["status.fixed"]), num(c["status.accepted"]), num(p.Vulns), 1.5)
	fmt.Fprintf(w, "| other findings | %s | %s misconfigurations (8 per host), %s secrets (half the images) |\n",
		num(c["findings.misconfiguration"]+c["findings.secret"]), num(c["findings.misconfiguration"]), num(c["findings.secret"]))
	fmt.Fprintf(w, "| agents | %s | %s silent, %s revoked, the rest online |\n", num(c["agents"]), num(c["agentsSilent"]), num(c["agentsRevoked"]))
	fmt.Fprintf(w, "| events | %s | over %d days; 3.5%% alerts of high or critical severity |\n", num(c["events"]), days)
	fmt.Fprintf(w, "| trend | %d days | `RecordTrend` at the end of each simulated day |\n", c["trendDays"])
	fmt.Fprintf(w, "| users, API tokens, enrollment tokens, audit entries | %d, %d, %d, %s | |\n\n", c["users"], c["apiTokens"], c["enrollmentTokens"], num(c["audit"]))
	fmt.Fprintf(w, "| seeding step | store calls | seconds |\n|---|---:|---:|\n")
	for _, ph := range info.Phases {
		fmt.Fprintf(w, "| %s | %s | %.1f |\n", ph.Name, num(ph.Calls), ph.Seconds)
	}
	fmt.Fprintf(w, "\nThe pages open the riskiest host (`%s`), image and container, the vulnerability on the most assets (`%s`), the riskiest vulnerability (`%s`) and the package `%s`.\n\n",
		run.Picks.Host, run.Picks.PopularVuln, run.Picks.RiskiestVuln, run.Picks.Package)

	fmt.Fprintf(w, "## Console pages\n\nMilliseconds from request to the last byte of the HTML; each page also asks the API who the user is.\n\n")
	fmt.Fprintf(w, "| section | page | path | p50 | p95 | max | size | p95 < 1 s |\n|---|---|---|---:|---:|---:|---:|---|\n")
	for _, tg := range pages {
		fmt.Fprintf(w, "| %s | %s | `%s` | %s | %s | %s | %s | %s |\n", tg.Group, tg.Name, shortPath(tg.Path), msf(tg.P50), msf(tg.P95), msf(tg.Max), kib(tg.Bytes), verdict(tg, goal))
	}
	if len(run.Skipped) > 0 {
		fmt.Fprintf(w, "\nNot measured (the list has one page only, so there is no next page): %s.\n", strings.Join(run.Skipped, "; "))
	}
	fmt.Fprintf(w, "\n## API calls\n\nThe list calls the pages make, as the console makes them (its sort, order and page size of 50), "+
		"with the same session token as a bearer token: what a script or another client waits for.\n\n")
	fmt.Fprintf(w, "| page | call | p50 | p95 | max | size | p95 < 1 s |\n|---|---|---:|---:|---:|---:|---|\n")
	for _, tg := range apis {
		fmt.Fprintf(w, "| %s | `%s` | %s | %s | %s | %s | %s |\n", tg.Name, shortPath(tg.Path), msf(tg.P50), msf(tg.P95), msf(tg.Max), kib(tg.Bytes), verdict(tg, goal))
	}
	fmt.Fprintf(w, "\n%s", notes)
}

// shortPath shortens cursors in a path for the tables.
func shortPath(p string) string {
	if i := strings.Index(p, "cursor="); i >= 0 {
		end := strings.IndexByte(p[i:], '&')
		if end < 0 {
			end = len(p) - i
		}
		p = p[:i] + "cursor=…" + p[i+end:]
	}
	return strings.ReplaceAll(p, "|", `\|`)
}
