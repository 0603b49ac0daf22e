package inventory

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"
)

// ExtractCache remembers what extraction found in one version of one file of
// an image, so that a re-scan of unchanged layers runs no extractor. Entries
// are grouped in buckets, one per layer DiffID (the layer that last wrote
// the file), so a cache can keep a bucket in one place and share it between
// images built on the same layers.
//
// Load returns a bucket's entries (nil or an error means none); Store
// replaces them. Implementations must tolerate concurrent processes.
type ExtractCache interface {
	Load(bucket string) (map[string]CachedFile, error)
	Store(bucket string, files map[string]CachedFile) error
}

// CachedFile is what extraction found in one file, layers attributed.
type CachedFile struct {
	Packages []Package `json:"packages,omitempty"`
	Unknowns []Unknown `json:"unknowns,omitempty"`
}

// cacheKey names one version of one file in one image: the engine, the path
// and the whole chain of layers that wrote it (their positions too, since
// attribution reports them), which fixes both the file's content and the
// attribution computed from its earlier versions.
func (e *Engine) cacheKey(l Layered, name string, writers []int) string {
	h := sha256.New()
	h.Write([]byte(e.key))
	h.Write([]byte{0})
	h.Write([]byte(name))
	for _, w := range writers {
		h.Write([]byte{0})
		h.Write([]byte(strconv.Itoa(w)))
		h.Write([]byte{0})
		h.Write([]byte(l.LayerDiffID(w)))
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}
