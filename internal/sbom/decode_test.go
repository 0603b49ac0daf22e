package sbom

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/vigil-sec/vigil/internal/asset"
	"github.com/vigil-sec/vigil/internal/inventory"
)

// summary is a package as one line, for readable expectations.
func summary(p inventory.Package) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s %s", p.Ecosystem, p.Name, p.Version)
	if p.Source != nil {
		fmt.Fprintf(&b, " src=%s", p.Source.Name)
		if p.Source.Version != "" {
			fmt.Fprintf(&b, "@%s", p.Source.Version)
		}
	}
	if len(p.Licenses) > 0 {
		fmt.Fprintf(&b, " lic=%q", p.Licenses)
	}
	for _, l := range p.Locations {
		fmt.Fprintf(&b, " loc=%s", l.Path)
		if l.LayerDiffID != "" {
			fmt.Fprintf(&b, "@%d:%s", l.LayerIndex, l.LayerDiffID[:min(len(l.LayerDiffID), 15)])
		}
	}
	return b.String()
}

// TestDecodeOtherTools reads documents written by hand in the style of
// other SBOM tools, following the published specifications.
func TestDecodeOtherTools(t *testing.T) {
	tests := []struct {
		file       string
		format     Format
		os         *asset.OS
		layers     int
		labels     map[string]string
		packages   []string
		incomplete bool
	}{
		{
			file:   "cdx14-syft-style.json",
			format: CycloneDXJSON,
			os:     &asset.OS{ID: "alpine", VersionID: "3.19.1", PrettyName: "Alpine Linux v3.19"},
			labels: map[string]string{labelSpec: "CycloneDX 1.4", labelSubjectName: "alpine:3.19", labelTool: "syft 0.105.0"},
			packages: []string{
				`Alpine busybox 1.36.1-r15 src=busybox lic=["GPL-2.0-only"] loc=/lib/apk/db/installed@0:sha256:d4fc045c`,
				`Alpine libcrypto3 3.1.4-r5 src=openssl lic=["Apache-2.0"] loc=/lib/apk/db/installed@0:sha256:d4fc045c`,
				`Alpine musl 1.2.4_git20230717-r4 src=musl lic=["MIT"] loc=/lib/apk/db/installed@0:sha256:d4fc045c`,
				`Go github.com/spf13/cobra v1.8.0 loc=/usr/local/bin/app@0:sha256:7a5e1f3b`,
			},
		},
		{
			file:   "cdx15-trivy-style.json",
			format: CycloneDXJSON,
			os:     &asset.OS{ID: "debian", VersionID: "12.5"},
			layers: 2,
			labels: map[string]string{
				labelSpec: "CycloneDX 1.5", labelSubjectName: "debian:12", labelTool: "trivy 0.50.1",
				labelSubjectDigest: "sha256:52f7d4cf2fbe7a4b2c1d0e9f8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d2e1f0a9b",
			},
			packages: []string{
				`Debian libc6 2.36-9+deb12u4 src=glibc@2.36-9+deb12u4 lic=["LGPL-2.1" "GPL-2.0"] loc=@0:sha256:1a5fc118`,
				`PyPI Flask 3.0.2 lic=["BSD-3-Clause"] loc=/usr/local/lib/python3.11/site-packages/Flask-3.0.2.dist-info/METADATA@1:sha256:2b6ad229`,
			},
		},
		{
			file:   "cdx16-nested.json",
			format: CycloneDXJSON,
			labels: map[string]string{labelSpec: "CycloneDX 1.6", labelSubjectName: "shop-web", labelTool: "shop-build-plugin 2.1.0"},
			packages: []string{
				`Maven com.example.shop:checkout 5.2.0 loc=/opt/shop/checkout.jar`,
				`Maven com.fasterxml.jackson.core:jackson-databind 2.16.1 lic=["Apache-2.0"] loc=/opt/shop/checkout.jar!/BOOT-INF/lib/jackson-databind-2.16.1.jar`,
				`NuGet Newtonsoft.Json 13.0.3`,
				`Other internal-blob 7`,
				`Other zlib 1.3.1`,
				`Packagist monolog/monolog 3.5.0`,
				`RubyGems rack 3.0.9 lic=["MIT License"]`,
				`crates.io serde 1.0.197 lic=["MIT OR Apache-2.0"]`,
				`npm @angular/core 17.3.0 lic=["MIT"]`,
			},
			incomplete: true, // its composition says incomplete_first_party_only
		},
		{
			file:   "spdx22-trivy-style.json",
			format: SPDXJSON,
			os:     &asset.OS{ID: "redhat", VersionID: "9.3"},
			labels: map[string]string{labelSpec: "SPDX-2.2", labelSubjectName: "registry.example/tools/cli:2.0", labelTool: "trivy-0.48.0"},
			packages: []string{
				`Go github.com/sirupsen/logrus v1.9.3`,
				`RPM openssl 3.0.7-27.el9 src=openssl@3.0.7-27.el9 lic=["Apache-2.0"]`,
			},
		},
		{
			file:   "spdx23-syft-style.json",
			format: SPDXJSON,
			os:     &asset.OS{ID: "ubuntu", VersionID: "22.04"},
			labels: map[string]string{labelSpec: "SPDX-2.3", labelSubjectName: "ubuntu", labelTool: "syft-1.0.1"},
			packages: []string{
				`Debian bash 5.1-6ubuntu1.1 lic=["GPL-3.0-only"]`,
				`Debian libssl3 3.0.2-0ubuntu1.15 src=openssl lic=["Ubuntu OpenSSL terms"]`,
				`Debian tzdata 2024a-0ubuntu0.22.04`,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("testdata", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			r, f, err := Decode(bytes.NewReader(data), tt.file)
			if err != nil {
				t.Fatal(err)
			}
			if f != tt.format {
				t.Errorf("format = %q, want %q", f, tt.format)
			}
			var got []string
			for _, p := range r.Packages {
				got = append(got, summary(p))
				if p.ID == "" {
					t.Errorf("package %s has no ID", p.Name)
				}
			}
			if diff := cmp.Diff(tt.packages, got); diff != "" {
				t.Errorf("packages (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.os, r.Asset.OS); diff != "" {
				t.Errorf("OS (-want +got):\n%s", diff)
			}
			if len(r.Asset.Layers) != tt.layers {
				t.Errorf("%d layers, want %d", len(r.Asset.Layers), tt.layers)
			}
			if diff := cmp.Diff(tt.labels, r.Asset.Labels); diff != "" {
				t.Errorf("labels (-want +got):\n%s", diff)
			}
			if r.Incomplete() != tt.incomplete {
				t.Errorf("incomplete = %v, want %v (unknowns %v)", r.Incomplete(), tt.incomplete, r.Unknowns)
			}
			if r.Asset.Kind != asset.KindSBOM || r.Asset.Name != tt.file || r.Asset.Digest != sha256Digest(data) {
				t.Errorf("asset = %+v, want kind sbom named %s with the document's digest", r.Asset, tt.file)
			}
		})
	}
}

func TestDecodeErrors(t *testing.T) {
	deep := strings.Repeat("[", 20000) + strings.Repeat("]", 20000)
	tests := []struct {
		name  string
		input string
		want  error
	}{
		{"empty", "", ErrUnknownFormat},
		{"whitespace", " \n\t", ErrUnknownFormat},
		{"not JSON", "hello", ErrUnknownFormat},
		{"array", `[{"bomFormat":"CycloneDX"}]`, ErrUnknownFormat},
		{"string", `"CycloneDX"`, ErrUnknownFormat},
		{"XML", `<?xml version="1.0"?><bom xmlns="http://cyclonedx.org/schema/bom/1.5"/>`, ErrUnknownFormat},
		{"tag-value", "SPDXVersion: SPDX-2.3\nDataLicense: CC0-1.0\n", ErrUnknownFormat},
		{"neither format", `{"name":"x","packages":[]}`, ErrUnknownFormat},
		{"other bomFormat", `{"bomFormat":"SWID"}`, ErrUnknownFormat},
		{"truncated CycloneDX", `{"bomFormat":"CycloneDX","specVersion":"1.5","components":[{"type":"library","name":"a"`, ErrMalformed},
		{"truncated SPDX", `{"spdxVersion":"SPDX-2.3","packages":[`, ErrMalformed},
		{"trailing garbage", `{"bomFormat":"CycloneDX","specVersion":"1.5"} x`, ErrMalformed},
		{"deep nesting", `{"bomFormat":"CycloneDX","x":` + deep + `}`, ErrMalformed},
		{"components not an array", `{"bomFormat":"CycloneDX","specVersion":"1.5","components":{"a":1}}`, ErrMalformed},
		{"name not a string", `{"bomFormat":"CycloneDX","specVersion":"1.5","components":[{"type":"library","name":7}]}`, ErrMalformed},
		{"spdxVersion not a string", `{"spdxVersion":2.3}`, ErrMalformed},
		{"SPDX packages wrong type", `{"spdxVersion":"SPDX-2.3","SPDXID":"SPDXRef-DOCUMENT","packages":"all"}`, ErrMalformed},
		{"SPDX bad SPDXID", `{"spdxVersion":"SPDX-2.3","SPDXID":"DOCUMENT","packages":[]}`, ErrMalformed},
		{"CycloneDX 2.0", `{"bomFormat":"CycloneDX","specVersion":"2.0"}`, ErrUnsupportedVersion},
		{"CycloneDX 1.1", `{"bomFormat":"CycloneDX","specVersion":"1.1"}`, ErrUnsupportedVersion},
		{"CycloneDX no version", `{"bomFormat":"CycloneDX"}`, ErrUnsupportedVersion},
		{"SPDX 3.0", `{"spdxVersion":"SPDX-3.0"}`, ErrUnsupportedVersion},
		{"SPDX 3 JSON-LD", `{"@context":"https://spdx.org/rdf/3.0.1/spdx-context.jsonld","@graph":[]}`, ErrUnsupportedVersion},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, f, err := Decode(strings.NewReader(tt.input), "doc.json")
			if !errors.Is(err, tt.want) {
				t.Fatalf("Decode = %v, %q, %v; want error %v", r, f, err, tt.want)
			}
			if !strings.Contains(err.Error(), "doc.json") {
				t.Errorf("error %q does not name the document", err)
			}
		})
	}
}

