package image

import (
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
)

// selector picks an image inside a layout or archive: the part of REF after
// the path, ":NAME" (tag) or "@sha256:…" (digest).
type selector struct {
	tag    string
	digest string
}

func (s selector) String() string {
	switch {
	case s.digest != "":
		return "@" + s.digest
	case s.tag != "":
		return ":" + s.tag
	}
	return ""
}

// fromLayout finds an image in the OCI image layout at dir.
//
// Selection: with ":NAME", the index.json entries whose ref name annotation
// (org.opencontainers.image.ref.name, or io.containerd.image.name) is NAME
// or ends in ":NAME" or "/NAME"; with "@DIGEST", the entry of that digest, or an image
// manifest of that digest nested in the index. Then the platform is chosen
// among all image manifests reachable from the remaining entries (see pick).
//
// go-containerregistry reads layout blobs without checking them, so every
// manifest, index and config read here is checked against its digest, blob
// sizes are checked against their descriptors before anything is read, and
// layer content is checked against the DiffID as it streams.
func fromLayout(ref, dir string, sel selector, want platform) (*found, error) {
	if _, err := os.Stat(filepath.Join(dir, "oci-layout")); err != nil {
		return nil, fmt.Errorf("%w: %s is not an OCI image layout (no oci-layout file)", ErrNotFound, dir)
	}
	if err := checkFile(filepath.Join(dir, "index.json"), -1, maxIndexSize); err != nil {
		return nil, err
	}
	lp := layout.Path(dir)
	ii, err := lp.ImageIndex()
	if err != nil {
		return nil, corruptf("read index.json: %w", err)
	}
	im, err := ii.IndexManifest()
	if err != nil {
		return nil, corruptf("parse index.json: %w", err)
	}

	r := indexReader{checkIndex: func(d v1.Descriptor, child v1.ImageIndex) error {
		if err := checkBlob(dir, d, maxIndexSize); err != nil {
			return err
		}
		raw, err := child.RawManifest()
		if err != nil {
			return corruptf("read index %s: %w", d.Digest, err)
		}
		return checkDigest("index", raw, d.Digest)
	}}

	entries := im.Manifests
	var chosen *candidate
	multiple := false // chosen by platform among several
	switch {
	case sel.tag != "":
		entries = slices.DeleteFunc(slices.Clone(entries), func(d v1.Descriptor) bool { return !refNameMatches(d, sel.tag) })
		if len(entries) == 0 {
			return nil, fmt.Errorf("%w: no entry named %q in %s (names: %s)", ErrNotFound, sel.tag, dir, strings.Join(refNames(im.Manifests), ", "))
		}
	case sel.digest != "":
		top := slices.DeleteFunc(slices.Clone(entries), func(d v1.Descriptor) bool { return d.Digest.String() != sel.digest })
		if len(top) > 0 {
			entries = top
			break
		}
		cands, err := r.candidates(ii, entries)
		if err != nil {
			return nil, err
		}
		for _, c := range cands {
			if c.desc.Digest.String() == sel.digest {
				chosen = &c
				break
			}
		}
		if chosen == nil {
			return nil, fmt.Errorf("%w: no manifest %s in %s", ErrNotFound, sel.digest, dir)
		}
	}
	if chosen == nil {
		cands, err := r.candidates(ii, entries)
		if err != nil {
			return nil, err
		}
		c, err := pick(ref, cands, want)
		if err != nil {
			return nil, err
		}
		chosen, multiple = &c, len(cands) > 1
	}

	d := chosen.desc
	if err := checkBlob(dir, d, maxManifestSize); err != nil {
		return nil, err
	}
	img, err := chosen.parent.Image(d.Digest)
	if err != nil {
		return nil, corruptf("image %s: %w", d.Digest, err)
	}
	raw, err := img.RawManifest()
	if err != nil {
		return nil, corruptf("read manifest %s: %w", d.Digest, err)
	}
	if err := checkDigest("manifest", raw, d.Digest); err != nil {
		return nil, err
	}
	m, err := img.Manifest()
	if err != nil {
		return nil, corruptf("parse manifest %s: %w", d.Digest, err)
	}
	if err := checkBlob(dir, m.Config, maxConfigSize); err != nil {
		return nil, err
	}
	for _, l := range m.Layers {
		if err := checkBlob(dir, l, -1); err != nil {
			return nil, err
		}
	}
	return &found{img: img, manifest: m, fromIndex: d.Platform, mustMatch: multiple && d.Platform == nil}, nil
}

// checkBlob checks that the blob of d is a regular file of the size d says,
// and at most max bytes (max < 0: no bound).
func checkBlob(dir string, d v1.Descriptor, max int64) error {
	if d.Digest.Algorithm == "" || d.Digest.Hex == "" || strings.ContainsAny(d.Digest.Algorithm+d.Digest.Hex, `/\.`) {
		return corruptf("invalid digest %q", d.Digest)
	}
	p := filepath.Join(dir, "blobs", d.Digest.Algorithm, d.Digest.Hex)
	if err := checkFile(p, d.Size, max); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return corruptf("blob %s is missing from the layout", d.Digest)
		}
		return fmt.Errorf("blob %s: %w", d.Digest, err)
	}
	return nil
}

// checkFile checks that p is a regular file (not a symlink) of size want
// (want < 0: any) and at most max bytes (max < 0: no bound).
func checkFile(p string, want, max int64) error {
	fi, err := os.Lstat(p)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return corruptf("%s is missing: %w", filepath.Base(p), err)
		}
		return err
	}
	switch {
	case !fi.Mode().IsRegular():
		return corruptf("%s is not a regular file", p)
	case want >= 0 && fi.Size() != want:
		return corruptf("%s is %d bytes, its descriptor says %d", p, fi.Size(), want)
	case max >= 0 && fi.Size() > max:
		return corruptf("%s is %d bytes, more than the %d allowed", p, fi.Size(), max)
	}
	return nil
}

// checkDigest checks raw against want.
func checkDigest(what string, raw []byte, want v1.Hash) error {
	h, err := v1.Hasher(want.Algorithm)
	if err != nil {
		return corruptf("%s digest %s: %w", what, want, err)
	}
	h.Write(raw)
	if got := want.Algorithm + ":" + hex.EncodeToString(h.Sum(nil)); got != want.String() {
		return corruptf("%s has digest %s, want %s", what, got, want)
	}
	return nil
}

// refNameMatches reports whether an index.json entry is named name.
func refNameMatches(d v1.Descriptor, name string) bool {
	for _, k := range []string{annotationRefName, annotationContainerdName} {
		v := d.Annotations[k]
		if v != "" && (v == name || strings.HasSuffix(v, ":"+name) || strings.HasSuffix(v, "/"+name)) {
			return true
		}
	}
	return false
}

func refNames(descs []v1.Descriptor) []string {
	var out []string
	for _, d := range descs {
		if v := d.Annotations[annotationRefName]; v != "" && !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	if len(out) == 0 {
		return []string{"none"}
	}
	return out
}
