package kube

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"

	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/engine"
	"helm.sh/helm/v3/pkg/ignore"
	"helm.sh/helm/v3/pkg/strvals"

	"github.com/vigil-sec/vigil/internal/iac"
)

// maxRendered bounds the rendered output of one chart.
const maxRendered = 32 << 20

// The release a chart is rendered as, like `helm template` with no flags.
var releaseOptions = chartutil.ReleaseOptions{
	Name:      "release",
	Namespace: "default",
	Revision:  1,
	IsInstall: true,
}

// ErrRenderTooBig means a chart rendered to more than maxRendered bytes.
var ErrRenderTooBig = errors.New("rendered chart too big")

// chartSet lists the directories holding a Chart.yaml: all of them, and
// the top-most ones, which are rendered (the others are their subcharts or
// belong to them).
type chartSet struct {
	all []string
	top []string
}

func findCharts(files []string) chartSet {
	var cs chartSet
	for _, f := range files {
		if path.Base(f) != "Chart.yaml" {
			continue
		}
		cs.all = append(cs.all, dirOf(f))
	}
	slices.Sort(cs.all)
	for _, d := range cs.all {
		nested := false
		for _, t := range cs.top {
			if within(t, d) {
				nested = true
				break
			}
		}
		if !nested {
			cs.top = append(cs.top, d)
		}
	}
	return cs
}

// dirOf is path.Dir with "" for the root.
func dirOf(f string) string {
	d := path.Dir(f)
	if d == "." {
		return ""
	}
	return d
}

func chartFiles(files []string, dir string) []string {
	var out []string
	for _, f := range files {
		if within(dir, f) {
			out = append(out, f)
		}
	}
	return out
}

// helmValues merges Options.HelmValues files then Options.HelmSet, the way
// helm merges -f and --set.
func (l *Loader) helmValues(in *iac.Input) (map[string]any, error) {
	vals := map[string]any{}
	for _, f := range l.opts.HelmValues {
		name := path.Clean(strings.TrimPrefix(f, "./"))
		if !fs.ValidPath(name) {
			return nil, fmt.Errorf("values file %s: outside the scan", f)
		}
		data, err := in.ReadFile(name)
		if err != nil {
			return nil, fmt.Errorf("values file %s: %w", f, err)
		}
		if _, err := decode(data); err != nil {
			return nil, fmt.Errorf("values file %s: %w", f, err)
		}
		m, err := chartutil.ReadValues(data)
		if err != nil {
			return nil, fmt.Errorf("values file %s: %w", f, err)
		}
		mergeValues(vals, m)
	}
	for _, s := range l.opts.HelmSet {
		if err := strvals.ParseInto(s, vals); err != nil {
			return nil, fmt.Errorf("--set %s: %w", s, err)
		}
	}
	return vals, nil
}

// mergeValues merges src into dst, tables recursively, src winning.
func mergeValues(dst, src map[string]any) {
	for k, v := range src {
		if sm, ok := v.(map[string]any); ok {
			if dm, ok := dst[k].(map[string]any); ok {
				mergeValues(dm, sm)
				continue
			}
		}
		dst[k] = v
	}
}

func copyValues(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		if sm, ok := v.(map[string]any); ok {
			v = copyValues(sm)
		}
		out[k] = v
	}
	return out
}

// safeRenderChart is renderChart turning a panic in Helm (a chart is
// untrusted input) into the chart's FileError.
func safeRenderChart(in *iac.Input, dir string, files []string, vals map[string]any, valsErr error) (res []iac.Resource, errs []iac.FileError) {
	defer func() {
		if r := recover(); r != nil {
			res, errs = nil, []iac.FileError{{File: path.Join(dir, "Chart.yaml"), Err: fmt.Errorf("helm panicked: %v", r)}}
		}
	}()
	return renderChart(in, dir, files, vals, valsErr)
}

