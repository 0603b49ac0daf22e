package compare

import (
	"fmt"
	"slices"
	"strings"
)

// Class is a kind of difference between the tools' package sets, with the
// reason for it. The classes were written by reading the differences on
// the benchmark's corpora; a difference that fits none is Unexplained, and
// is reported as such.
type Class struct {
	ID    string
	Title string
	// Explanation says why the tools differ, in Markdown.
	Explanation string
	// VigilMiss marks classes of real packages Vigil does not report: they
	// count against the "same or more packages" goal.
	VigilMiss bool
	// match reports whether a row is of this class, and what the other
	// tools report instead.
	match func(k Key, in []bool, sets []*Set, ix *index) (detail string, ok bool)
}

// Classes are tried in order; the first that matches wins.
var Classes = []*Class{
	GoToolchainName,
	NPMLockOnly,
	NPMNoVersion,
	DeclaredPOM,
	GoMainVersion,
	WindowsPE,
	VersionDiffers,
	TypeDiffers,
	Unexplained,
}

// GoToolchainName: the Go standard library a binary was built with, named
// "go" by SCALIBR and "stdlib" by the others.
var GoToolchainName = &Class{
	ID:    "go-stdlib-name",
	Title: "Go standard library: `stdlib` or `go`",
	Explanation: "The Go standard library each binary was built with. Vigil and Syft name it `pkg:golang/stdlib` " +
		"(the name the Go vulnerability database uses); SCALIBR names it `pkg:golang/go`. The same package under two names.",
	match: func(k Key, in []bool, sets []*Set, ix *index) (string, bool) {
		if k.Type != "golang" || (k.Name != "stdlib" && k.Name != "go") {
			return "", false
		}
		other := map[string]string{"stdlib": "go", "go": "stdlib"}[k.Name]
		var d []string
		for i, s := range sets {
			if in[i] {
				continue
			}
			if _, ok := s.Keys[Key{Type: "golang", Name: other, Version: k.Version}]; !ok {
				return "", false
			}
			d = append(d, fmt.Sprintf("%s: %s@%s", s.Tool, other, k.Version))
		}
		return strings.Join(d, "; "), true
	},
}

// NPMLockOnly: packages only a package-lock.json lists.
var NPMLockOnly = &Class{
	ID:    "npm-lock-only",
	Title: "in package-lock.json, not installed",
	Explanation: "Optional, platform-specific packages (esbuild, lmdb, @parcel/watcher and rollup builds for other " +
		"systems and CPUs, fsevents for macOS) that `/app/package-lock.json` lists but npm did not install on linux/amd64: " +
		"there is no `node_modules/<name>` for them in the image. Vigil and SCALIBR read lock files as well as installed " +
		"`package.json` files and report them; Syft, scanning an image, reads only installed packages. Over-reporting by " +
		"Vigil (possible false positives in vulnerability matching), not a miss by Syft.",
	match: func(k Key, in []bool, sets []*Set, _ *index) (string, bool) {
		return "", k.Type == "npm" && onlyFrom(k, in, sets, "package-lock.json", ".package-lock.json", "npm-shrinkwrap.json")
	},
}

// NPMNoVersion: package.json files without a version.
var NPMNoVersion = &Class{
	ID:    "npm-no-version",
	Title: "package.json without a version",
	Explanation: "`package.json` files under `node_modules` that are not packages: subpath stubs that only steer module " +
		"resolution (`rxjs/operators/package.json`, `@angular-devkit/schematics/tasks/package.json`, " +
		"`engine.io-client/build/esm/package.json`) and test fixtures shipped inside packages " +
		"(`@parcel/node-resolver-core/test/fixture/node_modules/*/package.json`). None has a version. Syft reports " +
		"every one, with version `UNKNOWN` and a purl without a version; Vigil and SCALIBR skip a `package.json` " +
		"without a name and version. Noise in Syft's output, not a miss by Vigil.",
	match: func(k Key, in []bool, sets []*Set, _ *index) (string, bool) {
		return "", k.Type == "npm" && k.Version == ""
	},
}

// DeclaredPOM: Maven dependencies declared by pom.xml files.
var DeclaredPOM = &Class{
	ID:    "maven-pom",
	Title: "declared in a pom.xml",
	Explanation: "Maven dependencies declared by `pom.xml` files of Java example and runtime-wrapper projects that the " +
		"`serverless` npm package ships (`serverless/lib/plugins/aws/invoke-local/runtime-wrappers/java/pom.xml`, " +
		"`serverless/docs/…/java/pom.xml`); no jar of them is in the image. Vigil and SCALIBR read `pom.xml` wherever " +
		"it is; Syft reads `pom.xml` only when scanning a directory, not an image. Declared, not installed: Vigil " +
		"reports more here, rightly or not depending on what the SBOM is for.",
	match: func(k Key, in []bool, sets []*Set, _ *index) (string, bool) {
		return "", k.Type == "maven" && onlyFrom(k, in, sets, "pom.xml")
	},
}

