package layerfs

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// The layer cache file format, documented in docs/formats/layer-cache.md:
//
//	header   "VLFSCAC1"
//	contents retained file contents, back to back
//	index    the encoded layerIndex (see encoder.node)
//	trailer  index offset (u64 BE), index length (u64 BE),
//	         SHA-256 of header+contents+index, "VLFSEND1"
const (
	cacheVersion = 1
	cacheMagic   = "VLFSCAC1"
	cacheEnd     = "VLFSEND1"
	headerLen    = len(cacheMagic)
	trailerLen   = 8 + 8 + sha256.Size + 8
	minNodeLen   = 8 // smallest encoding of a non-root node
)

// cachePath is where the cache entry of diffID lives, "" if the image has
// no cache or diffID is not a well-formed digest.
func (img *Image) cachePath(diffID string) string {
	if img.cacheDir == "" {
		return ""
	}
	alg, hexSum, _, ok := parseDigest(diffID)
	if !ok {
		return ""
	}
	return filepath.Join(img.cacheDir, alg+"-"+hexSum+"."+img.key)
}

// encoder writes a layerIndex.
type encoder struct {
	w       *bufio.Writer
	scratch [binary.MaxVarintLen64]byte
	base    int32
}

func (e *encoder) uvarint(v uint64) { e.w.Write(binary.AppendUvarint(e.scratch[:0], v)) }
func (e *encoder) varint(v int64)   { e.w.Write(binary.AppendVarint(e.scratch[:0], v)) }
func (e *encoder) str(s string)     { e.uvarint(uint64(len(s))); e.w.WriteString(s) }

func (e *encoder) index(idx *layerIndex, diffID, key string) {
	e.str(diffID)
	e.str(key)
	e.uvarint(uint64(idx.entries))
	e.uvarint(uint64(len(idx.blobs)))
	for _, b := range idx.blobs {
		e.uvarint(uint64(b.off))
		e.uvarint(uint64(b.size))
	}
	e.uvarint(uint64(len(idx.problems)))
	for _, p := range idx.problems {
		e.str(p.Path)
		e.uvarint(problemMask(p.Err))
		e.str(p.Err.Error())
	}
	e.node(idx.root)
}

// node writes n and its subtree in preorder: kind, flags, name, mode, size,
// mtime, blob (-1 for none), then the link target of links, or the
// whiteouts and children of directories.
func (e *encoder) node(n *node) {
	e.w.WriteByte(byte(n.kind))
	e.w.WriteByte(n.flags)
	e.str(n.name)
	e.uvarint(uint64(n.mode & permBits))
	e.varint(n.size)
	e.varint(n.mtime)
	if n.blob < 0 {
		e.varint(-1)
	} else {
		e.varint(int64(n.blob - e.base))
	}
	switch n.kind {
	case kindSymlink, kindHardlink:
		e.str(n.target())
	case kindDir:
		e.uvarint(uint64(len(n.ext.whiteouts)))
		for _, w := range n.ext.whiteouts {
			e.str(w)
		}
		e.uvarint(uint64(len(n.ext.kids)))
		for _, k := range n.ext.kids {
			e.node(k)
		}
	}
}

// storeCache completes the cache file being written in d with the index,
// and renames it into place, so readers see whole entries or none.
func (img *Image) storeCache(d *dataFile, idx *layerIndex, diffID, path string, base int32) error {
	indexOff := d.off
	bw := bufio.NewWriterSize(d, 64<<10)
	e := &encoder{w: bw, base: base}
	e.index(idx, diffID, img.opts.cacheKey())
	if err := bw.Flush(); err != nil {
		return err
	}
	var t [trailerLen]byte
	binary.BigEndian.PutUint64(t[0:], uint64(indexOff))
	binary.BigEndian.PutUint64(t[8:], uint64(d.off-indexOff))
	copy(t[16:], d.h.Sum(nil))
	copy(t[16+sha256.Size:], cacheEnd)
	if _, err := d.f.Write(t[:]); err != nil {
		return fmt.Errorf("write cache entry: %w", err)
	}
	if err := d.f.Sync(); err != nil {
		return fmt.Errorf("write cache entry: %w", err)
	}
	if err := os.Rename(d.f.Name(), path); err != nil {
		return fmt.Errorf("store cache entry: %w", err)
	}
	return nil
}

