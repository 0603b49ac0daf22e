package kube

import (
	"errors"
	"fmt"
	"path"
	"slices"
	"strings"
	"sync"

	"gopkg.in/yaml.v3"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/api/resmap"
	"sigs.k8s.io/kustomize/kyaml/filesys"

	"github.com/vigil-sec/vigil/internal/iac"
)

// Errors of kustomization references.
var (
	// ErrRemoteBase means a kustomization refers to a URL or a git
	// repository. Vigil scans what is on disk and never fetches.
	ErrRemoteBase = errors.New("remote bases are not supported")
	// ErrMissingRef means a kustomization refers to a path the scan does
	// not hold (or that leaves it).
	ErrMissingRef = errors.New("not found in the scan")
)

// originKey is the annotation krusty writes with buildMetadata
// [originAnnotations].
const originKey = "config.kubernetes.io/origin"

func isKustomizationName(base string) bool {
	switch base {
	case "kustomization.yaml", "kustomization.yml", "Kustomization":
		return true
	}
	return false
}

// kustomization is one kustomization file and what it refers to.
type kustomization struct {
	file, dir string
	data      []byte
	// kustRefs are the directories of the kustomizations it builds on
	// (resources, bases, components that are directories).
	kustRefs []string
	// fileRefs are the scan files it reads.
	fileRefs []string
	// err makes it unbuildable: it does not parse, or refers to something
	// remote or missing.
	err error
	// userOrigin is set when the file itself asks for origin annotations,
	// which then stay in Attrs.
	userOrigin bool
}

// kustSet is the kustomizations of a scan.
type kustSet struct {
	byDir map[string]*kustomization
	// top are the kustomizations no other one refers to: the ones built.
	top []*kustomization
	// referenced are the files some kustomization reads; they are not
	// scanned as plain manifests.
	referenced map[string]bool
}

// kustFields are the fields of a kustomization that name files or
// directories.
type kustFields struct {
	Resources             []string         `yaml:"resources"`
	Bases                 []string         `yaml:"bases"`
	Components            []string         `yaml:"components"`
	Generators            []string         `yaml:"generators"`
	Transformers          []string         `yaml:"transformers"`
	Validators            []string         `yaml:"validators"`
	Crds                  []string         `yaml:"crds"`
	Configurations        []string         `yaml:"configurations"`
	PatchesStrategicMerge []string         `yaml:"patchesStrategicMerge"`
	Patches               []pathField      `yaml:"patches"`
	PatchesJSON6902       []pathField      `yaml:"patchesJson6902"`
	Replacements          []pathField      `yaml:"replacements"`
	ConfigMapGenerator    []generatorField `yaml:"configMapGenerator"`
	SecretGenerator       []generatorField `yaml:"secretGenerator"`
	OpenAPI               map[string]any   `yaml:"openapi"`
	BuildMetadata         []string         `yaml:"buildMetadata"`
}

type pathField struct {
	Path string `yaml:"path"`
}

type generatorField struct {
	Files []string `yaml:"files"`
	Envs  []string `yaml:"envs"`
	Env   string   `yaml:"env"`
}

func (l *Loader) scanKustomizations(in *iac.Input, files map[string]bool, kustFiles []string) *kustSet {
	ks := &kustSet{byDir: map[string]*kustomization{}, referenced: map[string]bool{}}
	var all []*kustomization
	for _, f := range kustFiles {
		dir := dirOf(f)
		if _, dup := ks.byDir[dir]; dup {
			continue // kustomize itself refuses the directory; the first one speaks
		}
		k := &kustomization{file: f, dir: dir}
		ks.byDir[dir] = k
		all = append(all, k)
	}
	for _, k := range all {
		k.parse(in, files, ks.byDir)
		for _, f := range k.fileRefs {
			ks.referenced[f] = true
		}
	}
	isBase := map[string]bool{}
	for _, k := range all {
		for _, d := range k.kustRefs {
			if d != k.dir {
				isBase[d] = true
			}
		}
	}
	for _, k := range all {
		if !isBase[k.dir] {
			ks.top = append(ks.top, k)
		}
	}
	return ks
}

