package cloudformation

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path"
	"sort"
	"strconv"
	"strings"

	"github.com/vigil-sec/vigil/internal/iac"
)

// Loader reads CloudFormation and ROS templates.
//
// Each Resources entry becomes one iac.Resource: Source
// iac.SourceCloudFormation, Type the entry's Type ("AWS::S3::Bucket"),
// Address the logical ID, Provider "aws" ("alicloud" for ROS templates and
// ALIYUN:: types), Location the entry's lines, Attrs the evaluated
// Properties (an empty map when there are none), Lines relative to
// Properties ("BucketEncryption.ServerSideEncryptionConfiguration.0") and
// Refs the attribute paths whose values name other resources through Ref,
// Fn::GetAtt or Fn::Sub.
//
// A file is a template when its top-level map has AWSTemplateFormatVersion
// (or ROSTemplateFormatVersion), or a Resources map with an entry whose
// Type starts with "AWS::" or "ALIYUN::". Other files are ignored; a file
// that names a template format version but cannot be decoded is a
// FileError.
type Loader struct {
	opts Options
}

var _ iac.Loader = (*Loader)(nil)

// Options tune the Loader.
type Options struct {
	// Params gives values to parameters (overriding their defaults) and to
	// pseudo parameters ("AWS::Region": "eu-west-1"), which are unknown
	// otherwise. A parameter of a list type takes a comma-separated value.
	Params map[string]string
}

// New returns a Loader with the default options.
func New() *Loader { return &Loader{} }

// NewWithOptions returns a Loader with the given options.
func NewWithOptions(opts Options) *Loader { return &Loader{opts: opts} }

// Name implements iac.Loader.
func (*Loader) Name() string { return "cloudformation" }

// Load implements iac.Loader.
func (l *Loader) Load(ctx context.Context, in *iac.Input) ([]iac.Resource, []iac.FileError) {
	return iac.ParseFiles(ctx, in, hasTemplateExt, func(name string, data []byte) ([]iac.Resource, error) {
		return Parse(name, data, l.opts)
	})
}

func hasTemplateExt(name string) bool {
	switch strings.ToLower(path.Ext(name)) {
	case ".yaml", ".yml", ".json", ".template":
		return true
	}
	return false
}

// Markers a template must contain somewhere; a file without any is not
// decoded at all.
var (
	versionMarkers = [][]byte{[]byte("AWSTemplateFormatVersion"), []byte("ROSTemplateFormatVersion")}
	typeMarkers    = [][]byte{[]byte("AWS::"), []byte("ALIYUN::")}
)

func containsAny(data []byte, markers [][]byte) bool {
	for _, m := range markers {
		if bytes.Contains(data, m) {
			return true
		}
	}
	return false
}

// Parse reads one file. A file that is not a template gives no resources
// and no error.
func Parse(file string, data []byte, opts Options) ([]iac.Resource, error) {
	versioned := containsAny(data, versionMarkers)
	if !versioned && !containsAny(data, typeMarkers) {
		return nil, nil
	}
	// A template is one document; stop decoding after it.
	docs, err := iac.DecodeYAML(data, iac.YAMLOptions{Tag: shortForm, MaxDocs: 1})
	if err != nil && !(errors.Is(err, iac.ErrTooMany) && len(docs) > 0) {
		if versioned {
			return nil, fmt.Errorf("decode template: %w", err)
		}
		return nil, nil
	}
	if len(docs) == 0 {
		return nil, nil
	}
	doc := docs[0]
	top, ok := doc.Value.(map[string]any)
	if !ok {
		return nil, nil
	}
	_, aws := top["AWSTemplateFormatVersion"]
	_, ros := top["ROSTemplateFormatVersion"]
	resources, _ := top["Resources"].(map[string]any)
	if !aws && !ros && !hasCloudType(resources) {
		return nil, nil
	}

	ids := make([]string, 0, len(resources))
	for id := range resources {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	ev := newEvaluator(top, ros, opts)
	lines := splitLines(doc.Lines, ids)
	var out []iac.Resource
	for _, id := range ids {
		entry, ok := resources[id].(map[string]any)
		if !ok {
			continue
		}
		typ, ok := entry["Type"].(string)
		if !ok {
			continue
		}
		provider := "aws"
		if ros || strings.HasPrefix(typ, "ALIYUN::") {
			provider = "alicloud"
		}
		attrs, refs := ev.properties(entry["Properties"])
		r := iac.Resource{
			Source:   iac.SourceCloudFormation,
			Type:     typ,
			Address:  id,
			Provider: provider,
			Location: iac.Location{File: file, Range: doc.Lines["Resources."+id]},
			Attrs:    attrs,
			Refs:     refs,
		}
		if l := pruneLines(lines[id], attrs); len(l) > 0 {
			r.Lines = l
		}
		out = append(out, r)
	}
	return out, nil
}

func hasCloudType(resources map[string]any) bool {
	for _, v := range resources {
		entry, _ := v.(map[string]any)
		if t, ok := entry["Type"].(string); ok && (strings.HasPrefix(t, "AWS::") || strings.HasPrefix(t, "ALIYUN::")) {
			return true
		}
	}
	return false
}

// splitLines rebases the template's line map onto each resource's
// Properties: "Resources.Logs.Properties.BucketName" becomes "BucketName"
// of resource "Logs". Logical IDs are alphanumeric, so the ID ends at the
// first dot.
func splitLines(all map[string]iac.Range, ids []string) map[string]map[string]iac.Range {
	out := make(map[string]map[string]iac.Range, len(ids))
	for _, id := range ids {
		out[id] = map[string]iac.Range{}
	}
	for p, rg := range all {
		rest, ok := strings.CutPrefix(p, "Resources.")
		if !ok {
			continue
		}
		id, rest, ok := strings.Cut(rest, ".Properties.")
		if !ok {
			continue
		}
		if m, ok := out[id]; ok {
			m[rest] = rg
		}
	}
	return out
}

// pruneLines drops the paths that lead into the arguments of intrinsic
// functions ("BucketName.0" of a !Sub list): a path is kept when its parent
// is a map or list of attrs, whether or not its own value is known.
func pruneLines(lines map[string]iac.Range, attrs map[string]any) map[string]iac.Range {
	for p := range lines {
		parent := ""
		if i := strings.LastIndexByte(p, '.'); i >= 0 {
			parent = p[:i]
		}
		switch lookup(attrs, parent).(type) {
		case map[string]any, []any:
		default:
			delete(lines, p)
		}
	}
	return lines
}

// lookup follows a dotted path through maps and lists; nil when it leads
// nowhere.
func lookup(v any, path string) any {
	for path != "" {
		seg, rest, _ := strings.Cut(path, ".")
		path = rest
		switch x := v.(type) {
		case map[string]any:
			v = x[seg]
		case []any:
			i, err := strconv.Atoi(seg)
			if err != nil || i < 0 || i >= len(x) {
				return nil
			}
			v = x[i]
		default:
			return nil
		}
	}
	return v
}
