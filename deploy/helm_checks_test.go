package deploy

// Invariants every rendering of the Helm chart must satisfy, applied by
// TestChartRenders in helm_test.go.

import (
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/validation"
)

// checkObjects: names, namespace and labels of every object.
func checkObjects(t *testing.T, r *release) {
	t.Helper()
	for _, o := range r.objects {
		m, err := meta.Accessor(o)
		if err != nil {
			t.Fatal(err)
		}
		kind := o.GetObjectKind().GroupVersionKind().Kind
		id := kind + " " + m.GetName()
		var errs []string
		if kind == "Service" {
			errs = validation.IsDNS1035Label(m.GetName())
		} else {
			errs = validation.IsDNS1123Subdomain(m.GetName())
		}
		if len(errs) > 0 || len(m.GetName()) > 63 {
			t.Errorf("%s: bad name: %v", id, errs)
		}
		if m.GetNamespace() != releaseNS {
			t.Errorf("%s: namespace %q; want the release namespace", id, m.GetNamespace())
		}
		for _, l := range []string{"app.kubernetes.io/name", "app.kubernetes.io/instance",
			"app.kubernetes.io/managed-by", "app.kubernetes.io/component", "helm.sh/chart"} {
			if m.GetLabels()[l] == "" {
				t.Errorf("%s: no label %s", id, l)
			}
		}
		for k, v := range m.GetLabels() {
			if errs := validation.IsValidLabelValue(v); len(errs) > 0 {
				t.Errorf("%s: label %s=%q: %v", id, k, v, errs)
			}
		}
	}
}

// checkReferences: every Secret, claim and service account a pod uses is
// rendered by the chart, unless it is one the operator provides.
func checkReferences(t *testing.T, r *release, external []string) {
	t.Helper()
	used := map[string]bool{}
	need := func(what, name string, ok bool, from string) {
		used[name] = true
		if slices.Contains(external, name) {
			if ok {
				t.Errorf("%s: %s %s is supposed to be provided by the operator, but the chart renders it", from, what, name)
			}
			return
		}
		if !ok {
			t.Errorf("%s: %s %s is referenced but not rendered", from, what, name)
		}
	}
	for _, w := range r.workloads() {
		from := w.kind + " " + w.name
		spec := w.template.Spec
		sa, ok := r.serviceAccounts[spec.ServiceAccountName]
		if !ok {
			t.Errorf("%s: service account %q not rendered", from, spec.ServiceAccountName)
		} else if sa.AutomountServiceAccountToken == nil || *sa.AutomountServiceAccountToken {
			t.Errorf("ServiceAccount %s mounts its token; neither component uses the Kubernetes API", sa.Name)
		}
		for _, v := range spec.Volumes {
			switch {
			case v.Secret != nil:
				s, ok := r.secrets[v.Secret.SecretName]
				need("Secret", v.Secret.SecretName, ok, from)
				for _, it := range v.Secret.Items {
					if ok {
						if _, has := s.Data[it.Key]; !has {
							t.Errorf("%s: Secret %s has no key %q", from, s.Name, it.Key)
						}
					}
				}
			case v.PersistentVolumeClaim != nil:
				_, ok := r.claims[v.PersistentVolumeClaim.ClaimName]
				need("PersistentVolumeClaim", v.PersistentVolumeClaim.ClaimName, ok, from)
			}
		}
		for _, c := range spec.Containers {
			for _, e := range c.Env {
				if e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil {
					continue
				}
				ref := e.ValueFrom.SecretKeyRef
				s, ok := r.secrets[ref.Name]
				need("Secret", ref.Name, ok, from)
				if ok {
					if _, has := s.Data[ref.Key]; !has {
						t.Errorf("%s: env %s: Secret %s has no key %q", from, e.Name, ref.Name, ref.Key)
					}
				}
			}
		}
	}
	for _, name := range external {
		if !used[name] {
			t.Errorf("external %s is never referenced", name)
		}
	}
	for name := range r.secrets {
		if !used[name] {
			t.Errorf("Secret %s is rendered but no pod uses it", name)
		}
	}
	for name := range r.claims {
		if !used[name] {
			t.Errorf("PersistentVolumeClaim %s is rendered but no pod uses it", name)
		}
	}
}

