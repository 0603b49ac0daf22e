package bundle

import (
	"archive/tar"
	"bufio"
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/klauspost/compress/gzip"
)

// DefaultMaxSize bounds the database in a bundle when ImportOptions.MaxSize
// is zero.
const DefaultMaxSize = 8 << 30

// ImportOptions configure Import.
type ImportOptions struct {
	// Trusted are the keys a bundle may be signed with. Import refuses
	// every bundle when there are none.
	Trusted []ed25519.PublicKey
	// InstalledBuiltAt returns the build time of the installed database,
	// with false when none is installed; nil means none is.
	InstalledBuiltAt func() (time.Time, bool, error)
	// AllowOlder installs a bundle built before the installed database.
	AllowOlder bool
	// MaxSize bounds the database; 0 means DefaultMaxSize.
	MaxSize int64
}

// Import reads a bundle from r (gzip-compressed or plain tar), verifies it
// and installs its database at destPath, returning the verified manifest.
//
// In order, it requires: manifest.json, then manifest.sig verifying with a
// trusted key, a valid manifest, a BuiltAt no older than the installed
// database's (unless AllowOlder), the database member with the manifest's
// size and SHA-256, and nothing after it. The database is streamed to a
// temporary file beside destPath (".<base>.import-*"), verified, synced and
// renamed over destPath, so destPath is always either the old database,
// untouched, or the new one, complete. On error nothing is left behind.
func Import(r io.Reader, destPath string, o ImportOptions) (Manifest, error) {
	if o.MaxSize <= 0 {
		o.MaxSize = DefaultMaxSize
	}
	if len(o.Trusted) == 0 {
		return Manifest{}, fmt.Errorf("import: %w: no trusted keys", ErrUntrusted)
	}
	im := &importer{o: o, src: &sourceReader{r: r}}
	m, err := im.run(destPath)
	if err != nil {
		return Manifest{}, fmt.Errorf("import: %w", err)
	}
	return m, nil
}

type importer struct {
	o    ImportOptions
	src  *sourceReader
	arch io.Reader // the decompressed archive
	tr   *tar.Reader
}

// maxTrailerBytes bounds what Import reads after the tar trailer.
const maxTrailerBytes = 1 << 20

// sourceReader remembers the error of the caller's reader, so that an I/O
// failure is told apart from a corrupt archive.
type sourceReader struct {
	r   io.Reader
	err error
}

func (s *sourceReader) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	if err != nil && err != io.EOF {
		s.err = err
	}
	return n, err
}

// readErr classifies an error met while reading the archive.
func (im *importer) readErr(what string, err error) error {
	if im.src.err != nil {
		return fmt.Errorf("read %s: %w", what, im.src.err)
	}
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return fmt.Errorf("%w: %s: %w", ErrCorrupt, what, err)
}

func (im *importer) run(destPath string) (Manifest, error) {
	br := bufio.NewReader(im.src)
	var arch io.Reader = br
	if magic, _ := br.Peek(2); bytes.Equal(magic, []byte{0x1f, 0x8b}) {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return Manifest{}, im.readErr("gzip header", err)
		}
		defer zr.Close()
		arch = zr
	}
	// Bound what is decompressed: three members, their headers, padding
	// and what follows the tar trailer.
	im.arch = io.LimitReader(arch, im.o.MaxSize+maxManifestBytes+2*maxTrailerBytes)
	im.tr = tar.NewReader(im.arch)

	// manifest.json
	hdr, err := im.next(ManifestName)
	if err == errEnd {
		return Manifest{}, fmt.Errorf("%w: empty archive", ErrCorrupt)
	}
	if err != nil {
		return Manifest{}, err
	}
	if hdr.Size > maxManifestBytes {
		return Manifest{}, fmt.Errorf("%w: %s of %d bytes, limit %d", ErrTooLarge, ManifestName, hdr.Size, maxManifestBytes)
	}
	raw, err := im.readAll(ManifestName, hdr.Size)
	if err != nil {
		return Manifest{}, err
	}

	// manifest.sig
	hdr, err = im.next(SignatureName)
	if err == errEnd || errors.Is(err, ErrMember) {
		return Manifest{}, fmt.Errorf("%w: no %s after %s (%v)", ErrSignature, SignatureName, ManifestName, err)
	}
	if err != nil {
		return Manifest{}, err
	}
	if hdr.Size != ed25519.SignatureSize {
		return Manifest{}, fmt.Errorf("%w: %s of %d bytes, want %d", ErrSignature, SignatureName, hdr.Size, ed25519.SignatureSize)
	}
	sig, err := im.readAll(SignatureName, hdr.Size)
	if err != nil {
		return Manifest{}, err
	}
	m, err := im.verify(raw, sig)
	if err != nil {
		return Manifest{}, err
	}
	if err := m.validate(im.o.MaxSize); err != nil {
		return Manifest{}, err
	}
	if err := im.checkAge(m); err != nil {
		return Manifest{}, err
	}

	// The database.
	hdr, err = im.next(m.File)
	if err == errEnd {
		return Manifest{}, fmt.Errorf("%w: no database member %q", ErrCorrupt, m.File)
	}
	if err != nil {
		return Manifest{}, err
	}
	if hdr.Size != m.Size {
		return Manifest{}, fmt.Errorf("%w: %s has %d bytes, manifest says %d", ErrDigest, m.File, hdr.Size, m.Size)
	}
	if err := im.install(m, destPath); err != nil {
		return Manifest{}, err
	}
	return m, nil
}

// errEnd is next's error at the end of the archive.
var errEnd = errors.New("end of archive")

