package main

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// truthRow is one planted secret: the file (relative to the corpus root),
// its first and last line (1-based, in the final file), its type and, for
// secrets that only exist in the git history, the commit mark.
type truthRow struct {
	Path       string
	Line, Last int
	Type       string
	Where      string // "tree" or "history"
}

func writeTruth(path string, rows []truthRow) error {
	var b bytes.Buffer
	b.WriteString("path\tline\tlast\ttype\twhere\n")
	for _, r := range rows {
		fmt.Fprintf(&b, "%s\t%d\t%d\t%s\t%s\n", r.Path, r.Line, r.Last, r.Type, r.Where)
	}
	return os.WriteFile(path, b.Bytes(), 0o644)
}

func readTruth(path string) ([]truthRow, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var rows []truthRow
	for i, l := range strings.Split(strings.TrimRight(string(data), "\n"), "\n") {
		if i == 0 {
			continue
		}
		f := strings.Split(l, "\t")
		if len(f) != 5 {
			return nil, fmt.Errorf("%s:%d: %d fields", path, i+1, len(f))
		}
		var r truthRow
		r.Path, r.Type, r.Where = f[0], f[3], f[4]
		fmt.Sscan(f[1], &r.Line)
		fmt.Sscan(f[2], &r.Last)
		rows = append(rows, r)
	}
	return rows, nil
}

// skipExt are binary or archive formats (the copy also drops any file with
// a NUL byte in its first 8 KiB).
var skipExt = map[string]bool{
	".zip": true, ".gz": true, ".tgz": true, ".bz2": true, ".xz": true, ".zst": true,
	".png": true, ".jpg": true, ".jpeg": true, ".gif": true, ".ico": true, ".pdf": true,
	".so": true, ".a": true, ".o": true, ".exe": true, ".dll": true, ".wasm": true,
	".jar": true, ".class": true, ".pb": true, ".bin": true, ".woff": true, ".woff2": true,
	".ttf": true, ".otf": true, ".syso": true, ".lock": true,
}

// noPlant are files a secret would never be committed to (checksums and
// lock files, which scanners rightly skip); secrets are planted elsewhere.
func noPlant(rel string) bool {
	base := filepath.Base(rel)
	switch base {
	case "go.sum", "go.mod", "go.work", "go.work.sum", "package-lock.json", "yarn.lock", "modules.txt":
		return true
	}
	return strings.Contains(rel, "/vendor/")
}

