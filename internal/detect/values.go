package detect

import (
	"fmt"
	"reflect"

	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/common/types/ref"
	"github.com/google/cel-go/common/types/traits"
	"github.com/google/cel-go/interpreter"

	"github.com/vigil-sec/vigil/internal/sensor"
)

// The rule variables are CEL maps whose keys are the sensor's JSON field
// names. Instead of building a map (or a JSON document) per event, each
// is an object[T]: a read-only CEL map over a pointer to the sensor's
// struct, whose fields are read only when a rule asks for them.

// field is one key of an object and how to read it.
type field[T any] struct {
	name string
	get  func(*T) ref.Val
}

// schema is the key set of an object type.
type schema[T any] struct {
	fields []field[T]
	index  map[string]int
	names  map[string]bool
}

func newSchema[T any](fields ...field[T]) *schema[T] {
	s := &schema[T]{fields: fields, index: map[string]int{}, names: map[string]bool{}}
	for i, f := range fields {
		s.index[f.name] = i
		s.names[f.name] = true
	}
	return s
}

// object is a CEL map over *T.
type object[T any] struct {
	v *T
	s *schema[T]
}

var _ traits.Mapper = object[sensor.Process]{}

func (o object[T]) Find(key ref.Val) (ref.Val, bool) {
	k, ok := key.(types.String)
	if !ok {
		return nil, false
	}
	i, ok := o.s.index[string(k)]
	if !ok {
		return nil, false
	}
	return o.s.fields[i].get(o.v), true
}

func (o object[T]) Get(key ref.Val) ref.Val {
	if v, ok := o.Find(key); ok {
		return v
	}
	return types.NewErr("no such key: %v", key)
}

func (o object[T]) Contains(key ref.Val) ref.Val {
	_, ok := o.Find(key)
	return types.Bool(ok)
}

func (o object[T]) Size() ref.Val { return types.Int(len(o.s.fields)) }

// materialize builds an ordinary CEL map of every field: for iteration,
// equality and conversion, which rules rarely need.
func (o object[T]) materialize() traits.Mapper {
	m := make(map[ref.Val]ref.Val, len(o.s.fields))
	for _, f := range o.s.fields {
		m[types.String(f.name)] = f.get(o.v)
	}
	return types.NewRefValMap(types.DefaultTypeAdapter, m).(traits.Mapper)
}

func (o object[T]) Iterator() traits.Iterator { return o.materialize().Iterator() }

func (o object[T]) ConvertToNative(t reflect.Type) (any, error) {
	return o.materialize().ConvertToNative(t)
}

func (o object[T]) ConvertToType(t ref.Type) ref.Val {
	if t == types.MapType {
		return o
	}
	if t == types.TypeType {
		return types.MapType
	}
	return types.NewErr("type conversion error from map to %s", t)
}

func (o object[T]) Equal(other ref.Val) ref.Val { return o.materialize().Equal(other) }
func (o object[T]) Type() ref.Type              { return types.MapType }
func (o object[T]) Value() any                  { return o.v }

func str(s string) ref.Val { return types.String(s) }
func num[N ~int32 | ~uint32 | ~uint16 | ~uint64 | ~int64](n N) ref.Val {
	return types.Int(int64(n))
}

var processSchema = newSchema(
	field[sensor.Process]{"pid", func(p *sensor.Process) ref.Val { return num(p.PID) }},
	field[sensor.Process]{"ppid", func(p *sensor.Process) ref.Val { return num(p.PPID) }},
	field[sensor.Process]{"startTime", func(p *sensor.Process) ref.Val { return num(p.StartTime) }},
	field[sensor.Process]{"name", func(p *sensor.Process) ref.Val { return str(p.Name) }},
	field[sensor.Process]{"exe", func(p *sensor.Process) ref.Val { return str(p.Exe) }},
	field[sensor.Process]{"exeDeleted", func(p *sensor.Process) ref.Val { return types.Bool(p.ExeDeleted) }},
	field[sensor.Process]{"exeMemfd", func(p *sensor.Process) ref.Val { return types.Bool(p.ExeMemfd) }},
	field[sensor.Process]{"args", func(p *sensor.Process) ref.Val { return types.NewStringList(types.DefaultTypeAdapter, p.Args) }},
	field[sensor.Process]{"cwd", func(p *sensor.Process) ref.Val { return str(p.Cwd) }},
	field[sensor.Process]{"uid", func(p *sensor.Process) ref.Val { return num(p.UID) }},
	field[sensor.Process]{"gid", func(p *sensor.Process) ref.Val { return num(p.GID) }},
	field[sensor.Process]{"euid", func(p *sensor.Process) ref.Val { return num(p.EUID) }},
	field[sensor.Process]{"egid", func(p *sensor.Process) ref.Val { return num(p.EGID) }},
	field[sensor.Process]{"capEffective", func(p *sensor.Process) ref.Val { return num(p.CapEffective) }},
	field[sensor.Process]{"capPermitted", func(p *sensor.Process) ref.Val { return num(p.CapPermitted) }},
	field[sensor.Process]{"tty", func(p *sensor.Process) ref.Val { return types.Bool(p.TTY) }},
	field[sensor.Process]{"stdin", func(p *sensor.Process) ref.Val { return str(p.Stdin) }},
	field[sensor.Process]{"stdout", func(p *sensor.Process) ref.Val { return str(p.Stdout) }},
	field[sensor.Process]{"cgroupId", func(p *sensor.Process) ref.Val { return num(p.CgroupID) }},
	field[sensor.Process]{"mntNs", func(p *sensor.Process) ref.Val { return num(p.MntNS) }},
	field[sensor.Process]{"pidNs", func(p *sensor.Process) ref.Val { return num(p.PidNS) }},
)

