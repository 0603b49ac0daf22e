package hostinv

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"
)

// SudoRule is one grant of a sudoers user specification: who may run which
// commands, on which hosts, as whom. A line granting commands with
// different Runas, tags or options yields one rule per group of commands.
// Alias names appear as written; alias definitions are not recorded.
type SudoRule struct {
	File string `json:"file"`
	Line int    `json:"line"`
	// Users lists the users, "%groups", "#uids", "+netgroups" and aliases
	// the rule applies to, negations kept ("!bob").
	Users []string `json:"users"`
	Hosts []string `json:"hosts"`
	// RunAsUsers and RunAsGroups are the Runas_Spec; both empty means
	// "(root)" (sudo's default target user).
	RunAsUsers  []string `json:"runAsUsers,omitempty"`
	RunAsGroups []string `json:"runAsGroups,omitempty"`
	// Tags are the tags in force ("NOPASSWD", "SETENV", …).
	Tags []string `json:"tags,omitempty"`
	// NoPasswd says the NOPASSWD tag is in force.
	NoPasswd bool `json:"nopasswd,omitempty"`
	// Options are the option specs in force ("CWD=/srv", "TIMEOUT=1h").
	Options []string `json:"options,omitempty"`
	// Commands are the commands with their arguments, negations kept
	// ("!/usr/bin/su"), digests prefixed ("sha256:… /bin/ls"), or "ALL".
	Commands []string `json:"commands"`
}

// SudoDefault is one Defaults line of sudoers.
type SudoDefault struct {
	File string `json:"file"`
	Line int    `json:"line"`
	// Binding restricts the settings: "" for all, or ":users", "@hosts",
	// ">runas" or "!commands" as written.
	Binding string `json:"binding,omitempty"`
	// Settings are the comma-separated settings as written
	// ("!authenticate", "env_keep += \"HOME\"").
	Settings []string `json:"settings"`
}

// collectSudoers reads etc/sudoers with the files it includes, then any
// file of etc/sudoers.d it did not include.
func (c *collector) collectSudoers(context.Context) {
	visited := map[string]bool{}
	c.sudoFile("etc/sudoers", nil, 0, visited)
	for _, name := range c.sudoDirFiles("etc/sudoers.d") {
		if p, err := c.fs.resolve(name); err == nil && !visited[p] {
			c.sudoFile(name, nil, 0, visited)
		}
	}
}

// sudoFile reads one sudoers file and, depth-first, what it includes; from
// is the directive that included it, if any.
func (c *collector) sudoFile(name string, from *includedFrom, depth int, visited map[string]bool) {
	resolved, err := c.fs.resolve(name)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			c.problem("sudo", displayPath(name), err)
		}
		return
	}
	if visited[resolved] {
		if from != nil {
			c.add(Problem{Source: "sudo", Path: from.file, Line: from.line,
				Err: fmt.Sprintf("include of %s: already read (include cycle or repeated include)", displayPath(name))})
		}
		return
	}
	visited[resolved] = true
	data, ok := c.readFile("sudo", name)
	if !ok {
		return
	}
	file := displayPath(name)
	entries, probs := parseSudoers(data)
	c.lineProblems("sudo", file, probs)
	for _, e := range entries {
		switch {
		case e.rule != nil:
			if !c.full("sudo", len(c.snap.Sudoers), file) {
				e.rule.File = file
				c.snap.Sudoers = append(c.snap.Sudoers, *e.rule)
			}
		case e.defaults != nil:
			if !c.full("sudo_default", len(c.snap.SudoDefaults), file) {
				e.defaults.File = file
				c.snap.SudoDefaults = append(c.snap.SudoDefaults, *e.defaults)
			}
		case e.include != nil:
			c.sudoInclude(file, *e.include, depth+1, visited)
		}
	}
}

// includedFrom locates an include directive.
type includedFrom struct {
	file string // as the machine sees it
	line int
}

// sudoInclude follows one include directive of file.
func (c *collector) sudoInclude(file string, inc sudoInclude, depth int, visited map[string]bool) {
	from := &includedFrom{file, inc.line}
	if depth > c.opts.MaxIncludeDepth {
		c.add(Problem{Source: "sudo", Path: file, Line: inc.line,
			Err: fmt.Sprintf("include of %q: nested deeper than %d", truncate(inc.path, 256), c.opts.MaxIncludeDepth)})
		return
	}
	p := expandSudoPath(inc.path, c.snap.Hostname)
	if !path.IsAbs(p) { // relative to the including file (sudo 1.9.1+)
		p = path.Join(path.Dir(file), p)
	}
	if !inc.dir {
		c.sudoFile(rootPath(p), from, depth, visited)
		return
	}
	for _, name := range c.sudoDirFiles(rootPath(p)) {
		c.sudoFile(name, from, depth, visited)
	}
}

