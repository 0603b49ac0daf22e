package feed

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"
)

// maxStateBytes bounds the state files Fetch reads back from the cache.
const maxStateBytes = 64 << 10

// partState is kept in "<name>.part.json" beside "<name>.part" while a
// download is incomplete. Resuming needs the URL to be the same and a
// validator for If-Range (a strong ETag, else Last-Modified).
type partState struct {
	URL          string `json:"url"`
	ETag         string `json:"etag,omitempty"`
	LastModified string `json:"lastModified,omitempty"`
	Bytes        int64  `json:"bytes"`           // bytes in the .part file when last saved
	Total        int64  `json:"total,omitempty"` // size announced by the server; 0 when unknown
}

// validator returns the value for If-Range, or "" when the download cannot
// be resumed safely.
func (s partState) validator() string {
	if s.ETag != "" && !isWeak(s.ETag) {
		return s.ETag
	}
	return s.LastModified
}

func isWeak(etag string) bool { return len(etag) >= 2 && etag[:2] == "W/" }

// metaState is kept in "<name>.meta.json" beside a complete file: what was
// downloaded from where, for conditional requests and for NotModified
// results.
type metaState struct {
	URL          string    `json:"url"`
	ETag         string    `json:"etag,omitempty"`
	LastModified string    `json:"lastModified,omitempty"`
	SHA256       string    `json:"sha256"`
	Bytes        int64     `json:"bytes"`
	Fetched      time.Time `json:"fetched"`
}

// readState decodes a small JSON state file into v.
func readState(path string, v any) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxStateBytes+1))
	if err != nil {
		return err
	}
	if len(b) > maxStateBytes {
		return fmt.Errorf("%s: state file over %d bytes", path, maxStateBytes)
	}
	return json.Unmarshal(b, v)
}

// writeState replaces path with v encoded as JSON, by rename.
func writeState(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(path, append(b, '\n'))
}

// writeFileAtomic writes data to a hidden temporary file in path's directory
// (source names never start with '.') and renames it over path.
func writeFileAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return err
	}
	_, err = tmp.Write(data)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
	}
	return err
}

// syncDir makes a rename in dir durable where the platform allows it.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync() // best effort: not every platform syncs directories
		d.Close()
	}
}
