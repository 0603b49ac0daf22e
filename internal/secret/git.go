package secret

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// ErrNoGit says the git executable needed by ScanGit is not installed.
var ErrNoGit = errors.New("git executable not found")

// GitOptions tune ScanGit. The zero value is ready to use.
type GitOptions struct {
	// Since limits the scan to commits after it: a date ("2006-01-02") or
	// a commit ("v1.2.0", a hash): commits reachable from it are skipped.
	Since string
	// MaxBlobSize bounds the bytes read of one blob; a larger blob is
	// reported as a Problem and not scanned. 0 means 64 MiB.
	MaxBlobSize int64
	// Workers is the number of blobs scanned at once; 0 means GOMAXPROCS.
	Workers int
}

// blobSite is where a blob first appeared.
type blobSite struct {
	hash string
	loc  Location
}

// ScanGit scans every blob of every commit reachable from any ref
// (branches, tags, remotes, stash) of the repository at repo — a work tree
// or a bare repository, shallow or not. Each distinct blob is scanned once
// and its findings name the oldest commit that introduced it, with that
// commit's author, date and the path.
//
// It runs the git executable: "git log --raw" lists each commit's changed
// blobs (git's tree diff skips unchanged subtrees by hash), and one
// "git cat-file --batch" streams the distinct blobs to the workers.
func ScanGit(ctx context.Context, s *Scanner, repo string, o GitOptions) (*Result, error) {
	return scanGit(ctx, s.Scan, repo, o)
}

func scanGit(ctx context.Context, scan scanFunc, repo string, o GitOptions) (*Result, error) {
	if o.MaxBlobSize <= 0 {
		o.MaxBlobSize = 64 << 20
	}
	if o.Workers <= 0 {
		o.Workers = runtime.GOMAXPROCS(0)
	}
	gitBin, err := exec.LookPath("git")
	if err != nil {
		return nil, ErrNoGit
	}
	g := gitRunner{bin: gitBin, repo: repo}
	if _, err := g.output(ctx, "rev-parse", "--git-dir"); err != nil {
		return nil, fmt.Errorf("scan git %s: %w", repo, err)
	}
	args := []string{"log", "--all", "--topo-order", "--reverse", "--no-renames", "--raw", "--no-abbrev",
		"--diff-merges=first-parent", "--no-ext-diff", "--no-textconv", "-z",
		"--format=%x00commit %H%x00%an <%ae>%x00%aI%x00"}
	if o.Since != "" {
		if d, err := time.Parse("2006-01-02", o.Since); err == nil {
			args = append(args, "--since="+d.Format(time.RFC3339))
		} else {
			if strings.HasPrefix(o.Since, "-") {
				return nil, fmt.Errorf("since %q: not a date or commit", o.Since)
			}
			out, err := g.output(ctx, "rev-parse", "--verify", "--end-of-options", o.Since+"^{commit}")
			if err != nil {
				return nil, fmt.Errorf("since %q: not a date or commit: %w", o.Since, err)
			}
			args = append(args, "--not", strings.TrimSpace(string(out)))
		}
	}

	sites, commits, err := g.blobSites(ctx, args)
	if err != nil {
		return nil, fmt.Errorf("scan git %s: %w", repo, err)
	}
	c := &collector{}
	c.r.Commits = commits
	c.r.Blobs = len(sites)
	if len(sites) == 0 {
		return c.result(), nil
	}
	e := &expander{scan: scan, o: DirOptions{MaxFileSize: o.MaxBlobSize}.normalise(), c: c}
	type blob struct {
		data []byte
		loc  Location
	}
	err = pool(ctx, o.Workers, func(ctx context.Context, send func(blob) bool) error {
		return g.catBlobs(ctx, sites, o.MaxBlobSize, c, func(data []byte, loc Location) bool {
			return send(blob{data, loc})
		})
	}, func(b blob) {
		e.scanBytes(b.data, b.loc, 0, nil)
	})
	if err != nil {
		return c.result(), fmt.Errorf("scan git %s: %w", repo, err)
	}
	return c.result(), nil
}

type gitRunner struct{ bin, repo string }

// command prepares git for read-only use on a repository that may not be
// ours: no hooks or fsmonitor run for the commands used, and ownership
// checks do not apply since nothing is written.
func (g gitRunner) command(ctx context.Context, args ...string) *exec.Cmd {
	full := append([]string{"-C", g.repo, "-c", "safe.directory=*", "-c", "core.fsmonitor=false",
		"-c", "core.quotePath=false", "--no-pager"}, args...)
	cmd := exec.CommandContext(ctx, g.bin, full...)
	cmd.Env = append(cmd.Environ(), "GIT_TERMINAL_PROMPT=0", "GIT_OPTIONAL_LOCKS=0", "LC_ALL=C")
	return cmd
}

