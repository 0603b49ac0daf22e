package kube

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/vigil-sec/vigil/internal/iac"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

func scan(t *testing.T, dir string, opts Options) *iac.Result {
	t.Helper()
	res, err := iac.ScanFS(context.Background(), os.DirFS(filepath.Join("testdata", dir)), []iac.Loader{New(opts)}, iac.Options{})
	if err != nil {
		t.Fatalf("scan %s: %v", dir, err)
	}
	return res
}

func addresses(rs []iac.Resource) []string {
	out := make([]string, 0, len(rs))
	for _, r := range rs {
		out = append(out, string(r.Source)+" "+r.Address+" @ "+r.Location.File+":"+r.Location.Range.String())
	}
	return out
}

func errorFiles(errs []iac.FileError) []string {
	out := make([]string, 0, len(errs))
	for _, e := range errs {
		out = append(out, e.File)
	}
	return out
}

func find(t *testing.T, rs []iac.Resource, addr string) *iac.Resource {
	t.Helper()
	for i := range rs {
		if rs[i].Address == addr {
			return &rs[i]
		}
	}
	t.Fatalf("no resource %s in %v", addr, addresses(rs))
	return nil
}

func TestLoad(t *testing.T) {
	tests := []struct {
		name      string
		dir       string
		opts      Options
		want      []string
		wantErrs  []string
		errSubstr map[string]error
	}{
		{
			// Deployment+Service, List flattened, JSON pod; broken YAML and
			// the alias bomb are errors; non-Kubernetes YAML, compose files
			// and package JSON are ignored silently.
			name: "manifests",
			dir:  "manifests",
			want: []string{
				"kubernetes ConfigMap/settings @ list.yaml:4-9",
				"kubernetes Pod/jobs/worker-* @ list.yaml:10-19",
				"kubernetes Deployment/prod/web @ multi.yaml:2-22",
				"kubernetes Service/web @ multi.yaml:24-33",
				"kubernetes Pod/json-pod @ pod.json:1-6",
			},
			wantErrs:  []string{"bomb.yaml", "broken.yaml"},
			errSubstr: map[string]error{"bomb.yaml": iac.ErrAliasBomb},
		},
		{
			name: "helm defaults",
			dir:  "chart",
			want: []string{
				"kubernetes Namespace/web @ plain.yaml:1-4",
				"helm ConfigMap/release-sub @ web/charts/sub/templates/configmap.yaml:1-6",
				"helm Deployment/release-web @ web/templates/deployment.yaml:1-21",
			},
		},
		{
			name: "helm set enables the ingress and disables the subchart",
			dir:  "chart",
			opts: Options{HelmSet: []string{"ingress.enabled=true,sub.enabled=false"}},
			want: []string{
				"kubernetes Namespace/web @ plain.yaml:1-4",
				"helm Deployment/release-web @ web/templates/deployment.yaml:1-21",
				"helm Ingress/release-web @ web/templates/ingress.yaml:2-8",
			},
		},
		{
			name:     "helm bad --set",
			dir:      "chart",
			opts:     Options{HelmSet: []string{"a[=b"}},
			want:     []string{"kubernetes Namespace/web @ plain.yaml:1-4"},
			wantErrs: []string{"web/Chart.yaml"},
		},
		{
			name:     "helm missing values file",
			dir:      "chart",
			opts:     Options{HelmValues: []string{"nope.yaml"}},
			want:     []string{"kubernetes Namespace/web @ plain.yaml:1-4"},
			wantErrs: []string{"web/Chart.yaml"},
		},
		{
			name:     "broken chart",
			dir:      "brokenchart",
			want:     []string{"kubernetes ServiceAccount/still-loaded @ ok.yaml:1-4"},
			wantErrs: []string{"bad/Chart.yaml"},
		},
		{
			// Only the overlay is built; the base's files are not scanned
			// again as plain manifests; a stray manifest next to the overlay
			// is.
			name: "kustomize overlay",
			dir:  "kustomize",
			want: []string{
				"kubernetes Secret/stray @ overlays/prod/stray.yaml:1-6",
				"kustomize Deployment/prod/prod-api @ base/deployment.yaml:1-19",
				"kustomize Service/prod/prod-api @ base/service.yaml:1-9",
				"kustomize ConfigMap/prod/prod-api-config-hf678c7m2b @ overlays/prod/kustomization.yaml:1",
			},
		},
		{
			name:      "kustomize remote base",
			dir:       "kustomize-remote",
			wantErrs:  []string{"kustomization.yaml"},
			errSubstr: map[string]error{"kustomization.yaml": ErrRemoteBase},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := scan(t, tt.dir, tt.opts)
			if diff := cmp.Diff(tt.want, addresses(res.Resources), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("resources (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantErrs, errorFiles(res.Errors), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("error files (-want +got):\n%s\nerrors: %v", diff, res.Errors)
			}
			for _, e := range res.Errors {
				if want, ok := tt.errSubstr[e.File]; ok && !errors.Is(e.Err, want) {
					t.Errorf("%s: error %v, want %v", e.File, e.Err, want)
				}
			}
		})
	}
}

