package layerfs

import (
	"archive/tar"
	"bufio"
	"context"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path"
	"slices"
	"strings"
)

// layerIndex is the index of one layer as read from its tar stream or from
// the cache: a tree of the layer's own entries, independent of the layers
// below it.
type layerIndex struct {
	root     *node
	entries  int      // tar entries plus implied directories
	blobs    []blob   // retained contents, referenced by node.blob - blobBase
	file     *os.File // holds the blobs; nil if none
	problems []Problem
}

// builder reads one layer's tar stream into a layerIndex.
type builder struct {
	lim      Limits
	diffID   string
	layer    int32
	budget   int   // entries allowed
	blobBase int32 // len(img.blobs) when the layer started
	data     *dataFile
	retain   func(string, fs.FileInfo) bool

	idx      layerIndex
	kids     map[childKey]*node // build-time child lookup
	lastDir  string             // cache of the last parent directory
	lastNode *node
	retained int64
	ord      int              // ordinal of the current tar entry
	links    []pendingLink    // hardlinks whose content needs a second pass
	origin   map[*node]string // hardlink copies: name of the regular file they copy
	complete bool             // the stream was read to its end without error
	limited  bool             // the image-wide entry budget cut the layer short
}

type childKey struct {
	dir  *node
	name string
}

// pendingLink is a hardlink whose name Retain selected but whose target,
// earlier in the same layer, was not retained.
type pendingLink struct {
	link        *node
	name, tname string // the link's name, the regular file's name
	ord         int
}

// errStop ends the reading of a layer after a problem was recorded.
var errStop = errors.New("stop")

// errTooBig is returned by a countingReader past its limit.
var errTooBig = errors.New("layer stream too big")

func (b *builder) problem(p string, err error) {
	b.idx.problems = append(b.idx.problems, Problem{Layer: b.diffID, Path: p, Err: err})
}

// countingReader counts, hashes and bounds the raw layer stream.
type countingReader struct {
	ctx   context.Context
	r     io.Reader
	h     hash.Hash // nil when the digest is not checked
	n     int64
	limit int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	if c.n >= c.limit {
		// At the limit: the stream is too big only if it has more.
		var one [1]byte
		if n, err := io.ReadFull(c.r, one[:]); n == 0 {
			return 0, err
		}
		return 0, errTooBig
	}
	if int64(len(p)) > c.limit-c.n {
		p = p[:c.limit-c.n]
	}
	n, err := c.r.Read(p)
	c.n += int64(n)
	if c.h != nil {
		c.h.Write(p[:n])
	}
	return n, err
}

// read indexes the tar stream r. It returns a non-nil error only when
// AddLayer must fail; problems with the stream are recorded.
func (b *builder) read(ctx context.Context, r io.Reader) error {
	br := bufio.NewReaderSize(r, 64<<10)
	tr := tar.NewReader(br)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return b.streamError(ctx, "", err)
		}
		b.ord++
		if b.ord&255 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		if err := b.entry(tr, hdr); err != nil {
			if errors.Is(err, errStop) {
				return nil
			}
			return b.streamError(ctx, hdr.Name, err)
		}
	}
	// Read what follows the end-of-archive marker, so the digest covers the
	// whole stream and trailing junk is bounded too.
	if _, err := io.Copy(io.Discard, br); err != nil {
		return b.streamError(ctx, "", err)
	}
	b.complete = true
	return nil
}

// streamError sorts an error met while reading the stream: fatal errors are
// returned, the others recorded.
func (b *builder) streamError(ctx context.Context, name string, err error) error {
	var fe *fatalError
	switch {
	case ctx.Err() != nil:
		return ctx.Err()
	case errors.As(err, &fe):
		return err
	case errors.Is(err, errTooBig):
		b.problem(name, fmt.Errorf("%w: stream exceeds MaxLayerBytes (%d); rest of layer ignored", ErrLimit, b.lim.MaxLayerBytes))
	default:
		b.problem(name, fmt.Errorf("%w: %w; rest of layer ignored", ErrCorrupt, err))
	}
	return nil
}

// count charges one entry to the budget.
func (b *builder) count(name string) error {
	if b.idx.entries >= b.budget {
		if b.budget < b.lim.MaxEntries {
			b.limited = true
			b.problem(name, fmt.Errorf("%w: image has more than MaxImageEntries (%d) entries; rest of layer ignored", ErrLimit, b.lim.MaxImageEntries))
		} else {
			b.problem(name, fmt.Errorf("%w: layer has more than MaxEntries (%d) entries; rest of layer ignored", ErrLimit, b.lim.MaxEntries))
		}
		return errStop
	}
	b.idx.entries++
	return nil
}

