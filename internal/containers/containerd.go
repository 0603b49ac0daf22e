package containers

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
)

// The containerd methods called; every request is an empty message.
const (
	methodVersion        = "/containerd.services.version.v1.Version/Version"
	methodNamespaces     = "/containerd.services.namespaces.v1.Namespaces/List"
	methodContainers     = "/containerd.services.containers.v1.Containers/ListStream"
	methodContainersList = "/containerd.services.containers.v1.Containers/List"
	methodTasks          = "/containerd.services.tasks.v1.Tasks/List"
	methodImages         = "/containerd.services.images.v1.Images/List"
)

// collectContainerd reads containerd at socket: its version, then the
// containers (with their tasks) and images of every namespace. Failures
// end up in Runtime.Error; what was read before them is returned.
func collectContainerd(ctx context.Context, socket string) (Runtime, []Container, []Image) {
	rt := Runtime{Name: Containerd, Socket: socket}
	g := newGRPCClient(socket)
	defer g.close()

	b, err := unary(ctx, g, "", methodVersion)
	if err == nil {
		rt.Version, _, err = decodeVersionResponse(b)
	}
	if err != nil {
		rt.Error = err.Error()
		return rt, nil, nil
	}
	b, err = unary(ctx, g, "", methodNamespaces)
	var namespaces []string
	if err == nil {
		namespaces, err = decodeNamespaces(b)
	}
	if err != nil {
		rt.Error = err.Error()
		return rt, nil, nil
	}
	sort.Strings(namespaces)

	var cs []Container
	var is []Image
	var errs []string
	for _, ns := range namespaces {
		nsImages, err := namespaceImages(ctx, g, ns)
		if err != nil {
			errs = append(errs, fmt.Sprintf("namespace %s: %v", ns, err))
		}
		nsContainers, err := namespaceContainers(ctx, g, ns, nsImages)
		if err != nil {
			errs = append(errs, fmt.Sprintf("namespace %s: %v", ns, err))
		}
		cs = append(cs, nsContainers...)
		is = append(is, nsImages...)
	}
	rt.Error = strings.Join(errs, "; ")
	return rt, cs, is
}

// unary calls a method that answers one message.
func unary(ctx context.Context, g *grpcClient, ns, method string) ([]byte, error) {
	var out []byte
	n := 0
	err := g.call(ctx, ns, method, nil, func(b []byte) error {
		if n++; n > 1 {
			return fmt.Errorf("%s: more than one response message", method)
		}
		out = b
		return nil
	})
	if err == nil && n == 0 {
		err = fmt.Errorf("%s: no response message", method)
	}
	return out, err
}

// namespaceContainers lists the containers of ns with their tasks' state.
// images (of the same namespace) give each container its image ID.
func namespaceContainers(ctx context.Context, g *grpcClient, ns string, images []Image) ([]Container, error) {
	var raw []ctrdContainer
	err := g.call(ctx, ns, methodContainers, nil, func(b []byte) error {
		if len(raw) == maxContainers {
			return fmt.Errorf("containers: %w", errTooMany)
		}
		c, err := decodeContainerMessage(b)
		if err != nil {
			return err
		}
		raw = append(raw, c)
		return nil
	})
	var st *grpcStatus
	if errors.As(err, &st) && st.code == grpcUnimplemented && len(raw) == 0 {
		// containerd before 1.3 has no ListStream.
		var b []byte
		if b, err = unary(ctx, g, ns, methodContainersList); err == nil {
			raw, err = decodeCtrdContainers(b)
		}
	}
	if err != nil {
		return nil, err
	}
	tasks := map[string]ctrdTask{}
	b, taskErr := unary(ctx, g, ns, methodTasks)
	if taskErr == nil {
		var ts []ctrdTask
		if ts, taskErr = decodeTasks(b); taskErr == nil {
			for _, t := range ts {
				tasks[t.ContainerID] = t
			}
		}
	}
	imageIDs := map[string]string{}
	for _, im := range images {
		for _, ref := range append(im.RepoTags, im.RepoDigests...) {
			imageIDs[ref] = im.ID
		}
	}
	out := make([]Container, 0, len(raw))
	for _, rc := range raw {
		if rc.ID == "" {
			continue
		}
		out = append(out, containerdContainer(ns, rc, tasks, imageIDs, taskErr))
	}
	if taskErr != nil {
		return out, fmt.Errorf("tasks: %w", taskErr)
	}
	return out, nil
}

// containerdContainer maps one containerd container to a Container.
func containerdContainer(ns string, rc ctrdContainer, tasks map[string]ctrdTask, imageIDs map[string]string, taskErr error) Container {
	c := Container{
		Runtime: Containerd, Namespace: ns, ID: rc.ID, Image: rc.Image, ImageID: imageIDs[rc.Image],
		Created: rc.Created, Labels: limitLabels(rc.Labels), State: "stopped",
	}
	c.Name = c.Labels["io.kubernetes.container.name"]
	c.podLabels()
	if t, ok := tasks[rc.ID]; ok {
		c.State = t.Status
		if t.Status != "stopped" && t.Status != "unknown" {
			c.PID = int(t.PID)
		}
	} else if taskErr != nil {
		c.State = ""
	}
	if len(rc.Spec) > 0 {
		if f, err := decodeSpec(rc.Spec); err != nil {
			c.Error = err.Error()
		} else {
			c.Privileged, c.NetworkMode, c.PIDMode, c.Mounts = f.Privileged, f.NetworkMode, f.PIDMode, f.Mounts
		}
	}
	return c
}

// namespaceImages lists the images of ns, one per target digest with all
// the names pointing at it (the CRI also names images by their config
// digest, "sha256:…": those names are not references and are dropped).
func namespaceImages(ctx context.Context, g *grpcClient, ns string) ([]Image, error) {
	b, err := unary(ctx, g, ns, methodImages)
	if err != nil {
		return nil, err
	}
	raw, err := decodeImages(b)
	if err != nil {
		return nil, err
	}
	byDigest := map[string]*Image{}
	var order []string
	for _, r := range raw {
		if r.Digest == "" {
			continue
		}
		im, ok := byDigest[r.Digest]
		if !ok {
			im = &Image{Runtime: Containerd, Namespace: ns, ID: r.Digest, Created: r.Created}
			byDigest[r.Digest] = im
			order = append(order, r.Digest)
		}
		if !r.Created.IsZero() && (im.Created.IsZero() || r.Created.Before(im.Created)) {
			im.Created = r.Created
		}
		switch {
		case strings.HasPrefix(r.Name, "sha256:"):
		case strings.Contains(r.Name, "@"):
			im.RepoDigests = append(im.RepoDigests, r.Name)
		case r.Name != "":
			im.RepoTags = append(im.RepoTags, r.Name)
		}
	}
	out := make([]Image, 0, len(order))
	for _, d := range order {
		im := byDigest[d]
		sort.Strings(im.RepoTags)
		sort.Strings(im.RepoDigests)
		out = append(out, *im)
	}
	return out, nil
}
