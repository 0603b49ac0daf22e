package image

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// parseRef parses a registry reference; a reference without a registry
// means Docker Hub, as with docker pull.
func parseRef(ref string, opts Options) (name.Reference, error) {
	var nopts []name.Option
	if opts.Insecure {
		nopts = append(nopts, name.Insecure)
	}
	return name.ParseReference(ref, nopts...)
}

// fromRegistry fetches the manifest of r from its registry, selecting the
// platform from an index, and returns the image. Credentials come from the
// Docker config (authn.DefaultKeychain). Layer blobs are fetched when
// Layer.Open is called, with ctx, and verified by go-containerregistry
// against their digests.
func fromRegistry(ctx context.Context, ref string, r name.Reference, want platform) (*found, error) {
	ropts := []remote.Option{
		remote.WithContext(ctx),
		remote.WithAuthFromKeychain(authn.DefaultKeychain),
		remote.WithUserAgent("vigil"),
	}
	desc, err := remote.Get(r, ropts...)
	if err != nil {
		return nil, registryErr(r, err)
	}
	repoDigest := familiarRepo(r.Context()) + "@" + desc.Digest.String()

	var img v1.Image
	var fromIndex *v1.Platform
	var mustMatch bool
	switch {
	case desc.MediaType.IsIndex():
		ii, err := desc.ImageIndex()
		if err != nil {
			return nil, registryErr(r, err)
		}
		im, err := ii.IndexManifest()
		if err != nil {
			return nil, corruptf("index %s: %w", desc.Digest, err)
		}
		cands, err := indexReader{}.candidates(ii, im.Manifests)
		if err != nil {
			return nil, registryErr(r, err)
		}
		c, err := pick(r.String(), cands, want)
		if err != nil {
			return nil, err
		}
		if img, err = c.parent.Image(c.desc.Digest); err != nil {
			return nil, registryErr(r, err)
		}
		fromIndex, mustMatch = c.desc.Platform, len(cands) > 1 && c.desc.Platform == nil
	case desc.MediaType.IsImage():
		if img, err = desc.Image(); err != nil {
			return nil, registryErr(r, err)
		}
	default:
		return nil, fmt.Errorf("%s: unsupported manifest media type %q", r, desc.MediaType)
	}
	m, err := img.Manifest()
	if err != nil {
		return nil, registryErr(r, err)
	}
	return &found{img: img, manifest: m, fromIndex: fromIndex, mustMatch: mustMatch, repoDigests: []string{repoDigest}}, nil
}

// registryErr maps "no such repository or manifest" to ErrNotFound.
func registryErr(r name.Reference, err error) error {
	var terr *transport.Error
	if errors.As(err, &terr) {
		notFound := terr.StatusCode == http.StatusNotFound
		for _, d := range terr.Errors {
			if d.Code == transport.ManifestUnknownErrorCode || d.Code == transport.NameUnknownErrorCode {
				notFound = true
			}
		}
		if notFound {
			return fmt.Errorf("%w: registry %s has no %s: %w", ErrNotFound, r.Context().RegistryStr(), r, err)
		}
	}
	return fmt.Errorf("registry %s: %w", r.Context().RegistryStr(), err)
}

// familiarRepo names a repository the way Docker's RepoDigests do:
// "busybox", "org/app", "registry.example:5000/app".
func familiarRepo(r name.Repository) string {
	if r.RegistryStr() == name.DefaultRegistry {
		return strings.TrimPrefix(r.RepositoryStr(), "library/")
	}
	return r.RegistryStr() + "/" + r.RepositoryStr()
}
