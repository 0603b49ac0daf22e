package containers

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protowire"
)

// Protobuf encoders for the fake containerd: just enough to write the
// messages the decoders read.

type msg []byte

func (m msg) str(num protowire.Number, s string) msg {
	m = protowire.AppendTag(m, num, protowire.BytesType)
	return protowire.AppendString(m, s)
}

func (m msg) sub(num protowire.Number, sub msg) msg {
	m = protowire.AppendTag(m, num, protowire.BytesType)
	return protowire.AppendBytes(m, sub)
}

func (m msg) varint(num protowire.Number, v uint64) msg {
	m = protowire.AppendTag(m, num, protowire.VarintType)
	return protowire.AppendVarint(m, v)
}

func timestamp(t time.Time) msg {
	return msg(nil).varint(1, uint64(t.Unix())).varint(2, uint64(t.Nanosecond()))
}

func labels(m msg, num protowire.Number, kv ...string) msg {
	for i := 0; i+1 < len(kv); i += 2 {
		m = m.sub(num, msg(nil).str(1, kv[i]).str(2, kv[i+1]))
	}
	return m
}

const (
	appID     = "a1b2c3"
	sandboxID = "5a4db0c"
	ctrDigest = "sha256:1111111111111111111111111111111111111111111111111111111111111111"
	pauseDig  = "sha256:2222222222222222222222222222222222222222222222222222222222222222"
)

var created = time.Date(2024, 5, 6, 7, 8, 9, 100, time.UTC)

// privilegedSpec is what the CRI writes for a privileged container sharing
// the host network, with a host path mounted.
const privilegedSpec = `{"ociVersion":"1.0.2","process":{"capabilities":{"bounding":["CAP_CHOWN","CAP_SYS_ADMIN","CAP_NET_ADMIN"]}},
"mounts":[{"destination":"/proc","type":"proc","source":"proc"},{"destination":"/host/etc","type":"bind","source":"/etc","options":["rbind","ro"]},
{"destination":"/var/log","source":"/var/log","options":["rbind","rw"]}],
"linux":{"namespaces":[{"type":"pid"},{"type":"ipc"},{"type":"uts"},{"type":"mount"}]}}`

// sandboxSpec: an ordinary pause container joining a CNI network namespace.
const sandboxSpec = `{"process":{"capabilities":{"bounding":["CAP_CHOWN"]}},"mounts":[{"destination":"/dev/shm","type":"bind","source":"/run/containerd/sandboxes/5a4db0c/shm","options":["rbind","ro"]}],
"linux":{"namespaces":[{"type":"pid"},{"type":"network","path":"/var/run/netns/cni-1234"}],"maskedPaths":["/proc/kcore"],"readonlyPaths":["/proc/sys"]}}`

func ctrdContainerMsg(id, image, spec string, kv ...string) msg {
	c := msg(nil).str(1, id)
	c = labels(c, 2, kv...)
	c = c.str(3, image).sub(4, msg(nil).str(1, "io.containerd.runc.v2"))
	c = c.sub(5, msg(nil).str(1, "types.containerd.io/opencontainers/runtime-spec/1/Spec").sub(2, msg(spec)))
	c = c.str(6, "overlayfs").str(7, id).sub(8, timestamp(created))
	return c
}

// fakeContainerd answers the calls Collect makes, as containerd 1.6
// would: two namespaces; k8s.io with a running pod (sandbox and app) and
// images; "default", whose ListStream is unimplemented, to exercise the
// fallback to List. Requests naming no namespace where one is needed fail
// as containerd fails them.
func fakeContainerd(t *testing.T) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ProtoMajor != 2 || r.Method != http.MethodPost || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/grpc") {
			t.Errorf("fake containerd: %s %s %s %s", r.Proto, r.Method, r.URL, r.Header.Get("Content-Type"))
		}
		body, _ := io.ReadAll(r.Body)
		if len(body) != 5 || binary.BigEndian.Uint32(body[1:]) != 0 {
			t.Errorf("%s: request %x, want an empty message", r.URL.Path, body)
		}
		ns := r.Header.Get("Containerd-Namespace")
		var out []msg
		switch r.URL.Path {
		case methodVersion:
			out = []msg{msg(nil).str(1, "v1.6.99-fake").str(2, "deadbeef")}
		case methodNamespaces:
			out = []msg{msg(nil).sub(1, msg(nil).str(1, "k8s.io")).sub(1, labels(msg(nil).str(1, "default"), 2, "a", "b"))}
		case methodContainers, methodContainersList, methodTasks, methodImages:
			if ns == "" {
				grpcTrailersOnly(w, 9, "namespace is required: failed precondition")
				return
			}
			out = containerdAnswer(r.URL.Path, ns)
			if out == nil {
				grpcTrailersOnly(w, grpcUnimplemented, "unknown method "+r.URL.Path)
				return
			}
		default:
			grpcTrailersOnly(w, grpcUnimplemented, "unknown service")
			return
		}
		grpcRespond(w, out...)
	})
}

