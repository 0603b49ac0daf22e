package corpus

import (
	"errors"
	"path/filepath"
	"slices"
	"testing"
)

func TestCallFixture(t *testing.T) {
	tests := []struct {
		name    string
		build   func(testing.TB) string
		want    string
		wantErr error // nil: no error; errAny: any error
	}{
		{"returns", func(tb testing.TB) string { tb.Helper(); return "dir" }, "dir", nil},
		{"fatal", func(tb testing.TB) string { tb.Fatalf("broke %d", 1); return "unreached" }, "", errAny},
		{"skip", func(tb testing.TB) string { tb.Skipf("no %s", "tool"); return "unreached" }, "", ErrUnavailable},
		{"error then return", func(tb testing.TB) string { tb.Errorf("bad"); return "dir" }, "dir", errAny},
		{"unimplemented method panics", func(tb testing.TB) string { return tb.TempDir() }, "", errAny},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := CallFixture(tt.name, tt.build)
			switch {
			case tt.wantErr == nil && err != nil:
				t.Fatalf("err = %v, want nil", err)
			case tt.wantErr == errAny && err == nil, tt.wantErr != nil && tt.wantErr != errAny && !errors.Is(err, tt.wantErr):
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

var errAny = errors.New("any error")

func TestLockPackages(t *testing.T) {
	lock := []byte(`{"lockfileVersion":3,"packages":{
		"": {"name":"app","version":"1.0.0"},
		"node_modules/a": {"version":"1.0.0"},
		"node_modules/b/node_modules/a": {"version":"1.0.0"},
		"node_modules/b/node_modules/@s/c": {"version":"2.0.0"},
		"node_modules/alias": {"name":"real","version":"3.0.0"},
		"node_modules/linked": {"resolved":"../x","link":true}}}`)
	got, err := lockPackages(lock)
	if err != nil {
		t.Fatal(err)
	}
	if want := (lockCount{dirs: 4, distinct: 3}); got != want {
		t.Errorf("lockPackages = %+v, want %+v", got, want)
	}
	if _, err := lockPackages([]byte("{")); err == nil {
		t.Error("lockPackages of bad JSON: no error")
	}
}

func TestEmbeddedNodeApp(t *testing.T) {
	lock, err := nodeApp.ReadFile("node/package-lock.json")
	if err != nil {
		t.Fatal(err)
	}
	n, err := lockPackages(lock)
	if err != nil {
		t.Fatal(err)
	}
	if n.dirs < 2000 {
		t.Errorf("the node corpus lock lists %d packages; the benchmark wants a few thousand", n.dirs)
	}
}

func TestListRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "corpora.tsv")
	cs := []Corpus{
		{Name: "debian", Kind: Image, Path: "/c/image.tar", Description: "a root"},
		{Name: "gobin", Kind: Dir, Path: "/c/bins", Description: "binaries"},
	}
	if err := WriteList(path, cs); err != nil {
		t.Fatal(err)
	}
	got, err := ReadList(path)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, cs) {
		t.Errorf("ReadList = %+v, want %+v", got, cs)
	}
	if err := WriteList(path, []Corpus{{Name: "x", Description: "a\tb"}}); err == nil {
		t.Error("WriteList with a tab in a field: no error")
	}
}

func TestBuildRejectsUnknownCorpus(t *testing.T) {
	b := &Builder{Cache: t.TempDir(), Suite: "bullseye"}
	if _, err := b.Build([]string{"nope"}); err == nil {
		t.Error("Build(nope): no error")
	}
}