// checkWorkload holds for every pod the chart runs.
func checkWorkload(t *testing.T, w workload) {
	t.Helper()
	id := w.kind + " " + w.name
	sel, err := metav1.LabelSelectorAsSelector(w.selector)
	if err != nil || sel.Empty() {
		t.Errorf("%s: bad or empty selector %v: %v", id, w.selector, err)
	} else if !sel.Matches(labels.Set(w.template.Labels)) {
		t.Errorf("%s: selector %s does not match the pod labels %v", id, sel, w.template.Labels)
	}
	spec := w.template.Spec
	if spec.AutomountServiceAccountToken == nil || *spec.AutomountServiceAccountToken {
		t.Errorf("%s: automountServiceAccountToken must be false", id)
	}
	if spec.HostNetwork || spec.HostIPC {
		t.Errorf("%s: hostNetwork/hostIPC must stay off", id)
	}
	if spec.SecurityContext == nil || spec.SecurityContext.SeccompProfile == nil {
		t.Errorf("%s: no seccomp profile", id)
	}
	volumes := map[string]bool{}
	for _, v := range spec.Volumes {
		if volumes[v.Name] {
			t.Errorf("%s: volume %s twice", id, v.Name)
		}
		volumes[v.Name] = false
	}
	if len(spec.Containers) == 0 {
		t.Fatalf("%s: no containers", id)
	}
	for _, c := range append(slices.Clone(spec.InitContainers), spec.Containers...) {
		cid := id + " container " + c.Name
		// Resources: limits everywhere, requests within them.
		for _, res := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
			lim, ok := c.Resources.Limits[res]
			if !ok || lim.IsZero() {
				t.Errorf("%s: no %s limit", cid, res)
				continue
			}
			if req, ok := c.Resources.Requests[res]; !ok || req.Cmp(lim) > 0 {
				t.Errorf("%s: %s request %v missing or above the limit %v", cid, res, req.String(), lim.String())
			}
		}
		if !strings.Contains(c.Image, "@sha256:") && (!strings.Contains(c.Image, ":") || strings.HasSuffix(c.Image, ":latest")) {
			t.Errorf("%s: image %q needs a fixed tag or digest", cid, c.Image)
		}
		sc := c.SecurityContext
		if sc == nil {
			t.Errorf("%s: no securityContext", cid)
			continue
		}
		if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
			t.Errorf("%s: allowPrivilegeEscalation must be false", cid)
		}
		if sc.Privileged != nil && *sc.Privileged {
			t.Errorf("%s: privileged", cid)
		}
		if sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
			t.Errorf("%s: root file system must be read-only", cid)
		}
		if sc.Capabilities == nil || !slices.Contains(sc.Capabilities.Drop, "ALL") {
			t.Errorf("%s: capabilities must drop ALL", cid)
		}
		// Mounts: every one names a volume; the writable scratch space the
		// read-only root needs is there.
		tmp := false
		for _, m := range c.VolumeMounts {
			if _, ok := volumes[m.Name]; !ok {
				t.Errorf("%s: mount %s names no volume", cid, m.Name)
			}
			volumes[m.Name] = true
			if m.MountPath == "/tmp" && !m.ReadOnly {
				tmp = true
			}
			if m.RecursiveReadOnly != nil && *m.RecursiveReadOnly != corev1.RecursiveReadOnlyDisabled {
				if !m.ReadOnly {
					t.Errorf("%s: mount %s: recursiveReadOnly needs readOnly", cid, m.Name)
				}
				if m.MountPropagation != nil && *m.MountPropagation != corev1.MountPropagationNone {
					t.Errorf("%s: mount %s: recursiveReadOnly needs mountPropagation None", cid, m.Name)
				}
			}
		}
		if !tmp {
			t.Errorf("%s: no writable /tmp under a read-only root file system", cid)
		}
		// $(VAR) in args expands only from the container's own env; an
		// undefined one would reach the binary literally.
		env := map[string]bool{}
		for _, e := range c.Env {
			env[e.Name] = true
		}
		for _, a := range append(slices.Clone(c.Command), c.Args...) {
			for _, m := range regexp.MustCompile(`\$\(([A-Za-z_][A-Za-z0-9_]*)\)`).FindAllStringSubmatch(a, -1) {
				if !env[m[1]] {
					t.Errorf("%s: argument %q uses $(%s), which the container does not define", cid, a, m[1])
				}
			}
		}
		ports := map[string]bool{}
		for _, p := range c.Ports {
			if errs := validation.IsValidPortName(p.Name); len(errs) > 0 || ports[p.Name] {
				t.Errorf("%s: port name %q invalid or repeated: %v", cid, p.Name, errs)
			}
			ports[p.Name] = true
		}
		for _, p := range []*corev1.Probe{c.StartupProbe, c.LivenessProbe, c.ReadinessProbe} {
			if p != nil && p.HTTPGet != nil && p.HTTPGet.Port.StrVal != "" && !ports[p.HTTPGet.Port.StrVal] {
				t.Errorf("%s: probe port %q is not a container port", cid, p.HTTPGet.Port.StrVal)
			}
		}
	}
	for name, mounted := range volumes {
		if !mounted {
			t.Errorf("%s: volume %s is never mounted", id, name)
		}
	}
}

