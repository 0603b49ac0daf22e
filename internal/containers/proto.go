package containers

import (
	"errors"
	"fmt"
	"time"

	"google.golang.org/protobuf/encoding/protowire"
)

// Decoders for the few containerd API messages read here, by field number
// (containerd/api: services/{version,namespaces,containers,tasks,images}/v1
// and types/{task,descriptor}). Unknown fields, and known fields of an
// unexpected wire type, are skipped as protobuf does.

// field is one protobuf field: a varint's value or a length-delimited
// field's bytes.
type field struct {
	num protowire.Number
	typ protowire.Type
	u   uint64
	b   []byte
}

// fields calls fn for each field of message b, in order.
func fields(b []byte, fn func(field) error) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return protowire.ParseError(n)
		}
		b = b[n:]
		f := field{num: num, typ: typ}
		switch typ {
		case protowire.VarintType:
			f.u, n = protowire.ConsumeVarint(b)
		case protowire.BytesType:
			f.b, n = protowire.ConsumeBytes(b)
		default:
			n = protowire.ConsumeFieldValue(num, typ, b)
		}
		if n < 0 {
			return protowire.ParseError(n)
		}
		b = b[n:]
		if err := fn(f); err != nil {
			return err
		}
	}
	return nil
}

func (f field) isBytes() bool  { return f.typ == protowire.BytesType }
func (f field) isVarint() bool { return f.typ == protowire.VarintType }

// errTooMany rejects a message listing more entries than any runtime
// would.
var errTooMany = errors.New("too many entries")

// decodeVersionResponse: VersionResponse{version = 1, revision = 2}.
func decodeVersionResponse(b []byte) (version, revision string, err error) {
	err = fields(b, func(f field) error {
		switch {
		case f.num == 1 && f.isBytes():
			version = string(f.b)
		case f.num == 2 && f.isBytes():
			revision = string(f.b)
		}
		return nil
	})
	return version, revision, err
}

// decodeNamespaces: ListNamespacesResponse{repeated Namespace namespaces
// = 1}, Namespace{name = 1}.
func decodeNamespaces(b []byte) ([]string, error) {
	var names []string
	err := fields(b, func(f field) error {
		if f.num != 1 || !f.isBytes() {
			return nil
		}
		if len(names) == maxNamespaces {
			return fmt.Errorf("namespaces: %w", errTooMany)
		}
		var name string
		if err := fields(f.b, func(g field) error {
			if g.num == 1 && g.isBytes() {
				name = string(g.b)
			}
			return nil
		}); err != nil {
			return err
		}
		if name != "" {
			names = append(names, name)
		}
		return nil
	})
	return names, err
}

// ctrdContainer is the part of a containerd Container used here.
type ctrdContainer struct {
	ID       string
	Labels   map[string]string
	Image    string
	Runtime  string
	SpecType string // the spec Any's type URL
	Spec     []byte // its value: the OCI runtime spec as JSON
	Created  time.Time
}

// decodeContainer: Container{id = 1, map labels = 2, image = 3, Runtime
// runtime = 4 {name = 1}, Any spec = 5 {type_url = 1, value = 2},
// Timestamp created_at = 8}.
func decodeContainer(b []byte) (ctrdContainer, error) {
	var c ctrdContainer
	err := fields(b, func(f field) error {
		if !f.isBytes() {
			return nil
		}
		var err error
		switch f.num {
		case 1:
			c.ID = string(f.b)
		case 2:
			c.Labels, err = addMapEntry(c.Labels, f.b)
		case 3:
			c.Image = string(f.b)
		case 4:
			err = fields(f.b, func(g field) error {
				if g.num == 1 && g.isBytes() {
					c.Runtime = string(g.b)
				}
				return nil
			})
		case 5:
			err = fields(f.b, func(g field) error {
				switch {
				case g.num == 1 && g.isBytes():
					c.SpecType = string(g.b)
				case g.num == 2 && g.isBytes():
					c.Spec = g.b
				}
				return nil
			})
		case 8:
			c.Created, err = decodeTimestamp(f.b)
		}
		return err
	})
	if err != nil {
		return ctrdContainer{}, fmt.Errorf("container: %w", err)
	}
	return c, nil
}

// decodeContainerMessage: ListContainerMessage{Container container = 1}.
func decodeContainerMessage(b []byte) (ctrdContainer, error) {
	var c ctrdContainer
	found := false
	err := fields(b, func(f field) error {
		if f.num != 1 || !f.isBytes() {
			return nil
		}
		var err error
		c, err = decodeContainer(f.b)
		found = true
		return err
	})
	if err == nil && !found {
		err = errors.New("container message without a container")
	}
	return c, err
}