func TestDecodeTooLarge(t *testing.T) {
	doc := `{"bomFormat":"CycloneDX","specVersion":"1.5","version":1}`
	if _, _, err := decode(strings.NewReader(doc), "x", int64(len(doc))); err != nil {
		t.Fatalf("document at the limit: %v", err)
	}
	_, _, err := decode(strings.NewReader(doc+" "), "x", int64(len(doc)))
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("document over the limit: err = %v, want ErrTooLarge", err)
	}
	if testing.Short() {
		t.Skip("skipping the full-size read in -short mode")
	}
	// The real limit, fed from a reader that never ends: Decode must stop.
	_, _, err = Decode(endless{}, "endless")
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("endless document: err = %v, want ErrTooLarge", err)
	}
}

// endless is a JSON document that never ends: "[" forever.
type endless struct{}

func (endless) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = '['
	}
	return len(p), nil
}

func TestDecodeReadError(t *testing.T) {
	_, _, err := Decode(io.MultiReader(strings.NewReader("{"), errReader{}), "x")
	if err == nil || !strings.Contains(err.Error(), "disk on fire") {
		t.Fatalf("err = %v, want the reader's error", err)
	}
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("disk on fire") }

func TestDecodeDeepComponents(t *testing.T) {
	// Components nested past the limit are reported, not followed.
	var b strings.Builder
	b.WriteString(`{"bomFormat":"CycloneDX","specVersion":"1.5","components":[`)
	const depth = maxNesting + 10
	for i := range depth {
		fmt.Fprintf(&b, `{"type":"library","name":"c%d","version":"1","purl":"pkg:npm/c%d@1","components":[`, i, i)
	}
	b.WriteString(strings.Repeat("]}", depth) + "]}")
	r, _, err := Decode(strings.NewReader(b.String()), "deep")
	if err != nil {
		t.Fatal(err)
	}
	if n := len(r.Packages); n != maxNesting+1 {
		t.Errorf("%d packages, want %d", n, maxNesting+1)
	}
	if !r.Incomplete() {
		t.Error("result is complete, want an unknown for the components not read")
	}
}

