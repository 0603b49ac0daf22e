package inventory_test

import (
	"archive/zip"
	"bytes"
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/vigil-sec/vigil/internal/inventory"
)

// langKinds are the language files FuzzExtractLang feeds bytes as: a path
// the engine's extractors ask for, the file's mode, and a seed file in
// testdata/lang (or "" when the seed is built in langSeeds).
var langKinds = []struct {
	path string
	mode fs.FileMode
	seed string
}{
	{"app/package-lock.json", 0o644, ""},
	{"app/node_modules/left-pad/package.json", 0o644, ""},
	{"app/yarn.lock", 0o644, ""},
	{"app/pnpm-lock.yaml", 0o644, ""},
	{"app/poetry.lock", 0o644, "python/poetry.lock"},
	{"app/Pipfile.lock", 0o644, "python/Pipfile.lock"},
	{"app/uv.lock", 0o644, "python/uv.lock"},
	{"app/requirements.txt", 0o644, "python/requirements.txt"},
	{"usr/lib/python3/dist-packages/demo-1.0.dist-info/METADATA", 0o644, ""},
	{"usr/lib/python3/dist-packages/demo-1.0.egg-info/PKG-INFO", 0o644, ""},
	{"app/pom.xml", 0o644, "maven/pom.xml"},
	{"app/lib/demo-1.0.jar", 0o644, ""},
	{"app/go.mod", 0o644, "golang/go.mod"},
	{"usr/local/bin/app", 0o755, ""}, // Go and cargo-auditable binaries
	{"app/Cargo.lock", 0o644, "cargo/Cargo.lock"},
	{"app/Gemfile.lock", 0o644, "ruby/Gemfile.lock"},
	{"usr/share/rubygems-integration/all/specifications/demo-1.0.gemspec", 0o644, ""},
	{"app/composer.lock", 0o644, "composer/composer.lock"},
	{"app/packages.lock.json", 0o644, "nuget/packages.lock.json"},
	{"app/App.deps.json", 0o644, "nuget/Vigil.Demo.deps.json"},
}

// langSeeds are small valid examples for the kinds without a testdata file,
// by path.
func langSeeds(tb testing.TB) map[string][]byte {
	tb.Helper()
	inner := langJar(tb, map[string]string{
		"META-INF/maven/org.example/inner/pom.properties": "groupId=org.example\nartifactId=inner\nversion=2.0\n",
	})
	return map[string][]byte{
		"app/package-lock.json": []byte(`{"name":"app","version":"1.0.0","lockfileVersion":3,"requires":true,"packages":{` +
			`"":{"name":"app","version":"1.0.0","dependencies":{"minimist":"1.2.5"}},` +
			`"node_modules/minimist":{"version":"1.2.5","resolved":"https://registry.npmjs.org/minimist/-/minimist-1.2.5.tgz","dev":true},` +
			`"node_modules/@scope/x/node_modules/y":{"version":"0.1.0","optional":true}}}`),
		"app/node_modules/left-pad/package.json": []byte(`{"name":"left-pad","version":"1.3.0","author":{"name":"a"},"dependencies":{"x":"^1.0.0"}}`),
		"app/yarn.lock":                          []byte("# yarn lockfile v1\n\n\"@babel/code-frame@^7.0.0\", lodash@^4.17.20:\n  version \"4.17.20\"\n  resolved \"https://registry.yarnpkg.com/lodash/-/lodash-4.17.20.tgz#b44a9b6297bcb698f1c51a3545a2b3b368d59c52\"\n  dependencies:\n    minimist \"^1.2.5\"\n"),
		"app/pnpm-lock.yaml":                     []byte("lockfileVersion: '6.0'\n\ndependencies:\n  lodash:\n    specifier: 4.17.20\n    version: 4.17.20\n\npackages:\n\n  /lodash@4.17.20:\n    resolution: {integrity: sha512-x}\n    dev: false\n\n  /@types/node@20.1.0(peer@1.0.0):\n    dev: true\n"),
		"usr/lib/python3/dist-packages/demo-1.0.dist-info/METADATA": []byte("Metadata-Version: 2.1\nName: demo\nVersion: 1.0\nLicense: MIT\nAuthor: A\n\nlong description\n"),
		"usr/lib/python3/dist-packages/demo-1.0.egg-info/PKG-INFO":  []byte("Metadata-Version: 1.2\nName: demo\nVersion: 1.0\n"),
		"app/lib/demo-1.0.jar": langJar(tb, map[string]string{
			"META-INF/MANIFEST.MF":                             "Manifest-Version: 1.0\nImplementation-Title: demo\nImplementation-Version: 1.0\n",
			"META-INF/maven/org.example/demo/pom.properties":   "groupId=org.example\nartifactId=demo\nversion=1.0\n",
			"BOOT-INF/lib/inner-2.0.jar":                       string(inner),
			"META-INF/maven/org.example/demo/pom.xml":          "<project><groupId>org.example</groupId></project>",
			"BOOT-INF/classes/org/example/Demo.class":          "\xca\xfe\xba\xbe",
			"WEB-INF/lib/empty.jar":                            "",
			"META-INF/maven/org.example/broken/pom.properties": "garbage",
		}),
		// An ELF header and Go's build-info magic: enough for the
		// mutator to reach the parsers.
		"usr/local/bin/app": append([]byte("\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\x3e\x00\x01\x00\x00\x00"),
			[]byte("\xff Go buildinf:\x08\x02go1.21.0\x00path\texample.com/app\nmod\texample.com/app\t(devel)\t\ndep\tgolang.org/x/text\tv0.3.7\th1:x=\n.dep-v0")...),
		"usr/share/rubygems-integration/all/specifications/demo-1.0.gemspec": []byte("Gem::Specification.new do |s|\n  s.name = \"demo\".freeze\n  s.version = \"1.0\"\nend\n"),
	}
}

