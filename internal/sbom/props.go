package sbom

import (
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/vigil-sec/vigil/internal/asset"
	"github.com/vigil-sec/vigil/internal/inventory"
)

// Vigil's facts that neither format has a field for travel as name/value
// pairs: CycloneDX properties, SPDX annotations whose comment is
// "name=value". The names are the same in both formats and are documented in
// docs/formats/sbom.md; they are part of Vigil's interface.
const (
	// On a package.
	propEcosystem     = "vigil:ecosystem"
	propExtractor     = "vigil:extractor"
	propDirect        = "vigil:direct"
	propPURL          = "vigil:purl" // a purl that does not parse
	propSourceName    = "vigil:source:name"
	propSourceVersion = "vigil:source:version"
	propMetadata      = "vigil:metadata:" // + key
	propLayerDiffID   = "vigil:layer:diffID"
	propLayerIndex    = "vigil:layer:index"
	propLocation      = "vigil:location"       // SPDX only: one per location, in order
	propLocationLayer = "vigil:location:layer" // "<index> <diffID> <path>", locations after the first
	propLicense       = "vigil:license"        // SPDX only: the declared licenses verbatim

	// On the asset (CycloneDX metadata.component, SPDX root package).
	propAssetID         = "vigil:asset:id"
	propAssetKind       = "vigil:asset:kind"
	propAssetDigest     = "vigil:asset:digest"
	propAssetRepoDigest = "vigil:asset:repoDigest"
	propAssetPlatform   = "vigil:asset:platform"
	propAssetLabel      = "vigil:asset:label:" // + key
	propLayerPrefix     = "vigil:layer:"       // + "<index>:" + diffID|digest|size|createdBy

	// On the operating system component or package.
	propOSCodename   = "vigil:os:codename"
	propOSPrettyName = "vigil:os:prettyName"

	// On the document (CycloneDX metadata.properties, SPDX document
	// annotations).
	propIncomplete    = "vigil:incomplete"
	propUnknownPrefix = "vigil:unknown:" // + "<index>:" + path|layer|extractor|error
)

// Keys of metadata and labels are free text, but a name must not contain
// '=' (SPDX annotations are "name=value"): '%' and '=' are percent-encoded.
var (
	keyEscaper   = strings.NewReplacer("%", "%25", "=", "%3D")
	keyUnescaper = strings.NewReplacer("%3D", "=", "%3d", "=", "%25", "%")
)

func escapeKey(k string) string   { return keyEscaper.Replace(k) }
func unescapeKey(k string) string { return keyUnescaper.Replace(k) }

// Bounds on what a decoded document may make us allocate through indexed
// property names.
const maxIndex = 1 << 20

// prop is one name/value pair.
type prop struct{ name, value string }

// packageProps returns the pairs describing p. withLocations adds one
// vigil:location per location, for SPDX, which has no field for them.
func packageProps(p *inventory.Package, purlOK bool, withLocations bool) []prop {
	var ps []prop
	add := func(n, v string) { ps = append(ps, prop{n, v}) }
	add(propEcosystem, string(p.Ecosystem))
	if p.Extractor != "" {
		add(propExtractor, p.Extractor)
	}
	if p.Direct {
		add(propDirect, "true")
	}
	if p.PURL != "" && !purlOK {
		add(propPURL, p.PURL)
	}
	if p.Source != nil {
		add(propSourceName, p.Source.Name)
		if p.Source.Version != "" {
			add(propSourceVersion, p.Source.Version)
		}
	}
	for _, k := range slices.Sorted(maps.Keys(p.Metadata)) {
		add(propMetadata+escapeKey(k), p.Metadata[k])
	}
	if len(p.Locations) > 0 && p.Locations[0].LayerDiffID != "" {
		add(propLayerDiffID, p.Locations[0].LayerDiffID)
		add(propLayerIndex, strconv.Itoa(p.Locations[0].LayerIndex))
	}
	if withLocations {
		for _, l := range p.Locations {
			add(propLocation, l.Path)
		}
	}
	for _, l := range p.Locations[min(1, len(p.Locations)):] {
		if l.LayerDiffID != "" {
			add(propLocationLayer, strconv.Itoa(l.LayerIndex)+" "+l.LayerDiffID+" "+l.Path)
		}
	}
	return ps
}

