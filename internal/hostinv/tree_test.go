package hostinv

import (
	"os"
	"path/filepath"
	"testing"
)

// tree describes a fake filesystem: files with their content, and symbolic
// links with their targets, by slash path below the root.
type tree struct {
	files map[string]string
	links map[string]string
}

// build writes the tree below root.
func (tr tree) build(t *testing.T, root string) {
	t.Helper()
	for name, content := range tr.files {
		p := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for name, target := range tr.links {
		p := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(target, p); err != nil {
			t.Fatal(err)
		}
	}
}
