package layerfs

import (
	"io/fs"
	"sort"
	"time"
)

// kind is what an index entry is.
type kind uint8

const (
	kindDir kind = iota + 1
	kindReg
	kindSymlink
	kindHardlink // a hardlink to a lower layer, resolved when views are built
	kindChar
	kindBlock
	kindFifo
	kindMax
)

// Node flags.
const (
	flagExplicit uint8 = 1 << iota // directory: has its own tar entry
	flagOpaque                     // directory: .wh..wh..opq hides lower children
	flagWhiteout                   // .wh.<name> is in the same layer
	flagFresh                      // this layer deleted the path before writing it
	flagHasLink                    // directory: subtree holds kindHardlink nodes
	flagDead                       // replaced by a later entry of the layer; dropped by freeze
)

// nameMax is the longest path component, Linux's NAME_MAX: no runtime
// could create a longer one, and it bounds the memory of an entry.
const nameMax = 255

// node is one entry of a layer index or of a merged view. Views share
// nodes with the layer indexes and with lower views; nodes are never
// modified once a layer is added. A node is 56 bytes; directories and links
// carry an ext.
type node struct {
	name  string // base name ("" for the root)
	ext   *ext
	size  int64
	mtime int64 // Unix seconds
	mode  fs.FileMode
	layer int32 // layer that wrote it; for a merged directory, the last layer that changed its subtree
	blob  int32 // index into Image.blobs, -1 if the content is not retained
	kind  kind
	flags uint8
}

type ext struct {
	kids      []*node  // directories: children sorted by name
	whiteouts []string // directories in a layer index: sorted names whited out
	target    string   // symlinks and hardlinks: the link target
}

func newDir(name string, layer int32) *node {
	return &node{name: name, ext: &ext{}, mode: fs.ModeDir | 0o755, layer: layer, blob: -1, kind: kindDir}
}

// child returns the child of directory n called name, or nil.
func (n *node) child(name string) *node {
	if n == nil || n.kind != kindDir {
		return nil
	}
	kids := n.ext.kids
	i := sort.Search(len(kids), func(i int) bool { return kids[i].name >= name })
	if i < len(kids) && kids[i].name == name {
		return kids[i]
	}
	return nil
}

func (n *node) kids() []*node {
	if n.kind != kindDir {
		return nil
	}
	return n.ext.kids
}

func (n *node) target() string {
	if n.ext == nil {
		return ""
	}
	return n.ext.target
}

// typeBits are the fs.FileMode type bits of each kind.
func typeBits(k kind) fs.FileMode {
	switch k {
	case kindDir:
		return fs.ModeDir
	case kindSymlink:
		return fs.ModeSymlink
	case kindChar:
		return fs.ModeDevice | fs.ModeCharDevice
	case kindBlock:
		return fs.ModeDevice
	case kindFifo:
		return fs.ModeNamedPipe
	}
	return 0
}

const permBits = fs.ModePerm | fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky

// fileInfo describes a node as an fs.FileInfo and fs.DirEntry.
type fileInfo struct {
	n    *node
	name string
}

func (fi fileInfo) Name() string               { return fi.name }
func (fi fileInfo) Size() int64                { return fi.n.size }
func (fi fileInfo) Mode() fs.FileMode          { return fi.n.mode }
func (fi fileInfo) ModTime() time.Time         { return time.Unix(fi.n.mtime, 0).UTC() }
func (fi fileInfo) IsDir() bool                { return fi.n.kind == kindDir }
func (fi fileInfo) Sys() any                   { return nil }
func (fi fileInfo) Type() fs.FileMode          { return fi.n.mode.Type() }
func (fi fileInfo) Info() (fs.FileInfo, error) { return fi, nil }
func (fi fileInfo) String() string             { return fs.FormatFileInfo(fi) }
