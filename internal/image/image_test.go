package image

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/vigil-sec/vigil/internal/asset"
)

// checkImage asserts what Open reported against the fixture.
func checkImage(t *testing.T, img *Image, ref string, fx fixture, manifestDigests bool, repoDigests []string) {
	t.Helper()
	a := img.Asset()
	cfgDigest := fx.configDigest(t)
	if a.Kind != asset.KindImage || a.Name != ref || a.Digest != cfgDigest || a.ID != asset.NewID(asset.KindImage, cfgDigest) {
		t.Errorf("asset = {Kind %q Name %q Digest %q ID %q}, want {image %q %q %q}", a.Kind, a.Name, a.Digest, a.ID, ref, cfgDigest, asset.NewID(asset.KindImage, cfgDigest))
	}
	if a.Platform != fx.platform {
		t.Errorf("Platform = %q, want %q", a.Platform, fx.platform)
	}
	if !reflect.DeepEqual(a.Labels, fx.labels) && (len(a.Labels) != 0 || len(fx.labels) != 0) {
		t.Errorf("Labels = %v, want %v", a.Labels, fx.labels)
	}
	if !slices.Equal(a.RepoDigests, repoDigests) {
		t.Errorf("RepoDigests = %v, want %v", a.RepoDigests, repoDigests)
	}
	m, err := fx.img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	layers := img.Layers()
	if len(a.Layers) != len(fx.tars) || len(layers) != len(fx.tars) {
		t.Fatalf("got %d asset layers and %d layers, want %d", len(a.Layers), len(layers), len(fx.tars))
	}
	for i, want := range fx.tars {
		al := a.Layers[i]
		if al.Index != i || al.DiffID != digestOf(want) || layers[i].DiffID != al.DiffID || al.CreatedBy != fx.createdBy[i] {
			t.Errorf("layer %d = %+v (stream DiffID %s), want index %d diffID %s createdBy %q", i, al, layers[i].DiffID, i, digestOf(want), fx.createdBy[i])
		}
		if manifestDigests && (al.Digest != m.Layers[i].Digest.String() || al.Size != m.Layers[i].Size) {
			t.Errorf("layer %d digest/size = %s/%d, want %s/%d", i, al.Digest, al.Size, m.Layers[i].Digest, m.Layers[i].Size)
		}
		got, err := readLayer(t, layers[i])
		if err != nil {
			t.Errorf("layer %d: read: %v", i, err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("layer %d: content differs (%d bytes, want %d)", i, len(got), len(want))
		}
	}
}

func TestOpenSources(t *testing.T) {
	fx := multiLayer(t)
	dir := t.TempDir()

	layoutDir := filepath.Join(dir, "layout")
	writeLayout(t, layoutDir, "v1", fx.img, nil)
	layoutTar := filepath.Join(dir, "layout.tar")
	tarDir(t, layoutDir, layoutTar)
	saveTar := filepath.Join(dir, "save.tar")
	writeTarball(t, saveTar, "vigil-test/multi:1", fx.img)
	saveTgz := filepath.Join(dir, "save.tar.gz")
	gzipFile(t, saveTar, saveTgz)

	host := startRegistry(t)
	pushImage(t, host+"/vigil/multi:1", fx.img)
	repoDigest := []string{host + "/vigil/multi@" + fx.manifestDigest(t)}

	tests := []struct {
		name        string
		ref         string
		opts        Options
		manifest    bool // layer digests come from a manifest
		repoDigests []string
	}{
		{name: "oci layout", ref: layoutDir, manifest: true},
		{name: "oci layout with tag", ref: layoutDir + ":v1", manifest: true},
		{name: "oci layout with digest", ref: layoutDir + "@" + fx.manifestDigest(t), manifest: true},
		{name: "oci prefix", ref: "oci:" + layoutDir, manifest: true},
		{name: "oci source", ref: layoutDir, opts: Options{Source: SourceOCI}, manifest: true},
		{name: "oci layout tar", ref: layoutTar, manifest: true},
		{name: "docker save", ref: saveTar},
		{name: "docker save with tag", ref: saveTar + ":vigil-test/multi:1"},
		{name: "docker save gzipped", ref: saveTgz},
		{name: "archive prefix", ref: "archive:" + saveTar},
		{name: "registry auto", ref: host + "/vigil/multi:1", manifest: true, repoDigests: repoDigest},
		{name: "registry prefix insecure", ref: "registry:" + host + "/vigil/multi:1", opts: Options{Insecure: true}, manifest: true, repoDigests: repoDigest},
		{name: "registry by digest", ref: host + "/vigil/multi@" + fx.manifestDigest(t), opts: Options{Source: SourceRegistry}, manifest: true, repoDigests: repoDigest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			img := open(t, tt.ref, tt.opts)
			checkImage(t, img, tt.ref, fx, tt.manifest, tt.repoDigests)
		})
	}
}

