package containers

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// ociSpec is the part of an OCI runtime spec (config.json) used here.
type ociSpec struct {
	Process *struct {
		Capabilities *struct {
			Bounding []string `json:"bounding"`
		} `json:"capabilities"`
	} `json:"process"`
	Mounts []struct {
		Destination string   `json:"destination"`
		Type        string   `json:"type"`
		Source      string   `json:"source"`
		Options     []string `json:"options"`
	} `json:"mounts"`
	Linux *struct {
		Namespaces []struct {
			Type string `json:"type"`
			Path string `json:"path"`
		} `json:"namespaces"`
		MaskedPaths   []string `json:"maskedPaths"`
		ReadonlyPaths []string `json:"readonlyPaths"`
	} `json:"linux"`
}

// specFacts is what a container's OCI spec says about its isolation.
type specFacts struct {
	Privileged  bool
	NetworkMode string
	PIDMode     string
	Mounts      []Mount
}

// decodeSpec reads an OCI runtime spec. Privileged is CAP_SYS_ADMIN in the
// bounding set with neither masked nor read-only paths, which is what
// Docker's and the CRI's privileged mode produce. Only mounts whose source
// is a host path are kept.
func decodeSpec(b []byte) (specFacts, error) {
	var s ociSpec
	if err := json.Unmarshal(b, &s); err != nil {
		return specFacts{}, fmt.Errorf("decode OCI spec: %w", err)
	}
	var f specFacts
	if s.Linux != nil {
		f.NetworkMode, f.PIDMode = "host", "host"
		for _, ns := range s.Linux.Namespaces {
			switch ns.Type {
			case "network":
				f.NetworkMode = "private"
				if ns.Path != "" {
					f.NetworkMode = "netns:" + ns.Path
				}
			case "pid":
				f.PIDMode = ""
			}
		}
		if s.Process != nil && s.Process.Capabilities != nil &&
			slices.Contains(s.Process.Capabilities.Bounding, "CAP_SYS_ADMIN") &&
			len(s.Linux.MaskedPaths) == 0 && len(s.Linux.ReadonlyPaths) == 0 {
			f.Privileged = true
		}
	}
	for _, m := range s.Mounts {
		if !strings.HasPrefix(m.Source, "/") {
			continue // proc, sysfs, tmpfs, … have no host path
		}
		if len(f.Mounts) == maxLabels {
			break
		}
		typ := m.Type
		if typ == "" && (slices.Contains(m.Options, "bind") || slices.Contains(m.Options, "rbind")) {
			typ = "bind"
		}
		f.Mounts = append(f.Mounts, Mount{Type: typ, Source: m.Source, Destination: m.Destination, ReadOnly: slices.Contains(m.Options, "ro")})
	}
	return f, nil
}
