// Package sariftest gives tests the SARIF 2.1.0 JSON schema, to validate
// what they write. It is imported by tests only.
//
// The schema is the OASIS one (errata 01, JSON Schema draft 04) as the
// github.com/owenrumney/go-sarif/v3 module ships it, embedded in a Go
// source file: the module is fetched into the Go module cache with
// `go mod download` (through the configured module proxy, or from the cache
// when it is already there) and the file is parsed, not compiled, so that
// Vigil does not depend on the module.
package sariftest

import (
	"encoding/json"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// Module is the module version the schema is taken from, and SchemaFile
// the file in it that holds the schema as the constant "schema".
const (
	Module     = "github.com/owenrumney/go-sarif/v3@v3.3.1"
	SchemaFile = "pkg/report/v210/sarif/schema.go"
	// SchemaID is the schema's own "id".
	SchemaID = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
)

var (
	once   sync.Once
	schema *jsonschema.Schema
	err    error
)

// Schema returns the compiled SARIF 2.1.0 schema, with format assertions
// on. It skips the test, saying why, when the schema cannot be had (no go
// command, no module cache and no network).
func Schema(tb testing.TB) *jsonschema.Schema {
	tb.Helper()
	once.Do(func() { schema, err = load() })
	if err != nil {
		tb.Skipf("SARIF 2.1.0 schema unavailable (from %s, %s): %v", Module, SchemaFile, err)
	}
	return schema
}

// Validate validates a SARIF document against the schema.
func Validate(tb testing.TB, doc []byte) {
	tb.Helper()
	s := Schema(tb)
	v, err := jsonschema.UnmarshalJSON(strings.NewReader(string(doc)))
	if err != nil {
		tb.Fatalf("output is not JSON: %v", err)
	}
	if err := s.Validate(v); err != nil {
		tb.Errorf("output is not valid SARIF 2.1.0: %v", err)
	}
}

func load() (*jsonschema.Schema, error) {
	dir, err := moduleDir()
	if err != nil {
		return nil, err
	}
	text, err := schemaConst(filepath.Join(dir, filepath.FromSlash(SchemaFile)))
	if err != nil {
		return nil, err
	}
	doc, err := jsonschema.UnmarshalJSON(strings.NewReader(text))
	if err != nil {
		return nil, fmt.Errorf("schema is not JSON: %w", err)
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	if err := c.AddResource(SchemaID, doc); err != nil {
		return nil, err
	}
	return c.Compile(SchemaID)
}

// moduleDir downloads Module (a no-op when it is in the module cache) and
// returns its directory. It runs outside any main module, so go.mod and
// go.sum are not touched.
func moduleDir() (string, error) {
	tmp, err := os.MkdirTemp("", "sariftest")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	cmd := exec.Command("go", "mod", "download", "-json", Module)
	cmd.Dir = tmp
	cmd.Env = append(os.Environ(), "GOFLAGS=", "GO111MODULE=on", "GOWORK=off")
	out, runErr := cmd.Output()
	var info struct{ Dir, Error string }
	if err := json.Unmarshal(out, &info); err != nil {
		if runErr != nil {
			return "", fmt.Errorf("go mod download: %w", runErr)
		}
		return "", fmt.Errorf("go mod download: %w", err)
	}
	if info.Error != "" || info.Dir == "" {
		return "", fmt.Errorf("go mod download: %s", info.Error)
	}
	return info.Dir, nil
}

// schemaConst returns the string constant "schema" of Go file path.
func schemaConst(path string) (string, error) {
	f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.SkipObjectResolution)
	if err != nil {
		return "", err
	}
	for _, d := range f.Decls {
		g, ok := d.(*ast.GenDecl)
		if !ok || g.Tok != token.CONST {
			continue
		}
		for _, s := range g.Specs {
			v := s.(*ast.ValueSpec)
			for i, n := range v.Names {
				if n.Name != "schema" || i >= len(v.Values) {
					continue
				}
				lit, ok := v.Values[i].(*ast.BasicLit)
				if !ok || lit.Kind != token.STRING {
					return "", errors.New("constant schema is not a string literal")
				}
				return strconv.Unquote(lit.Value)
			}
		}
	}
	return "", fmt.Errorf("%s: no constant schema", path)
}
