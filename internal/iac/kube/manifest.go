package kube

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path"
	"strconv"
	"strings"

	"github.com/vigil-sec/vigil/internal/iac"
)

// object is one Kubernetes object found in a decoded document.
type object struct {
	attrs map[string]any
	kind  string
	rng   iac.Range
	lines map[string]iac.Range
}

// loadManifests decodes the plain manifest files on a bounded worker pool
// and returns their resources in file order, then document order.
func loadManifests(ctx context.Context, in *iac.Input, files []string) ([]iac.Resource, []iac.FileError) {
	type result struct {
		rs  []iac.Resource
		err *iac.FileError
	}
	out := make([]result, len(files))
	iac.ForEach(ctx, len(files), func(i int) {
		out[i].rs, out[i].err = loadManifest(in, files[i])
	})
	var res []iac.Resource
	var errs []iac.FileError
	for _, r := range out {
		res = append(res, r.rs...)
		if r.err != nil {
			errs = append(errs, *r.err)
		}
	}
	return res, errs
}

var (
	apiVersionKey     = []byte("apiVersion")
	jsonAPIVersionKey = []byte(`"apiVersion"`)
)

// loadManifest reads one YAML or JSON file. A file that holds no
// Kubernetes object yields nothing; a YAML file that does not parse is an
// error, a JSON file only when it mentions apiVersion (most JSON in a tree
// is package metadata, not Kubernetes).
func loadManifest(in *iac.Input, name string) ([]iac.Resource, *iac.FileError) {
	isJSON := strings.EqualFold(path.Ext(name), ".json")
	data, err := in.ReadFile(name)
	if err != nil {
		if isJSON && errors.Is(err, iac.ErrTooBig) {
			return nil, nil
		}
		return nil, &iac.FileError{File: name, Err: fmt.Errorf("read: %w", err)}
	}
	if isJSON && !bytes.Contains(data, jsonAPIVersionKey) {
		return nil, nil
	}
	docs, err := decode(data)
	var fe *iac.FileError
	if err != nil && (!isJSON || bytes.Contains(data, apiVersionKey)) {
		fe = &iac.FileError{File: name, Err: fmt.Errorf("parse: %w", err)}
	}
	// Documents decoded before an error are still reported.
	var res []iac.Resource
	for _, d := range docs {
		for _, o := range objects(d) {
			res = append(res, o.resource(iac.SourceKubernetes, name))
		}
	}
	return res, fe
}

// objects returns the Kubernetes objects of a document: the document itself
// when it is a map with string apiVersion and kind, or the items of a List.
func objects(d iac.Doc) []object {
	m, kind, ok := asObject(d.Value)
	if !ok {
		return nil
	}
	items, isList := m["items"].([]any)
	if !isList || !strings.HasSuffix(kind, "List") {
		return []object{{attrs: m, kind: kind, rng: d.Range, lines: d.Lines}}
	}
	// Rebase the lines of each item in one pass: items.3.spec.x → spec.x
	// in the map of item 3.
	perItem := make([]map[string]iac.Range, len(items))
	for p, r := range d.Lines {
		rest, ok := strings.CutPrefix(p, "items.")
		if !ok {
			continue
		}
		idx, sub, _ := strings.Cut(rest, ".")
		i, err := strconv.Atoi(idx)
		if err != nil || i < 0 || i >= len(items) || sub == "" {
			continue
		}
		if perItem[i] == nil {
			perItem[i] = map[string]iac.Range{}
		}
		perItem[i][sub] = r
	}
	var out []object
	for i, it := range items {
		im, ikind, ok := asObject(it)
		if !ok {
			continue
		}
		rng, ok := d.Lines["items."+strconv.Itoa(i)]
		if !ok {
			rng = d.Range
		}
		out = append(out, object{attrs: im, kind: ikind, rng: rng, lines: perItem[i]})
	}
	return out
}

func asObject(v any) (map[string]any, string, bool) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, "", false
	}
	api, _ := m["apiVersion"].(string)
	kind, _ := m["kind"].(string)
	if api == "" || kind == "" {
		return nil, "", false
	}
	return m, kind, true
}

func (o object) resource(src iac.Source, file string) iac.Resource {
	return iac.Resource{
		Source:   src,
		Type:     o.kind,
		Address:  address(o.kind, o.attrs),
		Location: iac.Location{File: file, Range: o.rng},
		Provider: "kubernetes",
		Attrs:    o.attrs,
		Lines:    o.lines,
	}
}

// address is Kind/name, or Kind/namespace/name when the object sets a
// namespace. A generateName prefix stands for the name with a trailing *.
func address(kind string, attrs map[string]any) string {
	md, _ := attrs["metadata"].(map[string]any)
	name := scalarString(md["name"])
	if name == "" {
		if g := scalarString(md["generateName"]); g != "" {
			name = g + "*"
		}
	}
	ns := scalarString(md["namespace"])
	switch {
	case name == "":
		return kind
	case ns != "":
		return kind + "/" + ns + "/" + name
	default:
		return kind + "/" + name
	}
}

// scalarString renders a string or number the way it was written; other
// values are "".
func scalarString(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	}
	return ""
}
