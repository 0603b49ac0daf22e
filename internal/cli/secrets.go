package cli

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/vigil-sec/vigil/internal/finding"
	"github.com/vigil-sec/vigil/internal/image"
	"github.com/vigil-sec/vigil/internal/report"
	"github.com/vigil-sec/vigil/internal/sarif"
	"github.com/vigil-sec/vigil/internal/secret"
)

const secretsUsage = `Usage: vigil scan secrets [--git | --image] TARGET [flags]

Finds leaked credentials. TARGET is a directory (its working tree), or with
--git a repository whose whole history is scanned, or with --image an image
reference (every layer, files deleted by later layers included). Secrets are
never printed: only a redacted form and a fingerprint.

Exit codes: 3 when part of the target could not be read, 4 when an
unsuppressed finding is at or above --fail-on.

Flags:
`

// secretsFlags are the options of 'vigil scan secrets'.
type secretsFlags struct {
	git, image     bool
	gitignore      bool
	since          string
	format, output string
	failOn         string
	baseline       string
	writeBaseline  string
	maxFileMB      int64
	platform       string
	insecure       bool
	timeout        time.Duration
	logLevel       string
	upload         uploadFlags
}

func (f *secretsFlags) register(fs *flag.FlagSet) {
	fs.BoolVar(&f.git, "git", false, "TARGET is a git repository: scan every commit of its history")
	fs.BoolVar(&f.image, "image", false, "TARGET is an image reference: scan every layer")
	fs.BoolVar(&f.gitignore, "gitignore", false, "for a directory: skip what .gitignore files exclude")
	fs.StringVar(&f.since, "since", "", "with --git: only commits after this date (YYYY-MM-DD) or commit")
	fs.StringVar(&f.format, "format", "table", "output format: table, json or sarif")
	fs.StringVar(&f.format, "f", "table", "short for --format")
	fs.StringVar(&f.output, "output", "", "write the output to this file instead of stdout")
	fs.StringVar(&f.output, "o", "", "short for --output")
	fs.StringVar(&f.failOn, "fail-on", "", "exit with code 4 when an unsuppressed finding of this severity or higher is found (low, medium, high, critical)")
	fs.StringVar(&f.baseline, "baseline", "", "a baseline file: the findings it lists are suppressed")
	fs.StringVar(&f.writeBaseline, "write-baseline", "", "write every current finding to this file as the new baseline")
	fs.Int64Var(&f.maxFileMB, "max-file-mb", 64, "scan at most this many MiB of each file, archive member or git blob; larger ones are reported as incomplete")
	fs.StringVar(&f.platform, "platform", "", "with --image: platform os/arch[/variant] of a multi-platform image")
	fs.BoolVar(&f.insecure, "insecure", false, "with --image: allow plain-HTTP registries")
	fs.DurationVar(&f.timeout, "timeout", 30*time.Minute, "give up after this long")
	fs.StringVar(&f.logLevel, "log-level", "warn", "log level: debug, info, warn, error")
	f.upload.register(fs)
}

// check rejects contradictory flags before any work is done.
func (f *secretsFlags) check() (failOn finding.Severity, err error) {
	switch {
	case f.git && f.image:
		return 0, usagef("scan secrets: --git and --image exclude each other")
	case f.since != "" && !f.git:
		return 0, usagef("scan secrets: --since needs --git")
	case f.gitignore && (f.git || f.image):
		return 0, usagef("scan secrets: --gitignore applies to directories only")
	case (f.platform != "" || f.insecure) && !f.image:
		return 0, usagef("scan secrets: --platform and --insecure need --image")
	case f.maxFileMB <= 0:
		return 0, usagef("scan secrets: --max-file-mb must be positive")
	}
	return checkFindingsOutput(f.format, f.failOn)
}

// checkFindingsOutput checks the --format (table, json or sarif) and
// --fail-on flags every findings command shares, and returns the gate.
func checkFindingsOutput(format, failOn string) (finding.Severity, error) {
	switch format {
	case "table", "json", "sarif":
	default:
		return 0, usagef("unknown --format %q (want table, json or sarif)", format)
	}
	if failOn == "" {
		return 0, nil
	}
	sev, err := finding.ParseSeverity(failOn)
	if err != nil {
		return 0, usagef("--fail-on: %v", err)
	}
	return sev, nil
}

// SecretsGateError says how many findings failed --fail-on; it is an
// ErrGate.
type SecretsGateError struct {
	Min   finding.Severity
	Count int
}

func (e *SecretsGateError) Error() string {
	return fmt.Sprintf("secrets at or above the --fail-on severity (%s): %d found", e.Min, e.Count)
}

func (e *SecretsGateError) Unwrap() error { return ErrGate }

