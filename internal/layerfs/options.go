package layerfs

import (
	"errors"
	"fmt"
	"io/fs"
)

// Options configure an Image. The zero value indexes every entry and keeps
// no file content.
type Options struct {
	// Retain says which regular files' contents to keep. name is unrooted
	// and slash-separated as written in the layer ("var/lib/dpkg/status");
	// info describes the entry. nil keeps none. It is not called for layers
	// served from the cache.
	Retain func(name string, info fs.FileInfo) bool
	// RetainKey identifies the Retain predicate in the cache: a layer cached
	// under another key (or other Limits) is read again. Required when both
	// Retain and CacheDir are set.
	RetainKey string
	// CacheDir, if set, holds a persistent per-layer cache (see
	// docs/formats/layer-cache.md). "" means no cache: retained contents go
	// to a temporary directory removed by Close.
	CacheDir string
	// TempDir is the parent of the temporary directory; "" is os.TempDir().
	TempDir string
	// Limits bound the work and memory one layer or image can cost.
	Limits Limits
}

// Limits bound what a hostile image can cost. A zero field takes the
// default given with it; a negative field is an error.
type Limits struct {
	// MaxEntries bounds the tar entries of one layer plus the directories
	// they imply; a link target counts one more entry per 256 bytes.
	// Default 1<<20 (1,048,576), about 90 MiB of index for typical names,
	// at most about 350 MiB (names are at most 255 bytes per component).
	MaxEntries int
	// MaxImageEntries bounds MaxEntries summed over the image.
	// Default 1<<22 (4,194,304), about 360 MiB of index.
	MaxImageEntries int
	// MaxLayerBytes bounds the uncompressed stream of one layer, which stops
	// decompression bombs. Default 16 GiB.
	MaxLayerBytes int64
	// MaxFileBytes bounds the content kept for one file. Default 512 MiB.
	MaxFileBytes int64
	// MaxRetainedBytes bounds the content kept for one layer (sparse files
	// count at their full size). Default 4 GiB.
	MaxRetainedBytes int64
	// MaxSymlinkDepth bounds the symbolic links followed to resolve one
	// path, as Linux's MAXSYMLINKS does. Default 40.
	MaxSymlinkDepth int
	// MaxPathLen bounds entry names and link targets, in bytes.
	// Default 4096 (PATH_MAX).
	MaxPathLen int
}

// Default limits.
const (
	DefaultMaxEntries       = 1 << 20
	DefaultMaxImageEntries  = 1 << 22
	DefaultMaxLayerBytes    = 16 << 30
	DefaultMaxFileBytes     = 512 << 20
	DefaultMaxRetainedBytes = 4 << 30
	DefaultMaxSymlinkDepth  = 40
	DefaultMaxPathLen       = 4096
)

// withDefaults returns l with zero fields set to their defaults.
func (l Limits) withDefaults() (Limits, error) {
	if l.MaxEntries < 0 || l.MaxImageEntries < 0 || l.MaxLayerBytes < 0 ||
		l.MaxFileBytes < 0 || l.MaxRetainedBytes < 0 || l.MaxSymlinkDepth < 0 ||
		l.MaxPathLen < 0 {
		return l, errors.New("negative limit")
	}
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	def64 := func(v *int64, d int64) {
		if *v == 0 {
			*v = d
		}
	}
	def(&l.MaxEntries, DefaultMaxEntries)
	def(&l.MaxImageEntries, DefaultMaxImageEntries)
	def64(&l.MaxLayerBytes, DefaultMaxLayerBytes)
	def64(&l.MaxFileBytes, DefaultMaxFileBytes)
	def64(&l.MaxRetainedBytes, DefaultMaxRetainedBytes)
	def(&l.MaxSymlinkDepth, DefaultMaxSymlinkDepth)
	def(&l.MaxPathLen, DefaultMaxPathLen)
	return l, nil
}

// cacheKey is what, besides the DiffID, decides a layer's index: a cached
// index built under another key is not used.
func (o *Options) cacheKey() string {
	l := o.Limits
	return fmt.Sprintf("layerfs/%d\x00%s\x00%d\x00%d\x00%d\x00%d\x00%d",
		cacheVersion, o.RetainKey, l.MaxEntries, l.MaxLayerBytes,
		l.MaxFileBytes, l.MaxRetainedBytes, l.MaxPathLen)
}
