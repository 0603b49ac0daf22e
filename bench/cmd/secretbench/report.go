package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

func readKV(path string) map[string]string {
	m := map[string]string{}
	data, _ := os.ReadFile(path)
	for _, l := range strings.Split(string(data), "\n") {
		if k, v, ok := strings.Cut(l, "\t"); ok {
			m[k] = v
		}
	}
	return m
}

// timing is the median of one tool's measured runs on one input.
type timing struct {
	n                int
	wall, lo, hi     float64
	rssKB            float64
	cpu              float64
	failed           int
	measuredAnything bool
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func readTimes(path string) map[string]*timing {
	data, _ := os.ReadFile(path)
	walls := map[string][]float64{}
	rss := map[string][]float64{}
	cpu := map[string][]float64{}
	fails := map[string]int{}
	for i, l := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		f := strings.Split(l, "\t")
		if i == 0 || len(f) != 7 {
			continue
		}
		run, _ := strconv.Atoi(f[2])
		if run < 1 { // warm-up
			continue
		}
		k := f[0] + "/" + f[1]
		w, _ := strconv.ParseFloat(f[3], 64)
		r, _ := strconv.ParseFloat(f[4], 64)
		c, _ := strconv.ParseFloat(f[5], 64)
		walls[k] = append(walls[k], w)
		rss[k] = append(rss[k], r)
		cpu[k] = append(cpu[k], c)
		if f[6] != "0" {
			fails[k]++
		}
	}
	out := map[string]*timing{}
	for k, ws := range walls {
		s := append([]float64(nil), ws...)
		sort.Float64s(s)
		out[k] = &timing{n: len(ws), wall: median(ws), lo: s[0], hi: s[len(s)-1],
			rssKB: median(rss[k]), cpu: median(cpu[k]), failed: fails[k], measuredAnything: true}
	}
	return out
}

func readScore(path string) *score {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	var s score
	if json.Unmarshal(data, &s) != nil {
		return nil
	}
	return &s
}