// sudoDirFiles lists the files sudo reads from an include directory: names
// without '.' and not ending in '~', in lexical order.
func (c *collector) sudoDirFiles(dir string) []string {
	var out []string
	for _, e := range c.listDir("sudo", dir) {
		if strings.Contains(e.name, ".") || e.mode.IsDir() {
			continue
		}
		out = append(out, path.Join(dir, e.name))
	}
	return out
}

// expandSudoPath replaces "%h" in an include path with the short host name
// and "%%" with "%".
func expandSudoPath(p, hostname string) string {
	short, _, _ := strings.Cut(hostname, ".")
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		if p[i] == '%' && i+1 < len(p) && (p[i+1] == 'h' || p[i+1] == '%') {
			i++
			if p[i] == 'h' {
				b.WriteString(short)
			} else {
				b.WriteByte('%')
			}
			continue
		}
		b.WriteByte(p[i])
	}
	return b.String()
}

// sudoEntry is one item of a sudoers file, in file order: a rule, a
// Defaults line or an include directive.
type sudoEntry struct {
	rule     *SudoRule
	defaults *SudoDefault
	include  *sudoInclude
}

// sudoInclude is an #include / #includedir (or @…) directive.
type sudoInclude struct {
	line int
	path string
	dir  bool
}

// sudoTagPairs lists the command tags, each with its opposite. A tag stays
// in force for the following commands of a rule until its opposite.
var sudoTagPairs = [][2]string{
	{"NOPASSWD", "PASSWD"},
	{"NOEXEC", "EXEC"},
	{"SETENV", "NOSETENV"},
	{"LOG_INPUT", "NOLOG_INPUT"},
	{"LOG_OUTPUT", "NOLOG_OUTPUT"},
	{"MAIL", "NOMAIL"},
	{"FOLLOW", "NOFOLLOW"},
	{"INTERCEPT", "NOINTERCEPT"},
}

// sudoOptions are the Option_Spec names (NAME=value before a command).
var sudoOptions = map[string]bool{
	"ROLE": true, "TYPE": true, "PRIVS": true, "LIMITPRIVS": true,
	"NOTBEFORE": true, "NOTAFTER": true, "TIMEOUT": true, "CWD": true, "CHROOT": true,
	"APPARMOR_PROFILE": true,
}

// sudoDigests are the digest names that may prefix a command.
var sudoDigests = map[string]bool{"sha224": true, "sha256": true, "sha384": true, "sha512": true}

// sudoAliasKinds start alias definitions.
var sudoAliasKinds = map[string]bool{
	"User_Alias": true, "Runas_Alias": true, "Host_Alias": true, "Cmnd_Alias": true, "Cmd_Alias": true,
}

// maxSudoLine bounds one logical (continued) sudoers line.
const maxSudoLine = 64 << 10

// parseSudoers parses a sudoers file into its rules, Defaults lines and
// include directives, in file order. Lines it cannot parse are reported and
// skipped; alias definitions are skipped silently. File is left empty.
func parseSudoers(data []byte) ([]sudoEntry, []lineProblem) {
	var entries []sudoEntry
	var probs []lineProblem
	for ll := range logicalLines(string(data)) {
		es, err := parseSudoLine(ll.text, ll.line)
		if err != nil {
			probs = addProblem(probs, ll.line, err.Error())
			continue
		}
		entries = append(entries, es...)
	}
	return entries, probs
}

// logicalLine is a line with its continuations joined, and the number of
// its first physical line.
type logicalLine struct {
	line int
	text string
}

// logicalLines joins lines ending in an unescaped backslash with the next.
func logicalLines(s string) func(func(logicalLine) bool) {
	return func(yield func(logicalLine) bool) {
		var b strings.Builder
		start, n := 0, 0
		for line := range strings.Lines(s) {
			n++
			if b.Len() == 0 {
				start = n
			}
			line = strings.TrimRight(line, "\r\n")
			if continued(line) {
				if b.Len() < maxSudoLine {
					b.WriteString(line[:len(line)-1])
				}
				continue
			}
			b.WriteString(line)
			text := b.String()
			b.Reset()
			if !yield(logicalLine{start, text}) {
				return
			}
		}
		if b.Len() > 0 {
			yield(logicalLine{start, b.String()})
		}
	}
}

