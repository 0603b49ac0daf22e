package respond

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"
)

// Quarantined is one quarantined file: the sidecar stored next to it as
// <id>.json (format in docs/response.md).
type Quarantined struct {
	// Version of the sidecar format; sidecarVersion.
	Version int    `json:"version"`
	ID      string `json:"id"`
	// OriginalPath is where the file was, absolute and clean.
	OriginalPath string `json:"originalPath"`
	// Mode is the file's permission bits with setuid, setgid and sticky
	// (st_mode & 07777), as they were before quarantine.
	Mode uint32 `json:"mode"`
	UID  uint32 `json:"uid"`
	GID  uint32 `json:"gid"`
	Size int64  `json:"size"`
	// SHA256 is the hex digest of the content.
	SHA256  string    `json:"sha256"`
	ModTime time.Time `json:"modTime"`
	// Time is when the file was quarantined.
	Time   time.Time `json:"time"`
	Reason string    `json:"reason,omitempty"`
}

const (
	sidecarVersion = 1
	// maxSidecar bounds a sidecar read; real ones are well under 8 KiB.
	maxSidecar = 64 << 10
	// maxReason bounds the reason stored in a sidecar.
	maxReason = 4096
	// idBytes is the size of a random quarantine id (hex-encoded).
	idBytes = 16
)

// validID says id is the hex of idBytes random bytes, so it can name a
// file in the quarantine directory and nothing else.
func validID(id string) bool {
	if len(id) != 2*idBytes {
		return false
	}
	for _, c := range []byte(id) {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// decodeSidecar parses and validates a sidecar. The sidecar is read back
// from disk and drives a rename, chown and chmod as root, so it is treated
// as untrusted: the id must be well-formed and the original path allowed.
func decodeSidecar(b []byte) (Quarantined, error) {
	if len(b) > maxSidecar {
		return Quarantined{}, fmt.Errorf("%w: sidecar larger than %d bytes", ErrCorrupt, maxSidecar)
	}
	var q Quarantined
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&q); err != nil {
		return Quarantined{}, fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return Quarantined{}, fmt.Errorf("%w: data after the sidecar object", ErrCorrupt)
	}
	if err := q.validate(); err != nil {
		return Quarantined{}, err
	}
	return q, nil
}

func (q *Quarantined) validate() error {
	switch {
	case q.Version != sidecarVersion:
		return fmt.Errorf("%w: sidecar version %d", ErrCorrupt, q.Version)
	case !validID(q.ID):
		return fmt.Errorf("%w: id %q", ErrCorrupt, q.ID)
	case q.Mode&^0o7777 != 0:
		return fmt.Errorf("%w: mode %o", ErrCorrupt, q.Mode)
	case q.Size < 0:
		return fmt.Errorf("%w: size %d", ErrCorrupt, q.Size)
	case len(q.Reason) > maxReason:
		return fmt.Errorf("%w: reason of %d bytes", ErrCorrupt, len(q.Reason))
	}
	if d, err := hex.DecodeString(q.SHA256); err != nil || len(d) != 32 || hex.EncodeToString(d) != q.SHA256 {
		return fmt.Errorf("%w: sha256 %q", ErrCorrupt, q.SHA256)
	}
	if err := allowedPath(q.OriginalPath); err != nil {
		return fmt.Errorf("%w: original path: %w", ErrCorrupt, err)
	}
	return nil
}

// readSidecar reads the sidecar of id from dir.
func readSidecar(dir, id string) (Quarantined, error) {
	name := filepath.Join(dir, id+".json")
	f, err := os.OpenFile(name, os.O_RDONLY|oNoFollow, 0)
	if os.IsNotExist(err) {
		return Quarantined{}, fmt.Errorf("%s: %w", id, ErrNotFound)
	}
	if err != nil {
		return Quarantined{}, fmt.Errorf("open sidecar: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxSidecar+1))
	if err != nil {
		return Quarantined{}, fmt.Errorf("read %s: %w", name, err)
	}
	q, err := decodeSidecar(b)
	if err != nil {
		return Quarantined{}, fmt.Errorf("%s: %w", name, err)
	}
	if q.ID != id {
		return Quarantined{}, fmt.Errorf("%s: %w: names id %s", name, ErrCorrupt, q.ID)
	}
	return q, nil
}

// writeSidecar writes q atomically (temporary file, fsync, rename).
func writeSidecar(dir string, q Quarantined) error {
	b, err := json.MarshalIndent(q, "", "  ")
	if err != nil {
		return fmt.Errorf("encode sidecar: %w", err)
	}
	b = append(b, '\n')
	final := filepath.Join(dir, q.ID+".json")
	tmp := final + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL|oNoFollow, 0o600)
	if err != nil {
		return fmt.Errorf("write sidecar: %w", err)
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, final)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write sidecar %s: %w", final, err)
	}
	return nil
}
