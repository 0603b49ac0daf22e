package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/vigil-sec/vigil/internal/finding"
	"github.com/vigil-sec/vigil/internal/iac"
	"github.com/vigil-sec/vigil/internal/iac/cloudformation"
	"github.com/vigil-sec/vigil/internal/iac/docker"
	"github.com/vigil-sec/vigil/internal/iac/kube"
	"github.com/vigil-sec/vigil/internal/iac/terraform"
	"github.com/vigil-sec/vigil/internal/policy"
	"github.com/vigil-sec/vigil/internal/report"
	"github.com/vigil-sec/vigil/internal/sarif"
)

const configUsage = `Usage: vigil scan config PATH [flags]

Finds insecure settings in infrastructure as code under PATH (a directory
or one file): Terraform (HCL with variables, modules, count/for_each; plan
JSON), Kubernetes manifests, Helm charts (rendered with their values),
Kustomize overlays, Dockerfiles, docker-compose files and CloudFormation.
Every finding names the file, the lines and the resource address.

Suppress a finding with a comment on its line, the line above, or the line
above its resource:  # vigil:ignore RULE-ID reason (the reason is required).

Memory: the scan aims to stay under 768 MiB (a soft limit; set GOMEMLIMIT
to change it).

Exit codes: 3 when a file could not be read (the rest is still reported),
4 when an unsuppressed finding is at or above --fail-on.

Flags:
`

type configFlags struct {
	format, output string
	failOn         string
	baseline       string
	writeBaseline  string
	rules          multiFlag
	noBuiltin      bool
	vars           multiFlag
	varFiles       multiFlag
	helmValues     multiFlag
	helmSet        multiFlag
	skip           multiFlag
	maxFileMB      int64
	timeout        time.Duration
	upload         uploadFlags
}

func (f *configFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.format, "format", "table", "output format: table, json or sarif")
	fs.StringVar(&f.format, "f", "table", "short for --format")
	fs.StringVar(&f.output, "output", "", "write the output to this file instead of stdout")
	fs.StringVar(&f.output, "o", "", "short for --output")
	fs.StringVar(&f.failOn, "fail-on", "", "exit with code 4 when an unsuppressed finding of this severity or higher is found (low, medium, high, critical)")
	fs.StringVar(&f.baseline, "baseline", "", "a baseline file: the findings it lists are accepted; only new ones fail")
	fs.StringVar(&f.writeBaseline, "write-baseline", "", "write every current finding to this file as the new baseline")
	fs.Var(&f.rules, "rules", "a directory of custom rule files (repeatable); added to the built-in rules")
	fs.BoolVar(&f.noBuiltin, "no-builtin", false, "evaluate only the rules given with --rules")
	fs.Var(&f.vars, "var", "a Terraform variable, NAME=VALUE (repeatable)")
	fs.Var(&f.varFiles, "var-file", "a Terraform .tfvars file, relative to PATH (repeatable)")
	fs.Var(&f.helmValues, "helm-values", "an extra values file for Helm charts, relative to PATH (repeatable)")
	fs.Var(&f.helmSet, "helm-set", "a Helm value, key=value (repeatable)")
	fs.Var(&f.skip, "skip-dir", "a directory name to leave out (repeatable)")
	fs.Int64Var(&f.maxFileMB, "max-file-mb", iac.DefaultMaxFileSize>>20, "files larger than this are reported as unread, not parsed")
	fs.DurationVar(&f.timeout, "timeout", 30*time.Minute, "give up after this long")
	f.upload.register(fs)
}

// configUploads are the findings a config scan uploads: the unsuppressed
// ones, identified by fingerprint (rule, file, address, attribute path).
func configUploads(fs []policy.Finding) []uploadFinding {
	out := make([]uploadFinding, 0, len(fs))
	for i := range fs {
		f := &fs[i]
		if f.Suppressed != "" {
			continue
		}
		title := f.Title
		if f.Address != "" {
			title += ": " + f.Address
		}
		out = append(out, newUploadFinding(f.Fingerprint, f.RuleID, f.Severity.String(), title, f))
	}
	return out
}

// truncateUTF8 cuts s to at most n bytes without splitting a character.
func truncateUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// configMemoryTarget is the soft memory limit of a config scan.
const configMemoryTarget = 768 << 20

// ConfigGateError says how many findings failed --fail-on; it is an
// ErrGate.
type ConfigGateError struct {
	Min   finding.Severity
	Count int
}

func (e *ConfigGateError) Error() string {
	return fmt.Sprintf("misconfigurations at or above the --fail-on severity (%s): %d found", e.Min, e.Count)
}

func (e *ConfigGateError) Unwrap() error { return ErrGate }

// configLoaders are every IaC format Vigil reads.
func configLoaders(f *configFlags) ([]iac.Loader, error) {
	vars := map[string]string{}
	for _, v := range f.vars {
		k, val, ok := strings.Cut(v, "=")
		if !ok || k == "" {
			return nil, usagef("--var %q: want NAME=VALUE", v)
		}
		vars[k] = val
	}
	return []iac.Loader{
		terraform.New(terraform.Options{Vars: vars, VarFiles: f.varFiles}),
		kube.New(kube.Options{HelmValues: f.helmValues, HelmSet: f.helmSet}),
		docker.NewDockerfile(),
		docker.NewCompose(),
		cloudformation.New(),
	}, nil
}