func reportCmd(args []string) error {
	fl := flag.NewFlagSet("report", flag.ExitOnError)
	work := fl.String("work", "", "run directory")
	out := fl.String("out", "", "markdown file to write")
	fl.Parse(args)
	if *work == "" || *out == "" {
		return errors.New("report: -work and -out are required")
	}
	env := readKV(filepath.Join(*work, "env.tsv"))
	corp := readKV(filepath.Join(*work, "corpus.tsv"))
	times := readTimes(filepath.Join(*work, "times.tsv"))
	corpusBytes, _ := strconv.ParseFloat(corp["bytes"], 64)
	mib := corpusBytes / (1 << 20)
	tools := []string{"vigil", "gitleaks"}
	inputs := []string{"dir", "git"}
	inputName := map[string]string{"dir": "directory scan", "git": "git history scan"}
	scores := map[string]*score{}
	for _, in := range inputs {
		for _, t := range tools {
			scores[in+"/"+t] = readScore(filepath.Join(*work, "cmp", in+"-"+t+".json"))
		}
	}

	var b bytes.Buffer
	p := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	p("# Secret scanning benchmark\n\n")
	p("Vigil's secret scanning speed, memory and accuracy, measured side by side with\n")
	p("[gitleaks](https://github.com/gitleaks/gitleaks) on the same inputs (issue 7).\n")
	p("Written by `bash bench/secrets.sh` (see the comment at its top); do not edit by hand.\n\n")
	p("- Date: %s\n", env["date"])
	p("- Machine: %s CPUs (%s), %.1f GiB RAM, Linux %s; shared with other work (load average %s at the start, %s at the end)\n",
		env["nproc"], env["cpu"], atof(env["mem_kb"])/(1<<20), env["kernel"], env["loadavg_start"], env["loadavg_end"])
	p("- Vigil: %s (built from the working tree with %s)", env["vigil"], env["go"])
	if env["vigil_measured"] != "1" {
		p(" — **not measured**: this tree's `vigil` does not build or has no `scan secrets` yet")
	}
	p("\n- gitleaks: %s (`go install github.com/zricethezav/gitleaks/v8@%s`, default rules)\n", env["gitleaks"], env["gitleaks"])
	p("- git %s\n", env["git"])
	for _, in := range []string{"dir", "git"} {
		pf := env["peer_from_"+in]
		if pf == "" {
			pf = env["peer_from"] // one directory for both inputs (older runs)
		}
		if pf == "" {
			continue
		}
		f := strings.Split(pf, "\t")
		for len(f) < 4 {
			f = append(f, "?")
		}
		p("- **gitleaks' %s was not re-measured in this run**: its times and report are those of the run of %s\n", map[string]string{"dir": "directory scan", "git": "git history scan"}[in], f[1])
		p("  (`%s`: median of %s run(s) after %s warm-up run(s)) on the same corpora, gitleaks version and machine\n", f[0], f[2], f[3])
	}
	p("- Runs: median of %s measured runs (unless the table says otherwise) after %s unmeasured warm-up run(s); wall time from bash's clock around GNU time, peak RSS is GNU time's %%M\n\n", env["runs"], env["warmup"])

	p("## Inputs\n\n")
	p("- **Directory**: %s files, %.0f MiB (%s bytes) of source text copied from the Go module cache\n", corp["files"], mib, corp["bytes"])
	p("  (text only: files with a NUL byte in their first 8 KiB, archives, images, and files over 8 MiB left out),\n")
	p("  with %s secrets of 12 types planted into random files at random lines\n", corp["secrets"])
	p("  (seed %s; `truth.tsv` next to the corpus says where). No secret is planted into go.mod, go.sum,\n", corp["seed"])
	p("  lock files or vendor/ (files both tools skip on purpose). The values are random but format-valid:\n")
	p("  AWS `AKIA…` key id + secret key pairs, GitHub `ghp_` tokens with a valid CRC32/base62 checksum,\n")
	p("  Alibaba `LTAI…` id + 30-character secret pairs, Tencent `AKID…` id + key pairs, Slack `xoxb-`,\n")
	p("  Stripe `sk_live_`, GitLab `glpat-`, EC private key PEM blocks, database URIs with a password,\n")
	p("  HS256 JWTs, Google `AIza…` API keys and SendGrid `SG.` keys.\n")
	p("- **Git history**: a repository of %s commits (`git fast-import`) adding the same files in batches;\n", env["git_commits"])
	p("  every 50 commits one more secret is added to a file and removed again 10 commits later\n")
	p("  (secrets that exist only in the history). Throughput is the directory corpus's bytes ÷ wall time.\n\n")

	p("## Speed and memory\n\n")
	p("| input | tool | wall (median, range) | MiB/s | peak RSS | CPU time | findings |\n")
	p("|---|---|---|---|---|---|---|\n")
	for _, in := range inputs {
		for _, t := range tools {
			tm := times[in+"/"+t]
			if tm == nil {
				p("| %s | %s | not measured | | | | |\n", inputName[in], t)
				continue
			}
			f := "—"
			if s := scores[in+"/"+t]; s != nil {
				f = strconv.Itoa(s.Findings)
			}
			fail := ""
			if tm.failed > 0 {
				fail = fmt.Sprintf(" (%d run(s) exited non-zero)", tm.failed)
			}
			p("| %s | %s | %.1f s (%.1f–%.1f, %d run(s))%s | %.1f | %.0f MiB | %.1f s | %s |\n", inputName[in], t,
				tm.wall, tm.lo, tm.hi, tm.n, fail, mib/tm.wall, tm.rssKB/1024, tm.cpu, f)
		}
	}
	p("\n")

	p("## Accuracy against the planted secrets\n\n")
	p("A finding is a true positive when it is on a line of a planted secret (any line of a\n")
	p("multi-line secret: key pairs, PEM blocks). Recall = planted secrets found ÷ planted.\n")
	p("Precision = distinct finding locations (file, line) on planted lines ÷ all distinct\n")
	p("finding locations: a **lower bound**, since a finding on an unplanted line may be a real\n")
	p("secret already in the module cache (test keys, documented examples); see the extras below.\n\n")
	p("| input | tool | planted | found | recall | finding locations | on planted lines | extra | precision |\n")
	p("|---|---|---|---|---|---|---|---|---|\n")
	for _, in := range inputs {
		for _, t := range tools {
			s := scores[in+"/"+t]
			if s == nil {
				p("| %s | %s | | not measured | | | | | |\n", inputName[in], t)
				continue
			}
			p("| %s | %s | %d | %d | %.1f%% | %d | %d | %d | %.1f%% |\n", inputName[in], t, s.Planted, s.Found,
				100*s.Recall, s.Locations, s.MatchedLocs, s.ExtraLocs, 100*s.Precision)
		}
	}
	p("\n### Recall by secret type\n\n")
	p("| input | type | planted |")
	for _, t := range tools {
		p(" %s |", t)
	}
	p("\n|---|---|---|---|---|\n")
	for _, in := range inputs {
		var types []string
		var ref *score
		for _, t := range tools {
			if s := scores[in+"/"+t]; s != nil {
				ref = s
			}
		}
		if ref == nil {
			continue
		}
		for k := range ref.ByType {
			types = append(types, k)
		}
		for k := range ref.ByWhere {
			if k == "history" {
				types = append(types, "(history only)")
			}
		}
		sort.Strings(types)
		for _, ty := range types {
			var planted int
			if ty == "(history only)" {
				planted = ref.ByWhere["history"].Planted
			} else {
				planted = ref.ByType[ty].Planted
			}
			p("| %s | %s | %d |", inputName[in], ty, planted)
			for _, t := range tools {
				s := scores[in+"/"+t]
				switch {
				case s == nil:
					p(" — |")
				case ty == "(history only)":
					p(" %d |", s.ByWhere["history"].Found)
				default:
					p(" %d |", s.ByType[ty].Found)
				}
			}
			p("\n")
		}
	}

	p("\n### Findings on unplanted lines\n\n")
	p("Classes are a heuristic reading of the path and line (placeholder words, test paths,\n")
	p("hash/checksum context, documentation), applied to every extra finding; the 20 sampled\n")
	p("(seeded) per tool and input are listed for a human to check.\n\n")
	for _, in := range inputs {
		for _, t := range tools {
			s := scores[in+"/"+t]
			if s == nil || s.ExtraLocs == 0 {
				continue
			}
			p("#### %s, %s: %d extra locations\n\n", t, inputName[in], s.ExtraLocs)
			p("By rule: %s. By class: %s.\n\n", countList(s.ExtraRules), countList(s.ExtraClassCount))
			p("| file:line | rule | class | line (trimmed) |\n|---|---|---|---|\n")
			for _, e := range s.ExtraSample {
				ex := strings.NewReplacer("|", "\\|", "`", "'").Replace(e.Excerpt)
				p("| `%s:%d` | %s | %s | `%s` |\n", shorten(e.Path), e.Line, e.Rule, e.Class, ex)
			}
			p("\n")
		}
	}

	broken := map[string]bool{}
	for _, in := range inputs {
		if v := scores[in+"/vigil"]; v != nil && v.Found == 0 {
			broken[in] = true
			p("**Vigil found none of the planted secrets in the %s**: its detectors are not working in\n", inputName[in])
			p("this build (%d findings in all), so its speed there measures an incomplete scanner and the\n", v.Findings)
			p("speed goal is not assessed.\n\n")
		}
	}

	p("## Goals (issue 7)\n\n")
	p("| goal | result | status |\n|---|---|---|\n")
	for _, in := range inputs {
		v, g := times[in+"/vigil"], times[in+"/gitleaks"]
		if v == nil || g == nil {
			p("| ≥ 10× gitleaks' throughput, %s | %s | not measured |\n", inputName[in], onlyOne(v, g, mib))
			continue
		}
		ratio := g.wall / v.wall
		if broken[in] {
			p("| ≥ 10× gitleaks' throughput, %s | %.1f MiB/s vs %.1f MiB/s, but Vigil found nothing | not assessed |\n", inputName[in], mib/v.wall, mib/g.wall)
			continue
		}
		p("| ≥ 10× gitleaks' throughput, %s | %.1f× (%.1f vs %.1f MiB/s) | %s |\n", inputName[in], ratio, mib/v.wall, mib/g.wall, met(ratio >= 10))
	}
	for _, in := range inputs {
		v, g := scores[in+"/vigil"], scores[in+"/gitleaks"]
		if v == nil || g == nil {
			p("| recall ≥ gitleaks', %s | | not measured |\n", inputName[in])
			continue
		}
		p("| recall ≥ gitleaks', %s | %.1f%% vs %.1f%% | %s |\n", inputName[in], 100*v.Recall, 100*g.Recall, met(v.Found >= g.Found))
	}
	for _, in := range inputs {
		v := times[in+"/vigil"]
		if v == nil {
			p("| peak RSS < 512 MiB, %s | | not measured |\n", inputName[in])
			continue
		}
		p("| peak RSS < 512 MiB, %s | %.0f MiB | %s |\n", inputName[in], v.rssKB/1024, met(v.rssKB/1024 < 512))
	}
	p("\nRun directory (reports, logs, raw times): `%s`.\n", *work)
	return os.WriteFile(*out, b.Bytes(), 0o644)
}

func atof(s string) float64 { f, _ := strconv.ParseFloat(s, 64); return f }

func met(ok bool) string {
	if ok {
		return "**met**"
	}
	return "**not met**"
}

func onlyOne(v, g *timing, mib float64) string {
	switch {
	case g != nil:
		return fmt.Sprintf("gitleaks alone: %.1f MiB/s", mib/g.wall)
	case v != nil:
		return fmt.Sprintf("vigil alone: %.1f MiB/s", mib/v.wall)
	}
	return ""
}

func countList(m map[string]int) string {
	type kv struct {
		k string
		v int
	}
	var l []kv
	for k, v := range m {
		l = append(l, kv{k, v})
	}
	sort.Slice(l, func(i, j int) bool { return l[i].v > l[j].v || l[i].v == l[j].v && l[i].k < l[j].k })
	var parts []string
	for _, x := range l {
		parts = append(parts, fmt.Sprintf("%s %d", x.k, x.v))
	}
	return strings.Join(parts, ", ")
}

// shorten keeps the module and the file name of a long path.
func shorten(p string) string {
	if len(p) <= 90 {
		return p
	}
	return p[:40] + "…" + p[len(p)-45:]
}
