package hostinv

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// sudoToken is one token of a sudoers user specification: a word or one of
// the punctuation characters , : = ( ).
type sudoToken struct {
	punct byte // 0 for a word
	word  string
}

// maxSudoTokens bounds the tokens of one rule.
const maxSudoTokens = 4096

// tokenizeSudo splits a user specification into words and punctuation.
// Backslash escapes a character into a word; double quotes group one.
func tokenizeSudo(s string) ([]sudoToken, error) {
	var toks []sudoToken
	var w strings.Builder
	inWord := false
	flush := func() {
		if inWord {
			toks = append(toks, sudoToken{word: w.String()})
			w.Reset()
			inWord = false
		}
	}
	for i := 0; i < len(s); i++ {
		if len(toks) > maxSudoTokens {
			return nil, fmt.Errorf("%w: over %d tokens", ErrTooManyEntries, maxSudoTokens)
		}
		ch := s[i]
		switch ch {
		case ' ', '\t', '\r', '\n', '\f', '\v':
			flush()
		case ',', ':', '=', '(', ')':
			flush()
			toks = append(toks, sudoToken{punct: ch})
		case '\\':
			inWord = true
			if i+1 < len(s) {
				i++
				w.WriteByte(s[i])
			}
		case '"':
			end := strings.IndexByte(s[i+1:], '"')
			if end < 0 {
				return nil, errors.New("unterminated quote")
			}
			inWord = true
			q := s[i+1 : i+1+end]
			if q == "" {
				q = `""` // an empty argument list ("no arguments allowed")
			}
			w.WriteString(q)
			i += end + 1
		default:
			inWord = true
			w.WriteByte(ch)
		}
	}
	flush()
	return mergeBangs(toks), nil
}

// mergeBangs joins a lone "!" word with the word after it ("! ALL").
func mergeBangs(toks []sudoToken) []sudoToken {
	out := toks[:0]
	for i := 0; i < len(toks); i++ {
		t := toks[i]
		for t.punct == 0 && strings.Trim(t.word, "!") == "" && i+1 < len(toks) && toks[i+1].punct == 0 {
			i++
			t.word += toks[i].word
		}
		out = append(out, t)
	}
	return out
}

// sudoParser walks the tokens of one user specification.
type sudoParser struct {
	toks []sudoToken
	pos  int
}

func (p *sudoParser) peek(off int) sudoToken {
	if p.pos+off < len(p.toks) {
		return p.toks[p.pos+off]
	}
	return sudoToken{punct: '$'} // end
}

func (p *sudoParser) next() sudoToken {
	t := p.peek(0)
	if p.pos < len(p.toks) {
		p.pos++
	}
	return t
}

func (p *sudoParser) atEnd() bool { return p.pos >= len(p.toks) }

// isPunct reports whether t is the punctuation c.
func (t sudoToken) isPunct(c byte) bool { return t.punct == c }

// describe names a token for messages.
func (t sudoToken) describe() string {
	switch t.punct {
	case 0:
		return fmt.Sprintf("%q", truncate(t.word, 32))
	case '$':
		return "end of line"
	}
	return fmt.Sprintf("%q", string(t.punct))
}

// list parses "word (, word)*".
func (p *sudoParser) list(what string) ([]string, error) {
	var out []string
	for {
		t := p.next()
		if t.punct != 0 {
			return nil, fmt.Errorf("expected %s, found %s", what, t.describe())
		}
		out = append(out, t.word)
		if !p.peek(0).isPunct(',') {
			return out, nil
		}
		p.next()
	}
}

// sudoState is what a command inherits from the commands before it in the
// same rule: Runas, tags and options.
type sudoState struct {
	runUsers, runGroups []string
	tags                map[string]string // first tag of a pair → tag in force
	options             map[string]string
}

// parseSudoRule parses "users hosts = cmndspecs [: hosts = cmndspecs]…".
func parseSudoRule(s string) ([]SudoRule, error) {
	toks, err := tokenizeSudo(s)
	if err != nil {
		return nil, err
	}
	p := &sudoParser{toks: toks}
	users, err := p.list("user")
	if err != nil {
		return nil, err
	}
	var rules []SudoRule
	for {
		hosts, err := p.list("host")
		if err != nil {
			return nil, err
		}
		if t := p.next(); !t.isPunct('=') {
			return nil, fmt.Errorf("expected \"=\" after hosts, found %s", t.describe())
		}
		specs, err := p.cmndSpecs()
		if err != nil {
			return nil, err
		}
		for _, r := range specs {
			r.Users, r.Hosts = users, hosts
			rules = append(rules, r)
		}
		if p.atEnd() {
			return rules, nil
		}
		p.next() // ':' before the next host list
	}
}

