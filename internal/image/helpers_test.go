package image

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/compression"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// file is one tar member of a test layer; a non-empty link makes a symlink.
type file struct {
	name, body, link string
}

// tarBytes builds a layer tar with archive/tar.
func tarBytes(t testing.TB, files ...file) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	mtime := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, f := range files {
		h := &tar.Header{Name: f.name, Mode: 0o644, Size: int64(len(f.body)), ModTime: mtime, Typeflag: tar.TypeReg}
		switch {
		case f.link != "":
			h.Typeflag, h.Linkname, h.Size, h.Mode = tar.TypeSymlink, f.link, 0, 0o777
		case strings.HasSuffix(f.name, "/"):
			h.Typeflag, h.Mode = tar.TypeDir, 0o755
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if _, err := io.WriteString(tw, f.body); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func digestOf(b []byte) string {
	s := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(s[:])
}

// layerOf makes a layer from an uncompressed tar, stored with comp
// (compression.None stores it plain).
func layerOf(t testing.TB, tb []byte, comp compression.Compression) v1.Layer {
	t.Helper()
	if comp == compression.None {
		return static.NewLayer(tb, types.OCIUncompressedLayer)
	}
	opener := func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(tb)), nil }
	opts := []tarball.LayerOption{tarball.WithCompression(comp)}
	if comp == compression.ZStd {
		opts = append(opts, tarball.WithMediaType(types.OCILayerZStd))
	} else {
		opts = append(opts, tarball.WithMediaType(types.OCILayer))
	}
	l, err := tarball.LayerFromOpener(opener, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// fixture is a test image and what Open should report about it.
type fixture struct {
	img       v1.Image
	tars      [][]byte // uncompressed layer content, bottom first
	createdBy []string
	labels    map[string]string
	platform  string
}

func (f fixture) configDigest(t testing.TB) string {
	t.Helper()
	h, err := f.img.ConfigName()
	if err != nil {
		t.Fatal(err)
	}
	return h.String()
}

func (f fixture) manifestDigest(t testing.TB) string {
	t.Helper()
	h, err := f.img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return h.String()
}

// buildImage builds an OCI image of the given layers, with one history entry
// per layer and an empty_layer entry after the first.
func buildImage(t testing.TB, p v1.Platform, labels map[string]string, layers []v1.Layer, tars [][]byte, createdBy []string) fixture {
	t.Helper()
	base := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	base = mutate.ConfigMediaType(base, types.OCIConfigJSON)
	var adds []mutate.Addendum
	for i, l := range layers {
		adds = append(adds, mutate.Addendum{Layer: l, History: v1.History{CreatedBy: createdBy[i], Created: v1.Time{Time: time.Unix(1700000000, 0).UTC()}}})
		if i == 0 {
			adds = append(adds, mutate.Addendum{History: v1.History{CreatedBy: "ENV PATH=/bin", EmptyLayer: true}})
		}
	}
	img, err := mutate.Append(base, adds...)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cfg = cfg.DeepCopy()
	cfg.OS, cfg.Architecture, cfg.Variant = p.OS, p.Architecture, p.Variant
	cfg.Config.Labels = labels
	if img, err = mutate.ConfigFile(img, cfg); err != nil {
		t.Fatal(err)
	}
	ps := p.OS + "/" + p.Architecture
	if p.Variant != "" {
		ps += "/" + p.Variant
	}
	return fixture{img: img, tars: tars, createdBy: createdBy, labels: labels, platform: ps}
}

// multiLayer is a three-layer linux/amd64 image: gzip, zstd and gzip
// layers, with history and labels.
func multiLayer(t testing.TB) fixture {
	t.Helper()
	tars := [][]byte{
		tarBytes(t, file{name: "etc/"}, file{name: "etc/os-release", body: "ID=vigiltest\nVERSION_ID=1\n"}, file{name: "bin/hello", body: "#!/bin/sh\necho hello\n"}),
		tarBytes(t, file{name: "usr/share/doc/zstd.txt", body: strings.Repeat("zstd layer\n", 100)}),
		tarBytes(t, file{name: "bin/.wh.hello"}, file{name: "bin/hi", link: "/bin/true"}),
	}
	layers := []v1.Layer{
		layerOf(t, tars[0], compression.GZip),
		layerOf(t, tars[1], compression.ZStd),
		layerOf(t, tars[2], compression.GZip),
	}
	return buildImage(t, v1.Platform{OS: "linux", Architecture: "amd64"},
		map[string]string{"org.opencontainers.image.title": "vigil-test", "maintainer": "vigil"},
		layers, tars, []string{"ADD rootfs /", "RUN install-doc", "RUN rm /bin/hello"})
}

// archImage is a one-layer image whose /arch file names its architecture.
func archImage(t testing.TB, p v1.Platform) fixture {
	t.Helper()
	tb := tarBytes(t, file{name: "arch", body: p.Architecture + "\n"})
	return buildImage(t, p, nil, []v1.Layer{layerOf(t, tb, compression.GZip)}, [][]byte{tb}, []string{"ADD arch /"})
}

// multiArch is an index of linux/amd64 and linux/arm64/v8 images, plus an
// unknown/unknown attestation-like manifest that must never be chosen.
func multiArch(t testing.TB) (v1.ImageIndex, map[string]fixture) {
	t.Helper()
	amd := archImage(t, v1.Platform{OS: "linux", Architecture: "amd64"})
	arm := archImage(t, v1.Platform{OS: "linux", Architecture: "arm64", Variant: "v8"})
	att := archImage(t, v1.Platform{OS: "unknown", Architecture: "unknown"})
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	idx = mutate.AppendManifests(idx,
		mutate.IndexAddendum{Add: amd.img, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "amd64"}}},
		mutate.IndexAddendum{Add: arm.img, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "arm64", Variant: "v8"}}},
		mutate.IndexAddendum{Add: att.img, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "unknown", Architecture: "unknown"}}},
	)
	return idx, map[string]fixture{"amd64": amd, "arm64": arm}
}

