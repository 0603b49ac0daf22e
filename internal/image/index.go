package image

import (
	"fmt"
	"slices"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// Annotations that name an entry of an OCI layout's index.json.
const (
	annotationRefName        = "org.opencontainers.image.ref.name"
	annotationContainerdName = "io.containerd.image.name"
)

// maxIndexDepth bounds how deep nested indexes are followed.
const maxIndexDepth = 3

// candidate is an image manifest reachable from an index.
type candidate struct {
	desc   v1.Descriptor
	parent v1.ImageIndex
	// top is the index.json (or registry index) entry it was reached from;
	// its ref name tells apart distinct images in a layout.
	top v1.Descriptor
}

// indexReader reads nested indexes. checkIndex, when set, verifies a
// nested index's raw manifest before it is used (layouts, whose blobs
// go-containerregistry does not verify).
type indexReader struct {
	checkIndex func(d v1.Descriptor, ii v1.ImageIndex) error
}

// candidates lists the image manifests reachable from the given entries of
// ii, following nested indexes. Entries that are neither images nor indexes
// (attestations, artifacts) and unknown/unknown platforms are skipped.
func (r indexReader) candidates(ii v1.ImageIndex, entries []v1.Descriptor) ([]candidate, error) {
	var out []candidate
	var walk func(ii v1.ImageIndex, descs []v1.Descriptor, top *v1.Descriptor, depth int) error
	walk = func(ii v1.ImageIndex, descs []v1.Descriptor, top *v1.Descriptor, depth int) error {
		for _, d := range descs {
			t := d
			if top != nil {
				t = *top
			}
			switch {
			case d.MediaType.IsImage():
				if d.Platform != nil && (d.Platform.OS == "unknown" || d.Platform.Architecture == "unknown") {
					continue // attestation manifests
				}
				out = append(out, candidate{desc: d, parent: ii, top: t})
			case d.MediaType.IsIndex():
				if depth >= maxIndexDepth {
					return corruptf("indexes nested more than %d deep", maxIndexDepth)
				}
				child, err := ii.ImageIndex(d.Digest)
				if err != nil {
					return fmt.Errorf("index %s: %w", d.Digest, err)
				}
				if r.checkIndex != nil {
					if err := r.checkIndex(d, child); err != nil {
						return err
					}
				}
				im, err := child.IndexManifest()
				if err != nil {
					return corruptf("index %s: %w", d.Digest, err)
				}
				if err := walk(child, im.Manifests, &t, depth+1); err != nil {
					return err
				}
			}
		}
		return nil
	}
	if err := walk(ii, entries, nil, 0); err != nil {
		return nil, err
	}
	return out, nil
}

// pick selects the candidate for want among entries whose descriptor
// declares a matching platform or, failing any, declares none (the caller
// then checks the image config: see found.mustMatch). Several matches
// reached from entries with different ref names are ambiguous; otherwise
// the first match wins.
func pick(ref string, cands []candidate, want platform) (candidate, error) {
	if len(cands) == 0 {
		return candidate{}, fmt.Errorf("%w: no image manifest in index", ErrNotFound)
	}
	var matches, undeclared []candidate
	var avail []string
	for _, c := range cands {
		if c.desc.Platform == nil {
			undeclared = append(undeclared, c)
			continue
		}
		p := platformOf(c.desc.Platform)
		if p.known() && !slices.Contains(avail, p.String()) {
			avail = append(avail, p.String())
		}
		if want.matches(p) {
			matches = append(matches, c)
		}
	}
	if len(matches) == 0 {
		matches = undeclared
	}
	if len(matches) == 0 {
		slices.Sort(avail)
		return candidate{}, &PlatformError{Ref: ref, Want: want.String(), Available: avail}
	}
	names := map[string]bool{}
	for _, m := range matches {
		names[m.top.Annotations[annotationRefName]] = true
	}
	if len(names) > 1 {
		return candidate{}, fmt.Errorf("%w: %d images for %s (%s); add :NAME or @DIGEST to choose",
			ErrAmbiguous, len(names), want, strings.Join(sortedKeys(names), ", "))
	}
	return matches[0], nil
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		if k == "" {
			k = `""`
		}
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