func TestDecodeCompositions(t *testing.T) {
	tests := []struct {
		name        string
		composition string
		incomplete  bool
	}{
		{"complete", `{"aggregate":"complete","assemblies":["root"]}`, false},
		{"incomplete root", `{"aggregate":"incomplete","assemblies":["root"]}`, true},
		{"incomplete whole document", `{"aggregate":"incomplete"}`, true},
		{"incomplete elsewhere", `{"aggregate":"incomplete","assemblies":["lib"]}`, false},
		{"unknown", `{"aggregate":"unknown","assemblies":["root"]}`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc := `{"bomFormat":"CycloneDX","specVersion":"1.5","metadata":{"component":{"bom-ref":"root","type":"application","name":"r"}},
				"components":[{"bom-ref":"lib","type":"library","name":"l","version":"1"}],"compositions":[` + tt.composition + `]}`
			r, _, err := Decode(strings.NewReader(doc), "x")
			if err != nil {
				t.Fatal(err)
			}
			if r.Incomplete() != tt.incomplete {
				t.Errorf("incomplete = %v, want %v", r.Incomplete(), tt.incomplete)
			}
		})
	}
}

// TestDecodeGoPURLCase: Go module paths keep their case when only the purl
// carries the path (packageurl-go lowercases it), so they still match the
// Go vulnerability database's case-sensitive names.
func TestDecodeGoPURLCase(t *testing.T) {
	doc := `{"bomFormat":"CycloneDX","specVersion":"1.5","version":1,"components":[
	 {"type":"library","name":"blocky","version":"v0.28.0","purl":"pkg:golang/github.com/0xERR0R/blocky@v0.28.0"}]}`
	res, _, err := Decode(strings.NewReader(doc), "case.json")
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Packages) != 1 || res.Packages[0].Name != "github.com/0xERR0R/blocky" {
		t.Fatalf("packages = %+v, want github.com/0xERR0R/blocky", res.Packages)
	}
}