// checkServices: each Service selects exactly one workload, and each of its
// ports reaches a container port of that workload.
func checkServices(t *testing.T, r *release) {
	t.Helper()
	for _, s := range r.services {
		if len(s.Spec.Selector) == 0 {
			t.Errorf("Service %s: no selector", s.Name)
			continue
		}
		var match []workload
		for _, w := range r.workloads() {
			if labels.SelectorFromSet(s.Spec.Selector).Matches(labels.Set(w.template.Labels)) {
				match = append(match, w)
			}
		}
		if len(match) != 1 {
			t.Errorf("Service %s selects %d workloads; want 1", s.Name, len(match))
			continue
		}
		for _, sp := range s.Spec.Ports {
			found := false
			for _, c := range match[0].template.Spec.Containers {
				for _, cp := range c.Ports {
					byName := sp.TargetPort.StrVal != "" && sp.TargetPort.StrVal == cp.Name
					byNumber := sp.TargetPort.StrVal == "" && sp.TargetPort.IntValue() == int(cp.ContainerPort)
					if (byName || byNumber) && sp.Protocol == cp.Protocol {
						found = true
					}
				}
			}
			if !found {
				t.Errorf("Service %s port %s: target %s/%s is no container port of %s", s.Name, sp.Name, sp.TargetPort.String(), sp.Protocol, match[0].name)
			}
		}
	}
}

func checkServer(t *testing.T, r *release, c chartCase) {
	t.Helper()
	if len(r.deployments) != 1 {
		t.Fatalf("%d Deployments; want the server's", len(r.deployments))
	}
	d := r.deployments[0]
	if d.Spec.Replicas == nil || *d.Spec.Replicas != 1 || d.Spec.Strategy.Type != appsv1.RecreateDeploymentStrategyType {
		t.Errorf("server: want one replica and the Recreate strategy (single-writer data volume)")
	}
	spec := d.Spec.Template.Spec
	psc := spec.SecurityContext
	if psc == nil || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot || psc.RunAsUser == nil || *psc.RunAsUser == 0 {
		t.Errorf("server: pod must run as a non-root user: %+v", psc)
	}
	if len(spec.Containers) != 1 {
		t.Fatalf("server: %d containers", len(spec.Containers))
	}
	srv := spec.Containers[0]
	if sc := srv.SecurityContext; sc.RunAsUser != nil && *sc.RunAsUser == 0 || sc.RunAsNonRoot != nil && !*sc.RunAsNonRoot {
		t.Errorf("server: container overrides the non-root user: %+v", sc)
	}
	if len(srv.Args) == 0 || srv.Args[0] != "server" {
		t.Fatalf("server args %q; want the server subcommand first", srv.Args)
	}
	flags := parseFlags(t, srv.Args[1:], serverFlags)

	// Listening ports are the container ports the Services and probes use.
	for flag, port := range map[string]string{"api-addr": "api", "agent-addr": "agent"} {
		cp := containerPort(srv, port)
		if cp == 0 || !strings.HasSuffix(flags[flag], ":"+strconv.Itoa(int(cp))) {
			t.Errorf("server: --%s=%q but container port %q is %d", flag, flags[flag], port, cp)
		}
	}
	for name, p := range map[string]*corev1.Probe{"startup": srv.StartupProbe, "liveness": srv.LivenessProbe, "readiness": srv.ReadinessProbe} {
		if p == nil || p.HTTPGet == nil || p.HTTPGet.Path != "/healthz" || p.HTTPGet.Port.StrVal != "api" {
			t.Errorf("server: %s probe %+v; want GET /healthz on port api", name, p)
		}
	}
	// The data directory and the password file are mounted where the flags say.
	if m := mountAt(srv, flags["data"]); m == nil || m.ReadOnly || m.Name != "data" {
		t.Errorf("server: --data=%s is not the writable data volume: %+v", flags["data"], m)
	}
	pwDir := flags["admin-password-file"][:strings.LastIndex(flags["admin-password-file"], "/")]
	if m := mountAt(srv, pwDir); m == nil || !m.ReadOnly || volumeByName(spec, m.Name) == nil || volumeByName(spec, m.Name).Secret == nil {
		t.Errorf("server: --admin-password-file=%s is not in a read-only Secret volume", flags["admin-password-file"])
	}
	if flags["local-agent"] != "false" {
		t.Errorf("server: --local-agent=%q; the DaemonSet is the agent", flags["local-agent"])
	}
	switch c.store {
	case "sqlite":
		if flags["store"] != "sqlite" {
			t.Errorf("server: --store=%q; want sqlite", flags["store"])
		}
	case "postgres":
		// The URL comes from a Secret through the environment, never from
		// the pod spec itself.
		if flags["store"] != "$(VIGIL_STORE_URL)" || envFrom(srv, "VIGIL_STORE_URL") == nil {
			t.Errorf("server: --store=%q; want $(VIGIL_STORE_URL) from a Secret", flags["store"])
		}
	}
	if !c.agent && len(r.serviceAccounts) != 1 {
		t.Errorf("server: %d service accounts with the agent disabled", len(r.serviceAccounts))
	}
}

