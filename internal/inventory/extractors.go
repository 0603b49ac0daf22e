package inventory

import (
	"fmt"

	cpb "github.com/google/osv-scalibr/binary/proto/config_go_proto"
	"github.com/google/osv-scalibr/extractor/filesystem"
	"github.com/google/osv-scalibr/extractor/filesystem/language/dotnet/depsjson"
	"github.com/google/osv-scalibr/extractor/filesystem/language/dotnet/packageslockjson"
	"github.com/google/osv-scalibr/extractor/filesystem/language/golang/gobinary"
	"github.com/google/osv-scalibr/extractor/filesystem/language/golang/gomod"
	javaarchive "github.com/google/osv-scalibr/extractor/filesystem/language/java/archive"
	"github.com/google/osv-scalibr/extractor/filesystem/language/java/pomxml"
	"github.com/google/osv-scalibr/extractor/filesystem/language/javascript/packagejson"
	"github.com/google/osv-scalibr/extractor/filesystem/language/javascript/packagelockjson"
	"github.com/google/osv-scalibr/extractor/filesystem/language/javascript/pnpmlock"
	"github.com/google/osv-scalibr/extractor/filesystem/language/javascript/yarnlock"
	"github.com/google/osv-scalibr/extractor/filesystem/language/php/composerlock"
	"github.com/google/osv-scalibr/extractor/filesystem/language/python/pipfilelock"
	"github.com/google/osv-scalibr/extractor/filesystem/language/python/poetrylock"
	"github.com/google/osv-scalibr/extractor/filesystem/language/python/requirements"
	"github.com/google/osv-scalibr/extractor/filesystem/language/python/uvlock"
	"github.com/google/osv-scalibr/extractor/filesystem/language/python/wheelegg"
	"github.com/google/osv-scalibr/extractor/filesystem/language/ruby/gemfilelock"
	"github.com/google/osv-scalibr/extractor/filesystem/language/ruby/gemspec"
	"github.com/google/osv-scalibr/extractor/filesystem/language/rust/cargoauditable"
	"github.com/google/osv-scalibr/extractor/filesystem/language/rust/cargolock"
	"github.com/google/osv-scalibr/extractor/filesystem/os/apk"
	"github.com/google/osv-scalibr/extractor/filesystem/os/dpkg"
	"github.com/google/osv-scalibr/extractor/filesystem/os/rpm"
)

// extractorCtor builds one SCALIBR extractor from its plugin configuration.
type extractorCtor func(*cpb.PluginConfig) (filesystem.Extractor, error)

// catalog is every extractor Vigil runs, grouped by what it reads. Adding an
// ecosystem means adding its SCALIBR extractor here and, if its purl type is
// new, a line in ecosystemOf.
var catalog = []extractorCtor{
	// Operating system package databases.
	dpkg.New, // var/lib/dpkg/status and distroless status.d/
	rpm.New,  // rpmdb.sqlite, Packages (Berkeley DB), Packages.db (ndb)
	apk.New,  // lib/apk/db/installed

	// Go: binaries (build info) and go.mod.
	gobinary.New,
	gomod.New,

	// JavaScript.
	packagelockjson.New, // package-lock.json v1-v3, npm-shrinkwrap.json
	packagejson.New,     // node_modules/**/package.json
	yarnlock.New,
	pnpmlock.New,

	// Python.
	wheelegg.New, // *.dist-info/METADATA, *.egg-info/PKG-INFO
	requirements.New,
	poetrylock.New,
	pipfilelock.New,
	uvlock.New,

	// Java.
	javaarchive.New, // jar/war/ear, nested; pom.properties and MANIFEST.MF
	pomxml.New,

	// Rust.
	cargolock.New,
	cargoauditable.New, // binaries built with cargo-auditable

	// Ruby.
	gemfilelock.New,
	gemspec.New, // installed specifications/*.gemspec

	// PHP.
	composerlock.New,

	// .NET.
	packageslockjson.New,
	depsjson.New,
}

// newExtractors instantiates the catalog with default configuration.
func newExtractors() ([]filesystem.Extractor, error) {
	cfg := &cpb.PluginConfig{}
	out := make([]filesystem.Extractor, 0, len(catalog))
	for _, ctor := range catalog {
		e, err := ctor(cfg)
		if err != nil {
			return nil, fmt.Errorf("init extractor: %w", err)
		}
		out = append(out, e)
	}
	return out, nil
}