// decodeCtrdContainers: ListContainersResponse{repeated Container
// containers = 1}.
func decodeCtrdContainers(b []byte) ([]ctrdContainer, error) {
	var cs []ctrdContainer
	err := fields(b, func(f field) error {
		if f.num != 1 || !f.isBytes() {
			return nil
		}
		if len(cs) == maxContainers {
			return fmt.Errorf("containers: %w", errTooMany)
		}
		c, err := decodeContainer(f.b)
		cs = append(cs, c)
		return err
	})
	return cs, err
}

// ctrdTask is the part of a task (types.Process) used here.
type ctrdTask struct {
	ContainerID string
	PID         uint32
	Status      string
}

// taskStatus names types.Status values.
var taskStatus = []string{"unknown", "created", "running", "stopped", "paused", "pausing"}

// decodeTasks: ListTasksResponse{repeated Process tasks = 1},
// Process{container_id = 1, id = 2, pid = 3, Status status = 4}. A task's
// container is container_id, or id when that is empty (containerd 1.x
// fills only id, which is the container's ID for a task's init process).
func decodeTasks(b []byte) ([]ctrdTask, error) {
	var ts []ctrdTask
	err := fields(b, func(f field) error {
		if f.num != 1 || !f.isBytes() {
			return nil
		}
		if len(ts) == maxContainers {
			return fmt.Errorf("tasks: %w", errTooMany)
		}
		var t ctrdTask
		var id string
		status := uint64(0)
		if err := fields(f.b, func(g field) error {
			switch {
			case g.num == 1 && g.isBytes():
				t.ContainerID = string(g.b)
			case g.num == 2 && g.isBytes():
				id = string(g.b)
			case g.num == 3 && g.isVarint():
				t.PID = uint32(g.u)
			case g.num == 4 && g.isVarint():
				status = g.u
			}
			return nil
		}); err != nil {
			return fmt.Errorf("task: %w", err)
		}
		if t.ContainerID == "" {
			t.ContainerID = id
		}
		t.Status = "unknown"
		if status < uint64(len(taskStatus)) {
			t.Status = taskStatus[status]
		}
		ts = append(ts, t)
		return nil
	})
	return ts, err
}

// ctrdImage is the part of a containerd Image used here.
type ctrdImage struct {
	Name      string
	Digest    string
	MediaType string
	Created   time.Time
}

// decodeImages: ListImagesResponse{repeated Image images = 1},
// Image{name = 1, Descriptor target = 3 {media_type = 1, digest = 2},
// Timestamp created_at = 7}.
func decodeImages(b []byte) ([]ctrdImage, error) {
	var is []ctrdImage
	err := fields(b, func(f field) error {
		if f.num != 1 || !f.isBytes() {
			return nil
		}
		if len(is) == maxImages {
			return fmt.Errorf("images: %w", errTooMany)
		}
		var im ctrdImage
		if err := fields(f.b, func(g field) error {
			if !g.isBytes() {
				return nil
			}
			var err error
			switch g.num {
			case 1:
				im.Name = string(g.b)
			case 3:
				err = fields(g.b, func(h field) error {
					switch {
					case h.num == 1 && h.isBytes():
						im.MediaType = string(h.b)
					case h.num == 2 && h.isBytes():
						im.Digest = string(h.b)
					}
					return nil
				})
			case 7:
				im.Created, err = decodeTimestamp(g.b)
			}
			return err
		}); err != nil {
			return fmt.Errorf("image: %w", err)
		}
		is = append(is, im)
		return nil
	})
	return is, err
}

// decodeTimestamp: google.protobuf.Timestamp{int64 seconds = 1, int32
// nanos = 2}; the zero time for values out of range.
func decodeTimestamp(b []byte) (time.Time, error) {
	var secs, nanos int64
	err := fields(b, func(f field) error {
		switch {
		case f.num == 1 && f.isVarint():
			secs = int64(f.u)
		case f.num == 2 && f.isVarint():
			nanos = int64(int32(f.u))
		}
		return nil
	})
	if err != nil || nanos < 0 || nanos >= 1e9 {
		return time.Time{}, err
	}
	return validTime(time.Unix(secs, nanos)), nil
}

// addMapEntry decodes a map<string, string> entry {key = 1, value = 2}
// into m, creating it if nil.
func addMapEntry(m map[string]string, b []byte) (map[string]string, error) {
	var k, v string
	if err := fields(b, func(f field) error {
		switch {
		case f.num == 1 && f.isBytes():
			k = string(f.b)
		case f.num == 2 && f.isBytes():
			v = string(f.b)
		}
		return nil
	}); err != nil {
		return m, err
	}
	if m == nil {
		m = make(map[string]string)
	}
	if _, ok := m[k]; !ok && len(m) == maxLabels {
		return m, fmt.Errorf("labels: %w", errTooMany)
	}
	m[k] = v
	return m, nil
}