func TestManifestDetails(t *testing.T) {
	res := scan(t, "manifests", Options{})
	dep := find(t, res.Resources, "Deployment/prod/web")
	pod := find(t, res.Resources, "Pod/jobs/worker-*")
	tests := []struct {
		name string
		r    *iac.Resource
		path string
		want iac.Range
	}{
		{"container field", dep, "spec.template.spec.containers.0.securityContext.privileged", iac.Range{StartLine: 21, EndLine: 21}},
		{"container", dep, "spec.template.spec.containers.0", iac.Range{StartLine: 18, EndLine: 22}},
		{"unknown path falls back to ancestor", dep, "spec.template.spec.containers.0.resources.limits", iac.Range{StartLine: 18, EndLine: 22}},
		{"list item rebased", pod, "spec.hostNetwork", iac.Range{StartLine: 16, EndLine: 16}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.r.Line(tt.path); got != tt.want {
				t.Errorf("Line(%s) = %v, want %v", tt.path, got, tt.want)
			}
		})
	}
	if got := dep.Attrs["spec"].(map[string]any)["replicas"]; got != int64(3) {
		t.Errorf("replicas = %#v, want int64(3)", got)
	}
	if dep.Provider != "kubernetes" || dep.Type != "Deployment" {
		t.Errorf("provider/type = %q/%q", dep.Provider, dep.Type)
	}
	if _, ok := pod.Lines["items.1.spec.hostNetwork"]; ok {
		t.Error("list item lines not rebased")
	}
}

func TestHelmValues(t *testing.T) {
	tests := []struct {
		name     string
		opts     Options
		replicas int64
		priv     bool
	}{
		{"chart defaults", Options{}, 2, false},
		{"values file", Options{HelmValues: []string{"values-prod.yaml"}}, 5, false},
		{"set wins over values file", Options{HelmValues: []string{"values-prod.yaml"}, HelmSet: []string{"replicas=7", "privileged=true"}}, 7, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := scan(t, "chart", tt.opts)
			dep := find(t, res.Resources, "Deployment/release-web")
			spec := dep.Attrs["spec"].(map[string]any)
			if spec["replicas"] != tt.replicas {
				t.Errorf("replicas = %#v, want %d", spec["replicas"], tt.replicas)
			}
			c := spec["template"].(map[string]any)["spec"].(map[string]any)["containers"].([]any)[0].(map[string]any)
			if got := c["securityContext"].(map[string]any)["privileged"]; got != tt.priv {
				t.Errorf("privileged = %#v, want %v", got, tt.priv)
			}
			if diff := cmp.Diff([]iac.Location{{File: "web/Chart.yaml", Range: iac.Range{StartLine: 1, EndLine: 1}}}, dep.Via); diff != "" {
				t.Errorf("via (-want +got):\n%s", diff)
			}
			if got := dep.Line("spec.template.spec.containers.0.securityContext.privileged"); got.StartLine != 21 {
				t.Errorf("privileged line = %v, want 21 (rendered output)", got)
			}
		})
	}
}

func TestKustomizeOverlay(t *testing.T) {
	res := scan(t, "kustomize", Options{})
	dep := find(t, res.Resources, "Deployment/prod/prod-api")
	spec := dep.Attrs["spec"].(map[string]any)
	if spec["replicas"] != int64(4) {
		t.Errorf("replicas = %#v, want 4 from the overlay patch", spec["replicas"])
	}
	if md := dep.Attrs["metadata"].(map[string]any); md["annotations"] != nil {
		t.Errorf("origin annotation left in attrs: %v", md["annotations"])
	}
	if got := dep.Line("spec.template.spec.containers.0.securityContext.allowPrivilegeEscalation"); got.StartLine != 19 {
		t.Errorf("line = %v, want 19 in base/deployment.yaml", got)
	}
	for _, r := range res.Resources {
		if r.Location.File == "base/deployment.yaml" && r.Source != iac.SourceKustomize {
			t.Errorf("base file scanned as plain: %s", r.Address)
		}
		for _, v := range r.Via {
			if v.File == "base/kustomization.yaml" {
				t.Errorf("base rendered on its own: %s", r.Address)
			}
		}
	}
}