// entry indexes one tar header. Problems confined to the entry are recorded
// and nil returned.
func (b *builder) entry(tr io.Reader, hdr *tar.Header) error {
	if err := b.count(hdr.Name); err != nil {
		return err
	}
	if hdr.Typeflag == tar.TypeXGlobalHeader {
		return nil
	}
	if len(hdr.Name) > b.lim.MaxPathLen {
		b.problem(truncate(hdr.Name), fmt.Errorf("%w: name longer than MaxPathLen (%d); entry ignored", ErrLimit, b.lim.MaxPathLen))
		return nil
	}
	name, err := cleanName(hdr.Name)
	if err != nil {
		b.problem(hdr.Name, fmt.Errorf("entry ignored: %w", err))
		return nil
	}
	if longComponent(name) {
		b.problem(name, fmt.Errorf("%w: a name component is longer than %d bytes; entry ignored", ErrLimit, nameMax))
		return nil
	}
	// A long link target costs one more entry per 256 bytes, so that
	// MaxEntries bounds memory.
	for range len(hdr.Linkname) / 256 {
		if err := b.count(hdr.Name); err != nil {
			return err
		}
	}
	dir, base := path.Split(name)
	dir = strings.TrimSuffix(dir, "/")

	// Whiteouts.
	switch {
	case base == ".wh..wh..opq":
		d, err := b.dir(dir)
		if err != nil {
			return b.entryError(name, err)
		}
		d.flags |= flagOpaque
		return nil
	case strings.HasPrefix(base, ".wh..wh."):
		return nil // AUFS metadata, not part of the image
	case strings.HasPrefix(base, ".wh."):
		w := base[len(".wh."):]
		if !validName(w) {
			b.problem(name, fmt.Errorf("%w: invalid whiteout; entry ignored", fs.ErrInvalid))
			return nil
		}
		d, err := b.dir(dir)
		if err != nil {
			return b.entryError(name, err)
		}
		d.ext.whiteouts = append(d.ext.whiteouts, strings.Clone(w))
		return nil
	}

	n := &node{
		mode:  headerPerm(hdr.Mode),
		mtime: hdr.ModTime.Unix(),
		layer: b.layer,
		blob:  -1,
	}
	switch hdr.Typeflag {
	case tar.TypeDir:
		n.kind, n.ext, n.flags = kindDir, &ext{}, flagExplicit
	case tar.TypeReg, tar.TypeGNUSparse:
		n.kind, n.size = kindReg, hdr.Size
	case tar.TypeSymlink:
		if len(hdr.Linkname) > b.lim.MaxPathLen {
			b.problem(name, fmt.Errorf("%w: link target longer than MaxPathLen (%d); entry ignored", ErrLimit, b.lim.MaxPathLen))
			return nil
		}
		n.kind, n.ext, n.size = kindSymlink, &ext{target: hdr.Linkname}, int64(len(hdr.Linkname))
	case tar.TypeLink:
		var ok bool
		if n, ok = b.hardlink(name, hdr, n); !ok {
			return nil
		}
	case tar.TypeChar:
		n.kind = kindChar
	case tar.TypeBlock:
		n.kind = kindBlock
	case tar.TypeFifo:
		n.kind = kindFifo
	default:
		b.problem(name, fmt.Errorf("%w: unsupported entry type %q; entry ignored", fs.ErrInvalid, hdr.Typeflag))
		return nil
	}
	n.mode |= typeBits(n.kind)

	if name == "." {
		if n.kind != kindDir {
			b.problem(name, fmt.Errorf("%w: root entry is not a directory; entry ignored", ErrNotDir))
			return nil
		}
		b.idx.root.mode, b.idx.root.mtime = n.mode, n.mtime
		b.idx.root.flags |= flagExplicit
		return nil
	}
	parent, err := b.dir(dir)
	if err != nil {
		return b.entryError(name, err)
	}
	n.name = strings.Clone(base)
	n = b.put(parent, n)
	if n.kind == kindReg && n.blob < 0 && b.retain != nil && b.retain(name, fileInfo{n, n.name}) {
		if hdr.Typeflag == tar.TypeLink {
			b.links = append(b.links, pendingLink{link: n, name: name, tname: b.origin[n], ord: b.ord})
			return nil
		}
		return b.keep(tr, name, n)
	}
	return nil
}

