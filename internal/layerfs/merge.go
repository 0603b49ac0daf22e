package layerfs

import (
	"fmt"
	"io/fs"
	"slices"
	"sort"
)

// maxRedirects bounds the directories of one layer written through
// symlinked parents; more are a Problem.
const maxRedirects = 1024

// merger builds the view of layers 0..i from the view of 0..i-1 and the
// index of layer i. The result shares every untouched subtree with the
// lower view and every new subtree with the layer index, so a view costs
// memory in proportion to what its layer changed.
type merger struct {
	layer     int32
	diffID    string
	lower     *node // root of the lower view, nil for the first layer
	lim       Limits
	retain    func(string, fs.FileInfo) bool
	queue     []redirect
	redirects int
	problems  []Problem
}

// redirect is a directory of the layer, implied by its entries' names,
// standing where a lower layer has a symlink: its entries are written
// through the symlink, resolved within the root.
type redirect struct {
	link string // path of the symlink
	up   *node
}

func (m *merger) problem(p string, err error) {
	m.problems = append(m.problems, Problem{Layer: m.diffID, Path: p, Err: err})
}

// merge returns the root of the new view.
func (m *merger) merge(up *node) *node {
	root := m.dir(m.lower, up, "", "")
	for len(m.queue) > 0 {
		r := m.queue[0]
		m.queue = m.queue[1:]
		root = m.graft(root, r)
	}
	return root
}

// dir merges directory up of this layer over lower (a directory of the
// lower view, or nil) at path p; name is the result's name.
func (m *merger) dir(lower, up *node, p, name string) *node {
	hide := up.flags&(flagOpaque|flagWhiteout) != 0
	explicit := up.flags&flagExplicit != 0
	if lower != nil && hide && lower.layer < m.layer {
		// Every lower child is hidden; keep the lower metadata only when the
		// directory itself was not deleted.
		if up.flags&flagWhiteout != 0 {
			lower = nil
		} else {
			lower = &node{mode: lower.mode, mtime: lower.mtime, kind: kindDir, ext: &ext{}, layer: lower.layer}
		}
	}
	if (lower == nil || explicit && len(lower.ext.kids) == 0) && up.flags&flagHasLink == 0 && up.name == name {
		return up // a new subtree: share the layer's index
	}
	meta := up
	if !explicit && lower != nil {
		meta = lower
	}
	n := &node{name: name, mode: meta.mode, mtime: meta.mtime, layer: m.layer, blob: -1, kind: kindDir, ext: &ext{}}
	var lk []*node
	if lower != nil {
		lk = lower.ext.kids
	}
	uk := up.ext.kids
	kids := make([]*node, 0, len(lk)+len(uk))
	add := func(k *node) {
		if k != nil {
			kids = append(kids, k)
		}
	}
	hidden := func(l *node) *node {
		if hide || hasString(up.ext.whiteouts, l.name) {
			return onlyLayer(l, m.layer)
		}
		return l
	}
	for len(lk) > 0 || len(uk) > 0 {
		switch {
		case len(uk) == 0 || len(lk) > 0 && lk[0].name < uk[0].name:
			add(hidden(lk[0]))
			lk = lk[1:]
		case len(lk) == 0 || uk[0].name < lk[0].name:
			add(m.child(nil, uk[0], p))
			uk = uk[1:]
		default:
			add(m.child(hidden(lk[0]), uk[0], p))
			lk, uk = lk[1:], uk[1:]
		}
	}
	n.ext.kids = kids
	return n
}

// child merges entry u of this layer over l (nil if absent below) in
// directory dir. A nil result removes the name.
func (m *merger) child(l, u *node, dir string) *node {
	p := joinPath(dir, u.name)
	switch u.kind {
	case kindDir:
		switch {
		case l == nil:
			return m.dir(nil, u, p, u.name)
		case l.kind == kindDir:
			return m.dir(l, u, p, u.name)
		case u.flags&(flagExplicit|flagWhiteout) != 0:
			return m.dir(nil, u, p, u.name) // a directory replaces whatever was there
		case l.kind == kindSymlink:
			if m.redirects++; m.redirects > maxRedirects {
				m.problem(p, fmt.Errorf("%w: more than %d directories written through symlinks; entries below ignored", ErrLimit, maxRedirects))
				return l
			}
			m.queue = append(m.queue, redirect{link: p, up: u})
			return l
		default:
			m.problem(p, fmt.Errorf("%w: a lower layer has a %s here; entries below it ignored", ErrNotDir, kindName(l.kind)))
			return l
		}
	case kindHardlink:
		if r := m.hardlink(u, p); r != nil {
			return r
		}
		return l
	}
	return u
}

