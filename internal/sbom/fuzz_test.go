package sbom

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// FuzzDecode feeds Decode arbitrary bytes, seeded with valid documents of
// both formats and the testdata files. Whatever it accepts must be a
// well-formed result that Vigil can write back out and read again.
func FuzzDecode(f *testing.F) {
	for _, e := range encoders {
		var buf bytes.Buffer
		if err := e.encode(&buf, testResult()); err != nil {
			f.Fatal(err)
		}
		f.Add(buf.Bytes())
	}
	files, err := filepath.Glob(filepath.Join("testdata", "*.json"))
	if err != nil {
		f.Fatal(err)
	}
	for _, name := range files {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	for _, s := range []string{
		``, `{}`, `[]`, `{"bomFormat":"CycloneDX","specVersion":"1.5"}`, `{"spdxVersion":"SPDX-2.3"}`,
		`{"bomFormat":"CycloneDX","specVersion":"1.6","components":[{"type":"library","name":"a","purl":"pkg:npm/a@1","properties":[{"name":"vigil:location:layer","value":"x"},{"name":"vigil:layer:index","value":"-1"}]}]}`,
		`{"bomFormat":"CycloneDX","specVersion":"1.5","metadata":{"properties":[{"name":"vigil:unknown:99999999999:error","value":"x"},{"name":"vigil:incomplete","value":"true"}]}}`,
	} {
		f.Add([]byte(s))
	}

	f.Fuzz(func(t *testing.T, data []byte) {
		r, format, err := decode(bytes.NewReader(data), "fuzz", 1<<20)
		if err != nil {
			if r != nil || format != "" {
				t.Fatalf("error %v with a result", err)
			}
			return
		}
		if r == nil || (format != CycloneDXJSON && format != SPDXJSON) {
			t.Fatalf("no error, but result %v, format %q", r, format)
		}
		if r.Asset.Kind != "sbom" || r.Asset.Digest == "" {
			t.Fatalf("asset %+v", r.Asset)
		}
		for _, enc := range []func(*bytes.Buffer) error{
			func(b *bytes.Buffer) error { return EncodeCycloneDX(b, r, testOpts) },
			func(b *bytes.Buffer) error { return EncodeSPDX(b, r, testOpts) },
		} {
			var buf bytes.Buffer
			if err := enc(&buf); err != nil {
				t.Fatalf("cannot write back a decoded result: %v", err)
			}
			again, _, err := Decode(&buf, "again")
			if err != nil {
				t.Fatalf("cannot read back what was written: %v\n%s", err, buf.String())
			}
			if len(again.Packages) != len(r.Packages) {
				t.Fatalf("%d packages written, %d read back", len(r.Packages), len(again.Packages))
			}
		}
	})
}
