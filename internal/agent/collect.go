package agent

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"

	"github.com/vigil-sec/vigil/internal/agentpb"
	"github.com/vigil-sec/vigil/internal/asset"
	"github.com/vigil-sec/vigil/internal/cloudmeta"
	"github.com/vigil-sec/vigil/internal/containers"
	"github.com/vigil-sec/vigil/internal/hostinv"
	"github.com/vigil-sec/vigil/internal/inventory"
	"github.com/vigil-sec/vigil/internal/scan"
)

// HostCollector gathers the inventory of the machine the agent runs on:
// the host's facts and items (internal/hostinv), its cloud identity
// (internal/cloudmeta, detected once), its installed packages (the same
// inventory engine as `vigil scan host`) on full collections, and its
// containers and images (internal/containers).
type HostCollector struct {
	// Root is the host's root directory ("/", or "/host" in a container).
	Root       string
	Cloud      cloudmeta.Options
	Containers containers.Options
	Logger     *slog.Logger
	// Labels are set on the host asset and on its containers and images
	// (where their own labels do not have the key): the operator's way to
	// say which environment, team or site a host belongs to
	// ("environment=production"; the console filters by environment).
	Labels map[string]string

	once     sync.Once
	identity cloudmeta.Identity
	engine   *inventory.Engine
	engErr   error
}

// itemKinds are the host item kinds the collector always gathers in full.
var itemKinds = []string{"cron", "group", "module", "port", "process", "service", "sudo", "sudo_default", "user"}

// Collect implements Options.Collect.
func (h *HostCollector) Collect(ctx context.Context, full bool) (Collection, error) {
	root := h.Root
	if root == "" {
		root = "/"
	}
	log := h.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	h.once.Do(func() {
		id, err := cloudmeta.Detect(ctx, h.Cloud)
		if err != nil {
			log.Warn("cloud identity", "err", err)
		}
		h.identity = id
		h.engine, h.engErr = inventory.NewEngine(inventory.Options{})
	})
	snap, err := hostinv.Collect(ctx, hostinv.Options{Root: root})
	if err != nil {
		return Collection{}, fmt.Errorf("host inventory: %w", err)
	}
	for _, p := range snap.Problems {
		log.Debug("host inventory problem", "source", p.Source, "path", p.Path, "err", p.Err)
	}
	host := &agentpb.AssetRecord{
		Id: "host", Kind: "host", Name: snap.Hostname,
		Os:       strings.TrimSpace(snap.OS.ID + " " + snap.OS.VersionID),
		Platform: "linux/" + snap.Kernel.Arch,
		Cloud:    string(h.identity.Provider), Region: h.identity.Region,
		Labels: maps.Clone(h.Labels),
	}
	// Attrs must not change between collections when the host did not:
	// they are compared to decide whether to send the asset again.
	attrs := map[string]any{
		"os":     asset.OS{ID: snap.OS.ID, VersionID: snap.OS.VersionID, Codename: snap.OS.VersionCodename, PrettyName: snap.OS.PrettyName},
		"kernel": snap.Kernel, "ips": snap.IPs, "machineId": snap.MachineID,
		"bootTime": snap.BootTime, "cloud": h.identity,
	}
	ca := CollectedAsset{Record: host, ItemKinds: itemKinds}
	for _, it := range snap.Items() {
		b, err := json.Marshal(it.Data)
		if err != nil {
			return Collection{}, err
		}
		host.Items = append(host.Items, &agentpb.Item{Kind: it.Kind, Key: it.Key, Data: b})
	}
	if full {
		if h.engErr != nil {
			return Collection{}, h.engErr
		}
		s, err := scan.Host(ctx, h.engine, root, scan.Options{})
		if err != nil {
			return Collection{}, fmt.Errorf("package inventory: %w", err)
		}
		pkgs, err := records(s.Result.Packages)
		if err != nil {
			return Collection{}, err
		}
		host.Packages = pkgs
		ca.HasPackages = true
		if len(s.Result.Unknowns) > 0 {
			log.Warn("package inventory incomplete", "unreadable", len(s.Result.Unknowns))
		}
	}
	if host.Attrs, err = json.Marshal(attrs); err != nil {
		return Collection{}, err
	}
	c := Collection{Assets: []CollectedAsset{ca}}
	ct, err := containers.Collect(ctx, h.Containers)
	if err != nil {
		log.Warn("container inventory", "err", err)
	} else {
		for _, a := range containerAssets(ct) {
			for k, v := range h.Labels {
				if _, ok := a.Record.Labels[k]; !ok {
					if a.Record.Labels == nil {
						a.Record.Labels = map[string]string{}
					}
					a.Record.Labels[k] = v
				}
			}
			c.Assets = append(c.Assets, a)
		}
	}
	return c, nil
}

// records converts inventory packages to protocol packages.
func records(pkgs []inventory.Package) ([]*agentpb.Package, error) {
	out := make([]*agentpb.Package, 0, len(pkgs))
	seen := map[string]bool{}
	for _, p := range pkgs {
		if seen[p.ID] {
			continue
		}
		seen[p.ID] = true
		b, err := json.Marshal(p)
		if err != nil {
			return nil, err
		}
		out = append(out, &agentpb.Package{Id: p.ID, Name: p.Name, Version: p.Version, Ecosystem: string(p.Ecosystem), Purl: p.PURL, Data: b})
	}
	return out, nil
}

// containerAssets turns the runtimes' containers and images into asset
// records of the host.
func containerAssets(inv *containers.Inventory) []CollectedAsset {
	var out []CollectedAsset
	for _, c := range inv.Containers {
		attrs, _ := json.Marshal(c)
		labels := map[string]string{}
		for _, k := range slices.Sorted(maps.Keys(c.Labels)) {
			if len(labels) < 64 {
				labels[k] = c.Labels[k]
			}
		}
		out = append(out, CollectedAsset{Record: &agentpb.AssetRecord{
			Id: "container:" + c.ID, Kind: "container", Name: strings.TrimPrefix(c.Name, "/"), ParentId: "host",
			Labels: labels, Attrs: attrs,
		}})
	}
	for _, im := range inv.Images {
		attrs, _ := json.Marshal(im)
		name := im.ID
		if len(im.RepoTags) > 0 {
			name = im.RepoTags[0]
		}
		out = append(out, CollectedAsset{Record: &agentpb.AssetRecord{
			Id: "image:" + im.ID, Kind: "image", Name: name, ParentId: "host", Attrs: attrs,
		}})
	}
	return out
}
