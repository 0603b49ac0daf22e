package image

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-containerregistry/pkg/compression"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// FuzzOpenArchive feeds arbitrary bytes to Open as a docker-save archive:
// it must return an error or an Image whose layers read without panicking.
func FuzzOpenArchive(f *testing.F) {
	dir := f.TempDir()
	tb := tarBytes(f, file{name: "etc/"}, file{name: "etc/os-release", body: "ID=fuzz\n"})
	fx := buildImage(f, v1.Platform{OS: "linux", Architecture: "amd64"}, map[string]string{"a": "b"},
		[]v1.Layer{layerOf(f, tb, compression.GZip), layerOf(f, tb, compression.None)}, [][]byte{tb, tb}, []string{"a", "b"})
	save := filepath.Join(dir, "save.tar")
	writeTarball(f, save, "vigil-test/fuzz:1", fx.img)
	seed, err := os.ReadFile(save)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(seed)
	layoutDir := filepath.Join(dir, "layout")
	writeLayout(f, layoutDir, "fuzz", fx.img, nil)
	tarDir(f, layoutDir, filepath.Join(dir, "layout.tar"))
	if b, err := os.ReadFile(filepath.Join(dir, "layout.tar")); err == nil {
		f.Add(b)
	}
	raw, _ := fx.img.RawConfigFile()
	f.Add(tarBytes(f,
		file{name: "l/layer.tar", body: string(tb)},
		file{name: "l2/layer.tar", link: "../l/layer.tar"},
		file{name: "c.json", body: string(raw)},
		file{name: "manifest.json", body: `[{"Config":"c.json","RepoTags":["x:1"],"Layers":["l/layer.tar","l2/layer.tar"]}]`}))
	f.Add([]byte{})
	f.Add([]byte{0x1f, 0x8b, 8, 0})

	f.Fuzz(func(t *testing.T, data []byte) {
		p := filepath.Join(t.TempDir(), "in.tar")
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		img, err := Open(context.Background(), p, Options{Source: SourceArchive, Platform: "linux/amd64"})
		if err != nil {
			return
		}
		defer img.Close()
		a := img.Asset()
		if len(a.Layers) != len(img.Layers()) {
			t.Fatalf("%d asset layers, %d layers", len(a.Layers), len(img.Layers()))
		}
		for _, l := range img.Layers() {
			rc, err := l.Open()
			if err != nil {
				continue
			}
			io.Copy(io.Discard, io.LimitReader(rc, 1<<20))
			rc.Close()
		}
	})
}