func corpusCmd(args []string) error {
	fl := flag.NewFlagSet("corpus", flag.ExitOnError)
	src := fl.String("src", "", "Go module cache (GOMODCACHE)")
	out := fl.String("out", "", "corpus directory to create (must not exist)")
	size := fl.Int64("bytes", 1<<30, "bytes of source text to copy")
	nsec := fl.Int("secrets", 1000, "secrets to plant")
	seed := fl.Uint64("seed", 7, "random seed")
	maxFile := fl.Int64("max-file", 8<<20, "largest file copied")
	fl.Parse(args)
	if *src == "" || *out == "" {
		return errors.New("corpus: -src and -out are required")
	}
	if _, err := os.Stat(*out); err == nil {
		return fmt.Errorf("%s exists", *out)
	}
	tmp := *out + ".tmp"
	os.RemoveAll(tmp)
	tree := filepath.Join(tmp, "tree")

	// 1. Copy text files in lexical order until size bytes.
	var copied int64
	var files []string // relative paths, copy order
	errDone := errors.New("done")
	err := filepath.WalkDir(*src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		rel, _ := filepath.Rel(*src, p)
		if d.IsDir() {
			if rel == "cache" || strings.HasPrefix(d.Name(), ".") && rel != "." {
				return filepath.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() || skipExt[strings.ToLower(filepath.Ext(p))] ||
			strings.ContainsAny(rel, "\n\"\\\t") {
			return nil
		}
		info, err := d.Info()
		if err != nil || info.Size() == 0 || info.Size() > *maxFile {
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return nil
		}
		head := data
		if len(head) > 8192 {
			head = head[:8192]
		}
		if bytes.IndexByte(head, 0) >= 0 {
			return nil
		}
		dst := filepath.Join(tree, rel)
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(dst, data, 0o644); err != nil {
			return err
		}
		files = append(files, rel)
		copied += int64(len(data))
		if copied >= *size {
			return errDone
		}
		return nil
	})
	if err != nil && err != errDone {
		return err
	}
	if copied < *size {
		return fmt.Errorf("only %d bytes of text in %s, want %d", copied, *src, *size)
	}

	// 2. Plant secrets: random eligible files (short lines, so not minified
	// or generated data), random line positions, inserted before that line.
	r := rand.New(rand.NewPCG(*seed, 0x5ec7))
	var eligible []string
	for _, f := range files {
		if !noPlant(f) {
			eligible = append(eligible, f)
		}
	}
	type plant struct {
		at int // insert before this 0-based original line
		s  planted
	}
	byFile := map[string][]plant{}
	for i := 0; i < *nsec; i++ {
		f := eligible[r.IntN(len(eligible))]
		data, err := os.ReadFile(filepath.Join(tree, f))
		if err != nil {
			return err
		}
		n := bytes.Count(data, []byte("\n")) + 1
		if maxLineLen(data) > 500 || len(byFile[f]) >= 3 {
			i--
			continue
		}
		byFile[f] = append(byFile[f], plant{at: r.IntN(n), s: makeSecret(r, secretTypes[i%len(secretTypes)])})
	}
	var truth []truthRow
	paths := make([]string, 0, len(byFile))
	for f := range byFile {
		paths = append(paths, f)
	}
	sort.Strings(paths)
	for _, f := range paths {
		ps := byFile[f]
		sort.SliceStable(ps, func(i, j int) bool { return ps[i].at < ps[j].at })
		full := filepath.Join(tree, f)
		data, err := os.ReadFile(full)
		if err != nil {
			return err
		}
		trailingNL := bytes.HasSuffix(data, []byte("\n"))
		lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
		var outLines []string
		k := 0
		for i := 0; i <= len(lines); i++ {
			for k < len(ps) && ps[k].at == i {
				start := len(outLines) + 1
				outLines = append(outLines, ps[k].s.Lines...)
				truth = append(truth, truthRow{Path: f, Line: start, Last: len(outLines), Type: ps[k].s.Type, Where: "tree"})
				k++
			}
			if i < len(lines) {
				outLines = append(outLines, lines[i])
			}
		}
		s := strings.Join(outLines, "\n")
		if trailingNL {
			s += "\n"
		}
		copied += int64(len(s) - len(data))
		if err := os.WriteFile(full, []byte(s), 0o644); err != nil {
			return err
		}
	}
	sort.Slice(truth, func(i, j int) bool {
		if truth[i].Path != truth[j].Path {
			return truth[i].Path < truth[j].Path
		}
		return truth[i].Line < truth[j].Line
	})
	if err := writeTruth(filepath.Join(tmp, "truth.tsv"), truth); err != nil {
		return err
	}
	var fb bytes.Buffer
	for _, f := range files {
		fb.WriteString(f + "\n")
	}
	if err := os.WriteFile(filepath.Join(tmp, "files.txt"), fb.Bytes(), 0o644); err != nil {
		return err
	}
	meta := fmt.Sprintf("bytes\t%d\nfiles\t%d\nsecrets\t%d\nseed\t%d\nsource\t%s\n", copied, len(files), len(truth), *seed, *src)
	if err := os.WriteFile(filepath.Join(tmp, "meta.tsv"), []byte(meta), 0o644); err != nil {
		return err
	}
	fmt.Print(meta)
	return os.Rename(tmp, *out)
}

func maxLineLen(data []byte) int {
	m := 0
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64*1024), len(data)+1)
	for sc.Scan() {
		if len(sc.Bytes()) > m {
			m = len(sc.Bytes())
		}
	}
	return m
}
