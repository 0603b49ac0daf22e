package policy

import (
	"bufio"
	"bytes"
	"fmt"
	"regexp"
	"strings"
)

// An inline suppression is a comment, in any of the comment styles of the
// formats Vigil reads (#, //, /* */), of the form
//
//	vigil:ignore RULE-ID reason words
//
// written on the line of the finding, on the line above it, or on the line
// above the resource. The reason is required: a suppression without one is
// not honoured and is reported, so every accepted risk says why.
var ignorePattern = regexp.MustCompile(`vigil:ignore\s+([A-Za-z0-9][A-Za-z0-9_-]*)\s*(.*)$`)

type ignore struct {
	rule, reason string
}

// Suppressions indexes the vigil:ignore comments of a file set.
type Suppressions struct {
	read  func(file string) ([]byte, error)
	files map[string]map[int][]ignore
	// Warnings are suppressions that were not honoured.
	Warnings []string
}

// NewSuppressions reads files on demand through read (bounded by the
// caller).
func NewSuppressions(read func(file string) ([]byte, error)) *Suppressions {
	return &Suppressions{read: read, files: map[string]map[int][]ignore{}}
}

func (s *Suppressions) file(name string) map[int][]ignore {
	if m, ok := s.files[name]; ok {
		return m
	}
	m := map[int][]ignore{}
	s.files[name] = m
	data, err := s.read(name)
	if err != nil || !bytes.Contains(data, []byte("vigil:ignore")) {
		return m
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for line := 1; sc.Scan(); line++ {
		text := sc.Text()
		i := strings.Index(text, "vigil:ignore")
		if i < 0 {
			continue
		}
		sub := ignorePattern.FindStringSubmatch(text[i:])
		if sub == nil {
			s.Warnings = append(s.Warnings, fmt.Sprintf("%s:%d: vigil:ignore without a rule id is not honoured", name, line))
			continue
		}
		reason := strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(sub[2]), "*/"))
		if reason == "" {
			s.Warnings = append(s.Warnings, fmt.Sprintf("%s:%d: vigil:ignore %s has no reason and is not honoured", name, line, sub[1]))
			continue
		}
		m[line] = append(m[line], ignore{rule: sub[1], reason: reason})
	}
	return m
}

// Apply marks the findings an inline comment suppresses.
func (s *Suppressions) Apply(fs []Finding) {
	for i := range fs {
		f := &fs[i]
		if f.Suppressed != "" || f.Location.File == "" {
			continue
		}
		m := s.file(f.Location.File)
		if len(m) == 0 {
			continue
		}
		lines := []int{f.Location.Range.StartLine, f.Location.Range.StartLine - 1, f.ResourceRange.StartLine - 1, f.ResourceRange.StartLine}
		for _, l := range lines {
			if reason, ok := match(m[l], f.RuleID); ok {
				f.Suppressed, f.SuppressedBy = reason, "inline"
				break
			}
		}
	}
}

func match(igs []ignore, rule string) (string, bool) {
	for _, ig := range igs {
		if strings.EqualFold(ig.rule, rule) {
			return ig.reason, true
		}
	}
	return "", false
}
