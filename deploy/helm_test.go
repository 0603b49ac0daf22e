package deploy

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/engine"
	"helm.sh/helm/v3/pkg/lint"
	"helm.sh/helm/v3/pkg/lint/support"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/kubernetes/scheme"
)

const (
	chartDir    = "helm/vigil"
	releaseName = "vigil"
	releaseNS   = "vigil-system"
	// defaultKube is the cluster version the cases render for unless they
	// name one. (The Helm library on its own would claim Kubernetes 1.20.)
	defaultKube = "v1.33.0"
)

// strictDecoder decodes any built-in Kubernetes object and fails on unknown
// or duplicate fields, as `kubectl apply --validate=strict` would.
var strictDecoder = serializer.NewCodecFactory(scheme.Scheme, serializer.EnableStrict).UniversalDeserializer()

// release is one rendering of the chart, decoded.
type release struct {
	notes    string
	manifest string // every rendered manifest, for leak checks
	objects  []runtime.Object

	deployments     []*appsv1.Deployment
	daemonSets      []*appsv1.DaemonSet
	services        []*corev1.Service
	secrets         map[string]*corev1.Secret
	claims          map[string]*corev1.PersistentVolumeClaim
	serviceAccounts map[string]*corev1.ServiceAccount
}

func loadChart(t *testing.T) *chart.Chart {
	t.Helper()
	ch, err := loader.Load(chartDir)
	if err != nil {
		t.Fatalf("load chart: %v", err)
	}
	return ch
}

// renderChart renders the chart like `helm install --dry-run` would without
// a cluster (lookup finds nothing), in strict mode (a reference to a missing
// value is an error), against kubeVersion ("" for defaultKube), after
// checking the chart's kubeVersion constraint as `helm install` does.
func renderChart(ch *chart.Chart, valuesYAML, kubeVersion string) (*release, error) {
	vals, err := chartutil.ReadValues([]byte(valuesYAML))
	if err != nil {
		return nil, fmt.Errorf("test values: %w", err)
	}
	if kubeVersion == "" {
		kubeVersion = defaultKube
	}
	kv, err := chartutil.ParseKubeVersion(kubeVersion)
	if err != nil {
		return nil, err
	}
	if !chartutil.IsCompatibleRange(ch.Metadata.KubeVersion, kv.String()) {
		return nil, fmt.Errorf("chart requires Kubernetes %s, not %s", ch.Metadata.KubeVersion, kv)
	}
	caps := *chartutil.DefaultCapabilities
	caps.KubeVersion = *kv
	opts := chartutil.ReleaseOptions{Name: releaseName, Namespace: releaseNS, Revision: 1, IsInstall: true}
	top, err := chartutil.ToRenderValues(ch, vals.AsMap(), opts, &caps)
	if err != nil {
		return nil, err
	}
	out, err := engine.Engine{Strict: true}.Render(ch, top)
	if err != nil {
		return nil, err
	}
	rel := &release{
		secrets:         map[string]*corev1.Secret{},
		claims:          map[string]*corev1.PersistentVolumeClaim{},
		serviceAccounts: map[string]*corev1.ServiceAccount{},
	}
	names := make([]string, 0, len(out))
	for name := range out {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		text := out[name]
		if strings.HasSuffix(name, "/NOTES.txt") {
			rel.notes = text
			continue
		}
		rel.manifest += text + "\n"
		if err := rel.decode(name, text); err != nil {
			return nil, err
		}
	}
	return rel, nil
}

var commentOnly = regexp.MustCompile(`(?m)^\s*(#.*)?$`)

// decode strictly decodes every YAML document of one rendered template.
func (r *release) decode(name, text string) error {
	reader := utilyaml.NewYAMLReader(bufio.NewReader(strings.NewReader(text)))
	for {
		doc, err := reader.Read()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%s: split documents: %w", name, err)
		}
		if len(commentOnly.ReplaceAll(doc, nil)) == 0 {
			continue
		}
		obj, gvk, err := strictDecoder.Decode(doc, nil, nil)
		if err != nil {
			return fmt.Errorf("%s: strict decode: %w\n%s", name, err, doc)
		}
		r.objects = append(r.objects, obj)
		switch o := obj.(type) {
		case *appsv1.Deployment:
			r.deployments = append(r.deployments, o)
		case *appsv1.DaemonSet:
			r.daemonSets = append(r.daemonSets, o)
		case *corev1.Service:
			r.services = append(r.services, o)
		case *corev1.Secret:
			r.secrets[o.Name] = o
		case *corev1.PersistentVolumeClaim:
			r.claims[o.Name] = o
		case *corev1.ServiceAccount:
			r.serviceAccounts[o.Name] = o
		default:
			return fmt.Errorf("%s: unexpected kind %s", name, gvk)
		}
	}
}

