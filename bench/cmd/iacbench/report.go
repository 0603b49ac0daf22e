package main

import (
	"bufio"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// A run of one tool on one corpus, from times.tsv.
type timing struct {
	wall   []float64
	rssKB  []float64
	exit   []int
	counts [2]int // findings, files with findings
	note   string
}

func readTSV(path string) ([][]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var rows [][]string
	sc := bufio.NewScanner(f)
	first := true
	for sc.Scan() {
		if first {
			first = false
			continue
		}
		if sc.Text() == "" {
			continue
		}
		rows = append(rows, strings.Split(sc.Text(), "\t"))
	}
	return rows, sc.Err()
}

func readEnv(path string) map[string]string {
	m := map[string]string{}
	f, err := os.Open(path)
	if err != nil {
		return m
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, _ := strings.Cut(sc.Text(), "\t")
		m[k] = v
	}
	return m
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}

// report writes the Markdown report of the run in work.
func report(work, out string) error {
	env := readEnv(filepath.Join(work, "env.tsv"))
	times, err := readTSV(filepath.Join(work, "times.tsv"))
	if err != nil {
		return err
	}
	type key struct{ corpus, tool string }
	runs := map[key]*timing{}
	var corpora []string
	get := func(k key) *timing {
		t, ok := runs[k]
		if !ok {
			t = &timing{}
			runs[k] = t
			if !slices.Contains(corpora, k.corpus) {
				corpora = append(corpora, k.corpus)
			}
		}
		return t
	}
	for _, r := range times { // corpus tool run wall_s maxrss_kb exit
		if len(r) < 6 {
			continue
		}
		t := get(key{r[0], r[1]})
		w, _ := strconv.ParseFloat(r[3], 64)
		rss, _ := strconv.ParseFloat(r[4], 64)
		ex, _ := strconv.Atoi(r[5])
		t.wall = append(t.wall, w)
		t.rssKB = append(t.rssKB, rss)
		t.exit = append(t.exit, ex)
	}
	counts, _ := readTSV(filepath.Join(work, "counts.tsv"))
	for _, r := range counts { // corpus tool findings files
		if len(r) < 4 {
			continue
		}
		t := get(key{r[0], r[1]})
		t.counts[0], _ = strconv.Atoi(r[2])
		t.counts[1], _ = strconv.Atoi(r[3])
	}
	notes, _ := readTSV(filepath.Join(work, "notes.tsv"))
	for _, r := range notes { // corpus tool note
		if len(r) >= 3 {
			get(key{r[0], r[1]}).note = r[2]
		}
	}
	files := map[string]string{}
	for _, r := range mustTSV(filepath.Join(work, "corpora.tsv")) { // name files dir
		if len(r) >= 2 {
			files[r[0]] = r[1]
		}
	}

	var b strings.Builder
	fmt.Fprintf(&b, "# Configuration scanning benchmark (issue 6)\n\n")
	fmt.Fprintf(&b, "Written by `bench/iac.sh` on %s. Machine: %s, %s cores, %s KiB RAM, kernel %s, %s. Vigil %s; peers %s.\n\n",
		env["date"], env["cpu"], env["nproc"], env["mem_kb"], env["kernel"], env["go"], env["vigil"], env["peers"])
	fmt.Fprintf(&b, "Each tool scans the same generated corpus (bench/cmd/iacbench: Terraform stacks with variables, tfvars, locals, local modules called with `for_each`, `count`, dynamic blocks and functions; Kubernetes manifests one per file). Wall time is the median of %s measured runs after %s warm-up run(s) (peers: %s run(s)); peak RSS from GNU time. Findings are what each tool reports with its default rule set — the rule sets differ, so the counts describe coverage, not correctness. Goal: Vigil at least 5× faster than the fastest peer, and under 1 GiB RSS at 30,000 files.\n\n",
		env["runs"], env["warmup"], env["peer_runs"])
	fmt.Fprintf(&b, "| corpus | files | tool | wall (s) | peak RSS (MiB) | findings | files with findings | findings / file | speed-up vs fastest peer |\n")
	fmt.Fprintf(&b, "|---|---:|---|---:|---:|---:|---:|---:|---:|\n")
	var goals []string
	for _, c := range corpora {
		fastest := math.Inf(1)
		fastestName := ""
		for _, p := range []string{"tfsec", "kics"} {
			if t, ok := runs[key{c, p}]; ok && len(t.wall) > 0 && t.note == "" {
				if w := median(t.wall); w < fastest {
					fastest, fastestName = w, p
				}
			}
		}
		for _, tool := range []string{"vigil", "tfsec", "kics"} {
			t, ok := runs[key{c, tool}]
			if !ok {
				continue
			}
			n, _ := strconv.Atoi(files[c])
			wall, rss := median(t.wall), median(t.rssKB)/1024
			fpf := "–"
			if n > 0 {
				fpf = fmt.Sprintf("%.2f", float64(t.counts[0])/float64(n))
			}
			speed := ""
			if tool == "vigil" && fastestName != "" {
				speed = fmt.Sprintf("**%.1f×** (vs %s)", fastest/wall, fastestName)
				ok := fastest/wall >= 5
				line := fmt.Sprintf("- %s: %.1f× faster than %s — %s", c, fastest/wall, fastestName, met(ok))
				if strings.Contains(c, "30000") {
					line += fmt.Sprintf("; peak RSS %.0f MiB — %s", rss, met(rss < 1024))
				}
				goals = append(goals, line)
			}
			wallText := fmt.Sprintf("%.2f", wall)
			if t.note != "" {
				wallText = t.note
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %.0f | %d | %d | %s | %s |\n", c, files[c], tool, wallText, rss, t.counts[0], t.counts[1], fpf, speed)
		}
	}
	fmt.Fprintf(&b, "\n## Goals\n\n%s\n", strings.Join(goals, "\n"))
	fmt.Fprintf(&b, "\nLoad average at start/end: %s / %s.\n", env["loadavg_start"], env["loadavg_end"])
	return os.WriteFile(out, []byte(b.String()), 0o644)
}

func mustTSV(path string) [][]string {
	rows, _ := readTSV(path)
	return rows
}

func met(ok bool) string {
	if ok {
		return "met"
	}
	return "**not met**"
}
