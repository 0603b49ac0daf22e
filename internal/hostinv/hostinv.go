package hostinv

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"time"
)

// Default limits, used when the matching [Options] field is zero.
const (
	DefaultMaxProcesses    = 10000
	DefaultMaxCmdline      = 4096
	DefaultMaxFileSize     = 1 << 20
	DefaultMaxEntries      = 10000
	DefaultMaxFDs          = 65536
	DefaultMaxIncludeDepth = 8
)

// ErrFileTooLarge reports a file over [Options.MaxFileSize]; it is not read.
var ErrFileTooLarge = errors.New("file too large")

// ErrTooManyEntries reports a source with more entries than
// [Options.MaxEntries]; the entries after the limit are dropped.
var ErrTooManyEntries = errors.New("too many entries")

// Options says where to look and how much to read. The zero value
// inventories the machine the caller runs on with the default limits.
type Options struct {
	// Root is the directory taken as "/" for every configuration file.
	// Default "/".
	Root string `json:"root,omitempty"`
	// Proc is the proc filesystem to read. Default Root/proc.
	Proc string `json:"proc,omitempty"`
	// MaxProcesses bounds the processes inventoried (the lowest PIDs are
	// kept). Default DefaultMaxProcesses.
	MaxProcesses int `json:"maxProcesses,omitempty"`
	// MaxCmdline bounds the bytes of one process's command line.
	// Default DefaultMaxCmdline.
	MaxCmdline int `json:"maxCmdline,omitempty"`
	// MaxFileSize bounds the bytes of any file read. Default
	// DefaultMaxFileSize (1 MiB).
	MaxFileSize int64 `json:"maxFileSize,omitempty"`
	// MaxEntries bounds the records of one kind, and the files listed in one
	// directory. Default DefaultMaxEntries.
	MaxEntries int `json:"maxEntries,omitempty"`
	// MaxFDs bounds the file descriptors examined per process when looking
	// for socket owners. Default DefaultMaxFDs.
	MaxFDs int `json:"maxFds,omitempty"`
	// MaxIncludeDepth bounds nested sudoers includes. Default
	// DefaultMaxIncludeDepth.
	MaxIncludeDepth int `json:"maxIncludeDepth,omitempty"`
}

// withDefaults returns o with every zero field set to its default.
func (o Options) withDefaults() Options {
	if o.Root == "" {
		o.Root = "/"
	}
	o.Root = filepath.Clean(o.Root)
	if o.Proc == "" {
		o.Proc = filepath.Join(o.Root, "proc")
	}
	setDefault(&o.MaxProcesses, DefaultMaxProcesses)
	setDefault(&o.MaxCmdline, DefaultMaxCmdline)
	setDefault(&o.MaxEntries, DefaultMaxEntries)
	setDefault(&o.MaxFDs, DefaultMaxFDs)
	setDefault(&o.MaxIncludeDepth, DefaultMaxIncludeDepth)
	if o.MaxFileSize <= 0 {
		o.MaxFileSize = DefaultMaxFileSize
	}
	return o
}

func setDefault(v *int, def int) {
	if *v <= 0 {
		*v = def
	}
}

// Snapshot is the inventory of one machine at one time.
type Snapshot struct {
	Hostname     string        `json:"hostname,omitempty"`
	MachineID    string        `json:"machineId,omitempty"`
	OS           OS            `json:"os"`
	Kernel       Kernel        `json:"kernel"`
	IPs          []string      `json:"ips,omitempty"`
	BootTime     time.Time     `json:"bootTime,omitzero"`
	Processes    []Process     `json:"processes,omitempty"`
	Ports        []Port        `json:"ports,omitempty"`
	Users        []User        `json:"users,omitempty"`
	Groups       []Group       `json:"groups,omitempty"`
	Sudoers      []SudoRule    `json:"sudoers,omitempty"`
	SudoDefaults []SudoDefault `json:"sudoDefaults,omitempty"`
	CronJobs     []CronJob     `json:"cronJobs,omitempty"`
	Services     []Service     `json:"services,omitempty"`
	Modules      []Module      `json:"modules,omitempty"`
	// Problems lists what could not be read or parsed; the rest of the
	// snapshot is still valid.
	Problems []Problem `json:"problems,omitempty"`
}

