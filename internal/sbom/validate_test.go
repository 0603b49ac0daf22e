package sbom

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"
	spdxjson "github.com/spdx/tools-golang/json"
	"github.com/spdx/tools-golang/spdx/v2/common"
	"github.com/spdx/tools-golang/spdxlib"

	"github.com/vigil-sec/vigil/internal/asset"
	"github.com/vigil-sec/vigil/internal/inventory"
)

// validationResults are the results every validation test encodes: the
// fixture and some edge cases.
func validationResults() map[string]*inventory.Result {
	odd := inventory.Package{
		Name: "weird name/with:chars", Version: "1 2", Ecosystem: inventory.Other,
		PURL:      "pkg:generic/weird@1",
		Licenses:  []string{"GPL", "BSD", "LicenseRef-x", "MIT AND", "(", "Apache-2.0 WITH LLVM-exception", strings.Repeat("very long license text ", 100)},
		Locations: []inventory.Location{{Path: "/opt/weird"}},
	}
	odd.ComputeID()
	dup := odd // the same package twice: refs and SPDX IDs must stay unique
	return map[string]*inventory.Result{
		"fixture": testResult(),
		"empty":   {},
		"odd": {
			Asset:    asset.Asset{ID: "dir:x y", Kind: asset.KindDirectory, Name: "/src/my app"},
			Packages: []inventory.Package{odd, dup, {Name: "noid", Ecosystem: inventory.Npm}},
		},
	}
}

// cyclonedxSchemaDir finds the JSON schemas shipped in the cyclonedx-go
// module, which are the specification's own.
func cyclonedxSchemaDir(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/CycloneDX/cyclonedx-go").Output()
	if err != nil {
		t.Skipf("cannot locate the cyclonedx-go module for its schemas: %v", err)
	}
	dir := filepath.Join(strings.TrimSpace(string(out)), "schema")
	if _, err := os.Stat(filepath.Join(dir, "bom-1.5.schema.json")); err != nil {
		t.Skipf("CycloneDX schemas not found: %v", err)
	}
	return dir
}

