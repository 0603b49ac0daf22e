package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
)

// finding is one tool finding, reduced to what the scoring needs.
type finding struct {
	Rule   string `json:"rule"`
	Path   string `json:"path"`
	Line   int    `json:"line"`
	Commit string `json:"commit,omitempty"`
}

// extra is a finding on a line where nothing was planted.
type extra struct {
	finding
	Class   string `json:"class"`
	Excerpt string `json:"excerpt"`
}

type typeScore struct {
	Planted int `json:"planted"`
	Found   int `json:"found"`
}

type score struct {
	Tool            string                `json:"tool"`
	Mode            string                `json:"mode"`
	Findings        int                   `json:"findings"`
	Locations       int                   `json:"locations"` // distinct (path, line)
	Planted         int                   `json:"planted"`
	Found           int                   `json:"found"`
	MatchedLocs     int                   `json:"matchedLocations"`
	ExtraLocs       int                   `json:"extraLocations"`
	Recall          float64               `json:"recall"`
	Precision       float64               `json:"precision"`
	ByType          map[string]*typeScore `json:"byType"`
	ByWhere         map[string]*typeScore `json:"byWhere"`
	ExtraRules      map[string]int        `json:"extraRules"`
	ExtraSample     []extra               `json:"extraSample"`
	ExtraClassCount map[string]int        `json:"extraClassCount"`
}

func loadFindings(tool, report, root string) ([]finding, error) {
	data, err := os.ReadFile(report)
	if err != nil {
		return nil, err
	}
	var fs []finding
	switch tool {
	case "gitleaks":
		var raw []struct {
			RuleID    string
			File      string
			StartLine int
			Commit    string
		}
		if err := json.Unmarshal(data, &raw); err != nil {
			return nil, fmt.Errorf("%s: %v", report, err)
		}
		for _, x := range raw {
			fs = append(fs, finding{Rule: x.RuleID, Path: x.File, Line: x.StartLine, Commit: x.Commit})
		}
	case "vigil":
		type vf struct {
			RuleID string `json:"ruleId"`
			Path   string `json:"path"`
			Line   int    `json:"line"`
			Commit string `json:"commit"`
		}
		var doc struct {
			Findings []vf `json:"findings"`
		}
		if err := json.Unmarshal(data, &doc); err != nil {
			var arr []vf
			if err2 := json.Unmarshal(data, &arr); err2 != nil {
				return nil, fmt.Errorf("%s: %v", report, err)
			}
			doc.Findings = arr
		}
		for _, x := range doc.Findings {
			fs = append(fs, finding{Rule: x.RuleID, Path: x.Path, Line: x.Line, Commit: x.Commit})
		}
	default:
		return nil, fmt.Errorf("unknown tool %q", tool)
	}
	prefixes := []string{root + "/"}
	if abs, err := filepath.Abs(root); err == nil {
		prefixes = append(prefixes, abs+"/")
	}
	for i := range fs {
		p := fs[i].Path
		for _, pre := range prefixes {
			p = strings.TrimPrefix(p, pre)
		}
		fs[i].Path = strings.TrimPrefix(p, "./")
	}
	return fs, nil
}

var (
	reTestPath  = regexp.MustCompile(`(?i)(^|/)(test|tests|testdata|testing|fixtures?|examples?|mock|mocks|spec|_test\.go$|.*_test\.)`)
	reDocPath   = regexp.MustCompile(`(?i)\.(md|rst|txt|html?|adoc|markdown)$`)
	rePlacehold = regexp.MustCompile(`(?i)example|x{6,}|your[_-]|<[a-z_-]+>|\$\{|changeme|dummy|fake|sample|placeholder|redacted|0{8,}|1234567|[0-9a-z]\.\.\.|…`)
	reNotValue  = regexp.MustCompile(`(?i)[:=]\s*["'\x60]?(https?://[^"'\x60@]*["'\x60]|urn:[a-z0-9:._-]+)`)
	reHashCtx   = regexp.MustCompile(`(?i)sha1|sha256|sha512|hash|digest|checksum|integrity|h1:|sum\b|uuid|nonce|salt|iv\b|vector`)
)

// classify puts an extra finding into a coarse class from its path and
// line. It is a heuristic reading, reported as such.
func classify(path, line string) string {
	switch {
	case reNotValue.MatchString(line):
		return "URL or URN, no credential in it (false positive)"
	case rePlacehold.MatchString(line):
		return "placeholder / documented example value"
	case reTestPath.MatchString(path):
		return "test fixture or example (test path)"
	case reHashCtx.MatchString(line):
		return "hash, checksum or test vector (not a secret)"
	case reDocPath.MatchString(path):
		return "documentation"
	default:
		return "other high-entropy literal (needs a human look)"
	}
}

