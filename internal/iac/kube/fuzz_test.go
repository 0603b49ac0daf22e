package kube

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/vigil-sec/vigil/internal/iac"
)

// FuzzLoadManifest feeds one file through Load: it must not panic, and
// whatever it returns must be well formed.
func FuzzLoadManifest(f *testing.F) {
	seeds, _ := filepath.Glob(filepath.Join("testdata", "manifests", "*"))
	for _, s := range seeds {
		if strings.HasSuffix(s, "bomb.yaml") {
			continue // slow by design; the budget is tested in TestLoad
		}
		if b, err := os.ReadFile(s); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte("apiVersion: v1\nkind: List\nitems: [{apiVersion: v1, kind: Pod, metadata: {name: p}}]\n"))
	f.Add([]byte("apiVersion: v1\nkind: PodList\nitems: {}\n"))
	f.Add([]byte("---\n---\napiVersion: 1\nkind: [x]\n---\n"))
	f.Add([]byte("a: &a {apiVersion: v1, kind: Pod}\nitems: [*a, *a]\napiVersion: v1\nkind: List\n"))
	loader := New(Options{})
	f.Fuzz(func(t *testing.T, data []byte) {
		in := &iac.Input{FS: fstest.MapFS{"m.yaml": {Data: data}}, Files: []string{"m.yaml"}, MaxFileSize: 1 << 20}
		res, errs := loader.Load(context.Background(), in)
		for _, r := range res {
			if r.Type == "" || !strings.HasPrefix(r.Address, r.Type) || r.Location.File != "m.yaml" || r.Attrs == nil {
				t.Fatalf("malformed resource %+v", r)
			}
			if r.Location.Range.StartLine > r.Location.Range.EndLine {
				t.Fatalf("bad range %v", r.Location.Range)
			}
		}
		for _, e := range errs {
			if e.File != "m.yaml" || e.Err == nil {
				t.Fatalf("malformed error %+v", e)
			}
		}
	})
}