func (r *release) kinds() map[string]int {
	k := map[string]int{}
	for _, o := range r.objects {
		k[o.GetObjectKind().GroupVersionKind().Kind]++
	}
	return k
}

// workload is a Deployment or DaemonSet, seen through what they share.
type workload struct {
	kind, name string
	selector   *metav1.LabelSelector
	template   *corev1.PodTemplateSpec
}

func (r *release) workloads() []workload {
	var w []workload
	for _, d := range r.deployments {
		w = append(w, workload{"Deployment", d.Name, d.Spec.Selector, &d.Spec.Template})
	}
	for _, d := range r.daemonSets {
		w = append(w, workload{"DaemonSet", d.Name, d.Spec.Selector, &d.Spec.Template})
	}
	return w
}

// chartCase is one set of values and what its rendering must look like.
type chartCase struct {
	name   string
	values string
	kube   string
	kinds  map[string]int
	// external names the chart references but must not create (existing
	// Secrets and claims, or the enrollment Secret the operator creates).
	external []string
	store    string // "sqlite" or "postgres"
	agent    bool
	docker   bool // the agent mounts the Docker socket
	rro      bool // the host root mount is recursively read-only
	notes    []string
	check    func(t *testing.T, r *release)
}

const pgURL = "postgres://vigil:s3cr3t-pw@db.example.internal:5432/vigil?sslmode=verify-full"

