package cli

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/vigil-sec/vigil/internal/bundle"
	"github.com/vigil-sec/vigil/internal/feed"
	"github.com/vigil-sec/vigil/internal/vulndb"
)

const dbUsage = `Usage: vigil db COMMAND [flags]

Commands:
  build [--from DIR]... [--source KIND=PATH]...
                   build the vulnerability database from local files (OSV
                   JSON/YAML/all.zip, Debian DSA/DLA lists, Alpine secdb,
                   EPSS CSV, CISA KEV); KIND is osv, debian, alpine, epss, kev
  update [--sources FILE]
                   download the sources (resumable, verified) and build
  info             show what the database holds and how old it is
  keygen DIR       write an ed25519 key pair for signing bundles
  export --key PRIVATE -o BUNDLE
                   write the database as a signed offline bundle
  import --trust PUBLIC BUNDLE
                   verify a bundle and install its database atomically

Flags common to every command:
  --db PATH        the database file (default $VIGIL_DB or ~/.cache/vigil/db/vulndb.sqlite)
`

// DefaultMaxAge is how old a database may be before commands warn.
const DefaultMaxAge = 7 * 24 * time.Hour

func runDB(ctx context.Context, env *Env, args []string) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(env.Stderr, dbUsage)
		if len(args) == 0 {
			return usagef("db: no command given")
		}
		return nil
	}
	cmd, args := args[0], args[1:]
	fs := flag.NewFlagSet("vigil db "+cmd, flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	dbPath := fs.String("db", "", "the database file")
	var run func(pos []string) error
	switch cmd {
	case "build":
		var from, sources multiFlag
		fs.Var(&from, "from", "a directory of sources to detect (repeatable)")
		fs.Var(&sources, "source", "KIND=PATH of one source (repeatable)")
		run = func(pos []string) error {
			if len(pos) != 0 {
				return usagef("db build: unexpected arguments %v", pos)
			}
			inputs, err := buildInputs(from, sources)
			if err != nil {
				return err
			}
			return dbBuild(ctx, env, resolveDB(env, *dbPath), inputs)
		}
	case "update":
		sourcesFile := fs.String("sources", "", "a JSON file listing sources [{name, kind, url, sha256, digestURL}] (default: the public feeds)")
		cacheDir := fs.String("cache-dir", "", "where downloads are kept between runs (default ~/.cache/vigil/feed)")
		run = func(pos []string) error {
			if len(pos) != 0 {
				return usagef("db update: unexpected arguments %v", pos)
			}
			return dbUpdate(ctx, env, resolveDB(env, *dbPath), *sourcesFile, *cacheDir)
		}
	case "info":
		maxAge := fs.Duration("max-age", DefaultMaxAge, "warn when the database is older than this")
		run = func(pos []string) error {
			if len(pos) != 0 {
				return usagef("db info: unexpected arguments %v", pos)
			}
			return dbInfo(env, resolveDB(env, *dbPath), *maxAge)
		}
	case "keygen":
		run = func(pos []string) error {
			if len(pos) != 1 {
				return usagef("db keygen: want one directory")
			}
			pub, priv, err := bundle.GenerateKey(rand.Reader)
			if err != nil {
				return err
			}
			if err := bundle.WriteKeys(pos[0], pub, priv); err != nil {
				return err
			}
			fmt.Fprintf(env.Stdout, "wrote a key pair to %s (key id %s)\n", pos[0], bundle.KeyID(pub))
			return nil
		}
	case "export":
		key := fs.String("key", "", "the private signing key file")
		out := fs.String("o", "", "the bundle file to write")
		run = func(pos []string) error {
			if *key == "" || *out == "" || len(pos) != 0 {
				return usagef("db export: want --key PRIVATE and -o BUNDLE")
			}
			return dbExport(env, resolveDB(env, *dbPath), *key, *out)
		}
	case "import":
		var trust multiFlag
		fs.Var(&trust, "trust", "a public key file to accept bundles from (repeatable)")
		allowOlder := fs.Bool("allow-older", false, "install a bundle older than the installed database")
		run = func(pos []string) error {
			if len(trust) == 0 || len(pos) != 1 {
				return usagef("db import: want --trust PUBLIC and one BUNDLE")
			}
			return dbImport(env, resolveDB(env, *dbPath), trust, *allowOlder, pos[0])
		}
	default:
		fmt.Fprint(env.Stderr, dbUsage)
		return usagef("db: unknown command %q", cmd)
	}
	pos, err := parseInterspersed(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return usagef("%v", err)
	}
	return run(pos)
}