// entryError records err for the entry name unless it stops the layer.
func (b *builder) entryError(name string, err error) error {
	if errors.Is(err, errStop) {
		return err
	}
	b.problem(name, err)
	return nil
}

// hardlink turns a TypeLink header into a node: a copy of its target if
// that is earlier in this layer, else a kindHardlink resolved against the
// lower layers when the view is built.
func (b *builder) hardlink(name string, hdr *tar.Header, n *node) (*node, bool) {
	if len(hdr.Linkname) > b.lim.MaxPathLen {
		b.problem(name, fmt.Errorf("%w: link target longer than MaxPathLen (%d); entry ignored", ErrLimit, b.lim.MaxPathLen))
		return nil, false
	}
	t, err := cleanName(hdr.Linkname)
	if err != nil {
		b.problem(name, fmt.Errorf("hardlink to %q ignored: %w", hdr.Linkname, err))
		return nil, false
	}
	if t == "." {
		b.problem(name, fmt.Errorf("%w: hardlink to the root ignored", ErrNotDir))
		return nil, false
	}
	target := b.lookup(t)
	switch {
	case target == nil:
		n.kind, n.ext = kindHardlink, &ext{target: t}
		return n, true
	case target.kind == kindDir:
		b.problem(name, fmt.Errorf("%w: hardlink to directory %q ignored", fs.ErrInvalid, t))
		return nil, false
	}
	c := *target
	c.flags &^= flagWhiteout | flagFresh
	if b.origin == nil {
		b.origin = make(map[*node]string)
	}
	if o, ok := b.origin[target]; ok {
		t = o // a link to a link: the second pass looks for the file
	}
	b.origin[&c] = t
	return &c, true
}

// lookup finds an earlier entry of this layer by its cleaned name, without
// following symlinks.
func (b *builder) lookup(name string) *node {
	n := b.idx.root
	for rest := name; rest != "" && rest != "." && n != nil; {
		var comp string
		comp, rest, _ = strings.Cut(rest, "/")
		if n.kind != kindDir {
			return nil
		}
		n = b.kids[childKey{n, comp}]
	}
	return n
}

// dir returns the directory p ("" for the root) of this layer, creating
// implied directories.
func (b *builder) dir(p string) (*node, error) {
	if p == "" || p == "." {
		return b.idx.root, nil
	}
	if p == b.lastDir && b.lastNode != nil {
		return b.lastNode, nil
	}
	cur := b.idx.root
	for rest := p; rest != ""; {
		var comp string
		comp, rest, _ = strings.Cut(rest, "/")
		k := b.kids[childKey{cur, comp}]
		switch {
		case k == nil:
			if err := b.count(p); err != nil {
				return nil, err
			}
			k = newDir(strings.Clone(comp), b.layer)
			cur.ext.kids = append(cur.ext.kids, k)
			b.kids[childKey{cur, k.name}] = k
		case k.kind != kindDir:
			return nil, fmt.Errorf("%w: parent %q is not a directory in this layer; entry ignored", ErrNotDir, p[:len(p)-len(rest)])
		}
		cur = k
	}
	b.lastDir, b.lastNode = p, cur
	return cur, nil
}

// put adds n to dir, replacing an entry of the same name. It returns the
// node now at that name.
func (b *builder) put(dir, n *node) *node {
	key := childKey{dir, n.name}
	old := b.kids[key]
	if old == nil {
		dir.ext.kids = append(dir.ext.kids, n)
		b.kids[key] = n
		return n
	}
	if old.kind == kindDir && n.kind == kindDir {
		old.mode, old.mtime = n.mode, n.mtime
		old.flags |= flagExplicit
		return old
	}
	// The old entry stays in the slice until freeze drops it: finding it
	// there would make many duplicates quadratic.
	old.flags |= flagDead
	dir.ext.kids = append(dir.ext.kids, n)
	b.kids[key] = n
	b.lastDir, b.lastNode = "", nil
	return n
}

// keep copies the content of regular file n, at the stream's current
// entry, to the data file.
func (b *builder) keep(r io.Reader, name string, n *node) error {
	switch {
	case n.size > b.lim.MaxFileBytes:
		b.problem(name, fmt.Errorf("%w: %d bytes is over MaxFileBytes (%d); content not retained", ErrLimit, n.size, b.lim.MaxFileBytes))
		return nil
	case b.retained+n.size > b.lim.MaxRetainedBytes:
		b.problem(name, fmt.Errorf("%w: layer retains more than MaxRetainedBytes (%d); content not retained", ErrLimit, b.lim.MaxRetainedBytes))
		return nil
	}
	i, err := b.data.copy(r, n.size)
	if err != nil {
		return err
	}
	b.retained += n.size
	n.blob = b.blobBase + int32(i)
	return nil
}