// TestKustomizeInMemory covers cases that need no fixture directory: a
// kustomization that keeps its own origin annotations, one that points
// outside the scan, and one whose base is remote.
func TestKustomizeInMemory(t *testing.T) {
	cm := "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n"
	tests := []struct {
		name    string
		fs      fstest.MapFS
		want    []string
		wantErr error
		keepAnn bool
	}{
		{
			name: "user origin annotations kept",
			fs: fstest.MapFS{
				"kustomization.yaml": {Data: []byte("buildMetadata: [originAnnotations]\nresources: [cm.yaml]\n")},
				"cm.yaml":            {Data: []byte(cm)},
			},
			want:    []string{"kustomize ConfigMap/c @ cm.yaml:1-4"},
			keepAnn: true,
		},
		{
			name: "path outside the scan",
			fs: fstest.MapFS{
				"app/kustomization.yaml": {Data: []byte("resources: [../../elsewhere]\n")},
			},
			wantErr: ErrMissingRef,
		},
		{
			name: "remote base of a base",
			fs: fstest.MapFS{
				"overlay/kustomization.yaml": {Data: []byte("resources: [../base]\n")},
				"base/kustomization.yaml":    {Data: []byte("resources: [https://example.com/x.yaml]\n")},
			},
			wantErr: ErrRemoteBase,
		},
		{
			name: "missing local directory is not fetched",
			fs: fstest.MapFS{
				"kustomization.yaml": {Data: []byte("resources: [gitlab.com/org/repo/deploy]\n")},
			},
			wantErr: ErrRemoteBase,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := iac.ScanFS(context.Background(), tt.fs, []iac.Loader{New(Options{})}, iac.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, addresses(res.Resources), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("resources (-want +got):\n%s", diff)
			}
			switch {
			case tt.wantErr == nil && len(res.Errors) > 0:
				t.Errorf("errors: %v", res.Errors)
			case tt.wantErr != nil && (len(res.Errors) != 1 || !errors.Is(res.Errors[0].Err, tt.wantErr)):
				t.Errorf("errors = %v, want one %v", res.Errors, tt.wantErr)
			}
			if tt.keepAnn {
				md := res.Resources[0].Attrs["metadata"].(map[string]any)
				if _, ok := md["annotations"].(map[string]any)[originKey]; !ok {
					t.Errorf("user-requested origin annotation stripped: %v", md)
				}
			}
		})
	}
}

func TestOrderDeterministic(t *testing.T) {
	first := addresses(scan(t, "chart", Options{}).Resources)
	for range 5 {
		if got := addresses(scan(t, "chart", Options{}).Resources); !slices.Equal(first, got) {
			t.Fatalf("order changed: %v vs %v", first, got)
		}
	}
}

// TestGolden pins the exact Resource shapes of each fixture.
func TestGolden(t *testing.T) {
	for _, dir := range []string{"manifests", "chart", "kustomize"} {
		t.Run(dir, func(t *testing.T) {
			res := scan(t, dir, Options{})
			type fileErr struct{ File, Err string }
			out := struct {
				Resources []iac.Resource
				Errors    []fileErr
			}{Resources: res.Resources}
			for _, e := range res.Errors {
				out.Errors = append(out.Errors, fileErr{e.File, e.Err.Error()})
			}
			got, err := json.MarshalIndent(out, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, '\n')
			golden := filepath.Join("testdata", "golden", dir+".json")
			if *update {
				if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update)", err)
			}
			if diff := cmp.Diff(string(want), string(got)); diff != "" {
				t.Errorf("golden %s (-want +got):\n%s", golden, diff)
			}
		})
	}
}

// TestManySmallAliasBombs: every document is under iac.DecodeYAML's
// per-document budget, the file as a whole is not.
func TestManySmallAliasBombs(t *testing.T) {
	doc := "a0: &a0 [x,x,x,x,x,x,x,x]\n"
	for i := 1; i <= 5; i++ {
		doc += fmt.Sprintf("a%d: &a%d [%s*a%d]\n", i, i, strings.Repeat(fmt.Sprintf("*a%d,", i-1), 7), i-1)
	}
	fsys := fstest.MapFS{"bombs.yaml": {Data: []byte(strings.Repeat("---\n"+doc, 50))}}
	res, err := iac.ScanFS(context.Background(), fsys, []iac.Loader{New(Options{})}, iac.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Errors) != 1 || !errors.Is(res.Errors[0].Err, iac.ErrAliasBomb) {
		t.Errorf("errors = %v, want one ErrAliasBomb", res.Errors)
	}
}
