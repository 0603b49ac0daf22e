package api

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"time"
	"unicode"

	"github.com/vigil-sec/vigil/internal/store"
)

// schemas turns Go types into OpenAPI 3.0 schemas, naming each struct
// once under components/schemas, so response documents are the json tags
// of the very types the handlers encode.
type schemas struct {
	defs  map[string]any
	types map[string]reflect.Type
}

func newSchemas() *schemas {
	return &schemas{defs: map[string]any{}, types: map[string]reflect.Type{}}
}

var (
	timeType     = reflect.TypeFor[time.Time]()
	durationType = reflect.TypeFor[time.Duration]()
	rawType      = reflect.TypeFor[json.RawMessage]()
	roleType     = reflect.TypeFor[store.Role]()
)

func ref(name string) map[string]any { return map[string]any{"$ref": "#/components/schemas/" + name} }

// of returns the schema of a value of type t.
func (g *schemas) of(t reflect.Type) map[string]any {
	switch t {
	case timeType:
		return map[string]any{"type": "string", "format": "date-time"}
	case durationType:
		return map[string]any{"type": "integer", "format": "int64", "description": "nanoseconds"}
	case rawType:
		return map[string]any{"description": "any JSON value"}
	case roleType:
		return map[string]any{"type": "string", "enum": []string{
			string(store.RoleAdmin), string(store.RoleAnalyst), string(store.RoleReadOnly)}}
	}
	switch t.Kind() {
	case reflect.Pointer:
		return g.of(t.Elem())
	case reflect.String:
		return map[string]any{"type": "string"}
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	case reflect.Int8, reflect.Int16, reflect.Int32, reflect.Uint8, reflect.Uint16:
		return map[string]any{"type": "integer", "format": "int32"}
	case reflect.Int, reflect.Int64, reflect.Uint, reflect.Uint32, reflect.Uint64:
		return map[string]any{"type": "integer", "format": "int64"}
	case reflect.Float32, reflect.Float64:
		return map[string]any{"type": "number"}
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 {
			return map[string]any{"type": "string", "format": "byte"}
		}
		return map[string]any{"type": "array", "items": g.of(t.Elem())}
	case reflect.Map:
		if t.Elem().Kind() == reflect.Interface {
			return map[string]any{"type": "object"}
		}
		return map[string]any{"type": "object", "additionalProperties": g.of(t.Elem())}
	case reflect.Interface:
		return map[string]any{}
	case reflect.Struct:
		return ref(g.named(t))
	}
	panic(fmt.Sprintf("api: no schema for %s", t))
}

// named registers struct type t under components/schemas and returns its
// name.
func (g *schemas) named(t reflect.Type) string {
	name := schemaName(t)
	if prev, ok := g.types[name]; ok {
		if prev != t {
			panic(fmt.Sprintf("api: schema name %s used by %s and %s", name, prev, t))
		}
		return name
	}
	g.types[name] = t
	g.defs[name] = nil // reserve against recursion
	g.defs[name] = g.object(t)
	return name
}

func schemaName(t reflect.Type) string {
	n := t.Name()
	if n == "" {
		panic(fmt.Sprintf("api: anonymous struct %s in a schema", t))
	}
	r := []rune(n)
	r[0] = unicode.ToUpper(r[0])
	return string(r)
}

// object is the schema of a struct's JSON encoding: fields by json tag,
// embedded structs flattened, fields without omitempty required. A doc
// tag is the field's description; an enum tag ("a,b") its values, or
// its items' values for a slice.
func (g *schemas) object(t reflect.Type) map[string]any {
	props := map[string]any{}
	var required []string
	var walk func(reflect.Type)
	walk = func(t reflect.Type) {
		for f := range t.Fields() {
			tag := f.Tag.Get("json")
			if tag == "-" {
				continue
			}
			name, opts, _ := strings.Cut(tag, ",")
			if f.Anonymous && name == "" && f.Type.Kind() == reflect.Struct {
				walk(f.Type)
				continue
			}
			if !f.IsExported() {
				continue
			}
			if name == "" {
				name = f.Name
			}
			s := g.of(f.Type)
			if e := f.Tag.Get("enum"); e != "" {
				if items, ok := s["items"].(map[string]any); ok {
					items["enum"] = strings.Split(e, ",")
				} else {
					s["enum"] = strings.Split(e, ",")
				}
			}
			if d := f.Tag.Get("doc"); d != "" {
				if _, isRef := s["$ref"]; isRef {
					s = map[string]any{"allOf": []any{s}, "description": d}
				} else {
					s["description"] = d
				}
			}
			props[name] = s
			if !strings.Contains(","+opts+",", ",omitempty,") {
				required = append(required, name)
			}
		}
	}
	walk(t)
	o := map[string]any{"type": "object", "properties": props}
	if len(required) > 0 {
		o["required"] = required
	}
	return o
}

// page returns the schema name of a page of items of type t.
func (g *schemas) page(t reflect.Type) string {
	item := g.named(t)
	name := item + "Page"
	if _, ok := g.defs[name]; !ok {
		g.defs[name] = map[string]any{
			"type":     "object",
			"required": []string{"items"},
			"properties": map[string]any{
				"items": map[string]any{"type": "array", "items": ref(item)},
				"next":  map[string]any{"type": "string", "description": "cursor of the next page; absent on the last"},
			},
		}
	}
	return name
}