// langJar is a zip archive holding files (name → content).
func langJar(tb testing.TB, files map[string]string) []byte {
	tb.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for name, body := range files {
		w, err := zw.Create(name)
		if err != nil {
			tb.Fatal(err)
		}
		w.Write([]byte(body))
	}
	if err := zw.Close(); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

// FuzzExtractLang feeds arbitrary bytes to the engine as each kind of
// language file, in an in-memory filesystem. Whatever the bytes, the scan
// must finish, return no error, report each failure as an Unknown for that
// file, and report only named packages located in that file.
func FuzzExtractLang(f *testing.F) {
	seeds := langSeeds(f)
	for i, k := range langKinds {
		var data []byte
		if k.seed != "" {
			b, err := os.ReadFile(filepath.Join("testdata", "lang", filepath.FromSlash(k.seed)))
			if err != nil {
				f.Fatal(err)
			}
			data = b
		} else {
			data = seeds[k.path]
		}
		if data == nil {
			f.Fatalf("no seed for %s", k.path)
		}
		f.Add(uint8(i), data)
		f.Add(uint8(i), data[:len(data)/2]) // truncated
	}
	e, err := inventory.NewEngine(inventory.Options{Workers: 1})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, kind uint8, data []byte) {
		k := langKinds[int(kind)%len(langKinds)]
		fsys := fstest.MapFS{k.path: &fstest.MapFile{Data: data, Mode: k.mode}}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		start := time.Now()
		pkgs, unknowns, err := e.ScanFS(ctx, fsys, inventory.FSOptions{})
		if err != nil {
			t.Fatalf("%s: ScanFS error %v (only a cancelled context may end a scan)", k.path, err)
		}
		if d := time.Since(start); d > 10*time.Second {
			t.Errorf("%s: %d bytes took %v", k.path, len(data), d)
		}
		for _, u := range unknowns {
			if u.Path != "/"+k.path || u.Err == "" {
				t.Errorf("%s: unknown %+v, want one for /%s with a reason", k.path, u, k.path)
			}
			if strings.Contains(u.Err, "extractor failed on malformed input") {
				// The engine recovered a panic in a SCALIBR extractor: the
				// contract holds, but it is a parser bug worth knowing.
				t.Logf("%s: recovered: %s", k.path, u.Err)
			}
		}
		for _, p := range pkgs {
			if strings.TrimSpace(p.Name) == "" || p.ID == "" || p.Ecosystem == "" || p.Extractor == "" {
				t.Errorf("%s: malformed package %+v", k.path, p)
			}
			if len(p.Locations) != 1 || !strings.HasPrefix(p.Locations[0].Path, "/"+k.path) {
				t.Errorf("%s: package %s located at %+v", k.path, p.Name, p.Locations)
			}
		}
	})
}

// TestLangFuzzSeeds checks that FuzzExtractLang's built seeds are valid
// examples: each yields packages and no Unknown (the binary seed is only a
// start for the mutator).
func TestLangFuzzSeeds(t *testing.T) {
	e, err := inventory.NewEngine(inventory.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for p, data := range langSeeds(t) {
		if p == "usr/local/bin/app" {
			continue
		}
		fsys := fstest.MapFS{p: &fstest.MapFile{Data: data, Mode: 0o644}}
		pkgs, unknowns, err := e.ScanFS(context.Background(), fsys, inventory.FSOptions{})
		if err != nil || len(unknowns) > 0 || len(pkgs) == 0 {
			t.Errorf("seed %s: %d packages, unknowns %+v, error %v", p, len(pkgs), unknowns, err)
		}
	}
}
