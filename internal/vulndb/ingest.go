package vulndb

import (
	"context"
	"crypto/sha256"
	"encoding/hex"

	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/vigil-sec/vigil/internal/advisory"
)

// Input is one source the database is built from: a file, or a directory of
// OSV records or Alpine secdb files.
type Input struct {
	// Kind is the format: "osv", "debian", "alpine", "epss" or "kev".
	Kind string
	Path string
	// Name identifies the input in Meta.Sources; "" means the base name.
	Name string
	// Fetched is when it was downloaded, if it was.
	Fetched time.Time
}

// Kinds of input.
const (
	KindOSV    = "osv"
	KindDebian = "debian"
	KindAlpine = "alpine"
	KindEPSS   = "epss"
	KindKEV    = "kev"
)

// DetectInputs finds the sources in dir, laid out as `vigil db update`
// leaves them or as public mirrors publish them: OSV all.zip exports
// (*.zip) and directories of OSV records, Debian tracker lists (*.list),
// Alpine secdb directories (v3.x/*.yaml, *.json), EPSS CSVs (names with
// "epss") and the KEV catalogue (names with "known_exploited" or "kev").
func DetectInputs(dir string) ([]Input, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("detect sources in %s: %w", dir, err)
	}
	var out []Input
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, ".") || strings.HasSuffix(name, ".part") || strings.HasSuffix(name, ".json.part") {
			continue
		}
		p := filepath.Join(dir, name)
		lower := strings.ToLower(name)
		if e.IsDir() {
			k, err := detectDir(p)
			if err != nil {
				return nil, err
			}
			if k != "" {
				out = append(out, Input{Kind: k, Path: p, Name: name})
			}
			continue
		}
		switch {
		case strings.Contains(lower, "epss") && (strings.HasSuffix(lower, ".csv") || strings.HasSuffix(lower, ".gz")):
			out = append(out, Input{Kind: KindEPSS, Path: p, Name: name})
		case (strings.Contains(lower, "known_exploited") || strings.Contains(lower, "kev")) && (strings.HasSuffix(lower, ".json") || strings.HasSuffix(lower, ".csv")):
			out = append(out, Input{Kind: KindKEV, Path: p, Name: name})
		case strings.HasSuffix(lower, ".zip"):
			out = append(out, Input{Kind: KindOSV, Path: p, Name: name})
		case strings.HasSuffix(lower, ".list"):
			out = append(out, Input{Kind: KindDebian, Path: p, Name: name})
		case isAlpineFile(lower):
			out = append(out, Input{Kind: KindAlpine, Path: p, Name: name})
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("detect sources in %s: no advisory sources found", dir)
	}
	return out, nil
}

func isAlpineFile(lower string) bool {
	for _, repo := range []string{"main", "community"} {
		for _, ext := range []string{".yaml", ".yml", ".json"} {
			if strings.HasSuffix(lower, repo+ext) {
				return true
			}
		}
	}
	return false
}

// detectDir says what a directory holds: Alpine secdb trees have
// v<major>.<minor> folders or main/community files; anything else holding
// JSON or YAML is taken for OSV records; the tracker folder holds lists.
func detectDir(dir string) (string, error) {
	kind := ""
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		lower := strings.ToLower(d.Name())
		switch {
		case d.IsDir():
			return nil
		case isAlpineFile(lower):
			kind = KindAlpine
		case strings.HasSuffix(lower, ".list"):
			kind = KindDebian
		case strings.HasSuffix(lower, ".json"), strings.HasSuffix(lower, ".yaml"), strings.HasSuffix(lower, ".yml"):
			kind = KindOSV
		default:
			return nil
		}
		return fs.SkipAll
	})
	if err != nil {
		return "", fmt.Errorf("detect sources in %s: %w", dir, err)
	}
	if kind == KindDebian || kind == KindAlpine {
		// A folder of lists or secdb files: its files are the inputs.
		return kind, nil
	}
	return kind, nil
}

// BuildReport says how a build went.
type BuildReport struct {
	Meta Meta
	// Rejected counts records that could not be parsed and were left out;
	// Problems holds the first of their messages.
	Rejected int
	Problems []string
}

const maxProblems = 20

