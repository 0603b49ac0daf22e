package scan

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/vigil-sec/vigil/internal/asset"
	"github.com/vigil-sec/vigil/internal/inventory"
)

// HostSkipDirs are not inventoried on a live host: kernel and device
// pseudo-filesystems, runtime state, and container engines' storage (their
// images and containers are assets of their own).
var HostSkipDirs = []string{
	"proc", "sys", "dev", "run",
	"var/lib/docker", "var/lib/containerd", "var/lib/containers",
}

// RootFS inventories an unpacked root filesystem at dir. Nothing is
// followed outside dir: the walk does not follow symlinks and files are
// opened through an os.Root, which refuses paths that escape it.
func RootFS(ctx context.Context, e *inventory.Engine, dir string, opts Options) (*Scanned, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("rootfs %s: %w", dir, err)
	}
	a := asset.Asset{Kind: asset.KindRootFS, Name: dir, ID: asset.NewID(asset.KindRootFS, abs)}
	return scanDir(ctx, e, abs, a, nil, opts)
}

// Host inventories the running machine, read-only, from root ("/" unless a
// test points it elsewhere).
func Host(ctx context.Context, e *inventory.Engine, root string, opts Options) (*Scanned, error) {
	if root == "" {
		root = "/"
	}
	hostname, _ := os.Hostname()
	identity := hostname
	if id, err := os.ReadFile(filepath.Join(root, "etc/machine-id")); err == nil && len(strings.TrimSpace(string(id))) > 0 {
		identity = strings.TrimSpace(string(id))
	}
	a := asset.Asset{
		Kind:     asset.KindHost,
		Name:     hostname,
		ID:       asset.NewID(asset.KindHost, identity),
		Platform: runtime.GOOS + "/" + runtime.GOARCH,
	}
	return scanDir(ctx, e, root, a, HostSkipDirs, opts)
}

func scanDir(ctx context.Context, e *inventory.Engine, dir string, a asset.Asset, skip []string, opts Options) (*Scanned, error) {
	st, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("scan %s: %w", a.Kind, err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("scan %s: not a directory", dir)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("scan %s: %w", dir, err)
	}
	defer root.Close()
	fsys := root.FS()
	res := &inventory.Result{Asset: a}
	if osr, err := inventory.DetectOS(fsys); err == nil {
		res.Asset.OS = osr
	} else if !errors.Is(err, inventory.ErrNoOSRelease) {
		res.Unknowns = append(res.Unknowns, inventory.Unknown{Path: "/etc/os-release", Err: err.Error()})
	}
	pkgs, unknowns, err := e.ScanFS(ctx, fsys, inventory.FSOptions{Root: dir, SkipDirs: skip})
	if err != nil {
		return nil, fmt.Errorf("scan %s: %w", dir, err)
	}
	res.Packages = pkgs
	res.Unknowns = append(res.Unknowns, unknowns...)
	res.Sort()
	out := &Scanned{Result: res}
	if opts.GoSymbols {
		out.Symbols = collectSymbols(fsys, res.Packages)
	}
	return out, nil
}
