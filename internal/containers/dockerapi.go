package containers

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

// The parts of the Docker Engine API responses used here (API 1.24 and
// later all have these fields).

type engineVersion struct {
	Version    string `json:"Version"`
	APIVersion string `json:"ApiVersion"`
}

type engineMount struct {
	Type        string `json:"Type"`
	Name        string `json:"Name"`
	Source      string `json:"Source"`
	Destination string `json:"Destination"`
	RW          bool   `json:"RW"`
}

// engineListed is one entry of GET /containers/json.
type engineListed struct {
	ID      string            `json:"Id"`
	Names   []string          `json:"Names"`
	Image   string            `json:"Image"`
	ImageID string            `json:"ImageID"`
	Created int64             `json:"Created"`
	State   string            `json:"State"`
	Labels  map[string]string `json:"Labels"`
	Ports   []struct {
		IP          string `json:"IP"`
		PrivatePort uint16 `json:"PrivatePort"`
		PublicPort  uint16 `json:"PublicPort"`
		Type        string `json:"Type"`
	} `json:"Ports"`
	HostConfig struct {
		NetworkMode string `json:"NetworkMode"`
	} `json:"HostConfig"`
	Mounts []engineMount `json:"Mounts"`
}

// engineInspect is GET /containers/{id}/json.
type engineInspect struct {
	ID      string `json:"Id"`
	Created string `json:"Created"`
	Name    string `json:"Name"`
	Image   string `json:"Image"`
	State   *struct {
		Status    string `json:"Status"`
		Pid       int    `json:"Pid"`
		StartedAt string `json:"StartedAt"`
	} `json:"State"`
	Config *struct {
		Image  string            `json:"Image"`
		Labels map[string]string `json:"Labels"`
	} `json:"Config"`
	HostConfig *struct {
		Privileged  bool   `json:"Privileged"`
		NetworkMode string `json:"NetworkMode"`
		PidMode     string `json:"PidMode"`
	} `json:"HostConfig"`
	Mounts          []engineMount `json:"Mounts"`
	NetworkSettings *struct {
		// "8080/tcp" → bindings; null for a port exposed, not published.
		Ports map[string][]struct {
			HostIP   string `json:"HostIp"`
			HostPort string `json:"HostPort"`
		} `json:"Ports"`
	} `json:"NetworkSettings"`
}

// engineImage is one entry of GET /images/json.
type engineImage struct {
	ID          string   `json:"Id"`
	RepoTags    []string `json:"RepoTags"`
	RepoDigests []string `json:"RepoDigests"`
	Created     int64    `json:"Created"`
	Size        int64    `json:"Size"`
}

// decodeEngineVersion decodes GET /version.
func decodeEngineVersion(b []byte) (engineVersion, error) {
	var v engineVersion
	if err := json.Unmarshal(b, &v); err != nil {
		return engineVersion{}, fmt.Errorf("decode version: %w", err)
	}
	return v, nil
}

// decodeEngineContainers decodes GET /containers/json into containers with
// the listing's fields, at most maxContainers of them.
func decodeEngineContainers(b []byte) ([]Container, error) {
	var list []engineListed
	if err := json.Unmarshal(b, &list); err != nil {
		return nil, fmt.Errorf("decode container list: %w", err)
	}
	if len(list) > maxContainers {
		return nil, fmt.Errorf("container list: %d containers, over %d", len(list), maxContainers)
	}
	out := make([]Container, 0, len(list))
	for _, l := range list {
		if l.ID == "" {
			continue
		}
		c := Container{
			Runtime: Docker, ID: l.ID, Image: l.Image, ImageID: l.ImageID, State: l.State,
			Created: validTime(time.Unix(l.Created, 0)), Labels: limitLabels(l.Labels),
			NetworkMode: l.HostConfig.NetworkMode, Mounts: engineMounts(l.Mounts),
		}
		if len(l.Names) > 0 {
			c.Name = strings.TrimPrefix(l.Names[0], "/")
		}
		for _, p := range l.Ports {
			c.Ports = append(c.Ports, Port{ContainerPort: p.PrivatePort, Protocol: p.Type, HostIP: p.IP, HostPort: p.PublicPort})
		}
		sortPorts(c.Ports)
		c.podLabels()
		out = append(out, c)
	}
	return out, nil
}