// renderChart loads the chart in dir from the scan's files, renders it
// like `helm template` without a cluster and decodes what it rendered.
//
// Location.Range and Lines are lines of the rendered output of the
// template (the document's place in what the template produced), not of
// the template source: a template's directives shift lines, so they are
// exact only for templates whose directives sit on their own lines or
// expand in place.
func renderChart(in *iac.Input, dir string, files []string, vals map[string]any, valsErr error) ([]iac.Resource, []iac.FileError) {
	chartFile := path.Join(dir, "Chart.yaml")
	fail := func(err error) []iac.FileError { return []iac.FileError{{File: chartFile, Err: err}} }
	if valsErr != nil {
		return nil, fail(valsErr)
	}
	bufs, err := readChart(in, dir, files)
	if err != nil {
		return nil, fail(err)
	}
	ch, err := loader.LoadFiles(bufs)
	if err != nil {
		return nil, fail(fmt.Errorf("load chart: %w", err))
	}
	vals = copyValues(vals)
	if err := chartutil.ProcessDependenciesWithMerge(ch, vals); err != nil {
		return nil, fail(fmt.Errorf("chart dependencies: %w", err))
	}
	top, err := chartutil.ToRenderValues(ch, vals, releaseOptions, nil)
	if err != nil {
		return nil, fail(fmt.Errorf("values: %w", err))
	}
	out, err := engine.Render(ch, top)
	if err != nil {
		return nil, fail(fmt.Errorf("render: %w", err))
	}
	keys := make([]string, 0, len(out))
	total := 0
	for k, v := range out {
		total += len(v)
		keys = append(keys, k)
	}
	if total > maxRendered {
		return nil, fail(fmt.Errorf("%w: over %d bytes", ErrRenderTooBig, maxRendered))
	}
	slices.Sort(keys)

	have := make(map[string]bool, len(files))
	for _, f := range files {
		have[f] = true
	}
	via := []iac.Location{{File: chartFile, Range: iac.Range{StartLine: 1, EndLine: 1}}}
	var res []iac.Resource
	var errs []iac.FileError
	for _, k := range keys {
		base := path.Base(k)
		if strings.HasPrefix(base, "_") || base == "NOTES.txt" || strings.TrimSpace(out[k]) == "" {
			continue
		}
		file := templateFile(dir, k, have)
		docs, err := decode([]byte(out[k]))
		if err != nil {
			errs = append(errs, iac.FileError{File: file, Err: fmt.Errorf("rendered by %s: parse: %w", chartFile, err)})
		}
		for _, d := range docs {
			for _, o := range objects(d) {
				r := o.resource(iac.SourceHelm, file)
				r.Via = via
				res = append(res, r)
			}
		}
	}
	return res, errs
}

// readChart reads the chart's files (names relative to dir), leaving out
// what its .helmignore excludes.
func readChart(in *iac.Input, dir string, files []string) ([]*loader.BufferedFile, error) {
	rel := func(f string) string {
		if dir == "" {
			return f
		}
		return strings.TrimPrefix(f, dir+"/")
	}
	rules := ignore.Empty()
	if data, err := in.ReadFile(path.Join(dir, ignore.HelmIgnore)); err == nil {
		if rules, err = ignore.Parse(strings.NewReader(string(data))); err != nil {
			return nil, fmt.Errorf("%s: %w", ignore.HelmIgnore, err)
		}
	}
	rules.AddDefaults()
	ignored := func(f string) bool {
		r := rel(f)
		// Directory rules ("ci/") apply to every file beneath.
		for d := r; ; {
			i := strings.LastIndexByte(d, '/')
			if i < 0 {
				break
			}
			d = d[:i]
			if fi, err := fs.Stat(in.FS, path.Join(dir, d)); err == nil && rules.Ignore(d, fi) {
				return true
			}
		}
		fi, err := fs.Stat(in.FS, f)
		return err == nil && rules.Ignore(r, fi)
	}
	var bufs []*loader.BufferedFile
	for _, f := range files {
		r := rel(f)
		if r != "Chart.yaml" && ignored(f) {
			continue
		}
		data, err := in.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", f, err)
		}
		bufs = append(bufs, &loader.BufferedFile{Name: r, Data: data})
	}
	return bufs, nil
}

// templateFile maps a rendered template's name (mychart/templates/x.yaml,
// mychart/charts/sub/templates/y.yaml) to its file in the scan. A template
// of a packaged subchart points at the archive; one that cannot be placed
// at the chart's Chart.yaml.
func templateFile(dir, key string, have map[string]bool) string {
	_, rel, _ := strings.Cut(key, "/")
	if f := path.Join(dir, rel); have[f] {
		return f
	}
	if sub, ok := strings.CutPrefix(rel, "charts/"); ok {
		name, _, _ := strings.Cut(sub, "/")
		prefix := path.Join(dir, "charts", name)
		var found string
		for f := range have {
			if strings.HasPrefix(f, prefix) && strings.HasSuffix(f, ".tgz") && (found == "" || f < found) {
				found = f
			}
		}
		if found != "" {
			return found
		}
	}
	return path.Join(dir, "Chart.yaml")
}
