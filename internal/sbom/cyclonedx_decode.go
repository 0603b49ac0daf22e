package sbom

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	cdx "github.com/CycloneDX/cyclonedx-go"

	"github.com/vigil-sec/vigil/internal/asset"
	"github.com/vigil-sec/vigil/internal/inventory"
)

// Extractor names given to packages read from another tool's SBOM.
const (
	extractorCycloneDX = "sbom/cyclonedx"
	extractorSPDX      = "sbom/spdx"
)

// nonPackageTypes are CycloneDX component types that are not packages
// unless they carry a purl.
var nonPackageTypes = map[cdx.ComponentType]bool{
	cdx.ComponentTypeOS:                   true,
	cdx.ComponentTypeContainer:            true,
	cdx.ComponentTypeFile:                 true,
	cdx.ComponentTypeData:                 true,
	cdx.ComponentTypeDevice:               true,
	cdx.ComponentTypePlatform:             true,
	cdx.ComponentTypeMachineLearningModel: true,
	cdx.ComponentTypeCryptographicAsset:   true,
}

func decodeCycloneDX(data []byte, a asset.Asset) (*inventory.Result, error) {
	var bom cdx.BOM
	if err := guard(func() error { return json.Unmarshal(data, &bom) }); err != nil {
		if errors.Is(err, cdx.ErrInvalidSpecVersion) {
			return nil, fmt.Errorf("%w: CycloneDX specVersion (want 1.2 to 1.7)", ErrUnsupportedVersion)
		}
		if errors.Is(err, ErrMalformed) {
			return nil, err
		}
		return nil, jsonError(err)
	}
	if bom.SpecVersion < cdx.SpecVersion1_2 {
		return nil, fmt.Errorf("%w: CycloneDX JSON needs specVersion 1.2 or later", ErrUnsupportedVersion)
	}
	res := &inventory.Result{Asset: a}
	setLabel(&res.Asset, labelSpec, "CycloneDX "+bom.SpecVersion.String())

	var rootRef string
	var docProps props
	if md := bom.Metadata; md != nil {
		setLabel(&res.Asset, labelTool, cdxTool(md.Tools))
		docProps = cdxProps(md.Properties)
		if c := md.Component; c != nil {
			rootRef = c.BOMRef
			setLabel(&res.Asset, labelSubjectName, c.Name)
			ps := cdxProps(c.Properties)
			applyTrivyAssetProps(&res.Asset, ps)
			applyAssetProps(&res.Asset, ps)
		}
	}

	var comps []*cdx.Component
	tooDeep := false
	var walk func(cs *[]cdx.Component, depth int)
	walk = func(cs *[]cdx.Component, depth int) {
		if cs == nil {
			return
		}
		if depth > maxNesting {
			tooDeep = true
			return
		}
		for i := range *cs {
			c := &(*cs)[i]
			comps = append(comps, c)
			walk(c.Components, depth+1)
		}
	}
	if bom.Metadata != nil && bom.Metadata.Component != nil {
		walk(bom.Metadata.Component.Components, 1)
	}
	walk(bom.Components, 0)

	for _, c := range comps {
		p, ok := cdxPackage(c)
		if ok {
			res.Packages = append(res.Packages, p)
			continue
		}
		if c.Type == cdx.ComponentTypeOS && res.Asset.OS == nil {
			o := &asset.OS{ID: strings.ToLower(c.Name), VersionID: c.Version, PrettyName: c.Description}
			applyOSProps(o, cdxProps(c.Properties))
			res.Asset.OS = o
		}
	}

	unknowns, incomplete := unknownsFromProps(docProps)
	res.Unknowns = unknowns
	if bom.Compositions != nil && !incomplete {
		for _, comp := range *bom.Compositions {
			if strings.HasPrefix(string(comp.Aggregate), "incomplete") && cdxCompositionCovers(comp, rootRef) {
				incomplete = true
				break
			}
		}
	}
	if tooDeep {
		res.Unknowns = append(res.Unknowns, inventory.Unknown{Err: fmt.Sprintf("components nested deeper than %d levels were not read", maxNesting)})
	}
	if incomplete && len(unknowns) == 0 {
		res.Unknowns = append(res.Unknowns, inventory.Unknown{Err: "the SBOM says its inventory is incomplete"})
	}
	finish(res)
	return res, nil
}

