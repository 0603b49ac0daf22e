package compare

import (
	"slices"
	"strings"
	"testing"
)

func TestKeyOf(t *testing.T) {
	tests := []struct {
		name string
		c    cdxComponent
		want Key
	}{
		{"deb drops distro namespace and qualifiers",
			cdxComponent{Name: "libc6", PURL: "pkg:deb/debian/libc6@2.31-13%2Bdeb11u11?arch=amd64&distro=debian-11"},
			Key{"deb", "libc6", "2.31-13+deb11u11"}},
		{"deb epoch in version",
			cdxComponent{Name: "bsdutils", PURL: "pkg:deb/debian/bsdutils@1:2.36.1-8%2Bdeb11u2?arch=amd64"},
			Key{"deb", "bsdutils", "1:2.36.1-8+deb11u2"}},
		{"deb epoch as qualifier",
			cdxComponent{Name: "bsdutils", PURL: "pkg:deb/debian/bsdutils@2.36.1-8%2Bdeb11u2?epoch=1"},
			Key{"deb", "bsdutils", "1:2.36.1-8+deb11u2"}},
		{"npm scope kept",
			cdxComponent{Name: "core", PURL: "pkg:npm/%40babel/core@7.24.0"},
			Key{"npm", "@babel/core", "7.24.0"}},
		{"go module, syft notation",
			cdxComponent{Name: "github.com/go-playground/validator/v10", PURL: "pkg:golang/github.com/go-playground/validator@v10.2.0#v10"},
			Key{"golang", "github.com/go-playground/validator/v10", "10.2.0"}},
		{"go module, scalibr notation",
			cdxComponent{Name: "github.com/go-playground/validator/v10", PURL: "pkg:golang/github.com/go-playground/validator/v10@10.2.0"},
			Key{"golang", "github.com/go-playground/validator/v10", "10.2.0"}},
		{"go stdlib with go prefix",
			cdxComponent{Name: "stdlib", PURL: "pkg:golang/stdlib@go1.26.8"},
			Key{"golang", "stdlib", "1.26.8"}},
		{"unparseable purl",
			cdxComponent{Name: "<%= dasherize(name) %>", Version: "0.0.0", PURL: "pkg:npm/<%=%20dasherize(name)%20%>@0.0.0"},
			Key{"npm", "<%= dasherize(name) %>", "0.0.0"}},
		{"no purl",
			cdxComponent{Name: "thing", Group: "g", Version: "1"},
			Key{"none", "g/thing", "1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := keyOf(tt.c)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("keyOf(%s) = %v, want %v", tt.c.PURL, got, tt.want)
			}
		})
	}
}

func TestReadSkipsOSAndWalksNested(t *testing.T) {
	const bom = `{"metadata":{"properties":[
		{"name":"vigil:incomplete","value":"true"},
		{"name":"vigil:unknown:1:path","value":"/b"},
		{"name":"vigil:unknown:0:path","value":"/a"},
		{"name":"vigil:unknown:0:extractor","value":"x"},
		{"name":"vigil:unknown:0:error","value":"bad"}]},
		"components":[
		{"type":"operating-system","name":"debian","version":"11"},
		{"type":"library","name":"a","version":"1","purl":"pkg:npm/a@1",
		 "components":[{"type":"library","name":"b","version":"2","purl":"pkg:npm/b@2"}]},
		{"type":"library","name":"a","version":"1","purl":"pkg:npm/a@1"}]}`
	s, err := Read("t", strings.NewReader(bom))
	if err != nil {
		t.Fatal(err)
	}
	if s.Components != 3 || len(s.Keys) != 2 || s.Keys[Key{"npm", "a", "1"}] != 2 {
		t.Errorf("got %d components, keys %v", s.Components, s.Keys)
	}
	if want := []string{"/a (x): bad", "/b (): "}; !slices.Equal(s.Unknowns, want) {
		t.Errorf("Unknowns = %q, want %q", s.Unknowns, want)
	}
}

func set(tool string, keys ...Key) *Set {
	s := &Set{Tool: tool, Keys: map[Key]int{}}
	for _, k := range keys {
		s.Keys[k]++
		s.Components++
	}
	return s
}

func TestCompareClasses(t *testing.T) {
	common := Key{"deb", "libc6", "2.31"}
	v := set("vigil", common, Key{"golang", "stdlib", "1.26.8"}, Key{"npm", "x", "1.0.0"})
	s := set("syft", common, Key{"golang", "stdlib", "1.26.8"}, Key{"npm", "x", "1.0.1"}, Key{"npm", "y", "2"})
	c := set("scalibr", common, Key{"golang", "go", "1.26.8"}, Key{"npm", "x", "1.0.0"})
	cmp := Compare(v, s, c)
	if cmp.Common != 1 {
		t.Errorf("Common = %d, want 1", cmp.Common)
	}
	want := map[Key]string{
		{"golang", "stdlib", "1.26.8"}: "go-stdlib-name",
		{"golang", "go", "1.26.8"}:     "go-stdlib-name",
		{"npm", "x", "1.0.0"}:          "version",
		{"npm", "x", "1.0.1"}:          "version",
		{"npm", "y", "2"}:              "unexplained",
	}
	if len(cmp.Rows) != len(want) {
		t.Errorf("got %d rows, want %d: %+v", len(cmp.Rows), len(want), cmp.Rows)
	}
	for _, r := range cmp.Rows {
		if want[r.Key] != r.Class.ID {
			t.Errorf("%v: class %s, want %s", r.Key, r.Class.ID, want[r.Key])
		}
	}
	if got := cmp.Only(1, 0); len(got) != 2 { // syft's x@1.0.1 and y@2
		t.Errorf("Only(syft, vigil) = %v, want 2 rows", got)
	}
}
