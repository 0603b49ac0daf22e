package asset

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// Kind says what sort of thing an Asset is.
type Kind string

// The kinds of asset Vigil knows.
const (
	KindHost      Kind = "host"
	KindImage     Kind = "image"
	KindContainer Kind = "container"
	KindRootFS    Kind = "rootfs"
	KindDirectory Kind = "directory"
	KindSBOM      Kind = "sbom"
)

// Asset is one thing that software runs on or ships in.
type Asset struct {
	// ID is stable for the same thing across scans and tools; see NewID.
	ID   string `json:"id"`
	Kind Kind   `json:"kind"`
	// Name is what the user called it: an image reference, a path, a hostname.
	Name string `json:"name"`
	// Digest identifies the content where there is one: an image's config
	// digest (its image ID), an SBOM document's sha256.
	Digest string `json:"digest,omitempty"`
	// RepoDigests are manifest digests the image is known by in registries.
	RepoDigests []string `json:"repoDigests,omitempty"`
	// Platform is os/arch[/variant] for images and hosts.
	Platform string `json:"platform,omitempty"`
	// OS is the operating system found inside the asset, if any.
	OS *OS `json:"os,omitempty"`
	// Layers are an image's filesystem layers, bottom first.
	Layers []Layer `json:"layers,omitempty"`
	// Labels carry free-form key/value facts (image labels, cloud tags).
	Labels map[string]string `json:"labels,omitempty"`
}

// OS is the operating system release of an asset, read from os-release.
type OS struct {
	// ID is os-release's ID: debian, ubuntu, alpine, rhel, ...
	ID string `json:"id"`
	// VersionID is os-release's VERSION_ID: "11", "3.19.1", ...
	VersionID string `json:"versionId,omitempty"`
	// Codename is VERSION_CODENAME where present: bullseye, jammy, ...
	Codename   string `json:"codename,omitempty"`
	PrettyName string `json:"prettyName,omitempty"`
}

// Layer is one filesystem layer of an image.
type Layer struct {
	// Index is the position in the image, 0 for the base layer.
	Index int `json:"index"`
	// DiffID is the digest of the uncompressed layer tar; it names the layer's
	// content whatever compression a registry used.
	DiffID string `json:"diffId"`
	// Digest is the digest of the layer blob as stored (compressed).
	Digest string `json:"digest,omitempty"`
	Size   int64  `json:"size,omitempty"`
	// CreatedBy is the build instruction from the image history, when known.
	CreatedBy string `json:"createdBy,omitempty"`
}

// NewID derives a stable asset identifier from a kind and the strongest
// identity known for it (an image config digest, a machine id, an absolute
// path). The same inputs always give the same ID.
func NewID(kind Kind, identity string) string {
	sum := sha256.Sum256([]byte(string(kind) + "\x00" + strings.TrimSpace(identity)))
	return string(kind) + ":" + hex.EncodeToString(sum[:8])
}
