package bundle

import (
	"archive/tar"
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestRoundTrip(t *testing.T) {
	pub, priv := testKey(t, 1)
	db := dbBytes(300_000, 1)
	meta := json.RawMessage(`{"schema":3,"sources":["osv-go.zip","kev.json"]}`)
	created := time.Date(2026, 8, 15, 9, 30, 0, 0, time.UTC)
	gz := export(t, db, priv, Manifest{BuiltAt: builtAt, Created: created, Meta: meta})
	if !bytes.HasPrefix(gz, []byte{0x1f, 0x8b}) {
		t.Fatal("Export did not write gzip")
	}
	ms := unpack(t, gz)
	plain := pack(t, false, ms...)

	want := Manifest{
		Format: Format, BuiltAt: builtAt, Created: created, File: "vigil.db",
		Size: int64(len(db)), SHA256: sha(db), KeyID: KeyID(pub), Meta: meta,
	}
	for name, b := range map[string][]byte{"gzip": gz, "plain tar": plain} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			dest := filepath.Join(dir, "vigil.db")
			got, err := Import(bytes.NewReader(b), dest, ImportOptions{Trusted: []ed25519.PublicKey{pub}})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("manifest (-want +got):\n%s", diff)
			}
			mustContain(t, dest, db)
			onlyFiles(t, dir, "vigil.db")
			if fi, _ := os.Stat(dest); fi.Mode().Perm() != 0o644 {
				t.Errorf("new database mode %v, want 0644", fi.Mode().Perm())
			}
		})
	}

	t.Run("layout", func(t *testing.T) {
		var names []string
		for _, m := range ms {
			names = append(names, m.name)
		}
		if strings.Join(names, ",") != "manifest.json,manifest.sig,vigil.db" {
			t.Fatalf("members %v", names)
		}
		if !ed25519.Verify(pub, ms[0].data, ms[1].data) {
			t.Error("manifest.sig is not the ed25519 signature of manifest.json's bytes")
		}
		if !bytes.Equal(ms[2].data, db) {
			t.Error("database member differs from the database")
		}
	})
}

// TestReplace installs over an existing database: newer replaces it,
// keeping its mode; same age is accepted; older is refused unless allowed.
func TestReplace(t *testing.T) {
	pub, priv := testKey(t, 1)
	old := dbBytes(10_000, 2)
	db := dbBytes(50_000, 3)
	b := export(t, db, priv, Manifest{BuiltAt: builtAt})
	installed := func(at time.Time) func() (time.Time, bool, error) {
		return func() (time.Time, bool, error) { return at, true, nil }
	}
	tests := []struct {
		name       string
		installed  func() (time.Time, bool, error)
		allowOlder bool
		wantErr    error
	}{
		{"newer", installed(builtAt.Add(-time.Hour)), false, nil},
		{"same age", installed(builtAt), false, nil},
		{"none installed", func() (time.Time, bool, error) { return time.Time{}, false, nil }, false, nil},
		{"older", installed(builtAt.Add(time.Hour)), false, ErrOlder},
		{"older allowed", installed(builtAt.Add(time.Hour)), true, nil},
		{"installed unreadable", func() (time.Time, bool, error) { return time.Time{}, false, errBoom }, false, errBoom},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			dest := filepath.Join(dir, "vigil.db")
			writeFile(t, dest, old)
			if err := os.Chmod(dest, 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := Import(bytes.NewReader(b), dest, ImportOptions{
				Trusted: []ed25519.PublicKey{pub}, InstalledBuiltAt: tt.installed, AllowOlder: tt.allowOlder,
			})
			onlyFiles(t, dir, "vigil.db")
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				mustContain(t, dest, old)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			mustContain(t, dest, db)
			if fi, _ := os.Stat(dest); fi.Mode().Perm() != 0o600 {
				t.Errorf("mode %v, want the replaced file's 0600", fi.Mode().Perm())
			}
		})
	}
}

