package sbom

import (
	"fmt"
	"io"
	"strings"

	cdx "github.com/CycloneDX/cyclonedx-go"

	"github.com/vigil-sec/vigil/internal/asset"
	"github.com/vigil-sec/vigil/internal/inventory"
)

// EncodeCycloneDX writes r to w as a CycloneDX JSON document (1.5 unless
// opts.SpecVersion says "1.6"). The same result and options give the same
// bytes, the timestamp aside: the serial number is derived from the content.
func EncodeCycloneDX(w io.Writer, r *inventory.Result, opts EncodeOptions) error {
	bom, err := cycloneDXBOM(r, opts)
	if err != nil {
		return err
	}
	return writeCycloneDX(w, bom)
}

// cycloneDXBOM builds the BOM EncodeCycloneDX writes, for it and for
// EncodeCycloneDXReport, which adds to it.
func cycloneDXBOM(r *inventory.Result, opts EncodeOptions) (*cdx.BOM, error) {
	spec := opts.SpecVersion
	var sv cdx.SpecVersion
	switch spec {
	case "", CycloneDX15:
		spec, sv = CycloneDX15, cdx.SpecVersion1_5
	case CycloneDX16:
		sv = cdx.SpecVersion1_6
	default:
		return nil, fmt.Errorf("encode CycloneDX %q: %w (want %s or %s)", spec, ErrUnsupportedVersion, CycloneDX15, CycloneDX16)
	}
	r = sortedCopy(r)
	hash, err := contentHash(CycloneDXJSON, spec, r, opts)
	if err != nil {
		return nil, fmt.Errorf("encode CycloneDX: %w", err)
	}

	refs := newUniqueIDs()
	licenses := licenseCache{}
	root := cdxAssetComponent(&r.Asset, refs)
	comps := []cdx.Component{}
	if r.Asset.OS != nil {
		comps = append(comps, cdxOSComponent(r.Asset.OS, refs))
	}
	for i := range r.Packages {
		comps = append(comps, cdxPackageComponent(&r.Packages[i], refs, licenses, sv))
	}
	dependsOn := make([]string, len(comps))
	for i, c := range comps {
		dependsOn[i] = c.BOMRef
	}
	aggregate := cdx.CompositionAggregateComplete
	if r.Incomplete() {
		aggregate = cdx.CompositionAggregateIncomplete
	}

	// The BOM is built for its spec version (nothing is set that sv lacks),
	// so it is encoded as is: the library's EncodeVersion would deep-copy it
	// through gob to convert it, at a cost larger than the encoding itself.
	bom := cdx.NewBOM()
	bom.SpecVersion = sv
	bom.JSONSchema = "http://cyclonedx.org/schema/bom-" + spec + ".schema.json"
	bom.SerialNumber = nameUUID(hash)
	bom.Version = 1
	bom.Metadata = &cdx.Metadata{
		Timestamp: opts.timestamp(),
		Tools: &cdx.ToolsChoice{Components: &[]cdx.Component{{
			Type:    cdx.ComponentTypeApplication,
			Name:    opts.tool(),
			Version: opts.ToolVersion,
		}}},
		Component:  root,
		Properties: cdxProperties(resultProps(r)),
	}
	bom.Components = &comps
	bom.Dependencies = &[]cdx.Dependency{{Ref: root.BOMRef, Dependencies: &dependsOn}}
	bom.Compositions = &[]cdx.Composition{{
		Aggregate:    aggregate,
		Assemblies:   &[]cdx.BOMReference{cdx.BOMReference(root.BOMRef)},
		Dependencies: &[]cdx.BOMReference{cdx.BOMReference(root.BOMRef)},
	}}
	return bom, nil
}

func writeCycloneDX(w io.Writer, bom *cdx.BOM) error {
	enc := cdx.NewBOMEncoder(w, cdx.BOMFileFormatJSON).SetPretty(true).SetEscapeHTML(false)
	if err := enc.Encode(bom); err != nil {
		return fmt.Errorf("encode CycloneDX: %w", err)
	}
	return nil
}

