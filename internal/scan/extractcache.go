package scan

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/klauspost/compress/gzip"

	"github.com/vigil-sec/vigil/internal/inventory"
)

// maxBucketBytes bounds one decompressed bucket of the extraction cache.
const maxBucketBytes = 1 << 30

// fileExtractCache keeps inventory.ExtractCache buckets as gzip-compressed
// JSON files, one per layer DiffID, under dir (which names the engine's
// key, so results of another extractor set are never read). It sits beside
// layerfs's per-layer cache; see docs/formats/layer-cache.md.
type fileExtractCache struct{ dir string }

var _ inventory.ExtractCache = fileExtractCache{}

var bucketRE = regexp.MustCompile(`^sha(256:[0-9a-f]{64}|512:[0-9a-f]{128})$`)

func (c fileExtractCache) path(bucket string) (string, error) {
	if !bucketRE.MatchString(bucket) {
		return "", fmt.Errorf("extract cache: bad bucket %q", bucket)
	}
	return filepath.Join(c.dir, strings.Replace(bucket, ":", "-", 1)+".json.gz"), nil
}

func (c fileExtractCache) Load(bucket string) (map[string]inventory.CachedFile, error) {
	p, err := c.path(bucket)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(p)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return nil, fmt.Errorf("extract cache %s: %w", p, err)
	}
	var m map[string]inventory.CachedFile
	if err := json.NewDecoder(io.LimitReader(zr, maxBucketBytes)).Decode(&m); err != nil {
		return nil, fmt.Errorf("extract cache %s: %w", p, err)
	}
	return m, nil
}

func (c fileExtractCache) Store(bucket string, files map[string]inventory.CachedFile) error {
	p, err := c.path(bucket)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(c.dir, 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(c.dir, ".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	zw := gzip.NewWriter(tmp)
	if err := json.NewEncoder(zw).Encode(files); err != nil {
		tmp.Close()
		return err
	}
	if err := zw.Close(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	// Rename is atomic: a concurrent reader sees the old bucket or the new.
	return os.Rename(tmp.Name(), p)
}
