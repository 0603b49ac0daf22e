package policy

import (
	"path"
	"strconv"
	"strings"
	"sync"

	"github.com/vigil-sec/vigil/internal/iac"
)

// index holds what rules may see beyond their own resource: every
// resource as a CEL value, all resources by type, and who refers to whom.
type index struct {
	res    []iac.Resource
	values []map[string]any
	all    map[string][]any
	// referrers maps a referenced address to the resources referring to it.
	referrers map[string][]int
	once      sync.Once
}

func newIndex(res []iac.Resource) *index {
	ix := &index{res: res, values: make([]map[string]any, len(res))}
	for i := range res {
		ix.values[i] = resourceValue(&res[i])
	}
	return ix
}

// build makes the cross-resource maps on first use: most rules never look.
func (ix *index) build() {
	ix.all = map[string][]any{}
	ix.referrers = map[string][]int{}
	for i := range ix.res {
		r := &ix.res[i]
		ix.all[r.Type] = append(ix.all[r.Type], ix.values[i])
		seen := map[string]bool{}
		scope := scopeOf(r)
		for _, targets := range r.Refs {
			for _, t := range targets {
				if !seen[t] {
					seen[t] = true
					k := scope + "\x00" + t
					ix.referrers[k] = append(ix.referrers[k], i)
				}
			}
		}
	}
}

// scopeOf names the namespace a resource's references resolve in: the
// Terraform root module (the directory of the first module call for a
// resource that came through modules, else of its own file), or the file
// for every other format. Two stacks both declaring aws_s3_bucket.logs
// must not see each other's references.
func scopeOf(r *iac.Resource) string {
	f := r.Location.File
	if r.Source != iac.SourceTerraform {
		return f
	}
	if len(r.Via) > 0 {
		f = r.Via[0].File
	}
	return path.Dir(f)
}

// resourceValue is a resource as rules see it (docs/policy.md).
func resourceValue(r *iac.Resource) map[string]any {
	refs := make(map[string]any, len(r.Refs))
	for k, v := range r.Refs {
		l := make([]any, len(v))
		for i, s := range v {
			l[i] = s
		}
		refs[k] = l
	}
	attrs := r.Attrs
	if attrs == nil {
		attrs = map[string]any{}
	}
	return map[string]any{
		"type":     r.Type,
		"address":  r.Address,
		"source":   string(r.Source),
		"provider": r.Provider,
		"file":     r.Location.File,
		"attrs":    attrs,
		"refs":     refs,
	}
}

// activation is the variables for resource i. related and all are
// computed on demand through the index.
func (ix *index) activation(i int) map[string]any {
	r := &ix.res[i]
	ix.once.Do(ix.build)
	act := map[string]any{
		"resource": ix.values[i],
		"attrs":    ix.values[i]["attrs"],
		"all":      ix.all,
		"related":  ix.related(r),
		"item":     nil,
		"index":    int64(0),
	}
	pod, podPath, containers := podView(r)
	act["pod"] = pod
	act["podPath"] = podPath
	act["containers"] = containers
	return act
}

// related groups by type the resources whose Refs name r (by its full
// address or by its address without an instance key).
func (ix *index) related(r *iac.Resource) map[string][]any {
	scope := scopeOf(r) + "\x00"
	keys := []string{scope + r.Address}
	if base, ok := stripInstanceKey(r.Address); ok {
		keys = append(keys, scope+base)
	}
	var out map[string][]any
	seen := map[int]bool{}
	for _, k := range keys {
		for _, j := range ix.referrers[k] {
			if seen[j] {
				continue
			}
			seen[j] = true
			if out == nil {
				out = map[string][]any{}
			}
			t := ix.res[j].Type
			out[t] = append(out[t], ix.values[j])
		}
	}
	if out == nil {
		return emptyRelated
	}
	return out
}

var emptyRelated = map[string][]any{}

// stripInstanceKey turns aws_s3_bucket.b[0] or x.y["k"] into its base.
func stripInstanceKey(addr string) (string, bool) {
	if !strings.HasSuffix(addr, "]") {
		return "", false
	}
	i := strings.LastIndexByte(addr, '[')
	if i <= 0 {
		return "", false
	}
	return addr[:i], true
}

// workloadPodPaths says where each Kubernetes workload kind keeps its pod
// spec.
var workloadPodPaths = map[string][]string{
	"Pod":                   {"spec"},
	"Deployment":            {"spec", "template", "spec"},
	"StatefulSet":           {"spec", "template", "spec"},
	"DaemonSet":             {"spec", "template", "spec"},
	"ReplicaSet":            {"spec", "template", "spec"},
	"ReplicationController": {"spec", "template", "spec"},
	"Job":                   {"spec", "template", "spec"},
	"PodTemplate":           {"template", "spec"},
	"CronJob":               {"spec", "jobTemplate", "spec", "template", "spec"},
}

var emptyMap = map[string]any{}

// podView gives Kubernetes workload rules their pod spec and containers:
// pod is the pod spec (empty for other resources), podPath its attribute
// path, and containers every container, init container and ephemeral
// container as {name, kind, path, spec}.
func podView(r *iac.Resource) (map[string]any, string, []any) {
	if r.Source != iac.SourceKubernetes && r.Source != iac.SourceHelm && r.Source != iac.SourceKustomize {
		return emptyMap, "", nil
	}
	p, ok := workloadPodPaths[r.Type]
	if !ok {
		return emptyMap, "", nil
	}
	var cur any = r.Attrs
	for _, k := range p {
		m, ok := cur.(map[string]any)
		if !ok {
			return emptyMap, "", nil
		}
		cur = m[k]
	}
	pod, ok := cur.(map[string]any)
	if !ok {
		return emptyMap, "", nil
	}
	podPath := strings.Join(p, ".")
	var containers []any
	for _, kind := range []struct{ field, name string }{
		{"initContainers", "initContainer"},
		{"containers", "container"},
		{"ephemeralContainers", "ephemeralContainer"},
	} {
		list, _ := pod[kind.field].([]any)
		for i, c := range list {
			spec, ok := c.(map[string]any)
			if !ok {
				continue
			}
			name, _ := spec["name"].(string)
			containers = append(containers, map[string]any{
				"name": name,
				"kind": kind.name,
				"path": podPath + "." + kind.field + "." + strconv.Itoa(i),
				"spec": spec,
			})
		}
	}
	return pod, podPath, containers
}
