package iac

import (
	"bytes"
	"errors"
	"io"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Doc is one YAML document decoded into Attrs-shaped values, with the
// line range of the document and of every path in it.
type Doc struct {
	Value any
	Range Range
	// Lines maps dotted paths ("spec.containers.0.image") to line ranges.
	Lines map[string]Range
}

// YAMLOptions tune DecodeYAML.
type YAMLOptions struct {
	// Tag converts a node with a custom tag (CloudFormation's !Ref, !Sub,
	// !GetAtt …). It receives the tag and the already-converted value and
	// returns the value to store. Nil keeps the value and drops the tag.
	Tag func(tag string, v any) any
	// MaxDocs bounds the documents of one file; 0 means 10,000.
	MaxDocs int
	// YAML11Bools reads the YAML 1.1 boolean words (y, yes, on, n, no,
	// off in their usual cases) as booleans, as Kubernetes and Helm do
	// (sigs.k8s.io/yaml): `privileged: yes` runs privileged on a cluster,
	// so it must be true to a rule.
	YAML11Bools bool
}

// Errors of DecodeYAML.
var (
	ErrTooDeep   = errors.New("nesting too deep")
	ErrTooMany   = errors.New("too many documents")
	ErrAliasBomb = errors.New("too many alias expansions")
)

// maxAliasNodes bounds the nodes that conversion, alias expansion
// included, may visit in one file: a "billion laughs" file stops here instead of exhausting memory.
const maxAliasNodes = 1_000_000

// DecodeYAML decodes every document of a YAML (or JSON) stream. Empty
// documents are skipped. Nesting is bounded by MaxDepth, alias expansion by
// a node budget, the document count by opts.MaxDocs.
func DecodeYAML(data []byte, opts YAMLOptions) ([]Doc, error) {
	maxDocs := opts.MaxDocs
	if maxDocs <= 0 {
		maxDocs = 10_000
	}
	if err := checkAliases(data); err != nil {
		return nil, err
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var docs []Doc
	// One node budget for the whole file: many small alias bombs must not
	// add up to a big one.
	budget := 0
	for {
		var n yaml.Node
		err := dec.Decode(&n)
		if errors.Is(err, io.EOF) {
			return docs, nil
		}
		if err != nil {
			return docs, err
		}
		if len(docs) >= maxDocs {
			return docs, ErrTooMany
		}
		c := &converter{tag: opts.Tag, yaml11: opts.YAML11Bools, lines: map[string]Range{}, budget: &budget}
		root := &n
		if root.Kind == yaml.DocumentNode {
			if len(root.Content) == 0 {
				continue
			}
			root = root.Content[0]
		}
		v, last, err := c.convert(root, "", 0)
		if err != nil {
			return docs, err
		}
		if v == nil {
			continue
		}
		docs = append(docs, Doc{Value: v, Range: Range{StartLine: root.Line, EndLine: max(root.Line, last)}, Lines: c.lines})
	}
}

type converter struct {
	tag    func(string, any) any
	yaml11 bool
	lines  map[string]Range
	budget *int
}

func join(prefix, key string) string {
	if prefix == "" {
		return key
	}
	return prefix + "." + key
}

// convert turns n into an Attrs value, recording the lines of every path
// under it, and returns the last line the node spans.
func (c *converter) convert(n *yaml.Node, path string, depth int) (any, int, error) {
	if depth > MaxDepth {
		return nil, 0, ErrTooDeep
	}
	*c.budget++
	if *c.budget > maxAliasNodes {
		return nil, 0, ErrAliasBomb
	}
	start, last := n.Line, n.Line
	var v any
	switch n.Kind {
	case yaml.AliasNode:
		// The value is the anchored content; its place is where the alias
		// is used.
		x, _, err := c.convert(n.Alias, path, depth+1)
		if err != nil {
			return nil, 0, err
		}
		v = x
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			return nil, last, nil
		}
		return c.convert(n.Content[0], path, depth+1)
	case yaml.MappingNode:
		m := make(map[string]any, len(n.Content)/2)
		isMerge := func(k *yaml.Node) bool {
			return k.Kind == yaml.ScalarNode && (k.Tag == "!!merge" || k.Value == "<<" && k.Tag != "!!str")
		}
		// Merged keys first, so keys written in the map override them
		// (values and line ranges), wherever the << appears.
		for i := 0; i+1 < len(n.Content); i += 2 {
			if !isMerge(n.Content[i]) {
				continue
			}
			merged, end, err := c.convert(n.Content[i+1], path, depth+1)
			if err != nil {
				return nil, 0, err
			}
			last = max(last, end, n.Content[i].Line)
			mergeInto(m, merged)
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, val := n.Content[i], n.Content[i+1]
			if isMerge(k) {
				continue
			}
			key := k.Value
			p := join(path, key)
			x, end, err := c.convert(val, p, depth+1)
			if err != nil {
				return nil, 0, err
			}
			last = max(last, end, k.Line)
			if x == nil {
				// A null value means "not set" in every format we read;
				// absent is how Attrs says that.
				delete(m, key)
				delete(c.lines, p)
				continue
			}
			m[key] = x
			// The entry starts at its key, not its value.
			if r, ok := c.lines[p]; ok && k.Line > 0 && k.Line < r.StartLine {
				r.StartLine = k.Line
				c.lines[p] = r
			}
		}
		v = m
	case yaml.SequenceNode:
		s := make([]any, 0, len(n.Content))
		for i, e := range n.Content {
			x, end, err := c.convert(e, join(path, strconv.Itoa(i)), depth+1)
			if err != nil {
				return nil, 0, err
			}
			last = max(last, end)
			s = append(s, x)
		}
		v = s
	case yaml.ScalarNode:
		v = scalar(n)
		if c.yaml11 && n.Style == 0 && n.Tag == "!!str" {
			if b, ok := yaml11Bools[n.Value]; ok {
				v = b
			}
		}
		if n.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0 {
			last += strings.Count(strings.TrimRight(n.Value, "\n"), "\n") + 1
		}
	}
	if c.tag != nil && n.Tag != "" && !strings.HasPrefix(n.Tag, "!!") {
		v = c.tag(n.Tag, v)
	}
	if path != "" {
		c.lines[path] = Range{StartLine: start, EndLine: max(start, last)}
	}
	return v, last, nil
}

var yaml11Bools = map[string]bool{
	"y": true, "Y": true, "yes": true, "Yes": true, "YES": true, "on": true, "On": true, "ON": true,
	"n": false, "N": false, "no": false, "No": false, "NO": false, "off": false, "Off": false, "OFF": false,
}

// checkAliases refuses a file whose documents would expand, through
// aliases, to more than maxAliasNodes nodes, before anything is expanded:
// the expanded size of every anchored node is computed once (memoized),
// so a billion-laughs file costs its own size to judge. Files without an
// anchor skip it; syntax errors are left to the decoder.
func checkAliases(data []byte) error {
	if !bytes.Contains(data, []byte{'&'}) {
		return nil
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	memo := map[*yaml.Node]int{}
	total := 0
	for {
		var n yaml.Node
		if err := dec.Decode(&n); err != nil {
			return nil
		}
		total += expandedSize(&n, memo, 0)
		if total > maxAliasNodes {
			return ErrAliasBomb
		}
	}
}

func expandedSize(n *yaml.Node, memo map[*yaml.Node]int, depth int) int {
	if n == nil || depth > 4*MaxDepth {
		return 1 // the decoder refuses the depth
	}
	if s, ok := memo[n]; ok {
		return s
	}
	s := 1
	if n.Kind == yaml.AliasNode {
		s += expandedSize(n.Alias, memo, depth+1)
	}
	for _, c := range n.Content {
		s += expandedSize(c, memo, depth+1)
		if s > maxAliasNodes {
			break
		}
	}
	s = min(s, maxAliasNodes+1)
	memo[n] = s
	return s
}

func mergeInto(m map[string]any, merged any) {
	switch x := merged.(type) {
	case map[string]any:
		for k, v := range x {
			if _, ok := m[k]; !ok {
				m[k] = v
			}
		}
	case []any:
		for _, e := range x {
			mergeInto(m, e)
		}
	}
}

func scalar(n *yaml.Node) any {
	switch n.ShortTag() {
	case "!!null":
		return nil
	case "!!bool":
		var b bool
		if err := n.Decode(&b); err == nil {
			return b
		}
	case "!!int":
		if i, err := strconv.ParseInt(strings.ReplaceAll(n.Value, "_", ""), 0, 64); err == nil {
			return i
		}
		var f float64
		if err := n.Decode(&f); err == nil {
			return normalizeFloat(f)
		}
	case "!!float":
		var f float64
		if err := n.Decode(&f); err == nil {
			return normalizeFloat(f)
		}
	}
	return n.Value
}