// continued reports whether line ends in an odd number of backslashes.
func continued(line string) bool {
	n := len(line) - len(strings.TrimRight(line, `\`))
	return n%2 == 1
}

// parseSudoLine parses one logical line.
func parseSudoLine(text string, line int) ([]sudoEntry, error) {
	trimmed := strings.TrimSpace(text)
	if inc, ok := parseSudoInclude(trimmed); ok {
		inc.line = line
		return []sudoEntry{{include: &inc}}, nil
	}
	trimmed = strings.TrimSpace(stripSudoComment(trimmed))
	if trimmed == "" {
		return nil, nil
	}
	if first, _, _ := strings.Cut(trimmed, " "); sudoAliasKinds[strings.TrimSpace(first)] {
		return nil, nil
	}
	if rest, ok := strings.CutPrefix(trimmed, "Defaults"); ok && (rest == "" || strings.ContainsRune(":@>! \t", rune(rest[0]))) {
		d, err := parseSudoDefaults(rest)
		if err != nil {
			return nil, err
		}
		d.Line = line
		return []sudoEntry{{defaults: &d}}, nil
	}
	rules, err := parseSudoRule(trimmed)
	if err != nil {
		return nil, err
	}
	out := make([]sudoEntry, len(rules))
	for i := range rules {
		rules[i].Line = line
		out[i] = sudoEntry{rule: &rules[i]}
	}
	return out, nil
}

// parseSudoInclude recognises "#include PATH", "#includedir DIR" and their
// "@" forms.
func parseSudoInclude(s string) (sudoInclude, bool) {
	if s == "" || (s[0] != '#' && s[0] != '@') {
		return sudoInclude{}, false
	}
	word, rest, _ := strings.Cut(s[1:], " ")
	word, rest2, hasTab := strings.Cut(word, "\t")
	if hasTab {
		rest = rest2 + " " + rest
	}
	if word != "include" && word != "includedir" {
		return sudoInclude{}, false
	}
	p := strings.TrimSpace(rest)
	if len(p) >= 2 && p[0] == '"' && p[len(p)-1] == '"' {
		p = strings.ReplaceAll(p[1:len(p)-1], `\"`, `"`)
	}
	if p == "" {
		return sudoInclude{}, false
	}
	return sudoInclude{path: p, dir: word == "includedir"}, true
}

// stripSudoComment cuts a line at its comment. A '#' starting a word (or
// following '%' or ':') and followed by a digit is a numeric ID, not a
// comment; quoted and escaped characters are skipped.
func stripSudoComment(s string) string {
	inQuote := false
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '"':
			inQuote = !inQuote
		case '#':
			if inQuote {
				continue
			}
			idStart := i == 0 || strings.IndexByte(" \t,(:%=!", s[i-1]) >= 0
			if idStart && i+1 < len(s) && '0' <= s[i+1] && s[i+1] <= '9' {
				continue
			}
			return s[:i]
		}
	}
	return s
}

// parseSudoDefaults parses what follows "Defaults": an optional binding
// (":alice", "@host", ">root", "!/bin/ls") and comma-separated settings.
func parseSudoDefaults(rest string) (SudoDefault, error) {
	var d SudoDefault
	if rest != "" && strings.ContainsRune(":@>!", rune(rest[0])) {
		binding, after := cutBinding(rest)
		d.Binding, rest = binding, after
	}
	for _, s := range splitUnescaped(rest, ',') {
		if s = strings.TrimSpace(s); s != "" {
			d.Settings = append(d.Settings, s)
		}
	}
	if len(d.Settings) == 0 {
		return SudoDefault{}, errors.New("Defaults without settings")
	}
	return d, nil
}

// cutBinding splits a Defaults binding from its settings: the binding runs
// to the first run of spaces that neither follows nor precedes a comma.
func cutBinding(s string) (binding, rest string) {
	for i := 1; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case ' ', '\t':
			j := i
			for j < len(s) && (s[j] == ' ' || s[j] == '\t') {
				j++
			}
			if s[i-1] == ',' || (j < len(s) && s[j] == ',') {
				i = j - 1
				continue
			}
			return strings.Join(strings.Fields(s[:i]), ""), s[j:]
		}
	}
	return s, ""
}

// splitUnescaped splits s at sep outside double quotes and escapes.
func splitUnescaped(s string, sep byte) []string {
	var out []string
	inQuote, start := false, 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '"':
			inQuote = !inQuote
		case sep:
			if !inQuote {
				out = append(out, s[start:i])
				start = i + 1
			}
		}
	}
	return append(out, s[start:])
}