// assetProps returns the pairs describing a, other than its OS.
func assetProps(a *asset.Asset) []prop {
	var ps []prop
	add := func(n, v string) {
		if v != "" {
			ps = append(ps, prop{n, v})
		}
	}
	add(propAssetID, a.ID)
	add(propAssetKind, string(a.Kind))
	add(propAssetDigest, a.Digest)
	for _, d := range a.RepoDigests {
		add(propAssetRepoDigest, d)
	}
	add(propAssetPlatform, a.Platform)
	for _, k := range slices.Sorted(maps.Keys(a.Labels)) {
		add(propAssetLabel+escapeKey(k), a.Labels[k])
	}
	for _, l := range a.Layers {
		pre := propLayerPrefix + strconv.Itoa(l.Index) + ":"
		add(pre+"diffID", l.DiffID)
		add(pre+"digest", l.Digest)
		if l.Size != 0 {
			add(pre+"size", strconv.FormatInt(l.Size, 10))
		}
		add(pre+"createdBy", l.CreatedBy)
	}
	return ps
}

func osProps(o *asset.OS) []prop {
	var ps []prop
	if o.Codename != "" {
		ps = append(ps, prop{propOSCodename, o.Codename})
	}
	if o.PrettyName != "" {
		ps = append(ps, prop{propOSPrettyName, o.PrettyName})
	}
	return ps
}

// resultProps returns the pairs describing the result as a whole: whether
// it is complete and, if not, what could not be read.
func resultProps(r *inventory.Result) []prop {
	ps := []prop{{propIncomplete, strconv.FormatBool(r.Incomplete())}}
	for i, u := range r.Unknowns {
		pre := propUnknownPrefix + strconv.Itoa(i) + ":"
		for _, f := range []prop{{"path", u.Path}, {"layer", u.Layer}, {"extractor", u.Extractor}, {"error", u.Err}} {
			if f.value != "" || f.name == "error" {
				ps = append(ps, prop{pre + f.name, f.value})
			}
		}
	}
	return ps
}

// props is a decoded list of pairs, in document order.
type props []prop

func (ps props) get(name string) (string, bool) {
	for _, p := range ps {
		if p.name == name {
			return p.value, true
		}
	}
	return "", false
}

func (ps props) value(name string) string {
	v, _ := ps.get(name)
	return v
}

func (ps props) all(name string) []string {
	var vs []string
	for _, p := range ps {
		if p.name == name {
			vs = append(vs, p.value)
		}
	}
	return vs
}

// entry is the fields of one indexed group of pairs.
type entry struct {
	index  int
	fields map[string]string
}

// indexed groups pairs named prefix+"<i>:"+field by i, ascending, ignoring
// indices that are not small non-negative integers. The first value of a
// repeated field wins.
func (ps props) indexed(prefix string) []entry {
	byIndex := map[int]map[string]string{}
	for _, p := range ps {
		rest, ok := strings.CutPrefix(p.name, prefix)
		if !ok {
			continue
		}
		is, field, ok := strings.Cut(rest, ":")
		if !ok {
			continue
		}
		i, err := strconv.Atoi(is)
		if err != nil || i < 0 || i >= maxIndex {
			continue
		}
		m := byIndex[i]
		if m == nil {
			m = map[string]string{}
			byIndex[i] = m
		}
		if _, dup := m[field]; !dup {
			m[field] = p.value
		}
	}
	out := make([]entry, 0, len(byIndex))
	for _, i := range slices.Sorted(maps.Keys(byIndex)) {
		out = append(out, entry{i, byIndex[i]})
	}
	return out
}

