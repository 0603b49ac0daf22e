package terraform

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"

	"github.com/vigil-sec/vigil/internal/iac"
)

// planSniff is how much of a .json file isPlan reads to decide.
const planSniff = 4 << 10

// maxPlanNesting bounds the nesting of a plan file: modules nest objects
// two levels per call, values nest as deep as the resources do.
const maxPlanNesting = 256

// isPlan reports whether a .json file looks like `terraform show -json`
// output of a plan, reading only its beginning.
func (r *run) isPlan(name string) bool {
	f, err := r.in.FS.Open(name)
	if err != nil {
		return false
	}
	defer f.Close()
	buf := make([]byte, planSniff)
	n, _ := io.ReadFull(f, buf)
	head := bytes.TrimLeft(buf[:n], " \t\r\n\ufeff")
	if len(head) == 0 || head[0] != '{' || !bytes.Contains(head, []byte(`"format_version"`)) {
		return false
	}
	return bytes.Contains(head, []byte(`"planned_values"`)) || bytes.Contains(head, []byte(`"resource_changes"`)) ||
		bytes.Contains(head, []byte(`"terraform_version"`))
}

type planFile struct {
	FormatVersion   string          `json:"format_version"`
	PlannedValues   *planValues     `json:"planned_values"`
	ResourceChanges []planResChange `json:"resource_changes"`
}

type planValues struct {
	RootModule *planModule `json:"root_module"`
}

type planModule struct {
	Address      string         `json:"address"`
	Resources    []planResource `json:"resources"`
	ChildModules []*planModule  `json:"child_modules"`
}

type planResource struct {
	Address string          `json:"address"`
	Mode    string          `json:"mode"`
	Type    string          `json:"type"`
	Values  json.RawMessage `json:"values"`
}

type planResChange struct {
	Address string `json:"address"`
	Mode    string `json:"mode"`
	Type    string `json:"type"`
	Change  struct {
		After        json.RawMessage `json:"after"`
		AfterUnknown json.RawMessage `json:"after_unknown"`
	} `json:"change"`
}

// errNotPlan means a file that looked like a plan is not one after all.
var errNotPlan = errors.New("not a plan")

// loadPlan reads the managed resources of a plan file: those of
// planned_values, or of resource_changes when a plan has no planned
// values. Values the plan marks unknown after apply are left out.
func (r *run) loadPlan(name string) ([]iac.Resource, error) {
	src, err := r.in.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("read plan: %w", err)
	}
	if err := checkNesting(src, maxPlanNesting); err != nil {
		return nil, err
	}
	var p planFile
	if err := json.Unmarshal(src, &p); err != nil {
		return nil, fmt.Errorf("decode plan: %w", err)
	}
	if p.FormatVersion == "" || (p.PlannedValues == nil && p.ResourceChanges == nil) {
		return nil, nil // another tool's JSON that happened to match: not ours
	}
	unknown := map[string]json.RawMessage{}
	for _, rc := range p.ResourceChanges {
		if len(rc.Change.AfterUnknown) > 0 && !bytes.Equal(rc.Change.AfterUnknown, []byte("null")) {
			unknown[rc.Address] = rc.Change.AfterUnknown
		}
	}
	lines := newLineIndex(src)
	var out []iac.Resource
	add := func(addr, mode, typ string, values json.RawMessage) error {
		if mode != "" && mode != "managed" {
			return nil
		}
		attrs, err := decodeValues(values, unknown[addr])
		if err != nil {
			return fmt.Errorf("%s: %w", addr, err)
		}
		out = append(out, iac.Resource{
			Source:   iac.SourceTerraformPlan,
			Type:     typ,
			Address:  addr,
			Location: iac.Location{File: name, Range: lines.find(addr)},
			Provider: providerOf(typ),
			Attrs:    attrs,
		})
		return nil
	}
	if p.PlannedValues != nil && p.PlannedValues.RootModule != nil {
		var walk func(m *planModule, depth int) error
		walk = func(m *planModule, depth int) error {
			if depth > maxPlanNesting {
				return fmt.Errorf("%w: modules nested more than %d deep", ErrTooDeep, maxPlanNesting)
			}
			for _, res := range m.Resources {
				if err := add(res.Address, res.Mode, res.Type, res.Values); err != nil {
					return err
				}
			}
			for _, c := range m.ChildModules {
				if c != nil {
					if err := walk(c, depth+1); err != nil {
						return err
					}
				}
			}
			return nil
		}
		return out, walk(p.PlannedValues.RootModule, 0)
	}
	for _, rc := range p.ResourceChanges {
		if len(rc.Change.After) == 0 || bytes.Equal(rc.Change.After, []byte("null")) {
			continue // deleted
		}
		if err := add(rc.Address, rc.Mode, rc.Type, rc.Change.After); err != nil {
			return out, err
		}
	}
	return out, nil
}

