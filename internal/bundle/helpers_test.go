package bundle

import (
	"archive/tar"
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"
)

var builtAt = time.Date(2026, 8, 14, 6, 0, 0, 0, time.UTC)

// testKey returns a deterministic key pair.
func testKey(t testing.TB, seed byte) (ed25519.PublicKey, ed25519.PrivateKey) {
	t.Helper()
	pub, priv, err := GenerateKey(bytes.NewReader(bytes.Repeat([]byte{seed}, ed25519.SeedSize)))
	if err != nil {
		t.Fatal(err)
	}
	return pub, priv
}

// dbBytes returns n bytes standing in for a database: half text, half
// noise, so that compression neither vanishes nor explodes it.
func dbBytes(n int, seed uint64) []byte {
	r := rand.New(rand.NewChaCha8([32]byte{byte(seed)}))
	b := make([]byte, n)
	for i := range b {
		if i%2 == 0 {
			b[i] = "SQLite format 3\x00"[i/2%16]
		} else {
			b[i] = byte(r.Uint32())
		}
	}
	return b
}

func writeFile(t testing.TB, path string, b []byte) string {
	t.Helper()
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// export builds a gzip bundle of db with priv.
func export(t testing.TB, db []byte, priv ed25519.PrivateKey, m Manifest) []byte {
	t.Helper()
	p := writeFile(t, filepath.Join(t.TempDir(), "vigil.db"), db)
	var buf bytes.Buffer
	if err := Export(&buf, p, m, priv); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// member is one tar entry of a hand-built archive.
type member struct {
	name string
	data []byte
	typ  byte // 0 means regular
	size int64
}

// unpack returns the members of a bundle (gzip or plain).
func unpack(t testing.TB, b []byte) []member {
	t.Helper()
	var r io.Reader = bytes.NewReader(b)
	if bytes.HasPrefix(b, []byte{0x1f, 0x8b}) {
		zr, err := gzip.NewReader(r)
		if err != nil {
			t.Fatal(err)
		}
		r = zr
	}
	tr := tar.NewReader(r)
	var ms []member
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return ms
		}
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		ms = append(ms, member{name: hdr.Name, data: data, typ: hdr.Typeflag})
	}
}

// pack writes members as a plain tar, or gzip-compressed.
func pack(t testing.TB, gz bool, ms ...member) []byte {
	t.Helper()
	var buf bytes.Buffer
	var w io.Writer = &buf
	var zw *gzip.Writer
	if gz {
		zw = gzip.NewWriter(&buf)
		w = zw
	}
	tw := tar.NewWriter(w)
	for _, m := range ms {
		typ := m.typ
		if typ == 0 {
			typ = tar.TypeReg
		}
		hdr := &tar.Header{Name: m.name, Typeflag: typ, Mode: 0o644, ModTime: builtAt}
		if typ == tar.TypeReg {
			hdr.Size = int64(len(m.data))
		}
		if typ == tar.TypeSymlink {
			hdr.Linkname = "/etc/passwd"
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if typ == tar.TypeReg {
			if _, err := tw.Write(m.data); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if zw != nil {
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
	}
	return buf.Bytes()
}

// signed returns manifest.json and manifest.sig members for m signed with
// priv, as Export writes them, without Export's checks.
func signed(t testing.TB, m Manifest, priv ed25519.PrivateKey) (member, member) {
	t.Helper()
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	b = append(b, '\n')
	return member{name: ManifestName, data: b}, member{name: SignatureName, data: ed25519.Sign(priv, b)}
}

// onlyFiles fails unless dir holds exactly the named files.
func onlyFiles(t testing.TB, dir string, names ...string) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{}
	for _, n := range names {
		want[n] = true
	}
	for _, e := range ents {
		if !want[e.Name()] {
			t.Errorf("%s: unexpected file %s", dir, e.Name())
		}
		delete(want, e.Name())
	}
	for n := range want {
		t.Errorf("%s: missing %s", dir, n)
	}
}

func mustContain(t testing.TB, p string, want []byte) {
	t.Helper()
	got, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s: %d bytes, want %d (byte-identical)", p, len(got), len(want))
	}
}

// failingReader returns err after n bytes of r, calling at first.
type failingReader struct {
	r   io.Reader
	n   int64
	err error
	at  func()
}

func (f *failingReader) Read(p []byte) (int, error) {
	if f.n <= 0 {
		if f.at != nil {
			f.at()
			f.at = nil
		}
		return 0, f.err
	}
	if int64(len(p)) > f.n {
		p = p[:f.n]
	}
	n, err := f.r.Read(p)
	f.n -= int64(n)
	return n, err
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

var errBoom = errors.New("disk unplugged")
