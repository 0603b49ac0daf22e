package docker

import (
	"fmt"
	"maps"
	"strconv"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/buildkit/frontend/dockerfile/shell"

	"github.com/vigil-sec/vigil/internal/iac"
)

// stage is one build stage while its instructions are read. The "effective"
// fields include what the stage inherits from an earlier stage it is built
// on.
type stage struct {
	index      int
	name       string
	attrs      map[string]any
	start, end int
	args       vars // ARGs declared in the stage, with their values

	env       vars
	user      string
	hasUser   bool
	health    bool
	exposed   []any
	seenPorts portSet
}

// builder turns parser nodes into the Dockerfile's Attrs.
type builder struct {
	lex          *shell.Lex
	globalArgs   vars
	allArgs      map[string]any
	instructions []any
	stages       []*stage
	lines        map[string]iac.Range
}

func newBuilder(escape rune) *builder {
	lex := shell.NewLex(escape)
	lex.SkipUnsetEnv = true
	return &builder{
		lex:        lex,
		globalArgs: vars{},
		allArgs:    map[string]any{},
		lines:      map[string]iac.Range{},
	}
}

// expand substitutes the known variables of word and removes its quotes;
// unknown variables stay as written. A word the shell lexer rejects is
// kept as written.
func (b *builder) expand(word string, v vars) string {
	res, err := b.lex.ProcessWordWithMatches(word, v)
	if err != nil {
		return word
	}
	return res.Result
}

// scope is the variables visible in the current stage: its ARGs, then its
// ENV, which wins.
func (b *builder) scope(st *stage) vars {
	if st == nil {
		return b.globalArgs
	}
	v := make(vars, len(st.args)+len(st.env))
	maps.Copy(v, st.args)
	maps.Copy(v, st.env)
	return v
}

func (b *builder) add(n *parser.Node) error {
	cmd := strings.ToLower(n.Value)
	if !knownInstructions[cmd] {
		return &ParseError{Line: n.StartLine, Err: fmt.Errorf("%w %q", ErrUnknownInstruction, n.Value)}
	}
	if cmd == "from" {
		b.newStage(n)
	}
	var st *stage
	if len(b.stages) > 0 {
		st = b.stages[len(b.stages)-1]
		st.end = max(st.end, n.EndLine)
	}

	value := afterKeyword(n.Original)
	var args []string
	switch cmd {
	case "env", "label":
		for _, kv := range keyValues(n.Next) {
			args = append(args, kv[0]+"="+kv[1])
		}
	case "onbuild":
		if n.Next != nil && len(n.Next.Children) > 0 {
			args = []string{strings.TrimSpace(n.Next.Children[0].Original)}
		}
	default:
		args = words(n.Next)
	}
	execForm := n.Attributes["json"]
	if len(n.Heredocs) > 0 {
		hd := heredocsText(n.Heredocs)
		value += hd
		if !execForm && len(args) == 1 && (cmd == "run" || cmd == "cmd" || cmd == "entrypoint") {
			args[0] += hd
		}
	}
	if args == nil {
		args = []string{}
	}
	flags := n.Flags
	if flags == nil {
		flags = []string{}
	}
	idx := -1
	if st != nil {
		idx = st.index
	}
	in := map[string]any{
		"cmd":      cmd,
		"value":    value,
		"args":     toAny(args),
		"flags":    toAny(flags),
		"execForm": execForm,
		"stage":    int64(idx),
		"line":     int64(n.StartLine),
		"endLine":  int64(n.EndLine),
	}
	if len(n.Heredocs) > 0 {
		hs := make([]any, len(n.Heredocs))
		for i, h := range n.Heredocs {
			hs[i] = map[string]any{"name": h.Name, "content": h.Content}
		}
		in["heredocs"] = hs
	}
	b.lines["instructions."+strconv.Itoa(len(b.instructions))] = iac.Range{StartLine: n.StartLine, EndLine: n.EndLine}
	b.instructions = append(b.instructions, in)

	switch cmd {
	case "arg":
		b.arg(st, args)
	case "env":
		if st != nil {
			scope := b.scope(st)
			for _, kv := range keyValues(n.Next) {
				st.env[kv[0]] = b.expand(kv[1], scope)
			}
		}
	case "user":
		if st != nil && len(args) > 0 {
			st.user = b.expand(args[0], b.scope(st))
			st.hasUser = true
			st.attrs["user"] = st.user
		}
	case "healthcheck":
		if st != nil {
			st.health = len(args) > 0 && !strings.EqualFold(args[0], "NONE")
			st.attrs["healthcheck"] = st.health
		}
	case "expose":
		if st != nil {
			scope := b.scope(st)
			ws := make([]string, len(args))
			for i, a := range args {
				ws[i] = b.expand(a, scope)
			}
			st.exposed = parsePorts(ws, &st.seenPorts, st.exposed)
		}
	}
	return nil
}

