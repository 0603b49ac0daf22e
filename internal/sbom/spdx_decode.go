package sbom

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	spdxjson "github.com/spdx/tools-golang/json"
	"github.com/spdx/tools-golang/spdx"
	"github.com/spdx/tools-golang/spdx/v2/common"
	"github.com/spdx/tools-golang/spdx/v2/v2_3"

	"github.com/vigil-sec/vigil/internal/asset"
	"github.com/vigil-sec/vigil/internal/inventory"
)

// maxLicenseText bounds the extracted license text used in place of a
// LicenseRef- identifier.
const maxLicenseText = 1024

func decodeSPDX(data []byte, a asset.Asset, version string) (*inventory.Result, error) {
	var doc *spdx.Document
	err := guard(func() (err error) {
		if version == v2_3.Version {
			// The current model: decode it directly, sparing the generic
			// JSON tree spdxjson.Read builds to find the version.
			doc = &spdx.Document{}
			return json.Unmarshal(data, doc)
		}
		doc, err = spdxjson.Read(bytes.NewReader(data))
		return err
	})
	if errors.Is(err, ErrMalformed) {
		return nil, err
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	res := &inventory.Result{Asset: a}
	setLabel(&res.Asset, labelSpec, version)
	if ci := doc.CreationInfo; ci != nil {
		for _, c := range ci.Creators {
			if c.CreatorType == "Tool" {
				setLabel(&res.Asset, labelTool, c.Creator)
				break
			}
		}
	}

	described := map[common.ElementID]bool{}
	for _, r := range doc.Relationships {
		if r == nil {
			continue
		}
		switch {
		case r.Relationship == common.TypeRelationshipDescribe && r.RefA.ElementRefID == documentID && r.RefA.DocumentRefID == "":
			described[r.RefB.ElementRefID] = true
		case r.Relationship == common.TypeRelationshipDescribeBy && r.RefB.ElementRefID == documentID && r.RefB.DocumentRefID == "":
			described[r.RefA.ElementRefID] = true
		}
	}
	others := map[string]*v2_3.OtherLicense{}
	for _, o := range doc.OtherLicenses {
		if o != nil {
			others[o.LicenseIdentifier] = o
		}
	}

	haveSubject := false
	for _, sp := range doc.Packages {
		if sp == nil {
			continue
		}
		ps := spdxProps(sp.Annotations)
		purl := spdxPURL(sp)
		pu, purlOK := parsePURL(purl)
		vigilEco, hasVigil := ps.get(propEcosystem)
		subjectPURL := purl == "" || purlOK && (pu.Type == "oci" || pu.Type == "docker")
		switch {
		case described[sp.PackageSPDXIdentifier] && subjectPURL && !hasVigil:
			if !haveSubject {
				haveSubject = true
				setLabel(&res.Asset, labelSubjectName, sp.PackageName)
				applyAssetProps(&res.Asset, ps)
			}
			continue
		case sp.PrimaryPackagePurpose == purposeOS && purl == "" && !hasVigil:
			if res.Asset.OS == nil {
				o := &asset.OS{ID: strings.ToLower(sp.PackageName), VersionID: sp.PackageVersion, PrettyName: sp.PackageDescription}
				applyOSProps(o, ps)
				res.Asset.OS = o
			}
			continue
		case purl == "" && !hasVigil && sp.PackageVersion == "":
			continue // an application target, a directory, ...: not a package
		}

		eco := inventory.Other
		if purlOK {
			eco = ecosystemOf(pu)
		}
		if vigilEco != "" {
			eco = inventory.Ecosystem(vigilEco)
		}
		p := inventory.Package{
			Name:      packageName(sp.PackageName, "", eco, pu, purlOK),
			Version:   sp.PackageVersion,
			Ecosystem: eco,
			PURL:      purl,
			Extractor: extractorSPDX,
		}
		if p.Version == "" && purlOK {
			p.Version = pu.Version
		}
		if purlOK {
			p.Source = upstreamSource(pu)
		}
		if ls := ps.all(propLicense); len(ls) > 0 {
			p.Licenses = ls
		} else if l := spdxLicense(sp, others); l != "" {
			p.Licenses = []string{l}
		}
		applyPackageProps(&p, ps)
		res.Packages = append(res.Packages, p)
	}

	unknowns, incomplete := unknownsFromProps(spdxProps(docAnnotations(doc)))
	res.Unknowns = unknowns
	if incomplete && len(unknowns) == 0 {
		res.Unknowns = append(res.Unknowns, inventory.Unknown{Err: "the SBOM says its inventory is incomplete"})
	}
	finish(res)
	return res, nil
}

// docAnnotations returns the annotations on the document itself.
func docAnnotations(doc *spdx.Document) []v2_3.Annotation {
	var out []v2_3.Annotation
	for _, an := range doc.Annotations {
		if an == nil {
			continue
		}
		if id := an.AnnotationSPDXIdentifier; id.ElementRefID == "" || id.ElementRefID == documentID {
			out = append(out, *an)
		}
	}
	return out
}

// spdxProps reads Vigil's "name=value" annotations, ignoring all others.
func spdxProps(ans []v2_3.Annotation) props {
	var ps props
	for _, an := range ans {
		if !strings.HasPrefix(an.AnnotationComment, "vigil:") {
			continue
		}
		if n, v, ok := strings.Cut(an.AnnotationComment, "="); ok {
			ps = append(ps, prop{n, v})
		}
	}
	return ps
}

// spdxPURL returns a package's first purl external reference.
func spdxPURL(p *v2_3.Package) string {
	for _, r := range p.PackageExternalReferences {
		if r != nil && r.RefType == purlRefType && (r.Category == packageManager || r.Category == "PACKAGE_MANAGER") {
			return r.Locator
		}
	}
	return ""
}

// spdxLicense returns the package's declared license (its concluded one if
// it declares none), with a lone LicenseRef- replaced by the text the
// document gives for it.
func spdxLicense(p *v2_3.Package, others map[string]*v2_3.OtherLicense) string {
	l := p.PackageLicenseDeclared
	if l == "" || l == noAssertion || l == none {
		l = p.PackageLicenseConcluded
	}
	if l == "" || l == noAssertion || l == none {
		return ""
	}
	if o, ok := others[l]; ok {
		switch {
		case o.LicenseName != "" && o.LicenseName != noAssertion && len(o.LicenseName) <= maxLicenseText:
			return o.LicenseName
		case o.ExtractedText != "" && len(o.ExtractedText) <= maxLicenseText:
			return o.ExtractedText
		}
	}
	return l
}
