package policy

import (
	"reflect"
	"strings"
	"sync"
	"unsafe"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/common/types/ref"
)

// all.where(type, path, value) is the hashed join rules use instead of
// scanning every resource of a type: the resources of that type whose
// attribute at the dotted path equals value; null finds those without the
// attribute. Scanning `all[type]` per resource is quadratic in a big
// repository; where() builds one index per (type, path) per evaluation.
//
// The index lives beside the `all` map of one Evaluate call, found by the
// map's identity (CEL hands functions the map value, not the evaluation).
type joins struct {
	mu sync.Mutex
	by map[unsafe.Pointer]*joinIndex
}

type joinIndex struct {
	all  map[string][]any
	mu   sync.Mutex
	byKP map[[2]string]map[any][]any
}

func (j *joins) register(all map[string][]any) *joinIndex {
	ix := &joinIndex{all: all, byKP: map[[2]string]map[any][]any{}}
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.by == nil {
		j.by = map[unsafe.Pointer]*joinIndex{}
	}
	j.by[reflect.ValueOf(all).UnsafePointer()] = ix
	return ix
}

func (j *joins) forget(all map[string][]any) {
	j.mu.Lock()
	defer j.mu.Unlock()
	delete(j.by, reflect.ValueOf(all).UnsafePointer())
}

func (j *joins) lookup(all any) *joinIndex {
	m, ok := all.(map[string][]any)
	if !ok {
		return nil
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.by[reflect.ValueOf(m).UnsafePointer()]
}

// missing is the index key of resources without the attribute.
type missing struct{}

func (ix *joinIndex) where(typ, path string, value any) []any {
	k := [2]string{typ, path}
	ix.mu.Lock()
	m, ok := ix.byKP[k]
	if !ok {
		m = map[any][]any{}
		parts := strings.Split(path, ".")
		for _, r := range ix.all[typ] {
			var cur any = r.(map[string]any)["attrs"]
			for _, p := range parts {
				mm, ok := cur.(map[string]any)
				if !ok {
					cur = nil
					break
				}
				cur = mm[p]
			}
			key := any(missing{})
			switch cur.(type) {
			case string, int64, float64, bool:
				key = cur
			case nil:
			default:
				continue // lists and maps are not join keys
			}
			m[key] = append(m[key], r)
		}
		ix.byKP[k] = m
	}
	ix.mu.Unlock()
	if value == nil {
		return m[missing{}]
	}
	return m[value]
}

func (j *joins) function() cel.EnvOption {
	return cel.Function("where",
		cel.MemberOverload("all_where_type_path_value",
			[]*cel.Type{cel.MapType(cel.StringType, cel.ListType(cel.DynType)), cel.StringType, cel.StringType, cel.DynType},
			cel.ListType(cel.DynType),
			cel.FunctionBinding(func(args ...ref.Val) ref.Val {
				ix := j.lookup(args[0].Value())
				if ix == nil {
					return types.NewErr("where: only on the `all` variable")
				}
				typ, ok1 := args[1].(types.String)
				path, ok2 := args[2].(types.String)
				if !ok1 || !ok2 {
					return types.NewErr("where: type and path must be strings")
				}
				var v any
				switch x := args[3].(type) {
				case types.String:
					v = string(x)
				case types.Int:
					v = int64(x)
				case types.Double:
					v = normalizeKey(float64(x))
				case types.Bool:
					v = bool(x)
				case types.Null:
					v = nil
				default:
					return types.DefaultTypeAdapter.NativeToValue([]any{})
				}
				return types.DefaultTypeAdapter.NativeToValue(ix.where(string(typ), string(path), v))
			})))
}

// normalizeKey matches how attributes store integral numbers (int64).
func normalizeKey(f float64) any {
	if f == float64(int64(f)) {
		return int64(f)
	}
	return f
}
