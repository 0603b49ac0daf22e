package api

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
)

// TestOpenAPI loads the served document, validates it as OpenAPI 3 and
// checks that every registered route is in it with its access, path
// parameters and, for lists, their query parameters.
func TestOpenAPI(t *testing.T) {
	e := newEnv(t)
	w := e.do("GET", "/api/v1/openapi.json", "", nil)
	want(t, w, 200, nil)
	var raw map[string]any
	if err := json.Unmarshal(w.Body.Bytes(), &raw); err != nil {
		t.Fatalf("not JSON: %v", err)
	}
	if v, _ := raw["openapi"].(string); !strings.HasPrefix(v, "3.") {
		t.Fatalf("openapi field = %v", raw["openapi"])
	}

	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(w.Body.Bytes())
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	if err := doc.Validate(loader.Context); err != nil {
		t.Fatalf("invalid OpenAPI document: %v", err)
	}
	if doc.Components.SecuritySchemes["bearer"] == nil {
		t.Error("no bearer security scheme")
	}

	params := regexp.MustCompile(`\{([a-zA-Z]+)\}`)
	n := 0
	for _, rt := range e.srv.Routes() {
		item := doc.Paths.Find(rt.Path)
		if item == nil {
			t.Errorf("%s %s: path not documented", rt.Method, rt.Path)
			continue
		}
		op := item.GetOperation(rt.Method)
		if op == nil {
			t.Errorf("%s %s: operation not documented", rt.Method, rt.Path)
			continue
		}
		n++
		if got := op.Extensions["x-vigil-access"]; got != rt.Access.String() {
			t.Errorf("%s %s: x-vigil-access %v; want %s", rt.Method, rt.Path, got, rt.Access)
		}
		public := op.Security != nil && len(*op.Security) == 0
		if public != (rt.Access == Public) {
			t.Errorf("%s %s: documented public=%v, access %s", rt.Method, rt.Path, public, rt.Access)
		}
		if rt.Access != Public && op.Responses.Value("401") == nil {
			t.Errorf("%s %s: no 401 response", rt.Method, rt.Path)
		}
		for _, m := range params.FindAllStringSubmatch(rt.Path, -1) {
			if op.Parameters.GetByInAndName("path", m[1]) == nil {
				t.Errorf("%s %s: path parameter %s undocumented", rt.Method, rt.Path, m[1])
			}
		}
		if (rt.Method == http.MethodPost || rt.Method == http.MethodPatch) && rt.Path != "/api/v1/logout" &&
			!strings.HasSuffix(rt.Path, "/rescan") && !strings.HasSuffix(rt.Path, "/revoke") && op.RequestBody == nil {
			t.Errorf("%s %s: no request body", rt.Method, rt.Path)
		}
	}
	// And nothing is documented that is not served.
	documented := 0
	for _, item := range doc.Paths.Map() {
		documented += len(item.Operations())
	}
	if documented != n || n != len(e.srv.Routes()) {
		t.Errorf("%d operations documented, %d routes served", documented, len(e.srv.Routes()))
	}

	// List operations describe their paging parameters and filters.
	list := doc.Paths.Find("/api/v1/findings").Get
	for _, p := range []string{"sort", "order", "limit", "cursor", "status", "severity"} {
		if list.Parameters.GetByInAndName("query", p) == nil {
			t.Errorf("GET /findings: query parameter %s undocumented", p)
		}
	}
	// Response schemas follow the store's json tags.
	finding := doc.Components.Schemas["Finding"]
	if finding == nil || finding.Value.Properties["acceptExpires"] == nil || finding.Value.Properties["Hash"] != nil {
		t.Error("Finding schema does not follow store.Finding")
	}
	if user := doc.Components.Schemas["User"]; user == nil || user.Value.Properties["passwordHash"] != nil ||
		user.Value.Properties["PasswordHash"] != nil {
		t.Error("User schema leaks the password hash")
	}
}
