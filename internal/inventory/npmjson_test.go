package inventory_test

import (
	"context"
	"testing"
	"testing/fstest"

	"github.com/vigil-sec/vigil/internal/inventory"
)

// TestPackageJSONFallback: a package.json SCALIBR's strict decoding rejects
// (parse5 7.x writes "contributors" as a string) still yields its package;
// a file that is no package yields nothing; broken JSON stays an Unknown.
func TestPackageJSONFallback(t *testing.T) {
	fsys := fstest.MapFS{
		"app/node_modules/parse5/package.json":         {Data: []byte(`{"name":"parse5","version":"7.1.2","license":"MIT","contributors":"See https://github.com/inikulin/parse5/graphs/contributors"}`)},
		"app/node_modules/rxjs/operators/package.json": {Data: []byte(`{"main":"../dist/cjs/operators/index.js","contributors":"x"}`)},
		"app/node_modules/broken/package.json":         {Data: []byte(`{"name":"broken","version":`)},
	}
	e, err := inventory.NewEngine(inventory.Options{})
	if err != nil {
		t.Fatal(err)
	}
	pkgs, unknowns, err := e.ScanFS(context.Background(), fsys, inventory.FSOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(pkgs) != 1 || pkgs[0].Name != "parse5" || pkgs[0].Version != "7.1.2" || pkgs[0].PURL != "pkg:npm/parse5@7.1.2" {
		t.Fatalf("packages = %+v, want parse5 7.1.2", pkgs)
	}
	if len(pkgs[0].Licenses) != 1 || pkgs[0].Licenses[0] != "MIT" {
		t.Errorf("licenses = %v", pkgs[0].Licenses)
	}
	if len(unknowns) != 1 || unknowns[0].Path != "/app/node_modules/broken/package.json" {
		t.Errorf("unknowns = %+v, want only the broken package.json", unknowns)
	}
}