// writeLayout writes an OCI layout holding img (or idx) under ref name tag.
func writeLayout(t testing.TB, dir string, tag string, img v1.Image, idx v1.ImageIndex) layout.Path {
	t.Helper()
	lp, err := layout.Write(dir, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	var opts []layout.Option
	if tag != "" {
		opts = append(opts, layout.WithAnnotations(map[string]string{annotationRefName: tag}))
	}
	if img != nil {
		err = lp.AppendImage(img, opts...)
	} else {
		err = lp.AppendIndex(idx, opts...)
	}
	if err != nil {
		t.Fatal(err)
	}
	return lp
}

// writeTarball writes img as a `docker save` style archive.
func writeTarball(t testing.TB, p, tag string, img v1.Image) {
	t.Helper()
	ref, err := name.NewTag(tag)
	if err != nil {
		t.Fatal(err)
	}
	if err := tarball.WriteToFile(p, ref, img); err != nil {
		t.Fatal(err)
	}
}

// tarDir packs a directory (an OCI layout) into a tar file.
func tarDir(t testing.TB, dir, dst string) {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	err := filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil || p == dir {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		h, err := tar.FileInfoHeader(fi, "")
		if err != nil {
			return err
		}
		h.Name = filepath.ToSlash(rel)
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		if fi.Mode().IsRegular() {
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			_, err = tw.Write(b)
			return err
		}
		return nil
	})
	if err == nil {
		err = tw.Close()
	}
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

func gzipFile(t testing.TB, src, dst string) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(b)
	zw.Close()
	if err := os.WriteFile(dst, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// startRegistry serves go-containerregistry's registry on 127.0.0.1 and
// returns its host:port.
func startRegistry(t testing.TB) string {
	t.Helper()
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

func pushImage(t testing.TB, ref string, img v1.Image) {
	t.Helper()
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(r, img, remote.WithContext(context.Background())); err != nil {
		t.Fatal(err)
	}
}

func pushIndex(t testing.TB, ref string, idx v1.ImageIndex) {
	t.Helper()
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.WriteIndex(r, idx, remote.WithContext(context.Background())); err != nil {
		t.Fatal(err)
	}
}

// readLayer reads a layer stream whole and closes it.
func readLayer(t testing.TB, l Layer) ([]byte, error) {
	t.Helper()
	rc, err := l.Open()
	if err != nil {
		return nil, err
	}
	b, err := io.ReadAll(rc)
	if cerr := rc.Close(); err == nil {
		err = cerr
	}
	return b, err
}

// open opens ref and registers Close.
func open(t testing.TB, ref string, opts Options) *Image {
	t.Helper()
	img, err := Open(context.Background(), ref, opts)
	if err != nil {
		t.Fatalf("Open(%q): %v", ref, err)
	}
	t.Cleanup(func() {
		if err := img.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return img
}

// writeMultiTarball writes several tagged images into one archive.
func writeMultiTarball(t testing.TB, p string, imgs map[string]v1.Image) {
	t.Helper()
	refs := map[name.Reference]v1.Image{}
	for tag, img := range imgs {
		ref, err := name.NewTag(tag)
		if err != nil {
			t.Fatal(err)
		}
		refs[ref] = img
	}
	if err := tarball.MultiRefWriteToFile(p, refs); err != nil {
		t.Fatal(err)
	}
}

func layoutAnnotation(refName string) layout.Option {
	return layout.WithAnnotations(map[string]string{annotationRefName: refName})
}
