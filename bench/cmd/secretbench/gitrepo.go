package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// gitrepoCmd makes a git repository whose history adds the corpus's files
// in batches (the tree's planted secrets arrive with their files) and, every
// 50 commits, adds a new secret to a committed file and removes it again 10
// commits later: those exist only in the history. It streams the history to
// `git fast-import`.
func gitrepoCmd(args []string) error {
	fl := flag.NewFlagSet("gitrepo", flag.ExitOnError)
	corpus := fl.String("corpus", "", "corpus directory (from secretbench corpus)")
	out := fl.String("out", "", "directory to create: repo/ and truth.tsv")
	commits := fl.Int("commits", 5000, "commits")
	seed := fl.Uint64("seed", 7, "random seed")
	fl.Parse(args)
	if *corpus == "" || *out == "" {
		return errors.New("gitrepo: -corpus and -out are required")
	}
	if _, err := os.Stat(*out); err == nil {
		return fmt.Errorf("%s exists", *out)
	}
	tmp := *out + ".tmp"
	os.RemoveAll(tmp)
	repo := filepath.Join(tmp, "repo")
	if err := os.MkdirAll(repo, 0o755); err != nil {
		return err
	}
	tree := filepath.Join(*corpus, "tree")
	fdata, err := os.ReadFile(filepath.Join(*corpus, "files.txt"))
	if err != nil {
		return err
	}
	files := strings.Split(strings.TrimRight(string(fdata), "\n"), "\n")
	truth, err := readTruth(filepath.Join(*corpus, "truth.tsv"))
	if err != nil {
		return err
	}
	planted := map[string]bool{}
	for _, t := range truth {
		planted[t.Path] = true
	}

	if out, err := exec.Command("git", "init", "-q", "-b", "main", repo).CombinedOutput(); err != nil {
		return fmt.Errorf("git init: %v: %s", err, out)
	}
	cmd := exec.Command("git", "-C", repo, "fast-import", "--quiet", "--done")
	cmd.Stderr = os.Stderr
	pipe, err := cmd.StdinPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	w := bufio.NewWriterSize(pipe, 1<<20)

	r := rand.New(rand.NewPCG(*seed, 0x917))
	cycles := *commits / 50
	addCommits := *commits - 2*cycles
	per := (len(files) + addCommits - 1) / addCommits
	next := 0 // next file to add
	var committed []string
	when := int64(1700000000)
	mark := 0
	type pending struct {
		path string
		orig []byte
	}
	var open *pending
	commit := func(msg string, body func()) {
		mark++
		when += 60
		fmt.Fprintf(w, "commit refs/heads/main\nmark :%d\n", mark)
		fmt.Fprintf(w, "author Bench <bench@vigil.invalid> %d +0000\ncommitter Bench <bench@vigil.invalid> %d +0000\n", when, when)
		fmt.Fprintf(w, "data %d\n%s\n", len(msg), msg)
		if mark > 1 {
			fmt.Fprintf(w, "from :%d\n", mark-1)
		}
		body()
		w.WriteString("\n")
	}
	writeFile := func(path string, data []byte) {
		fmt.Fprintf(w, "M 100644 inline %s\ndata %d\n", path, len(data))
		w.Write(data)
		w.WriteString("\n")
	}
	var werr error
	for c := 0; c < *commits; c++ {
		switch {
		case c%50 == 25 && len(committed) > 0:
			// add a secret that a later commit removes
			var path string
			for tries := 0; tries < 1000; tries++ {
				p := committed[r.IntN(len(committed))]
				if !planted[p] && !noPlant(p) {
					path = p
					break
				}
			}
			data, err := os.ReadFile(filepath.Join(tree, path))
			if err != nil {
				werr = err
				break
			}
			if maxLineLen(data) > 500 {
				c-- // try another file
				continue
			}
			planted[path] = true
			lines := strings.Split(string(data), "\n")
			at := r.IntN(len(lines))
			s := makeSecret(r, secretTypes[(c/50)%len(secretTypes)])
			nl := append(append(append([]string{}, lines[:at]...), s.Lines...), lines[at:]...)
			open = &pending{path: path, orig: data}
			truth = append(truth, truthRow{Path: path, Line: at + 1, Last: at + len(s.Lines), Type: s.Type, Where: "history"})
			commit(fmt.Sprintf("config: update %s", filepath.Base(path)), func() {
				writeFile(path, []byte(strings.Join(nl, "\n")))
			})
		case c%50 == 35 && open != nil:
			p := open
			open = nil
			commit(fmt.Sprintf("remove credentials from %s", filepath.Base(p.path)), func() {
				writeFile(p.path, p.orig)
			})
		default:
			end := min(next+per, len(files))
			batch := files[next:end]
			next = end
			if len(batch) == 0 {
				// nothing left to add: an empty commit keeps the count
				commit(fmt.Sprintf("chore: tidy (%d)", c), func() {})
				continue
			}
			commit(fmt.Sprintf("add %d files under %s", len(batch), filepath.Dir(batch[0])), func() {
				for _, f := range batch {
					data, err := os.ReadFile(filepath.Join(tree, f))
					if err != nil {
						werr = err
						return
					}
					writeFile(f, data)
				}
			})
			committed = append(committed, batch...)
		}
		if werr != nil {
			break
		}
	}
	if werr == nil && next < len(files) {
		werr = fmt.Errorf("only %d of %d files committed", next, len(files))
	}
	w.WriteString("done\n")
	if err := w.Flush(); err != nil && werr == nil {
		werr = err
	}
	pipe.Close()
	if err := cmd.Wait(); err != nil && werr == nil {
		werr = fmt.Errorf("git fast-import: %v", err)
	}
	if werr != nil {
		return werr
	}
	if err := writeTruth(filepath.Join(tmp, "truth.tsv"), truth); err != nil {
		return err
	}
	fmt.Printf("commits\t%d\nsecrets\t%d\n", mark, len(truth))
	return os.Rename(tmp, *out)
}
