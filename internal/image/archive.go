package image

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// maxArchiveEntries bounds the entries indexed from an archive; a `docker
// save` of an image with hundreds of layers has a few hundred.
const maxArchiveEntries = 1 << 16

// blobPath is where OCI layouts (and `docker save` since Engine 25) keep
// blobs; the path names the blob's digest.
var blobPath = regexp.MustCompile(`^blobs/([a-z0-9]+)/([a-f0-9]{32,128})$`)

// fromArchive opens the archive at file: a `docker save` tarball (it has a
// manifest.json), or else an OCI image layout packed in a tar (oci-layout and
// index.json). Either may be gzip- or zstd-compressed, in which case it is
// first decompressed to a temporary file.
//
// A `docker save` archive of several images needs ":REPO:TAG" (one of its
// RepoTags) or "@sha256:…" (a config digest) to choose one. An OCI archive
// is unpacked — only oci-layout, index.json and blobs/ALG/HEX regular files,
// so no path from the archive is ever used as is — into a temporary
// directory and read as a layout (see fromLayout).
func fromArchive(ref, file string, sel selector, want platform) (_ *found, err error) {
	f := &found{}
	defer func() {
		if err != nil {
			f.close()
		}
	}()
	file, err = decompressArchive(f, file)
	if err != nil {
		return nil, err
	}
	idx, err := scanTar(file)
	if err != nil {
		return nil, err
	}
	switch {
	case idx.entries["manifest.json"] != nil:
		return dockerArchive(f, file, idx, sel)
	case idx.entries["oci-layout"] != nil && idx.entries["index.json"] != nil:
		dir, err := os.MkdirTemp("", "vigil-oci-*")
		if err != nil {
			return nil, err
		}
		f.cleanup = append(f.cleanup, func() error { return os.RemoveAll(dir) })
		if err := unpackLayout(file, dir); err != nil {
			return nil, err
		}
		lf, err := fromLayout(ref, dir, sel, want)
		if err != nil {
			return nil, err
		}
		lf.cleanup = f.cleanup
		return lf, nil
	}
	return nil, corruptf("%s is neither a docker-save archive (no manifest.json) nor an OCI layout archive (no oci-layout and index.json)", file)
}

// decompressArchive returns file, or a temporary decompressed copy of it
// if it is gzip or zstd.
func decompressArchive(f *found, file string) (string, error) {
	in, err := os.Open(file)
	if err != nil {
		return "", err
	}
	defer in.Close()
	head := make([]byte, len(zstdMagic))
	n, _ := io.ReadFull(in, head)
	if !bytes.HasPrefix(head[:n], gzipMagic) && !bytes.HasPrefix(head[:n], zstdMagic) {
		return file, nil
	}
	if _, err := in.Seek(0, io.SeekStart); err != nil {
		return "", err
	}
	r, err := decompress(in)
	if err != nil {
		return "", corruptf("%s: %w", file, err)
	}
	if c, ok := r.(io.Closer); ok {
		defer c.Close()
	}
	out, err := os.CreateTemp("", "vigil-archive-*.tar")
	if err != nil {
		return "", err
	}
	f.cleanup = append(f.cleanup, func() error { return os.Remove(out.Name()) })
	if _, err := io.Copy(out, r); err != nil {
		out.Close()
		return "", corruptf("decompress %s: %w", file, err)
	}
	return out.Name(), out.Close()
}

// tarEntry is one archive member.
type tarEntry struct {
	typ    byte
	size   int64
	offset int64 // of the data in the file
	link   string
}

type tarIndex struct {
	entries map[string]*tarEntry // by path.Clean(name); the first wins, as in go-containerregistry
}