// next reads the next member header and checks that it is a regular file
// named want. At the end of the archive it returns errEnd.
func (im *importer) next(want string) (*tar.Header, error) {
	hdr, err := im.tr.Next()
	if err == io.EOF {
		return nil, errEnd
	}
	if err != nil {
		return nil, im.readErr("member header", err)
	}
	if err := checkMember(hdr); err != nil {
		return nil, err
	}
	if hdr.Name != want {
		return nil, fmt.Errorf("%w: %q where %q belongs", ErrMember, hdr.Name, want)
	}
	return hdr, nil
}

// checkMember rejects unsafe names and anything but regular files.
func checkMember(hdr *tar.Header) error {
	if err := checkPath(hdr.Name); err != nil {
		return err
	}
	if hdr.Typeflag != tar.TypeReg {
		return fmt.Errorf("%w: %q is not a regular file (type %q)", ErrMember, hdr.Name, hdr.Typeflag)
	}
	if hdr.Size < 0 {
		return fmt.Errorf("%w: %q has a negative size", ErrCorrupt, hdr.Name)
	}
	return nil
}

func (im *importer) readAll(name string, size int64) ([]byte, error) {
	b := make([]byte, size)
	if _, err := io.ReadFull(im.tr, b); err != nil {
		return nil, im.readErr(name, err)
	}
	return b, nil
}

// verify checks sig over the manifest's exact bytes with the trusted keys
// and only then decodes the manifest.
func (im *importer) verify(raw, sig []byte) (Manifest, error) {
	var key ed25519.PublicKey
	for _, k := range im.o.Trusted {
		if len(k) == ed25519.PublicKeySize && ed25519.Verify(k, raw, sig) {
			key = k
			break
		}
	}
	var m Manifest
	derr := json.Unmarshal(raw, &m)
	if key == nil {
		// Tell an unknown signer from a bad signature by the key the
		// (unverified) manifest names.
		if derr == nil && m.KeyID != "" && !im.trustedID(m.KeyID) {
			return Manifest{}, fmt.Errorf("%w: key %q", ErrUntrusted, m.KeyID)
		}
		return Manifest{}, fmt.Errorf("%w: does not verify with any trusted key", ErrSignature)
	}
	if derr != nil {
		return Manifest{}, fmt.Errorf("%w: %s: %w", ErrCorrupt, ManifestName, derr)
	}
	if m.KeyID != KeyID(key) {
		return Manifest{}, fmt.Errorf("%w: signed by key %s, manifest names %q", ErrSignature, KeyID(key), m.KeyID)
	}
	if len(m.Meta) > 0 {
		// Undo the manifest's indentation (the value is unchanged).
		var buf bytes.Buffer
		if err := json.Compact(&buf, m.Meta); err == nil {
			m.Meta = buf.Bytes()
		}
	}
	return m, nil
}

func (im *importer) trustedID(id string) bool {
	for _, k := range im.o.Trusted {
		if len(k) == ed25519.PublicKeySize && KeyID(k) == id {
			return true
		}
	}
	return false
}

func (im *importer) checkAge(m Manifest) error {
	if im.o.InstalledBuiltAt == nil {
		return nil
	}
	installed, ok, err := im.o.InstalledBuiltAt()
	if err != nil {
		return fmt.Errorf("installed database: %w", err)
	}
	if ok && m.BuiltAt.Before(installed) && !im.o.AllowOlder {
		return fmt.Errorf("%w: bundle built %s, installed database built %s",
			ErrOlder, m.BuiltAt.UTC().Format(time.RFC3339), installed.UTC().Format(time.RFC3339))
	}
	return nil
}

// install streams the database member to a temporary file beside
// destPath, verifies it, checks that the archive ends, and renames it over
// destPath.
func (im *importer) install(m Manifest, destPath string) (err error) {
	dir := filepath.Dir(destPath)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(destPath)+".import-*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	h := sha256.New()
	fw := &fileWriter{w: tmp}
	n, err := io.Copy(io.MultiWriter(fw, h), im.tr)
	if fw.err != nil {
		return fmt.Errorf("write %s: %w", tmp.Name(), fw.err)
	}
	if err != nil {
		return im.readErr(m.File, err)
	}
	if n != m.Size {
		return fmt.Errorf("%w: %s: %d of %d bytes", ErrCorrupt, m.File, n, m.Size)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != m.SHA256 {
		return fmt.Errorf("%w: %s has sha256 %s, manifest says %s", ErrDigest, m.File, got, m.SHA256)
	}
	switch hdr, err := im.tr.Next(); {
	case err == io.EOF:
		// Read what follows the tar trailer (record padding, the gzip
		// trailer) so that a bad gzip checksum is not ignored.
		if _, err := io.Copy(io.Discard, io.LimitReader(im.arch, maxTrailerBytes)); err != nil {
			return im.readErr("end of archive", err)
		}
	case err != nil:
		return im.readErr("end of archive", err)
	default:
		if perr := checkPath(hdr.Name); perr != nil {
			return perr
		}
		return fmt.Errorf("%w: %q after the database", ErrMember, hdr.Name)
	}

	mode := fs.FileMode(0o644)
	if fi, err := os.Stat(destPath); err == nil && fi.Mode().IsRegular() {
		mode = fi.Mode().Perm()
	}
	if err := tmp.Chmod(mode); err != nil {
		return err
	}
	if err := tmp.Sync(); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), destPath); err != nil {
		return err
	}
	if d, err := os.Open(dir); err == nil {
		d.Sync() // make the rename durable where the platform allows it
		d.Close()
	}
	return nil
}

// fileWriter remembers a write error, to tell it from the archive's.
type fileWriter struct {
	w   io.Writer
	err error
}

func (f *fileWriter) Write(p []byte) (int, error) {
	n, err := f.w.Write(p)
	if err != nil {
		f.err = err
	}
	return n, err
}