// arg records ARG declarations: before the first FROM they are global (and
// usable in FROM lines); in a stage a declaration without a default takes
// the global one.
func (b *builder) arg(st *stage, decls []string) {
	for _, d := range decls {
		name, def, hasDef := strings.Cut(d, "=")
		if name == "" {
			continue
		}
		if st == nil {
			if hasDef {
				def = b.expand(def, b.globalArgs)
			}
			b.globalArgs[name] = def
		} else {
			if hasDef {
				def = b.expand(def, b.scope(st))
			} else {
				def = b.globalArgs[name]
			}
			st.args[name] = def
		}
		if _, ok := b.allArgs[name]; hasDef || !ok {
			b.allArgs[name] = def
		}
	}
}

func (b *builder) newStage(n *parser.Node) {
	ws := words(n.Next)
	st := &stage{
		index:   len(b.stages),
		start:   n.StartLine,
		end:     n.EndLine,
		args:    vars{},
		env:     vars{},
		exposed: []any{},
	}
	var raw string
	if len(ws) > 0 {
		raw = ws[0]
	}
	if len(ws) >= 3 && strings.EqualFold(ws[1], "as") {
		st.name = ws[2]
	}
	var platform string
	for _, f := range n.Flags {
		if v, ok := strings.CutPrefix(f, "--platform="); ok {
			platform = b.expand(v, b.globalArgs)
		}
	}
	ref := b.expand(raw, b.globalArgs)
	image, tag, digest := splitRef(ref)
	// A stage built on an earlier stage starts with what that one set.
	for i := len(b.stages) - 1; i >= 0; i-- {
		parent := b.stages[i]
		if parent.name != "" && strings.EqualFold(parent.name, ref) {
			maps.Copy(st.env, parent.env)
			st.user, st.hasUser = parent.user, parent.hasUser
			st.health = parent.health
			st.exposed = append(st.exposed, parent.exposed...)
			st.seenPorts = parent.seenPorts
			break
		}
	}
	st.attrs = map[string]any{
		"index":       int64(st.index),
		"name":        st.name,
		"image":       image,
		"tag":         tag,
		"digest":      digest,
		"platform":    platform,
		"from":        raw,
		"healthcheck": false,
	}
	b.stages = append(b.stages, st)
}

// splitRef splits an image reference into name, tag and digest:
// "reg:5000/app:1.2@sha256:…" → "reg:5000/app", "1.2", "sha256:…".
func splitRef(ref string) (image, tag, digest string) {
	if i := strings.IndexByte(ref, '@'); i >= 0 {
		ref, digest = ref[:i], ref[i+1:]
	}
	if c := strings.LastIndexByte(ref, ':'); c > strings.LastIndexByte(ref, '/') {
		ref, tag = ref[:c], ref[c+1:]
	}
	return ref, tag, digest
}

func (b *builder) attrs() map[string]any {
	stages := make([]any, len(b.stages))
	for i, st := range b.stages {
		stages[i] = st.attrs
		b.lines["stages."+strconv.Itoa(i)] = iac.Range{StartLine: st.start, EndLine: st.end}
	}
	a := map[string]any{
		"instructions": b.instructions,
		"stages":       stages,
		"args":         b.allArgs,
		"env":          map[string]any{},
		"healthcheck":  false,
		"exposed":      []any{},
	}
	if len(b.stages) > 0 {
		final := b.stages[len(b.stages)-1]
		env := make(map[string]any, len(final.env))
		for k, v := range final.env {
			env[k] = v
		}
		a["env"] = env
		a["healthcheck"] = final.health
		a["exposed"] = final.exposed
		if final.hasUser {
			a["user"] = final.user
		}
	}
	return a
}
