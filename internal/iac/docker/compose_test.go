package docker

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/vigil-sec/vigil/internal/iac"
)

func TestParseCompose(t *testing.T) {
	type svc struct {
		attrs map[string]any
		lines map[string]iac.Range
		rng   iac.Range
	}
	tests := []struct {
		file     string
		services map[string]svc
	}{{
		file: "docker-compose.yml",
		services: map[string]svc{
			"services.agent": {
				attrs: map[string]any{
					"privileged": true,
					"pid":        "host",
					"volumes.0":  "/var/run/docker.sock:/var/run/docker.sock:ro",
					"volumes.1":  map[string]any{"type": "bind", "source": "/", "target": "/host"},
					"restart":    "always", // written after the merge key: wins
					"logging":    map[string]any{"driver": "json-file"},
				},
				lines: map[string]iac.Range{
					"privileged":     {StartLine: 21, EndLine: 21},
					"volumes.0":      {StartLine: 24, EndLine: 24},
					"volumes.1.type": {StartLine: 25, EndLine: 25},
				},
				rng: iac.Range{StartLine: 18, EndLine: 28},
			},
			"services.web": {
				attrs: map[string]any{
					"image":                   "nginx:1.25",
					"restart":                 "unless-stopped", // from the merge key
					"ports.0":                 "80:80",
					"ports.1.published":       int64(443),
					"environment.DB_PASSWORD": "hunter2",
					"privileged":              absent,
				},
				lines: map[string]iac.Range{"image": {StartLine: 11, EndLine: 11}},
				rng:   iac.Range{StartLine: 9, EndLine: 17},
			},
		},
	}, {
		file: "docker-compose.v1.yml",
		services: map[string]svc{
			"services.db": {
				attrs: map[string]any{"image": "postgres:16", "environment.POSTGRES_PASSWORD": "example"},
				lines: map[string]iac.Range{"environment.POSTGRES_PASSWORD": {StartLine: 4, EndLine: 4}},
				rng:   iac.Range{StartLine: 1, EndLine: 4},
			},
		},
	}}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			rs, err := ParseCompose(tt.file, readFixture(t, tt.file))
			if err != nil {
				t.Fatal(err)
			}
			if len(rs) != len(tt.services) {
				t.Errorf("got %d services, want %d", len(rs), len(tt.services))
			}
			for i := 1; i < len(rs); i++ {
				if rs[i-1].Address >= rs[i].Address {
					t.Errorf("services not sorted: %s before %s", rs[i-1].Address, rs[i].Address)
				}
			}
			for _, r := range rs {
				want, ok := tt.services[r.Address]
				if !ok {
					t.Errorf("unexpected service %s", r.Address)
					continue
				}
				if r.Source != iac.SourceCompose || r.Type != "service" || r.Provider != "docker" {
					t.Errorf("%s: header = %s %s %s", r.Address, r.Source, r.Type, r.Provider)
				}
				if r.Location != (iac.Location{File: tt.file, Range: want.rng}) {
					t.Errorf("%s: location = %+v, want %+v", r.Address, r.Location, want.rng)
				}
				checkAttrs(t, r.Attrs, want.attrs)
				for p, rg := range want.lines {
					if got := r.Line(p); got != rg {
						t.Errorf("%s: Line(%q) = %v, want %v", r.Address, p, got, rg)
					}
				}
			}
			golden(t, tt.file+".json", rs)
		})
	}
}

func TestParseComposeDottedNames(t *testing.T) {
	src := "services:\n  a:\n    image: x\n  a.b:\n    image: y\n    privileged: true\n"
	rs, err := ParseCompose("compose.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	lines := map[string]map[string]iac.Range{}
	for _, r := range rs {
		lines[r.Address] = r.Lines
	}
	want := map[string]map[string]iac.Range{
		"services.a":   {"image": {StartLine: 3, EndLine: 3}},
		"services.a.b": {"image": {StartLine: 5, EndLine: 5}, "privileged": {StartLine: 6, EndLine: 6}},
	}
	if diff := cmp.Diff(want, lines); diff != "" {
		t.Errorf("lines (-want +got):\n%s", diff)
	}
}

func TestParseComposeNotServices(t *testing.T) {
	for _, src := range []string{
		"",
		"just a string\n",
		"- a\n- b\n",
		"version: '3'\nvolumes: {data: {}}\n",
		"services: [a, b]\n",
		"x-anchors:\n  image: nginx\n",
	} {
		rs, err := ParseCompose("compose.yaml", []byte(src))
		if err != nil || len(rs) != 0 {
			t.Errorf("%q: got %v, %v; want nothing", src, rs, err)
		}
	}
}

func TestParseComposeErrors(t *testing.T) {
	tests := map[string]string{
		"malformed": string(readFixture(t, "compose.bad.yaml")),
		"aliasBomb": aliasBomb(),
	}
	for name, src := range tests {
		t.Run(name, func(t *testing.T) {
			if _, err := ParseCompose("compose.yaml", []byte(src)); err == nil {
				t.Error("no error")
			}
		})
	}
}

// aliasBomb is a "billion laughs" document.
func aliasBomb() string {
	var sb strings.Builder
	sb.WriteString("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n")
	for i := 1; i < 10; i++ {
		prev := "*a" + string(rune('0'+i-1))
		sb.WriteString("a" + string(rune('0'+i)) + ": &a" + string(rune('0'+i)) + " [" +
			strings.Repeat(prev+", ", 9) + prev + "]\n")
	}
	sb.WriteString("services:\n  web:\n    image: *a9\n")
	return sb.String()
}

func TestIsCompose(t *testing.T) {
	tests := map[string]bool{
		"docker-compose.yml":             true,
		"docker-compose.yaml":            true,
		"deploy/docker-compose.prod.yml": true,
		"docker-compose-dev.yaml":        true,
		"compose.yaml":                   true,
		"compose.override.yml":           true,
		"Compose.YML":                    true,
		"app.compose.yaml":               true,
		"composer.yaml":                  false,
		"components.yml":                 false,
		"docker-compose.json":            false,
		"compose":                        false,
		"kustomization.yaml":             false,
	}
	for name, want := range tests {
		if got := IsCompose(name); got != want {
			t.Errorf("IsCompose(%q) = %v, want %v", name, got, want)
		}
	}
}

func TestComposeLoader(t *testing.T) {
	var l iac.Loader = NewCompose()
	if l.Name() != "compose" {
		t.Errorf("Name = %q", l.Name())
	}
	rs, errs := l.Load(context.Background(), input(t))
	var got []string
	for _, r := range rs {
		got = append(got, r.Location.File+" "+r.Address)
	}
	want := []string{
		"docker-compose.v1.yml services.db",
		"docker-compose.yml services.agent",
		"docker-compose.yml services.web",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("resources (-want +got):\n%s", diff)
	}
	if len(errs) != 1 || errs[0].File != "compose.bad.yaml" {
		t.Errorf("errors = %v, want compose.bad.yaml", errs)
	}
}
