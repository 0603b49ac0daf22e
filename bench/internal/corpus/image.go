package corpus

import (
	"fmt"
	"io"
	"os"
	"runtime"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/klauspost/compress/gzip"
)

// layerSpec is one image layer: an uncompressed tar file and the history
// line that made it.
type layerSpec struct {
	tar       string
	createdBy string
}

// created is the fixed creation time of every corpus image, so a rebuild
// of the same layers gives the same config digest.
var created = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

// writeArchive writes a `docker save`-style tarball (manifest.json, config,
// gzip layers) of a linux image for this machine's architecture made of
// layers, tagged tag. Each layer is first gzipped into tmpDir (and removed
// at the end), so its compressed bytes are produced once.
func writeArchive(path, tag, tmpDir string, layers []layerSpec) error {
	ref, err := name.NewTag(tag)
	if err != nil {
		return err
	}
	cfg, err := empty.Image.ConfigFile()
	if err != nil {
		return err
	}
	cfg = cfg.DeepCopy()
	cfg.OS, cfg.Architecture = "linux", runtime.GOARCH
	cfg.Created = v1.Time{Time: created}
	cfg.Config.Env = []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}
	cfg.Config.Cmd = []string{"/bin/bash"}
	img, err := mutate.ConfigFile(empty.Image, cfg)
	if err != nil {
		return err
	}
	for i, l := range layers {
		gz := fmt.Sprintf("%s/layer%d.tar.gz", tmpDir, i)
		if err := gzipFile(l.tar, gz); err != nil {
			return err
		}
		defer os.Remove(gz)
		layer, err := tarball.LayerFromFile(gz)
		if err != nil {
			return fmt.Errorf("layer %s: %w", l.tar, err)
		}
		img, err = mutate.Append(img, mutate.Addendum{
			Layer:   layer,
			History: v1.History{Created: v1.Time{Time: created}, CreatedBy: l.createdBy},
		})
		if err != nil {
			return err
		}
	}
	if err := tarball.WriteToFile(path, ref, img); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// gzipFile compresses src into dst.
func gzipFile(src, dst string) (err error) {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := out.Close(); err == nil {
			err = cerr
		}
	}()
	zw := gzip.NewWriter(out)
	if _, err := io.Copy(zw, in); err != nil {
		return fmt.Errorf("gzip %s: %w", src, err)
	}
	return zw.Close()
}