// decodeEngineInspect decodes GET /containers/{id}/json over c, which holds the
// listing's fields: the inspect's fields replace them where it has them.
func decodeEngineInspect(b []byte, c *Container) error {
	var in engineInspect
	if err := json.Unmarshal(b, &in); err != nil {
		return fmt.Errorf("decode inspect: %w", err)
	}
	if in.ID != c.ID {
		return fmt.Errorf("inspect of %s answered for %q", c.ID, in.ID)
	}
	if t, err := time.Parse(time.RFC3339Nano, in.Created); err == nil {
		c.Created = validTime(t)
	}
	if in.Name != "" {
		c.Name = strings.TrimPrefix(in.Name, "/")
	}
	if in.Image != "" {
		c.ImageID = in.Image
	}
	if s := in.State; s != nil {
		c.State, c.PID = s.Status, max(s.Pid, 0)
		if t, err := time.Parse(time.RFC3339Nano, s.StartedAt); err == nil {
			c.Started = validTime(t)
		}
	}
	if cfg := in.Config; cfg != nil {
		if cfg.Image != "" {
			c.Image = cfg.Image
		}
		c.Labels = limitLabels(cfg.Labels)
		c.podLabels()
	}
	if h := in.HostConfig; h != nil {
		c.Privileged, c.NetworkMode = h.Privileged, h.NetworkMode
		if h.PidMode == "host" {
			c.PIDMode = "host"
		}
	}
	c.Mounts = engineMounts(in.Mounts)
	if ns := in.NetworkSettings; ns != nil {
		c.Ports = nil
		for spec, bindings := range ns.Ports {
			port, proto, ok := parsePortSpec(spec)
			if !ok {
				continue
			}
			if len(bindings) == 0 {
				c.Ports = append(c.Ports, Port{ContainerPort: port, Protocol: proto})
			}
			for _, bd := range bindings {
				p := Port{ContainerPort: port, Protocol: proto, HostIP: bd.HostIP}
				if hp, err := strconv.ParseUint(bd.HostPort, 10, 16); err == nil {
					p.HostPort = uint16(hp)
				}
				c.Ports = append(c.Ports, p)
			}
			if len(c.Ports) > maxLabels {
				break
			}
		}
		sortPorts(c.Ports)
	}
	return nil
}

// decodeEngineImages decodes GET /images/json, dropping the "<none>"
// placeholders of untagged images.
func decodeEngineImages(b []byte) ([]Image, error) {
	var list []engineImage
	if err := json.Unmarshal(b, &list); err != nil {
		return nil, fmt.Errorf("decode image list: %w", err)
	}
	if len(list) > maxImages {
		return nil, fmt.Errorf("image list: %d images, over %d", len(list), maxImages)
	}
	out := make([]Image, 0, len(list))
	for _, l := range list {
		if l.ID == "" {
			continue
		}
		out = append(out, Image{
			Runtime: Docker, ID: l.ID, Size: max(l.Size, 0), Created: validTime(time.Unix(l.Created, 0)),
			RepoTags: realRefs(l.RepoTags), RepoDigests: realRefs(l.RepoDigests),
		})
	}
	return out, nil
}

// realRefs drops "<none>:<none>" and "<none>@<none>".
func realRefs(refs []string) []string {
	var out []string
	for _, r := range refs {
		if !strings.HasPrefix(r, "<none>") {
			out = append(out, r)
		}
	}
	return out
}

func engineMounts(ms []engineMount) []Mount {
	var out []Mount
	for _, m := range ms {
		if len(out) == maxLabels {
			break
		}
		out = append(out, Mount{Type: m.Type, Name: m.Name, Source: m.Source, Destination: m.Destination, ReadOnly: !m.RW})
	}
	return out
}

// parsePortSpec splits "8080/tcp" (the protocol defaults to tcp).
func parsePortSpec(s string) (uint16, string, bool) {
	num, proto, found := strings.Cut(s, "/")
	if !found {
		proto = "tcp"
	}
	n, err := strconv.ParseUint(num, 10, 16)
	if err != nil || proto == "" {
		return 0, "", false
	}
	return uint16(n), proto, true
}

func sortPorts(ps []Port) {
	sort.Slice(ps, func(i, j int) bool {
		a, b := ps[i], ps[j]
		if a.ContainerPort != b.ContainerPort {
			return a.ContainerPort < b.ContainerPort
		}
		if a.Protocol != b.Protocol {
			return a.Protocol < b.Protocol
		}
		if a.HostIP != b.HostIP {
			return a.HostIP < b.HostIP
		}
		return a.HostPort < b.HostPort
	})
}

// limitLabels returns m, or nil if it has more than maxLabels entries
// (a runtime does not allow that many; only a hostile answer has them).
func limitLabels(m map[string]string) map[string]string {
	if len(m) == 0 || len(m) > maxLabels {
		return nil
	}
	return m
}