// loadRules returns the built-in rules (unless noBuiltin) and those under
// each directory, compiled.
func loadRules(dirs []string, noBuiltin bool) (*policy.Engine, error) {
	var rules []policy.Rule
	if !noBuiltin {
		b, err := policy.Builtin()
		if err != nil {
			return nil, fmt.Errorf("built-in rules: %w", err)
		}
		rules = b
	}
	for _, d := range dirs {
		rs, err := policy.LoadDir(os.DirFS(d), ".")
		if err != nil {
			return nil, fmt.Errorf("rules %s: %w", d, err)
		}
		rules = append(rules, rs...)
	}
	if len(rules) == 0 {
		return nil, usagef("no rules to evaluate (--no-builtin without --rules)")
	}
	seen := map[string]string{}
	for _, r := range rules {
		if prev, ok := seen[r.ID]; ok {
			return nil, fmt.Errorf("rule %s defined twice (%s and %s)", r.ID, prev, r.File)
		}
		seen[r.ID] = r.File
	}
	return policy.Compile(rules)
}

func runScanConfig(ctx context.Context, env *Env, args []string) error {
	var f configFlags
	fs := flag.NewFlagSet("vigil scan config", flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	fs.Usage = func() {
		fmt.Fprint(env.Stderr, configUsage)
		fs.PrintDefaults()
	}
	f.register(fs)
	pos, err := parseInterspersed(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return usagef("%v", err)
	}
	if len(pos) != 1 {
		fs.Usage()
		return usagef("scan config: want one PATH, got %d", len(pos))
	}
	failOn, err := checkFindingsOutput(f.format, f.failOn)
	if err != nil {
		return err
	}
	var base *policy.Baseline
	if f.baseline != "" {
		fh, err := os.Open(f.baseline)
		if err != nil {
			return fmt.Errorf("--baseline: %w", err)
		}
		base, err = policy.ReadBaseline(fh)
		fh.Close()
		if err != nil {
			return fmt.Errorf("--baseline %s: %w", f.baseline, err)
		}
	}
	loaders, err := configLoaders(&f)
	if err != nil {
		return err
	}
	engine, err := loadRules(f.rules, f.noBuiltin)
	if err != nil {
		return err
	}
	if f.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, f.timeout)
		defer cancel()
	}
	// A soft memory target keeps a scan of tens of thousands of files under
	// 1 GiB: the collector works harder near it instead of letting garbage
	// double the heap. GOMEMLIMIT, when set, wins.
	if env.getenv("GOMEMLIMIT") == "" {
		defer debug.SetMemoryLimit(debug.SetMemoryLimit(configMemoryTarget))
	}
	target := pos[0]
	scanned, err := iac.Scan(ctx, target, loaders, iac.Options{MaxFileSize: f.maxFileMB << 20, Skip: f.skip})
	if err != nil {
		return fmt.Errorf("scan config %s: %w", target, err)
	}
	res, err := engine.Evaluate(ctx, scanned.Resources)
	if err != nil {
		return fmt.Errorf("scan config %s: %w", target, err)
	}
	root := target
	if st, err := os.Stat(target); err == nil && !st.IsDir() {
		root = filepath.Dir(target)
	}
	read := &iac.Input{FS: os.DirFS(root), MaxFileSize: f.maxFileMB << 20}
	sup := policy.NewSuppressions(read.ReadFile)
	sup.Apply(res.Findings)
	if f.writeBaseline != "" {
		if err := writeOutput(io.Discard, f.writeBaseline, policy.NewBaseline(res.Findings).Write); err != nil {
			return err
		}
	}
	if base != nil {
		base.Apply(res.Findings)
	}
	rep := &report.ConfigReport{
		Target:     target,
		Findings:   res.Findings,
		Rules:      engine.Rules(),
		Problems:   scanned.Errors,
		RuleErrors: res.Errors,
		Warnings:   sup.Warnings,
		Files:      scanned.Files,
		Resources:  len(scanned.Resources),
	}
	write := func(w io.Writer) error {
		switch f.format {
		case "json":
			return report.WriteConfigJSON(w, rep, report.Tool{Name: "vigil", Version: env.Version}, env.now())
		case "sarif":
			return report.WriteConfigSARIF(w, rep, sarif.Tool{Name: "vigil", Version: env.Version, InformationURI: "https://github.com/vigil-sec/vigil"})
		}
		return report.WriteConfigTable(w, rep)
	}
	if err := writeOutput(env.Stdout, f.output, write); err != nil {
		return err
	}
	if err := f.upload.upload(ctx, env, target, "misconfiguration", configUploads(res.Findings)); err != nil {
		return err
	}
	if f.failOn != "" {
		if n := report.FailingConfig(rep, failOn); n > 0 {
			return &ConfigGateError{Min: failOn, Count: n}
		}
	}
	if len(scanned.Errors) > 0 {
		return ErrIncomplete
	}
	return nil
}
