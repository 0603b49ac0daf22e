package docker

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/vigil-sec/vigil/internal/iac"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// get follows a dotted path through maps and lists; ok is false when the
// path leads nowhere.
func get(v any, path string) (any, bool) {
	for _, seg := range strings.Split(path, ".") {
		switch x := v.(type) {
		case map[string]any:
			var ok bool
			if v, ok = x[seg]; !ok {
				return nil, false
			}
		case []any:
			i, err := strconv.Atoi(seg)
			if err != nil || i < 0 || i >= len(x) {
				return nil, false
			}
			v = x[i]
		default:
			return nil, false
		}
	}
	return v, true
}

// absent is the want of a check that a path must not exist.
type absentT struct{}

var absent = absentT{}

func checkAttrs(t *testing.T, attrs map[string]any, want map[string]any) {
	t.Helper()
	for path, w := range want {
		got, ok := get(attrs, path)
		if w == absent {
			if ok {
				t.Errorf("%s = %#v, want absent", path, got)
			}
			continue
		}
		if !ok {
			t.Errorf("%s is absent, want %#v", path, w)
			continue
		}
		if diff := cmp.Diff(w, got); diff != "" {
			t.Errorf("%s mismatch (-want +got):\n%s", path, diff)
		}
	}
}

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// golden compares v as indented JSON with testdata/golden/name, or
// rewrites the file with -update.
func golden(t *testing.T, name string, v any) {
	t.Helper()
	got, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	file := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(file, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s mismatch (-want +got):\n%s", file, diff)
	}
}

func TestParseDockerfile(t *testing.T) {
	tests := []struct {
		file  string
		attrs map[string]any
		lines map[string]iac.Range
		rng   iac.Range
	}{{
		file: "Dockerfile.multistage",
		attrs: map[string]any{
			"user":                           "1000:1000",
			"healthcheck":                    true,
			"exposed":                        []any{int64(8080), int64(9000), int64(9001), int64(9002)},
			"env.AWS_SECRET_ACCESS_KEY":      "wJalrXUtnFEMI/K7MDENG",
			"env.PATH":                       "/app/bin:$PATH",
			"env.CGO_ENABLED":                absent, // set in the build stage only
			"args":                           map[string]any{"GO_VERSION": "1.22", "BASE": "alpine", "VERSION": ""},
			"stages.0.name":                  "build",
			"stages.0.image":                 "golang",
			"stages.0.tag":                   "1.22",
			"stages.0.from":                  "golang:${GO_VERSION}",
			"stages.0.platform":              "$BUILDPLATFORM",
			"stages.0.user":                  "builder",
			"stages.0.healthcheck":           false,
			"stages.1.image":                 "alpine",
			"stages.1.tag":                   "3.19",
			"stages.1.digest":                "sha256:0123456789abcdef",
			"stages.1.healthcheck":           true,
			"instructions.0.stage":           int64(-1),
			"instructions.4.cmd":             "env",
			"instructions.4.args":            []any{"CGO_ENABLED=0", `GOFLAGS="-trimpath"`},
			"instructions.5.cmd":             "run",
			"instructions.5.value":           "curl -fsSL https://example.com/install.sh | sh",
			"instructions.5.args":            []any{"curl -fsSL https://example.com/install.sh | sh"},
			"instructions.5.execForm":        false,
			"instructions.6.value":           "<<EOF\nset -e\ngo build -o /out/app ./cmd/app\nEOF",
			"instructions.6.heredocs.0.name": "EOF",
			"instructions.6.line":            int64(10),
			"instructions.6.endLine":         int64(13),
			"instructions.9.cmd":             "add",
			"instructions.9.args":            []any{"https://example.com/tool.tar.gz", "/opt/"},
			"instructions.10.flags":          []any{"--from=build", "--chown=1000:1000"},
			"instructions.11.line":           int64(19),
			"instructions.11.endLine":        int64(21),
			"instructions.15.cmd":            "healthcheck",
			"instructions.15.args":           []any{"CMD", "wget", "-q", "-O-", "http://localhost:8080/health"},
			"instructions.17.cmd":            "cmd",
			"instructions.17.execForm":       true,
			"instructions.17.args":           []any{"/usr/local/bin/app", "--serve"},
			"instructions.17.stage":          int64(1),
		},
		lines: map[string]iac.Range{
			"instructions.4":  {StartLine: 7, EndLine: 8},
			"instructions.6":  {StartLine: 10, EndLine: 13},
			"instructions.11": {StartLine: 19, EndLine: 21},
			"stages.0":        {StartLine: 5, EndLine: 14},
			"stages.1":        {StartLine: 16, EndLine: 27},
		},
		rng: iac.Range{StartLine: 1, EndLine: 27},
	}, {
		file: "Dockerfile.nouser",
		attrs: map[string]any{
			"user":                   absent,
			"stages.0.user":          absent,
			"healthcheck":            false, // the last HEALTHCHECK is NONE
			"stages.0.healthcheck":   false,
			"stages.0.image":         "ubuntu",
			"stages.0.tag":           "",
			"exposed":                []any{},
			"env":                    map[string]any{},
			"instructions.3.line":    int64(4),
			"instructions.3.endLine": int64(7),
			"instructions.4.cmd":     "entrypoint",
			"instructions.4.args":    []any{`/bin/sh -c "exec app"`},
		},
		rng: iac.Range{StartLine: 1, EndLine: 8},
	}, {
		file: "Dockerfile.inherit",
		attrs: map[string]any{
			"user":           "app",
			"healthcheck":    true,
			"env.MODE":       "prod",
			"exposed":        []any{int64(80)},
			"stages.1.image": "base",
			"stages.1.user":  absent,
		},
		lines: map[string]iac.Range{"stages.1": {StartLine: 7, EndLine: 8}},
		rng:   iac.Range{StartLine: 1, EndLine: 8},
	}}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			r, err := ParseDockerfile(tt.file, readFixture(t, tt.file))
			if err != nil {
				t.Fatal(err)
			}
			if r.Source != iac.SourceDockerfile || r.Type != "Dockerfile" || r.Address != tt.file || r.Provider != "docker" {
				t.Errorf("header = %s %s %s %s", r.Source, r.Type, r.Address, r.Provider)
			}
			if r.Location != (iac.Location{File: tt.file, Range: tt.rng}) {
				t.Errorf("location = %+v, want %+v", r.Location, tt.rng)
			}
			checkAttrs(t, r.Attrs, tt.attrs)
			for p, want := range tt.lines {
				if got := r.Line(p); got != want {
					t.Errorf("Line(%q) = %v, want %v", p, got, want)
				}
			}
			golden(t, tt.file+".json", r)
		})
	}
}

