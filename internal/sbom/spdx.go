package sbom

import (
	"fmt"
	"io"
	"strconv"
	"strings"

	spdxjson "github.com/spdx/tools-golang/json"
	"github.com/spdx/tools-golang/spdx/v2/common"
	"github.com/spdx/tools-golang/spdx/v2/v2_3"

	"github.com/vigil-sec/vigil/internal/asset"
	"github.com/vigil-sec/vigil/internal/inventory"
)

// SPDX values used by both the encoder and the decoder.
const (
	noAssertion         = "NOASSERTION"
	none                = "NONE"
	purlRefType         = "purl"
	packageManager      = "PACKAGE-MANAGER"
	documentID          = "DOCUMENT"
	purposeOS           = "OPERATING-SYSTEM"
	annotationTypeOther = "OTHER"
)

// namespaceBase is where Vigil's SPDX document namespaces live: a reserved
// name that no one can resolve, since the documents are not published.
const namespaceBase = "https://vigil.invalid/spdx/"

// EncodeSPDX writes r to w as an SPDX 2.3 JSON document. opts.SpecVersion
// must be empty or "2.3". The same result and options give the same bytes,
// the timestamp aside: the document namespace is derived from the content.
func EncodeSPDX(w io.Writer, r *inventory.Result, opts EncodeOptions) error {
	if v := opts.SpecVersion; v != "" && v != SPDX23 {
		return fmt.Errorf("encode SPDX %q: %w (want %s)", v, ErrUnsupportedVersion, SPDX23)
	}
	r = sortedCopy(r)
	hash, err := contentHash(SPDXJSON, SPDX23, r, opts)
	if err != nil {
		return fmt.Errorf("encode SPDX: %w", err)
	}
	e := spdxEncoder{
		created:   opts.timestamp(),
		annotator: common.Annotator{AnnotatorType: "Tool", Annotator: spdxToolName(opts)},
		ids:       newUniqueIDs(documentID),
		licenses:  licenseCache{},
	}
	a := &r.Asset
	name := firstNonEmpty(a.Name, a.ID, "unknown")
	doc := &v2_3.Document{
		SPDXVersion:       v2_3.Version,
		DataLicense:       v2_3.DataLicense,
		SPDXIdentifier:    documentID,
		DocumentName:      name,
		DocumentNamespace: namespaceBase + safeName(name) + "-" + hash[:32],
		CreationInfo: &v2_3.CreationInfo{
			Creators: []common.Creator{{CreatorType: "Tool", Creator: spdxToolName(opts)}},
			Created:  e.created,
		},
	}
	for _, an := range e.annotations(resultProps(r)) {
		an.AnnotationSPDXIdentifier = common.MakeDocElementID("", documentID)
		doc.Annotations = append(doc.Annotations, &an)
	}
	if r.Incomplete() {
		doc.DocumentComment = fmt.Sprintf("Incomplete inventory: %d part(s) of the asset could not be read, so the absence of a package proves nothing. See the %s annotations.", len(r.Unknowns), propUnknownPrefix)
	}

	root := e.rootPackage(a, name)
	doc.Packages = append(doc.Packages, root)
	doc.Relationships = append(doc.Relationships, relationship(documentID, root.PackageSPDXIdentifier, common.TypeRelationshipDescribe))
	if a.OS != nil {
		p := e.osPackage(a.OS)
		doc.Packages = append(doc.Packages, p)
		doc.Relationships = append(doc.Relationships, relationship(root.PackageSPDXIdentifier, p.PackageSPDXIdentifier, common.TypeRelationshipContains))
	}
	for i := range r.Packages {
		p := e.pkg(&r.Packages[i])
		doc.Packages = append(doc.Packages, p)
		doc.Relationships = append(doc.Relationships, relationship(root.PackageSPDXIdentifier, p.PackageSPDXIdentifier, common.TypeRelationshipContains))
	}
	doc.OtherLicenses = e.otherLicenses

	if err := spdxjson.Write(doc, w, spdxjson.Indent("  "), spdxjson.EscapeHTML(false)); err != nil {
		return fmt.Errorf("encode SPDX: %w", err)
	}
	return nil
}

// spdxToolName is the tool as SPDX creators name it: "name-version".
func spdxToolName(opts EncodeOptions) string {
	if opts.ToolVersion == "" {
		return opts.tool()
	}
	return opts.tool() + "-" + opts.ToolVersion
}

type spdxEncoder struct {
	created       string
	annotator     common.Annotator
	ids           *uniqueIDs
	otherLicenses []*v2_3.OtherLicense
	refs          map[string]bool // LicenseRef- identifiers already defined
	licenses      licenseCache
}

func (e *spdxEncoder) id(s string) common.ElementID {
	return common.ElementID(e.ids.take(idChars(s)))
}

func (e *spdxEncoder) annotations(ps []prop) []v2_3.Annotation {
	out := make([]v2_3.Annotation, len(ps))
	for i, p := range ps {
		out[i] = v2_3.Annotation{
			Annotator:         e.annotator,
			AnnotationDate:    e.created,
			AnnotationType:    annotationTypeOther,
			AnnotationComment: p.name + "=" + p.value,
		}
	}
	return out
}