// agentCaps are the only capabilities the agent may add; responseCaps
// are added to them when its rules' actions are on (--response=on).
var (
	agentCaps    = []corev1.Capability{"DAC_READ_SEARCH", "SYS_PTRACE", "BPF", "PERFMON", "SYS_RESOURCE"}
	responseCaps = []corev1.Capability{"KILL", "SYS_ADMIN", "NET_ADMIN"}
)

func checkAgent(t *testing.T, r *release, c chartCase) {
	t.Helper()
	if len(r.daemonSets) != 1 {
		t.Fatalf("%d DaemonSets; want the agent's", len(r.daemonSets))
	}
	spec := r.daemonSets[0].Spec.Template.Spec
	if !spec.HostPID {
		t.Error("agent: hostPID must be true to see the node's processes")
	}
	tolerateAll := false
	for _, tol := range spec.Tolerations {
		if tol.Key == "" && tol.Operator == corev1.TolerationOpExists && tol.Effect == "" {
			tolerateAll = true
		}
	}
	if !tolerateAll {
		t.Errorf("agent: tolerations %+v do not tolerate every taint; every node needs an agent", spec.Tolerations)
	}
	if len(spec.Containers) != 1 {
		t.Fatalf("agent: %d containers", len(spec.Containers))
	}
	a := spec.Containers[0]
	flags := parseFlags(t, a.Args, agentFlags)
	if _, ok := flags["token"]; ok {
		t.Error("agent: enrollment token on the command line")
	}
	if ref := envFrom(a, "VIGIL_AGENT_TOKEN"); ref == nil {
		t.Error("agent: VIGIL_AGENT_TOKEN does not come from a Secret")
	}

	// Root, unprivileged, with an allow-list of capabilities.
	sc := a.SecurityContext
	if sc.RunAsUser == nil || *sc.RunAsUser != 0 {
		t.Errorf("agent: want an explicit runAsUser 0, got %v", sc.RunAsUser)
	}
	allowed := agentCaps
	if flags["response"] == "on" {
		allowed = append(slices.Clone(agentCaps), responseCaps...)
	}
	for _, cp := range sc.Capabilities.Add {
		if !slices.Contains(allowed, cp) {
			t.Errorf("agent: adds capability %s; allowed: %v", cp, allowed)
		}
	}

	// The host root is mounted read-only where --host-root points.
	hostRoot := flags["host-root"]
	m := mountAt(a, hostRoot)
	if m == nil || !m.ReadOnly {
		t.Fatalf("agent: --host-root=%s is not a read-only mount: %+v", hostRoot, m)
	}
	if v := volumeByName(spec, m.Name); v == nil || v.HostPath == nil || v.HostPath.Path != "/" {
		t.Errorf("agent: %s is not the host's /: %+v", hostRoot, v)
	}
	if got := m.RecursiveReadOnly != nil && *m.RecursiveReadOnly == corev1.RecursiveReadOnlyIfPossible; got != c.rro {
		t.Errorf("agent: recursiveReadOnly=%v; want %v for Kubernetes %q", m.RecursiveReadOnly, c.rro, c.kube)
	}
	// Its identity survives pod restarts: state lives on the node.
	if sm := mountAt(a, flags["state"]); sm == nil || sm.ReadOnly || volumeByName(spec, sm.Name) == nil || volumeByName(spec, sm.Name).HostPath == nil {
		t.Errorf("agent: --state=%s is not a writable hostPath mount", flags["state"])
	}
	dm := mountAt(a, "/var/run/docker.sock")
	if c.docker {
		if dm == nil || !dm.ReadOnly {
			t.Errorf("agent: Docker socket mount %+v; want it read-only at /var/run/docker.sock", dm)
		} else if v := volumeByName(spec, dm.Name); v == nil || v.HostPath == nil || v.HostPath.Type == nil || *v.HostPath.Type != corev1.HostPathSocket {
			t.Errorf("agent: Docker socket volume %+v; want a hostPath of type Socket", v)
		}
	} else if dm != nil {
		t.Error("agent: Docker socket mounted although disabled")
	}

	// Its own budget sits below the hard limits.
	maxCPU, err := strconv.ParseFloat(flags["max-cpu"], 64)
	if err != nil {
		t.Fatalf("agent: --max-cpu=%q: %v", flags["max-cpu"], err)
	}
	if lim := a.Resources.Limits.Cpu().MilliValue(); float64(lim) <= maxCPU*1000 {
		t.Errorf("agent: --max-cpu=%v is not below the CPU limit %dm", maxCPU, lim)
	}
	maxMem, err := parseBytes(flags["max-memory"])
	if err != nil {
		t.Fatalf("agent: --max-memory: %v", err)
	}
	if lim := a.Resources.Limits.Memory().Value(); lim <= maxMem {
		t.Errorf("agent: --max-memory=%s is not below the memory limit %s", flags["max-memory"], resource.NewQuantity(lim, resource.BinarySI))
	}
}

