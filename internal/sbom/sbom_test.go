package sbom

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/vigil-sec/vigil/internal/asset"
	"github.com/vigil-sec/vigil/internal/inventory"
)

var update = flag.Bool("update", false, "rewrite testdata/golden files")

var fixedTime = time.Date(2025, 3, 14, 15, 9, 26, 0, time.UTC)

const (
	layer0 = "sha256:1111111111111111111111111111111111111111111111111111111111111111"
	layer1 = "sha256:2222222222222222222222222222222222222222222222222222222222222222"
	layer2 = "sha256:3333333333333333333333333333333333333333333333333333333333333333"
)

// testResult is a scan of a small layered Debian image with packages from
// several ecosystems, one of whose archives could not be read.
func testResult() *inventory.Result {
	a := asset.Asset{
		Kind:        asset.KindImage,
		Name:        "registry.example/shop/api:1.4.2",
		Digest:      "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
		RepoDigests: []string{"registry.example/shop/api@sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"},
		Platform:    "linux/amd64",
		OS:          &asset.OS{ID: "debian", VersionID: "12", Codename: "bookworm", PrettyName: "Debian GNU/Linux 12 (bookworm)"},
		Layers: []asset.Layer{
			{Index: 0, DiffID: layer0, Digest: "sha256:c0", Size: 29_123_456, CreatedBy: "/bin/sh -c #(nop) ADD file:abc in / "},
			{Index: 1, DiffID: layer1, Size: 4096, CreatedBy: "RUN apt-get install -y openssl # buildkit"},
			{Index: 2, DiffID: layer2, CreatedBy: "COPY app /app # buildkit"},
		},
		Labels: map[string]string{"org.opencontainers.image.source": "https://example.invalid/shop/api"},
	}
	a.ID = asset.NewID(asset.KindImage, a.Digest)
	pkgs := []inventory.Package{
		{
			Name: "libssl3", Version: "3.0.15-1~deb12u1", Ecosystem: inventory.Debian,
			PURL:      "pkg:deb/debian/libssl3@3.0.15-1~deb12u1?arch=amd64&distro=debian-12",
			Source:    &inventory.Source{Name: "openssl", Version: "3.0.15-1~deb12u1"},
			Licenses:  []string{"Apache-2.0", "Artistic", "GPL-1.0-or-later"},
			Locations: []inventory.Location{{Path: "/var/lib/dpkg/status", LayerDiffID: layer1, LayerIndex: 1}, {Path: "/usr/share/doc/libssl3/copyright", LayerDiffID: layer1, LayerIndex: 1}},
			Extractor: "os/dpkg",
			Metadata:  map[string]string{"architecture": "amd64", "maintainer": "Debian OpenSSL Team <pkg-openssl-devel@alioth-lists.debian.net>"},
		},
		{
			Name: "libc6", Version: "2.36-9+deb12u9", Ecosystem: inventory.Debian,
			PURL:      "pkg:deb/debian/libc6@2.36-9+deb12u9?arch=amd64&distro=debian-12",
			Source:    &inventory.Source{Name: "glibc"},
			Licenses:  []string{"LGPL-2.1-or-later"},
			Locations: []inventory.Location{{Path: "/var/lib/dpkg/status", LayerDiffID: layer0, LayerIndex: 0}},
			Extractor: "os/dpkg",
		},
		{
			Name: "golang.org/x/net", Version: "v0.33.0", Ecosystem: inventory.Go,
			PURL:      "pkg:golang/golang.org/x/net@v0.33.0",
			Locations: []inventory.Location{{Path: "/app/server", LayerDiffID: layer2, LayerIndex: 2}},
			Extractor: "go/binary",
			Metadata:  map[string]string{"goVersion": "go1.23.4"},
		},
		{
			Name: "@babel/core", Version: "7.26.0", Ecosystem: inventory.Npm,
			PURL:      "pkg:npm/%40babel/core@7.26.0",
			Licenses:  []string{"MIT"},
			Locations: []inventory.Location{{Path: "/app/package-lock.json", LayerDiffID: layer2, LayerIndex: 2}},
			Extractor: "javascript/packagelockjson",
			Direct:    true,
		},
		{
			Name: "org.apache.logging.log4j:log4j-core", Version: "2.17.1", Ecosystem: inventory.Maven,
			PURL:      "pkg:maven/org.apache.logging.log4j/log4j-core@2.17.1",
			Licenses:  []string{"Apache-2.0"},
			Locations: []inventory.Location{{Path: "/app/lib/log4j-core-2.17.1.jar", LayerDiffID: layer2, LayerIndex: 2}},
			Extractor: "java/archive",
		},
		{
			Name: "requests", Version: "2.32.3", Ecosystem: inventory.PyPI,
			PURL:      "pkg:pypi/requests@2.32.3",
			Licenses:  []string{"Apache-2.0 OR MIT"},
			Locations: []inventory.Location{{Path: "/usr/lib/python3/dist-packages/requests-2.32.3.dist-info/METADATA", LayerDiffID: layer1, LayerIndex: 1}},
			Extractor: "python/wheelegg",
		},
		{
			Name: "left-pad", Version: "1.3.0", Ecosystem: inventory.Npm,
			PURL:      "not a purl",
			Licenses:  []string{"WTFPL-ish custom terms"},
			Locations: []inventory.Location{{Path: "/app/node_modules/left-pad/package.json", LayerDiffID: layer2, LayerIndex: 2}},
			Extractor: "javascript/packagejson",
		},
	}
	for i := range pkgs {
		pkgs[i].ComputeID()
	}
	return &inventory.Result{
		Asset:    a,
		Packages: pkgs,
		Unknowns: []inventory.Unknown{{Path: "/app/vendor.tar.gz", Layer: layer2, Extractor: "archive", Err: "archive over the 1 GiB limit"}},
	}
}

