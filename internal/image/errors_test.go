package image

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/compression"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

func TestNotFound(t *testing.T) {
	host := startRegistry(t)
	pushImage(t, host+"/vigil/present:1", archImage(t, v1.Platform{OS: "linux", Architecture: "amd64"}).img)
	dir := t.TempDir()
	plainDir := filepath.Join(dir, "plain")
	if err := os.Mkdir(plainDir, 0o755); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name string
		ref  string
		opts Options
	}{
		{name: "missing absolute path", ref: filepath.Join(dir, "nope.tar")},
		{name: "missing relative path", ref: "./nope"},
		{name: "missing tar name", ref: "nope.tar.gz"},
		{name: "directory without oci-layout", ref: plainDir},
		{name: "oci prefix on plain directory", ref: "oci:" + plainDir},
		{name: "archive prefix on missing file", ref: "archive:" + filepath.Join(dir, "nope.tar")},
		{name: "registry repo missing", ref: host + "/vigil/nope:1"},
		{name: "registry tag missing", ref: host + "/vigil/present:2"},
		{name: "registry prefix", ref: "registry:" + host + "/vigil/nope:1"},
		{name: "registry source", ref: host + "/vigil/nope@sha256:" + strings.Repeat("1", 64), opts: Options{Source: SourceRegistry}},
		{name: "invalid reference", ref: "Not A Reference!"},
		{name: "uppercase name", ref: "Vigil/Nope:1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			img, err := Open(context.Background(), tt.ref, tt.opts)
			if err == nil {
				img.Close()
			}
			if !errors.Is(err, ErrNotFound) {
				t.Fatalf("err = %v, want ErrNotFound", err)
			}
			t.Logf("%v", err)
			if !strings.Contains(err.Error(), tt.ref) {
				t.Errorf("message %q does not name the reference", err)
			}
		})
	}
}

func TestSplitPrefix(t *testing.T) {
	tests := []struct{ ref, src, rest string }{
		{"docker:busybox:1", "docker", "busybox:1"},
		{"oci:/tmp/x:tag", "oci", "/tmp/x:tag"},
		{"archive:x.tar", "archive", "x.tar"},
		{"registry:example.com/a:1", "registry", "example.com/a:1"},
		{"registry:5000/app:1", "", "registry:5000/app:1"},
		{"docker.io/library/busybox", "", "docker.io/library/busybox"},
		{"busybox", "", "busybox"},
	}
	for _, tt := range tests {
		if src, rest := splitPrefix(tt.ref); src != tt.src || rest != tt.rest {
			t.Errorf("splitPrefix(%q) = %q, %q; want %q, %q", tt.ref, src, rest, tt.src, tt.rest)
		}
	}
	if _, err := Open(context.Background(), "x", Options{Source: "ftp"}); err == nil || errors.Is(err, ErrNotFound) {
		t.Errorf("unknown source: err = %v", err)
	}
}

func TestCorruptArchive(t *testing.T) {
	fx := multiLayer(t)
	dir := t.TempDir()
	good := filepath.Join(dir, "good.tar")
	writeTarball(t, good, "vigil-test/multi:1", fx.img)
	b, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name string
		data []byte
	}{
		{name: "not a tar", data: bytes.Repeat([]byte("garbage!"), 200)},
		{name: "empty", data: nil},
		{name: "truncated", data: b[:len(b)/2+7]},
		{name: "tar without manifest", data: tarBytes(t, file{name: "hello", body: "x"})},
		{name: "bad manifest.json", data: tarBytes(t, file{name: "manifest.json", body: "{not json"})},
		{name: "manifest without images", data: tarBytes(t, file{name: "manifest.json", body: "[]"})},
		{name: "missing config", data: tarBytes(t, file{name: "manifest.json", body: `[{"Config":"c.json","Layers":[]}]`})},
		{name: "config is a dir", data: tarBytes(t, file{name: "c.json/"}, file{name: "manifest.json", body: `[{"Config":"c.json","Layers":[]}]`})},
		{name: "link loop", data: tarBytes(t, file{name: "c.json", link: "c.json"}, file{name: "manifest.json", body: `[{"Config":"c.json","Layers":[]}]`})},
		{name: "config not json", data: tarBytes(t, file{name: "c.json", body: "nope"}, file{name: "manifest.json", body: `[{"Config":"c.json","Layers":[]}]`})},
		{name: "layer count mismatch", data: tarBytes(t,
			file{name: "c.json", body: `{"rootfs":{"type":"layers","diff_ids":[]}}`},
			file{name: "l.tar", body: "x"},
			file{name: "manifest.json", body: `[{"Config":"c.json","Layers":["l.tar"]}]`})},
		{name: "gzip garbage", data: []byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "bad.tar")
			if err := os.WriteFile(p, tt.data, 0o644); err != nil {
				t.Fatal(err)
			}
			img, err := Open(context.Background(), p, Options{})
			if err == nil {
				img.Close()
			}
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("err = %v, want ErrCorrupt", err)
			}
		})
	}
}

// TestCorruptArchiveLayer changes a plain layer inside a docker-save
// archive: Open succeeds (the archive is well formed), reading the layer
// fails on its DiffID.
func TestCorruptArchiveLayer(t *testing.T) {
	fx := multiLayer(t)
	raw, err := fx.img.RawConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	bad := bytes.Clone(fx.tars[0])
	i := bytes.Index(bad, []byte("vigiltest"))
	bad[i] = 'V'
	p := filepath.Join(t.TempDir(), "bad.tar")
	os.WriteFile(p, tarBytes(t,
		file{name: "0.tar", body: string(bad)},
		file{name: "1.tar", body: string(fx.tars[1])},
		file{name: "2.tar", body: string(fx.tars[2])},
		file{name: "c.json", body: string(raw)},
		file{name: "manifest.json", body: `[{"Config":"c.json","Layers":["0.tar","1.tar","2.tar"]}]`},
	), 0o644)
	img := open(t, p, Options{})
	if _, err := readLayer(t, img.Layers()[0]); !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), digestOf(fx.tars[0])) {
		t.Errorf("read tampered layer: err = %v, want ErrCorrupt naming the DiffID", err)
	}
	if _, err := readLayer(t, img.Layers()[1]); err != nil {
		t.Errorf("read intact layer: %v", err)
	}
}

