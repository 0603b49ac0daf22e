package image

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Sources that Options.Source and REF prefixes name.
const (
	SourceDocker   = "docker"
	SourceArchive  = "archive"
	SourceOCI      = "oci"
	SourceRegistry = "registry"
)

// Open resolves ref to an image. The caller must Close it.
//
// REF may carry a prefix that forces the source — "docker:NAME",
// "archive:FILE", "oci:DIR", "registry:REF" — or Options.Source may (then REF
// has no prefix). A prefix followed by a port ("registry:5000/app") is a
// registry host, not a prefix. FILE and DIR may end in ":NAME" or
// "@sha256:…" to choose an image inside them (see fromLayout and
// fromArchive).
//
// Without a prefix, REF is looked up in this order:
//
//  1. an existing directory with an oci-layout file: an OCI image layout;
//  2. an existing file: a `docker save` archive or an OCI layout in a tar,
//     optionally gzip- or zstd-compressed;
//  3. the same with a ":NAME" or "@sha256:…" suffix split off, if what is
//     left is such a directory or file;
//  4. if REF looks like a path (starts with /, ./, ../ or ~/, or ends in
//     .tar, .tgz, .tar.gz or .tar.zst) and none of that matched: ErrNotFound;
//  5. the local Docker Engine, if its socket answers;
//  6. the registry named in REF (Docker Hub if none), and no other host.
//
// From an index (registry or layout) the manifest for Options.Platform is
// selected; if there is none the error is a *PlatformError listing the
// platforms the index has. ErrNotFound is returned when no source has the
// image, ErrCorrupt when data does not match its digests or is malformed,
// ErrAmbiguous when a layout or archive holds several candidates.
//
// ctx bounds the lookup, and also the registry downloads that Layer.Open
// starts later: keep it alive while reading layers of a remote image.
func Open(ctx context.Context, ref string, opts Options) (*Image, error) {
	want, err := parsePlatform(opts.Platform)
	if err != nil {
		return nil, err
	}
	src, rest := opts.Source, ref
	if src == "" {
		src, rest = splitPrefix(ref)
	}
	f, err := lookup(ctx, ref, src, rest, want, opts)
	if err != nil {
		return nil, fmt.Errorf("image %s: %w", ref, err)
	}
	img, err := build(ref, f, want, opts.Platform != "")
	if err != nil {
		return nil, fmt.Errorf("image %s: %w", ref, err)
	}
	return img, nil
}

func lookup(ctx context.Context, ref, src, rest string, want platform, opts Options) (*found, error) {
	switch src {
	case "":
		return auto(ctx, ref, want, opts)
	case SourceDocker:
		e, err := newEngine(opts.DockerHost)
		if err != nil {
			return nil, err
		}
		return fromDocker(ctx, e, ref, rest, want)
	case SourceArchive, SourceOCI:
		p, sel, fi, ok := existingPath(rest, false)
		if !ok {
			return nil, fmt.Errorf("%w: no such file or directory: %s", ErrNotFound, rest)
		}
		if src == SourceOCI || fi.IsDir() {
			if !fi.IsDir() {
				return nil, fmt.Errorf("%w: %s is not a directory", ErrNotFound, p)
			}
			return fromLayout(ref, p, sel, want)
		}
		return fromArchive(ref, p, sel, want)
	case SourceRegistry:
		r, err := parseRef(rest, opts)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrNotFound, err)
		}
		return fromRegistry(ctx, ref, r, want)
	}
	return nil, fmt.Errorf("unknown image source %q (want docker, archive, oci or registry)", src)
}

// auto looks ref up in the order documented on Open.
func auto(ctx context.Context, ref string, want platform, opts Options) (*found, error) {
	if p, sel, fi, ok := existingPath(ref, true); ok {
		if fi.IsDir() {
			return fromLayout(ref, p, sel, want)
		}
		return fromArchive(ref, p, sel, want)
	}
	if looksLikePath(ref) {
		if fi, err := os.Stat(ref); err == nil && fi.IsDir() {
			return nil, fmt.Errorf("%w: %s is a directory without an oci-layout file", ErrNotFound, ref)
		}
		return nil, fmt.Errorf("%w: no such file or directory: %s", ErrNotFound, ref)
	}

	var tried []string
	if e, err := newEngine(opts.DockerHost); err != nil {
		tried = append(tried, err.Error())
	} else if err := e.ping(ctx); err != nil {
		tried = append(tried, "docker engine not available")
	} else {
		f, err := fromDocker(ctx, e, ref, ref, want)
		if !errors.Is(err, ErrNotFound) {
			return f, err
		}
		tried = append(tried, "not in the docker engine")
	}

	r, err := parseRef(ref, opts)
	if err != nil {
		return nil, fmt.Errorf("%w: not a file or layout, %s, and not a registry reference (%v)", ErrNotFound, strings.Join(tried, ", "), err)
	}
	f, err := fromRegistry(ctx, ref, r, want)
	if err != nil && len(tried) > 0 {
		return nil, fmt.Errorf("%w (%s)", err, strings.Join(tried, ", "))
	}
	return f, err
}

// splitPrefix splits a source prefix off ref. "registry:5000/app" is a host
// and port, not a prefix.
func splitPrefix(ref string) (src, rest string) {
	for _, s := range []string{SourceDocker, SourceArchive, SourceOCI, SourceRegistry} {
		r, ok := strings.CutPrefix(ref, s+":")
		if !ok {
			continue
		}
		port, _, hasSlash := strings.Cut(r, "/")
		if hasSlash && port != "" && strings.Trim(port, "0123456789") == "" {
			return "", ref
		}
		return s, r
	}
	return "", ref
}

// existingPath finds the path in ref: ref itself, or ref with a ":NAME" or
// "@DIGEST" suffix split off at the first separator that leaves an existing
// path. With auto, directories count only if they hold an oci-layout file.
func existingPath(ref string, auto bool) (string, selector, fs.FileInfo, bool) {
	usable := func(p string) (fs.FileInfo, bool) {
		fi, err := os.Stat(p)
		if err != nil {
			return nil, false
		}
		if fi.IsDir() && auto {
			if _, err := os.Stat(filepath.Join(p, "oci-layout")); err != nil {
				return nil, false
			}
		}
		return fi, fi.IsDir() || fi.Mode().IsRegular()
	}
	if fi, ok := usable(ref); ok {
		return ref, selector{}, fi, true
	}
	for i, c := range ref {
		if c != ':' && c != '@' || i == 0 {
			continue
		}
		fi, ok := usable(ref[:i])
		if !ok {
			continue
		}
		if c == '@' {
			return ref[:i], selector{digest: ref[i+1:]}, fi, true
		}
		return ref[:i], selector{tag: ref[i+1:]}, fi, true
	}
	return "", selector{}, nil, false
}

func looksLikePath(ref string) bool {
	for _, p := range []string{"/", "./", "../", "~/"} {
		if strings.HasPrefix(ref, p) {
			return true
		}
	}
	for _, s := range []string{".tar", ".tgz", ".tar.gz", ".tar.zst"} {
		if strings.HasSuffix(ref, s) {
			return true
		}
	}
	return ref == "." || ref == ".."
}