// TestDockerSaveArchive covers archives as Docker Engine 20.10 writes them
// (plain layer.tar members, HEX.json config), with a zstd layer after a
// plain one, and multi-image archives.
func TestDockerSaveArchive(t *testing.T) {
	fx := multiLayer(t)
	dir := t.TempDir()

	// Hand-made classic archive: layer 0 plain, layer 1 zstd, layer 2 a
	// symlink to a plain copy elsewhere in the archive.
	raw, err := fx.img.RawConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cfgHex := strings.TrimPrefix(fx.configDigest(t), "sha256:")
	zl, err := fx.img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	rc, err := zl[1].Compressed()
	if err != nil {
		t.Fatal(err)
	}
	zstdBlob, err := io.ReadAll(rc)
	rc.Close()
	if err != nil {
		t.Fatal(err)
	}
	manifest := `[{"Config":"` + cfgHex + `.json","RepoTags":["vigil-test/classic:1"],"Layers":["aaa/layer.tar","bbb/layer.tar","ccc/layer.tar"]}]`
	classic := filepath.Join(dir, "classic.tar")
	if err := os.WriteFile(classic, tarBytes(t,
		file{name: "aaa/layer.tar", body: string(fx.tars[0])},
		file{name: "bbb/layer.tar", body: string(zstdBlob)},
		file{name: "shared/layer.tar", body: string(fx.tars[2])},
		file{name: "ccc/layer.tar", link: "../shared/layer.tar"},
		file{name: cfgHex + ".json", body: string(raw)},
		file{name: "manifest.json", body: manifest},
	), 0o644); err != nil {
		t.Fatal(err)
	}
	img := open(t, classic, Options{})
	checkImage(t, img, classic, fx, false, nil)
	a := img.Asset()
	if a.Layers[0].Digest != a.Layers[0].DiffID || a.Layers[0].Size != int64(len(fx.tars[0])) {
		t.Errorf("plain layer digest/size = %s/%d, want its DiffID/%d", a.Layers[0].Digest, a.Layers[0].Size, len(fx.tars[0]))
	}
	if a.Layers[1].Digest != "" || a.Layers[1].Size != int64(len(zstdBlob)) {
		t.Errorf("zstd layer digest/size = %s/%d, want unknown/%d", a.Layers[1].Digest, a.Layers[1].Size, len(zstdBlob))
	}

	// Several images in one archive: a tag or config digest chooses.
	other := archImage(t, v1.Platform{OS: "linux", Architecture: "amd64"})
	multi := filepath.Join(dir, "multi.tar")
	writeMultiTarball(t, multi, map[string]v1.Image{"vigil-test/a:1": fx.img, "vigil-test/b:1": other.img})
	if _, err := Open(context.Background(), multi, Options{}); !errors.Is(err, ErrAmbiguous) {
		t.Errorf("multi-image archive without tag: err = %v, want ErrAmbiguous", err)
	}
	checkImage(t, open(t, multi+":vigil-test/b:1", Options{}), multi+":vigil-test/b:1", other, false, nil)
	checkImage(t, open(t, multi+"@"+fx.configDigest(t), Options{}), multi+"@"+fx.configDigest(t), fx, false, nil)
	if _, err := Open(context.Background(), multi+":vigil-test/c:1", Options{}); !errors.Is(err, ErrNotFound) {
		t.Errorf("missing tag: err = %v, want ErrNotFound", err)
	}
}

