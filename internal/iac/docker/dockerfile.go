package docker

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path"
	"strconv"
	"strings"
	"unicode"

	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/buildkit/frontend/dockerfile/shell"

	"github.com/vigil-sec/vigil/internal/iac"
)

// DockerfileLoader reads Dockerfiles and Containerfiles.
//
// Each file becomes one iac.Resource: Source iac.SourceDockerfile, Type
// "Dockerfile", Address the file's path, Provider "docker", Location the
// whole file. Its Attrs are:
//
//	instructions []{cmd, value, args, flags, execForm, stage, line, endLine[, heredocs]}
//	    cmd       lower-case instruction: "from", "run", "user", …
//	    value     the text after the keyword as written, continuation lines
//	              joined; heredoc bodies follow on their own lines
//	    args      parsed arguments: exec-form RUN/CMD/ENTRYPOINT/SHELL the
//	              JSON array elements, shell form one string; ENV/LABEL the
//	              "k=v" pieces as written; ARG the declarations as written;
//	              FROM/COPY/ADD/EXPOSE/VOLUME the words; HEALTHCHECK the type
//	              ("CMD"/"NONE") then the command as for CMD; ONBUILD the
//	              triggered instruction
//	    flags     builder flags as written ("--chown=1000", "--platform=…")
//	    execForm  true when the arguments were a JSON array
//	    stage     index of the stage (-1 before the first FROM)
//	    line, endLine  the instruction's lines (heredoc bodies included)
//	    heredocs  []{name, content} for RUN/COPY/ADD heredocs
//	stages []{index, name, image, tag, digest, platform, from[, user], healthcheck}
//	    name      the AS alias or ""
//	    image     the base image reference without tag and digest, global
//	              ARG defaults substituted
//	    tag       "" when none is written
//	    from      the image reference as written
//	    user      the stage's last USER, absent when it has none
//	    healthcheck  the stage's last HEALTHCHECK is not NONE
//	env       ENV of the final stage, key → value (later wins)
//	args      ARG name → default ("" when none), over all stages
//	user      the final stage's effective USER; absent if never set
//	healthcheck  the final stage has an effective HEALTHCHECK that is not NONE
//	exposed   []int64 ports EXPOSEd by the final stage ("8080/tcp" → 8080)
//
// A stage built FROM an earlier stage inherits that stage's env, user,
// healthcheck and exposed ports, so the final-stage values are what the
// image would have (as far as this file shows; the base image's own
// settings are not known). Variables are substituted where their values
// are known and left as written otherwise.
//
// Lines holds "instructions.N" and "stages.N".
type DockerfileLoader struct{}

var _ iac.Loader = (*DockerfileLoader)(nil)

// NewDockerfile returns the Dockerfile loader.
func NewDockerfile() *DockerfileLoader { return &DockerfileLoader{} }

// Name implements iac.Loader.
func (*DockerfileLoader) Name() string { return "dockerfile" }

// Load implements iac.Loader.
func (*DockerfileLoader) Load(ctx context.Context, in *iac.Input) ([]iac.Resource, []iac.FileError) {
	return iac.ParseFiles(ctx, in, IsDockerfile, func(name string, data []byte) ([]iac.Resource, error) {
		r, err := ParseDockerfile(name, data)
		if r == nil || err != nil {
			return nil, err
		}
		return []iac.Resource{*r}, nil
	})
}

// IsDockerfile reports whether a file's name marks it as a Dockerfile:
// Dockerfile, Dockerfile.*, *.Dockerfile, Containerfile, Containerfile.*
// (case-insensitive), except those whose extension says they are
// something else: .dockerignore, .md, .json, .yaml, .yml.
func IsDockerfile(name string) bool {
	base := strings.ToLower(path.Base(name))
	switch path.Ext(base) {
	case ".dockerignore", ".md", ".json", ".yaml", ".yml":
		return false
	}
	for _, stem := range []string{"dockerfile", "containerfile"} {
		if base == stem || strings.HasPrefix(base, stem+".") || strings.HasSuffix(base, "."+stem) {
			return true
		}
	}
	return false
}

// ParseError is a Dockerfile syntax error at a line.
type ParseError struct {
	Line int
	Err  error
}

func (e *ParseError) Error() string { return fmt.Sprintf("line %d: %v", e.Line, e.Err) }
func (e *ParseError) Unwrap() error { return e.Err }

// ErrUnknownInstruction is the error of a ParseError about an instruction
// Docker does not know.
var ErrUnknownInstruction = errors.New("unknown instruction")

// instructions Docker knows, lower-case.
var knownInstructions = map[string]bool{
	"from": true, "run": true, "user": true, "add": true, "copy": true, "env": true,
	"arg": true, "healthcheck": true, "expose": true, "cmd": true, "entrypoint": true,
	"workdir": true, "label": true, "shell": true, "volume": true, "onbuild": true,
	"stopsignal": true, "maintainer": true,
}

