package vulndb

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/klauspost/compress/zstd"

	"github.com/vigil-sec/vigil/internal/advisory"
)

func TestBlobRoundTrip(t *testing.T) {
	enc, err := newBlobEncoder()
	if err != nil {
		t.Fatal(err)
	}
	defer enc.close()
	dec, err := newBlobDecoder(1)
	if err != nil {
		t.Fatal(err)
	}
	defer dec.close()

	small := advisory.Advisory{ID: "PYSEC-2024-1", Modified: t1, Summary: "short"}
	large := fixture()[0]
	large.Details = strings.Repeat("A request smuggling flaw in the HTTP/2 server. ", 100)
	for _, tc := range []struct {
		name       string
		in         advisory.Advisory
		compressed bool
	}{
		{"small stays JSON", small, false},
		{"large is compressed", large, true},
	} {
		blob, err := enc.encode(tc.in)
		if err != nil {
			t.Fatal(err)
		}
		if got := bytes.HasPrefix(blob, zstdMagic); got != tc.compressed {
			t.Errorf("%s: compressed = %v (%d bytes)", tc.name, got, len(blob))
		}
		if !tc.compressed && blob[0] != '{' {
			t.Errorf("%s: uncompressed blob starts with %q", tc.name, blob[0])
		}
		var out advisory.Advisory
		if err := dec.decode(bytes.Clone(blob), &out); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(tc.in, out); diff != "" {
			t.Errorf("%s (-in +out):\n%s", tc.name, diff)
		}
	}
}

func TestBlobDecodeRejects(t *testing.T) {
	dec, err := newBlobDecoder(1)
	if err != nil {
		t.Fatal(err)
	}
	defer dec.close()
	zw, err := zstd.NewWriter(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer zw.Close()
	bomb := zw.EncodeAll(append([]byte(`{"id":"`), make([]byte, 2*maxBlob)...), nil)
	for name, blob := range map[string][]byte{
		"empty":          nil,
		"not JSON":       []byte("garbage"),
		"truncated JSON": []byte(`{"id":"GO-`),
		"bad zstd":       append(append([]byte(nil), zstdMagic...), 1, 2, 3, 4, 5),
		"zstd bomb":      bomb,
		"zstd of junk":   zw.EncodeAll([]byte("not json at all"), nil),
	} {
		var a advisory.Advisory
		if err := dec.decode(blob, &a); !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s (%d bytes): %v, want ErrCorrupt", name, len(blob), err)
		}
	}
}

func FuzzDecodeBlob(f *testing.F) {
	enc, err := newBlobEncoder()
	if err != nil {
		f.Fatal(err)
	}
	for _, a := range fixture() {
		blob, err := enc.encode(a)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(bytes.Clone(blob))
		blob, err = enc.encode(a.Affected)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(bytes.Clone(blob))
	}
	large := fixture()[0]
	large.Details = strings.Repeat("details ", 200)
	blob, err := enc.encode(large)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(bytes.Clone(blob))
	enc.close()
	dec, err := newBlobDecoder(1)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, blob []byte) {
		var a advisory.Advisory
		if err := dec.decode(blob, &a); err != nil && !errors.Is(err, ErrCorrupt) {
			t.Errorf("error not marked corrupt: %v", err)
		}
		var entries []advisory.Affected
		if err := dec.decode(blob, &entries); err != nil && !errors.Is(err, ErrCorrupt) {
			t.Errorf("error not marked corrupt: %v", err)
		}
	})
}

// FuzzOpen opens arbitrary bytes as a database and queries it: errors are
// fine, panics and unmarked errors are not.
func FuzzOpen(f *testing.F) {
	path, _ := buildFixture(f, f.TempDir())
	data, err := os.ReadFile(path)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(data)
	f.Add(data[:len(data)/2])
	f.Add(everyOtherPage(data, 4096))
	f.Add([]byte("SQLite format 3\x00"))
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(t.TempDir(), "vulndb.sqlite")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		db, err := Open(path)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrSchema) {
				t.Errorf("Open: unmarked error %v", err)
			}
			return
		}
		defer db.Close()
		if err := queryAll(db); err != nil && !errors.Is(err, ErrCorrupt) {
			t.Errorf("query: unmarked error %v", err)
		}
	})
}