var testOpts = EncodeOptions{Tool: "vigil", ToolVersion: "0.1.0-test", Timestamp: fixedTime}

// encoders are the document variants the tests write.
var encoders = []struct {
	name   string
	format Format
	golden string
	encode func(*bytes.Buffer, *inventory.Result) error
}{
	{"cyclonedx-1.5", CycloneDXJSON, "cyclonedx-1.5.json", func(b *bytes.Buffer, r *inventory.Result) error {
		return EncodeCycloneDX(b, r, testOpts)
	}},
	{"cyclonedx-1.6", CycloneDXJSON, "cyclonedx-1.6.json", func(b *bytes.Buffer, r *inventory.Result) error {
		o := testOpts
		o.SpecVersion = CycloneDX16
		return EncodeCycloneDX(b, r, o)
	}},
	{"spdx-2.3", SPDXJSON, "spdx-2.3.json", func(b *bytes.Buffer, r *inventory.Result) error {
		return EncodeSPDX(b, r, testOpts)
	}},
}

func TestGolden(t *testing.T) {
	for _, e := range encoders {
		t.Run(e.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := e.encode(&buf, testResult()); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join("testdata", "golden", e.golden)
			if *update {
				if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if diff := cmp.Diff(string(want), buf.String()); diff != "" {
				t.Errorf("output differs from %s (-want +got; run go test -update if intended):\n%s", path, diff)
			}
		})
	}
}

