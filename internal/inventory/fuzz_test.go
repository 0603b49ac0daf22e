package inventory_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/vigil-sec/vigil/internal/fixture"
	"github.com/vigil-sec/vigil/internal/inventory"
)

// Every OS package database format is fuzzed through the Engine, as the
// file it is found in, in an in-memory filesystem with an os-release. The
// seed corpora are small real databases (testdata/fuzz/<Fuzz>/, written by
// TestFuzzSeeds -update from the fixtures) plus hand-written edge cases.

const fuzzOSRelease = "ID=debian\nVERSION_ID=\"11\"\nVERSION_CODENAME=bullseye\n"

// fuzzScan scans data as the file name with the Engine and checks the
// invariants that hold for any input: no panic or hang, no error, every
// package and unknown belongs to name and the extractor x, errors are
// bounded, and nothing read from a text database that has content is an
// Unknown, not an empty result.
func fuzzScan(t *testing.T, e *inventory.Engine, name, x string, data []byte) {
	fsys := fstest.MapFS{
		"etc/os-release": {Data: []byte(fuzzOSRelease), Mode: 0o644},
		name:             {Data: data, Mode: 0o644},
	}
	pkgs, unknowns, err := e.ScanFS(context.Background(), fsys, inventory.FSOptions{})
	if err != nil {
		t.Fatalf("ScanFS: %v", err)
	}
	for _, u := range unknowns {
		if u.Path != "/"+name || u.Extractor != x || u.Err == "" {
			t.Errorf("unknown %+v, want one for /%s from %s with an error", u, name, x)
		}
		if len(u.Err) > 4096 {
			t.Errorf("unknown error of %d bytes", len(u.Err))
		}
	}
	for _, p := range pkgs {
		if p.Extractor != x || p.Name == "" || len(p.Locations) == 0 || p.Locations[0].Path != "/"+name {
			t.Errorf("package %+v, want one from /%s by %s", p, name, x)
		}
	}
	// A text database that is not blank yields packages or an Unknown,
	// unless it is a dpkg status whose stanzas may all be not-installed
	// ones. (An rpm database can be valid and empty.)
	text := x == "os/dpkg" || x == "os/apk"
	blank := len(bytes.TrimSpace(data)) == 0
	notInstalled := x == "os/dpkg" && (bytes.HasPrefix(data, []byte("Status:")) || bytes.Contains(data, []byte("\nStatus:")))
	if text && !blank && !notInstalled && len(pkgs) == 0 && len(unknowns) == 0 {
		t.Errorf("no packages and no unknown from %d bytes of %s", len(data), name)
	}
}

func FuzzExtractDpkgStatus(f *testing.F) {
	f.Add([]byte(stanza("libc6", "2.31-13+deb11u11")))
	f.Add([]byte("Package: bsdutils\nStatus: install ok installed\nVersion: 1:2.36.1-8+deb11u2\nSource: util-linux (2.36.1-8+deb11u2)\nDescription: basic utilities\n continued line\n .\n\n"))
	f.Add([]byte("Package: gone\nStatus: deinstall ok config-files\nVersion: 1.0\n\n" + stanza("kept", "2.0")))
	f.Add([]byte("Package: x\nStatus: install ok\nVersion: 1\n\n"))
	f.Add([]byte("Package: x\nStatus: install ok installed\nVersion: 1\nSource: y (2\n\n"))
	e := testEngine(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzScan(t, e, "var/lib/dpkg/status", "os/dpkg", data)
	})
}

func FuzzExtractDpkgStatusD(f *testing.F) {
	f.Add([]byte("Package: base-files\nVersion: 11.1+deb11u11\nArchitecture: amd64\nMaintainer: x\nDescription: y\n"))
	f.Add([]byte("Package: libssl1.1\nSource: openssl\nVersion: 1.1.1w-0+deb11u1\nArchitecture: amd64\n"))
	e := testEngine(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzScan(t, e, "var/lib/dpkg/status.d/libc6", "os/dpkg", data)
	})
}

func FuzzExtractAPKInstalled(f *testing.F) {
	f.Add([]byte(fixture.APKInstalled(fixture.AlpinePackages[:3])))
	f.Add([]byte("P:a\nV:1-r0\n\n\n\nP:b\nV:2-r0\no:c\n"))
	f.Add([]byte("P:nover\n\n"))
	e := testEngine(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzScan(t, e, "lib/apk/db/installed", "os/apk", data)
	})
}

// The rpm formats share the extractor, which tells them apart by content;
// each fuzz target starts from its own format.

func FuzzExtractRPMSQLite(f *testing.F) {
	f.Add([]byte("SQLite format 3\x00"))
	fuzzRPM(f, "var/lib/rpm/rpmdb.sqlite")
}

func FuzzExtractRPMNDB(f *testing.F) {
	f.Add([]byte("RpmP\x00\x00\x00\x00\x01\x00\x00\x00\x01\x00\x00\x00"))
	fuzzRPM(f, "usr/lib/sysimage/rpm/Packages.db")
}