// ParseDockerfile parses one Dockerfile into its resource. A file with no
// instructions (empty, only comments) gives a nil resource and no error.
func ParseDockerfile(file string, data []byte) (*iac.Resource, error) {
	if !hasInstruction(data) {
		return nil, nil
	}
	parsed, err := parser.Parse(bytes.NewReader(data))
	if err != nil {
		return nil, &ParseError{Line: errorLine(err), Err: err}
	}
	b := newBuilder(parsed.EscapeToken)
	for _, n := range parsed.AST.Children {
		if err := b.add(n); err != nil {
			return nil, err
		}
	}
	if len(b.instructions) == 0 {
		return nil, nil
	}
	last := lastLine(data)
	for _, rg := range b.lines {
		last = max(last, rg.EndLine)
	}
	return &iac.Resource{
		Source:   iac.SourceDockerfile,
		Type:     "Dockerfile",
		Address:  file,
		Provider: "docker",
		Location: iac.Location{File: file, Range: iac.Range{StartLine: 1, EndLine: last}},
		Attrs:    b.attrs(),
		Lines:    b.lines,
	}, nil
}

// hasInstruction reports whether data has a line that is neither blank nor
// a comment; the buildkit parser calls a file without one an error.
func hasInstruction(data []byte) bool {
	for line := range bytes.Lines(data) {
		line = bytes.TrimSpace(line)
		if len(line) > 0 && line[0] != '#' && !bytes.Equal(line, []byte{0xEF, 0xBB, 0xBF}) {
			return true
		}
	}
	return false
}

func errorLine(err error) int {
	var le *parser.LocationError
	if errors.As(err, &le) {
		for _, rs := range le.Locations {
			if len(rs) > 0 {
				return max(1, rs[0].Start.Line)
			}
		}
	}
	return 0
}

func lastLine(data []byte) int {
	n := bytes.Count(data, []byte{'\n'})
	if len(data) > 0 && data[len(data)-1] != '\n' {
		n++
	}
	return max(n, 1)
}

// afterKeyword is the text of an instruction line after its keyword.
func afterKeyword(line string) string {
	line = strings.TrimSpace(line)
	i := strings.IndexFunc(line, unicode.IsSpace)
	if i < 0 {
		return ""
	}
	return strings.TrimSpace(line[i:])
}

// words lists the values of a parser node chain.
func words(n *parser.Node) []string {
	var out []string
	for ; n != nil; n = n.Next {
		out = append(out, n.Value)
	}
	return out
}

// keyValues lists the "k=v" pieces of an ENV or LABEL node chain, which the
// parser gives as (key, value, separator) triples.
func keyValues(n *parser.Node) (pairs [][2]string) {
	for n != nil {
		k := n.Value
		var v string
		if n.Next != nil {
			v = n.Next.Value
			n = n.Next
		}
		if n.Next != nil {
			n = n.Next // the separator
		}
		n = n.Next
		pairs = append(pairs, [2]string{k, v})
	}
	return pairs
}

func heredocsText(hs []parser.Heredoc) string {
	var sb strings.Builder
	for _, h := range hs {
		sb.WriteByte('\n')
		sb.WriteString(h.Content)
		if !strings.HasSuffix(h.Content, "\n") && h.Content != "" {
			sb.WriteByte('\n')
		}
		sb.WriteString(h.Name)
	}
	return sb.String()
}

func toAny(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

// parsePorts turns EXPOSE words into port numbers: "8080/tcp" → 8080,
// "8000-8002" → 8000, 8001, 8002. Words that are not ports are skipped.
func parsePorts(ws []string, seen *portSet, out []any) []any {
	for _, w := range ws {
		w, _, _ = strings.Cut(w, "/")
		lo, hi, isRange := strings.Cut(w, "-")
		a, err := strconv.ParseInt(lo, 10, 64)
		if err != nil || a < 0 || a > 65535 {
			continue
		}
		b := a
		if isRange {
			if b, err = strconv.ParseInt(hi, 10, 64); err != nil || b < a || b > 65535 {
				continue
			}
		}
		for p := a; p <= b; p++ {
			if !seen.has(p) {
				seen.add(p)
				out = append(out, p)
			}
		}
	}
	return out
}

// portSet is a set of TCP/UDP port numbers.
type portSet [65536 / 64]uint64

func (s *portSet) has(p int64) bool { return s[p/64]&(1<<(p%64)) != 0 }
func (s *portSet) add(p int64)      { s[p/64] |= 1 << (p % 64) }

// vars is a shell.EnvGetter over known variable values.
type vars map[string]string

func (v vars) Get(k string) (string, bool) { s, ok := v[k]; return s, ok }
func (v vars) Keys() []string {
	out := make([]string, 0, len(v))
	for k := range v {
		out = append(out, k)
	}
	return out
}

var _ shell.EnvGetter = vars(nil)
