package corpus

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"github.com/vigil-sec/vigil/internal/fixture"
)

// nodeApp is the application whose `npm install` makes the node corpus's
// second layer: package.json pins a few large JavaScript toolchains to exact
// versions, and package-lock.json (made once with `npm install
// --legacy-peer-deps`) pins every transitive dependency, so every machine
// installs the same packages. (`npm install` rather than `npm ci`: the lock
// holds only the linux-x64 variants of platform-specific optional
// dependencies, which `npm ci` refuses as out of sync.)
//
//go:embed node/package.json node/package-lock.json
var nodeApp embed.FS

// nodeVersion changes whenever Node builds something different from the
// same package.json and package-lock.json.
const nodeVersion = "v1"

// npmArgs are the flags of the install: the versions of the lock file, no
// lifecycle scripts (nothing from the registry runs, and nothing downloads
// from outside it), peer dependencies as npm 6 did (as when the lock was
// made), no audit or funding requests.
var npmArgs = []string{
	"install", "--ignore-scripts", "--legacy-peer-deps",
	"--no-audit", "--no-fund", "--no-update-notifier", "--loglevel=error",
}

// Node is the Debian layer plus a second layer with /app: package.json,
// package-lock.json and node_modules as `npm install` leaves them.
func (b *Builder) Node() (Corpus, error) {
	rootTar, fkey, err := b.debianTar()
	if err != nil {
		return Corpus{}, err
	}
	h := sha256.New()
	for _, f := range []string{"node/package.json", "node/package-lock.json"} {
		data, err := nodeApp.ReadFile(f)
		if err != nil {
			return Corpus{}, err
		}
		h.Write(data)
	}
	key := fmt.Sprintf("node-image-%s-%s-%s", nodeVersion, hex.EncodeToString(h.Sum(nil))[:12], fkey)
	dir, err := b.cached(key, func(dir string) error {
		stage := filepath.Join(dir, "stage")
		app := filepath.Join(stage, "app")
		if err := os.MkdirAll(app, 0o755); err != nil {
			return err
		}
		for _, f := range []string{"package.json", "package-lock.json"} {
			data, err := nodeApp.ReadFile("node/" + f)
			if err != nil {
				return err
			}
			if err := os.WriteFile(filepath.Join(app, f), data, 0o644); err != nil {
				return err
			}
		}
		if err := fixture.Run(app, nil, "npm", npmArgs...); err != nil {
			return err
		}
		appTar := filepath.Join(dir, "app.tar")
		if err := fixture.Run(stage, nil, "tar", "--numeric-owner", "--owner=0", "--group=0",
			"--sort=name", "--mtime=@1704067200", "-cf", appTar, "app"); err != nil {
			return err
		}
		if err := os.RemoveAll(stage); err != nil {
			return err
		}
		err = writeArchive(filepath.Join(dir, "image.tar"), "vigil-bench/node:"+nodeVersion, dir, []layerSpec{
			{tar: rootTar, createdBy: "debootstrap --variant=minbase " + b.Suite},
			{tar: appTar, createdBy: "COPY app /app # npm " + fmt.Sprint(npmArgs)},
		})
		if err != nil {
			return err
		}
		return os.Remove(appTar)
	})
	if err != nil {
		return Corpus{}, err
	}
	lock, err := nodeApp.ReadFile("node/package-lock.json")
	if err != nil {
		return Corpus{}, err
	}
	n, err := lockPackages(lock)
	if err != nil {
		return Corpus{}, err
	}
	return Corpus{
		Name: "node",
		Kind: Image,
		Path: filepath.Join(dir, "image.tar"),
		Description: fmt.Sprintf("The debian layer plus a layer with /app/node_modules: `npm install` of %s (the lock lists %d package directories, %d distinct name@version; npm skips the optional ones for other platforms)",
			directDeps(), n.dirs, n.distinct),
	}, nil
}

type lockCount struct{ dirs, distinct int }

// lockPackages counts the installed packages a package-lock.json (v2/v3)
// lists: node_modules directories, and distinct name@version pairs.
func lockPackages(data []byte) (lockCount, error) {
	var lock struct {
		Packages map[string]struct {
			Name    string `json:"name"`
			Version string `json:"version"`
			Link    bool   `json:"link"`
		} `json:"packages"`
	}
	if err := json.Unmarshal(data, &lock); err != nil {
		return lockCount{}, fmt.Errorf("parse package-lock.json: %w", err)
	}
	distinct := map[string]bool{}
	var c lockCount
	for p, e := range lock.Packages {
		if p == "" || e.Link {
			continue
		}
		c.dirs++
		distinct[npmName(p, e.Name)+"@"+e.Version] = true
	}
	c.distinct = len(distinct)
	return c, nil
}

// npmName is the package name of lock entry path ("node_modules/a/node_modules/@s/b" → "@s/b").
func npmName(path, name string) string {
	if name != "" {
		return name
	}
	const nm = "node_modules/"
	for i := len(path) - len(nm); i >= 0; i-- {
		if path[i:i+len(nm)] == nm {
			return path[i+len(nm):]
		}
	}
	return path
}

// directDeps lists the pinned direct dependencies, for the description.
func directDeps() string {
	var pj struct {
		Dependencies map[string]string `json:"dependencies"`
	}
	data, err := nodeApp.ReadFile("node/package.json")
	if err != nil {
		return "(unreadable package.json)"
	}
	if err := json.Unmarshal(data, &pj); err != nil {
		return "(unreadable package.json)"
	}
	names := make([]string, 0, len(pj.Dependencies))
	for n, v := range pj.Dependencies {
		names = append(names, n+"@"+v)
	}
	sort.Strings(names)
	s := ""
	for i, n := range names {
		if i > 0 {
			s += ", "
		}
		s += "`" + n + "`"
	}
	return s
}
