package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/vigil-sec/vigil/internal/inventory"
	"github.com/vigil-sec/vigil/internal/report"
	"github.com/vigil-sec/vigil/internal/scan"
	"github.com/vigil-sec/vigil/internal/vuln"
)

const scanUsage = `Usage: vigil scan TARGET [ARG] [flags]

Targets:
  image REF     REF is a Docker Engine image (name:tag or id), a docker-save
                tarball, an OCI layout directory, or a registry reference.
                Prefix with docker:, archive:, oci: or registry: to force one.
  rootfs DIR    an unpacked root filesystem
  host          the running machine, read-only
  sbom FILE     a CycloneDX or SPDX JSON SBOM
  secrets DIR   leaked credentials in a directory; --git scans a repository's
                whole history, --image every layer of an image
                ('vigil scan secrets -h' for its flags)
  config PATH   misconfigurations in infrastructure as code
                ('vigil scan config -h' for its flags)

Flags:
`

// scanFlags are the options every scan target shares.
type scanFlags struct {
	vulnFlags
	format    string
	output    string
	platform  string
	insecure  bool
	cacheDir  string
	noCache   bool
	timeout   time.Duration
	logLevel  string
	hostRoot  string
	maxFileMB int64
}

func (f *scanFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.format, "format", "table", "output format: table, json, cyclonedx (1.5), cyclonedx-1.6, spdx (2.3); with vulnerabilities also sarif (2.1.0), openvex")
	fs.StringVar(&f.format, "f", "table", "short for --format")
	f.vulnFlags.register(fs)
	fs.StringVar(&f.output, "output", "", "write the output to this file instead of stdout")
	fs.StringVar(&f.output, "o", "", "short for --output")
	fs.StringVar(&f.platform, "platform", "", "image platform os/arch[/variant] for multi-platform images (default linux/<this machine's arch>)")
	fs.BoolVar(&f.insecure, "insecure", false, "allow plain-HTTP registries")
	fs.StringVar(&f.cacheDir, "cache-dir", "", "per-layer cache directory (default $XDG_CACHE_HOME/vigil or ~/.cache/vigil)")
	fs.BoolVar(&f.noCache, "no-cache", false, "do not read or write the per-layer cache")
	fs.DurationVar(&f.timeout, "timeout", 30*time.Minute, "give up after this long")
	fs.StringVar(&f.logLevel, "log-level", "warn", "log level: debug, info, warn, error")
	fs.StringVar(&f.hostRoot, "host-root", "/", "with 'scan host': where the host's root filesystem is mounted")
	fs.Int64Var(&f.maxFileMB, "max-file-mb", inventory.DefaultMaxFileSize>>20, "files larger than this are reported as unread, not parsed")
}

func runScan(ctx context.Context, env *Env, args []string) error {
	if len(args) > 0 && args[0] == "secrets" {
		return runSecrets(ctx, env, args[1:])
	}
	if len(args) > 0 && args[0] == "config" {
		return runScanConfig(ctx, env, args[1:])
	}
	var f scanFlags
	fs := flag.NewFlagSet("vigil scan", flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	fs.Usage = func() {
		fmt.Fprint(env.Stderr, scanUsage)
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
	if len(pos) == 0 {
		fs.Usage()
		return usagef("scan: no target given")
	}
	target, rest := pos[0], pos[1:]
	wantArgs := map[string]int{"image": 1, "rootfs": 1, "sbom": 1, "host": 0}
	n, ok := wantArgs[target]
	if !ok {
		return usagef("scan: unknown target %q (want image, rootfs, host, sbom, secrets or config)", target)
	}
	if len(rest) != n {
		return usagef("scan %s: want %d argument(s), got %d", target, n, len(rest))
	}
	if err := checkFormat(f.format); err != nil {
		return err
	}
	log, err := newLogger(env.Stderr, f.logLevel)
	if err != nil {
		return err
	}
	inventory.RouteExtractorLog(log)
	if f.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, f.timeout)
		defer cancel()
	}
	engine, err := inventory.NewEngine(inventory.Options{MaxFileSize: f.maxFileMB << 20})
	if err != nil {
		return err
	}
	db, err := f.openDB(env)
	if err != nil {
		return err
	}
	if db != nil {
		defer db.Close()
	}
	opts := scan.Options{GoSymbols: db != nil}

	var s *scan.Scanned
	switch target {
	case "rootfs":
		s, err = scan.RootFS(ctx, engine, rest[0], opts)
	case "host":
		s, err = scan.Host(ctx, engine, f.hostRoot, opts)
	case "image":
		s, err = scanImage(ctx, env, log, engine, &f, rest[0], opts)
	case "sbom":
		s, err = scanSBOM(rest[0])
	}
	if err != nil {
		return err
	}
	res := s.Result
	log.Debug("scan done", "target", target, "packages", len(res.Packages), "unknowns", len(res.Unknowns))

	var rep *vuln.Report
	if db != nil {
		if rep, err = f.match(ctx, env, db, s); err != nil {
			return err
		}
		log.Debug("vulnerabilities matched", "matches", len(rep.Matches), "goBinariesWithSymbols", s.Symbols.Len())
	}
	if err := writeOutput(env.Stdout, f.output, func(w io.Writer) error { return writeReport(w, env, f.format, res, rep) }); err != nil {
		return err
	}
	if err := f.gate(rep); err != nil {
		return err
	}
	if res.Incomplete() {
		return ErrIncomplete
	}
	return nil
}

// encoder writes a result in one output format.
type encoder func(io.Writer, *inventory.Result) error

func encoderFor(format string, env *Env) (encoder, error) {
	tool := report.Tool{Name: "vigil", Version: env.Version}
	switch format {
	case "table":
		return report.WriteTable, nil
	case "json":
		return func(w io.Writer, r *inventory.Result) error { return report.WriteJSON(w, r, tool, env.now()) }, nil
	}
	if enc, ok := sbomEncoder(format, env); ok {
		return enc, nil
	}
	return nil, usagef("unknown --format %q (want table, json, cyclonedx, cyclonedx-1.6 or spdx)", format)
}

// writeOutput runs write against stdout, or against a file that replaces
// path only once it is complete. A path that exists and is not a regular
// file (/dev/null, /dev/stdout, a fifo) is written in place: renaming over
// it would replace the device.
func writeOutput(stdout io.Writer, path string, write func(io.Writer) error) error {
	if path == "" {
		return write(stdout)
	}
	if st, err := os.Stat(path); err == nil && !st.Mode().IsRegular() {
		f, err := os.OpenFile(path, os.O_WRONLY, 0)
		if err != nil {
			return fmt.Errorf("write %s: %w", path, err)
		}
		if err := write(f); err != nil {
			f.Close()
			return fmt.Errorf("write %s: %w", path, err)
		}
		if err := f.Close(); err != nil {
			return fmt.Errorf("write %s: %w", path, err)
		}
		return nil
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".vigil-out-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if err := write(tmp); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
