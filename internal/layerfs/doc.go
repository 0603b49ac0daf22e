// Package layerfs is a layered, read-only, virtual filesystem built from
// the uncompressed tar streams of container image layers, safe against
// hostile input. It never extracts an image: it keeps an in-memory index of
// every entry of every layer, and keeps the content only of the regular
// files Options.Retain selects (package databases, binaries, lock files),
// in files under its own temporary or cache directory named by layer
// sequence or digest, never by an entry's name, so nothing is ever written
// outside that directory.
//
// It owns the OCI layer semantics (whiteouts, opaque directories,
// replacement across layers, hardlinks, symlinks), the per-layer index and
// its on-disk cache (docs/formats/layer-cache.md). An *Image satisfies
// inventory.Layered; it is imported by the image scanner and later the
// secret scanner. It must stay free of SCALIBR and go-containerregistry
// imports (the caller fetches and decompresses layers) and never logs:
// failures confined to an entry or a layer are returned by Problems.
//
// # Use
//
//	img, err := layerfs.New(layerfs.Options{Retain: want, RetainKey: "v3", CacheDir: dir})
//	defer img.Close()
//	for _, l := range layers {
//		err := img.AddLayer(ctx, l.DiffID, l.OpenUncompressed)
//	}
//	final := img.View(img.LayerCount() - 1)
//	for _, p := range img.Problems() { /* the scan is incomplete */ }
//
// # Semantics
//
// Entry names are cleaned: leading slashes are stripped, as Docker does,
// and a name still climbing above the root ("../x", "/../x") is rejected
// with ErrEscape. Names that io/fs cannot express (not UTF-8, or holding
// NUL) and components over 255 bytes (NAME_MAX) are rejected too.
//
// ".wh.<name>" deletes name from lower layers and ".wh..wh..opq" hides the
// lower children of its directory; neither hides entries of its own layer.
// Other ".wh..wh." names (AUFS metadata) are skipped. A later entry
// replaces a lower one of another kind (a directory over a file, a file
// over a directory); two directories merge. Within a layer a later entry of
// the same name replaces an earlier one. Directories implied by names exist
// without their own entry (mode 0755, time zero), taking a lower
// directory's metadata when there is one. Devices and fifos are indexed,
// never retained.
//
// Hardlinks become copies of their target's entry: an earlier entry of the
// same layer, else an entry of the lower view. A target outside the root,
// missing, or a directory is a Problem and the link is ignored. When Retain
// selects a link whose same-layer target it did not select, open is called
// a second time to read the target's content.
//
// Symlinks are stored as written and resolved at lookup time within the
// root, as securejoin does: an absolute target starts at the image root,
// ".." stops at the root, and following more than MaxSymlinkDepth links
// fails with ErrTooManyLinks, so loops end. fs.WalkDir over a view never
// follows them.
//
// Writing through a symlinked parent: when a layer has entries below a
// directory it does not itself create ("x/passwd" with no "x/" entry) and
// a lower layer has a symlink at "x", the entries are written where the
// symlink resolves within the root, as containerd does when it applies
// layers: with "x -> /etc" below, "x/passwd" replaces "etc/passwd" and "x"
// stays a symlink. Missing directories on the resolved path are created; a
// resolution that fails (loop, a file in the way) is a Problem. A layer
// that has its own "x/" entry replaces the symlink instead. Below a lower
// regular file, or below a symlink of the same layer, such entries are
// rejected with ErrNotDir. Options.Retain sees names as the layer writes
// them, before this redirection.
//
// # Limits and memory
//
// Limits bound entries per layer (default 1<<20) and per image (1<<22),
// bytes per layer stream (16 GiB, which stops decompression bombs), per
// retained file (512 MiB) and per layer of retained content (4 GiB),
// symlinks followed per lookup (40) and name length (4096). Entries over
// a limit are Problems, never errors. An index entry costs a 56-byte node,
// its base name (paths are never stored whole) and a slot in its parent's
// sorted child list: TestMillionEntries measures 88 bytes per entry, 84 MiB
// of heap for 1,000,000 files with 15-byte names. While a layer is read a
// lookup map adds about as much again (the test peaks at 264 MiB RSS).
// Views share nodes with the layer indexes and with lower views, so View is
// free and each layer's view costs only the directories it changed.
//
// # Cache
//
// AddLayer hashes each stream and, when the DiffID is a well-formed digest,
// checks it: a mismatch is a Problem (ErrDigest). With Options.CacheDir,
// each layer whose stream matches its DiffID is stored as one file holding
// its index and retained contents, keyed by DiffID, RetainKey and the
// limits that shape an index; a layer that lies about its DiffID, or was
// cut short, is never cached. A later AddLayer
// of the same layer does not call open. Entries are written to a temporary
// file and renamed, so concurrent processes see whole entries or none; a
// corrupt entry is ignored and rebuilt. Nothing removes old entries.
package layerfs