// freeze sorts the index for lookups and sets the flags views rely on.
// fresh says an ancestor in this layer deleted what was below it.
func freeze(n *node, fresh bool) (hasLink bool) {
	if n.kind != kindDir {
		if fresh || n.flags&flagWhiteout != 0 {
			n.flags |= flagFresh
		}
		return n.kind == kindHardlink
	}
	e := n.ext
	e.kids = slices.DeleteFunc(e.kids, func(k *node) bool { return k.flags&flagDead != 0 })
	slices.SortFunc(e.kids, func(a, b *node) int { return strings.Compare(a.name, b.name) })
	slices.Sort(e.whiteouts)
	e.whiteouts = slices.Compact(e.whiteouts)
	for _, w := range e.whiteouts {
		if k := n.child(w); k != nil {
			k.flags |= flagWhiteout
		}
	}
	sub := fresh || n.flags&(flagOpaque|flagWhiteout) != 0
	for _, k := range e.kids {
		if freeze(k, sub) {
			hasLink = true
		}
	}
	if hasLink {
		n.flags |= flagHasLink
	}
	return hasLink
}

// secondPass reads the stream again to keep the content of hardlink
// targets whose links Retain selected.
func (b *builder) secondPass(ctx context.Context, open func() (io.ReadCloser, error)) error {
	last := b.links[len(b.links)-1].ord
	want := make(map[string]int, len(b.links)) // target name -> last link ordinal
	for _, l := range b.links {
		want[l.tname] = l.ord
	}
	got := make(map[string]int32)
	fail := func(err error) {
		for _, l := range b.links {
			b.problem(l.name, fmt.Errorf("%w: content of hardlink to %q not retained: %w", ErrNotRetained, l.tname, err))
		}
		b.complete = false
	}
	rc, err := open()
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		fail(err)
		return nil
	}
	defer rc.Close()
	cr := &countingReader{ctx: ctx, r: rc, limit: b.lim.MaxLayerBytes}
	tr := tar.NewReader(bufio.NewReaderSize(cr, 64<<10))
	for ord := 1; ord < last; ord++ {
		hdr, err := tr.Next()
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			fail(err)
			return nil
		}
		name, err := cleanName(hdr.Name)
		if err != nil || (hdr.Typeflag != tar.TypeReg && hdr.Typeflag != tar.TypeGNUSparse) {
			continue
		}
		if lo, ok := want[name]; !ok || ord > lo || hdr.Size > b.lim.MaxFileBytes || b.retained+hdr.Size > b.lim.MaxRetainedBytes {
			continue
		}
		i, err := b.data.copy(tr, hdr.Size)
		if err != nil {
			var fe *fatalError
			if errors.As(err, &fe) || ctx.Err() != nil {
				return err
			}
			fail(err)
			return nil
		}
		b.retained += hdr.Size
		got[name] = b.blobBase + int32(i)
	}
	for _, l := range b.links {
		i, ok := got[l.tname]
		switch {
		case !ok:
			b.problem(l.name, fmt.Errorf("%w: content of hardlink to %q not retained (over a limit)", ErrNotRetained, l.tname))
		case b.data.blobs[i-b.blobBase].size != l.link.size:
			b.problem(l.name, fmt.Errorf("%w: content of hardlink to %q changed between two reads of the layer", ErrNotRetained, l.tname))
			b.complete = false
		default:
			l.link.blob = i
		}
	}
	return nil
}

// headerPerm turns a tar header's mode into permission bits.
func headerPerm(m int64) fs.FileMode {
	p := fs.FileMode(m & 0o777)
	if m&0o4000 != 0 {
		p |= fs.ModeSetuid
	}
	if m&0o2000 != 0 {
		p |= fs.ModeSetgid
	}
	if m&0o1000 != 0 {
		p |= fs.ModeSticky
	}
	return p
}

func longComponent(p string) bool {
	for rest := p; rest != ""; {
		var comp string
		comp, rest, _ = strings.Cut(rest, "/")
		if len(comp) > nameMax {
			return true
		}
	}
	return false
}

func truncate(s string) string {
	if len(s) > 256 {
		return s[:256] + "..."
	}
	return s
}