// loadCache reads the cache entry at path. It returns nil, and the caller
// reads the layer, if the entry is missing, corrupt, or for another key.
// On success the returned index's blobs read from the entry's file, which
// stays open.
func (img *Image) loadCache(path, diffID string, layer int32, budget int) *layerIndex {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	idx, err := img.readCache(f, diffID, layer, budget)
	if err != nil {
		f.Close()
		return nil
	}
	if len(idx.blobs) == 0 {
		f.Close()
	} else {
		idx.file = f
	}
	return idx
}

func (img *Image) readCache(f *os.File, diffID string, layer int32, budget int) (*layerIndex, error) {
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	size := st.Size()
	if !st.Mode().IsRegular() || size < int64(headerLen+trailerLen) {
		return nil, errCacheCorrupt
	}
	var t [trailerLen]byte
	if _, err := f.ReadAt(t[:], size-trailerLen); err != nil {
		return nil, err
	}
	indexOff := int64(binary.BigEndian.Uint64(t[0:]))
	indexLen := int64(binary.BigEndian.Uint64(t[8:]))
	// An index entry takes at least minNodeLen bytes and rarely over 300.
	maxIndex := int64(budget)*(minNodeLen+2*int64(img.lim.MaxPathLen)) + 1<<20
	if string(t[16+sha256.Size:]) != cacheEnd || indexOff < int64(headerLen) ||
		indexLen < 0 || indexLen > maxIndex || indexOff > size-trailerLen-indexLen ||
		indexOff+indexLen != size-trailerLen {
		return nil, errCacheCorrupt
	}
	h := sha256.New()
	var magic [headerLen]byte
	if _, err := f.ReadAt(magic[:], 0); err != nil || string(magic[:]) != cacheMagic {
		return nil, errCacheCorrupt
	}
	if _, err := io.Copy(h, io.NewSectionReader(f, 0, indexOff)); err != nil {
		return nil, err
	}
	buf := make([]byte, indexLen)
	if _, err := f.ReadAt(buf, indexOff); err != nil {
		return nil, err
	}
	h.Write(buf)
	if !bytes.Equal(h.Sum(nil), t[16:16+sha256.Size]) {
		return nil, errCacheCorrupt
	}
	img.mu.RLock()
	base := int32(len(img.blobs))
	img.mu.RUnlock()
	d := &decoder{b: buf, f: f, dataEnd: indexOff, layer: layer, base: base,
		maxPath: img.lim.MaxPathLen, maxNodes: budget + 1}
	idx := d.index(diffID, img.opts.cacheKey())
	if d.err != nil {
		return nil, d.err
	}
	if idx.entries > budget {
		return nil, fmt.Errorf("%w: over the entry budget", errCacheCorrupt)
	}
	return idx, nil
}

// decoder reads an encoded layerIndex, checking every invariant the views
// rely on, so a damaged or forged entry cannot make them misbehave.
type decoder struct {
	b        []byte
	err      error
	f        *os.File
	dataEnd  int64
	layer    int32
	base     int32
	nblobs   int
	blobs    []blob
	maxPath  int
	maxNodes int
	nodes    int
	depth    int
}

func (d *decoder) fail(what string) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: %s", errCacheCorrupt, what)
	}
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail("bad varint")
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) varint() int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.fail("bad varint")
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) byte() byte {
	if d.err != nil || len(d.b) == 0 {
		d.fail("short index")
		return 0
	}
	c := d.b[0]
	d.b = d.b[1:]
	return c
}

func (d *decoder) str(max int) string {
	l := d.uvarint()
	if d.err != nil || l > uint64(len(d.b)) || l > uint64(max) {
		d.fail("bad string")
		return ""
	}
	s := string(d.b[:l])
	d.b = d.b[l:]
	return s
}

