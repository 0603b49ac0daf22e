package inventory

import (
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strings"

	"github.com/vigil-sec/vigil/internal/asset"
)

// Ecosystem is a package universe with its own names and version ordering.
// Values follow the OSV schema's ecosystem names where OSV has one, so that
// vulnerability matching needs no translation.
type Ecosystem string

// Ecosystems Vigil extracts.
const (
	Debian    Ecosystem = "Debian" // dpkg; the release is in the asset's OS
	RPM       Ecosystem = "RPM"    // rpm-based distributions
	Alpine    Ecosystem = "Alpine" // apk
	Go        Ecosystem = "Go"
	Npm       Ecosystem = "npm"
	PyPI      Ecosystem = "PyPI"
	Maven     Ecosystem = "Maven"
	Cargo     Ecosystem = "crates.io"
	RubyGems  Ecosystem = "RubyGems"
	Packagist Ecosystem = "Packagist" // Composer
	NuGet     Ecosystem = "NuGet"
	Other     Ecosystem = "Other"
)

// Package is one piece of installed or declared software.
type Package struct {
	// ID is stable for the same package at the same place in the same asset;
	// see Package.ComputeID.
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Version   string    `json:"version"`
	Ecosystem Ecosystem `json:"ecosystem"`
	// PURL is the package URL (https://github.com/package-url/purl-spec).
	PURL string `json:"purl,omitempty"`
	// Source is the package this one was built from, where the ecosystem
	// has that notion: a Debian source package, an RPM source RPM, an Alpine
	// origin. Distribution advisories are keyed by it.
	Source *Source `json:"source,omitempty"`
	// Licenses as declared by the package (SPDX expressions where given).
	Licenses []string `json:"licenses,omitempty"`
	// Locations are the files the package was found in, the first being the
	// one that declares it (a status database, a lock file, a binary).
	Locations []Location `json:"locations"`
	// Extractor names the extractor that found it ("os/dpkg", "go/binary").
	Extractor string `json:"extractor"`
	// Direct is true for a dependency a manifest declares itself, false for
	// transitive or unknown.
	Direct bool `json:"direct,omitempty"`
	// Metadata holds ecosystem-specific facts (architecture, the Go
	// toolchain a binary was built with, a jar's group id), as strings.
	Metadata map[string]string `json:"metadata,omitempty"`
}

// Source is the package a binary package was built from.
type Source struct {
	Name    string `json:"name"`
	Version string `json:"version,omitempty"`
}

// Location is where a package was found.
type Location struct {
	// Path is slash-separated and absolute within the scanned asset
	// ("/var/lib/dpkg/status", "/app/node_modules/x/package.json").
	Path string `json:"path"`
	// LayerDiffID is the image layer that introduced the package (that
	// first wrote this file with the package in it); empty outside images.
	LayerDiffID string `json:"layerDiffId,omitempty"`
	// LayerIndex is that layer's position, 0 for the base layer; only
	// meaningful when LayerDiffID is set.
	LayerIndex int `json:"layerIndex,omitempty"`
}

// ComputeID sets p.ID from the package's identity and main location, so the
// same package in the same place is the same ID in every scan of that asset.
func (p *Package) ComputeID() {
	h := sha256.New()
	path := ""
	if len(p.Locations) > 0 {
		path = p.Locations[0].Path
	}
	for _, s := range []string{string(p.Ecosystem), p.Name, p.Version, p.PURL, path} {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	p.ID = "p-" + hex.EncodeToString(h.Sum(nil)[:10])
}

// Unknown is a part of the asset that could not be inventoried: a corrupt
// package database, a layer that could not be read, an archive over a limit.
// Any Unknown makes a Result incomplete.
type Unknown struct {
	// Path is the file or archive member concerned, when there is one.
	Path string `json:"path,omitempty"`
	// Layer is the layer's DiffID for image input, when known.
	Layer string `json:"layer,omitempty"`
	// Extractor names the extractor that failed, when one did.
	Extractor string `json:"extractor,omitempty"`
	Err       string `json:"error"`
}

// Result is the inventory of one asset.
type Result struct {
	Asset    asset.Asset `json:"asset"`
	Packages []Package   `json:"packages"`
	// Unknowns lists what could not be read. A result with unknowns is
	// incomplete: absence of a package in it proves nothing.
	Unknowns []Unknown `json:"unknowns,omitempty"`
}

// Incomplete reports whether part of the asset could not be inventoried.
func (r *Result) Incomplete() bool { return len(r.Unknowns) > 0 }

// Sort orders packages by ecosystem, name, version and path, and unknowns
// by path, so that output is deterministic.
func (r *Result) Sort() {
	slices.SortStableFunc(r.Packages, func(a, b Package) int {
		if c := strings.Compare(string(a.Ecosystem), string(b.Ecosystem)); c != 0 {
			return c
		}
		if c := strings.Compare(a.Name, b.Name); c != 0 {
			return c
		}
		if c := strings.Compare(a.Version, b.Version); c != 0 {
			return c
		}
		return strings.Compare(a.mainPath(), b.mainPath())
	})
	slices.SortStableFunc(r.Unknowns, func(a, b Unknown) int {
		if c := strings.Compare(a.Layer, b.Layer); c != 0 {
			return c
		}
		return strings.Compare(a.Path, b.Path)
	})
}

func (p *Package) mainPath() string {
	if len(p.Locations) == 0 {
		return ""
	}
	return p.Locations[0].Path
}