// cmndSpecs parses a comma-separated list of commands with their Runas,
// options and tags, grouping consecutive commands that share them. It stops
// at the end or before a ':' that starts another host list.
func (p *sudoParser) cmndSpecs() ([]SudoRule, error) {
	st := sudoState{tags: map[string]string{}, options: map[string]string{}}
	var rules []SudoRule
	for {
		if p.peek(0).isPunct('(') {
			if err := p.runas(&st); err != nil {
				return nil, err
			}
		}
		p.optionsAndTags(&st)
		cmd, err := p.command()
		if err != nil {
			return nil, err
		}
		r := st.rule()
		if n := len(rules); n > 0 && sameGrant(rules[n-1], r) {
			rules[n-1].Commands = append(rules[n-1].Commands, cmd)
		} else {
			r.Commands = []string{cmd}
			rules = append(rules, r)
		}
		switch t := p.peek(0); {
		case t.isPunct(','):
			p.next()
		case t.isPunct(':'), t.isPunct('$'):
			return rules, nil
		default:
			return nil, fmt.Errorf("unexpected %s after command", t.describe())
		}
	}
}

// runas parses "(users[:groups])".
func (p *sudoParser) runas(st *sudoState) error {
	p.next() // '('
	st.runUsers, st.runGroups = nil, nil
	var err error
	if t := p.peek(0); t.punct == 0 {
		if st.runUsers, err = p.list("runas user"); err != nil {
			return err
		}
	}
	if p.peek(0).isPunct(':') {
		p.next()
		if t := p.peek(0); t.punct == 0 {
			if st.runGroups, err = p.list("runas group"); err != nil {
				return err
			}
		}
	}
	if t := p.next(); !t.isPunct(')') {
		return fmt.Errorf("expected \")\" closing Runas, found %s", t.describe())
	}
	return nil
}

// optionsAndTags consumes "NAME=value" options and "TAG:" tags.
func (p *sudoParser) optionsAndTags(st *sudoState) {
	for {
		t := p.peek(0)
		switch {
		case t.punct == 0 && sudoOptions[t.word] && p.peek(1).isPunct('=') && p.peek(2).punct == 0:
			st.options[t.word] = p.peek(2).word
			p.pos += 3
		case t.punct == 0 && p.peek(1).isPunct(':') && tagPair(t.word) != "":
			st.tags[tagPair(t.word)] = t.word
			p.pos += 2
		default:
			return
		}
	}
}

// tagPair returns the first tag of the pair tag belongs to, or "".
func tagPair(tag string) string {
	for _, pair := range sudoTagPairs {
		if tag == pair[0] || tag == pair[1] {
			return pair[0]
		}
	}
	return ""
}

// command parses an optional digest and the words of one command.
func (p *sudoParser) command() (string, error) {
	var words []string
	if t := p.peek(0); t.punct == 0 && sudoDigests[t.word] && p.peek(1).isPunct(':') && p.peek(2).punct == 0 {
		words = append(words, t.word+":"+p.peek(2).word)
		p.pos += 3
	}
	start := len(words)
	for p.peek(0).punct == 0 {
		words = append(words, p.next().word)
	}
	if len(words) == start {
		return "", fmt.Errorf("expected a command, found %s", p.peek(0).describe())
	}
	return strings.Join(words, " "), nil
}

// rule returns a rule carrying the state in force.
func (st *sudoState) rule() SudoRule {
	r := SudoRule{RunAsUsers: st.runUsers, RunAsGroups: st.runGroups}
	for _, pair := range sudoTagPairs {
		if tag, ok := st.tags[pair[0]]; ok {
			r.Tags = append(r.Tags, tag)
		}
	}
	r.NoPasswd = st.tags["NOPASSWD"] == "NOPASSWD"
	for name, v := range st.options {
		r.Options = append(r.Options, name+"="+v)
	}
	slices.Sort(r.Options)
	return r
}

// sameGrant reports whether two rules share Runas, tags and options.
func sameGrant(a, b SudoRule) bool {
	return slices.Equal(a.RunAsUsers, b.RunAsUsers) && slices.Equal(a.RunAsGroups, b.RunAsGroups) &&
		slices.Equal(a.Tags, b.Tags) && slices.Equal(a.Options, b.Options)
}