func FuzzExtractRPMBDB(f *testing.F) {
	f.Add(make([]byte, 512))
	fuzzRPM(f, "var/lib/rpm/Packages")
}

func fuzzRPM(f *testing.F, name string) {
	f.Add([]byte{})
	e := testEngine(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzScan(t, e, name, "os/rpm", data)
	})
}

func FuzzParseOSRelease(f *testing.F) {
	for _, s := range []string{
		fuzzOSRelease,
		fixture.AlpineOSRelease,
		"NAME='single quoted'\nID=\"a\\\"b\"\n# comment\n\nBROKEN\n=novalue\nID_LIKE=\"rhel fedora\"",
		"ID=\"unterminated\n",
		"ID=" + strings.Repeat("x", 70000),
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		kv, err := inventory.ParseOSRelease(bytes.NewReader(data))
		if err != nil {
			return
		}
		for k := range kv {
			if k == "" || strings.ContainsAny(k, "=\n") {
				t.Errorf("key %q", k)
			}
		}
		fsys := fstest.MapFS{"etc/os-release": {Data: data, Mode: 0o644}}
		osr, err := inventory.DetectOS(fsys)
		if err == nil && (osr == nil || osr.ID != kv["ID"]) {
			t.Errorf("DetectOS = %+v, ParseOSRelease ID %q", osr, kv["ID"])
		}
	})
}

// TestFuzzSeeds writes, under -update, the seed corpora of the fuzz tests
// from the real fixtures: small enough to keep in the repository (one
// package per rpm database, pages of 512 bytes where the format allows),
// made by the same tools as the fixtures. Without -update it checks that
// they are there.
func TestFuzzSeeds(t *testing.T) {
	dir := filepath.Join("testdata", "fuzz")
	if !*update {
		for _, fz := range []string{"FuzzExtractDpkgStatus", "FuzzExtractDpkgStatusD", "FuzzExtractRPMSQLite", "FuzzExtractRPMNDB", "FuzzExtractRPMBDB"} {
			if m, _ := filepath.Glob(filepath.Join(dir, fz, "real-*")); len(m) == 0 {
				t.Errorf("no real seed for %s in %s (go test -run TestFuzzSeeds -update writes them)", fz, dir)
			}
		}
		return
	}
	seeds := map[string][]byte{}

	// dpkg: three real stanzas, and one distroless status.d file.
	deb := fixture.DebianRoot(t, "bullseye")
	status := readFixture(t, deb, "var/lib/dpkg/status")
	var keep []string
	for _, st := range strings.Split(string(status), "\n\n") {
		for _, name := range []string{"bsdutils", "coreutils", "libc6"} {
			if strings.HasPrefix(st, "Package: "+name+"\n") {
				keep = append(keep, st+"\n\n")
			}
		}
	}
	seeds["FuzzExtractDpkgStatus/real-bullseye"] = []byte(strings.Join(keep, ""))
	seeds["FuzzExtractDpkgStatusD/real-libssl"] = readFixture(t, fixture.DistrolessRoot(t, "bullseye"), "var/lib/dpkg/status.d/libssl1.1")

	// rpm: the header rpm stored for tinyhello (the smallest), in each
	// database format.
	fixture.NeedTool(t, "sqlite3")
	hdr := fixture.RPMHeaders(t)[1]
	work := t.TempDir()
	sqlite := filepath.Join(work, "rpmdb.sqlite")
	if err := fixture.Run(work, nil, "sqlite3", sqlite,
		"PRAGMA page_size=512; CREATE TABLE Packages (hnum INTEGER PRIMARY KEY AUTOINCREMENT, blob BLOB NOT NULL); "+
			fmt.Sprintf("INSERT INTO Packages VALUES (%d, X'%s');", hdr.Instance, hex.EncodeToString(hdr.Header))); err != nil {
		t.Fatal(err)
	}
	seeds["FuzzExtractRPMSQLite/real-tinyhello"] = readFixture(t, work, "rpmdb.sqlite")
	seeds["FuzzExtractRPMNDB/real-tinyhello"] = fixture.NDBPackages([]fixture.RPMBlob{hdr})
	dump := filepath.Join(work, "dump")
	if err := os.WriteFile(dump, fixture.BDBDump([]fixture.RPMBlob{hdr}, 512), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := fixture.Run(work, nil, fixture.DBLoad(), "-f", dump, filepath.Join(work, "Packages")); err != nil {
		t.Fatal(err)
	}
	seeds["FuzzExtractRPMBDB/real-tinyhello"] = readFixture(t, work, "Packages")

	for name, data := range seeds {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		corpus := "go test fuzz v1\n[]byte(" + strconv.Quote(string(data)) + ")\n"
		if err := os.WriteFile(p, []byte(corpus), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %s (%d bytes of seed)", p, len(data))
	}
}
