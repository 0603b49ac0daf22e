package kube

import (
	"context"
	"path"
	"strings"

	"github.com/vigil-sec/vigil/internal/iac"
)

// Options tune the loader. The zero value renders Helm charts with their
// own values.yaml only.
type Options struct {
	// HelmValues lists extra values files, relative to the scan root, merged
	// in order over every chart's values.yaml (like helm -f).
	HelmValues []string
	// HelmSet lists key=value overrides applied after HelmValues (like
	// helm --set).
	HelmSet []string
}

// Loader reads Kubernetes manifests, Helm charts and Kustomize overlays.
type Loader struct {
	opts Options
}

var _ iac.Loader = (*Loader)(nil)

// New returns a loader with the given options.
func New(opts Options) *Loader { return &Loader{opts: opts} }

// Name implements iac.Loader.
func (*Loader) Name() string { return "kubernetes" }

// Load implements iac.Loader. Resources come in a deterministic order:
// plain manifests by file then document, then charts by directory, then
// kustomizations by file, each in render order.
func (l *Loader) Load(ctx context.Context, in *iac.Input) ([]iac.Resource, []iac.FileError) {
	files := make(map[string]bool, len(in.Files))
	for _, f := range in.Files {
		files[f] = true
	}
	charts := findCharts(in.Files)
	inChart := func(f string) bool {
		for _, d := range charts.all {
			if within(d, f) {
				return true
			}
		}
		return false
	}

	var kustFiles, rest []string
	for _, f := range in.Files {
		if len(charts.all) > 0 && inChart(f) {
			continue
		}
		if isKustomizationName(path.Base(f)) {
			kustFiles = append(kustFiles, f)
			continue
		}
		rest = append(rest, f)
	}
	ks := l.scanKustomizations(in, files, kustFiles)

	var plain []string
	for _, f := range rest {
		if ks.referenced[f] || !isManifestName(path.Base(f)) {
			continue
		}
		plain = append(plain, f)
	}

	res, errs := loadManifests(ctx, in, plain)
	if ctx.Err() != nil {
		return res, errs
	}
	if len(charts.top) > 0 {
		vals, valsErr := l.helmValues(in)
		for _, dir := range charts.top {
			if ctx.Err() != nil {
				return res, errs
			}
			rs, fe := safeRenderChart(in, dir, chartFiles(in.Files, dir), vals, valsErr)
			res = append(res, rs...)
			errs = append(errs, fe...)
		}
	}
	for _, k := range ks.top {
		if ctx.Err() != nil {
			return res, errs
		}
		rs, fe := ks.build(in, k)
		res = append(res, rs...)
		if fe != nil {
			errs = append(errs, *fe)
		}
	}
	return res, errs
}

// within reports whether file f lies under directory dir ("" is the root).
func within(dir, f string) bool {
	return dir == "" || strings.HasPrefix(f, dir+"/")
}

// isManifestName reports whether a file name may hold plain manifests:
// YAML or JSON, and not a compose file (the compose loader owns those).
func isManifestName(base string) bool {
	lower := strings.ToLower(base)
	ext := path.Ext(lower)
	switch ext {
	case ".yaml", ".yml", ".json":
	default:
		return false
	}
	if ext != ".json" && (strings.HasPrefix(lower, "docker-compose") || strings.HasPrefix(lower, "compose")) {
		return false
	}
	return true
}