func containerdAnswer(method, ns string) []msg {
	switch {
	case ns == "k8s.io" && method == methodContainers:
		return []msg{
			msg(nil).sub(1, ctrdContainerMsg(sandboxID, "registry.k8s.io/pause:3.9", sandboxSpec,
				"io.cri-containerd.kind", "sandbox", "io.kubernetes.pod.name", "api-5f6", "io.kubernetes.pod.namespace", "prod")),
			msg(nil).sub(1, ctrdContainerMsg(appID, "docker.io/library/app:2", privilegedSpec,
				"io.cri-containerd.kind", "container", "io.kubernetes.container.name", "app",
				"io.kubernetes.pod.name", "api-5f6", "io.kubernetes.pod.namespace", "prod")),
		}
	case ns == "k8s.io" && method == methodTasks:
		// containerd 1.x: only id is set, with the container's ID.
		return []msg{msg(nil).
			sub(1, msg(nil).str(2, appID).varint(3, 31337).varint(4, 2)).
			sub(1, msg(nil).str(2, sandboxID).varint(3, 4000).varint(4, 4))}
	case ns == "k8s.io" && method == methodImages:
		img := func(name, digest string) msg {
			return msg(nil).str(1, name).sub(3, msg(nil).str(1, "application/vnd.oci.image.index.v1+json").str(2, digest).varint(3, 1234)).sub(7, timestamp(created))
		}
		return []msg{msg(nil).
			sub(1, img("docker.io/library/app:2", ctrDigest)).
			sub(1, img("docker.io/library/app@"+ctrDigest, ctrDigest)).
			sub(1, img("sha256:9999999999999999999999999999999999999999999999999999999999999999", ctrDigest)).
			sub(1, img("registry.k8s.io/pause:3.9", pauseDig))}
	case ns == "default" && method == methodContainers:
		return nil // Unimplemented: an old containerd
	case ns == "default" && method == methodContainersList:
		return []msg{msg(nil).sub(1, ctrdContainerMsg("plain", "docker.io/library/redis:7", `{"linux":{"namespaces":[{"type":"network"},{"type":"pid"}],"maskedPaths":["/proc/kcore"]}}`))}
	case method == methodTasks || method == methodImages:
		return []msg{msg(nil)}
	}
	return nil
}

// grpcRespond writes messages and an OK status trailer.
func grpcRespond(w http.ResponseWriter, msgs ...msg) {
	w.Header().Set("Content-Type", "application/grpc")
	w.Header().Set("Trailer", "Grpc-Status, Grpc-Message")
	w.WriteHeader(http.StatusOK)
	for _, m := range msgs {
		w.Write(frame(m))
	}
	w.Header().Set("Grpc-Status", "0")
}

// grpcTrailersOnly answers a failed call with its status in the headers.
func grpcTrailersOnly(w http.ResponseWriter, code int, message string) {
	w.Header().Set("Content-Type", "application/grpc")
	w.Header().Set("Grpc-Status", strconv.Itoa(code))
	w.Header().Set("Grpc-Message", message)
	w.WriteHeader(http.StatusOK)
}

func frame(m []byte) []byte {
	f := make([]byte, 5, 5+len(m))
	binary.BigEndian.PutUint32(f[1:], uint32(len(m)))
	return append(f, m...)
}

// serveH2C serves h over HTTP/2 without TLS on a new unix socket.
func serveH2C(t *testing.T, h http.Handler) string {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "containerd.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h, Protocols: new(http.Protocols)}
	srv.Protocols.SetUnencryptedHTTP2(true)
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return sock
}

