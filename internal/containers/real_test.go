package containers

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/fixture"
)

// These tests run against the real Docker Engine (scripts/dockerd.sh
// starts one) and the containerd it runs, with an image imported from the
// busybox fixture: nothing is pulled.

// dockerContainerd is where the containerd started by dockerd listens.
const dockerContainerd = "/var/run/docker/containerd/containerd.sock"

// requireDocker skips, saying why (or fails under VIGIL_REQUIRE_FIXTURES),
// unless the Engine answers on its default socket and the CLI is present.
func requireDocker(t *testing.T) {
	t.Helper()
	fixture.NeedTool(t, "docker", "tar")
	e := newEngine(DefaultDockerSocket)
	defer e.close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := e.get(ctx, "/_ping", 64); err != nil {
		fixture.Unavailable(t, fmt.Sprintf("no Docker Engine on %s (scripts/dockerd.sh starts one): %v", DefaultDockerSocket, err))
	}
}

// run runs a command and returns its trimmed output, failing the test if
// it fails.
func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// busyboxImage imports the busybox fixture root as a one-layer image with
// a tag unique to this test process, removed when the test ends. It
// returns the tag and the image ID.
func busyboxImage(t *testing.T) (tag, id string) {
	t.Helper()
	root := fixture.BusyboxRoot(t)
	tag = fmt.Sprintf("vigil-test/containers:%d", os.Getpid())
	id = run(t, "sh", "-c", `tar -C "$1" -c . | docker import - "$2"`, "sh", root, tag)
	t.Cleanup(func() { exec.Command("docker", "rmi", "-f", tag).Run() })
	return tag, id
}

// dockerRun runs docker args (run -d or create) and returns the container
// ID; the container is removed when the test ends.
func dockerRun(t *testing.T, args ...string) string {
	t.Helper()
	id := run(t, "docker", args...)
	t.Cleanup(func() { exec.Command("docker", "rm", "-f", id).Run() })
	return id
}

func findContainer(inv *Inventory, runtime, ns, id string) (Container, int) {
	var found Container
	n := 0
	for _, c := range inv.Containers {
		if c.Runtime == runtime && c.Namespace == ns && c.ID == id {
			found = c
			n++
		}
	}
	return found, n
}

func recent(t *testing.T, what string, ts time.Time) {
	t.Helper()
	if d := time.Since(ts); d < -time.Minute || d > 10*time.Minute {
		t.Errorf("%s = %v, want about now", what, ts)
	}
}

