package image

import (
	"fmt"
	"runtime"
	"slices"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// platform is an os/arch[/variant] triple. Variants are normalised so that
// "linux/arm64" and "linux/arm64/v8" compare equal, as containerd does.
type platform struct {
	os, arch, variant string
}

// parsePlatform parses "os/arch[/variant]"; "" gives linux/<runtime.GOARCH>.
func parsePlatform(s string) (platform, error) {
	if s == "" {
		return platform{os: "linux", arch: runtime.GOARCH}, nil
	}
	parts := strings.Split(s, "/")
	if len(parts) < 2 || len(parts) > 3 || slices.Contains(parts, "") {
		return platform{}, fmt.Errorf("platform %q: want os/arch[/variant]", s)
	}
	p := platform{os: parts[0], arch: parts[1]}
	if len(parts) == 3 {
		p.variant = parts[2]
	}
	return p, nil
}

func platformOf(p *v1.Platform) platform {
	if p == nil {
		return platform{}
	}
	return platform{os: p.OS, arch: p.Architecture, variant: p.Variant}
}

func (p platform) String() string {
	if p.os == "" && p.arch == "" {
		return ""
	}
	s := p.os + "/" + p.arch
	if p.variant != "" {
		s += "/" + p.variant
	}
	return s
}

// known reports whether p names a real platform; indexes use unknown/unknown
// for attestation manifests.
func (p platform) known() bool {
	return p.os != "" && p.arch != "" && p.os != "unknown" && p.arch != "unknown"
}

// defaultVariant is the variant an architecture has when none is written.
func defaultVariant(arch string) string {
	switch arch {
	case "arm64":
		return "v8"
	case "arm":
		return "v7"
	}
	return ""
}

// matches reports whether have satisfies want. OS and architecture must be
// equal; variants are compared after filling in the default variant.
func (want platform) matches(have platform) bool {
	if want.os != have.os || want.arch != have.arch {
		return false
	}
	wv, hv := want.variant, have.variant
	if wv == "" {
		wv = defaultVariant(want.arch)
	}
	if hv == "" {
		hv = defaultVariant(have.arch)
	}
	return wv == hv
}