// cdxCompositionCovers reports whether a composition is about the whole
// document: it names the root component, or nothing in particular.
func cdxCompositionCovers(c cdx.Composition, rootRef string) bool {
	var refs []cdx.BOMReference
	if c.Assemblies != nil {
		refs = append(refs, *c.Assemblies...)
	}
	if c.Dependencies != nil {
		refs = append(refs, *c.Dependencies...)
	}
	if len(refs) == 0 {
		return true
	}
	for _, r := range refs {
		if rootRef != "" && string(r) == rootRef {
			return true
		}
	}
	return false
}

// cdxPackage turns a component into a package, reporting false for
// components that are not packages (the OS, files, application targets).
func cdxPackage(c *cdx.Component) (inventory.Package, bool) {
	ps := cdxProps(c.Properties)
	pu, purlOK := parsePURL(c.PackageURL)
	vigilEco, hasVigil := ps.get(propEcosystem)
	if !purlOK && c.PackageURL == "" && !hasVigil && (c.Version == "" || nonPackageTypes[c.Type]) {
		return inventory.Package{}, false
	}
	eco := inventory.Other
	if purlOK {
		eco = ecosystemOf(pu)
	}
	if hasVigil && vigilEco != "" {
		eco = inventory.Ecosystem(vigilEco)
	}
	p := inventory.Package{
		Name:      packageName(c.Name, c.Group, eco, pu, purlOK),
		Version:   c.Version,
		Ecosystem: eco,
		PURL:      c.PackageURL,
		Extractor: extractorCycloneDX,
	}
	if p.Version == "" && purlOK {
		p.Version = pu.Version
	}
	if purlOK {
		p.Source = upstreamSource(pu)
	}
	if c.Licenses != nil {
		for _, l := range *c.Licenses {
			switch {
			case l.Expression != "":
				p.Licenses = append(p.Licenses, l.Expression)
			case l.License != nil && l.License.ID != "":
				p.Licenses = append(p.Licenses, l.License.ID)
			case l.License != nil && l.License.Name != "":
				p.Licenses = append(p.Licenses, l.License.Name)
			}
		}
	}
	if c.Evidence != nil && c.Evidence.Occurrences != nil {
		for _, o := range *c.Evidence.Occurrences {
			if o.Location != "" {
				p.Locations = append(p.Locations, inventory.Location{Path: o.Location})
			}
		}
	}
	if !hasVigil {
		applyForeignPackageProps(&p, ps)
	}
	applyPackageProps(&p, ps)
	return p, true
}

func cdxProps(ps *[]cdx.Property) props {
	if ps == nil {
		return nil
	}
	out := make(props, len(*ps))
	for i, p := range *ps {
		out[i] = prop{p.Name, p.Value}
	}
	return out
}

// cdxTool names the first tool a document lists, as "name version".
func cdxTool(t *cdx.ToolsChoice) string {
	if t == nil {
		return ""
	}
	switch {
	case t.Components != nil && len(*t.Components) > 0:
		c := (*t.Components)[0]
		return strings.TrimSpace(c.Name + " " + c.Version)
	case t.Services != nil && len(*t.Services) > 0:
		s := (*t.Services)[0]
		return strings.TrimSpace(s.Name + " " + s.Version)
	case t.Tools != nil && len(*t.Tools) > 0:
		tl := (*t.Tools)[0]
		return strings.TrimSpace(tl.Name + " " + tl.Version)
	}
	return ""
}