// parse reads the kustomization and resolves its references against the
// scan. Anything it cannot resolve locally makes it unbuildable: kustomize
// would try to fetch it.
func (k *kustomization) parse(in *iac.Input, files map[string]bool, byDir map[string]*kustomization) {
	data, err := in.ReadFile(k.file)
	if err != nil {
		k.err = fmt.Errorf("read: %w", err)
		return
	}
	k.data = data
	if _, err := decode(data); err != nil {
		k.err = fmt.Errorf("parse: %w", err)
		return
	}
	var kf kustFields
	if err := yaml.Unmarshal(data, &kf); err != nil {
		k.err = fmt.Errorf("parse: %w", err)
		return
	}
	k.userOrigin = slices.Contains(kf.BuildMetadata, "originAnnotations")

	// Entries that kustomize loads as a file or, failing that, as a
	// directory or a repository.
	var targets []string
	targets = append(targets, kf.Resources...)
	targets = append(targets, kf.Bases...)
	targets = append(targets, kf.Components...)
	for _, e := range slices.Concat(kf.Generators, kf.Transformers, kf.Validators) {
		if !isInline(e) {
			targets = append(targets, e)
		}
	}
	// The first bad reference makes it unbuildable; the others are still
	// resolved so that the files it reads are not scanned twice.
	setErr := func(err error) {
		if k.err == nil {
			k.err = err
		}
	}
	for _, e := range targets {
		p, err := k.resolve(e)
		switch {
		case err != nil:
			setErr(err)
		case files[p]:
			k.fileRefs = append(k.fileRefs, p)
		case byDir[p] != nil:
			k.kustRefs = append(k.kustRefs, p)
		case looksRemote(e):
			setErr(fmt.Errorf("%w: %s", ErrRemoteBase, e))
		default:
			setErr(fmt.Errorf("%s: %w", e, ErrMissingRef))
		}
	}

	// Entries that can only be files.
	var plain []string
	plain = append(plain, kf.Crds...)
	plain = append(plain, kf.Configurations...)
	for _, e := range kf.PatchesStrategicMerge {
		if !isInline(e) {
			plain = append(plain, e)
		}
	}
	for _, pf := range slices.Concat(kf.Patches, kf.PatchesJSON6902, kf.Replacements) {
		if pf.Path != "" {
			plain = append(plain, pf.Path)
		}
	}
	for _, g := range slices.Concat(kf.ConfigMapGenerator, kf.SecretGenerator) {
		for _, f := range g.Files {
			if _, v, ok := strings.Cut(f, "="); ok {
				f = v
			}
			plain = append(plain, f)
		}
		plain = append(plain, g.Envs...)
		if g.Env != "" {
			plain = append(plain, g.Env)
		}
	}
	if p, ok := kf.OpenAPI["path"].(string); ok && p != "" {
		plain = append(plain, p)
	}
	for _, e := range plain {
		p, err := k.resolve(e)
		if err != nil {
			setErr(err)
			continue
		}
		if files[p] {
			k.fileRefs = append(k.fileRefs, p)
		}
		// A missing file fails the build inside krusty, which reads only
		// the in-memory file system.
	}
}

// resolve turns a reference into a scan path, refusing URLs and paths
// that leave the scan.
func (k *kustomization) resolve(ref string) (string, error) {
	if strings.Contains(ref, "://") || strings.HasPrefix(ref, "git@") {
		return "", fmt.Errorf("%w: %s", ErrRemoteBase, ref)
	}
	if path.IsAbs(ref) {
		return "", fmt.Errorf("%s: %w", ref, ErrMissingRef)
	}
	p := path.Join(k.dir, ref)
	if p == "." {
		p = ""
	}
	if p == ".." || strings.HasPrefix(p, "../") {
		return "", fmt.Errorf("%s: %w", ref, ErrMissingRef)
	}
	return p, nil
}