// bare returns a package with the fields SPDX requires, asserting nothing.
func bare(id common.ElementID, name string) *v2_3.Package {
	return &v2_3.Package{
		PackageName:               name,
		PackageSPDXIdentifier:     id,
		PackageDownloadLocation:   noAssertion,
		FilesAnalyzed:             false,
		IsFilesAnalyzedTagPresent: true,
		PackageLicenseConcluded:   noAssertion,
		PackageLicenseDeclared:    noAssertion,
		PackageCopyrightText:      noAssertion,
	}
}

func (e *spdxEncoder) rootPackage(a *asset.Asset, name string) *v2_3.Package {
	p := bare(e.id(firstNonEmpty(a.ID, "Asset")), name)
	switch a.Kind {
	case asset.KindImage, asset.KindContainer:
		p.PrimaryPackagePurpose = "CONTAINER"
	case asset.KindHost, asset.KindRootFS:
		p.PrimaryPackagePurpose = purposeOS
	case asset.KindDirectory:
		p.PrimaryPackagePurpose = "FILE"
	default:
		p.PrimaryPackagePurpose = "OTHER"
	}
	p.Annotations = e.annotations(assetProps(a))
	return p
}

func (e *spdxEncoder) osPackage(o *asset.OS) *v2_3.Package {
	p := bare(e.id("OS-"+o.ID+"-"+o.VersionID), firstNonEmpty(o.ID, "unknown"))
	p.PackageVersion = o.VersionID
	p.PackageDescription = o.PrettyName
	p.PrimaryPackagePurpose = purposeOS
	p.Annotations = e.annotations(osProps(o))
	return p
}

func (e *spdxEncoder) pkg(pk *inventory.Package) *v2_3.Package {
	p := bare(e.id(firstNonEmpty(pk.ID, "Package")), pk.Name)
	p.PackageVersion = pk.Version
	p.PrimaryPackagePurpose = "LIBRARY"
	_, purlOK := parsePURL(pk.PURL)
	if purlOK {
		p.PackageExternalReferences = []*v2_3.PackageExternalReference{{
			Category: packageManager,
			RefType:  purlRefType,
			Locator:  pk.PURL,
		}}
	}
	p.PackageSourceInfo = sourceInfo(pk)
	expr, exact := e.license(pk.Licenses)
	p.PackageLicenseDeclared = expr
	ps := packageProps(pk, purlOK, true)
	if !exact {
		for _, l := range pk.Licenses {
			if l != "" {
				ps = append(ps, prop{propLicense, l})
			}
		}
	}
	p.Annotations = e.annotations(ps)
	return p
}

// license returns the declared licenses as one valid SPDX expression,
// defining a LicenseRef- for each that is not valid SPDX, and whether the
// expression gives back exactly the strings it was made of.
func (e *spdxEncoder) license(ls []string) (expr string, exact bool) {
	if len(ls) == 0 {
		return noAssertion, true
	}
	exact = len(ls) == 1
	var parts []string
	for _, l := range ls {
		if l == "" {
			exact = false
			continue
		}
		norm, ok := e.licenses.expression(l)
		if !ok {
			norm = e.licenseRef(l)
			exact = false
		} else if norm != l {
			exact = false
		}
		if len(ls) > 1 && strings.ContainsAny(norm, " ") {
			norm = "(" + norm + ")"
		}
		parts = append(parts, norm)
	}
	if len(parts) == 0 {
		return noAssertion, false
	}
	return strings.Join(parts, " AND "), exact
}

func (e *spdxEncoder) licenseRef(text string) string {
	ref := licenseRef(text)
	if e.refs == nil {
		e.refs = map[string]bool{}
	}
	if !e.refs[ref] {
		e.refs[ref] = true
		e.otherLicenses = append(e.otherLicenses, &v2_3.OtherLicense{
			LicenseIdentifier: ref,
			ExtractedText:     text,
			LicenseName:       text,
			LicenseComment:    "A license string declared by a package that is not a valid SPDX license expression.",
		})
	}
	return ref
}

// sourceInfo says in words where the package was found and what it was
// built from; the same facts are in its annotations for programs.
func sourceInfo(p *inventory.Package) string {
	var b strings.Builder
	if len(p.Locations) > 0 {
		b.WriteString("found")
		if p.Extractor != "" {
			b.WriteString(" by " + p.Extractor)
		}
		b.WriteString(" in ")
		for i, l := range p.Locations {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(l.Path)
			if l.LayerDiffID != "" {
				b.WriteString(" (layer " + strconv.Itoa(l.LayerIndex) + ", " + l.LayerDiffID + ")")
			}
		}
	}
	if p.Source != nil && p.Source.Name != "" {
		if b.Len() > 0 {
			b.WriteString("; ")
		}
		b.WriteString("built from source package " + p.Source.Name)
		if p.Source.Version != "" {
			b.WriteString(" " + p.Source.Version)
		}
	}
	return b.String()
}

func relationship(a, b common.ElementID, typ string) *v2_3.Relationship {
	return &v2_3.Relationship{
		RefA:         common.MakeDocElementID("", string(a)),
		RefB:         common.MakeDocElementID("", string(b)),
		Relationship: typ,
	}
}
