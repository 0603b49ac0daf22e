package bundle

import (
	"archive/tar"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/klauspost/compress/gzip"
)

// Export writes the database at dbPath as a bundle to w: a gzip-compressed
// tar holding manifest.json, manifest.sig (the ed25519 signature of
// manifest.json's exact bytes) and the database, in that order.
//
// m supplies BuiltAt (required) and Meta; Export fills Size, SHA256 and
// KeyID, and Format, File (default: dbPath's base name) and Created
// (default: now) when empty. The database must not change while it is
// exported; Export fails if it does.
func Export(w io.Writer, dbPath string, m Manifest, priv ed25519.PrivateKey) error {
	if len(priv) != ed25519.PrivateKeySize {
		return fmt.Errorf("export: %w: private key of %d bytes", ErrKey, len(priv))
	}
	if m.BuiltAt.IsZero() {
		return errors.New("export: manifest BuiltAt is required")
	}
	if m.Format == "" {
		m.Format = Format
	}
	if m.Format != Format {
		return fmt.Errorf("export: %w: %q", ErrFormat, m.Format)
	}
	if m.File == "" {
		m.File = filepath.Base(dbPath)
	}
	if err := checkFile(m.File); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	if m.Created.IsZero() {
		m.Created = time.Now().UTC()
	}
	if len(m.Meta) > 0 && !json.Valid(m.Meta) {
		return errors.New("export: manifest Meta is not valid JSON")
	}

	f, err := os.Open(dbPath)
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("export: %s is not a regular file", dbPath)
	}
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return fmt.Errorf("export: hash %s: %w", dbPath, err)
	}
	m.Size, m.SHA256 = n, hex.EncodeToString(h.Sum(nil))
	m.KeyID = KeyID(priv.Public().(ed25519.PublicKey))

	mb, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return fmt.Errorf("export: manifest: %w", err)
	}
	mb = append(mb, '\n')
	if len(mb) > maxManifestBytes {
		return fmt.Errorf("export: %w: manifest of %d bytes, limit %d", ErrTooLarge, len(mb), maxManifestBytes)
	}
	sig := ed25519.Sign(priv, mb)

	zw := gzip.NewWriter(w)
	tw := tar.NewWriter(zw)
	mtime := m.Created.Truncate(time.Second)
	hdr := func(name string, size int64) *tar.Header {
		return &tar.Header{Typeflag: tar.TypeReg, Name: name, Size: size, Mode: 0o644, ModTime: mtime}
	}
	for _, mem := range []struct {
		name string
		data []byte
	}{{ManifestName, mb}, {SignatureName, sig}} {
		if err := tw.WriteHeader(hdr(mem.name, int64(len(mem.data)))); err != nil {
			return fmt.Errorf("export: %w", err)
		}
		if _, err := tw.Write(mem.data); err != nil {
			return fmt.Errorf("export: %w", err)
		}
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	if err := tw.WriteHeader(hdr(m.File, m.Size)); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	h.Reset()
	if _, err := io.CopyN(tw, io.TeeReader(f, h), m.Size); err != nil {
		return fmt.Errorf("export: copy %s: %w", dbPath, err)
	}
	if hex.EncodeToString(h.Sum(nil)) != m.SHA256 {
		return fmt.Errorf("export: %s changed while being exported", dbPath)
	}
	if err := tw.Close(); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	return nil
}