// TestImportRejects builds bad bundles; every one must leave the installed
// database byte-identical and no stray file beside it.
func TestImportRejects(t *testing.T) {
	pubA, privA := testKey(t, 1)
	pubB, privB := testKey(t, 2)
	db := dbBytes(200_000, 4)
	good := export(t, db, privA, Manifest{BuiltAt: builtAt})
	ms := unpack(t, good) // manifest.json, manifest.sig, vigil.db
	var m Manifest
	if err := json.Unmarshal(ms[0].data, &m); err != nil {
		t.Fatal(err)
	}
	mani, sig, dbm := ms[0], ms[1], ms[2]
	plain := pack(t, false, ms...)
	flipped := bytes.Clone(db)
	flipped[len(flipped)/2] ^= 1

	resigned := func(edit func(*Manifest), priv ed25519.PrivateKey) []byte {
		mm := m
		edit(&mm)
		a, b := signed(t, mm, priv)
		return pack(t, true, a, b, member{name: mm.File, data: db})
	}
	trustA := ImportOptions{Trusted: []ed25519.PublicKey{pubA}}

	tests := []struct {
		name   string
		bundle []byte
		opts   *ImportOptions // nil: trust A
		want   error
	}{
		// Signatures and trust.
		{"unsigned", pack(t, true, mani, dbm), nil, ErrSignature},
		{"signature after the database", pack(t, true, mani, dbm, sig), nil, ErrSignature},
		{"short signature", pack(t, true, mani, member{name: SignatureName, data: sig.data[:10]}, dbm), nil, ErrSignature},
		{"signature of other bytes", pack(t, true, mani, member{name: SignatureName, data: ed25519.Sign(privA, []byte("x"))}, dbm), nil, ErrSignature},
		{"manifest edited after signing", pack(t, true, member{name: ManifestName, data: bytes.Replace(mani.data, []byte(m.SHA256), []byte(sha(flipped)), 1)}, sig, member{name: m.File, data: flipped}), nil, ErrSignature},
		{"unknown key", export(t, db, privB, Manifest{BuiltAt: builtAt}), nil, ErrUntrusted},
		{"no trusted keys", good, &ImportOptions{}, ErrUntrusted},
		{"untrusted key claiming a trusted id", resigned(func(mm *Manifest) {}, privB), nil, ErrSignature},
		{"trusted key, other key id", resigned(func(mm *Manifest) { mm.KeyID = KeyID(pubB) }, privA), nil, ErrSignature},
		{"malformed trusted key", good, &ImportOptions{Trusted: []ed25519.PublicKey{pubA[:5]}}, ErrUntrusted},

		// The database against the manifest.
		{"tampered database", pack(t, true, mani, sig, member{name: m.File, data: flipped}), nil, ErrDigest},
		{"database longer", pack(t, true, mani, sig, member{name: m.File, data: append(bytes.Clone(db), 0)}), nil, ErrDigest},
		{"database shorter", pack(t, true, mani, sig, member{name: m.File, data: db[:len(db)-1]}), nil, ErrDigest},
		{"database missing", pack(t, true, mani, sig), nil, ErrCorrupt},

		// Broken archives.
		{"empty", nil, nil, ErrCorrupt},
		{"garbage", dbBytes(5000, 9), nil, ErrCorrupt},
		{"gzip magic then garbage", append([]byte{0x1f, 0x8b, 8, 0}, dbBytes(5000, 9)...), nil, ErrCorrupt},
		{"gzip truncated in the database", good[:len(good)*2/3], nil, ErrCorrupt},
		{"gzip truncated in the header", good[:5], nil, ErrCorrupt},
		{"tar truncated in the database", plain[:len(plain)/2], nil, ErrCorrupt},
		{"tar truncated in the manifest", plain[:600], nil, ErrCorrupt},
		{"gzip with a bad checksum", badCRC(good), nil, ErrCorrupt},
		{"manifest not JSON", resignedRaw(t, []byte("{not json"), privA, db), nil, ErrCorrupt},
		{"manifest without sha256", resigned(func(mm *Manifest) { mm.SHA256 = "" }, privA), nil, ErrCorrupt},
		{"manifest without builtAt", resigned(func(mm *Manifest) { mm.BuiltAt = time.Time{} }, privA), nil, ErrCorrupt},
		{"other format", resigned(func(mm *Manifest) { mm.Format = "vigil-db-bundle/v2" }, privA), nil, ErrFormat},

		// Members.
		{"extra member at the start", pack(t, true, member{name: "README", data: []byte("hi")}, mani, sig, dbm), nil, ErrMember},
		{"extra member at the end", pack(t, true, mani, sig, dbm, member{name: "extra", data: []byte("x")}), nil, ErrMember},
		{"duplicate database", pack(t, true, mani, sig, dbm, dbm), nil, ErrMember},
		{"duplicate manifest", pack(t, true, mani, mani, sig, dbm), nil, ErrSignature},
		{"database as a symlink", pack(t, true, mani, sig, member{name: m.File, typ: tar.TypeSymlink}), nil, ErrMember},
		{"database as a directory", pack(t, true, mani, sig, member{name: m.File, typ: tar.TypeDir}), nil, ErrMember},
		{"database under another name", pack(t, true, mani, sig, member{name: "other.db", data: db}), nil, ErrMember},
		{"dot-slash name", pack(t, true, member{name: "./" + ManifestName, data: mani.data}, sig, dbm), nil, ErrMember},

		// Paths.
		{"traversal first member", pack(t, true, member{name: "../" + ManifestName, data: mani.data}, sig, dbm), nil, ErrPath},
		{"absolute member", pack(t, true, member{name: "/etc/passwd", data: mani.data}, sig, dbm), nil, ErrPath},
		{"traversal signature", pack(t, true, mani, member{name: "../../manifest.sig", data: sig.data}, dbm), nil, ErrPath},
		{"traversal after the database", pack(t, true, mani, sig, dbm, member{name: "../../../tmp/x", data: []byte("x")}), nil, ErrPath},
		{"backslash member", pack(t, true, mani, sig, dbm, member{name: `..\..\x`, data: []byte("x")}), nil, ErrPath},
		{"traversal database name, signed", resigned(func(mm *Manifest) { mm.File = "../../etc/cron.d/x" }, privA), nil, ErrPath},
		{"absolute database name, signed", resigned(func(mm *Manifest) { mm.File = "/var/lib/vigil/x.db" }, privA), nil, ErrPath},

		// Sizes.
		{"oversized manifest", pack(t, true, member{name: ManifestName, data: bytes.Repeat([]byte(" "), maxManifestBytes+1)}, sig, dbm), nil, ErrTooLarge},
		{"oversized database", good, &ImportOptions{Trusted: []ed25519.PublicKey{pubA}, MaxSize: int64(len(db)) - 1}, ErrTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			dest := filepath.Join(dir, "vigil.db")
			old := []byte("the installed database")
			writeFile(t, dest, old)
			o := trustA
			if tt.opts != nil {
				o = *tt.opts
			}
			got, err := Import(bytes.NewReader(tt.bundle), dest, o)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Import = %+v, %v; want %v", got, err, tt.want)
			}
			for _, other := range []error{ErrSignature, ErrUntrusted, ErrDigest, ErrCorrupt, ErrFormat, ErrOlder, ErrMember, ErrPath, ErrTooLarge} {
				if other != tt.want && errors.Is(err, other) {
					t.Errorf("error %v is also %v; want one kind", err, other)
				}
			}
			mustContain(t, dest, old)
			onlyFiles(t, dir, "vigil.db")
		})
	}
}

