package respond

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

func validSidecar() Quarantined {
	return Quarantined{
		Version: 1, ID: "0123456789abcdef0123456789abcdef", OriginalPath: "/tmp/x.sh",
		Mode: 0o4755, UID: 1000, GID: 1000, Size: 12,
		SHA256:  "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
		ModTime: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC),
		Time:    time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), Reason: "rule x",
	}
}

func TestDecodeSidecar(t *testing.T) {
	good, _ := json.Marshal(validSidecar())
	edit := func(f func(*Quarantined)) string {
		q := validSidecar()
		f(&q)
		b, _ := json.Marshal(q)
		return string(b)
	}
	tests := []struct {
		name string
		in   string
		ok   bool
	}{
		{"valid", string(good), true},
		{"unknown fields allowed", strings.Replace(string(good), "{", `{"later":1,`, 1), true},
		{"empty", "", false},
		{"not an object", "[]", false},
		{"trailing data", string(good) + "{}", false},
		{"version", edit(func(q *Quarantined) { q.Version = 2 }), false},
		{"id traversal", edit(func(q *Quarantined) { q.ID = "../../../../etc/shadow" }), false},
		{"id upper case", edit(func(q *Quarantined) { q.ID = strings.ToUpper(q.ID) }), false},
		{"relative path", edit(func(q *Quarantined) { q.OriginalPath = "tmp/x" }), false},
		{"unclean path", edit(func(q *Quarantined) { q.OriginalPath = "/tmp/../etc/x" }), false},
		{"path in /proc", edit(func(q *Quarantined) { q.OriginalPath = "/proc/sys/kernel/core_pattern" }), false},
		{"path in /dev", edit(func(q *Quarantined) { q.OriginalPath = "/dev/sda" }), false},
		{"path /dev/shm itself", edit(func(q *Quarantined) { q.OriginalPath = "/dev/shm" }), false},
		{"file type in mode", edit(func(q *Quarantined) { q.Mode = 0o100755 }), false},
		{"negative size", edit(func(q *Quarantined) { q.Size = -1 }), false},
		{"short sha", edit(func(q *Quarantined) { q.SHA256 = "abcd" }), false},
		{"upper-case sha", edit(func(q *Quarantined) { q.SHA256 = strings.ToUpper(q.SHA256) }), false},
		{"long reason", edit(func(q *Quarantined) { q.Reason = strings.Repeat("r", maxReason+1) }), false},
		{"huge", `{"reason":"` + strings.Repeat("r", maxSidecar) + `"}`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q, err := decodeSidecar([]byte(tt.in))
			if tt.ok {
				if err != nil || q != validSidecar() {
					t.Fatalf("decodeSidecar = %+v, %v", q, err)
				}
				return
			}
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("decodeSidecar = %+v, %v; want ErrCorrupt", q, err)
			}
		})
	}
}

// FuzzDecodeSidecar: sidecars are read back from disk and drive renames,
// chowns and chmods as root.
func FuzzDecodeSidecar(f *testing.F) {
	good, _ := json.Marshal(validSidecar())
	f.Add(good)
	f.Add([]byte(`{"version":1,"id":"../x","originalPath":"/proc/1/mem"}`))
	f.Add([]byte(`{}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, b []byte) {
		q, err := decodeSidecar(b)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("error %v does not wrap ErrCorrupt", err)
			}
			return
		}
		if !validID(q.ID) || allowedPath(q.OriginalPath) != nil || q.Mode&^0o7777 != 0 {
			t.Fatalf("accepted an invalid sidecar: %+v", q)
		}
		again, err := json.Marshal(q)
		if err != nil {
			t.Fatal(err)
		}
		q2, err := decodeSidecar(again)
		if err != nil || !q2.Time.Equal(q.Time) || q2.ID != q.ID || q2.OriginalPath != q.OriginalPath {
			t.Fatalf("round trip: %+v, %v; want %+v", q2, err, q)
		}
	})
}