// multiFlag collects a repeatable string flag.
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

// resolveDB picks the database path: the flag, $VIGIL_DB, then the default.
func resolveDB(env *Env, flagPath string) string {
	if flagPath != "" {
		return flagPath
	}
	if p := env.getenv("VIGIL_DB"); p != "" {
		return p
	}
	if d := defaultCacheDir(env); d != "" {
		return filepath.Join(d, "db", "vulndb.sqlite")
	}
	return vulndb.DefaultPath()
}

func buildInputs(from, sources []string) ([]vulndb.Input, error) {
	var inputs []vulndb.Input
	for _, d := range from {
		in, err := vulndb.DetectInputs(d)
		if err != nil {
			return nil, err
		}
		inputs = append(inputs, in...)
	}
	for _, s := range sources {
		kind, path, ok := strings.Cut(s, "=")
		if !ok || path == "" {
			return nil, usagef("db build: --source %q: want KIND=PATH", s)
		}
		switch kind {
		case vulndb.KindOSV, vulndb.KindDebian, vulndb.KindAlpine, vulndb.KindEPSS, vulndb.KindKEV:
		default:
			return nil, usagef("db build: --source %q: unknown kind %q (want osv, debian, alpine, epss or kev)", s, kind)
		}
		inputs = append(inputs, vulndb.Input{Kind: kind, Path: path})
	}
	if len(inputs) == 0 {
		return nil, usagef("db build: give --from DIR or --source KIND=PATH")
	}
	return inputs, nil
}

func dbBuild(ctx context.Context, env *Env, path string, inputs []vulndb.Input) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("db build: %w", err)
	}
	rep, err := vulndb.BuildFrom(ctx, path, inputs, env.now())
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "built %s: %d advisories, %d EPSS scores, %d KEV entries from %d sources\n",
		path, rep.Meta.Advisories, rep.Meta.EPSS, rep.Meta.KEV, len(inputs))
	if rep.Rejected > 0 {
		fmt.Fprintf(env.Stderr, "warning: %d records could not be parsed and were left out; first:\n", rep.Rejected)
		for _, p := range rep.Problems {
			fmt.Fprintf(env.Stderr, "  %s\n", p)
		}
	}
	return nil
}

func dbUpdate(ctx context.Context, env *Env, path, sourcesFile, cacheDir string) error {
	srcs := feed.DefaultSources()
	if sourcesFile != "" {
		data, err := os.ReadFile(sourcesFile)
		if err != nil {
			return fmt.Errorf("db update: %w", err)
		}
		srcs = nil
		if err := json.Unmarshal(data, &srcs); err != nil {
			return fmt.Errorf("db update: %s: %w", sourcesFile, err)
		}
	}
	if cacheDir == "" {
		if d := defaultCacheDir(env); d != "" {
			cacheDir = filepath.Join(d, "feed")
		}
	}
	fetched, err := feed.FetchAll(ctx, srcs, feed.Options{Dir: cacheDir, Now: env.Now})
	for _, f := range fetched {
		state := "downloaded"
		if f.NotModified {
			state = "unchanged"
		}
		fmt.Fprintf(env.Stderr, "%s: %s (%d bytes, sha256 %s)\n", f.Source.Name, state, f.Bytes, shortHex(f.SHA256))
	}
	if err != nil {
		// Without every source the database would silently miss advisories.
		return fmt.Errorf("db update: %w", err)
	}
	inputs := make([]vulndb.Input, 0, len(fetched))
	for _, f := range fetched {
		inputs = append(inputs, vulndb.Input{Kind: f.Source.Kind, Path: f.Path, Name: f.Source.Name, Fetched: f.Fetched})
	}
	return dbBuild(ctx, env, path, inputs)
}

