package sbom

import (
	"strings"

	"github.com/vigil-sec/vigil/internal/asset"
	"github.com/vigil-sec/vigil/internal/inventory"
)

// Properties other SBOM writers use for facts Vigil keeps, read from
// documents that do not carry Vigil's own.
const (
	syftLocationPrefix = "syft:location:" // + "<index>:" + path|layerID

	trivyFilePath    = "aquasecurity:trivy:FilePath"
	trivyLayerDiffID = "aquasecurity:trivy:LayerDiffID"
	trivySrcName     = "aquasecurity:trivy:SrcName"
	trivySrcVersion  = "aquasecurity:trivy:SrcVersion"
	trivySrcRelease  = "aquasecurity:trivy:SrcRelease"
	trivySrcEpoch    = "aquasecurity:trivy:SrcEpoch"
	trivyDiffID      = "aquasecurity:trivy:DiffID" // on the image, one per layer in order
	trivyImageID     = "aquasecurity:trivy:ImageID"
	trivyRepoDigest  = "aquasecurity:trivy:RepoDigest"
)

// applyForeignPackageProps reads locations, layers and source packages from
// Syft's and Trivy's properties.
func applyForeignPackageProps(p *inventory.Package, ps props) {
	if len(p.Locations) == 0 {
		for _, e := range ps.indexed(syftLocationPrefix) {
			if path := e.fields["path"]; path != "" {
				p.Locations = append(p.Locations, inventory.Location{Path: path, LayerDiffID: e.fields["layerID"]})
			}
		}
	}
	if path := ps.value(trivyFilePath); path != "" && len(p.Locations) == 0 {
		if !strings.HasPrefix(path, "/") {
			path = "/" + path
		}
		p.Locations = []inventory.Location{{Path: path}}
	}
	if d := ps.value(trivyLayerDiffID); d != "" {
		if len(p.Locations) == 0 {
			p.Locations = []inventory.Location{{}}
		}
		if p.Locations[0].LayerDiffID == "" {
			p.Locations[0].LayerDiffID = d
		}
	}
	if name := ps.value(trivySrcName); name != "" {
		v := ps.value(trivySrcVersion)
		if rel := ps.value(trivySrcRelease); rel != "" && v != "" {
			v += "-" + rel
		}
		if e := ps.value(trivySrcEpoch); e != "" && e != "0" && v != "" {
			v = e + ":" + v
		}
		p.Source = &inventory.Source{Name: name, Version: v}
	}
}

// applyTrivyAssetProps reads an image's layers, ID and repo digests from
// Trivy's properties on the described component.
func applyTrivyAssetProps(a *asset.Asset, ps props) {
	for i, d := range ps.all(trivyDiffID) {
		a.Layers = append(a.Layers, asset.Layer{Index: i, DiffID: d})
	}
	setLabel(a, labelSubjectDigest, ps.value(trivyImageID))
	if ds := ps.all(trivyRepoDigest); len(ds) > 0 {
		a.RepoDigests = ds
	}
}