func TestPlatformSelection(t *testing.T) {
	idx, byArch := multiArch(t)
	dir := t.TempDir()
	layoutDir := filepath.Join(dir, "layout")
	writeLayout(t, layoutDir, "multi", nil, idx)
	layoutTar := filepath.Join(dir, "layout.tar")
	tarDir(t, layoutDir, layoutTar)
	host := startRegistry(t)
	pushIndex(t, host+"/vigil/multi:1", idx)
	idxDigest, err := idx.Digest()
	if err != nil {
		t.Fatal(err)
	}

	refs := map[string][]string{
		"layout":     {layoutDir, "oci:" + layoutDir + ":multi"},
		"layout tar": {layoutTar},
		"registry":   {host + "/vigil/multi:1"},
	}
	for kind, rs := range refs {
		for _, ref := range rs {
			var repo []string
			if kind == "registry" {
				repo = []string{host + "/vigil/multi@" + idxDigest.String()}
			}
			t.Run(kind+"/arm64", func(t *testing.T) {
				checkImage(t, open(t, ref, Options{Platform: "linux/arm64"}), ref, byArch["arm64"], true, repo)
			})
			t.Run(kind+"/arm64-v8", func(t *testing.T) {
				checkImage(t, open(t, ref, Options{Platform: "linux/arm64/v8"}), ref, byArch["arm64"], true, repo)
			})
			t.Run(kind+"/amd64", func(t *testing.T) {
				checkImage(t, open(t, ref, Options{Platform: "linux/amd64"}), ref, byArch["amd64"], true, repo)
			})
			t.Run(kind+"/default", func(t *testing.T) {
				fx, ok := byArch[runtime.GOARCH]
				img, err := Open(context.Background(), ref, Options{})
				if !ok {
					var pe *PlatformError
					if !errors.As(err, &pe) {
						t.Fatalf("default platform on %s: err = %v, want PlatformError", runtime.GOARCH, err)
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				defer img.Close()
				checkImage(t, img, ref, fx, true, repo)
			})
			t.Run(kind+"/missing", func(t *testing.T) {
				_, err := Open(context.Background(), ref, Options{Platform: "linux/s390x"})
				var pe *PlatformError
				if !errors.As(err, &pe) {
					t.Fatalf("err = %v, want PlatformError", err)
				}
				if want := []string{"linux/amd64", "linux/arm64/v8"}; !slices.Equal(pe.Available, want) || pe.Want != "linux/s390x" {
					t.Errorf("PlatformError = %+v, want Want linux/s390x Available %v", pe, want)
				}
				if !strings.Contains(err.Error(), "linux/amd64, linux/arm64/v8") {
					t.Errorf("message %q does not list the platforms", err)
				}
			})
		}
	}

	// An explicit platform is also checked against a single-platform image.
	fx := multiLayer(t)
	single := filepath.Join(dir, "single")
	writeLayout(t, single, "", fx.img, nil)
	_, err = Open(context.Background(), single, Options{Platform: "linux/arm64"})
	var pe *PlatformError
	if !errors.As(err, &pe) || !slices.Equal(pe.Available, []string{"linux/amd64"}) {
		t.Errorf("single-platform image for linux/arm64: err = %v, want PlatformError listing linux/amd64", err)
	}
	if _, err := Open(context.Background(), single, Options{Platform: "linux"}); err == nil {
		t.Error("malformed platform accepted")
	}
}

// TestLayoutSelection covers layouts holding several images.
func TestLayoutSelection(t *testing.T) {
	a := multiLayer(t)
	b := archImage(t, v1.Platform{OS: "linux", Architecture: "amd64"})
	dir := filepath.Join(t.TempDir(), "layout")
	lp := writeLayout(t, dir, "a", a.img, nil)
	if err := lp.AppendImage(b.img, layoutAnnotation("docker.io/vigil/b:latest")); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(context.Background(), dir, Options{Platform: "linux/amd64"}); !errors.Is(err, ErrAmbiguous) {
		t.Errorf("two images, no name: err = %v, want ErrAmbiguous", err)
	}
	checkImage(t, open(t, dir+":a", Options{}), dir+":a", a, true, nil)
	checkImage(t, open(t, dir+":latest", Options{}), dir+":latest", b, true, nil)
	checkImage(t, open(t, dir+":vigil/b:latest", Options{}), dir+":vigil/b:latest", b, true, nil)
	checkImage(t, open(t, dir+"@"+b.manifestDigest(t), Options{}), dir+"@"+b.manifestDigest(t), b, true, nil)
	for _, ref := range []string{dir + ":c", dir + "@sha256:" + strings.Repeat("0", 64)} {
		if _, err := Open(context.Background(), ref, Options{}); !errors.Is(err, ErrNotFound) {
			t.Errorf("%s: err = %v, want ErrNotFound", ref, err)
		}
	}
}

func TestLayerStreams(t *testing.T) {
	fx := multiLayer(t)
	dir := filepath.Join(t.TempDir(), "layout")
	writeLayout(t, dir, "", fx.img, nil)
	img := open(t, dir, Options{})

	// Layers can be opened again and concurrently.
	var wg sync.WaitGroup
	for range 3 {
		for i, l := range img.Layers() {
			wg.Go(func() {
				got, err := readLayer(t, l)
				if err != nil || !bytes.Equal(got, fx.tars[i]) {
					t.Errorf("layer %d: err %v, equal %v", i, err, bytes.Equal(got, fx.tars[i]))
				}
			})
		}
	}
	wg.Wait()

	// The zstd layer is a tar once decompressed.
	rc, err := img.Layers()[1].Open()
	if err != nil {
		t.Fatal(err)
	}
	h, err := tar.NewReader(rc).Next()
	if err != nil || h.Name != "usr/share/doc/zstd.txt" {
		t.Errorf("zstd layer first member = %v, %v", h, err)
	}
	if err := rc.Close(); err != nil {
		t.Errorf("Close after partial read: %v", err)
	}
}