var chartCases = []chartCase{
	{
		name: "defaults",
		kinds: map[string]int{"Deployment": 1, "DaemonSet": 1, "Service": 2, "Secret": 1,
			"PersistentVolumeClaim": 1, "ServiceAccount": 2},
		external: []string{"vigil-agent-enrollment"},
		store:    "sqlite", agent: true, docker: true, rro: true,
		notes: []string{"WAITING for their enrollment Secret",
			"kubectl -n vigil-system create secret generic vigil-agent-enrollment",
			"get secret vigil-admin"},
		check: func(t *testing.T, r *release) {
			pw := r.secrets["vigil-admin"].Data["password"]
			if !regexp.MustCompile(`^[A-Za-z0-9]{32}$`).Match(pw) {
				t.Errorf("generated admin password %q: want 32 random alphanumerics", pw)
			}
			ds := r.daemonSets[0]
			agent := ds.Spec.Template.Spec.Containers[0]
			if got := envValue(agent, "VIGIL_SERVER"); got != "vigil-gateway.vigil-system.svc:8443" {
				t.Errorf("VIGIL_SERVER=%q; want the gateway Service", got)
			}
			lim := agent.Resources.Limits
			if lim.Cpu().MilliValue() > 100 || lim.Memory().Value() > 160<<20 {
				t.Errorf("agent limits cpu=%s memory=%s; the agent stays within 100m/160Mi", lim.Cpu(), lim.Memory())
			}
			if slices.Contains(agent.Args, "--label=cluster=") {
				t.Errorf("agent args %v: an empty cluster name is a label", agent.Args)
			}
		},
	},
	{
		name:   "cluster and environment",
		values: "agent:\n  cluster: prod-eu\n  environment: production\n",
		kinds: map[string]int{"Deployment": 1, "DaemonSet": 1, "Service": 2, "Secret": 1,
			"PersistentVolumeClaim": 1, "ServiceAccount": 2},
		external: []string{"vigil-agent-enrollment"},
		store:    "sqlite", agent: true, docker: true, rro: true,
		check: func(t *testing.T, r *release) {
			args := r.daemonSets[0].Spec.Template.Spec.Containers[0].Args
			for _, want := range []string{"--label=cluster=prod-eu", "--label=environment=production"} {
				if !slices.Contains(args, want) {
					t.Errorf("agent args %v: no %s", args, want)
				}
			}
		},
	},
	{
		name:   "response on",
		values: "agent:\n  response: \"on\"\n",
		kinds: map[string]int{"Deployment": 1, "DaemonSet": 1, "Service": 2, "Secret": 1,
			"PersistentVolumeClaim": 1, "ServiceAccount": 2},
		external: []string{"vigil-agent-enrollment"},
		store:    "sqlite", agent: true, docker: true, rro: true,
		check: func(t *testing.T, r *release) {
			agent := r.daemonSets[0].Spec.Template.Spec.Containers[0]
			if !slices.Contains(agent.Args, "--response=on") {
				t.Errorf("agent args %v: no --response=on", agent.Args)
			}
			caps := agent.SecurityContext.Capabilities.Add
			for _, want := range []corev1.Capability{"KILL", "SYS_ADMIN", "NET_ADMIN", "BPF", "DAC_READ_SEARCH"} {
				if !slices.Contains(caps, want) {
					t.Errorf("capabilities %v: no %s for the actions", caps, want)
				}
			}
			if p := agent.SecurityContext.Privileged; p == nil || *p {
				t.Error("the agent became privileged")
			}
		},
	},
	{
		name:   "agent disabled",
		values: "agent:\n  enabled: false\n",
		kinds: map[string]int{"Deployment": 1, "Service": 2, "Secret": 1,
			"PersistentVolumeClaim": 1, "ServiceAccount": 1},
		store: "sqlite",
		notes: []string{"The node agent is disabled"},
		check: func(t *testing.T, r *release) {
			if strings.Contains(r.manifest, "app.kubernetes.io/component: agent") {
				t.Error("agent objects rendered although the agent is disabled")
			}
		},
	},
	{
		name:   "postgres",
		values: "server:\n  store:\n    type: postgres\n    postgres:\n      url: " + strconv.Quote(pgURL) + "\n",
		kinds: map[string]int{"Deployment": 1, "DaemonSet": 1, "Service": 2, "Secret": 2,
			"PersistentVolumeClaim": 1, "ServiceAccount": 2},
		external: []string{"vigil-agent-enrollment"},
		store:    "postgres", agent: true, docker: true, rro: true,
		notes: []string{"Store: PostgreSQL"},
		check: func(t *testing.T, r *release) {
			if got := string(r.secrets["vigil-store"].Data["url"]); got != pgURL {
				t.Errorf("store Secret url=%q; want %q", got, pgURL)
			}
			// The password appears only base64-encoded in the Secret.
			if strings.Contains(r.manifest, "s3cr3t-pw") || strings.Contains(r.notes, "s3cr3t-pw") {
				t.Error("the database password appears in clear in the rendered output")
			}
		},
	},
	{
		name: "enrolled, pinned image, ephemeral, Kubernetes 1.30",
		values: `
server:
  admin:
    password: correct-horse-battery
  persistence:
    enabled: false
  image:
    digest: sha256:` + strings.Repeat("ab", 32) + `
agent:
  enrollment:
    token: enroll-123
    caSHA256: ` + strings.Repeat("CD", 32) + `
  dockerSocket:
    enabled: false
  priorityClassName: system-node-critical
`,
		kube:  "v1.30.4",
		kinds: map[string]int{"Deployment": 1, "DaemonSet": 1, "Service": 2, "Secret": 2, "ServiceAccount": 2},
		store: "sqlite", agent: true,
		notes: []string{"WARNING: server.persistence.enabled is false", "They enroll with the token"},
		check: func(t *testing.T, r *release) {
			if got := string(r.secrets["vigil-admin"].Data["password"]); got != "correct-horse-battery" {
				t.Errorf("admin password %q", got)
			}
			e := r.secrets["vigil-agent-enrollment"]
			if e == nil || string(e.Data["token"]) != "enroll-123" || string(e.Data["ca-sha256"]) != strings.Repeat("cd", 32) {
				t.Errorf("enrollment Secret = %+v; want the token and the lower-cased CA pin", e)
			}
			srv := r.deployments[0].Spec.Template.Spec
			if img := srv.Containers[0].Image; !strings.HasSuffix(img, "@sha256:"+strings.Repeat("ab", 32)) {
				t.Errorf("server image %q not pinned by digest", img)
			}
			if v := volumeByName(srv, "data"); v == nil || v.EmptyDir == nil {
				t.Errorf("data volume %+v; want an emptyDir without persistence", v)
			}
			if pc := r.daemonSets[0].Spec.Template.Spec.PriorityClassName; pc != "system-node-critical" {
				t.Errorf("agent priorityClassName=%q", pc)
			}
		},
	},
	{
		name: "existing secrets and claim",
		values: `
fullnameOverride: acme-vigil
server:
  store:
    type: postgres
    postgres:
      existingSecret: acme-db
      existingSecretKey: dsn
  admin:
    existingSecret: acme-admin
    existingSecretKey: pw
  persistence:
    existingClaim: acme-data
agent:
  enrollment:
    existingSecret: acme-enroll
`,
		kinds:    map[string]int{"Deployment": 1, "DaemonSet": 1, "Service": 2, "ServiceAccount": 2},
		external: []string{"acme-db", "acme-admin", "acme-data", "acme-enroll"},
		store:    "postgres", agent: true, docker: true, rro: true,
		notes: []string{"get secret acme-admin", "{.data.pw}"},
		check: func(t *testing.T, r *release) {
			for _, w := range r.workloads() {
				if !strings.HasPrefix(w.name, "acme-vigil-") {
					t.Errorf("%s %s does not use fullnameOverride", w.kind, w.name)
				}
			}
			srv := r.deployments[0].Spec.Template.Spec
			if v := volumeByName(srv, "data"); v == nil || v.PersistentVolumeClaim == nil || v.PersistentVolumeClaim.ClaimName != "acme-data" {
				t.Errorf("data volume %+v; want the existing claim", v)
			}
			ref := envFrom(srv.Containers[0], "VIGIL_STORE_URL")
			if ref == nil || ref.Name != "acme-db" || ref.Key != "dsn" {
				t.Errorf("VIGIL_STORE_URL from %+v; want acme-db/dsn", ref)
			}
		},
	},
}

