package kube

import (
	"bytes"
	"errors"
	"io"

	"gopkg.in/yaml.v3"

	"github.com/vigil-sec/vigil/internal/iac"
)

// maxFileAliasNodes bounds the nodes alias expansion may produce in a
// whole file. iac.DecodeYAML bounds each document on its own, so a file of
// thousands of small documents, each just under that bound, would still
// take minutes and gigabytes; this bound is for the file.
const maxFileAliasNodes = 1_000_000

// decode is iac.DecodeYAML behind a file-wide alias budget.
func decode(data []byte) ([]iac.Doc, error) {
	if err := checkAliases(data); err != nil {
		return nil, err
	}
	return iac.DecodeYAML(data, iac.YAMLOptions{})
}

// checkAliases counts the nodes the documents of data expand to, without
// expanding them (sizes of anchored nodes are memoized), and refuses the
// file when the total is over maxFileAliasNodes. Without an anchor there
// is no alias, so most files skip the count. Syntax errors are left for
// DecodeYAML to report.
func checkAliases(data []byte) error {
	if !bytes.Contains(data, []byte{'&'}) {
		return nil
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	memo := map[*yaml.Node]int{}
	total := 0
	for {
		var n yaml.Node
		err := dec.Decode(&n)
		if errors.Is(err, io.EOF) || err != nil {
			return nil
		}
		total += expandedSize(&n, memo, 0)
		if total > maxFileAliasNodes {
			return iac.ErrAliasBomb
		}
	}
}

func expandedSize(n *yaml.Node, memo map[*yaml.Node]int, depth int) int {
	if n == nil || depth > 4*iac.MaxDepth {
		return 1 // DecodeYAML refuses the depth
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
		if s > maxFileAliasNodes {
			break
		}
	}
	s = min(s, maxFileAliasNodes+1)
	memo[n] = s
	return s
}