// hardlink resolves a hardlink to a lower layer into a copy of its target.
func (m *merger) hardlink(u *node, p string) *node {
	t := u.target()
	var target *node
	if m.lower != nil {
		_, target, _ = walk(m.lower, t, walkOpts{maxLinks: m.lim.MaxSymlinkDepth})
	}
	switch {
	case target == nil:
		m.problem(p, fmt.Errorf("%w: hardlink target %q not found; entry ignored", fs.ErrNotExist, t))
		return nil
	case target.kind == kindDir:
		m.problem(p, fmt.Errorf("%w: hardlink to directory %q ignored", fs.ErrInvalid, t))
		return nil
	}
	c := *target
	c.name, c.layer, c.flags = u.name, m.layer, u.flags&flagFresh
	if c.kind == kindReg && c.blob < 0 && m.retain != nil && m.retain(p, fileInfo{&c, c.name}) {
		m.problem(p, fmt.Errorf("%w: hardlink to %q in a lower layer whose content was not retained", ErrNotRetained, t))
	}
	return &c
}

// graft writes the entries of a redirect through the symlink, resolved
// within the root of the view being built.
func (m *merger) graft(root *node, r redirect) *node {
	parts, t, err := walk(root, r.link, walkOpts{follow: true, lexical: true, maxLinks: m.lim.MaxSymlinkDepth})
	if err == nil && t != nil && t.kind != kindDir {
		err = ErrNotDir
	}
	if err != nil {
		m.problem(r.link, fmt.Errorf("entries written through symlink ignored: %w", err))
		return root
	}
	return m.insertAt(root, parts, r.up, "")
}

// insertAt merges up at the path parts below d (nil: create it).
func (m *merger) insertAt(d *node, parts []string, up *node, p string) *node {
	if len(parts) == 0 {
		if d == nil {
			return m.dir(nil, up, p, "")
		}
		return m.dir(d, up, p, d.name)
	}
	name := parts[0]
	k := d.child(name)
	nk := m.insertAt(k, parts[1:], up, joinPath(p, name))
	if nk.name == "" {
		nk.name = name // a directory created below d
	}
	if d == nil {
		d = newDir("", m.layer)
	}
	return withChild(d, nk, m.layer)
}

// withChild returns a copy of directory d with k added or replacing the
// child of the same name.
func withChild(d, k *node, layer int32) *node {
	c := *d
	c.layer = layer
	kids := d.ext.kids
	i := sort.Search(len(kids), func(i int) bool { return kids[i].name >= k.name })
	nk := make([]*node, 0, len(kids)+1)
	nk = append(nk, kids[:i]...)
	nk = append(nk, k)
	if i < len(kids) && kids[i].name == k.name {
		i++
	}
	nk = append(nk, kids[i:]...)
	c.ext = &ext{kids: nk}
	return &c
}

// onlyLayer returns the part of subtree n written by layer; whiteouts and
// opaque directories of a layer hide lower layers only.
func onlyLayer(n *node, layer int32) *node {
	if n.layer < layer {
		return nil
	}
	if n.kind != kindDir {
		return n
	}
	c := *n
	c.ext = &ext{}
	for _, k := range n.ext.kids {
		if k = onlyLayer(k, layer); k != nil {
			c.ext.kids = append(c.ext.kids, k)
		}
	}
	return &c
}

func hasString(sorted []string, s string) bool {
	_, ok := slices.BinarySearch(sorted, s)
	return ok
}

func kindName(k kind) string {
	switch k {
	case kindDir:
		return "directory"
	case kindReg:
		return "regular file"
	case kindSymlink:
		return "symlink"
	case kindHardlink:
		return "hardlink"
	case kindChar:
		return "character device"
	case kindBlock:
		return "block device"
	case kindFifo:
		return "fifo"
	}
	return "entry of unknown kind"
}
