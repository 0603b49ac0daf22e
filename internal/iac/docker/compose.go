package docker

import (
	"context"
	"errors"
	"fmt"
	"path"
	"sort"
	"strings"

	"github.com/vigil-sec/vigil/internal/iac"
)

// ComposeLoader reads Docker Compose files.
//
// Each service becomes one iac.Resource: Source iac.SourceCompose, Type
// "service", Address "services.<name>", Provider "docker", Location the
// service's lines. Attrs is the service map exactly as written (YAML merge
// keys applied, short-syntax volumes and ports left as strings, ${VAR}
// left uninterpolated); Lines paths are relative to the service
// ("volumes.0"). Top-level x- extensions are not services.
//
// Files written in the legacy version-1 format (services at the top level)
// are read too: a top-level entry is a service when it has "image" or
// "build".
type ComposeLoader struct{}

var _ iac.Loader = (*ComposeLoader)(nil)

// NewCompose returns the Compose loader.
func NewCompose() *ComposeLoader { return &ComposeLoader{} }

// Name implements iac.Loader.
func (*ComposeLoader) Name() string { return "compose" }

// Load implements iac.Loader.
func (*ComposeLoader) Load(ctx context.Context, in *iac.Input) ([]iac.Resource, []iac.FileError) {
	return iac.ParseFiles(ctx, in, IsCompose, ParseCompose)
}

// IsCompose reports whether a file's name marks it as a Compose file:
// compose.yaml, compose.*.yaml, docker-compose.yml,
// docker-compose.override.yml, docker-compose-dev.yaml, app.compose.yml …
// (case-insensitive, .yml or .yaml).
func IsCompose(name string) bool {
	base := strings.ToLower(path.Base(name))
	stem, ok := strings.CutSuffix(base, ".yml")
	if !ok {
		if stem, ok = strings.CutSuffix(base, ".yaml"); !ok {
			return false
		}
	}
	if strings.HasSuffix(stem, ".compose") {
		return true
	}
	stem = strings.TrimPrefix(stem, "docker-")
	rest, ok := strings.CutPrefix(stem, "compose")
	return ok && (rest == "" || strings.ContainsRune(".-_", rune(rest[0])))
}

// ParseCompose decodes one Compose file into its services. A file that is
// not a map, or has no services, gives none.
func ParseCompose(file string, data []byte) ([]iac.Resource, error) {
	// Compose reads the first document only.
	docs, err := iac.DecodeYAML(data, iac.YAMLOptions{MaxDocs: 1})
	if err != nil && !(errors.Is(err, iac.ErrTooMany) && len(docs) > 0) {
		return nil, fmt.Errorf("decode compose file: %w", err)
	}
	if len(docs) == 0 {
		return nil, nil
	}
	doc := docs[0]
	top, ok := doc.Value.(map[string]any)
	if !ok {
		return nil, nil
	}
	services, prefix := composeServices(top)
	if len(services) == 0 {
		return nil, nil
	}
	names := make([]string, 0, len(services))
	for name := range services {
		names = append(names, name)
	}
	sort.Strings(names)
	lines := splitLines(doc.Lines, prefix, names)
	rs := make([]iac.Resource, 0, len(names))
	for _, name := range names {
		svc := services[name]
		rs = append(rs, iac.Resource{
			Source:   iac.SourceCompose,
			Type:     "service",
			Address:  "services." + name,
			Provider: "docker",
			Location: iac.Location{File: file, Range: doc.Lines[prefix+name]},
			Attrs:    svc,
			Lines:    lines[name],
		})
	}
	return rs, nil
}

// composeServices finds the service maps of a Compose file and the path
// prefix of their entries in the file's Lines.
func composeServices(top map[string]any) (map[string]map[string]any, string) {
	out := map[string]map[string]any{}
	if raw, ok := top["services"]; ok {
		m, _ := raw.(map[string]any)
		for name, v := range m {
			if strings.HasPrefix(name, "x-") {
				continue
			}
			switch svc := v.(type) {
			case map[string]any:
				out[name] = svc
			case nil:
				out[name] = map[string]any{}
			}
		}
		return out, "services."
	}
	if _, ok := top["version"]; ok {
		return nil, ""
	}
	// Version 1: services at the top level.
	for name, v := range top {
		svc, ok := v.(map[string]any)
		if !ok || strings.HasPrefix(name, "x-") {
			continue
		}
		if _, img := svc["image"]; img {
			out[name] = svc
		} else if _, build := svc["build"]; build {
			out[name] = svc
		}
	}
	return out, ""
}

// splitLines rebases the file's line map onto each service: the path
// "services.web.volumes.0" becomes "volumes.0" of service "web". Service
// names may contain dots, so a path goes to the longest name it starts
// with.
func splitLines(all map[string]iac.Range, prefix string, names []string) map[string]map[string]iac.Range {
	out := make(map[string]map[string]iac.Range, len(names))
	for _, n := range names {
		out[n] = map[string]iac.Range{}
	}
	for p, rg := range all {
		rest, ok := strings.CutPrefix(p, prefix)
		if _, isService := out[rest]; !ok || isService {
			continue
		}
		for i := len(rest) - 1; i > 0; i-- {
			if rest[i] != '.' {
				continue
			}
			if m, ok := out[rest[:i]]; ok {
				m[rest[i+1:]] = rg
				break
			}
		}
	}
	return out
}
