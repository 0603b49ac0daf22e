package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"regexp"
	"strconv"
	"strings"

	"github.com/vigil-sec/vigil/internal/auth"
)

var pathParamRE = regexp.MustCompile(`\{([a-zA-Z]+)\}`)

// buildOpenAPI renders the OpenAPI 3.0 document of the route table.
func (s *Server) buildOpenAPI() []byte {
	g := newSchemas()
	g.named(reflect.TypeFor[errorBody]())
	paths := map[string]map[string]any{}
	for _, rt := range s.routes {
		if paths[rt.Path] == nil {
			paths[rt.Path] = map[string]any{}
		}
		paths[rt.Path][strings.ToLower(rt.Method)] = operation(g, rt)
	}
	version := s.o.Version
	if version == "" {
		version = "dev"
	}
	doc := map[string]any{
		"openapi": "3.0.3",
		"info": map[string]any{
			"title":       "Vigil API",
			"version":     version,
			"description": "The Vigil server's REST API. Send a session or API token as `Authorization: Bearer <token>`.",
		},
		"paths":    paths,
		"security": []any{map[string]any{"bearer": []string{}}},
		"components": map[string]any{
			"schemas": g.defs,
			"securitySchemes": map[string]any{
				"bearer": map[string]any{
					"type":         "http",
					"scheme":       "bearer",
					"bearerFormat": "vgl_<api|ses>_<43 base64url characters>",
				},
			},
			"responses": errorResponses(),
		},
	}
	b, err := json.Marshal(doc)
	if err != nil {
		panic(fmt.Sprintf("api: encode OpenAPI document: %v", err))
	}
	return b
}

// errorStatuses name the shared error responses.
var errorStatuses = map[int]string{
	http.StatusBadRequest:            "BadRequest",
	http.StatusUnauthorized:          "Unauthorized",
	http.StatusForbidden:             "Forbidden",
	http.StatusNotFound:              "NotFound",
	http.StatusConflict:              "Conflict",
	http.StatusRequestEntityTooLarge: "TooLarge",
	http.StatusUnsupportedMediaType:  "UnsupportedMediaType",
	http.StatusTooManyRequests:       "TooManyRequests",
	http.StatusServiceUnavailable:    "Unavailable",
	0:                                "Error",
}

func errorResponses() map[string]any {
	out := map[string]any{}
	for status, name := range errorStatuses {
		desc := "An error"
		if status != 0 {
			desc = http.StatusText(status)
		}
		out[name] = map[string]any{
			"description": desc,
			"content":     map[string]any{"application/json": map[string]any{"schema": ref("ErrorBody")}},
		}
	}
	return out
}

func errorRef(status int) map[string]any {
	return map[string]any{"$ref": "#/components/responses/" + errorStatuses[status]}
}

// accessText says in words what a route needs.
func accessText(a Access) string {
	switch a {
	case Public:
		return "Public: no token needed."
	case SignedIn:
		return "Any valid session or API token."
	}
	return fmt.Sprintf("Requires role %s or above and a token with scope %s.", a.Role(), auth.ScopeFor(a.Role()))
}

func operation(g *schemas, rt route) map[string]any {
	op := map[string]any{
		"operationId":    rt.id,
		"summary":        rt.Summary,
		"description":    accessText(rt.Access),
		"tags":           []string{rt.tag},
		"x-vigil-access": rt.Access.String(),
	}
	if rt.Access == Public {
		op["security"] = []any{}
	}
	var params []any
	for _, m := range pathParamRE.FindAllStringSubmatch(rt.Path, -1) {
		typ := "string"
		if rt.intID && m[1] == "id" {
			typ = "integer"
		}
		params = append(params, map[string]any{
			"name": m[1], "in": "path", "required": true, "schema": map[string]any{"type": typ},
		})
	}
	if rt.list != nil {
		params = append(params, listParams(rt.list)...)
	}
	for _, p := range rt.query {
		params = append(params, queryParam(p))
	}
	if len(params) > 0 {
		op["parameters"] = params
	}
	if rt.body != nil {
		op["requestBody"] = map[string]any{
			"required": true,
			"content": map[string]any{"application/json": map[string]any{
				"schema": g.of(reflect.TypeOf(rt.body)),
			}},
		}
	}

	responses := map[string]any{"default": errorRef(0)}
	status := rt.status
	switch {
	case rt.list != nil:
		responses["200"] = map[string]any{
			"description": "One page",
			"headers": map[string]any{"Link": map[string]any{
				"description": `<…&cursor=…>; rel="next" when there is a next page`,
				"schema":      map[string]any{"type": "string"},
			}},
			"content": map[string]any{"application/json": map[string]any{
				"schema": ref(g.page(reflect.TypeOf(rt.resp))),
			}},
		}
	case rt.resp == nil:
		responses["204"] = map[string]any{"description": "Done"}
	default:
		if status == 0 {
			status = http.StatusOK
		}
		responses[strconv.Itoa(status)] = map[string]any{
			"description": http.StatusText(status),
			"content": map[string]any{"application/json": map[string]any{
				"schema": g.of(reflect.TypeOf(rt.resp)),
			}},
		}
	}
	var errs []int
	if rt.body != nil || rt.list != nil || rt.Access == SignedIn {
		errs = append(errs, http.StatusBadRequest)
	}
	if rt.body != nil {
		errs = append(errs, http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType)
	}
	if rt.Access != Public {
		errs = append(errs, http.StatusUnauthorized)
	}
	if rt.Access >= Read {
		errs = append(errs, http.StatusForbidden)
	}
	if strings.Contains(rt.Path, "{") {
		errs = append(errs, http.StatusNotFound)
	}
	if rt.Access >= Write {
		errs = append(errs, http.StatusConflict)
	}
	if rt.id == "login" {
		errs = append(errs, http.StatusUnauthorized, http.StatusTooManyRequests)
	}
	if rt.id == "rescanAgent" {
		errs = append(errs, http.StatusServiceUnavailable)
	}
	for _, e := range errs {
		responses[strconv.Itoa(e)] = errorRef(e)
	}
	op["responses"] = responses
	return op
}

func listParams(spec *listSpec) []any {
	out := []any{
		map[string]any{"name": qSort, "in": "query", "description": "sort key; default the first",
			"schema": map[string]any{"type": "string", "enum": spec.sorts}},
		map[string]any{"name": qOrder, "in": "query", "description": fmt.Sprintf("default %s", orderName(spec.desc)),
			"schema": map[string]any{"type": "string", "enum": []string{"asc", "desc"}}},
		map[string]any{"name": qLimit, "in": "query", "description": "page size; default 100",
			"schema": map[string]any{"type": "integer", "minimum": 1, "maximum": 1000}},
		map[string]any{"name": qCursor, "in": "query", "description": "the next cursor of the previous page",
			"schema": map[string]any{"type": "string"}},
	}
	for _, f := range spec.filters {
		out = append(out, queryParam(f))
	}
	return out
}

func orderName(desc bool) string {
	if desc {
		return "desc"
	}
	return "asc"
}

func queryParam(p param) map[string]any {
	m := map[string]any{"name": p.name, "in": "query", "schema": map[string]any{"type": "string"}}
	if p.desc != "" {
		m["description"] = p.desc
	} else {
		m["description"] = "filter: exact match"
	}
	if p.required {
		m["required"] = true
	}
	return m
}