func TestDockerEngine(t *testing.T) {
	requireDocker(t)
	tag, imageID := busyboxImage(t)
	data := t.TempDir()
	name := fmt.Sprintf("vigil-test-containers-%d", os.Getpid())

	runID := dockerRun(t, "run", "-d", "--name", name+"-run",
		"--label", "io.kubernetes.pod.name=web", "--label", "io.kubernetes.pod.namespace=shop",
		"-p", "127.0.0.1::8080", "-v", data+":/data:ro", tag, "sleep", "300")
	createdID := dockerRun(t, "create", "--name", name+"-created", "--privileged", "--network", "none", "--pid", "host", tag, "sleep", "300")
	pid, err := strconv.Atoi(run(t, "docker", "inspect", "-f", "{{.State.Pid}}", runID))
	if err != nil || pid <= 0 {
		t.Fatalf("docker inspect pid: %v %d", err, pid)
	}
	hostPort := run(t, "docker", "inspect", "-f", `{{(index (index .NetworkSettings.Ports "8080/tcp") 0).HostPort}}`, runID)

	inv, err := Collect(context.Background(), Options{ContainerdSocket: NoSocket})
	if err != nil {
		t.Fatal(err)
	}
	if len(inv.Runtimes) != 1 || inv.Runtimes[0].Name != Docker || inv.Runtimes[0].Error != "" || inv.Runtimes[0].Version == "" {
		t.Fatalf("runtimes = %+v", inv.Runtimes)
	}

	c, n := findContainer(inv, Docker, "", runID)
	if n != 1 {
		t.Fatalf("running container %s found %d times", runID, n)
	}
	recent(t, "created", c.Created)
	recent(t, "started", c.Started)
	hp, _ := strconv.Atoi(hostPort)
	if c.Name != name+"-run" || c.Image != tag || c.ImageID != imageID || c.State != "running" || c.PID != pid ||
		c.PodName != "web" || c.PodNamespace != "shop" || c.Privileged || c.PIDMode != "" ||
		c.Labels["io.kubernetes.pod.name"] != "web" || c.Error != "" {
		t.Errorf("running container = %+v", c)
	}
	if want := []Mount{{Type: "bind", Source: data, Destination: "/data", ReadOnly: true}}; !slices.Equal(c.Mounts, want) {
		t.Errorf("mounts = %+v, want %+v", c.Mounts, want)
	}
	if want := []Port{{ContainerPort: 8080, Protocol: "tcp", HostIP: "127.0.0.1", HostPort: uint16(hp)}}; !slices.Equal(c.Ports, want) {
		t.Errorf("ports = %+v, want %+v", c.Ports, want)
	}

	c, n = findContainer(inv, Docker, "", createdID)
	if n != 1 {
		t.Fatalf("created container %s found %d times", createdID, n)
	}
	if c.State != "created" || c.PID != 0 || !c.Started.IsZero() || !c.Privileged || c.NetworkMode != "none" || c.PIDMode != "host" {
		t.Errorf("created container = %+v", c)
	}

	var img *Image
	for i := range inv.Images {
		if inv.Images[i].ID == imageID {
			img = &inv.Images[i]
		}
	}
	if img == nil || !slices.Contains(img.RepoTags, tag) || img.Size <= 0 {
		t.Errorf("image %s = %+v, want tag %s and a size", imageID, img, tag)
	}

	// Removed containers are gone from the next inventory.
	run(t, "docker", "rm", "-f", runID)
	inv, err = Collect(context.Background(), Options{ContainerdSocket: NoSocket})
	if err != nil {
		t.Fatal(err)
	}
	if _, n := findContainer(inv, Docker, "", runID); n != 0 {
		t.Errorf("removed container still listed")
	}
}

// TestDockerThroughContainerd reads Docker's containers from containerd's
// moby namespace, then checks Collect reports them once when it reads both.
func TestDockerThroughContainerd(t *testing.T) {
	requireDocker(t)
	if _, err := os.Stat(dockerContainerd); err != nil {
		fixture.Unavailable(t, "dockerd does not run its own containerd here: "+err.Error())
	}
	tag, _ := busyboxImage(t)
	id := dockerRun(t, "run", "-d", "--name", fmt.Sprintf("vigil-test-containers-%d-ctrd", os.Getpid()), tag, "sleep", "300")
	pid, _ := strconv.Atoi(run(t, "docker", "inspect", "-f", "{{.State.Pid}}", id))

	inv, err := Collect(context.Background(), Options{DockerSocket: NoSocket, ContainerdSocket: dockerContainerd})
	if err != nil {
		t.Fatal(err)
	}
	if len(inv.Runtimes) != 1 || inv.Runtimes[0].Name != Containerd || inv.Runtimes[0].Version == "" {
		t.Fatalf("runtimes = %+v", inv.Runtimes)
	}
	c, n := findContainer(inv, Containerd, "moby", id)
	if n != 1 || c.State != "running" || c.PID != pid || c.NetworkMode == "host" {
		t.Errorf("containerd's view of %s (found %d times) = %+v, want running with pid %d", id, n, c, pid)
	}

	inv, err = Collect(context.Background(), Options{ContainerdSocket: dockerContainerd})
	if err != nil {
		t.Fatal(err)
	}
	if _, n := findContainer(inv, Docker, "", id); n != 1 {
		t.Errorf("docker container found %d times from Docker, want 1", n)
	}
	if _, n := findContainer(inv, Containerd, "moby", id); n != 0 {
		t.Errorf("docker container repeated from containerd's moby namespace")
	}
}