// looksRemote reports whether a reference that is not in the scan is one
// kustomize would fetch: a host-like first segment (github.com/org/repo),
// a ref query, or a repository//path split.
func looksRemote(ref string) bool {
	first, _, _ := strings.Cut(ref, "/")
	return strings.Contains(ref, "?ref=") || strings.Contains(ref, "?version=") ||
		strings.Contains(ref, "//") || strings.Contains(ref, "_git/") ||
		(strings.Contains(first, ".") && first != "." && first != "..")
}

// isInline reports whether a list entry is inline YAML rather than a path.
func isInline(e string) bool {
	return strings.Contains(e, "\n") || strings.HasPrefix(e, "apiVersion:") || strings.HasPrefix(e, "kind:")
}

// closure returns k and every kustomization it builds on, k first.
func (ks *kustSet) closure(k *kustomization) []*kustomization {
	seen := map[string]bool{k.dir: true}
	out := []*kustomization{k}
	for i := 0; i < len(out); i++ {
		for _, d := range out[i].kustRefs {
			if !seen[d] {
				seen[d] = true
				out = append(out, ks.byDir[d])
			}
		}
	}
	return out
}

// krustyMu serializes builds: krusty installs the kyaml OpenAPI schema
// process-wide on every run, so two concurrent builds would race.
var krustyMu sync.Mutex

// build renders a top-level kustomization with krusty on an in-memory copy
// of the files it reads, with origin annotations on so that every object
// can be traced to the file it came from.
func (ks *kustSet) build(in *iac.Input, k *kustomization) (res []iac.Resource, fe *iac.FileError) {
	fail := func(err error) *iac.FileError { return &iac.FileError{File: k.file, Err: err} }
	members := ks.closure(k)
	for _, m := range members {
		if m.err == nil {
			continue
		}
		if m == k {
			return nil, fail(m.err)
		}
		return nil, fail(fmt.Errorf("base %s: %w", m.file, m.err))
	}

	fsys := filesys.MakeFsInMemory()
	for _, m := range members {
		data := m.data
		if m == k && !k.userOrigin {
			var err error
			if data, err = withOriginAnnotations(data); err != nil {
				return nil, fail(fmt.Errorf("parse: %w", err))
			}
		}
		if err := fsys.WriteFile("/"+m.file, data); err != nil {
			return nil, fail(fmt.Errorf("copy %s: %w", m.file, err))
		}
		for _, f := range m.fileRefs {
			if fsys.Exists("/" + f) {
				continue
			}
			b, err := in.ReadFile(f)
			if err != nil {
				return nil, fail(fmt.Errorf("read %s: %w", f, err))
			}
			if err := fsys.WriteFile("/"+f, b); err != nil {
				return nil, fail(fmt.Errorf("copy %s: %w", f, err))
			}
		}
	}

	rm, err := runKrusty(fsys, "/"+k.dir)
	if err != nil {
		return nil, fail(fmt.Errorf("kustomize build: %w", err))
	}
	via := []iac.Location{{File: k.file, Range: iac.Range{StartLine: 1, EndLine: 1}}}
	origins := originDocs{in: in}
	for _, r := range rm.Resources() {
		m, err := r.Map()
		if err != nil {
			return nil, fail(fmt.Errorf("kustomize build: %w", err))
		}
		attrs, _ := iac.Normalize(m).(map[string]any)
		file := k.file
		if o, err := r.GetOrigin(); err == nil && o != nil && o.Repo == "" {
			switch {
			case o.Path != "":
				file = path.Join(k.dir, o.Path)
			case o.ConfiguredIn != "":
				file = path.Join(k.dir, o.ConfiguredIn)
			}
		}
		if !k.userOrigin {
			stripOrigin(attrs)
		}
		kind, _ := attrs["kind"].(string)
		obj := object{attrs: attrs, kind: kind, rng: iac.Range{StartLine: 1, EndLine: 1}}
		if d, ok := origins.find(file, kind, address(kind, attrs)); ok {
			obj.rng, obj.lines = d.rng, d.lines
		} else if file != k.file {
			obj.rng = iac.Range{}
		}
		rs := obj.resource(iac.SourceKustomize, file)
		rs.Via = via
		res = append(res, rs)
	}
	return res, nil
}