func TestRoundTrip(t *testing.T) {
	want := testResult()
	want.Sort()
	for _, e := range encoders {
		t.Run(e.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := e.encode(&buf, testResult()); err != nil {
				t.Fatal(err)
			}
			got, f, err := Decode(bytes.NewReader(buf.Bytes()), "scan.json")
			if err != nil {
				t.Fatal(err)
			}
			if f != e.format {
				t.Errorf("format = %q, want %q", f, e.format)
			}
			if diff := cmp.Diff(want.Packages, got.Packages, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("packages (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(want.Unknowns, got.Unknowns); diff != "" {
				t.Errorf("unknowns (-want +got):\n%s", diff)
			}
			if !got.Incomplete() {
				t.Error("decoded result is complete, want incomplete")
			}
			ga := got.Asset
			if ga.Kind != asset.KindSBOM || ga.Name != "scan.json" || ga.ID != asset.NewID(asset.KindSBOM, ga.Digest) {
				t.Errorf("asset kind, name, id = %q, %q, %q", ga.Kind, ga.Name, ga.ID)
			}
			if ga.Digest != sha256Digest(buf.Bytes()) {
				t.Errorf("asset digest = %q, want the document's sha256", ga.Digest)
			}
			wa := want.Asset
			if diff := cmp.Diff(wa.OS, ga.OS); diff != "" {
				t.Errorf("OS (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(wa.Layers, ga.Layers); diff != "" {
				t.Errorf("layers (-want +got):\n%s", diff)
			}
			if ga.Platform != wa.Platform {
				t.Errorf("platform = %q, want %q", ga.Platform, wa.Platform)
			}
			if diff := cmp.Diff(wa.RepoDigests, ga.RepoDigests); diff != "" {
				t.Errorf("repo digests (-want +got):\n%s", diff)
			}
			wantLabels := map[string]string{
				"org.opencontainers.image.source": "https://example.invalid/shop/api",
				labelSubjectName:                  wa.Name,
				labelSubjectKind:                  string(wa.Kind),
				labelSubjectID:                    wa.ID,
				labelSubjectDigest:                wa.Digest,
				labelTool:                         map[Format]string{CycloneDXJSON: "vigil 0.1.0-test", SPDXJSON: "vigil-0.1.0-test"}[e.format],
				labelSpec:                         map[string]string{"cyclonedx-1.5": "CycloneDX 1.5", "cyclonedx-1.6": "CycloneDX 1.6", "spdx-2.3": "SPDX-2.3"}[e.name],
			}
			if diff := cmp.Diff(wantLabels, ga.Labels); diff != "" {
				t.Errorf("labels (-want +got):\n%s", diff)
			}
		})
	}
}

// TestRoundTripEdges covers results the fixture does not: empty, complete,
// no OS, a host, packages without locations or licenses.
func TestRoundTripEdges(t *testing.T) {
	bare := inventory.Package{Name: "zlib", Version: "1.3", Ecosystem: inventory.Other, Extractor: "misc"}
	bare.ComputeID()
	multi := inventory.Package{
		Name: "tool", Version: "1", Ecosystem: inventory.Cargo, PURL: "pkg:cargo/tool@1",
		Licenses:  []string{"mit", "", "MIT AND Apache-2.0", "LicenseRef-Acme"},
		Locations: []inventory.Location{{Path: "/a"}, {Path: "/b", LayerDiffID: layer1, LayerIndex: 1}, {Path: "/b"}},
		Extractor: "rust/cargolock",
		Metadata:  map[string]string{"odd=key%3D%": "a=b", "": "empty key"},
	}
	multi.ComputeID()
	tests := []struct {
		name string
		r    inventory.Result
	}{
		{"empty", inventory.Result{}},
		{"host complete", inventory.Result{
			Asset:    asset.Asset{ID: "host:1", Kind: asset.KindHost, Name: "web-1", OS: &asset.OS{ID: "alpine", VersionID: "3.21.0"}},
			Packages: []inventory.Package{bare},
		}},
		{"directory", inventory.Result{
			Asset:    asset.Asset{Kind: asset.KindDirectory, Name: "/src/app", Labels: map[string]string{"k=v%": "=", "plain": ""}},
			Packages: []inventory.Package{multi, bare},
			Unknowns: []inventory.Unknown{{Err: "walk: permission denied"}, {Path: "/src/app/x.jar"}},
		}},
	}
	for _, tt := range tests {
		for _, e := range encoders {
			t.Run(tt.name+"/"+e.name, func(t *testing.T) {
				var buf bytes.Buffer
				if err := e.encode(&buf, &tt.r); err != nil {
					t.Fatal(err)
				}
				got, _, err := Decode(&buf, "x")
				if err != nil {
					t.Fatal(err)
				}
				want := tt.r
				want.Packages = slices.Clone(want.Packages)
				want.Sort()
				for i := range want.Packages {
					// Empty license strings are not written.
					want.Packages[i].Licenses = slices.DeleteFunc(slices.Clone(want.Packages[i].Licenses), func(s string) bool { return s == "" })
				}
				if diff := cmp.Diff(want.Packages, got.Packages, cmpopts.EquateEmpty()); diff != "" {
					t.Errorf("packages (-want +got):\n%s", diff)
				}
				if diff := cmp.Diff(want.Unknowns, got.Unknowns, cmpopts.EquateEmpty()); diff != "" {
					t.Errorf("unknowns (-want +got):\n%s", diff)
				}
				if diff := cmp.Diff(want.Asset.OS, got.Asset.OS); diff != "" {
					t.Errorf("OS (-want +got):\n%s", diff)
				}
				for k, v := range want.Asset.Labels {
					if got, ok := got.Asset.Labels[k]; v != "" && (!ok || got != v) {
						t.Errorf("label %q = %q, want %q", k, got, v)
					}
				}
				if got.Asset.Labels[labelSubjectKind] != string(want.Asset.Kind) {
					t.Errorf("subject kind label = %q, want %q", got.Asset.Labels[labelSubjectKind], want.Asset.Kind)
				}
			})
		}
	}
}

func sha256Digest(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}