var containerSchema = newSchema(
	field[sensor.Container]{"id", func(c *sensor.Container) ref.Val { return str(c.ID) }},
	field[sensor.Container]{"name", func(c *sensor.Container) ref.Val { return str(c.Name) }},
	field[sensor.Container]{"image", func(c *sensor.Container) ref.Val { return str(c.Image) }},
	field[sensor.Container]{"runtime", func(c *sensor.Container) ref.Val { return str(c.Runtime) }},
	field[sensor.Container]{"privileged", func(c *sensor.Container) ref.Val { return types.Bool(c.Privileged) }},
	field[sensor.Container]{"pod", func(c *sensor.Container) ref.Val { return str(c.Pod) }},
	field[sensor.Container]{"namespace", func(c *sensor.Container) ref.Val { return str(c.Namespace) }},
)

var fileSchema = newSchema(
	field[sensor.File]{"path", func(f *sensor.File) ref.Val { return str(f.Path) }},
	field[sensor.File]{"newPath", func(f *sensor.File) ref.Val { return str(f.NewPath) }},
	field[sensor.File]{"flags", func(f *sensor.File) ref.Val { return num(f.Flags) }},
	field[sensor.File]{"write", func(f *sensor.File) ref.Val { return types.Bool(f.Write) }},
	field[sensor.File]{"mode", func(f *sensor.File) ref.Val { return num(f.Mode) }},
)

var networkSchema = newSchema(
	field[sensor.Network]{"family", func(n *sensor.Network) ref.Val { return str(n.Family) }},
	field[sensor.Network]{"protocol", func(n *sensor.Network) ref.Val { return str(n.Protocol) }},
	field[sensor.Network]{"srcAddr", func(n *sensor.Network) ref.Val { return str(n.SrcAddr) }},
	field[sensor.Network]{"srcPort", func(n *sensor.Network) ref.Val { return num(n.SrcPort) }},
	field[sensor.Network]{"dstAddr", func(n *sensor.Network) ref.Val { return str(n.DstAddr) }},
	field[sensor.Network]{"dstPort", func(n *sensor.Network) ref.Val { return num(n.DstPort) }},
	field[sensor.Network]{"oldState", func(n *sensor.Network) ref.Val { return str(n.OldState) }},
	field[sensor.Network]{"newState", func(n *sensor.Network) ref.Val { return str(n.NewState) }},
	field[sensor.Network]{"path", func(n *sensor.Network) ref.Val { return str(n.Path) }},
)

var credSchema = newSchema(
	field[sensor.Cred]{"uid", func(c *sensor.Cred) ref.Val { return num(c.UID) }},
	field[sensor.Cred]{"euid", func(c *sensor.Cred) ref.Val { return num(c.EUID) }},
	field[sensor.Cred]{"gid", func(c *sensor.Cred) ref.Val { return num(c.GID) }},
	field[sensor.Cred]{"egid", func(c *sensor.Cred) ref.Val { return num(c.EGID) }},
	field[sensor.Cred]{"capEffective", func(c *sensor.Cred) ref.Val { return num(c.CapEffective) }},
	field[sensor.Cred]{"capPermitted", func(c *sensor.Cred) ref.Val { return num(c.CapPermitted) }},
)

var mountSchema = newSchema(
	field[sensor.Mount]{"source", func(m *sensor.Mount) ref.Val { return str(m.Source) }},
	field[sensor.Mount]{"target", func(m *sensor.Mount) ref.Val { return str(m.Target) }},
	field[sensor.Mount]{"fsType", func(m *sensor.Mount) ref.Val { return str(m.FSType) }},
	field[sensor.Mount]{"flags", func(m *sensor.Mount) ref.Val { return num(m.Flags) }},
)

// The zero sections stand in for an event's absent file, network, … so
// that rules read zero values instead of failing.
var (
	zeroProcess sensor.Process
	zeroFile    sensor.File
	zeroNetwork sensor.Network
	zeroCred    sensor.Cred
	zeroMount   sensor.Mount
	emptyArgs   = types.NewStringInterfaceMap(types.DefaultTypeAdapter, map[string]any{})
)

func orZero[T any](p *T, zero *T) *T {
	if p == nil {
		return zero
	}
	return p
}