func scoreCmd(args []string) error {
	fl := flag.NewFlagSet("score", flag.ExitOnError)
	truthPath := fl.String("truth", "", "truth.tsv")
	root := fl.String("root", "", "corpus tree (for paths and excerpts)")
	tool := fl.String("tool", "", "vigil or gitleaks")
	mode := fl.String("mode", "dir", "dir or git")
	report := fl.String("report", "", "the tool's JSON report")
	out := fl.String("out", "", "score JSON to write")
	sample := fl.Int("sample", 20, "extras to sample and classify")
	fl.Parse(args)
	if *truthPath == "" || *root == "" || *tool == "" || *report == "" || *out == "" {
		return errors.New("score: -truth, -root, -tool, -report and -out are required")
	}
	truth, err := readTruth(*truthPath)
	if err != nil {
		return err
	}
	fs, err := loadFindings(*tool, *report, *root)
	if err != nil {
		return err
	}
	type loc struct {
		path string
		line int
	}
	// planted lines -> truth index
	at := map[loc]int{}
	for i, t := range truth {
		for l := t.Line; l <= t.Last; l++ {
			at[loc{t.Path, l}] = i
		}
	}
	s := &score{Tool: *tool, Mode: *mode, Findings: len(fs), Planted: len(truth),
		ByType: map[string]*typeScore{}, ByWhere: map[string]*typeScore{},
		ExtraRules: map[string]int{}, ExtraClassCount: map[string]int{}}
	for _, t := range truth {
		if s.ByType[t.Type] == nil {
			s.ByType[t.Type] = &typeScore{}
		}
		if s.ByWhere[t.Where] == nil {
			s.ByWhere[t.Where] = &typeScore{}
		}
		s.ByType[t.Type].Planted++
		s.ByWhere[t.Where].Planted++
	}
	found := map[int]bool{}
	seen := map[loc]bool{}
	var extras []extra
	for _, f := range fs {
		k := loc{f.Path, f.Line}
		if seen[k] {
			continue
		}
		seen[k] = true
		if i, ok := at[k]; ok {
			s.MatchedLocs++
			found[i] = true
			continue
		}
		s.ExtraLocs++
		s.ExtraRules[f.Rule]++
		extras = append(extras, extra{finding: f})
	}
	s.Locations = len(seen)
	for i := range found {
		s.Found++
		s.ByType[truth[i].Type].Found++
		s.ByWhere[truth[i].Where].Found++
	}
	if s.Planted > 0 {
		s.Recall = float64(s.Found) / float64(s.Planted)
	}
	if s.Locations > 0 {
		s.Precision = float64(s.MatchedLocs) / float64(s.Locations)
	}
	// Classify every extra (cheap) and keep a seeded sample of them.
	lineCache := map[string][]string{}
	for i := range extras {
		e := &extras[i]
		lines, ok := lineCache[e.Path]
		if !ok {
			data, _ := os.ReadFile(filepath.Join(*root, e.Path))
			lines = strings.Split(string(data), "\n")
			lineCache[e.Path] = lines
			if len(lineCache) > 2000 {
				lineCache = map[string][]string{}
			}
		}
		if e.Line >= 1 && e.Line <= len(lines) {
			e.Excerpt = strings.TrimSpace(lines[e.Line-1])
		}
		e.Class = classify(e.Path, e.Excerpt)
		s.ExtraClassCount[e.Class]++
		if len(e.Excerpt) > 120 {
			e.Excerpt = e.Excerpt[:120] + "…"
		}
	}
	sort.Slice(extras, func(i, j int) bool {
		if extras[i].Path != extras[j].Path {
			return extras[i].Path < extras[j].Path
		}
		return extras[i].Line < extras[j].Line
	})
	r := rand.New(rand.NewPCG(20, 26))
	r.Shuffle(len(extras), func(i, j int) { extras[i], extras[j] = extras[j], extras[i] })
	if len(extras) > *sample {
		extras = extras[:*sample]
	}
	s.ExtraSample = extras
	data, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	fmt.Printf("%s %s: %d findings, %d/%d planted found (recall %.3f), %d extra locations\n",
		*tool, *mode, s.Findings, s.Found, s.Planted, s.Recall, s.ExtraLocs)
	return os.WriteFile(*out, data, 0o644)
}