// GoMainVersion: a Go binary's main module version, "(devel)" or derived
// from its VCS stamp.
var GoMainVersion = &Class{
	ID:    "go-main-version",
	Title: "Go main module: `(devel)` or a pseudo-version",
	Explanation: "Go binaries built from a source checkout (esbuild's, in `@esbuild/linux-x64/bin/esbuild`) record " +
		"their main module's version as `(devel)`. Vigil and SCALIBR report `(devel)`, as the build information " +
		"says; Syft derives a pseudo-version from the `vcs.revision` and `vcs.time` build settings, which tells the " +
		"two esbuild builds apart. The same binaries: not a miss, but Syft's version is the more useful one.",
	match: func(k Key, in []bool, sets []*Set, ix *index) (string, bool) {
		if k.Type != "golang" {
			return "", false
		}
		d, ok := VersionDiffers.match(k, in, sets, ix)
		if !ok || (k.Version != "(devel)" && !strings.Contains(d, "(devel)")) {
			return "", false
		}
		return d, true
	},
}

// WindowsPE: versions read from Windows executables.
var WindowsPE = &Class{
	ID:    "windows-pe",
	Title: "Windows executable (PE version resource)",
	Explanation: "Syft's `dotnet-portable-executable-cataloger` reads the version resource of Windows executables and " +
		"reports it as a NuGet package: here `notifu.exe` 1.7, which `node-notifier` vendors " +
		"(`node-notifier/vendor/notifu/notifu.exe`). Vigil (like SCALIBR's default extractors) has no extractor for " +
		"PE files, so it misses this real, if Linux-irrelevant, third-party binary. **Counted as a Vigil miss.**",
	VigilMiss: true,
	match: func(k Key, in []bool, sets []*Set, _ *index) (string, bool) {
		return "", k.Type == "nuget" && onlyTool(in, sets, "syft")
	},
}

// onlyFrom reports whether every tool reporting k gave locations for it,
// all of them files named one of bases.
func onlyFrom(k Key, in []bool, sets []*Set, bases ...string) bool {
	seen := false
	for i, s := range sets {
		if !in[i] {
			continue
		}
		paths := s.Paths[k]
		if len(paths) == 0 {
			return false
		}
		for _, p := range paths {
			base := p[strings.LastIndex(p, "/")+1:]
			if !slices.Contains(bases, base) {
				return false
			}
		}
		seen = true
	}
	return seen
}

// onlyTool reports whether tool is the only one reporting the row.
func onlyTool(in []bool, sets []*Set, tool string) bool {
	for i, s := range sets {
		if in[i] != (s.Tool == tool) {
			return false
		}
	}
	return true
}

// VersionDiffers: the same package, read with another version.
var VersionDiffers = &Class{
	ID:    "version",
	Title: "same package, different version",
	Explanation: "Every tool reports this package, but not all with this version string. " +
		"The detail column shows what the others report.",
	match: func(k Key, in []bool, sets []*Set, ix *index) (string, bool) {
		var d []string
		for i, s := range sets {
			if in[i] {
				continue
			}
			vs := ix.versions[i][[2]string{k.Type, k.Name}]
			if len(vs) == 0 {
				return "", false
			}
			d = append(d, fmt.Sprintf("%s: %s", s.Tool, strings.Join(vs, ", ")))
		}
		return strings.Join(d, "; "), true
	},
}

// TypeDiffers: the same name and version under another purl type.
var TypeDiffers = &Class{
	ID:          "type",
	Title:       "same name and version, different purl type",
	Explanation: "The tools that miss this key report the same name and version under another purl type.",
	match: func(k Key, in []bool, sets []*Set, ix *index) (string, bool) {
		var d []string
		for i, s := range sets {
			if in[i] {
				continue
			}
			ts := ix.types[i][[2]string{k.Name, k.Version}]
			if len(ts) == 0 {
				return "", false
			}
			d = append(d, fmt.Sprintf("%s: %s", s.Tool, strings.Join(ts, ", ")))
		}
		return strings.Join(d, "; "), true
	},
}

// Unexplained is every difference no other class explains.
var Unexplained = &Class{
	ID:          "unexplained",
	Title:       "unexplained",
	Explanation: "No class above explains these; each needs a look.",
	match: func(Key, []bool, []*Set, *index) (string, bool) {
		return "", true
	},
}

func classify(k Key, in []bool, sets []*Set, ix *index) (*Class, string) {
	for _, c := range Classes {
		if d, ok := c.match(k, in, sets, ix); ok {
			return c, d
		}
	}
	return Unexplained, ""
}