func runSecrets(ctx context.Context, env *Env, args []string) error {
	var f secretsFlags
	fs := flag.NewFlagSet("vigil scan secrets", flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	fs.Usage = func() {
		fmt.Fprint(env.Stderr, secretsUsage)
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
		return usagef("scan secrets: want one TARGET, got %d", len(pos))
	}
	target := pos[0]
	failOn, err := f.check()
	if err != nil {
		return err
	}
	var base *secret.Baseline
	if f.baseline != "" {
		if base, err = loadBaseline(f.baseline); err != nil {
			return err
		}
	}
	log, err := newLogger(env.Stderr, f.logLevel)
	if err != nil {
		return err
	}
	if f.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, f.timeout)
		defer cancel()
	}
	maxSize := f.maxFileMB << 20
	s, err := secret.NewScanner(secret.DefaultRules(), secret.Options{MaxFileSize: maxSize})
	if err != nil {
		return err
	}

	rep := &report.SecretReport{Target: report.SecretTarget{Kind: "directory", Name: target}}
	var res *secret.Result
	switch {
	case f.git:
		rep.Target.Kind = "git"
		res, err = secret.ScanGit(ctx, s, target, secret.GitOptions{Since: f.since, MaxBlobSize: maxSize})
	case f.image:
		rep.Target.Kind = "image"
		res, err = scanSecretsImage(ctx, s, &f, target, &rep.Target, secret.DirOptions{MaxFileSize: maxSize})
	default:
		res, err = secret.ScanDir(ctx, s, target, secret.DirOptions{Gitignore: f.gitignore, MaxFileSize: maxSize})
	}
	if err != nil {
		return err
	}
	log.Debug("secrets scanned", "target", target, "kind", rep.Target.Kind, "findings", len(res.Findings),
		"problems", len(res.Problems), "files", res.Files, "commits", res.Commits)

	if f.writeBaseline != "" {
		err := writeOutput(env.Stdout, f.writeBaseline, func(w io.Writer) error { return secret.WriteBaseline(w, res.Findings) })
		if err != nil {
			return err
		}
	}
	if base != nil {
		base.Apply(res.Findings)
	}
	rep.Findings = res.Findings
	rep.Problems = res.Problems
	rep.Stats = report.SecretStats{Files: res.Files, Bytes: res.Bytes, Blobs: res.Blobs, Commits: res.Commits}

	if err := writeOutput(env.Stdout, f.output, func(w io.Writer) error { return writeSecrets(w, env, f.format, rep) }); err != nil {
		return err
	}
	if f.image && f.upload.asset == "" {
		f.upload.asset = target // an image is named by its reference, not a path
	}
	if err := f.upload.upload(ctx, env, target, "secret", secretUploads(rep.Findings)); err != nil {
		return err
	}
	if f.failOn != "" {
		n := 0
		for _, fd := range rep.Findings {
			if fd.Suppressed == "" && fd.Severity >= failOn {
				n++
			}
		}
		if n > 0 {
			return &SecretsGateError{Min: failOn, Count: n}
		}
	}
	if !rep.Complete() {
		return ErrIncomplete
	}
	return nil
}

// secretUploads are the findings a secrets scan uploads: the unsuppressed
// ones, one per secret and place (the fingerprint names the secret, which
// may be in several files). Only the redacted form leaves the machine.
func secretUploads(fs []secret.Finding) []uploadFinding {
	out := make([]uploadFinding, 0, len(fs))
	for i := range fs {
		f := &fs[i]
		if f.Suppressed != "" {
			continue
		}
		where := f.Path
		if f.Commit != "" {
			where += "@" + f.Commit
		} else if f.Layer != "" {
			where += "@" + f.Layer
		}
		sum := sha256.Sum256([]byte(where))
		out = append(out, newUploadFinding(f.Fingerprint+":"+hex.EncodeToString(sum[:8]), f.RuleID, f.Severity.String(),
			f.Description+": "+f.Path, f))
	}
	return out
}

func loadBaseline(path string) (*secret.Baseline, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("--baseline: %w", err)
	}
	defer fh.Close()
	b, err := secret.LoadBaseline(fh)
	if err != nil {
		return nil, fmt.Errorf("--baseline %s: %w", path, err)
	}
	return b, nil
}

// scanSecretsImage scans every layer of the image ref, bottom first.
func scanSecretsImage(ctx context.Context, s *secret.Scanner, f *secretsFlags, ref string, t *report.SecretTarget, o secret.DirOptions) (*secret.Result, error) {
	img, err := image.Open(ctx, ref, image.Options{Platform: f.platform, Insecure: f.insecure})
	if err != nil {
		return nil, err
	}
	defer img.Close()
	a := img.Asset()
	t.Digest = a.Digest
	layers := img.Layers()
	srcs := make([]secret.LayerSource, len(layers))
	for i, l := range layers {
		srcs[i] = secret.LayerSource{DiffID: l.DiffID, Index: i, Open: l.Open}
		if i < len(a.Layers) {
			srcs[i].CreatedBy = a.Layers[i].CreatedBy
		}
	}
	return secret.ScanLayers(ctx, s, srcs, o)
}

func writeSecrets(w io.Writer, env *Env, format string, rep *report.SecretReport) error {
	switch format {
	case "json":
		return report.WriteSecretJSON(w, rep, report.Tool{Name: "vigil", Version: env.Version}, env.now())
	case "sarif":
		return report.WriteSecretSARIF(w, rep, sarif.Tool{Name: "vigil", Version: env.Version, InformationURI: "https://github.com/vigil-sec/vigil"})
	}
	return report.WriteSecretTable(w, rep)
}