// parseFlags reads --name=value arguments, rejecting flags outside known.
func parseFlags(t *testing.T, args []string, known []string) map[string]string {
	t.Helper()
	flags := map[string]string{}
	for _, a := range args {
		name, val, ok := strings.Cut(strings.TrimPrefix(a, "--"), "=")
		if !strings.HasPrefix(a, "--") || !ok {
			t.Errorf("argument %q: want --flag=value", a)
			continue
		}
		if !slices.Contains(known, name) {
			t.Errorf("argument %q: unknown flag", a)
		}
		if _, dup := flags[name]; dup && !repeatable[name] {
			t.Errorf("flag --%s given twice", name)
		}
		flags[name] = val
	}
	return flags
}

// repeatable are the flags that may be given more than once.
var repeatable = map[string]bool{"label": true}

func containerPort(c corev1.Container, name string) int32 {
	for _, p := range c.Ports {
		if p.Name == name {
			return p.ContainerPort
		}
	}
	return 0
}

func mountAt(c corev1.Container, path string) *corev1.VolumeMount {
	for i, m := range c.VolumeMounts {
		if m.MountPath == path {
			return &c.VolumeMounts[i]
		}
	}
	return nil
}

func volumeByName(spec corev1.PodSpec, name string) *corev1.Volume {
	for i, v := range spec.Volumes {
		if v.Name == name {
			return &spec.Volumes[i]
		}
	}
	return nil
}

func envValue(c corev1.Container, name string) string {
	for _, e := range c.Env {
		if e.Name == name {
			return e.Value
		}
	}
	return ""
}

func envFrom(c corev1.Container, name string) *corev1.SecretKeySelector {
	for _, e := range c.Env {
		if e.Name == name && e.ValueFrom != nil {
			return e.ValueFrom.SecretKeyRef
		}
	}
	return nil
}
