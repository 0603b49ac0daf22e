package cli

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/vigil-sec/vigil/internal/image"
	"github.com/vigil-sec/vigil/internal/inventory"
	"github.com/vigil-sec/vigil/internal/sbom"
	"github.com/vigil-sec/vigil/internal/scan"
)

func scanImage(ctx context.Context, env *Env, log *slog.Logger, e *inventory.Engine, f *scanFlags, ref string, opts scan.Options) (*scan.Scanned, error) {
	cacheDir := ""
	if !f.noCache {
		cacheDir = f.cacheDir
		if cacheDir == "" {
			cacheDir = defaultCacheDir(env)
		}
		if cacheDir != "" {
			cacheDir = filepath.Join(cacheDir, "layers")
		}
	}
	s, err := scan.Image(ctx, e, ref, scan.ImageOptions{
		Options:  opts,
		Image:    image.Options{Platform: f.platform, Insecure: f.insecure},
		CacheDir: cacheDir,
	})
	if err != nil {
		return nil, err
	}
	log.Debug("image scanned", "ref", ref, "layers", s.Stats.Layers, "cacheHits", s.Stats.CacheHits, "cacheDir", cacheDir)
	return s, nil
}

// defaultCacheDir is $XDG_CACHE_HOME/vigil, else ~/.cache/vigil, else none.
func defaultCacheDir(env *Env) string {
	if d := env.getenv("XDG_CACHE_HOME"); d != "" {
		return filepath.Join(d, "vigil")
	}
	if h := env.getenv("HOME"); h != "" {
		return filepath.Join(h, ".cache", "vigil")
	}
	return ""
}

func scanSBOM(path string) (*scan.Scanned, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("scan sbom: %w", err)
	}
	defer f.Close()
	res, _, err := sbom.Decode(f, path)
	if err != nil {
		return nil, fmt.Errorf("scan sbom %s: %w", path, err)
	}
	res.Sort()
	return &scan.Scanned{Result: res}, nil
}

func sbomEncoder(format string, env *Env) (encoder, bool) {
	var f sbom.Format
	var spec string
	switch format {
	case "cyclonedx", "cyclonedx-json":
		f, spec = sbom.CycloneDXJSON, sbom.CycloneDX15
	case "cyclonedx-1.6":
		f, spec = sbom.CycloneDXJSON, sbom.CycloneDX16
	case "spdx", "spdx-json":
		f, spec = sbom.SPDXJSON, sbom.SPDX23
	default:
		return nil, false
	}
	return func(w io.Writer, r *inventory.Result) error {
		return sbom.Encode(w, f, r, sbom.EncodeOptions{
			Tool: "vigil", ToolVersion: env.Version, Timestamp: env.now(), SpecVersion: spec,
		})
	}, true
}