func resignedRaw(t *testing.T, manifest []byte, priv ed25519.PrivateKey, db []byte) []byte {
	return pack(t, true,
		member{name: ManifestName, data: manifest},
		member{name: SignatureName, data: ed25519.Sign(priv, manifest)},
		member{name: "vigil.db", data: db})
}

// badCRC flips a bit of the gzip trailer's CRC-32.
func badCRC(gz []byte) []byte {
	b := bytes.Clone(gz)
	b[len(b)-8] ^= 1
	return b
}

// TestImportAtomic fails the reader in the middle of the database: the
// installed database stays byte-identical, the temporary file (which must
// be in the destination's directory) is removed, and the reader's error is
// returned, not mistaken for corruption.
func TestImportAtomic(t *testing.T) {
	pub, priv := testKey(t, 1)
	db := dbBytes(400_000, 5)
	gz := export(t, db, priv, Manifest{BuiltAt: builtAt})
	plain := pack(t, false, unpack(t, gz)...)
	for name, b := range map[string][]byte{"gzip": gz, "plain tar": plain} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			dest := filepath.Join(dir, "vigil.db")
			old := dbBytes(100_000, 6)
			writeFile(t, dest, old)
			var during []string
			r := &failingReader{r: bytes.NewReader(b), n: int64(len(b)) * 3 / 4, err: errBoom, at: func() {
				ents, _ := os.ReadDir(dir)
				for _, e := range ents {
					during = append(during, e.Name())
				}
			}}
			_, err := Import(r, dest, ImportOptions{Trusted: []ed25519.PublicKey{pub}})
			if !errors.Is(err, errBoom) || errors.Is(err, ErrCorrupt) {
				t.Fatalf("err = %v, want the reader's error only", err)
			}
			if len(during) != 2 || !strings.HasPrefix(during[0], ".vigil.db.import-") {
				t.Errorf("files while streaming: %v; want the database and one .vigil.db.import-* beside it", during)
			}
			mustContain(t, dest, old)
			onlyFiles(t, dir, "vigil.db")

			// The same bundle, read whole, then installs.
			if _, err := Import(bytes.NewReader(b), dest, ImportOptions{Trusted: []ed25519.PublicKey{pub}}); err != nil {
				t.Fatal(err)
			}
			mustContain(t, dest, db)
		})
	}
}