func shortHex(s string) string {
	if len(s) > 12 {
		return s[:12]
	}
	return s
}

func dbInfo(env *Env, path string, maxAge time.Duration) error {
	db, err := vulndb.Open(path)
	if err != nil {
		return err
	}
	defer db.Close()
	m := db.Meta()
	fmt.Fprintf(env.Stdout, "Database:   %s\nSchema:     %d\nBuilt:      %s\nAdvisories: %d", path, m.SchemaVersion, m.BuiltAt.UTC().Format(time.RFC3339), m.Advisories)
	if m.Withdrawn > 0 {
		fmt.Fprintf(env.Stdout, " (%d withdrawn)", m.Withdrawn)
	}
	fmt.Fprintf(env.Stdout, "\nEPSS:       %d\nKEV:        %d\n", m.EPSS, m.KEV)
	fmt.Fprintln(env.Stdout, "By ecosystem:")
	for _, e := range sortedKeys(m.ByEcosystem) {
		fmt.Fprintf(env.Stdout, "  %-12s %d\n", e, m.ByEcosystem[e])
	}
	fmt.Fprintln(env.Stdout, "Sources:")
	for _, s := range m.Sources {
		fmt.Fprintf(env.Stdout, "  %-8s %-28s %d records\n", s.Kind, s.Name, s.Records)
	}
	if db.Stale(maxAge, env.now()) {
		fmt.Fprintf(env.Stderr, "warning: the database is older than %s; run 'vigil db update'\n", maxAge)
	}
	return nil
}

func dbExport(env *Env, path, keyFile, out string) error {
	priv, err := bundle.ReadPrivateKey(keyFile)
	if err != nil {
		return err
	}
	db, err := vulndb.Open(path)
	if err != nil {
		return err
	}
	meta := db.Meta()
	db.Close()
	raw, err := json.Marshal(meta)
	if err != nil {
		return err
	}
	m := bundle.Manifest{BuiltAt: meta.BuiltAt, Created: env.now(), Meta: raw}
	return writeOutput(env.Stdout, out, func(w io.Writer) error { return bundle.Export(w, path, m, priv) })
}

func dbImport(env *Env, path string, trust []string, allowOlder bool, file string) error {
	var keys []ed25519.PublicKey
	for _, t := range trust {
		k, err := bundle.ReadPublicKey(t)
		if err != nil {
			return err
		}
		keys = append(keys, k)
	}
	f, err := os.Open(file)
	if err != nil {
		return fmt.Errorf("db import: %w", err)
	}
	defer f.Close()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("db import: %w", err)
	}
	m, err := bundle.Import(f, path, bundle.ImportOptions{
		Trusted:    keys,
		AllowOlder: allowOlder,
		InstalledBuiltAt: func() (time.Time, bool, error) {
			db, err := vulndb.Open(path)
			if errors.Is(err, vulndb.ErrNotFound) {
				return time.Time{}, false, nil
			}
			if err != nil {
				// An unreadable installed database is replaced.
				return time.Time{}, false, nil
			}
			defer db.Close()
			return db.Meta().BuiltAt, true, nil
		},
	})
	if err != nil {
		return fmt.Errorf("db import %s: %w", file, err)
	}
	fmt.Fprintf(env.Stdout, "installed %s (built %s, key %s)\n", path, m.BuiltAt.UTC().Format(time.RFC3339), m.KeyID)
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