// decodeValues decodes a resource's values into Attrs shapes, removing
// the attributes after_unknown marks true.
func decodeValues(values, afterUnknown json.RawMessage) (map[string]any, error) {
	attrs := map[string]any{}
	if len(values) == 0 || bytes.Equal(values, []byte("null")) {
		return attrs, nil
	}
	dec := json.NewDecoder(bytes.NewReader(values))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("decode values: %w", err)
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, errors.New("values is not an object")
	}
	if len(afterUnknown) > 0 {
		var u any
		if err := json.Unmarshal(afterUnknown, &u); err == nil {
			dropUnknown(m, u)
		}
	}
	return jsonAttrsValue(m, 0).(map[string]any), nil
}

// dropUnknown removes from v what the after_unknown mirror u marks true.
func dropUnknown(v, u any) {
	switch uu := u.(type) {
	case map[string]any:
		m, ok := v.(map[string]any)
		if !ok {
			return
		}
		for k, x := range uu {
			if b, ok := x.(bool); ok && b {
				delete(m, k)
			} else {
				dropUnknown(m[k], x)
			}
		}
	case []any:
		l, ok := v.([]any)
		if !ok {
			return
		}
		for i, x := range uu {
			if i >= len(l) {
				break
			}
			if b, ok := x.(bool); ok && b {
				l[i] = nil
			} else {
				dropUnknown(l[i], x)
			}
		}
	}
}

// jsonAttrsValue turns json.Numbers into int64 or float64 and bounds the
// depth like iac.Normalize.
func jsonAttrsValue(v any, depth int) any {
	if depth > iac.MaxDepth {
		return nil
	}
	switch x := v.(type) {
	case json.Number:
		if i, err := strconv.ParseInt(string(x), 10, 64); err == nil {
			return i
		}
		f, _ := x.Float64()
		return iac.Normalize(f)
	case []any:
		for i, e := range x {
			x[i] = jsonAttrsValue(e, depth+1)
		}
		return x
	case map[string]any:
		for k, e := range x {
			if e == nil {
				delete(x, k) // null is "not set", and absent is how Attrs says so
				continue
			}
			x[k] = jsonAttrsValue(e, depth+1)
		}
		return x
	}
	return v
}

// lineIndex finds the line range of a resource's object in a plan file by
// its address. Searches move forward through the file, so the whole
// lookup is linear when resources are asked for in file order.
type lineIndex struct {
	src    []byte
	starts []int // offset of each line's first byte
	cursor int
}

func newLineIndex(src []byte) *lineIndex {
	starts := []int{0}
	for i, c := range src {
		if c == '\n' {
			starts = append(starts, i+1)
		}
	}
	li := &lineIndex{src: src, starts: starts}
	if i := bytes.Index(src, []byte(`"planned_values"`)); i >= 0 {
		li.cursor = i
	}
	return li
}

func (li *lineIndex) line(off int) int {
	return sort.SearchInts(li.starts, off+1)
}

func (li *lineIndex) find(addr string) iac.Range {
	key, _ := json.Marshal(addr)
	for from := li.cursor; from < len(li.src); {
		i := bytes.Index(li.src[from:], key)
		if i < 0 {
			break
		}
		at := from + i
		if open, ok := li.objectAround(at); ok {
			if end, ok := matchBrace(li.src, open); ok {
				li.cursor = end
				return iac.Range{StartLine: li.line(open), EndLine: li.line(end)}
			}
		}
		from = at + len(key)
	}
	return iac.Range{StartLine: 1, EndLine: 1}
}

// objectAround checks that the string at off is the value of an
// "address" key and returns the offset of the brace opening its object.
func (li *lineIndex) objectAround(off int) (int, bool) {
	j := off - 1
	for j >= 0 && isSpace(li.src[j]) {
		j--
	}
	if j < 0 || li.src[j] != ':' {
		return 0, false
	}
	j--
	for j >= 0 && isSpace(li.src[j]) {
		j--
	}
	if !bytes.HasSuffix(li.src[:j+1], []byte(`"address"`)) {
		return 0, false
	}
	j -= len(`"address"`)
	for j >= 0 && (isSpace(li.src[j]) || li.src[j] == ',') {
		j--
	}
	if j >= 0 && li.src[j] == '{' {
		return j, true
	}
	// "address" is not the first key: scan back to the object's brace.
	depth := 0
	for ; j >= 0; j-- {
		switch li.src[j] {
		case '}', ']':
			depth++
		case '[':
			depth--
		case '{':
			if depth == 0 {
				return j, true
			}
			depth--
		}
	}
	return 0, false
}

func isSpace(c byte) bool { return c == ' ' || c == '\n' || c == '\t' || c == '\r' }

// matchBrace returns the offset of the brace closing the object opened at
// open, skipping strings.
func matchBrace(src []byte, open int) (int, bool) {
	depth, inStr := 0, false
	for i := open; i < len(src); i++ {
		c := src[i]
		if inStr {
			switch c {
			case '\\':
				i++
			case '"':
				inStr = false
			}
			continue
		}
		switch c {
		case '"':
			inStr = true
		case '{', '[':
			depth++
		case '}', ']':
			depth--
			if depth == 0 {
				return i, true
			}
		}
	}
	return 0, false
}
