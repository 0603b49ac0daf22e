package advisory

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// YAML is converted to JSON before decoding, so that one decoder (and one set
// of bounds) serves both syntaxes. The conversion walks yaml.v3's node tree,
// which holds aliases unexpanded; expansion happens here, under a budget, so a
// "billion laughs" document fails after a few million node visits instead of
// allocating its expansion.
// maxYAMLDepth bounds nesting, and with it alias cycles.
const maxYAMLDepth = 512

// yamlToJSON converts a single-document YAML file of at most maxYAML bytes
// to JSON of at most limit bytes. Scalars become
// JSON strings (their source text, so version "1.10" stays "1.10"), except
// nulls; the OSV schema and Alpine's secdb have no numeric or boolean fields
// that matter here. Duplicate mapping keys are rejected.
func yamlToJSON(data []byte, limit int) (out []byte, err error) {
	// yaml.v3 has had panics on malformed input; a parser of untrusted
	// bytes must not take the process down with it.
	defer func() {
		if p := recover(); p != nil {
			out, err = nil, fmt.Errorf("%w: yaml: %v", ErrFormat, p)
		}
	}()
	if len(data) > maxYAML {
		return nil, fmt.Errorf("%w: YAML document over %d bytes", ErrTooLarge, maxYAML)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%w: empty YAML document", ErrFormat)
		}
		return nil, fmt.Errorf("%w: %w", ErrFormat, err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%w: more than one YAML document", ErrFormat)
	}
	c := yamlConv{limit: limit, budget: yamlVisitBudget(len(data))}
	if err := c.node(&doc, 0); err != nil {
		return nil, err
	}
	return c.buf, nil
}

type yamlConv struct {
	buf    []byte
	visits int
	budget int
	limit  int
}

// yamlVisitBudget bounds the node visits, every visit through an alias
// counted again, for a document of n bytes. Without aliases a document has
// fewer nodes than bytes; the budget leaves room for ordinary reuse of
// anchors (a few times the document) and makes an alias bomb fail after a
// few thousand visits rather than millions. It never exceeds maxValues.
func yamlVisitBudget(n int) int {
	return min(4*n+1<<16, maxValues)
}

func (c *yamlConv) node(n *yaml.Node, depth int) error {
	c.visits++
	if c.visits > c.budget {
		return fmt.Errorf("%w: YAML expands to more than %d nodes (aliases)", ErrTooLarge, c.budget)
	}
	if depth > maxYAMLDepth {
		return fmt.Errorf("%w: YAML nested deeper than %d (or an alias refers to itself)", ErrFormat, maxYAMLDepth)
	}
	if len(c.buf) > c.limit {
		return fmt.Errorf("%w: YAML expands to more than %d bytes", ErrTooLarge, c.limit)
	}
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) != 1 {
			return fmt.Errorf("%w: empty YAML document", ErrFormat)
		}
		return c.node(n.Content[0], depth+1)
	case yaml.AliasNode:
		if n.Alias == nil {
			return fmt.Errorf("%w: line %d: dangling alias", ErrFormat, n.Line)
		}
		return c.node(n.Alias, depth+1)
	case yaml.MappingNode:
		c.buf = append(c.buf, '{')
		seen := make(map[string]bool, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			for k.Kind == yaml.AliasNode && k.Alias != nil && depth < maxYAMLDepth {
				k = k.Alias
				depth++
			}
			if k.Kind != yaml.ScalarNode {
				return fmt.Errorf("%w: line %d: mapping key is not a scalar", ErrFormat, k.Line)
			}
			if seen[k.Value] {
				return fmt.Errorf("%w: line %d: duplicate key %q", ErrFormat, k.Line, k.Value)
			}
			seen[k.Value] = true
			if i > 0 {
				c.buf = append(c.buf, ',')
			}
			c.buf = appendJSONString(c.buf, k.Value)
			c.buf = append(c.buf, ':')
			if err := c.node(n.Content[i+1], depth+1); err != nil {
				return err
			}
		}
		c.buf = append(c.buf, '}')
	case yaml.SequenceNode:
		c.buf = append(c.buf, '[')
		for i, e := range n.Content {
			if i > 0 {
				c.buf = append(c.buf, ',')
			}
			if err := c.node(e, depth+1); err != nil {
				return err
			}
		}
		c.buf = append(c.buf, ']')
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			c.buf = append(c.buf, "null"...)
		} else {
			c.buf = appendJSONString(c.buf, n.Value)
		}
	default:
		return fmt.Errorf("%w: line %d: unexpected YAML node", ErrFormat, n.Line)
	}
	return nil
}

// appendJSONString appends s as a JSON string literal; invalid UTF-8 becomes
// U+FFFD.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c == '\n':
				b = append(b, '\\', 'n')
			case c == '\r':
				b = append(b, '\\', 'r')
			case c == '\t':
				b = append(b, '\\', 't')
			case c < 0x20 || c == 0x7f:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, "\ufffd"...)
		} else {
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return append(b, '"')
}
