package containers

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Runtime answers are untrusted: whatever listens on the socket may send
// anything. Decoders must return an error or values that encode.

// mustEncode fails unless v marshals to JSON (a bogus timestamp would not).
func mustEncode(t *testing.T, v any) {
	t.Helper()
	if _, err := json.Marshal(v); err != nil {
		t.Errorf("decoded value does not encode: %v", err)
	}
}

func seedFiles(f *testing.F, glob string) {
	paths, err := filepath.Glob(filepath.Join("testdata", "engine", glob))
	if err != nil || len(paths) == 0 {
		f.Fatalf("no seeds for %s: %v", glob, err)
	}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
}

func FuzzDecodeEngineContainers(f *testing.F) {
	seedFiles(f, "containers.json")
	f.Add([]byte(`[{"Id":"x","Created":-62135596801}]`))
	f.Add([]byte(`[{"Id":"x","Created":253402300800,"Names":[]}]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		cs, err := decodeEngineContainers(b)
		if err != nil {
			return
		}
		if len(cs) > maxContainers {
			t.Errorf("%d containers", len(cs))
		}
		for _, c := range cs {
			if c.ID == "" || c.Runtime != Docker {
				t.Errorf("container %+v", c)
			}
		}
		mustEncode(t, cs)
	})
}

func FuzzDecodeEngineInspect(f *testing.F) {
	seedFiles(f, "inspect-*.json")
	f.Add([]byte(`{"Id":"1111111111111111111111111111111111111111111111111111111111111111","Created":"9999-12-31T23:59:59-23:59","State":{"Pid":-1,"StartedAt":"0000-01-01T00:00:00Z"}}`))
	f.Add([]byte(`{"Id":"1111111111111111111111111111111111111111111111111111111111111111","NetworkSettings":{"Ports":{"99999/tcp":null,"80":[{"HostPort":"x"}],"/udp":[]}}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		c := Container{Runtime: Docker, ID: strings.Repeat("1", 64)}
		if err := decodeEngineInspect(b, &c); err != nil {
			return
		}
		if c.ID != strings.Repeat("1", 64) || c.PID < 0 {
			t.Errorf("container %+v", c)
		}
		mustEncode(t, c)
	})
}

func FuzzDecodeEngineImages(f *testing.F) {
	seedFiles(f, "images.json")
	f.Add([]byte(`[{"Id":"sha256:1","Size":-5,"Created":99999999999999}]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		is, err := decodeEngineImages(b)
		if err != nil {
			return
		}
		for _, im := range is {
			if im.ID == "" || im.Size < 0 {
				t.Errorf("image %+v", im)
			}
			for _, r := range append(im.RepoTags, im.RepoDigests...) {
				if strings.HasPrefix(r, "<none>") {
					t.Errorf("placeholder %q kept", r)
				}
			}
		}
		mustEncode(t, is)
	})
}

// FuzzDecodeContainerd feeds one message to every containerd decoder.
func FuzzDecodeContainerd(f *testing.F) {
	for _, m := range []msg{
		msg(nil).str(1, "v1.6.20").str(2, "rev"),
		msg(nil).sub(1, msg(nil).str(1, "k8s.io")),
		msg(nil).sub(1, ctrdContainerMsg("id", "img", privilegedSpec, "k", "v")),
		msg(nil).sub(1, msg(nil).str(2, "id").varint(3, 42).varint(4, 2)),
		msg(nil).sub(1, msg(nil).str(1, "n").sub(3, msg(nil).str(2, "sha256:1")).sub(7, msg(nil).varint(1, 1<<62).varint(2, 1<<40))),
		{0x0a, 0x7f},
		{0x0b, 0x0c},
	} {
		f.Add([]byte(m))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		decodeVersionResponse(b)
		if ns, err := decodeNamespaces(b); err == nil && len(ns) > maxNamespaces {
			t.Errorf("%d namespaces", len(ns))
		}
		if c, err := decodeContainerMessage(b); err == nil {
			if len(c.Labels) > maxLabels {
				t.Errorf("%d labels", len(c.Labels))
			}
			mustEncode(t, c.Created)
		}
		if cs, err := decodeCtrdContainers(b); err == nil && len(cs) > maxContainers {
			t.Errorf("%d containers", len(cs))
		}
		if ts, err := decodeTasks(b); err == nil {
			for _, task := range ts {
				if task.Status == "" {
					t.Errorf("task without status: %+v", task)
				}
			}
		}
		if is, err := decodeImages(b); err == nil {
			for _, im := range is {
				mustEncode(t, im.Created)
			}
		}
		if ts, err := decodeTimestamp(b); err == nil && !ts.IsZero() && (ts.Year() < 1 || ts.Year() > 9999) {
			t.Errorf("timestamp %v out of range", ts)
		}
	})
}

func FuzzDecodeSpec(f *testing.F) {
	f.Add([]byte(privilegedSpec))
	f.Add([]byte(sandboxSpec))
	f.Add([]byte(`{"linux":{}}`))
	f.Add([]byte(`{"mounts":[{"source":"/x"}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := decodeSpec(b)
		if err != nil {
			return
		}
		if len(s.Mounts) > maxLabels {
			t.Errorf("%d mounts", len(s.Mounts))
		}
		for _, m := range s.Mounts {
			if !strings.HasPrefix(m.Source, "/") {
				t.Errorf("mount without a host path kept: %+v", m)
			}
		}
	})
}

func FuzzReadFrames(f *testing.F) {
	f.Add(append(frame(msg(nil).str(1, "a")), frame(nil)...))
	f.Add([]byte{0, 0, 0, 0})
	f.Add([]byte{1, 0, 0, 0, 0})
	f.Add([]byte{0, 0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		total := 0
		err := readFrames(bytes.NewReader(b), func(m []byte) error {
			if len(m) > maxGRPCMessage {
				t.Errorf("message of %d bytes", len(m))
			}
			total += 5 + len(m)
			return nil
		})
		if err == nil && total != len(b) {
			t.Errorf("read %d of %d bytes without error", total, len(b))
		}
	})
}

// TestValidTime pins the bounds that keep an inventory encodable.
func TestValidTime(t *testing.T) {
	for _, tt := range []struct {
		in   time.Time
		zero bool
	}{
		{time.Unix(1700000000, 0), false},
		{time.Unix(0, 0), true},
		{time.Time{}, true},
		{time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC), true},
		{time.Unix(1<<62, 0), true},
	} {
		if got := validTime(tt.in); got.IsZero() != tt.zero {
			t.Errorf("validTime(%v) = %v", tt.in, got)
		}
	}
}
