package advisory

import "testing"

func TestEcosystemBase(t *testing.T) {
	for in, want := range map[string]string{
		"Go":                             "Go",
		"Debian:11":                      "Debian",
		"Alpine:v3.11":                   "Alpine",
		"Ubuntu:Pro:18.04:LTS":           "Ubuntu",
		"Maven:https://maven.google.com": "Maven",
		"GitHub Actions":                 "GitHub Actions",
		"":                               "",
	} {
		if got := EcosystemBase(in); got != want {
			t.Errorf("EcosystemBase(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestNormalizeName(t *testing.T) {
	for _, tc := range []struct{ eco, name, want string }{
		{"PyPI", "Django", "django"},
		{"PyPI", "zope.interface", "zope-interface"},
		{"PyPI", "Foo__Bar-._baz", "foo-bar-baz"},
		{"PyPI", "ruamel.yaml.clib", "ruamel-yaml-clib"},
		{"PyPI", "a-", "a-"},
		{"PyPI:extra", "A_B", "a-b"},
		{"pypi", "A_B", "a-b"},
		{"NuGet", "Newtonsoft.Json", "newtonsoft.json"},
		{"Packagist", "Symfony/HTTP-Kernel", "symfony/http-kernel"},
		{"Packagist:https://packages.drupal.org/8", "Drupal/Core", "drupal/core"},
		{"GitHub Actions", "Actions/Checkout", "actions/checkout"},
		{"npm", "JSONStream", "JSONStream"},
		{"Go", "github.com/BurntSushi/toml", "github.com/BurntSushi/toml"},
		{"crates.io", "Inflector", "Inflector"},
		{"Maven", "org.apache.logging.log4j:log4j-core", "org.apache.logging.log4j:log4j-core"},
		{"RubyGems", "RedCloth", "RedCloth"},
		{"Debian:11", "libxml2", "libxml2"},
		{"Alpine:v3.11", "py3-Pillow", "py3-Pillow"},
	} {
		if got := NormalizeName(tc.eco, tc.name); got != tc.want {
			t.Errorf("NormalizeName(%q, %q) = %q, want %q", tc.eco, tc.name, got, tc.want)
		}
	}
}