func (g gitRunner) output(ctx context.Context, args ...string) ([]byte, error) {
	cmd := g.command(ctx, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("git %s: %w: %s", args[0], err, strings.TrimSpace(stderr.String()))
	}
	return out, nil
}

// blobSites lists, oldest commit first, each distinct regular-file blob
// with the first commit and path it appeared at, and counts the commits.
func (g gitRunner) blobSites(ctx context.Context, args []string) ([]blobSite, int, error) {
	cmd := g.command(ctx, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, 0, err
	}
	if err := cmd.Start(); err != nil {
		return nil, 0, err
	}
	seen := make(map[string]struct{})
	var sites []blobSite
	commits := 0
	var cur Location
	r := bufio.NewReaderSize(out, 1<<16)
	next := func() (string, error) {
		t, err := r.ReadString(0)
		return strings.TrimSuffix(t, "\x00"), err
	}
	var perr error
	for {
		t, err := next()
		if err != nil {
			if err != io.EOF {
				perr = err
			}
			break
		}
		t = strings.TrimLeft(t, "\n")
		switch {
		case strings.HasPrefix(t, "commit "):
			author, _ := next()
			date, _ := next()
			if d, err := time.Parse(time.RFC3339, date); err == nil {
				date = d.UTC().Format(time.RFC3339)
			}
			cur = Location{Commit: strings.TrimPrefix(t, "commit "), Author: author, Date: date}
			commits++
		case strings.HasPrefix(t, ":"):
			// ":oldmode newmode oldhash newhash status", then the path.
			p, err := next()
			if err != nil {
				perr = fmt.Errorf("truncated git log output")
				break
			}
			f := strings.Fields(t)
			if len(f) < 5 || f[4] == "D" || !strings.HasPrefix(f[1], "100") {
				continue // deleted, symlink, submodule
			}
			h := f[3]
			if _, ok := seen[h]; ok {
				continue
			}
			seen[h] = struct{}{}
			loc := cur
			loc.Path = p
			sites = append(sites, blobSite{hash: h, loc: loc})
		}
		if perr != nil {
			break
		}
	}
	if perr != nil {
		_ = cmd.Process.Kill()
	}
	if err := cmd.Wait(); err != nil {
		msg := strings.TrimSpace(stderr.String())
		// A repository without commits has nothing to scan.
		if strings.Contains(msg, "does not have any commits") {
			return nil, 0, nil
		}
		return nil, 0, fmt.Errorf("git log: %w: %s", err, msg)
	}
	return sites, commits, perr
}

// catBlobs streams the blobs through one "git cat-file --batch", calling
// emit for each one no larger than max; a larger or missing one (shallow or
// partial clones) is recorded as a Problem.
func (g gitRunner) catBlobs(ctx context.Context, sites []blobSite, max int64, c *collector, emit func([]byte, Location) bool) error {
	cmd := g.command(ctx, "cat-file", "--batch")
	in, err := cmd.StdinPipe()
	if err != nil {
		return err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		return err
	}
	go func() {
		w := bufio.NewWriter(in)
		for _, s := range sites {
			if _, err := w.WriteString(s.hash + "\n"); err != nil {
				break
			}
		}
		_ = w.Flush()
		_ = in.Close()
	}()
	r := bufio.NewReaderSize(out, 1<<16)
	rerr := func() error {
		for _, s := range sites {
			hdr, err := r.ReadString('\n')
			if err != nil {
				return fmt.Errorf("git cat-file: %w", err)
			}
			f := strings.Fields(hdr)
			if len(f) == 2 && f[1] == "missing" {
				c.problem(s.loc, "blob "+s.hash+" missing from the repository")
				continue
			}
			if len(f) != 3 {
				return fmt.Errorf("git cat-file: unexpected header %q", hdr)
			}
			size, err := strconv.ParseInt(f[2], 10, 64)
			if err != nil {
				return fmt.Errorf("git cat-file: unexpected header %q", hdr)
			}
			if size > max {
				c.problem(s.loc, fmt.Sprintf("blob %s is %d bytes, over the %d-byte limit: not scanned", s.hash, size, max))
				if _, err := r.Discard(int(size) + 1); err != nil {
					return fmt.Errorf("git cat-file: %w", err)
				}
				continue
			}
			data := make([]byte, size+1)
			if _, err := io.ReadFull(r, data); err != nil {
				return fmt.Errorf("git cat-file: %w", err)
			}
			if !emit(data[:size], s.loc) {
				return ctx.Err()
			}
		}
		return nil
	}()
	if rerr != nil {
		_ = cmd.Process.Kill()
	}
	werr := cmd.Wait()
	if rerr != nil {
		return rerr
	}
	if werr != nil {
		return fmt.Errorf("git cat-file: %w: %s", werr, strings.TrimSpace(stderr.String()))
	}
	return nil
}
