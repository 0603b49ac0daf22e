package image

import (
	"bytes"
	"errors"
	"io"
	"maps"
	"sync"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/vigil-sec/vigil/internal/asset"
)

// Options say where and how to look an image up. The zero value resolves
// REF automatically for linux/<runtime.GOARCH>.
type Options struct {
	// Platform is "os/arch[/variant]" to select from multi-arch indexes;
	// "" means linux/<runtime.GOARCH>. When set explicitly, a
	// single-platform image of another platform is refused too.
	Platform string
	// Insecure allows plain-HTTP registries. Loopback and private
	// addresses are spoken to over HTTP anyway.
	Insecure bool
	// Source forces where REF is looked up: "" (auto, see Open), "docker",
	// "archive", "oci" or "registry". When set, REF carries no prefix.
	Source string
	// DockerHost is the Engine endpoint (unix:///path or tcp://host:port);
	// "" means $DOCKER_HOST or unix:///var/run/docker.sock.
	DockerHost string
}

// Size bounds on metadata read into memory. Layers are always streamed.
const (
	maxIndexSize    = 4 << 20 // index.json, manifest.json, OCI indexes
	maxManifestSize = 4 << 20
	maxConfigSize   = 8 << 20
)

// Image is an opened image: its metadata and a way to stream each layer.
// Close it to remove temporary files (spooled Docker exports, unpacked
// archives); layer streams already open keep working until closed.
type Image struct {
	asset  asset.Asset
	layers []Layer

	closeOnce sync.Once
	cleanup   []func() error
	closeErr  error
}

// Asset describes the image: Kind image, Name as given to Open, Digest the
// config digest (image ID), RepoDigests where the source knows them,
// Platform, Layers and Labels. The caller may modify the returned value.
func (i *Image) Asset() asset.Asset {
	a := i.asset
	a.RepoDigests = append([]string(nil), a.RepoDigests...)
	a.Layers = append([]asset.Layer(nil), a.Layers...)
	a.Labels = maps.Clone(a.Labels)
	return a
}

// Layers returns the image's layers, bottom first.
func (i *Image) Layers() []Layer {
	return append([]Layer(nil), i.layers...)
}

// Close removes the temporary files backing the image. It is safe to call
// more than once.
func (i *Image) Close() error {
	i.closeOnce.Do(func() {
		var errs []error
		for j := len(i.cleanup) - 1; j >= 0; j-- {
			errs = append(errs, i.cleanup[j]())
		}
		i.closeErr = errors.Join(errs...)
	})
	return i.closeErr
}

// found is what a source hands to build.
type found struct {
	img v1.Image
	// manifest is the image manifest when the source has one (layouts,
	// registries); archives and the Engine have none worth computing.
	manifest *v1.Manifest
	// fromIndex is the platform of the index entry the image was selected
	// by, nil for a single-platform reference.
	fromIndex *v1.Platform
	// mustMatch says the image was chosen from several index entries that
	// declare no platform, so its config must match the wanted platform.
	mustMatch bool
	// repoDigests are the manifest digests the source knows the image by.
	repoDigests []string
	// layerMeta, for archives, gives each layer's stored digest and size.
	layerMeta []layerMeta
	// cleanup removes temporary files; build's caller owns them until the
	// Image is returned.
	cleanup []func() error
}

type layerMeta struct {
	digest string // stored digest, "" if unknown
	size   int64
	plain  bool // stored uncompressed: the stored digest is the DiffID
	// open reads the stored layer straight from its archive member, or is
	// nil when the member cannot be read by offset (sparse entries).
	open func() (io.ReadCloser, error)
}

func (f *found) close() {
	for j := len(f.cleanup) - 1; j >= 0; j-- {
		_ = f.cleanup[j]()
	}
	f.cleanup = nil
}

// build checks what a source found and turns it into an Image. On error the
// found's temporary files are removed.
func build(name string, f *found, want platform, explicit bool) (*Image, error) {
	img, err := describe(name, f, want, explicit)
	if err != nil {
		f.close()
		return nil, err
	}
	img.cleanup, f.cleanup = f.cleanup, nil
	return img, nil
}

