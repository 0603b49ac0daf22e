package inventory_test

import (
	"context"
	"fmt"
	"io/fs"
	"maps"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/vigil-sec/vigil/internal/inventory"
)

// fileInfo is a regular file of a given size, for Wants.
type fileInfo struct {
	name string
	size int64
}

func (f fileInfo) Name() string       { return f.name }
func (f fileInfo) Size() int64        { return f.size }
func (f fileInfo) Mode() fs.FileMode  { return 0o644 }
func (f fileInfo) ModTime() time.Time { return time.Time{} }
func (f fileInfo) IsDir() bool        { return false }
func (f fileInfo) Sys() any           { return nil }

func TestWantsOSFiles(t *testing.T) {
	e := testEngine(t)
	for _, c := range []struct {
		name string
		want bool
	}{
		{"etc/os-release", true},
		{"usr/lib/os-release", true},
		{"etc/os-release.orig", false},
		{"usr/etc/os-release", false},

		{"var/lib/dpkg/status", true},
		{"var/lib/dpkg/status-old", false},
		{"var/lib/dpkg/status.d/libc6", true},
		{"var/lib/dpkg/status.d/libc6.md5sums", false},
		{"var/lib/dpkg/available", false},
		{"usr/lib/opkg/status", true},

		{"var/lib/rpm/rpmdb.sqlite", true},
		{"var/lib/rpm/Packages", true},
		{"var/lib/rpm/Packages.db", true},
		{"usr/lib/sysimage/rpm/rpmdb.sqlite", true},
		{"usr/lib/sysimage/rpm/Packages.db", true},
		{"usr/share/rpm/Packages", true},
		{"var/lib/rpm/Name", false},
		{"var/lib/rpm/rpmdb.sqlite-shm", false},
		{"var/lib/rpm/Index.db", false},
		{"root/var/lib/rpm/Packages", false},

		{"lib/apk/db/installed", true},
		{"usr/lib/apk/db/installed", true},
		{"lib/apk/db/triggers", false},
		{"etc/apk/world", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			info := fileInfo{name: c.name[strings.LastIndexByte(c.name, '/')+1:], size: 4096}
			if got := e.Wants(c.name, info); got != c.want {
				t.Errorf("Wants(%q) = %v, want %v", c.name, got, c.want)
			}
		})
	}
}

// fakeLayers is an image as a stack of layers, each a set of writes: a
// file's new content, or nil for a whiteout (deletion).
type fakeLayers struct {
	views   []fstest.MapFS // the filesystem after each layer
	writers map[string][]int
}

var _ inventory.Layered = (*fakeLayers)(nil)

func newFakeLayers(layers []map[string][]byte) *fakeLayers {
	l := &fakeLayers{writers: map[string][]int{}}
	cur := fstest.MapFS{}
	for i, writes := range layers {
		cur = maps.Clone(cur)
		for name, data := range writes {
			if data == nil {
				delete(cur, name)
				delete(l.writers, name) // a deletion resets the chain
				continue
			}
			cur[name] = &fstest.MapFile{Data: data, Mode: 0o644}
			l.writers[name] = append(l.writers[name], i)
		}
		l.views = append(l.views, cur)
	}
	return l
}

func (l *fakeLayers) LayerCount() int           { return len(l.views) }
func (l *fakeLayers) LayerDiffID(i int) string  { return fmt.Sprintf("sha256:%064d", i) }
func (l *fakeLayers) View(i int) fs.FS          { return l.views[i] }
func (l *fakeLayers) Writers(name string) []int { return l.writers[name] }

// stanza is a minimal installed dpkg status stanza.
func stanza(name, version string) string {
	return fmt.Sprintf("Package: %s\nStatus: install ok installed\nArchitecture: amd64\nVersion: %s\nDescription: %s\n\n", name, version, name)
}

func status(stanzas ...string) []byte { return []byte(strings.Join(stanzas, "")) }

func TestScanLayeredAttribution(t *testing.T) {
	const osRelease = "ID=debian\nVERSION_ID=\"11\"\nVERSION_CODENAME=bullseye\n"
	base, libc, tzdata, curl, jq := stanza("base-files", "11.1"), stanza("libc6", "2.31-13"), stanza("tzdata", "2024a-0"), stanza("curl", "7.74.0-1.3"), stanza("jq", "1.6-2.1")
	cases := []struct {
		name   string
		layers []map[string][]byte
		want   map[string]int // package → layer that introduced it
	}{
		{
			name: "status grows; removed then re-added",
			layers: []map[string][]byte{
				{"etc/os-release": []byte(osRelease), "var/lib/dpkg/status": status(base, libc, tzdata)},
				{"var/lib/dpkg/status": status(base, libc, curl)},             // tzdata removed, curl added
				{"usr/bin/jq": []byte("\x7fELF")},                             // status untouched
				{"var/lib/dpkg/status": status(base, libc, curl, tzdata, jq)}, // tzdata re-added, jq added
			},
			want: map[string]int{"base-files": 0, "libc6": 0, "curl": 1, "tzdata": 3, "jq": 3},
		},
		{
			name: "upgrade in place is a new package",
			layers: []map[string][]byte{
				{"var/lib/dpkg/status": status(base, libc)},
				{"var/lib/dpkg/status": status(base, stanza("libc6", "2.31-13+deb11u11"))},
			},
			want: map[string]int{"base-files": 0, "libc6": 1},
		},
		{
			name: "deleted then written again",
			layers: []map[string][]byte{
				{"var/lib/dpkg/status": status(base, libc)},
				{"var/lib/dpkg/status": nil},
				{"var/lib/dpkg/status": status(base, libc)},
			},
			want: map[string]int{"base-files": 2, "libc6": 2},
		},
		{
			name: "single layer",
			layers: []map[string][]byte{
				{"var/lib/dpkg/status": status(base)},
			},
			want: map[string]int{"base-files": 0},
		},
	}
	e := testEngine(t)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			l := newFakeLayers(c.layers)
			pkgs, unknowns, err := e.ScanLayered(context.Background(), l)
			if err != nil {
				t.Fatal(err)
			}
			for _, u := range unknowns {
				t.Errorf("unexpected unknown %+v", u)
			}
			got := map[string]int{}
			for _, p := range pkgs {
				if len(p.Locations) != 1 || p.Locations[0].Path != "/var/lib/dpkg/status" {
					t.Errorf("%s: locations %+v", p.Name, p.Locations)
					continue
				}
				loc := p.Locations[0]
				if loc.LayerDiffID != l.LayerDiffID(loc.LayerIndex) {
					t.Errorf("%s: layer %d has diffID %q, want %q", p.Name, loc.LayerIndex, loc.LayerDiffID, l.LayerDiffID(loc.LayerIndex))
				}
				got[p.Name] = loc.LayerIndex
			}
			if !maps.Equal(got, c.want) {
				t.Errorf("introducing layers %v, want %v", got, c.want)
			}
		})
	}
}

func TestScanLayeredEmpty(t *testing.T) {
	pkgs, unknowns, err := testEngine(t).ScanLayered(context.Background(), newFakeLayers(nil))
	if err != nil || len(pkgs) != 0 || len(unknowns) != 0 {
		t.Errorf("ScanLayered(no layers) = %d packages, %v, %v", len(pkgs), unknowns, err)
	}
}