// BuildFrom builds the database at path from inputs. A record that cannot
// be parsed is left out and counted; an input that cannot be read at all
// fails the build, leaving any existing database untouched.
func BuildFrom(ctx context.Context, path string, inputs []Input, builtAt time.Time) (BuildReport, error) {
	var rep BuildReport
	b, err := NewBuilder(path)
	if err != nil {
		return rep, err
	}
	ok := false
	defer func() {
		if !ok {
			b.Abort()
		}
	}()
	onErr := func(err error) {
		rep.Rejected++
		if len(rep.Problems) < maxProblems {
			rep.Problems = append(rep.Problems, err.Error())
		}
	}
	for _, in := range inputs {
		if err := ctx.Err(); err != nil {
			return rep, err
		}
		n, digest, err := ingest(b, in, onErr)
		if err != nil {
			return rep, fmt.Errorf("build %s: %s input %s: %w", path, in.Kind, in.Path, err)
		}
		name := in.Name
		if name == "" {
			name = filepath.Base(in.Path)
		}
		b.AddSource(SourceMeta{Name: name, Kind: in.Kind, Records: n, Digest: digest, Fetched: in.Fetched})
	}
	meta, err := b.Finish(builtAt)
	if err != nil {
		return rep, err
	}
	ok = true
	rep.Meta = meta
	return rep, nil
}

// ingest feeds one input to b, returning the records read and, for a
// single file, its SHA-256.
func ingest(b *Builder, in Input, onErr func(error)) (int, string, error) {
	n := 0
	addAdv := func(a advisory.Advisory, err error) error {
		if err != nil {
			onErr(err)
			// A record with some bad lines (a Debian advisory naming an
			// unknown release) still carries its good ones.
			if a.ID == "" || len(a.Affected) == 0 {
				return nil
			}
		}
		n++
		return b.AddAdvisory(a)
	}
	st, err := os.Stat(in.Path)
	if err != nil {
		return 0, "", err
	}
	if st.IsDir() {
		switch in.Kind {
		case KindOSV:
			return n, "", advisory.WalkOSV(os.DirFS(in.Path), addAdv)
		case KindAlpine, KindDebian:
			var files []string
			err := filepath.WalkDir(in.Path, func(p string, d fs.DirEntry, err error) error {
				if err == nil && !d.IsDir() {
					lower := strings.ToLower(d.Name())
					if (in.Kind == KindAlpine && isAlpineFile(lower)) || (in.Kind == KindDebian && strings.HasSuffix(lower, ".list")) {
						files = append(files, p)
					}
				}
				return err
			})
			if err != nil {
				return n, "", err
			}
			slices.Sort(files)
			for _, f := range files {
				m, _, err := ingest(b, Input{Kind: in.Kind, Path: f}, onErr)
				n += m
				if err != nil {
					return n, "", fmt.Errorf("%s: %w", f, err)
				}
			}
			return n, "", nil
		}
		return 0, "", fmt.Errorf("a directory is not a %s source", in.Kind)
	}

	f, err := os.Open(in.Path)
	if err != nil {
		return 0, "", err
	}
	defer f.Close()
	h := sha256.New()
	var r io.Reader = io.TeeReader(f, h)
	switch in.Kind {
	case KindOSV:
		if strings.HasSuffix(strings.ToLower(in.Path), ".zip") {
			if err := advisory.ReadOSVZip(f, st.Size(), addAdv); err != nil {
				return n, "", err
			}
			if _, err := f.Seek(0, io.SeekStart); err != nil {
				return n, "", err
			}
			if _, err := io.Copy(h, f); err != nil {
				return n, "", err
			}
		} else {
			a, err := advisory.ParseOSV(r, in.Path)
			if err := addAdv(a, err); err != nil {
				return n, "", err
			}
		}
	case KindDebian:
		err = advisory.ParseDebianList(r, addAdv)
	case KindAlpine:
		err = advisory.ParseAlpineSecDB(r, in.Path, addAdv)
	case KindEPSS:
		err = advisory.ParseEPSS(r, func(e advisory.EPSS) error { n++; return b.AddEPSS(e) })
	case KindKEV:
		err = advisory.ParseKEV(r, func(k advisory.KEV) error { n++; return b.AddKEV(k) })
	default:
		return 0, "", fmt.Errorf("unknown source kind %q", in.Kind)
	}
	if err != nil {
		return n, "", err
	}
	if _, err := io.Copy(io.Discard, r); err != nil {
		return n, "", err
	}
	return n, hex.EncodeToString(h.Sum(nil)), nil
}
