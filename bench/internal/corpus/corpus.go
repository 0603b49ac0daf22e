package corpus

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"testing"

	"github.com/vigil-sec/vigil/internal/fixture"
)

// Kind says how a corpus is handed to a scanner.
type Kind string

const (
	// Image is a docker-save tarball.
	Image Kind = "image"
	// Dir is a directory scanned as a root filesystem.
	Dir Kind = "dir"
)

// Corpus is one benchmark input.
type Corpus struct {
	Name string
	Kind Kind
	// Path is the docker-save tarball (Image) or the directory (Dir).
	Path string
	// Description says what it holds, for the results.
	Description string
}

// Builder builds corpora under Cache.
type Builder struct {
	// Cache holds one directory per corpus key.
	Cache string
	// Suite is the Debian release of the base layer ("bullseye").
	Suite string
}

// GoBinaryCount is how many Go binaries the gobin corpus holds.
const GoBinaryCount = 50

// Names are the corpora, in the order they are built and reported.
var Names = []string{"debian", "node", "gobin"}

// Build builds (or finds) the named corpora, all of them when names is
// empty, in the order of Names.
func (b *Builder) Build(names []string) ([]Corpus, error) {
	builders := map[string]func() (Corpus, error){
		"debian": b.Debian,
		"node":   b.Node,
		"gobin":  b.GoBinaries,
	}
	for _, n := range names {
		if builders[n] == nil {
			return nil, fmt.Errorf("unknown corpus %q (want one of %v)", n, Names)
		}
	}
	var out []Corpus
	for _, n := range Names {
		if len(names) > 0 && !slices.Contains(names, n) {
			continue
		}
		c, err := builders[n]()
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

// debianTar returns the fixture tar of the Debian root and the fixture key
// it is cached under (which carries the fixture's version).
func (b *Builder) debianTar() (tarPath, key string, err error) {
	tarPath, err = CallFixture("DebianRootTar", func(tb testing.TB) string {
		return fixture.DebianRootTar(tb, b.Suite)
	})
	if err != nil {
		return "", "", err
	}
	return tarPath, filepath.Base(filepath.Dir(tarPath)), nil
}

// Debian is the debootstrap minbase root as a one-layer image.
func (b *Builder) Debian() (Corpus, error) {
	rootTar, fkey, err := b.debianTar()
	if err != nil {
		return Corpus{}, err
	}
	dir, err := b.cached("debian-image-v1-"+fkey, func(dir string) error {
		return writeArchive(filepath.Join(dir, "image.tar"), "vigil-bench/debian:"+b.Suite, dir, []layerSpec{
			{tar: rootTar, createdBy: "debootstrap --variant=minbase " + b.Suite},
		})
	})
	if err != nil {
		return Corpus{}, err
	}
	return Corpus{
		Name:        "debian",
		Kind:        Image,
		Path:        filepath.Join(dir, "image.tar"),
		Description: fmt.Sprintf("`debootstrap --variant=minbase %s` as a one-layer docker-save image (gzip layer)", b.Suite),
	}, nil
}

// GoBinaries is a directory of GoBinaryCount distinct Go binaries
// (fixture.GoBinaries), scanned as a directory.
func (b *Builder) GoBinaries() (Corpus, error) {
	dir, err := CallFixture("GoBinaries", func(tb testing.TB) string {
		return fixture.GoBinaries(tb, GoBinaryCount)
	})
	if err != nil {
		return Corpus{}, err
	}
	return Corpus{
		Name:        "gobin",
		Kind:        Dir,
		Path:        dir,
		Description: fmt.Sprintf("A directory of %d distinct stripped Go binaries (fixture.GoBinaries: each links a different subset of 5 modules, two sets of pinned versions)", GoBinaryCount),
	}, nil
}

var keyRE = regexp.MustCompile(`^[A-Za-z0-9._-]+$`)

// cached returns the directory of corpus key under b.Cache, calling build to
// fill a fresh directory first if it does not exist yet. The build runs in a
// temporary sibling that is renamed into place only when it succeeds.
func (b *Builder) cached(key string, build func(dir string) error) (string, error) {
	if !keyRE.MatchString(key) {
		return "", fmt.Errorf("bad corpus key %q", key)
	}
	final := filepath.Join(b.Cache, key)
	if _, err := os.Stat(final); err == nil {
		return final, nil
	}
	if err := os.MkdirAll(b.Cache, 0o755); err != nil {
		return "", err
	}
	tmp, err := os.MkdirTemp(b.Cache, ".build-"+key+"-")
	if err != nil {
		return "", err
	}
	if err := build(tmp); err != nil {
		os.RemoveAll(tmp)
		return "", fmt.Errorf("corpus %s: %w", key, err)
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		os.RemoveAll(tmp)
		return "", err
	}
	if err := os.Rename(tmp, final); err != nil {
		os.RemoveAll(tmp)
		return "", err
	}
	return final, nil
}