// applyPackageProps sets p's fields from Vigil's pairs. Fields the pairs do
// not mention are left as the format's own fields set them.
func applyPackageProps(p *inventory.Package, ps props) {
	if v, ok := ps.get(propEcosystem); ok && v != "" {
		p.Ecosystem = inventory.Ecosystem(v)
	}
	if v, ok := ps.get(propExtractor); ok {
		p.Extractor = v
	}
	if ps.value(propDirect) == "true" {
		p.Direct = true
	}
	if v, ok := ps.get(propPURL); ok && p.PURL == "" {
		p.PURL = v
	}
	if v, ok := ps.get(propSourceName); ok {
		p.Source = &inventory.Source{Name: v, Version: ps.value(propSourceVersion)}
	}
	for _, q := range ps {
		if k, ok := strings.CutPrefix(q.name, propMetadata); ok {
			k = unescapeKey(k)
			if p.Metadata == nil {
				p.Metadata = map[string]string{}
			}
			if _, dup := p.Metadata[k]; !dup {
				p.Metadata[k] = q.value
			}
		}
	}
	if paths := ps.all(propLocation); len(paths) > 0 {
		p.Locations = make([]inventory.Location, len(paths))
		for i, path := range paths {
			p.Locations[i].Path = path
		}
	}
	if d, ok := ps.get(propLayerDiffID); ok {
		if len(p.Locations) == 0 {
			// A layer known without a path (Trivy gives OS packages no
			// file), which CycloneDX occurrences cannot carry.
			p.Locations = []inventory.Location{{}}
		}
		p.Locations[0].LayerDiffID = d
		p.Locations[0].LayerIndex = parseIndex(ps.value(propLayerIndex))
	}
	layers := ps.all(propLocationLayer)
	if len(layers) == 0 || len(p.Locations) < 2 {
		return
	}
	// Each value names a later location by path; equal paths are matched
	// in order.
	byPath := map[string][]int{}
	for i := 1; i < len(p.Locations); i++ {
		if p.Locations[i].LayerDiffID == "" {
			byPath[p.Locations[i].Path] = append(byPath[p.Locations[i].Path], i)
		}
	}
	for _, v := range layers {
		is, rest, _ := strings.Cut(v, " ")
		diffID, path, ok := strings.Cut(rest, " ")
		if !ok || len(byPath[path]) == 0 {
			continue
		}
		l := &p.Locations[byPath[path][0]]
		byPath[path] = byPath[path][1:]
		l.LayerDiffID = diffID
		l.LayerIndex = parseIndex(is)
	}
}

// parseIndex returns a layer index, 0 when s is not one.
func parseIndex(s string) int {
	i, err := strconv.Atoi(s)
	if err != nil || i < 0 || i >= maxIndex {
		return 0
	}
	return i
}

// applyAssetProps sets the decoded asset's recoverable facts from the
// described subject's pairs.
func applyAssetProps(a *asset.Asset, ps props) {
	setLabel(a, labelSubjectID, ps.value(propAssetID))
	setLabel(a, labelSubjectKind, ps.value(propAssetKind))
	setLabel(a, labelSubjectDigest, ps.value(propAssetDigest))
	if ds := ps.all(propAssetRepoDigest); len(ds) > 0 {
		a.RepoDigests = ds
	}
	if v := ps.value(propAssetPlatform); v != "" {
		a.Platform = v
	}
	for _, q := range ps {
		if k, ok := strings.CutPrefix(q.name, propAssetLabel); ok {
			k = unescapeKey(k)
			if _, dup := a.Labels[k]; !dup {
				setLabel(a, k, q.value)
			}
		}
	}
	var layers []asset.Layer
	for _, e := range ps.indexed(propLayerPrefix) {
		m := e.fields
		if m["diffID"] == "" {
			continue
		}
		size, _ := strconv.ParseInt(m["size"], 10, 64)
		layers = append(layers, asset.Layer{
			Index:     e.index,
			DiffID:    m["diffID"],
			Digest:    m["digest"],
			Size:      max(size, 0),
			CreatedBy: m["createdBy"],
		})
	}
	if len(layers) > 0 {
		a.Layers = layers
	}
}

func applyOSProps(o *asset.OS, ps props) {
	if v, ok := ps.get(propOSCodename); ok {
		o.Codename = v
	}
	if v, ok := ps.get(propOSPrettyName); ok {
		o.PrettyName = v
	}
}

// unknownsFromProps returns the unknowns a document recorded and whether it
// said it was incomplete.
func unknownsFromProps(ps props) (us []inventory.Unknown, incomplete bool) {
	for _, e := range ps.indexed(propUnknownPrefix) {
		m := e.fields
		us = append(us, inventory.Unknown{Path: m["path"], Layer: m["layer"], Extractor: m["extractor"], Err: m["error"]})
	}
	return us, ps.value(propIncomplete) == "true"
}

// Labels a decoded asset carries about the SBOM's subject and origin.
const (
	labelSubjectName   = "sbom.subject.name"
	labelSubjectKind   = "sbom.subject.kind"
	labelSubjectID     = "sbom.subject.id"
	labelSubjectDigest = "sbom.subject.digest"
	labelTool          = "sbom.tool"
	labelSpec          = "sbom.spec"
)

func setLabel(a *asset.Asset, k, v string) {
	if v == "" {
		return
	}
	if a.Labels == nil {
		a.Labels = map[string]string{}
	}
	a.Labels[k] = v
}
