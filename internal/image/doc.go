// Package image resolves an image reference to its layers and metadata.
//
// It owns the question "which bytes make up this image": it finds REF in an
// OCI image layout directory, a `docker save` archive (or an OCI layout
// packed in a tar), the local Docker Engine or a remote registry, selects the
// platform from multi-arch indexes, checks the content against its digests
// and hands out the layers as uncompressed tar streams together with an
// asset.Asset describing the image. It does not unpack layers (package
// layerfs does) and does not look inside them (package inventory does).
//
// Formats are read with go-containerregistry; the Docker Engine is reached
// over its HTTP API directly (see docker.go for why).
//
// Imported by the CLI, the agent and the server. It never logs and never
// talks to a registry other than the one named in the reference.
package image