func loadSchema(t *testing.T, dir, version string) *jsonschema.Schema {
	t.Helper()
	c := jsonschema.NewCompiler()
	for file, url := range map[string]string{
		"bom-" + version + ".schema.json": "http://cyclonedx.org/schema/bom-" + version + ".schema.json",
		"spdx.schema.json":                "http://cyclonedx.org/schema/spdx.schema.json",
		"jsf-0.82.schemax.json":           "http://cyclonedx.org/schema/jsf-0.82.schema.json",
	} {
		f, err := os.Open(filepath.Join(dir, file))
		if err != nil {
			t.Fatal(err)
		}
		doc, err := jsonschema.UnmarshalJSON(f)
		f.Close()
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		if err := c.AddResource(url, doc); err != nil {
			t.Fatal(err)
		}
	}
	s, err := c.Compile("http://cyclonedx.org/schema/bom-" + version + ".schema.json")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestCycloneDXSchema validates the output against the CycloneDX JSON
// schema of its spec version.
func TestCycloneDXSchema(t *testing.T) {
	dir := cyclonedxSchemaDir(t)
	for _, version := range []string{CycloneDX15, CycloneDX16} {
		schema := loadSchema(t, dir, version)
		for name, r := range validationResults() {
			t.Run(version+"/"+name, func(t *testing.T) {
				var buf bytes.Buffer
				if err := EncodeCycloneDX(&buf, r, EncodeOptions{SpecVersion: version}); err != nil {
					t.Fatal(err)
				}
				doc, err := jsonschema.UnmarshalJSON(&buf)
				if err != nil {
					t.Fatal(err)
				}
				if err := schema.Validate(doc); err != nil {
					t.Errorf("invalid CycloneDX %s: %v", version, err)
				}
			})
		}
	}
}

var serialRE = regexp.MustCompile(`^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

// TestCycloneDXStructure checks what the schema cannot: references resolve,
// bom-refs are unique, the serial number is a name-based UUID.
func TestCycloneDXStructure(t *testing.T) {
	type component struct {
		BOMRef string `json:"bom-ref"`
		Type   string `json:"type"`
		Name   string `json:"name"`
	}
	var doc struct {
		BOMFormat    string `json:"bomFormat"`
		SpecVersion  string `json:"specVersion"`
		SerialNumber string `json:"serialNumber"`
		Version      int    `json:"version"`
		Metadata     struct {
			Timestamp string    `json:"timestamp"`
			Component component `json:"component"`
		} `json:"metadata"`
		Components   []component `json:"components"`
		Dependencies []struct {
			Ref       string   `json:"ref"`
			DependsOn []string `json:"dependsOn"`
		} `json:"dependencies"`
		Compositions []struct {
			Aggregate  string   `json:"aggregate"`
			Assemblies []string `json:"assemblies"`
		} `json:"compositions"`
	}
	for name, r := range validationResults() {
		for _, version := range []string{CycloneDX15, CycloneDX16} {
			t.Run(version+"/"+name, func(t *testing.T) {
				var buf bytes.Buffer
				if err := EncodeCycloneDX(&buf, r, EncodeOptions{SpecVersion: version, Timestamp: fixedTime}); err != nil {
					t.Fatal(err)
				}
				doc.Components, doc.Dependencies, doc.Compositions = nil, nil, nil
				if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
					t.Fatal(err)
				}
				if doc.BOMFormat != "CycloneDX" || doc.SpecVersion != version || doc.Version != 1 {
					t.Errorf("bomFormat, specVersion, version = %q, %q, %d", doc.BOMFormat, doc.SpecVersion, doc.Version)
				}
				if !serialRE.MatchString(doc.SerialNumber) {
					t.Errorf("serialNumber %q is not a version 5 UUID URN", doc.SerialNumber)
				}
				if doc.Metadata.Timestamp != "2025-03-14T15:09:26Z" {
					t.Errorf("timestamp = %q", doc.Metadata.Timestamp)
				}
				refs := map[string]bool{}
				for _, c := range append([]component{doc.Metadata.Component}, doc.Components...) {
					if c.BOMRef == "" || c.Type == "" || c.Name == "" {
						t.Errorf("component %+v lacks a bom-ref, type or name", c)
					}
					if refs[c.BOMRef] {
						t.Errorf("bom-ref %q used twice", c.BOMRef)
					}
					refs[c.BOMRef] = true
				}
				for _, d := range doc.Dependencies {
					for _, ref := range append([]string{d.Ref}, d.DependsOn...) {
						if !refs[ref] {
							t.Errorf("dependency names unknown bom-ref %q", ref)
						}
					}
				}
				if len(doc.Compositions) != 1 {
					t.Fatalf("%d compositions, want 1", len(doc.Compositions))
				}
				want := map[bool]string{true: "incomplete", false: "complete"}[r.Incomplete()]
				if c := doc.Compositions[0]; c.Aggregate != want || len(c.Assemblies) != 1 || c.Assemblies[0] != doc.Metadata.Component.BOMRef {
					t.Errorf("composition = %+v, want %s for the root", c, want)
				}
			})
		}
	}
}

var spdxIDRE = regexp.MustCompile(`^SPDXRef-[A-Za-z0-9.-]+$`)

// TestSPDXValid reads the output back with tools-golang, runs its
// validation, and checks what SPDX 2.3 requires beyond that.
func TestSPDXValid(t *testing.T) {
	for name, r := range validationResults() {
		t.Run(name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := EncodeSPDX(&buf, r, EncodeOptions{Timestamp: fixedTime}); err != nil {
				t.Fatal(err)
			}
			doc, err := spdxjson.Read(bytes.NewReader(buf.Bytes()))
			if err != nil {
				t.Fatalf("tools-golang cannot read the output: %v", err)
			}
			if err := spdxlib.ValidateDocument(doc); err != nil {
				t.Errorf("tools-golang validation: %v", err)
			}
			if doc.SPDXVersion != "SPDX-2.3" || doc.DataLicense != "CC0-1.0" || doc.SPDXIdentifier != "DOCUMENT" || doc.DocumentName == "" {
				t.Errorf("document header = %q %q %q %q", doc.SPDXVersion, doc.DataLicense, doc.SPDXIdentifier, doc.DocumentName)
			}
			if !strings.HasPrefix(doc.DocumentNamespace, namespaceBase) || strings.ContainsAny(doc.DocumentNamespace, " #") {
				t.Errorf("namespace %q", doc.DocumentNamespace)
			}
			if _, err := time.Parse(time.RFC3339, doc.CreationInfo.Created); err != nil || len(doc.CreationInfo.Creators) == 0 {
				t.Errorf("creation info %+v", doc.CreationInfo)
			}
			defined := map[string]bool{}
			for _, o := range doc.OtherLicenses {
				if !strings.HasPrefix(o.LicenseIdentifier, "LicenseRef-") || !spdxIDRE.MatchString("SPDXRef-"+strings.TrimPrefix(o.LicenseIdentifier, "LicenseRef-")) || o.ExtractedText == "" {
					t.Errorf("bad extracted license %+v", o)
				}
				defined[o.LicenseIdentifier] = true
			}
			ids := map[common.ElementID]bool{}
			for _, p := range doc.Packages {
				id := common.RenderElementID(p.PackageSPDXIdentifier)
				if !spdxIDRE.MatchString(id) {
					t.Errorf("SPDXID %q is not valid", id)
				}
				if ids[p.PackageSPDXIdentifier] {
					t.Errorf("SPDXID %q used twice", id)
				}
				ids[p.PackageSPDXIdentifier] = true
				if p.PackageDownloadLocation == "" {
					t.Errorf("%s has no downloadLocation", id)
				}
				for _, l := range []string{p.PackageLicenseDeclared, p.PackageLicenseConcluded} {
					if l == noAssertion {
						continue
					}
					check := l
					for ref := range defined {
						check = strings.ReplaceAll(check, ref, "MIT")
					}
					if _, ok := spdxExpression(check); !ok {
						t.Errorf("%s: license %q is not a valid SPDX expression with defined references", id, l)
					}
				}
				for _, ref := range p.PackageExternalReferences {
					if ref.RefType == purlRefType {
						if _, ok := parsePURL(ref.Locator); !ok || ref.Category != packageManager {
							t.Errorf("%s: bad purl reference %+v", id, ref)
						}
					}
				}
			}
			describes := 0
			for _, rel := range doc.Relationships {
				if rel.Relationship == common.TypeRelationshipDescribe && rel.RefA.ElementRefID == documentID {
					describes++
				}
			}
			if describes != 1 {
				t.Errorf("%d DESCRIBES relationships, want 1", describes)
			}
			if want := len(r.Packages) + 1; len(doc.Relationships) != want+btoi(r.Asset.OS != nil) {
				t.Errorf("%d relationships, want DESCRIBES and one CONTAINS per package", len(doc.Relationships))
			}
		})
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}