func describe(name string, f *found, want platform, explicit bool) (*Image, error) {
	raw, cfgDigest, err := rawConfig(f)
	if err != nil {
		return nil, err
	}
	cfg, err := v1.ParseConfigFile(bytes.NewReader(raw))
	if err != nil {
		return nil, corruptf("config %s: %w", cfgDigest, err)
	}
	have := platform{os: cfg.OS, arch: cfg.Architecture, variant: cfg.Variant}
	if !have.known() && f.fromIndex != nil {
		have = platformOf(f.fromIndex)
	}
	if (explicit || f.mustMatch) && f.fromIndex == nil && have.known() && !want.matches(have) {
		return nil, &PlatformError{Ref: name, Want: want.String(), Available: []string{have.String()}}
	}

	// A docker-save archive's layers are read straight from their members:
	// asking go-containerregistry for them makes it hash every compressed
	// layer to synthesise a manifest, which costs more than a cached scan.
	var layers []v1.Layer
	direct := len(f.layerMeta) > 0
	for _, m := range f.layerMeta {
		direct = direct && m.open != nil
	}
	if direct {
		layers = make([]v1.Layer, len(f.layerMeta))
	} else {
		if layers, err = f.img.Layers(); err != nil {
			return nil, corruptf("layers: %w", err)
		}
	}
	diffIDs := cfg.RootFS.DiffIDs
	if len(layers) != len(diffIDs) {
		return nil, corruptf("image has %d layers but its config lists %d diff IDs", len(layers), len(diffIDs))
	}
	if f.manifest != nil && len(f.manifest.Layers) != len(layers) {
		return nil, corruptf("manifest lists %d layers, image has %d", len(f.manifest.Layers), len(layers))
	}
	if f.layerMeta != nil && len(f.layerMeta) != len(layers) {
		return nil, corruptf("archive lists %d layers, config %d", len(f.layerMeta), len(layers))
	}

	createdBy := layerHistory(cfg.History, len(layers))
	a := asset.Asset{
		ID:          asset.NewID(asset.KindImage, cfgDigest.String()),
		Kind:        asset.KindImage,
		Name:        name,
		Digest:      cfgDigest.String(),
		RepoDigests: f.repoDigests,
		Platform:    have.String(),
		Labels:      maps.Clone(cfg.Config.Labels),
		Layers:      make([]asset.Layer, len(layers)),
	}
	out := &Image{layers: make([]Layer, len(layers))}
	for j, l := range layers {
		al := asset.Layer{Index: j, DiffID: diffIDs[j].String(), CreatedBy: createdBy[j]}
		switch {
		case f.manifest != nil:
			al.Digest = f.manifest.Layers[j].Digest.String()
			al.Size = f.manifest.Layers[j].Size
		case f.layerMeta != nil:
			m := f.layerMeta[j]
			al.Digest, al.Size = m.digest, m.size
			if m.plain {
				al.Digest = al.DiffID
			}
		}
		a.Layers[j] = al
		if direct {
			out.layers[j] = Layer{DiffID: al.DiffID, Open: openStream(f.layerMeta[j].open, diffIDs[j])}
		} else {
			out.layers[j] = Layer{DiffID: al.DiffID, Open: openLayer(l, diffIDs[j])}
		}
	}
	out.asset = a
	return out, nil
}

// rawConfig reads the config blob, bounded, and checks it against the
// manifest's config digest where there is a manifest.
func rawConfig(f *found) ([]byte, v1.Hash, error) {
	if f.manifest != nil && f.manifest.Config.Size > maxConfigSize {
		return nil, v1.Hash{}, corruptf("config is %d bytes, more than the %d allowed", f.manifest.Config.Size, maxConfigSize)
	}
	raw, err := f.img.RawConfigFile()
	if err != nil {
		return nil, v1.Hash{}, corruptf("read config: %w", err)
	}
	if len(raw) > maxConfigSize {
		return nil, v1.Hash{}, corruptf("config is %d bytes, more than the %d allowed", len(raw), maxConfigSize)
	}
	got, _, err := v1.SHA256(bytes.NewReader(raw))
	if err != nil {
		return nil, v1.Hash{}, err
	}
	if f.manifest != nil && got != f.manifest.Config.Digest {
		return nil, v1.Hash{}, corruptf("config has digest %s, manifest says %s", got, f.manifest.Config.Digest)
	}
	return raw, got, nil
}

// layerHistory returns each layer's CreatedBy from the config history:
// entries marked empty_layer are skipped and the rest are matched to layers
// in order. If the counts disagree the history cannot be trusted to line up
// and no layer gets one.
func layerHistory(hist []v1.History, n int) []string {
	out := make([]string, n)
	var nonEmpty []string
	for _, h := range hist {
		if !h.EmptyLayer {
			nonEmpty = append(nonEmpty, h.CreatedBy)
		}
	}
	if len(nonEmpty) == n {
		copy(out, nonEmpty)
	}
	return out
}
