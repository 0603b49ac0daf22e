package hostinv

import (
	"fmt"
	"strings"
)

// unitSetting is one "Key=Value" assignment of a systemd unit file.
type unitSetting struct {
	section, key, value string
	line                int
}

// maxUnitSettings bounds the assignments kept from one unit file.
const maxUnitSettings = 4096

// maxUnitValue bounds the continuation lines joined into one value.
const maxUnitValue = 64 << 10

// parseUnit parses a systemd unit file (or drop-in) into its assignments,
// in order. Lines ending in a backslash continue on the next line; lines
// starting with '#' or ';' are comments, also inside a continuation.
func parseUnit(data []byte) ([]unitSetting, []lineProblem) {
	var out []unitSetting
	var probs []lineProblem
	section := ""
	var cont *unitSetting // assignment being continued
	var value strings.Builder
	endCont := func() {
		cont.value = value.String()
		out, cont = append(out, *cont), nil
		value.Reset()
	}
	n := 0
	for raw := range strings.Lines(string(data)) {
		n++
		line := strings.TrimSpace(raw)
		if line != "" && (line[0] == '#' || line[0] == ';') {
			continue
		}
		if cont != nil {
			more, goesOn := strings.CutSuffix(line, `\`)
			if value.Len() < maxUnitValue {
				value.WriteByte(' ')
				value.WriteString(strings.TrimSpace(more))
			}
			if !goesOn {
				endCont()
			}
			continue
		}
		switch {
		case line == "":
		case line[0] == '[':
			if !strings.HasSuffix(line, "]") || len(line) < 3 {
				probs = addProblem(probs, n, fmt.Sprintf("bad section header %q", truncate(line, 64)))
				section = ""
				continue
			}
			section = line[1 : len(line)-1]
		default:
			s, err := parseUnitAssignment(line, section, n)
			if err != nil {
				probs = addProblem(probs, n, err.Error())
				continue
			}
			if len(out) >= maxUnitSettings {
				return out, addProblem(probs, n, ErrTooManyEntries.Error())
			}
			if v, goesOn := strings.CutSuffix(s.value, `\`); goesOn {
				value.WriteString(strings.TrimSpace(v))
				cont = &s
				continue
			}
			out = append(out, s)
		}
	}
	if cont != nil {
		endCont()
	}
	return out, probs
}

// parseUnitAssignment parses "Key=Value" in section.
func parseUnitAssignment(line, section string, n int) (unitSetting, error) {
	key, value, ok := strings.Cut(line, "=")
	key = strings.TrimSpace(key)
	if !ok || key == "" || strings.ContainsAny(key, " \t") {
		return unitSetting{}, fmt.Errorf("not an assignment: %q", truncate(line, 64))
	}
	if section == "" {
		return unitSetting{}, fmt.Errorf("assignment %q outside a section", truncate(key, 64))
	}
	return unitSetting{section: section, key: key, value: strings.TrimSpace(value), line: n}, nil
}