func TestParseDockerfileErrors(t *testing.T) {
	tests := []struct {
		file string
		line int
		is   error
	}{
		{"Dockerfile.unknown", 3, ErrUnknownInstruction},
		{"Dockerfile.heredoc-unterminated", 2, nil},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			r, err := ParseDockerfile(tt.file, readFixture(t, tt.file))
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("got %v, %v; want a ParseError", r, err)
			}
			if pe.Line != tt.line {
				t.Errorf("line = %d, want %d (%v)", pe.Line, tt.line, err)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("error %v is not %v", err, tt.is)
			}
		})
	}
	t.Run("inline", func(t *testing.T) {
		for _, src := range []string{
			"FROM alpine\nENV ONLYKEY\n",
			"FROM alpine\nRUN [\"a\", 1]\n",
		} {
			if _, err := ParseDockerfile("Dockerfile", []byte(src)); err == nil {
				t.Errorf("%q: no error", src)
			}
		}
	})
}

func TestParseDockerfileEmpty(t *testing.T) {
	for _, src := range []string{"", "# only\n# comments\n", "\n\n  \n", "\xEF\xBB\xBF\n"} {
		r, err := ParseDockerfile("Dockerfile", []byte(src))
		if r != nil || err != nil {
			t.Errorf("%q: got %v, %v; want nothing", src, r, err)
		}
	}
}

func TestSplitRef(t *testing.T) {
	tests := []struct{ ref, image, tag, digest string }{
		{"alpine", "alpine", "", ""},
		{"alpine:latest", "alpine", "latest", ""},
		{"localhost:5000/team/app:1.2", "localhost:5000/team/app", "1.2", ""},
		{"localhost:5000/team/app", "localhost:5000/team/app", "", ""},
		{"ghcr.io/a/b@sha256:abc", "ghcr.io/a/b", "", "sha256:abc"},
		{"ghcr.io/a/b:v1@sha256:abc", "ghcr.io/a/b", "v1", "sha256:abc"},
		{"scratch", "scratch", "", ""},
	}
	for _, tt := range tests {
		image, tag, digest := splitRef(tt.ref)
		if image != tt.image || tag != tt.tag || digest != tt.digest {
			t.Errorf("splitRef(%q) = %q %q %q, want %q %q %q", tt.ref, image, tag, digest, tt.image, tt.tag, tt.digest)
		}
	}
}

func TestIsDockerfile(t *testing.T) {
	tests := map[string]bool{
		"Dockerfile":              true,
		"build/Dockerfile.prod":   true,
		"api.Dockerfile":          true,
		"web.dockerfile":          true,
		"Containerfile":           true,
		"Containerfile.fedora":    true,
		"dockerfile":              true,
		"Dockerfile.dockerignore": false,
		"Dockerfile.md":           false,
		"Dockerfiles/readme.txt":  false,
		"mydockerfile":            false,
		"docker-compose.yml":      false,
		"Dockerfile-old":          false,
	}
	for name, want := range tests {
		if got := IsDockerfile(name); got != want {
			t.Errorf("IsDockerfile(%q) = %v, want %v", name, got, want)
		}
	}
}

// input lists the fixtures as a scan would.
func input(t *testing.T) *iac.Input {
	t.Helper()
	fsys := os.DirFS("testdata")
	var files []string
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return &iac.Input{FS: fsys, Files: files, MaxFileSize: iac.DefaultMaxFileSize}
}

func TestDockerfileLoader(t *testing.T) {
	var l iac.Loader = NewDockerfile()
	if l.Name() != "dockerfile" {
		t.Errorf("Name = %q", l.Name())
	}
	rs, errs := l.Load(context.Background(), input(t))
	var addrs []string
	for _, r := range rs {
		addrs = append(addrs, r.Address)
	}
	wantAddrs := []string{"Dockerfile.inherit", "Dockerfile.multistage", "Dockerfile.nouser"}
	if diff := cmp.Diff(wantAddrs, addrs); diff != "" {
		t.Errorf("resources (-want +got):\n%s", diff)
	}
	var errFiles []string
	for _, e := range errs {
		errFiles = append(errFiles, e.File)
	}
	wantErrs := []string{"Dockerfile.heredoc-unterminated", "Dockerfile.unknown"}
	if diff := cmp.Diff(wantErrs, errFiles); diff != "" {
		t.Errorf("errors (-want +got):\n%s", diff)
	}
}

func TestDockerfileLoaderTooBig(t *testing.T) {
	in := input(t)
	in.MaxFileSize = 10
	_, errs := NewDockerfile().Load(context.Background(), in)
	if len(errs) == 0 || !errors.Is(errs[0].Err, iac.ErrTooBig) {
		t.Errorf("errors = %v, want ErrTooBig", errs)
	}
}