// count reads a length that announces at least min bytes per item.
func (d *decoder) count(min int) int {
	n := d.uvarint()
	if n > uint64(len(d.b)/min) {
		d.fail("bad count")
		return 0
	}
	return int(n)
}

func (d *decoder) index(diffID, key string) *layerIndex {
	if d.str(len(diffID)) != diffID || d.str(len(key)) != key {
		d.fail("entry is for another layer or key")
		return nil
	}
	idx := &layerIndex{entries: int(min(d.uvarint(), uint64(d.maxNodes)+1))}
	d.nblobs = d.count(2)
	idx.blobs = make([]blob, 0, d.nblobs)
	for range d.nblobs {
		off, size := d.uvarint(), d.uvarint()
		if off < uint64(headerLen) || off > uint64(d.dataEnd) || size > uint64(d.dataEnd)-off {
			d.fail("blob out of range")
			return nil
		}
		idx.blobs = append(idx.blobs, blob{f: d.f, off: int64(off), size: int64(size)})
	}
	d.blobs = idx.blobs
	np := d.count(3)
	for range np {
		p := d.str(d.maxPath)
		mask := d.uvarint()
		msg := d.str(len(d.b))
		idx.problems = append(idx.problems, Problem{Layer: diffID, Path: p, Err: &codedError{msg: msg, mask: mask}})
	}
	idx.root = d.node()
	if d.err == nil && (idx.root.kind != kindDir || idx.root.name != "") {
		d.fail("bad root")
	}
	if d.err == nil && len(d.b) != 0 {
		d.fail("trailing bytes")
	}
	if d.err != nil {
		return nil
	}
	freeze(idx.root, false)
	return idx
}

func (d *decoder) node() *node {
	d.nodes++
	if d.nodes > d.maxNodes {
		d.fail("too many entries")
		return nil
	}
	k := kind(d.byte())
	flags := d.byte()
	name := d.str(d.maxPath)
	mode := fs.FileMode(d.uvarint())&permBits | typeBits(k)
	size, mtime, b := d.varint(), d.varint(), d.varint()
	if d.err != nil {
		return nil
	}
	if k == 0 || k >= kindMax || size < 0 || b < -1 || b >= int64(d.nblobs) || (b >= 0 && k != kindReg) {
		d.fail("bad entry")
		return nil
	}
	if b >= 0 {
		if d.blobs[b].size != size || int64(d.base)+b > 1<<31-1 {
			d.fail("blob size mismatch")
			return nil
		}
		b += int64(d.base)
	}
	// Only the flags the layer's entries set are read; the others are
	// derived from the tree by freeze, never trusted.
	if k == kindDir {
		flags &= flagExplicit | flagOpaque
	} else {
		flags = 0
	}
	n := &node{name: name, size: size, mtime: mtime, mode: mode, layer: d.layer, blob: int32(b), kind: k, flags: flags}
	switch k {
	case kindSymlink, kindHardlink:
		n.ext = &ext{target: d.str(d.maxPath)}
		d.nodes += len(n.ext.target) / 256 // as the builder counts it
	case kindDir:
		n.ext = &ext{}
		nw := d.count(2)
		for i := range nw {
			w := d.str(d.maxPath)
			if !validName(w) || (i > 0 && w <= n.ext.whiteouts[i-1]) {
				d.fail("bad whiteout")
				return nil
			}
			n.ext.whiteouts = append(n.ext.whiteouts, w)
		}
		nk := d.count(minNodeLen)
		if d.depth++; d.depth > d.maxPath/2+2 {
			d.fail("too deep")
			return nil
		}
		if nk > 0 {
			n.ext.kids = make([]*node, 0, nk)
		}
		for i := range nk {
			kid := d.node()
			if d.err != nil {
				return nil
			}
			if !validName(kid.name) || (i > 0 && strings.Compare(kid.name, n.ext.kids[i-1].name) <= 0) {
				d.fail("bad child name or order")
				return nil
			}
			n.ext.kids = append(n.ext.kids, kid)
		}
		d.depth--
	}
	if d.err != nil {
		return nil
	}
	return n
}