// cdxAssetComponent describes the scanned asset as metadata.component.
func cdxAssetComponent(a *asset.Asset, refs *uniqueIDs) *cdx.Component {
	typ := cdx.ComponentTypeFile
	switch a.Kind {
	case asset.KindImage, asset.KindContainer:
		typ = cdx.ComponentTypeContainer
	case asset.KindHost, asset.KindRootFS:
		typ = cdx.ComponentTypeOS
	}
	return &cdx.Component{
		BOMRef:     refs.take(firstNonEmpty(a.ID, "asset")),
		Type:       typ,
		Name:       firstNonEmpty(a.Name, a.ID, string(a.Kind), "unknown"),
		Properties: cdxProperties(assetProps(a)),
	}
}

func cdxOSComponent(o *asset.OS, refs *uniqueIDs) cdx.Component {
	ref := "os:" + o.ID
	if o.VersionID != "" {
		ref += "@" + o.VersionID
	}
	return cdx.Component{
		BOMRef:      refs.take(ref),
		Type:        cdx.ComponentTypeOS,
		Name:        firstNonEmpty(o.ID, "unknown"),
		Version:     o.VersionID,
		Description: o.PrettyName,
		Properties:  cdxProperties(osProps(o)),
	}
}

func cdxPackageComponent(p *inventory.Package, refs *uniqueIDs, licenses licenseCache, sv cdx.SpecVersion) cdx.Component {
	c := cdx.Component{
		BOMRef:  refs.take(firstNonEmpty(p.ID, "package")),
		Type:    cdx.ComponentTypeLibrary,
		Name:    p.Name,
		Version: p.Version,
	}
	// Maven's convention: the group apart from the artifact.
	if p.Ecosystem == inventory.Maven {
		if g, a, ok := strings.Cut(p.Name, ":"); ok && g != "" && a != "" {
			c.Group, c.Name = g, a
		}
	}
	_, purlOK := parsePURL(p.PURL)
	if purlOK {
		c.PackageURL = p.PURL
	}
	c.Licenses = cdxLicenses(p.Licenses, licenses, sv)
	c.Properties = cdxProperties(packageProps(p, purlOK, false))
	var occ []cdx.EvidenceOccurrence
	for _, l := range p.Locations {
		if l.Path != "" {
			occ = append(occ, cdx.EvidenceOccurrence{Location: l.Path})
		}
	}
	if len(occ) > 0 {
		c.Evidence = &cdx.Evidence{Occurrences: &occ}
	}
	return c
}

// cdxLicenses writes the declared licenses: one SPDX expression alone as an
// expression, SPDX identifiers as ids, anything else as a name, so that each
// string comes back as it was written.
func cdxLicenses(ls []string, cache licenseCache, sv cdx.SpecVersion) *cdx.Licenses {
	var out cdx.Licenses
	declared := cdx.LicenseAcknowledgementDeclared
	if len(ls) == 1 && !cache.isID(ls[0]) {
		if norm, ok := cache.expression(ls[0]); ok && norm == ls[0] {
			choice := cdx.LicenseChoice{Expression: norm}
			if sv >= cdx.SpecVersion1_6 {
				choice.Acknowledgement = &declared
			}
			return &cdx.Licenses{choice}
		}
	}
	for _, l := range ls {
		if l == "" {
			continue
		}
		lic := &cdx.License{Name: l}
		if sv >= cdx.SpecVersion1_6 {
			lic.Acknowledgement = declared
		}
		if cache.isID(l) {
			lic.ID, lic.Name = l, ""
		}
		out = append(out, cdx.LicenseChoice{License: lic})
	}
	if len(out) == 0 {
		return nil
	}
	return &out
}

func cdxProperties(ps []prop) *[]cdx.Property {
	if len(ps) == 0 {
		return nil
	}
	out := make([]cdx.Property, len(ps))
	for i, p := range ps {
		out[i] = cdx.Property{Name: p.name, Value: p.value}
	}
	return &out
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}
