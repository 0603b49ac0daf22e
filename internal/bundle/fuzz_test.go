package bundle

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// FuzzImport feeds arbitrary bytes to Import over an installed database.
// It must never panic; on error the installed database is byte-identical,
// on success it is exactly what the (verified) manifest describes; either
// way nothing but the database is left in its directory.
func FuzzImport(f *testing.F) {
	pub, priv := testKey(f, 7)
	db := dbBytes(4096, 7)
	good := export(f, db, priv, Manifest{BuiltAt: builtAt})
	ms := unpack(f, good)
	plain := pack(f, false, ms...)
	f.Add(good)
	f.Add(plain)
	f.Add(good[:len(good)/2])
	f.Add(plain[:len(plain)-1024])
	f.Add(pack(f, false, ms[0], ms[2]))
	f.Add(pack(f, false, ms[0], ms[1], ms[2], ms[2]))
	f.Add(pack(f, false, member{name: "../" + ManifestName, data: ms[0].data}, ms[1], ms[2]))
	f.Add([]byte{})
	f.Add([]byte{0x1f, 0x8b, 8, 0})

	old := []byte("installed")
	opts := ImportOptions{
		Trusted:          []ed25519.PublicKey{pub},
		InstalledBuiltAt: func() (time.Time, bool, error) { return builtAt.Add(-time.Hour), true, nil },
		MaxSize:          1 << 20,
	}
	// One directory per fuzzing process: every run must leave it holding
	// only the database, which the next run overwrites.
	dir := f.TempDir()
	dest := filepath.Join(dir, "vigil.db")
	f.Fuzz(func(t *testing.T, data []byte) {
		writeFile(t, dest, old)
		m, err := Import(bytes.NewReader(data), dest, opts)
		onlyFiles(t, dir, "vigil.db")
		if err != nil {
			mustContain(t, dest, old)
			kinds := 0
			for _, k := range []error{ErrSignature, ErrUntrusted, ErrDigest, ErrCorrupt, ErrFormat, ErrOlder, ErrMember, ErrPath, ErrTooLarge} {
				if errors.Is(err, k) {
					kinds++
				}
			}
			if kinds != 1 {
				t.Fatalf("error %v is of %d kinds, want 1", err, kinds)
			}
			return
		}
		got, rerr := os.ReadFile(dest)
		if rerr != nil {
			t.Fatal(rerr)
		}
		if int64(len(got)) != m.Size || sha(got) != m.SHA256 || m.KeyID != KeyID(pub) {
			t.Fatalf("installed %d bytes (sha256 %s) for manifest %+v", len(got), sha(got), m)
		}
	})
}
