package iac

import (
	"fmt"
	"strconv"
	"strings"
)

// Source names the format a resource was read from.
type Source string

// The formats Vigil reads.
const (
	SourceTerraform      Source = "terraform"      // HCL modules (.tf, .tf.json, .tfvars)
	SourceTerraformPlan  Source = "terraform-plan" // `terraform show -json` output
	SourceKubernetes     Source = "kubernetes"     // YAML/JSON manifests
	SourceHelm           Source = "helm"           // a chart rendered with its values
	SourceKustomize      Source = "kustomize"      // a kustomization rendered
	SourceDockerfile     Source = "dockerfile"
	SourceCompose        Source = "compose"
	SourceCloudFormation Source = "cloudformation"
)

// Range is an inclusive span of 1-based lines. The zero Range means "not
// known".
type Range struct {
	StartLine int `json:"startLine"`
	EndLine   int `json:"endLine"`
}

// Contains reports whether line lies in r.
func (r Range) Contains(line int) bool { return line >= r.StartLine && line <= r.EndLine }

func (r Range) String() string {
	if r.StartLine == r.EndLine {
		return strconv.Itoa(r.StartLine)
	}
	return fmt.Sprintf("%d-%d", r.StartLine, r.EndLine)
}

// Location is a place in a file. File is slash-separated and relative to
// the scanned root.
type Location struct {
	File  string `json:"file"`
	Range Range  `json:"range"`
}

// Resource is one declared thing, with its attributes evaluated as far as
// the parser could.
//
// Attrs holds JSON-like values only: nil, bool, int64 (every integral
// number), float64, string, []any and map[string]any. A value the parser
// could not know (an unset variable, a data source, a computed attribute)
// is absent from its map, so rules must treat a missing key as "unknown",
// not as "false". Nested blocks (Terraform `ingress { … }`) are []any of
// maps even when there is one block, so rules can always iterate.
type Resource struct {
	Source Source `json:"source"`
	// Type is the resource type in its format's words: aws_s3_bucket,
	// Deployment, Dockerfile, service (compose), AWS::S3::Bucket.
	Type string `json:"type"`
	// Address names the resource the way its users do:
	// aws_s3_bucket.logs, module.net.aws_security_group.web["a"],
	// Deployment/web (namespace-qualified when a namespace is set:
	// Deployment/prod/web), services.web, Resources.LogsBucket,
	// Dockerfile stage names (Dockerfile or Dockerfile:build).
	Address string `json:"address"`
	// Location is where the resource is written: for a module's resource
	// the block in the module's file, for a Helm chart the template, for a
	// Kustomize build the file the object came from when known.
	Location Location `json:"location"`
	// Via is how the resource was instantiated when that differs from
	// where it is written: the module call, the chart's Chart.yaml, the
	// kustomization.yaml. Empty otherwise.
	Via []Location `json:"via,omitempty"`
	// Provider is the cloud or platform the resource belongs to: aws,
	// alicloud, tencentcloud, huaweicloud, google, azurerm, kubernetes,
	// docker. Empty when unknown.
	Provider string         `json:"provider,omitempty"`
	Attrs    map[string]any `json:"attrs"`
	// Lines maps attribute paths to where they are written, when the
	// parser knows: "ingress.0.cidr_blocks", "spec.template.spec.containers.1.image",
	// "instructions.3". A finding about one attribute points there instead
	// of at the whole resource.
	Lines map[string]Range `json:"lines,omitempty"`
	// Refs maps attribute paths to the addresses of the resources their
	// expressions refer to ("bucket" → ["aws_s3_bucket.logs"]), so that a
	// rule can join resources whose linking attribute is only known after
	// apply (an id). Addresses are full (module path included) and carry
	// the instance key only when the reference wrote one.
	Refs map[string][]string `json:"refs,omitempty"`
}

// Line returns the line range of the attribute path, or of the closest
// ancestor path the parser recorded, or the resource's own range.
func (r *Resource) Line(path string) Range {
	for p := path; p != ""; {
		if rg, ok := r.Lines[p]; ok {
			return rg
		}
		i := strings.LastIndexByte(p, '.')
		if i < 0 {
			break
		}
		p = p[:i]
	}
	return r.Location.Range
}

// FileError is a file that could not be read or understood. The scan goes
// on without it.
type FileError struct {
	File string `json:"file"`
	Err  error  `json:"-"`
}

func (e *FileError) Error() string { return e.File + ": " + e.Err.Error() }
func (e *FileError) Unwrap() error { return e.Err }

// Normalize turns a decoded value (from encoding/json, yaml.v3 or cty
// conversion) into the JSON-like shapes Attrs promises: integral numbers
// become int64, other numbers float64, map[any]any keys become strings.
// Depth is bounded by maxDepth; deeper values are cut off (left nil).
func Normalize(v any) any { return normalize(v, 0) }

// MaxDepth bounds the nesting of attribute values.
const MaxDepth = 64

func normalize(v any, depth int) any {
	if depth > MaxDepth {
		return nil
	}
	switch x := v.(type) {
	case nil, bool, string, int64:
		return x
	case int:
		return int64(x)
	case int32:
		return int64(x)
	case uint64:
		return int64(x)
	case uint:
		return int64(x)
	case float32:
		return normalizeFloat(float64(x))
	case float64:
		return normalizeFloat(x)
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = normalize(e, depth+1)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = normalize(e, depth+1)
		}
		return out
	case map[any]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[fmt.Sprint(k)] = normalize(e, depth+1)
		}
		return out
	default:
		return fmt.Sprint(x)
	}
}

func normalizeFloat(f float64) any {
	if f == float64(int64(f)) && f >= -1<<53 && f <= 1<<53 {
		return int64(f)
	}
	return f
}
