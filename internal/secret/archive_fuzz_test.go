package secret

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"testing"
)

// FuzzArchive feeds arbitrary bytes to the archive readers, as a file of
// its own and as a member of a zip and of a tar.gz: nothing may panic, no
// member handed to the scanner may exceed MaxFileSize, and the bytes
// scanned stay within a small multiple of the archive budget.
func FuzzArchive(f *testing.F) {
	var z bytes.Buffer
	zw := zip.NewWriter(&z)
	w, _ := zw.Create("a/b.txt")
	_, _ = w.Write([]byte("token " + testToken))
	_ = zw.Close()
	var tg bytes.Buffer
	gw := gzip.NewWriter(&tg)
	tw := tar.NewWriter(gw)
	_ = tw.WriteHeader(&tar.Header{Name: "x.zip", Mode: 0o644, Size: int64(z.Len()), Typeflag: tar.TypeReg})
	_, _ = tw.Write(z.Bytes())
	_ = tw.Close()
	_ = gw.Close()
	f.Add(z.Bytes())
	f.Add(tg.Bytes())
	f.Add([]byte("PK\x05\x06" + string(make([]byte, 18))))
	f.Add([]byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff})
	f.Add([]byte("plain text"))

	const maxFile, maxBytes = 64 << 10, 256 << 10
	f.Fuzz(func(t *testing.T, data []byte) {
		var asZip bytes.Buffer
		zw := zip.NewWriter(&asZip)
		if w, err := zw.Create("member.bin"); err == nil {
			_, _ = w.Write(data)
		}
		_ = zw.Close()
		var asTgz bytes.Buffer
		gw := gzip.NewWriter(&asTgz)
		tw := tar.NewWriter(gw)
		_ = tw.WriteHeader(&tar.Header{Name: "member.bin", Mode: 0o644, Size: int64(len(data)), Typeflag: tar.TypeReg})
		_, _ = tw.Write(data)
		_ = tw.Close()
		_ = gw.Close()

		for _, in := range [][]byte{data, asZip.Bytes(), asTgz.Bytes()} {
			c := &collector{}
			e := &expander{
				scan: func(b []byte, loc Location) []Finding {
					if len(b) > maxFile {
						t.Fatalf("%s: %d bytes handed to the scanner, limit %d", loc.Path, len(b), maxFile)
					}
					return nil
				},
				o: DirOptions{MaxFileSize: maxFile, MaxArchiveBytes: maxBytes}.normalise(),
				c: c,
			}
			e.scanBytes(in, Location{Path: "fuzz"}, 0, nil)
			// Each nesting level may hand on at most what it was given,
			// and the shared budget bounds the sum.
			if r := c.result(); r.Bytes > int64(len(in))+maxBytes+maxFile {
				t.Fatalf("scanned %d bytes from %d input bytes", r.Bytes, len(in))
			}
		}
	})
}
