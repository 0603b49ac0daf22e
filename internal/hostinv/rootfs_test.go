package hostinv

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestRootFSResolve(t *testing.T) {
	root := t.TempDir()
	outside := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(outside, []byte("outside"), 0o644); err != nil {
		t.Fatal(err)
	}
	tree{
		files: map[string]string{
			"usr/lib/os-release": "ID=test\n",
			"etc/passwd":         "root:x:0:0::/root:/bin/sh\n",
			"big":                strings.Repeat("x", 100),
		},
		links: map[string]string{
			"etc/os-release":  "../usr/lib/os-release",
			"etc/abs":         "/usr/lib/os-release",
			"lib":             "usr/lib",
			"etc/up":          "../../../../../../../etc/passwd",
			"etc/outside":     outside,
			"etc/rel-outside": "../../../../../../../../.." + outside,
			"etc/loop1":       "loop2",
			"etc/loop2":       "loop1",
			"etc/dirlink":     "/usr/lib",
		},
	}.build(t, root)
	rfs, err := openRootFS(root, 64)
	if err != nil {
		t.Fatal(err)
	}
	defer rfs.close()

	read := map[string]string{
		"etc/os-release":                "ID=test\n",
		"etc/abs":                       "ID=test\n",
		"lib/os-release":                "ID=test\n",
		"/etc/up":                       "root:x:0:0::/root:/bin/sh\n",
		"etc/dirlink/../lib/os-release": "ID=test\n", // ".." applies after the link: /usr/lib/.. is /usr
	}
	for name, want := range read {
		got, err := rfs.readFile(name)
		if err != nil || string(got) != want {
			t.Errorf("readFile(%q) = %q, %v; want %q", name, got, err, want)
		}
	}
	for _, name := range []string{"etc/outside", "etc/rel-outside"} {
		if got, err := rfs.readFile(name); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("readFile(%q) = %q, %v; want not found inside the root", name, got, err)
		}
	}
	if _, err := rfs.readFile("etc/loop1"); !errors.Is(err, errSymlinkLoop) {
		t.Errorf("loop: %v", err)
	}
	if _, err := rfs.readFile("big"); !errors.Is(err, ErrFileTooLarge) {
		t.Errorf("big file: %v", err)
	}
	if _, err := rfs.readFile("usr/lib"); err == nil {
		t.Error("reading a directory succeeded")
	}
	if target, err := rfs.readlink("lib/../etc/abs"); err != nil || target != "/usr/lib/os-release" {
		t.Errorf("readlink = %q, %v", target, err)
	}
}

func TestRootFSReadDir(t *testing.T) {
	root := t.TempDir()
	tree{files: map[string]string{"d/c": "", "d/a": "", "d/b": "", "d/sub/x": ""}, links: map[string]string{"d/l": "a", "dl": "/d"}}.build(t, root)
	rfs, err := openRootFS(root, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	defer rfs.close()
	entries, truncated, err := rfs.readDir("dl", 3)
	if err != nil {
		t.Fatal(err)
	}
	want := []dirEntry{{"a", 0}, {"b", 0}, {"c", 0}}
	if !reflect.DeepEqual(entries, want) || !truncated {
		t.Errorf("got %v truncated %v; want %v truncated", entries, truncated, want)
	}
	entries, truncated, _ = rfs.readDir("d", 10)
	if len(entries) != 5 || truncated || entries[3].mode != fs.ModeSymlink || !entries[4].mode.IsDir() {
		t.Errorf("got %v truncated %v", entries, truncated)
	}
}