func TestCollectContainerdFake(t *testing.T) {
	sock := serveH2C(t, fakeContainerd(t))
	inv, err := Collect(context.Background(), Options{DockerSocket: NoSocket, ContainerdSocket: sock})
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "containerd/inventory.golden.json", inventoryJSON(t, inv))

	if rt := inv.Runtimes; len(rt) != 1 || rt[0].Name != Containerd || rt[0].Version != "v1.6.99-fake" || rt[0].Error != "" {
		t.Fatalf("runtimes = %+v", rt)
	}
	got := map[string]Container{}
	for _, c := range inv.Containers {
		got[c.Namespace+"/"+c.ID] = c
	}
	app, sandbox, plain := got["k8s.io/"+appID], got["k8s.io/"+sandboxID], got["default/plain"]
	if app.State != "running" || app.PID != 31337 || !app.Privileged || app.NetworkMode != "host" || app.PIDMode != "" ||
		app.Name != "app" || app.PodName != "api-5f6" || app.PodNamespace != "prod" || app.ImageID != ctrDigest || !app.Created.Equal(created) {
		t.Errorf("app = %+v", app)
	}
	if len(app.Mounts) != 2 || app.Mounts[0] != (Mount{Type: "bind", Source: "/etc", Destination: "/host/etc", ReadOnly: true}) ||
		app.Mounts[1] != (Mount{Type: "bind", Source: "/var/log", Destination: "/var/log"}) {
		t.Errorf("app mounts = %+v", app.Mounts)
	}
	if sandbox.State != "paused" || sandbox.PID != 4000 || sandbox.Privileged || sandbox.NetworkMode != "netns:/var/run/netns/cni-1234" || sandbox.ImageID != pauseDig {
		t.Errorf("sandbox = %+v", sandbox)
	}
	if plain.State != "stopped" || plain.PID != 0 || plain.Privileged || plain.NetworkMode != "private" || plain.PIDMode != "" || plain.Image != "docker.io/library/redis:7" {
		t.Errorf("plain (via List fallback) = %+v", plain)
	}
	if len(inv.Images) != 2 {
		t.Fatalf("%d images, want 2 (three names of one digest merged)", len(inv.Images))
	}
	im := inv.Images[0]
	if im.ID != ctrDigest || len(im.RepoTags) != 1 || len(im.RepoDigests) != 1 || im.Namespace != "k8s.io" {
		t.Errorf("image = %+v", im)
	}
}

func TestGRPCErrors(t *testing.T) {
	handlers := map[string]http.HandlerFunc{
		"no trailer": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/grpc")
			w.Write(frame(msg(nil).str(1, "v")))
		},
		"not grpc": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			w.Write([]byte("<html>"))
		},
		"compressed": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/grpc")
			f := frame(msg(nil).str(1, "v"))
			f[0] = 1
			w.Write(f)
		},
		"huge": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/grpc")
			w.Write([]byte{0, 0xff, 0xff, 0xff, 0xff})
		},
		"truncated": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/grpc")
			w.Write([]byte{0, 0, 0, 0, 9, 1, 2})
		},
		"status": func(w http.ResponseWriter, r *http.Request) {
			grpcTrailersOnly(w, 7, "permission%20denied")
		},
		"two messages": func(w http.ResponseWriter, r *http.Request) {
			grpcRespond(w, msg(nil).str(1, "a"), msg(nil).str(1, "b"))
		},
		"no message": func(w http.ResponseWriter, r *http.Request) { grpcRespond(w) },
		"bad protobuf": func(w http.ResponseWriter, r *http.Request) {
			grpcRespond(w, msg{0x0a, 0x7f})
		},
	}
	want := map[string]string{
		"no trailer": "without grpc-status", "not grpc": "not gRPC", "compressed": "compressed",
		"huge": "over", "truncated": "read message", "status": "gRPC status 7: permission denied",
		"two messages": "more than one", "no message": "no response message", "bad protobuf": "unexpected EOF",
	}
	for name, h := range handlers {
		t.Run(name, func(t *testing.T) {
			sock := serveH2C(t, h)
			inv, err := Collect(context.Background(), Options{DockerSocket: NoSocket, ContainerdSocket: sock})
			if err != nil {
				t.Fatal(err)
			}
			if len(inv.Runtimes) != 1 || !strings.Contains(inv.Runtimes[0].Error, want[name]) {
				t.Errorf("runtimes = %+v, want an error mentioning %q", inv.Runtimes, want[name])
			}
		})
	}
}

func TestGRPCStatusError(t *testing.T) {
	var st *grpcStatus
	err := statusOf("/m", http.Header{"Grpc-Status": {"12"}, "Grpc-Message": {"unknown%20method"}})
	if !errors.As(err, &st) || st.code != grpcUnimplemented || st.message != "unknown method" {
		t.Errorf("statusOf = %#v", err)
	}
	if err := statusOf("/m", http.Header{"Grpc-Status": {"0"}}); err != nil {
		t.Errorf("status 0: %v", err)
	}
}