func TestChartRenders(t *testing.T) {
	ch := loadChart(t)
	for _, c := range chartCases {
		t.Run(c.name, func(t *testing.T) {
			r, err := renderChart(ch, c.values, c.kube)
			if err != nil {
				t.Fatal(err)
			}
			if got := r.kinds(); !maps.Equal(got, c.kinds) {
				t.Errorf("rendered kinds %v; want %v", got, c.kinds)
			}
			checkObjects(t, r)
			checkReferences(t, r, c.external)
			for _, w := range r.workloads() {
				checkWorkload(t, w)
			}
			checkServices(t, r)
			checkServer(t, r, c)
			if c.agent {
				checkAgent(t, r, c)
			} else if len(r.daemonSets) != 0 {
				t.Error("agent DaemonSet rendered although disabled")
			}
			for _, n := range c.notes {
				if !strings.Contains(r.notes, n) {
					t.Errorf("NOTES.txt lacks %q:\n%s", n, r.notes)
				}
			}
			if c.check != nil {
				c.check(t, r)
			}
		})
	}
}

// TestChartRejectsBadValues: the values schema and the templates' required
// checks turn mistakes into errors instead of a silently wrong deployment.
func TestChartRejectsBadValues(t *testing.T) {
	ch := loadChart(t)
	for _, c := range []struct{ name, values, kube, want string }{
		{"misspelt key", "agent:\n  enabeld: false\n", "", "enabeld"},
		{"unknown store", "server:\n  store:\n    type: mysql\n", "", "type"},
		{"postgres without URL", "server:\n  store:\n    type: postgres\n", "", "server.store.postgres.url"},
		{"not a postgres URL", "server:\n  store:\n    type: postgres\n    postgres:\n      url: mysql://x\n", "", "url"},
		{"memory without unit", "agent:\n  maxMemory: \"64\"\n", "", "maxMemory"},
		{"unknown response mode", "agent:\n  response: kill\n", "", "response"},
		{"token without CA pin", "agent:\n  enrollment:\n    token: abc\n", "", "caSHA256 is required"},
		{"bad CA pin", "agent:\n  enrollment:\n    caSHA256: xyz\n", "", "caSHA256"},
		{"no agent limits", "agent:\n  resources:\n    limits: null\n", "", "limits"},
		{"too old a cluster", "", "v1.26.9", "requires Kubernetes"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := renderChart(ch, c.values, c.kube)
			if err == nil {
				t.Fatalf("values accepted:\n%s", c.values)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q does not mention %q", err, c.want)
			}
		})
	}
}

// TestStrictDecoderRejectsUnknownFields proves the validator has teeth: a
// misspelt field, a duplicate field and a wrongly typed field all fail.
func TestStrictDecoderRejectsUnknownFields(t *testing.T) {
	base := "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: x\nspec:\n  selector: {matchLabels: {a: b}}\n  template:\n    metadata: {labels: {a: b}}\n    spec:\n      containers: [{name: c, image: i}]\n"
	if _, _, err := strictDecoder.Decode([]byte(base), nil, nil); err != nil {
		t.Fatalf("valid Deployment rejected: %v", err)
	}
	for name, doc := range map[string]string{
		"unknown field":   base + "  replica: 2\n",
		"duplicate field": base + "  selector: {matchLabels: {a: b}}\n",
		"wrong type":      base + "  replicas: two\n",
	} {
		if _, _, err := strictDecoder.Decode([]byte(doc), nil, nil); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// TestChartLint runs Helm's own linter (what `helm lint --strict` runs) for
// the default values and the PostgreSQL override.
func TestChartLint(t *testing.T) {
	for _, c := range chartCases[:3] {
		vals, err := chartutil.ReadValues([]byte(c.values))
		if err != nil {
			t.Fatal(err)
		}
		kv, err := chartutil.ParseKubeVersion(defaultKube)
		if err != nil {
			t.Fatal(err)
		}
		l := lint.AllWithKubeVersion(chartDir, vals.AsMap(), releaseNS, kv)
		for _, m := range l.Messages {
			if m.Severity >= support.WarningSev {
				t.Errorf("%s: helm lint: %s", c.name, m)
			} else {
				t.Logf("%s: helm lint: %s", c.name, m)
			}
		}
	}
}