// corruptLayout writes a layout of an image whose first layer is stored
// plain, and returns its directory and the image.
func corruptLayout(t *testing.T) (string, v1.Image, fixture) {
	t.Helper()
	fx := multiLayer(t)
	plain := layerOf(t, fx.tars[0], compression.None)
	zl, err := fx.img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	fx2 := buildImage(t, v1.Platform{OS: "linux", Architecture: "amd64"}, fx.labels, []v1.Layer{plain, zl[1], zl[2]}, fx.tars, fx.createdBy)
	dir := filepath.Join(t.TempDir(), "layout")
	writeLayout(t, dir, "", fx2.img, nil)
	return dir, fx2.img, fx2
}

func blobFile(dir string, h v1.Hash) string {
	return filepath.Join(dir, "blobs", h.Algorithm, h.Hex)
}

// flipByte changes one byte of a file at the first occurrence of old.
func flipByte(t *testing.T, p string, old []byte, with byte) {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	i := bytes.Index(b, old)
	if i < 0 {
		t.Fatalf("%q not in %s", old, p)
	}
	b[i] = with
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestCorruptLayout(t *testing.T) {
	t.Run("missing layer blob", func(t *testing.T) {
		dir, img, _ := corruptLayout(t)
		m, _ := img.Manifest()
		os.Remove(blobFile(dir, m.Layers[1].Digest))
		_, err := Open(context.Background(), dir, Options{})
		if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "missing") || !strings.Contains(err.Error(), m.Layers[1].Digest.String()) {
			t.Errorf("err = %v, want ErrCorrupt naming the missing blob", err)
		}
	})
	t.Run("missing manifest blob", func(t *testing.T) {
		dir, img, _ := corruptLayout(t)
		d, _ := img.Digest()
		os.Remove(blobFile(dir, d))
		if _, err := Open(context.Background(), dir, Options{}); !errors.Is(err, ErrCorrupt) {
			t.Errorf("err = %v, want ErrCorrupt", err)
		}
	})
	t.Run("truncated layer blob", func(t *testing.T) {
		dir, img, _ := corruptLayout(t)
		m, _ := img.Manifest()
		os.Truncate(blobFile(dir, m.Layers[2].Digest), 10)
		if _, err := Open(context.Background(), dir, Options{}); !errors.Is(err, ErrCorrupt) {
			t.Errorf("err = %v, want ErrCorrupt", err)
		}
	})
	t.Run("manifest digest mismatch", func(t *testing.T) {
		dir, img, _ := corruptLayout(t)
		d, _ := img.Digest()
		m, _ := img.Manifest()
		hex := []byte(m.Layers[1].Digest.Hex)
		with := byte('0')
		if hex[0] == '0' {
			with = '1'
		}
		flipByte(t, blobFile(dir, d), hex, with)
		_, err := Open(context.Background(), dir, Options{})
		if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "manifest has digest") {
			t.Errorf("err = %v, want ErrCorrupt on the manifest digest", err)
		}
	})
	t.Run("config digest mismatch", func(t *testing.T) {
		dir, img, _ := corruptLayout(t)
		cd, _ := img.ConfigName()
		flipByte(t, blobFile(dir, cd), []byte("vigil-test"), 'V')
		_, err := Open(context.Background(), dir, Options{})
		if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "config has digest") {
			t.Errorf("err = %v, want ErrCorrupt on the config digest", err)
		}
	})
	t.Run("layer digest mismatch", func(t *testing.T) {
		dir, img, fx := corruptLayout(t)
		m, _ := img.Manifest()
		flipByte(t, blobFile(dir, m.Layers[0].Digest), []byte("vigiltest"), 'V')
		opened := open(t, dir, Options{})
		l := opened.Layers()[0]
		_, err := readLayer(t, l)
		if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), digestOf(fx.tars[0])) {
			t.Errorf("ReadAll: err = %v, want ErrCorrupt naming the DiffID", err)
		}
		// A tar reader stops before the end of the stream; Close checks.
		rc, err := l.Open()
		if err != nil {
			t.Fatal(err)
		}
		tr := tar.NewReader(rc)
		for {
			if _, err := tr.Next(); err != nil {
				break
			}
			io.Copy(io.Discard, tr)
		}
		if err := rc.Close(); !errors.Is(err, ErrCorrupt) {
			t.Errorf("Close after tar read: err = %v, want ErrCorrupt", err)
		}
	})
	t.Run("index.json not json", func(t *testing.T) {
		dir, _, _ := corruptLayout(t)
		os.WriteFile(filepath.Join(dir, "index.json"), []byte("{"), 0o644)
		if _, err := Open(context.Background(), dir, Options{}); !errors.Is(err, ErrCorrupt) {
			t.Errorf("err = %v, want ErrCorrupt", err)
		}
	})
	t.Run("blob is a symlink", func(t *testing.T) {
		dir, img, _ := corruptLayout(t)
		cd, _ := img.ConfigName()
		p := blobFile(dir, cd)
		os.Rename(p, p+".real")
		os.Symlink(p+".real", p)
		if _, err := Open(context.Background(), dir, Options{}); !errors.Is(err, ErrCorrupt) {
			t.Errorf("err = %v, want ErrCorrupt", err)
		}
	})
}