// scanTar indexes the members of the tar at file without reading their data.
func scanTar(file string) (*tarIndex, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	idx := &tarIndex{entries: map[string]*tarEntry{}}
	tr := tar.NewReader(f)
	for n := 0; ; n++ {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, corruptf("%s is not a valid tar archive: %w", file, err)
		}
		if n >= maxArchiveEntries {
			return nil, corruptf("%s has more than %d entries", file, maxArchiveEntries)
		}
		// tar.Reader reads headers in whole blocks and data lazily, so the
		// file offset after Next is where this member's data starts.
		off, err := f.Seek(0, io.SeekCurrent)
		if err != nil {
			return nil, err
		}
		e := &tarEntry{typ: h.Typeflag, size: h.Size, offset: off, link: h.Linkname}
		for k := range h.PAXRecords {
			if strings.HasPrefix(k, "GNU.sparse.") {
				// Data is not laid out linearly; never read it by offset.
				e.typ = tar.TypeGNUSparse
			}
		}
		key := path.Clean(h.Name)
		if _, dup := idx.entries[key]; !dup {
			idx.entries[key] = e
		}
	}
	return idx, nil
}

// resolve follows symbolic and hard links the way go-containerregistry's
// tarball package does (relative to the linking member's directory) and
// returns the regular member name refers to.
func (idx *tarIndex) resolve(name string) (string, *tarEntry, error) {
	name = path.Clean(name)
	for range 8 {
		e := idx.entries[name]
		switch {
		case e == nil:
			return "", nil, corruptf("archive has no %s", name)
		case e.typ == tar.TypeSymlink || e.typ == tar.TypeLink:
			name = path.Join(path.Dir(name), path.Clean(e.link))
		case e.typ == tar.TypeReg:
			return name, e, nil
		default:
			return "", nil, corruptf("archive member %s is not a regular file", name)
		}
	}
	return "", nil, corruptf("archive member %s: too many links", name)
}

// readMember reads a member of at most max bytes.
func readMember(file string, idx *tarIndex, name string, max int64) ([]byte, error) {
	_, e, err := idx.resolve(name)
	if err != nil {
		return nil, err
	}
	if e.size > max {
		return nil, corruptf("%s is %d bytes, more than the %d allowed", name, e.size, max)
	}
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b := make([]byte, e.size)
	if _, err := f.ReadAt(b, e.offset); err != nil {
		return nil, corruptf("read %s: %w", name, err)
	}
	return b, nil
}

// dockerArchive opens a `docker save` archive with go-containerregistry's
// tarball package, after checking what that package would read into memory
// (manifest.json, the config) against size bounds.
func dockerArchive(f *found, file string, idx *tarIndex, sel selector) (*found, error) {
	raw, err := readMember(file, idx, "manifest.json", maxIndexSize)
	if err != nil {
		return nil, err
	}
	var m tarball.Manifest
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, corruptf("manifest.json: %w", err)
	}
	d, tag, err := chooseDescriptor(m, sel)
	if err != nil {
		return nil, err
	}
	if _, e, err := idx.resolve(d.Config); err != nil {
		return nil, err
	} else if e.size > maxConfigSize {
		return nil, corruptf("config %s is %d bytes, more than the %d allowed", d.Config, e.size, maxConfigSize)
	}
	for _, l := range d.Layers {
		name, e, err := idx.resolve(l)
		if err != nil {
			return nil, err
		}
		meta := layerMeta{size: e.size}
		if mm := blobPath.FindStringSubmatch(name); mm != nil {
			meta.digest = mm[1] + ":" + mm[2]
		}
		meta.plain, err = memberIsPlain(file, e)
		if err != nil {
			return nil, err
		}
		if e.typ == tar.TypeReg {
			meta.open = memberReader(file, e)
		}
		f.layerMeta = append(f.layerMeta, meta)
	}
	img, err := tarball.Image(func() (io.ReadCloser, error) { return os.Open(file) }, tag)
	if err != nil {
		return nil, corruptf("docker-save archive: %w", err)
	}
	f.img = img
	return f, nil
}

