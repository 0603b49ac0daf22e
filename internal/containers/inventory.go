package containers

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"sort"
	"time"
)

// Default sockets, and NoSocket to skip a runtime.
const (
	DefaultDockerSocket     = "/var/run/docker.sock"
	DefaultContainerdSocket = "/run/containerd/containerd.sock"
	// NoSocket as a socket path skips that runtime.
	NoSocket = "none"
)

// DefaultTimeout bounds the collection from one runtime.
const DefaultTimeout = 30 * time.Second

// Limits on what one runtime may return.
const (
	maxContainers = 10000 // per runtime (per namespace for containerd)
	maxImages     = 10000
	maxLabels     = 1024 // per container or image
	maxNamespaces = 256
)

// Runtime names.
const (
	Docker     = "docker"
	Containerd = "containerd"
)

// Options configure Collect. The zero value reads both runtimes at their
// default sockets.
type Options struct {
	// DockerSocket is the Engine's unix socket; "" means
	// DefaultDockerSocket, NoSocket skips Docker.
	DockerSocket string
	// ContainerdSocket is containerd's unix socket; "" means
	// DefaultContainerdSocket, NoSocket skips containerd. (The containerd
	// that Docker starts itself listens on
	// /var/run/docker/containerd/containerd.sock.)
	ContainerdSocket string
	// Timeout bounds the collection from each runtime; 0 means
	// DefaultTimeout.
	Timeout time.Duration
}

// Inventory is what the runtimes of one host hold.
type Inventory struct {
	// Runtimes lists each runtime whose socket exists, with its error if
	// it could not be read.
	Runtimes []Runtime `json:"runtimes"`
	// Containers, sorted by runtime, namespace, name and ID. A container
	// Docker reported is not repeated from containerd's moby namespace.
	Containers []Container `json:"containers"`
	// Images, sorted by runtime, namespace and ID.
	Images []Image `json:"images"`
}

// Runtime is one container runtime found on the host.
type Runtime struct {
	Name       string `json:"name"`
	Version    string `json:"version,omitempty"`
	APIVersion string `json:"apiVersion,omitempty"`
	Socket     string `json:"socket"`
	// Error says why the runtime could not be read (or not completely).
	Error string `json:"error,omitempty"`
}

// Container is one container of a runtime.
type Container struct {
	Runtime string `json:"runtime"`
	// Namespace is the containerd namespace; "" for Docker.
	Namespace string `json:"namespace,omitempty"`
	ID        string `json:"id"`
	// Name: Docker's container name without the leading "/"; for
	// containerd the io.kubernetes.container.name label, if any.
	Name string `json:"name,omitempty"`
	// Image is the image reference the container was created from, as
	// given; ImageID the image's ID (Docker: config digest) if known.
	Image   string `json:"image,omitempty"`
	ImageID string `json:"imageId,omitempty"`
	// State: Docker's (created, running, paused, restarting, removing,
	// exited, dead) or containerd's task status (created, running,
	// stopped, paused, pausing, unknown; stopped also when there is no
	// task).
	State   string    `json:"state,omitempty"`
	Created time.Time `json:"created,omitzero"`
	// Started is when the container last started (Docker only).
	Started time.Time `json:"started,omitzero"`
	// PID is the host PID of the container's init process; 0 when not
	// running.
	PID    int               `json:"pid,omitempty"`
	Labels map[string]string `json:"labels,omitempty"`
	// PodName and PodNamespace come from the io.kubernetes.pod.name and
	// io.kubernetes.pod.namespace labels.
	PodName      string `json:"podName,omitempty"`
	PodNamespace string `json:"podNamespace,omitempty"`
	// Privileged: Docker's flag; for containerd, read from the OCI spec as
	// CAP_SYS_ADMIN in the bounding set with no masked or read-only paths,
	// which is what privileged mode produces.
	Privileged bool `json:"privileged"`
	// NetworkMode: Docker's (default, bridge, host, none, container:ID,
	// a network name); for containerd "host" without a network namespace,
	// "netns:PATH" when joining one, else "private".
	NetworkMode string `json:"networkMode,omitempty"`
	// PIDMode is "host" when the container shares the host's PID
	// namespace.
	PIDMode string  `json:"pidMode,omitempty"`
	Mounts  []Mount `json:"mounts,omitempty"`
	// Ports are Docker's published and exposed ports; containerd knows
	// none.
	Ports []Port `json:"ports,omitempty"`
	// Error says why details are missing (Docker: the inspect failed and
	// only the listing's fields are set).
	Error string `json:"error,omitempty"`
}

