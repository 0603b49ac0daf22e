package feed

import (
	"errors"
	"net/url"
	"strings"
	"testing"
)

func TestSourceValidate(t *testing.T) {
	ok := Source{Name: "osv-go.zip", Kind: KindOSV, URL: "https://example.invalid/Go/all.zip"}
	tests := []struct {
		name string
		edit func(*Source)
		ok   bool
	}{
		{"valid", func(*Source) {}, true},
		{"valid digest", func(s *Source) { s.SHA256 = strings.Repeat("aB", 32) }, true},
		{"valid sidecar", func(s *Source) { s.DigestURL = "http://127.0.0.1:1/all.zip.sha256" }, true},
		{"empty name", func(s *Source) { s.Name = "" }, false},
		{"traversal", func(s *Source) { s.Name = "../kev.json" }, false},
		{"slash", func(s *Source) { s.Name = "a/b" }, false},
		{"hidden", func(s *Source) { s.Name = ".kev" }, false},
		{"long", func(s *Source) { s.Name = strings.Repeat("a", 129) }, false},
		{"reserved .part", func(s *Source) { s.Name = "kev.part" }, false},
		{"reserved .part.json", func(s *Source) { s.Name = "kev.part.json" }, false},
		{"reserved .meta.json", func(s *Source) { s.Name = "kev.meta.json" }, false},
		{"kind", func(s *Source) { s.Kind = "nvd" }, false},
		{"relative url", func(s *Source) { s.URL = "/Go/all.zip" }, false},
		{"file url", func(s *Source) { s.URL = "file:///etc/passwd" }, false},
		{"short digest", func(s *Source) { s.SHA256 = "abcd" }, false},
		{"non-hex digest", func(s *Source) { s.SHA256 = strings.Repeat("zz", 32) }, false},
		{"bad sidecar", func(s *Source) { s.DigestURL = "ftp://example.invalid/x" }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := ok
			tt.edit(&s)
			err := s.Validate()
			if tt.ok && err != nil {
				t.Fatalf("Validate(%+v) = %v, want nil", s, err)
			}
			if !tt.ok && !errors.Is(err, ErrSource) {
				t.Fatalf("Validate(%+v) = %v, want ErrSource", s, err)
			}
		})
	}
}

// TestDefaultSources checks the defaults as data; it fetches nothing.
func TestDefaultSources(t *testing.T) {
	srcs := DefaultSources()
	names := map[string]bool{}
	kinds := map[string]int{}
	for _, s := range srcs {
		if err := s.Validate(); err != nil {
			t.Errorf("default source invalid: %v", err)
		}
		if names[s.Name] {
			t.Errorf("duplicate default name %q", s.Name)
		}
		names[s.Name] = true
		kinds[s.Kind]++
		if u, _ := url.Parse(s.URL); u.Scheme != "https" {
			t.Errorf("%s: %s is not https", s.Name, s.URL)
		}
	}
	for _, eco := range []string{"Go", "PyPI", "crates.io", "npm", "Maven", "RubyGems", "Packagist", "NuGet", "Debian", "Alpine"} {
		want := "https://osv-vulnerabilities.storage.googleapis.com/" + eco + "/all.zip"
		found := false
		for _, s := range srcs {
			found = found || s.URL == want && s.Kind == KindOSV
		}
		if !found {
			t.Errorf("no default OSV source %s", want)
		}
	}
	for kind, min := range map[string]int{KindOSV: 10, KindDebian: 2, KindAlpine: 1, KindEPSS: 1, KindKEV: 1} {
		if kinds[kind] < min {
			t.Errorf("%d default %s sources, want at least %d", kinds[kind], kind, min)
		}
	}
}