func TestExport(t *testing.T) {
	pub, priv := testKey(t, 1)
	dir := t.TempDir()
	db := writeFile(t, filepath.Join(dir, "vulns.sqlite"), []byte("db"))
	tests := []struct {
		name string
		path string
		m    Manifest
		priv ed25519.PrivateKey
		ok   bool
	}{
		{"defaults", db, Manifest{BuiltAt: builtAt}, priv, true},
		{"no builtAt", db, Manifest{}, priv, false},
		{"other format", db, Manifest{BuiltAt: builtAt, Format: "v0"}, priv, false},
		{"bad file name", db, Manifest{BuiltAt: builtAt, File: "../x"}, priv, false},
		{"reserved file name", db, Manifest{BuiltAt: builtAt, File: ManifestName}, priv, false},
		{"bad meta", db, Manifest{BuiltAt: builtAt, Meta: json.RawMessage("{")}, priv, false},
		{"no key", db, Manifest{BuiltAt: builtAt}, nil, false},
		{"directory", dir, Manifest{BuiltAt: builtAt}, priv, false},
		{"missing", filepath.Join(dir, "nope"), Manifest{BuiltAt: builtAt}, priv, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			err := Export(&buf, tt.path, tt.m, tt.priv)
			if !tt.ok {
				if err == nil {
					t.Fatal("Export succeeded")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got, err := Import(&buf, filepath.Join(t.TempDir(), "x.db"), ImportOptions{Trusted: []ed25519.PublicKey{pub}})
			if err != nil {
				t.Fatal(err)
			}
			if got.File != "vulns.sqlite" || got.Format != Format || got.Created.IsZero() || got.Size != 2 || got.KeyID != KeyID(pub) {
				t.Errorf("manifest %+v: want File from the path, Format, Created, Size and KeyID filled", got)
			}
		})
	}
}

// TestImportReaderError: an I/O error before anything is read is returned
// as such.
func TestImportReaderError(t *testing.T) {
	pub, _ := testKey(t, 1)
	dest := filepath.Join(t.TempDir(), "vigil.db")
	_, err := Import(&failingReader{r: io.MultiReader(), err: errBoom}, dest, ImportOptions{Trusted: []ed25519.PublicKey{pub}})
	if !errors.Is(err, errBoom) || errors.Is(err, ErrCorrupt) {
		t.Fatalf("err = %v, want the reader's error", err)
	}
}
