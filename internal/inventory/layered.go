package inventory

import "io/fs"

// Layered is a filesystem assembled from image layers, as built by package
// layerfs. Extraction runs on the final view; the per-layer views let the
// engine say which layer introduced each package.
type Layered interface {
	// LayerCount is the number of layers, bottom first.
	LayerCount() int
	// LayerDiffID is the DiffID of layer i.
	LayerDiffID(i int) string
	// View is the filesystem as it stood after applying layers 0..i, with
	// whiteouts applied. View(LayerCount()-1) is the final image. The
	// returned fs.FS also implements fs.ReadDirFS and fs.StatFS; names are
	// unrooted and slash-separated ("var/lib/dpkg/status").
	View(i int) fs.FS
	// Writers lists, ascending, the layers up to the final one that wrote
	// the regular file at name in the chain that survives in the final view
	// (a deletion resets the chain). Empty if name is not a regular file in
	// the final view.
	Writers(name string) []int
}