// chooseDescriptor picks the image of a docker-save manifest.json, and the
// tag go-containerregistry needs to find it again when there are several.
func chooseDescriptor(m tarball.Manifest, sel selector) (tarball.Descriptor, *name.Tag, error) {
	if len(m) == 0 {
		return tarball.Descriptor{}, nil, corruptf("manifest.json lists no image")
	}
	var tags []string
	for _, d := range m {
		tags = append(tags, d.RepoTags...)
	}
	var hits []tarball.Descriptor
	for _, d := range m {
		switch {
		case sel.tag != "" && tagsMatch(d.RepoTags, sel.tag):
			hits = append(hits, d)
		case sel.digest != "" && configDigestOf(d.Config) == sel.digest:
			hits = append(hits, d)
		case sel.tag == "" && sel.digest == "":
			hits = append(hits, d)
		}
	}
	switch {
	case len(hits) == 0:
		return tarball.Descriptor{}, nil, fmt.Errorf("%w: archive has no image %s (tags: %s)", ErrNotFound, sel, strings.Join(tags, ", "))
	case len(hits) > 1:
		return tarball.Descriptor{}, nil, fmt.Errorf("%w: archive holds %d images (tags: %s); add :REPO:TAG or @CONFIG-DIGEST to choose", ErrAmbiguous, len(hits), strings.Join(tags, ", "))
	case len(m) == 1:
		return hits[0], nil, nil
	}
	for _, t := range hits[0].RepoTags {
		if tag, err := name.NewTag(t); err == nil {
			return hits[0], &tag, nil
		}
	}
	return tarball.Descriptor{}, nil, fmt.Errorf("%w: the chosen image of a multi-image archive has no usable tag", ErrAmbiguous)
}

func tagsMatch(repoTags []string, want string) bool {
	wt, werr := name.NewTag(want)
	for _, t := range repoTags {
		if t == want {
			return true
		}
		if tt, err := name.NewTag(t); err == nil && werr == nil && tt.Name() == wt.Name() {
			return true
		}
	}
	return false
}

// configDigestOf reads the digest a docker-save config member is named by:
// "blobs/sha256/HEX" (Engine 25+), "HEX.json" (earlier) or "sha256:HEX"
// (go-containerregistry).
func configDigestOf(member string) string {
	member = path.Clean(member)
	if mm := blobPath.FindStringSubmatch(member); mm != nil {
		return mm[1] + ":" + mm[2]
	}
	base := strings.TrimSuffix(path.Base(member), ".json")
	if strings.Contains(base, ":") {
		return base
	}
	return "sha256:" + base
}

// memberIsPlain reports whether a member's data is not gzip or zstd.
func memberIsPlain(file string, e *tarEntry) (bool, error) {
	f, err := os.Open(file)
	if err != nil {
		return false, err
	}
	defer f.Close()
	head := make([]byte, len(zstdMagic))
	n, err := f.ReadAt(head[:min(int64(len(head)), e.size)], e.offset)
	if err != nil && !errors.Is(err, io.EOF) {
		return false, err
	}
	head = head[:n]
	return !bytes.HasPrefix(head, gzipMagic) && !bytes.HasPrefix(head, zstdMagic), nil
}

// unpackLayout extracts the OCI layout files of the tar at file into dir.
// Only regular members named oci-layout, index.json or blobs/ALG/HEX are
// written, under names built here, each once.
func unpackLayout(file, dir string) error {
	in, err := os.Open(file)
	if err != nil {
		return err
	}
	defer in.Close()
	tr := tar.NewReader(in)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return corruptf("%s: %w", file, err)
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		name := strings.TrimPrefix(path.Clean(h.Name), "/")
		var dst string
		switch mm := blobPath.FindStringSubmatch(name); {
		case name == "oci-layout" || name == "index.json":
			dst = filepath.Join(dir, name)
		case mm != nil:
			dst = filepath.Join(dir, "blobs", mm[1], mm[2])
		default:
			continue
		}
		if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
			return err
		}
		out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			if errors.Is(err, os.ErrExist) {
				return corruptf("%s: %s appears twice", file, name)
			}
			return err
		}
		_, err = io.Copy(out, tr)
		if cerr := out.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return corruptf("%s: unpack %s: %w", file, name, err)
		}
	}
}

// memberReader opens the data of a regular archive member by its offset.
func memberReader(file string, e *tarEntry) func() (io.ReadCloser, error) {
	return func() (io.ReadCloser, error) {
		f, err := os.Open(file)
		if err != nil {
			return nil, err
		}
		return struct {
			io.Reader
			io.Closer
		}{io.NewSectionReader(f, e.offset, e.size), f}, nil
	}
}
