package sensor

import (
	"bytes"
	"context"
	"sync"
	"time"

	"github.com/vigil-sec/vigil/internal/containers"
)

// ContainerResolver maps a container ID to what the runtime knows of it
// (name, image, Kubernetes pod and namespace). The agent plugs in a
// resolver backed by the runtimes' APIs; InventoryResolver is one.
type ContainerResolver interface {
	// Resolve returns the container with that ID, or nil if the runtime
	// does not know it.
	Resolve(ctx context.Context, id string) (*Container, error)
}

// containerIDFromCgroup finds a container ID in the contents of
// /proc/PID/cgroup: the last 64-hex path component of any hierarchy,
// optionally wrapped as docker-ID.scope, cri-containerd-ID.scope,
// crio-ID.scope or libpod-ID.scope (systemd driver), or plain as in
// /docker/ID and /kubepods/…/podUID/ID (cgroupfs driver). "" means the
// host.
func containerIDFromCgroup(b []byte) string {
	for line := range bytes.Lines(b) {
		// hierarchy-ID:controllers:path
		i := bytes.IndexByte(line, ':')
		if i < 0 {
			continue
		}
		j := bytes.IndexByte(line[i+1:], ':')
		if j < 0 {
			continue
		}
		path := bytes.TrimSpace(line[i+1+j+1:])
		if id := containerIDFromPath(path); id != "" {
			return id
		}
	}
	return ""
}

// containerIDFromPath returns the last container ID found in a cgroup
// path's components.
func containerIDFromPath(path []byte) string {
	id := ""
	for comp := range bytes.SplitSeq(path, []byte{'/'}) {
		c := comp
		if x, ok := bytes.CutSuffix(c, []byte(".scope")); ok {
			c = x
			if k := bytes.LastIndexByte(c, '-'); k >= 0 {
				c = c[k+1:]
			}
		}
		if isHexID(c) {
			id = string(c)
		}
	}
	return id
}

func isHexID(b []byte) bool {
	if len(b) != 64 {
		return false
	}
	for _, c := range b {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// containerCache remembers what the resolver said about each container
// for a while, so that each is resolved once, not once per event.
type containerCache struct {
	r       ContainerResolver
	ttl     time.Duration // positive answers
	negTTL  time.Duration // unknown containers and errors
	timeout time.Duration
	max     int

	mu sync.Mutex
	m  map[string]cachedContainer
}

type cachedContainer struct {
	c       *Container
	expires time.Time
}

func newContainerCache(r ContainerResolver) *containerCache {
	return &containerCache{r: r, ttl: 5 * time.Minute, negTTL: 5 * time.Second, timeout: 2 * time.Second, max: 4096, m: map[string]cachedContainer{}}
}

// get returns the container for an ID: the resolver's answer if there is
// one, else a Container with only the ID. Not safe for concurrent use
// with itself from several goroutines racing on the same ID (both may
// resolve), which only costs a duplicate lookup.
func (cc *containerCache) get(id string) *Container {
	if id == "" {
		return nil
	}
	now := time.Now()
	cc.mu.Lock()
	e, ok := cc.m[id]
	cc.mu.Unlock()
	if ok && now.Before(e.expires) {
		return e.c
	}
	c := &Container{ID: id}
	ttl := cc.negTTL
	if cc.r != nil {
		ctx, cancel := context.WithTimeout(context.Background(), cc.timeout)
		got, err := cc.r.Resolve(ctx, id)
		cancel()
		if err == nil && got != nil {
			c = got
			c.ID = id
			ttl = cc.ttl
		}
	}
	cc.mu.Lock()
	if len(cc.m) >= cc.max {
		for k, v := range cc.m {
			if now.After(v.expires) {
				delete(cc.m, k)
			}
		}
		if len(cc.m) >= cc.max {
			clear(cc.m)
		}
	}
	cc.m[id] = cachedContainer{c: c, expires: now.Add(ttl)}
	cc.mu.Unlock()
	return c
}

// InventoryResolver resolves container IDs with internal/containers: it
// collects the runtimes' inventory (Docker Engine, containerd) and
// answers from it, collecting again at most every MinInterval when an ID
// is not found.
type InventoryResolver struct {
	Options     containers.Options
	MinInterval time.Duration // 0 means 2 s

	mu   sync.Mutex
	last time.Time
	byID map[string]*Container
}

var _ ContainerResolver = (*InventoryResolver)(nil)

// Resolve implements ContainerResolver.
func (r *InventoryResolver) Resolve(ctx context.Context, id string) (*Container, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if c, ok := r.byID[id]; ok {
		cp := *c
		return &cp, nil
	}
	min := r.MinInterval
	if min <= 0 {
		min = 2 * time.Second
	}
	if time.Since(r.last) < min {
		return nil, nil
	}
	r.last = time.Now()
	inv, err := containers.Collect(ctx, r.Options)
	if inv == nil {
		return nil, err
	}
	r.byID = make(map[string]*Container, len(inv.Containers))
	for _, c := range inv.Containers {
		r.byID[c.ID] = &Container{
			ID: c.ID, Name: c.Name, Image: c.Image, Runtime: c.Runtime,
			Privileged: c.Privileged, Pod: c.PodName, Namespace: c.PodNamespace, InitPID: int32(c.PID),
		}
	}
	if c, ok := r.byID[id]; ok {
		cp := *c
		return &cp, nil
	}
	return nil, err
}