// Mount is a filesystem mounted into a container. For containerd only
// mounts with a host path as source are listed.
type Mount struct {
	// Type: bind, volume, tmpfs, npipe (Docker) or the OCI mount type.
	Type string `json:"type,omitempty"`
	// Name is the volume name of a Docker volume.
	Name        string `json:"name,omitempty"`
	Source      string `json:"source,omitempty"`
	Destination string `json:"destination"`
	ReadOnly    bool   `json:"readOnly"`
}

// Port is a container port, with the host address it is published on if
// any.
type Port struct {
	ContainerPort uint16 `json:"containerPort"`
	Protocol      string `json:"protocol"`
	HostIP        string `json:"hostIp,omitempty"`
	HostPort      uint16 `json:"hostPort,omitempty"`
}

// Image is one image of a runtime.
type Image struct {
	Runtime   string `json:"runtime"`
	Namespace string `json:"namespace,omitempty"`
	// ID: Docker's image ID (config digest); containerd's target digest
	// (index or manifest).
	ID          string   `json:"id"`
	RepoTags    []string `json:"repoTags,omitempty"`
	RepoDigests []string `json:"repoDigests,omitempty"`
	// Size is the unpacked size Docker reports; 0 for containerd, which
	// does not tell it without walking the content store.
	Size    int64     `json:"size,omitempty"`
	Created time.Time `json:"created,omitzero"`
}

// Collect reads every runtime whose socket exists. A runtime that fails is
// listed with its Error and the others are still read; the error is only
// for ctx ending, with what was collected so far.
func Collect(ctx context.Context, o Options) (*Inventory, error) {
	timeout := o.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	inv := &Inventory{Runtimes: []Runtime{}, Containers: []Container{}, Images: []Image{}}
	dockerIDs := map[string]bool{}
	if sock, ok := socket(o.DockerSocket, DefaultDockerSocket); ok {
		rctx, cancel := context.WithTimeout(ctx, timeout)
		rt, cs, is := collectDocker(rctx, sock)
		cancel()
		inv.add(rt, cs, is)
		for _, c := range cs {
			dockerIDs[c.ID] = true
		}
	}
	if err := ctx.Err(); err != nil {
		inv.sort()
		return inv, err
	}
	if sock, ok := socket(o.ContainerdSocket, DefaultContainerdSocket); ok {
		rctx, cancel := context.WithTimeout(ctx, timeout)
		rt, cs, is := collectContainerd(rctx, sock)
		cancel()
		// Docker runs its containers through containerd's moby namespace:
		// report those once, with Docker's richer view.
		kept := cs[:0]
		for _, c := range cs {
			if !(c.Namespace == "moby" && dockerIDs[c.ID]) {
				kept = append(kept, c)
			}
		}
		inv.add(rt, kept, is)
	}
	inv.sort()
	if err := ctx.Err(); err != nil {
		return inv, err
	}
	return inv, nil
}

// socket resolves a configured socket path and tells whether it exists.
func socket(path, def string) (string, bool) {
	if path == NoSocket {
		return "", false
	}
	if path == "" {
		path = def
	}
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return path, false
	}
	return path, true
}

func (inv *Inventory) add(rt Runtime, cs []Container, is []Image) {
	inv.Runtimes = append(inv.Runtimes, rt)
	inv.Containers = append(inv.Containers, cs...)
	inv.Images = append(inv.Images, is...)
}

func (inv *Inventory) sort() {
	sort.SliceStable(inv.Containers, func(i, j int) bool {
		a, b := inv.Containers[i], inv.Containers[j]
		if a.Runtime != b.Runtime {
			return a.Runtime < b.Runtime
		}
		if a.Namespace != b.Namespace {
			return a.Namespace < b.Namespace
		}
		if a.Name != b.Name {
			return a.Name < b.Name
		}
		return a.ID < b.ID
	})
	sort.SliceStable(inv.Images, func(i, j int) bool {
		a, b := inv.Images[i], inv.Images[j]
		if a.Runtime != b.Runtime {
			return a.Runtime < b.Runtime
		}
		if a.Namespace != b.Namespace {
			return a.Namespace < b.Namespace
		}
		return a.ID < b.ID
	})
}

// podLabels sets c's pod fields from its Kubernetes labels.
func (c *Container) podLabels() {
	c.PodName = c.Labels["io.kubernetes.pod.name"]
	c.PodNamespace = c.Labels["io.kubernetes.pod.namespace"]
}

// validTime is t, or the zero time when t cannot be written as RFC 3339
// (a year outside 1–9999), so that a bogus timestamp from a runtime never
// makes the inventory unencodable.
func validTime(t time.Time) time.Time {
	u := t.UTC()
	if y := u.Year(); y < 1 || y > 9999 || u.Unix() <= 0 {
		return time.Time{}
	}
	return u
}
