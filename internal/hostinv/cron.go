package hostinv

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"
)

// CronJob is one scheduled command of cron.
type CronJob struct {
	// Schedule is the five time fields ("*/5 * * * *") or a keyword
	// ("@reboot", "@daily"); the scripts of /etc/cron.daily and its
	// siblings get "@hourly", "@daily", "@weekly" or "@monthly".
	Schedule string `json:"schedule"`
	// User runs the command: the sixth field of system crontabs, the file
	// name of user crontabs, root for the periodic script directories.
	User string `json:"user"`
	// Command is the rest of the line, verbatim ('%' included).
	Command string `json:"command"`
	// File is the crontab or script directory, as the machine sees it.
	File string `json:"file"`
	// Line is the 1-based line in File; 0 for periodic scripts.
	Line int `json:"line,omitempty"`
}

// cronSources lists crontab locations: system ones name the user in a
// sixth field, per-user ones are named after the user.
var cronSources = []struct {
	name   string
	dir    bool
	system bool
}{
	{"etc/crontab", false, true},
	{"etc/cron.d", true, true},
	{"var/spool/cron/crontabs", true, false}, // Debian, Ubuntu, Alpine
	{"var/spool/cron", true, false},          // Red Hat, SUSE (cronie)
}

// periodicDirs maps the run-parts script directories to their schedule.
var periodicDirs = []struct{ dir, schedule string }{
	{"etc/cron.hourly", "@hourly"},
	{"etc/cron.daily", "@daily"},
	{"etc/cron.weekly", "@weekly"},
	{"etc/cron.monthly", "@monthly"},
}

func (c *collector) collectCron(context.Context) {
	for _, src := range cronSources {
		if !src.dir {
			c.cronFile(src.name, src.system)
			continue
		}
		for _, e := range c.listDir("cron", src.name) {
			if e.mode.IsRegular() || e.mode&fs.ModeSymlink != 0 {
				c.cronFile(path.Join(src.name, e.name), src.system)
			}
		}
	}
	for _, pd := range periodicDirs {
		for _, e := range c.listDir("cron", pd.dir) {
			if e.mode.IsDir() || e.name == ".placeholder" {
				continue
			}
			c.addCron(CronJob{Schedule: pd.schedule, User: "root", Command: displayPath(path.Join(pd.dir, e.name)), File: displayPath(pd.dir)})
		}
	}
}

// listDir lists the visible entries of a directory below the root, skipping
// hidden files and editor backups; a missing directory lists nothing.
func (c *collector) listDir(source, dir string) []dirEntry {
	entries, truncated, err := c.fs.readDir(dir, c.opts.MaxEntries)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			c.problem(source, displayPath(dir), err)
		}
		return nil
	}
	if truncated {
		c.problem(source, displayPath(dir), fmt.Errorf("%w: listed %d", ErrTooManyEntries, len(entries)))
	}
	var out []dirEntry
	for _, e := range entries {
		if !strings.HasPrefix(e.name, ".") && !strings.HasSuffix(e.name, "~") {
			out = append(out, e)
		}
	}
	return out
}

// cronFile reads one crontab; a per-user crontab's user is its file name.
func (c *collector) cronFile(name string, system bool) {
	data, ok := c.readFile("cron", name)
	if !ok {
		return
	}
	user := ""
	if !system {
		user = path.Base(name)
	}
	entries, probs := parseCrontab(data, system)
	c.lineProblems("cron", displayPath(name), probs)
	for _, e := range entries {
		if !system {
			e.User = user
		}
		e.File = displayPath(name)
		c.addCron(e)
	}
}

// addCron appends a job unless MaxEntries jobs are already kept.
func (c *collector) addCron(j CronJob) {
	if c.full("cron", len(c.snap.CronJobs), j.File) {
		return
	}
	c.snap.CronJobs = append(c.snap.CronJobs, j)
}

// cronKeywords are the schedule shorthands of cron.
var cronKeywords = map[string]bool{
	"@reboot": true, "@yearly": true, "@annually": true, "@monthly": true,
	"@weekly": true, "@daily": true, "@midnight": true, "@hourly": true,
}

// parseCrontab parses a crontab. System crontabs (system) have a user
// field after the schedule; the returned jobs carry Schedule, User (system
// only), Command and Line. Environment assignments are skipped.
func parseCrontab(data []byte, system bool) ([]CronJob, []lineProblem) {
	var jobs []CronJob
	var probs []lineProblem
	n := 0
	for line := range strings.Lines(string(data)) {
		n++
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' || isCronEnv(line) {
			continue
		}
		j, err := parseCronLine(line, system)
		if err != nil {
			probs = addProblem(probs, n, err.Error())
			continue
		}
		j.Line = n
		jobs = append(jobs, j)
	}
	return jobs, probs
}

// parseCronLine parses one job line.
func parseCronLine(line string, system bool) (CronJob, error) {
	nsched := 5
	if line[0] == '@' {
		nsched = 1
	}
	nfields := nsched
	if system {
		nfields++
	}
	fields, command := cutFields(line, nfields)
	if len(fields) < nfields || command == "" {
		return CronJob{}, errors.New("cron line has too few fields")
	}
	sched := fields[:nsched]
	if nsched == 1 {
		if !cronKeywords[strings.ToLower(sched[0])] {
			return CronJob{}, fmt.Errorf("unknown schedule %q", truncate(sched[0], 32))
		}
	} else {
		for _, f := range sched {
			if !validCronField(f) {
				return CronJob{}, fmt.Errorf("bad schedule field %q", truncate(f, 32))
			}
		}
	}
	j := CronJob{Schedule: strings.Join(sched, " "), Command: command}
	if system {
		j.User = fields[nsched]
	}
	return j, nil
}

// isCronEnv reports whether a crontab line is an environment assignment
// ("NAME = value"). A job line starts with a digit, '*' or '@', never with a
// name followed by '='.
func isCronEnv(line string) bool {
	name, _, ok := strings.Cut(line, "=")
	if !ok {
		return false
	}
	name = strings.Trim(strings.TrimSpace(name), `"'`)
	return isEnvName(name)
}

// validCronField reports whether a schedule field uses only the characters
// of numbers, ranges, steps, lists and month or weekday names.
func validCronField(f string) bool {
	for _, r := range f {
		switch {
		case '0' <= r && r <= '9', 'a' <= r && r <= 'z', 'A' <= r && r <= 'Z':
		case strings.ContainsRune("*,-/?#", r):
		default:
			return false
		}
	}
	return f != ""
}

// cutFields splits the first n space-separated fields off s and returns
// them with the rest of s, leading space removed.
func cutFields(s string, n int) (fields []string, rest string) {
	rest = s
	for len(fields) < n {
		rest = strings.TrimLeft(rest, " \t")
		if rest == "" {
			break
		}
		end := strings.IndexAny(rest, " \t")
		if end < 0 {
			end = len(rest)
		}
		fields = append(fields, rest[:end])
		rest = rest[end:]
	}
	return fields, strings.TrimLeft(rest, " \t")
}