func runKrusty(fsys filesys.FileSystem, dir string) (rm resmap.ResMap, err error) {
	krustyMu.Lock()
	defer krustyMu.Unlock()
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("kustomize panicked: %v", r)
		}
	}()
	return krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(fsys, dir)
}

// withOriginAnnotations adds originAnnotations to the kustomization's
// buildMetadata.
func withOriginAnnotations(data []byte) ([]byte, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, err
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		return data, nil // empty: krusty says what is wrong
	}
	m := doc.Content[0]
	if m.Kind != yaml.MappingNode {
		return data, nil
	}
	entry := &yaml.Node{Kind: yaml.ScalarNode, Value: "originAnnotations"}
	found := false
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value != "buildMetadata" {
			continue
		}
		found = true
		seq := m.Content[i+1]
		if seq.Kind != yaml.SequenceNode {
			return data, nil
		}
		seq.Content = append(seq.Content, entry)
	}
	if !found {
		m.Content = append(m.Content,
			&yaml.Node{Kind: yaml.ScalarNode, Value: "buildMetadata"},
			&yaml.Node{Kind: yaml.SequenceNode, Content: []*yaml.Node{entry}})
	}
	return yaml.Marshal(&doc)
}

// stripOrigin removes the origin annotation, and the annotations map when
// that leaves it empty.
func stripOrigin(attrs map[string]any) {
	md, _ := attrs["metadata"].(map[string]any)
	ann, _ := md["annotations"].(map[string]any)
	if ann == nil {
		return
	}
	delete(ann, originKey)
	if len(ann) == 0 {
		delete(md, "annotations")
	}
}

// originDocs finds the document an object was written in, to give a
// kustomize resource the lines of its source. Files are decoded once.
type originDocs struct {
	in    *iac.Input
	cache map[string][]object
}

// find returns the object of file with the kind and the name closest to
// addr (kustomize may have prefixed, suffixed or namespaced it), or the
// only object of that kind.
func (o *originDocs) find(file, kind, addr string) (object, bool) {
	if o.cache == nil {
		o.cache = map[string][]object{}
	}
	objs, ok := o.cache[file]
	if !ok {
		if data, err := o.in.ReadFile(file); err == nil {
			docs, _ := decode(data)
			for _, d := range docs {
				objs = append(objs, objects(d)...)
			}
		}
		o.cache[file] = objs
	}
	_, wantName, _ := strings.Cut(addr, "/")
	if i := strings.LastIndexByte(wantName, '/'); i >= 0 {
		wantName = wantName[i+1:]
	}
	var sameKind []object
	for _, ob := range objs {
		if ob.kind != kind {
			continue
		}
		name := scalarString(mdField(ob.attrs, "name"))
		if name == wantName {
			return ob, true
		}
		sameKind = append(sameKind, ob)
	}
	var partial []object
	for _, ob := range sameKind {
		if name := scalarString(mdField(ob.attrs, "name")); name != "" && strings.Contains(wantName, name) {
			partial = append(partial, ob)
		}
	}
	switch {
	case len(partial) == 1:
		return partial[0], true
	case len(sameKind) == 1:
		return sameKind[0], true
	}
	return object{}, false
}

func mdField(attrs map[string]any, key string) any {
	md, _ := attrs["metadata"].(map[string]any)
	return md[key]
}