// TestContainerd creates containers with ctr in a namespace of its own: a
// privileged task on the host network, and a container with no task and a
// read-only bind mount.
func TestContainerd(t *testing.T) {
	requireDocker(t) // to make the image: docker save feeds ctr import
	fixture.NeedTool(t, "ctr")
	sock := ""
	for _, s := range []string{DefaultContainerdSocket, dockerContainerd} {
		if _, err := os.Stat(s); err == nil {
			sock = s
			break
		}
	}
	if sock == "" {
		fixture.Unavailable(t, "no containerd socket (scripts/dockerd.sh starts dockerd, which runs one)")
	}
	tag, _ := busyboxImage(t)
	ns := fmt.Sprintf("vigil-test-%d", os.Getpid())
	ctr := func(args ...string) string {
		t.Helper()
		return run(t, "ctr", append([]string{"-a", sock, "-n", ns}, args...)...)
	}
	ref := "docker.io/" + tag
	t.Cleanup(func() {
		c := func(args ...string) {
			if out, err := exec.Command("ctr", append([]string{"-a", sock, "-n", ns}, args...)...).CombinedOutput(); err != nil {
				t.Logf("cleanup: ctr %v: %v: %s", args, err, out)
			}
		}
		c("tasks", "rm", "-f", "vigil-run")
		c("containers", "rm", "vigil-run", "vigil-idle")
		c("images", "rm", "--sync", ref)
		if out, err := exec.Command("ctr", "-a", sock, "namespaces", "rm", ns).CombinedOutput(); err != nil {
			t.Logf("cleanup: remove namespace %s: %v: %s", ns, err, out)
		}
	})
	run(t, "sh", "-c", `docker save "$1" | ctr -a "$2" -n "$3" images import --no-unpack -`, "sh", tag, sock, ns)
	digest := ""
	for _, line := range strings.Split(ctr("images", "ls"), "\n") {
		if f := strings.Fields(line); len(f) > 2 && f[0] == ref {
			digest = f[2]
		}
	}
	if !strings.HasPrefix(digest, "sha256:") {
		t.Fatalf("no digest for %s in ctr images ls", ref)
	}
	data := t.TempDir()
	ctr("run", "-d", "--privileged", "--net-host",
		"--label", "io.kubernetes.pod.name=api", "--label", "io.kubernetes.pod.namespace=backend",
		ref, "vigil-run", "sleep", "300")
	ctr("containers", "create", "--label", "io.kubernetes.container.name=idle",
		"--mount", "type=bind,src="+data+",dst=/data,options=rbind:ro", ref, "vigil-idle", "sleep", "300")
	pid := 0
	for _, line := range strings.Split(ctr("tasks", "ls"), "\n") {
		if f := strings.Fields(line); len(f) == 3 && f[0] == "vigil-run" {
			pid, _ = strconv.Atoi(f[1])
		}
	}
	if pid <= 0 {
		t.Fatal("no pid for task vigil-run in ctr tasks ls")
	}

	inv, err := Collect(context.Background(), Options{DockerSocket: NoSocket, ContainerdSocket: sock})
	if err != nil {
		t.Fatal(err)
	}
	if len(inv.Runtimes) != 1 || inv.Runtimes[0].Name != Containerd || inv.Runtimes[0].Error != "" || inv.Runtimes[0].Version == "" {
		t.Fatalf("runtimes = %+v", inv.Runtimes)
	}
	c, n := findContainer(inv, Containerd, ns, "vigil-run")
	recent(t, "created", c.Created)
	if n != 1 || c.State != "running" || c.PID != pid || !c.Privileged || c.NetworkMode != "host" ||
		c.PodName != "api" || c.PodNamespace != "backend" || c.Image != ref || c.ImageID != digest || c.Error != "" {
		t.Errorf("vigil-run (found %d times) = %+v, want running, pid %d, privileged, host network, image %s", n, c, pid, digest)
	}
	c, n = findContainer(inv, Containerd, ns, "vigil-idle")
	if n != 1 || c.State != "stopped" || c.PID != 0 || c.Privileged || c.NetworkMode != "private" || c.Name != "idle" || c.ImageID != digest {
		t.Errorf("vigil-idle (found %d times) = %+v, want stopped, unprivileged, private network", n, c)
	}
	if !slices.Contains(c.Mounts, Mount{Type: "bind", Source: data, Destination: "/data", ReadOnly: true}) {
		t.Errorf("vigil-idle mounts = %+v, want %s on /data read-only", c.Mounts, data)
	}
	found := false
	for _, im := range inv.Images {
		if im.Namespace == ns && im.ID == digest {
			found = slices.Equal(im.RepoTags, []string{ref}) && !im.Created.IsZero()
		}
	}
	if !found {
		t.Errorf("image %s (%s) not listed in namespace %s: %+v", ref, digest, ns, inv.Images)
	}
}