// Problem is one failure to read or parse part of a source. Collection goes
// on after a problem.
type Problem struct {
	// Source names the collector: "system", "os", "process", "port",
	// "user", "group", "sudo", "sudo_default", "cron", "service", "module".
	// At most 1000 problems are kept, the last one then counting the rest.
	Source string `json:"source"`
	// Path is the file concerned, as seen from inside the root
	// ("/etc/passwd"), or the proc path.
	Path string `json:"path,omitempty"`
	// Line is the 1-based line number in Path, when known.
	Line int `json:"line,omitempty"`
	// Err says what went wrong.
	Err string `json:"error"`
}

// lineProblem is a parse failure at one line of a file.
type lineProblem struct {
	line int
	msg  string
}

// maxLineProblems bounds the problems reported for one file.
const maxLineProblems = 100

// addProblem appends a problem unless more than maxLineProblems are
// already kept (one more than reported, to tell that some were dropped).
func addProblem(ps []lineProblem, line int, msg string) []lineProblem {
	if len(ps) > maxLineProblems {
		return ps
	}
	return append(ps, lineProblem{line, msg})
}

// collector carries the state of one collection.
type collector struct {
	opts Options
	fs   *rootFS
	snap *Snapshot
	// capped records the sources that reached MaxEntries.
	capped map[string]bool
	// dropped counts problems over maxProblems.
	dropped int
}

// maxProblems bounds the problems of one snapshot.
const maxProblems = 1000

// add records a problem, or counts it once maxProblems are kept.
func (c *collector) add(p Problem) {
	if len(c.snap.Problems) >= maxProblems {
		c.dropped++
		return
	}
	c.snap.Problems = append(c.snap.Problems, p)
}

// full reports whether a source already holding n records may take no
// more, recording a problem the first time.
func (c *collector) full(source string, n int, path string) bool {
	if n < c.opts.MaxEntries {
		return false
	}
	if !c.capped[source] {
		c.capped[source] = true
		c.problem(source, path, fmt.Errorf("%w: kept %d", ErrTooManyEntries, n))
	}
	return true
}

// problem records a failure of source at path.
func (c *collector) problem(source, path string, err error) {
	c.add(Problem{Source: source, Path: path, Err: err.Error()})
}

// lineProblems records the parse problems of one file.
// At most maxLineProblems are kept per file.
func (c *collector) lineProblems(source, path string, ps []lineProblem) {
	for i, p := range ps {
		if i == maxLineProblems {
			c.problem(source, path, errors.New("more problems not shown"))
			return
		}
		c.add(Problem{Source: source, Path: path, Line: p.line, Err: p.msg})
	}
}

// readFile reads a file below the root. A missing file returns (nil, false)
// without a problem; any other failure is recorded as a problem of source.
func (c *collector) readFile(source, name string) ([]byte, bool) {
	data, err := c.fs.readFile(name)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			c.problem(source, displayPath(name), err)
		}
		return nil, false
	}
	return data, true
}

// Collect inventories the machine seen through o. It fails only when the
// root cannot be opened or ctx is done; everything else becomes a [Problem].
func Collect(ctx context.Context, o Options) (*Snapshot, error) {
	o = o.withDefaults()
	rfs, err := openRootFS(o.Root, o.MaxFileSize)
	if err != nil {
		return nil, fmt.Errorf("open root %s: %w", o.Root, err)
	}
	defer rfs.close()
	c := &collector{opts: o, fs: rfs, snap: &Snapshot{}, capped: map[string]bool{}}
	steps := []func(context.Context){
		c.collectSystem,
		c.collectUsers,
		c.collectGroups,
		c.collectProcesses, // after users: resolves user names
		c.collectPorts,     // after processes: resolves owners
		c.collectSudoers,
		c.collectCron,
		c.collectServices,
		c.collectModules,
	}
	for _, step := range steps {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		step(ctx)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if c.dropped > 0 {
		c.snap.Problems = append(c.snap.Problems, Problem{Source: "system", Err: fmt.Sprintf("%d more problems not shown", c.dropped)})
	}
	return c.snap, nil
}