// nullable wraps p, or yields null when p is nil (event.file of an exec
// without a file, container on the host).
func nullable[T any](p *T, s *schema[T]) ref.Val {
	if p == nil {
		return types.NullValue
	}
	return object[T]{p, s}
}

func argsVal(m map[string]any) ref.Val {
	if len(m) == 0 {
		return emptyArgs
	}
	return types.NewStringInterfaceMap(types.DefaultTypeAdapter, m)
}

func parentsVal(ps []sensor.Process) ref.Val {
	vals := make([]ref.Val, len(ps))
	for i := range ps {
		vals[i] = object[sensor.Process]{&ps[i], processSchema}
	}
	return types.NewRefValList(types.DefaultTypeAdapter, vals)
}

var eventSchema = newSchema(
	field[sensor.Event]{"kind", func(e *sensor.Event) ref.Val { return str(string(e.Kind)) }},
	field[sensor.Event]{"time", func(e *sensor.Event) ref.Val { return types.Timestamp{Time: e.Time} }},
	field[sensor.Event]{"process", func(e *sensor.Event) ref.Val { return object[sensor.Process]{&e.Process, processSchema} }},
	field[sensor.Event]{"parents", func(e *sensor.Event) ref.Val { return parentsVal(e.Parents) }},
	field[sensor.Event]{"container", func(e *sensor.Event) ref.Val { return nullable(e.Container, containerSchema) }},
	field[sensor.Event]{"file", func(e *sensor.Event) ref.Val { return nullable(e.File, fileSchema) }},
	field[sensor.Event]{"network", func(e *sensor.Event) ref.Val { return nullable(e.Network, networkSchema) }},
	field[sensor.Event]{"target", func(e *sensor.Event) ref.Val { return nullable(e.Target, processSchema) }},
	field[sensor.Event]{"cred", func(e *sensor.Event) ref.Val { return nullable(e.Cred, credSchema) }},
	field[sensor.Event]{"mount", func(e *sensor.Event) ref.Val { return nullable(e.Mount, mountSchema) }},
	field[sensor.Event]{"args", func(e *sensor.Event) ref.Val { return argsVal(e.Args) }},
	field[sensor.Event]{"result", func(e *sensor.Event) ref.Val { return num(e.Result) }},
)

// variables names every rule variable and, for the object-valued ones,
// its keys (checked at compile time: a misspelt field is a compile
// error, not a rule that never fires).
var variables = map[string]map[string]bool{
	"event":     eventSchema.names,
	"process":   processSchema.names,
	"parents":   nil,
	"container": containerSchema.names,
	"file":      fileSchema.names,
	"network":   networkSchema.names,
	"cred":      credSchema.names,
	"mount":     mountSchema.names,
	"target":    processSchema.names,
	"args":      nil,
}

// activation resolves the rule variables for one event. Values are built
// on first use and kept for the other rules of the same Match.
type activation struct {
	ev *sensor.Event
	// fast says the event is within the size hints: rules may take
	// their untracked programs.
	fast bool
	vals [10]ref.Val
}

var _ interpreter.Activation = (*activation)(nil)

const (
	vEvent = iota
	vProcess
	vParents
	vContainer
	vFile
	vNetwork
	vCred
	vMount
	vTarget
	vArgs
)

func (a *activation) ResolveName(name string) (any, bool) {
	var i int
	switch name {
	case "event":
		i = vEvent
	case "process":
		i = vProcess
	case "parents":
		i = vParents
	case "container":
		i = vContainer
	case "file":
		i = vFile
	case "network":
		i = vNetwork
	case "cred":
		i = vCred
	case "mount":
		i = vMount
	case "target":
		i = vTarget
	case "args":
		i = vArgs
	default:
		return nil, false
	}
	if v := a.vals[i]; v != nil {
		return v, true
	}
	v := a.build(i)
	a.vals[i] = v
	return v, true
}

func (a *activation) build(i int) ref.Val {
	e := a.ev
	switch i {
	case vEvent:
		return object[sensor.Event]{e, eventSchema}
	case vProcess:
		return object[sensor.Process]{&e.Process, processSchema}
	case vParents:
		return parentsVal(e.Parents)
	case vContainer:
		return nullable(e.Container, containerSchema)
	case vFile:
		return object[sensor.File]{orZero(e.File, &zeroFile), fileSchema}
	case vNetwork:
		return object[sensor.Network]{orZero(e.Network, &zeroNetwork), networkSchema}
	case vCred:
		return object[sensor.Cred]{orZero(e.Cred, &zeroCred), credSchema}
	case vMount:
		return object[sensor.Mount]{orZero(e.Mount, &zeroMount), mountSchema}
	case vTarget:
		return object[sensor.Process]{orZero(e.Target, &zeroProcess), processSchema}
	case vArgs:
		return argsVal(e.Args)
	}
	panic(fmt.Sprintf("detect: no variable %d", i))
}

func (a *activation) Parent() interpreter.Activation { return nil }
