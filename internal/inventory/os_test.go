package inventory_test

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"flag"
	"hash/adler32"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/vigil-sec/vigil/internal/asset"
	"github.com/vigil-sec/vigil/internal/fixture"
	"github.com/vigil-sec/vigil/internal/inventory"
	"github.com/vigil-sec/vigil/internal/scan"
)

// update rewrites golden files under testdata/ instead of comparing.
var update = flag.Bool("update", false, "rewrite golden files in testdata/")

func testEngine(tb testing.TB) *inventory.Engine {
	tb.Helper()
	e, err := inventory.NewEngine(inventory.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	return e
}

func scanRootFS(tb testing.TB, root string) *inventory.Result {
	tb.Helper()
	out, err := scan.RootFS(context.Background(), testEngine(tb), root, scan.Options{})
	if err != nil {
		tb.Fatalf("scan.RootFS(%s): %v", root, err)
	}
	return out.Result
}

// byName indexes pkgs found by extractor x by name, failing on duplicates.
func pkgsByName(tb testing.TB, pkgs []inventory.Package, x string) map[string]inventory.Package {
	tb.Helper()
	out := map[string]inventory.Package{}
	for _, p := range pkgs {
		if p.Extractor != x {
			continue
		}
		if _, dup := out[p.Name]; dup {
			tb.Errorf("package %s found twice", p.Name)
		}
		out[p.Name] = p
	}
	return out
}

func wantNoUnknowns(tb testing.TB, res *inventory.Result) {
	tb.Helper()
	for _, u := range res.Unknowns {
		tb.Errorf("unexpected unknown: %+v", u)
	}
}

func wantOS(tb testing.TB, got *asset.OS, want asset.OS) {
	tb.Helper()
	if got == nil {
		tb.Fatalf("OS not detected, want %+v", want)
	}
	if got.ID != want.ID || got.VersionID != want.VersionID || got.Codename != want.Codename {
		tb.Errorf("OS = %+v, want id %q version %q codename %q", *got, want.ID, want.VersionID, want.Codename)
	}
}

// checkGolden compares v, as indented JSON, with testdata/os/name.golden.json,
// or rewrites that file under -update.
func checkGolden(tb testing.TB, name string, v any) {
	tb.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		tb.Fatal(err)
	}
	got := buf.Bytes()
	path := filepath.Join("testdata", "os", name+".golden.json")
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			tb.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			tb.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		tb.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		tb.Errorf("%s differs from the golden file (go test -update rewrites it); got:\n%s", path, got)
	}
}

// goldenResult is the part of a Result that does not depend on where the
// fixture cache is.
func goldenResult(res *inventory.Result) any {
	return struct {
		OS       *asset.OS           `json:"os"`
		Packages []inventory.Package `json:"packages"`
		Unknowns []inventory.Unknown `json:"unknowns"`
	}{res.Asset.OS, res.Packages, res.Unknowns}
}

// dpkgRow is what dpkg itself says about an installed package.
type dpkgRow struct{ version, source, sourceVersion string }

// dpkgQuery lists the installed packages of the dpkg database in root with
// dpkg-query, the reference implementation of the format.
func dpkgQuery(tb testing.TB, root string) map[string]dpkgRow {
	tb.Helper()
	fixture.NeedTool(tb, "dpkg-query")
	cmd := exec.Command("dpkg-query", "--admindir="+filepath.Join(root, "var/lib/dpkg"), "-W",
		"-f=${Package}\t${Version}\t${source:Package}\t${source:Version}\t${db:Status-Status}\n")
	out, err := cmd.Output()
	if err != nil {
		tb.Fatalf("dpkg-query: %v", err)
	}
	rows := map[string]dpkgRow{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Split(line, "\t")
		if len(f) != 5 {
			tb.Fatalf("dpkg-query line %q", line)
		}
		if f[4] != "installed" {
			continue
		}
		rows[f[0]] = dpkgRow{version: f[1], source: f[2], sourceVersion: f[3]}
	}
	return rows
}

func TestDebianMinbase(t *testing.T) {
	root := fixture.DebianRoot(t, "bullseye")
	want := dpkgQuery(t, root)
	if len(want) < 50 {
		t.Fatalf("dpkg-query lists only %d packages in a minbase root", len(want))
	}
	res := scanRootFS(t, root)
	wantNoUnknowns(t, res)
	wantOS(t, res.Asset.OS, asset.OS{ID: "debian", VersionID: "11", Codename: "bullseye"})

	got := pkgsByName(t, res.Packages, "os/dpkg")
	if len(got) != len(res.Packages) {
		t.Errorf("%d of %d packages are not from os/dpkg", len(res.Packages)-len(got), len(res.Packages))
	}
	for name, w := range want {
		p, ok := got[name]
		if !ok {
			t.Errorf("package %s %s: not found", name, w.version)
			continue
		}
		if p.Version != w.version {
			t.Errorf("%s: version %q, dpkg says %q", name, p.Version, w.version)
		}
		if p.Source == nil || p.Source.Name != w.source || p.Source.Version != w.sourceVersion {
			t.Errorf("%s: source %+v, dpkg says %s %s", name, p.Source, w.source, w.sourceVersion)
		}
		if p.Ecosystem != inventory.Debian {
			t.Errorf("%s: ecosystem %q", name, p.Ecosystem)
		}
		if len(p.Locations) != 1 || p.Locations[0].Path != "/var/lib/dpkg/status" {
			t.Errorf("%s: locations %+v", name, p.Locations)
		}
		checkDebPURL(t, p, w)
	}
	for name := range got {
		if _, ok := want[name]; !ok {
			t.Errorf("package %s found, but dpkg does not list it as installed", name)
		}
	}

	// The cases that make source mapping matter, asserted by name so the
	// test cannot pass vacuously if dpkg-query changed its output.
	for _, c := range []struct{ name, source string }{
		{"libc6", "glibc"},
		{"bsdutils", "util-linux"}, // binary has an epoch, source has none
		{"coreutils", "coreutils"}, // binNMU: 8.32-4+b1 built from 8.32-4
		{"libssl1.1", "openssl"},
		{"bash", "bash"},
	} {
		p, ok := got[c.name]
		if !ok || p.Source == nil || p.Source.Name != c.source {
			t.Errorf("%s: source %+v, want %s", c.name, p.Source, c.source)
		}
	}
	if p := got["coreutils"]; p.Source == nil || p.Source.Version == p.Version {
		t.Errorf("coreutils %s: source version %+v; a binNMU's source version differs", p.Version, p.Source)
	}
	if p := got["bsdutils"]; p.Source == nil || strings.Contains(p.Source.Version, ":") {
		t.Errorf("bsdutils %s: source version %+v should carry no epoch", p.Version, p.Source)
	}
	// The purls exactly as SCALIBR writes them (these versions are in
	// bullseye since its release and in every point release).
	for name, want := range map[string]string{
		"libpcre3":   "pkg:deb/debian/libpcre3@2:8.39-13?arch=amd64&distro=bullseye&source=pcre3",
		"libcap-ng0": "pkg:deb/debian/libcap-ng0@0.7.9-2.2%2Bb1?arch=amd64&distro=bullseye&source=libcap-ng&sourceversion=0.7.9-2.2",
		"libstdc++6": "pkg:deb/debian/libstdc%2B%2B6@10.2.1-6?arch=amd64&distro=bullseye&source=gcc-10",
	} {
		if got := got[name].PURL; got != want {
			t.Errorf("%s: purl %q, want %q", name, got, want)
		}
	}
}

// checkDebPURL checks the purl of Debian package p against what dpkg says:
// SCALIBR writes pkg:deb/<os-release ID>/<name>@<version> with qualifiers
// arch, distro (the codename), and source and sourceversion when they
// differ from the package's own.
func checkDebPURL(tb testing.TB, p inventory.Package, w dpkgRow) {
	tb.Helper()
	rest, ok := strings.CutPrefix(p.PURL, "pkg:deb/debian/")
	path, query, _ := strings.Cut(rest, "?")
	name, version, _ := strings.Cut(path, "@")
	name, err1 := url.PathUnescape(name)
	version, err2 := url.PathUnescape(version)
	q, err3 := url.ParseQuery(query)
	if !ok || err1 != nil || err2 != nil || err3 != nil || name != p.Name || version != w.version {
		tb.Errorf("%s: purl %q does not name pkg:deb/debian/%s@%s", p.Name, p.PURL, p.Name, w.version)
		return
	}
	// source and sourceversion appear when the stanza has a Source field,
	// which it must when they differ from the package's.
	src, srcVer := q.Get("source"), q.Get("sourceversion")
	srcOK := (src == "" && w.source == p.Name) || src == w.source
	srcVerOK := (srcVer == "" && w.sourceVersion == w.version) || srcVer == w.sourceVersion
	if q.Get("arch") == "" || q.Get("distro") != "bullseye" || !srcOK || !srcVerOK {
		tb.Errorf("%s: purl %q qualifiers, want arch, distro=bullseye, source %q, sourceversion %q", p.Name, p.PURL, w.source, w.sourceVersion)
	}
}

func TestDistrolessStatusD(t *testing.T) {
	root := fixture.DistrolessRoot(t, "bullseye")
	want := dpkgQuery(t, fixture.DebianRoot(t, "bullseye"))
	res := scanRootFS(t, root)
	wantNoUnknowns(t, res)
	wantOS(t, res.Asset.OS, asset.OS{ID: "debian", VersionID: "11", Codename: "bullseye"})
	got := pkgsByName(t, res.Packages, "os/dpkg")
	if len(got) != len(fixture.DistrolessPackages) || len(res.Packages) != len(got) {
		t.Errorf("found %d packages (%d from os/dpkg), want %d: %v", len(res.Packages), len(got), len(fixture.DistrolessPackages), got)
	}
	for _, name := range fixture.DistrolessPackages {
		p, ok := got[name]
		if !ok {
			t.Errorf("%s: not found", name)
			continue
		}
		w := want[name]
		if p.Version != w.version || p.Source == nil || p.Source.Name != w.source || p.Source.Version != w.sourceVersion {
			t.Errorf("%s: %s source %+v, dpkg says %s source %s %s", name, p.Version, p.Source, w.version, w.source, w.sourceVersion)
		}
		if len(p.Locations) != 1 || p.Locations[0].Path != "/var/lib/dpkg/status.d/"+name {
			t.Errorf("%s: locations %+v", name, p.Locations)
		}
	}
	if _, err := os.Stat(filepath.Join(root, fixture.DistrolessMD5Sums)); err != nil {
		t.Fatalf("fixture lacks its md5sums file: %v", err)
	}
	for _, p := range res.Packages {
		if strings.HasSuffix(p.Locations[0].Path, ".md5sums") {
			t.Errorf("package %s read from md5sums file", p.Name)
		}
	}
}

func TestRPMDatabases(t *testing.T) {
	cases := []struct {
		db     fixture.RPMDB
		os     asset.OS
		path   string
		golden string
	}{
		{fixture.RPMSQLite, asset.OS{ID: "rocky", VersionID: "9.3"}, "/var/lib/rpm/rpmdb.sqlite", "rpm-sqlite"},
		{fixture.RPMNDB, asset.OS{ID: "opensuse-leap", VersionID: "15.5"}, "/usr/lib/sysimage/rpm/Packages.db", "rpm-ndb"},
		{fixture.RPMBDB, asset.OS{ID: "centos", VersionID: "7"}, "/var/lib/rpm/Packages", "rpm-bdb"},
	}
	for _, c := range cases {
		t.Run(string(c.db), func(t *testing.T) {
			res := scanRootFS(t, fixture.RPMRoot(t, c.db))
			wantNoUnknowns(t, res)
			wantOS(t, res.Asset.OS, c.os)
			got := pkgsByName(t, res.Packages, "os/rpm")
			if len(got) != len(fixture.RPMPackages) || len(res.Packages) != len(got) {
				t.Errorf("found %d packages (%d from os/rpm), want %d", len(res.Packages), len(got), len(fixture.RPMPackages))
			}
			for _, w := range fixture.RPMPackages {
				p, ok := got[w.Name]
				if !ok {
					t.Errorf("%s: not found", w.Name)
					continue
				}
				ver := w.Version + "-" + w.Release
				if w.Epoch > 0 {
					ver = "2:" + ver
				}
				if p.Version != ver {
					t.Errorf("%s: version %q, want %q", w.Name, p.Version, ver)
				}
				srcName, _, _ := strings.Cut(w.SourceRPM, "-"+w.Version)
				if p.Source == nil || p.Source.Name != srcName || p.Source.Version != w.Version+"-"+w.Release {
					t.Errorf("%s: source %+v, want %s %s-%s (from %s)", w.Name, p.Source, srcName, w.Version, w.Release, w.SourceRPM)
				}
				if p.Ecosystem != inventory.RPM {
					t.Errorf("%s: ecosystem %q", w.Name, p.Ecosystem)
				}
				if !slices.Equal(p.Licenses, []string{w.License}) {
					t.Errorf("%s: licenses %q, want %q", w.Name, p.Licenses, w.License)
				}
				if len(p.Locations) != 1 || p.Locations[0].Path != c.path {
					t.Errorf("%s: locations %+v, want %s", w.Name, p.Locations, c.path)
				}
			}
			if p := got["libvigil"]; p.Source == nil || p.Source.Name != "vigiltools" {
				t.Errorf("libvigil: source %+v, want the vigiltools source RPM", p.Source)
			}
			checkGolden(t, c.golden, goldenResult(res))
		})
	}
}

func TestAlpineInstalled(t *testing.T) {
	res := scanRootFS(t, fixture.AlpineRoot(t))
	wantNoUnknowns(t, res)
	wantOS(t, res.Asset.OS, asset.OS{ID: "alpine", VersionID: "3.19.1"})
	got := pkgsByName(t, res.Packages, "os/apk")
	if len(got) != len(fixture.AlpinePackages) || len(res.Packages) != len(got) {
		t.Errorf("found %d packages (%d from os/apk), want %d", len(res.Packages), len(got), len(fixture.AlpinePackages))
	}
	for _, w := range fixture.AlpinePackages {
		p, ok := got[w.Name]
		if !ok {
			t.Errorf("%s: not found", w.Name)
			continue
		}
		if p.Version != w.Version || p.Ecosystem != inventory.Alpine {
			t.Errorf("%s: %s %s, want %s Alpine", w.Name, p.Version, p.Ecosystem, w.Version)
		}
		if p.Source == nil || p.Source.Name != w.Origin || p.Source.Version != w.Version {
			t.Errorf("%s: source %+v, want origin %s %s", w.Name, p.Source, w.Origin, w.Version)
		}
		if !slices.Equal(p.Licenses, []string{w.License}) {
			t.Errorf("%s: licenses %q, want %q", w.Name, p.Licenses, w.License)
		}
	}
	for name, origin := range map[string]string{"libcrypto3": "openssl", "busybox-binsh": "busybox", "scanelf": "pax-utils"} {
		if p := got[name]; p.Source == nil || p.Source.Name != origin {
			t.Errorf("%s: source %+v, want origin %s", name, p.Source, origin)
		}
	}
	checkGolden(t, "apk", goldenResult(res))
}

func TestBusyboxRoot(t *testing.T) {
	root := fixture.BusyboxRoot(t)
	if _, err := os.Stat(filepath.Join(root, "bin/busybox")); err != nil {
		t.Fatalf("fixture: %v", err)
	}
	res := scanRootFS(t, root)
	if len(res.Packages) != 0 {
		t.Errorf("found %d packages in a busybox root: %+v", len(res.Packages), res.Packages)
	}
	wantNoUnknowns(t, res)
	if res.Asset.OS != nil {
		t.Errorf("OS = %+v in a root without os-release", res.Asset.OS)
	}
	if _, err := inventory.DetectOS(os.DirFS(root)); !errors.Is(err, inventory.ErrNoOSRelease) {
		t.Errorf("DetectOS = %v, want ErrNoOSRelease", err)
	}
}

// junk returns n deterministic pseudo-random bytes.
func junk(seed string, n int) []byte {
	var out []byte
	sum := sha256.Sum256([]byte(seed))
	for len(out) < n {
		out = append(out, sum[:]...)
		sum = sha256.Sum256(sum[:])
	}
	return out[:n]
}

func readFixture(tb testing.TB, root, name string) []byte {
	tb.Helper()
	data, err := os.ReadFile(filepath.Join(root, name))
	if err != nil {
		tb.Fatal(err)
	}
	return data
}

// cutInside returns data cut just after the first occurrence of marker
// found after half of data: a file truncated in the middle of a stanza.
func cutInside(tb testing.TB, data []byte, marker string) []byte {
	tb.Helper()
	i := bytes.Index(data[len(data)/2:], []byte(marker))
	if i < 0 {
		tb.Fatalf("%q not in the second half of the file", marker)
	}
	return data[:len(data)/2+i+len(marker)]
}

// TestCorruptDatabases feeds damaged package databases, next to a sound
// one, through a root scan: the scan must return what it can read and an
// Unknown naming the damaged file and the extractor, never fail, panic or
// look complete.
func TestCorruptDatabases(t *testing.T) {
	alpine := fixture.AlpineRoot(t)
	apkDB := readFixture(t, alpine, "lib/apk/db/installed")
	sqliteDB := readFixture(t, fixture.RPMRoot(t, fixture.RPMSQLite), fixture.RPMDBPath(fixture.RPMSQLite))
	ndbDB := readFixture(t, fixture.RPMRoot(t, fixture.RPMNDB), fixture.RPMDBPath(fixture.RPMNDB))
	bdbDB := readFixture(t, fixture.RPMRoot(t, fixture.RPMBDB), fixture.RPMDBPath(fixture.RPMBDB))

	type tc struct {
		name      string
		files     map[string][]byte // the damaged file and a sound one
		bad       string            // the damaged file, unrooted
		extractor string
		// sound is the extractor of the sound database, all of whose
		// packages must be found.
		sound      string
		soundCount int
	}
	withAPK := func(name string, data []byte, x string) tc {
		return tc{files: map[string][]byte{name: data, "lib/apk/db/installed": apkDB}, bad: name, extractor: x,
			sound: "os/apk", soundCount: len(fixture.AlpinePackages)}
	}
	withRPM := func(name string, data []byte, x string) tc {
		return tc{files: map[string][]byte{name: data, fixture.RPMDBPath(fixture.RPMSQLite): sqliteDB}, bad: name, extractor: x,
			sound: "os/rpm", soundCount: len(fixture.RPMPackages)}
	}
	named := func(name string, c tc) tc { c.name = name; return c }
	cases := []tc{
		named("rpmdb.sqlite junk", withAPK("var/lib/rpm/rpmdb.sqlite", junk("sqlite", 64<<10), "os/rpm")),
		named("rpmdb.sqlite magic then junk", withAPK("var/lib/rpm/rpmdb.sqlite", append([]byte("SQLite format 3\x00"), junk("sqlite2", 16<<10)...), "os/rpm")),
		named("rpmdb.sqlite truncated", withAPK("var/lib/rpm/rpmdb.sqlite", sqliteDB[:8192], "os/rpm")),
		named("Packages zero bytes", withAPK("var/lib/rpm/Packages", nil, "os/rpm")),
		named("Packages truncated", withAPK("var/lib/rpm/Packages", bdbDB[:len(bdbDB)/2], "os/rpm")),
		named("Packages.db truncated", withAPK("var/lib/rpm/Packages.db", ndbDB[:len(ndbDB)-100], "os/rpm")),
		named("Packages.db junk after magic", withAPK("var/lib/rpm/Packages.db", append(append([]byte{}, ndbDB[:16]...), junk("ndb", 8192)...), "os/rpm")),
		// Damage go-rpmdb cannot survive: in its reader goroutine a bad
		// offset panics (killing the process), a chain into a non-overflow
		// page spins for five minutes, a looping chain grows without
		// bound, and a blob length is allocated as given.
		named("Packages item offset outside its page", withAPK("var/lib/rpm/Packages", patchBDB(t, bdbDB, func(b bdbItem) { b.putPage16(b.page, 26+2, 0xfff0) }), "os/rpm")),
		named("Packages chain into a hash page", withAPK("var/lib/rpm/Packages", patchBDB(t, bdbDB, func(b bdbItem) { b.putPage32(b.page, b.off+4, uint32(b.page)) }), "os/rpm")),
		named("Packages chain loops", withAPK("var/lib/rpm/Packages", patchBDB(t, bdbDB, func(b bdbItem) { b.putPage32(b.overflow, 16, uint32(b.overflow)) }), "os/rpm")),
		named("Packages overflow length overruns", withAPK("var/lib/rpm/Packages", patchBDB(t, bdbDB, func(b bdbItem) { b.putPage16(b.overflow, 22, 0xfff0) }), "os/rpm")),
		named("Packages.db blob of 4 GiB", withAPK("var/lib/rpm/Packages.db", patchNDB(ndbDB, func(d []byte) {
			blk := binary.LittleEndian.Uint32(d[32+8:])
			binary.LittleEndian.PutUint32(d[int(blk)*16+12:], 0xffffffff)
		}), "os/rpm")),
		named("Packages.db bad slot magic", withAPK("var/lib/rpm/Packages.db", patchNDB(ndbDB, func(d []byte) { copy(d[32+16*100:], "XXXX") }), "os/rpm")),
		named("apk installed binary junk", withRPM("lib/apk/db/installed", junk("apk", 4096), "os/apk")),
		named("apk installed truncated", withRPM("lib/apk/db/installed", cutInside(t, apkDB, "V:1."), "os/apk")),
		named("status.d stanza binary junk", withAPK("var/lib/dpkg/status.d/libc6", junk("statusd", 2048), "os/dpkg")),
	}
	if _, err := exec.LookPath("debootstrap"); err == nil || os.Getenv("VIGIL_REQUIRE_FIXTURES") != "" {
		status := readFixture(t, fixture.DebianRoot(t, "bullseye"), "var/lib/dpkg/status")
		cases = append(cases,
			named("dpkg status truncated in a field name", withAPK("var/lib/dpkg/status", cutInside(t, status, "\nVers"), "os/dpkg")),
			named("dpkg status truncated in a value", withAPK("var/lib/dpkg/status", cutInside(t, status, "\nVersion: 1"), "os/dpkg")),
			named("dpkg status binary junk", withAPK("var/lib/dpkg/status", junk("status", 4096), "os/dpkg")),
		)
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			root := t.TempDir()
			c.files["etc/os-release"] = []byte(fuzzOSRelease)
			for name, data := range c.files {
				p := filepath.Join(root, name)
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, data, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			res := scanRootFS(t, root)
			var found bool
			for _, u := range res.Unknowns {
				t.Logf("unknown: %+v", u)
				if u.Path == "/"+c.bad && u.Extractor == c.extractor && u.Err != "" {
					found = true
				} else {
					t.Errorf("unexpected unknown %+v", u)
				}
			}
			if !found {
				t.Errorf("no unknown for %s from %s", c.bad, c.extractor)
			}
			if got := len(pkgsByName(t, res.Packages, c.sound)); got != c.soundCount {
				t.Errorf("found %d packages in the sound %s database, want %d", got, c.sound, c.soundCount)
			}
			for _, p := range res.Packages {
				if p.Extractor == c.extractor {
					t.Logf("read from the damaged file: %s %s", p.Name, p.Version)
				}
			}
		})
	}
}

// bdbItem is the first off-page item of a little-endian Berkeley DB hash
// file: on page, at offset off, its data starting on page overflow.
type bdbItem struct {
	data                []byte
	pageSize            int
	page, off, overflow int
}

func (b bdbItem) putPage16(page, off int, v uint16) {
	binary.LittleEndian.PutUint16(b.data[page*b.pageSize+off:], v)
}

func (b bdbItem) putPage32(page, off int, v uint32) {
	binary.LittleEndian.PutUint32(b.data[page*b.pageSize+off:], v)
}

// patchBDB returns a copy of the Berkeley DB data changed by patch.
func patchBDB(tb testing.TB, data []byte, patch func(bdbItem)) []byte {
	tb.Helper()
	d := bytes.Clone(data)
	le := binary.LittleEndian
	ps, last := int(le.Uint32(d[20:])), int(le.Uint32(d[32:]))
	for p := 0; p <= last; p++ {
		pg := d[p*ps : (p+1)*ps]
		if pg[25] != 13 && pg[25] != 2 {
			continue
		}
		for i := 1; i < int(le.Uint16(pg[20:])); i += 2 {
			if v := int(le.Uint16(pg[26+2*i:])); pg[v] == 3 {
				patch(bdbItem{data: d, pageSize: ps, page: p, off: v, overflow: int(le.Uint32(pg[v+4:]))})
				return d
			}
		}
	}
	tb.Fatal("no off-page item in the Berkeley DB fixture")
	return nil
}

// patchNDB returns a copy of the ndb data changed by patch.
func patchNDB(data []byte, patch func([]byte)) []byte {
	d := bytes.Clone(data)
	patch(d)
	return d
}

// TestDebianRootTar checks the tar form of the Debian root that image
// tests build layers from: the package database, os-release (a symlink, as
// in Debian) and device nodes are members.
func TestDebianRootTar(t *testing.T) {
	f, err := os.Open(fixture.DebianRootTar(t, "bullseye"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	want := map[string]byte{
		"./var/lib/dpkg/status": tar.TypeReg,
		"./etc/os-release":      tar.TypeSymlink,
		"./usr/lib/os-release":  tar.TypeReg,
		"./dev/null":            tar.TypeChar,
	}
	tr := tar.NewReader(f)
	n := 0
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		n++
		if typ, ok := want[h.Name]; ok {
			if h.Typeflag != typ {
				t.Errorf("%s: type %q, want %q", h.Name, h.Typeflag, typ)
			}
			delete(want, h.Name)
		}
	}
	for name := range want {
		t.Errorf("%s not in the tar (%d members)", name, n)
	}
}

// TestNDBFormat checks the ndb file the fixture writes the way rpm's own
// reader (lib/backend/ndb/rpmpkg.c: rpmpkgReadSlots, rpmpkgReadBlob)
// validates one, since Debian's rpm is built without ndb and cannot: slot
// magics, blobs after the slot pages and inside the file, block counts,
// head and tail magics, lengths and the Adler-32 of head, blob and padding.
func TestNDBFormat(t *testing.T) {
	blobs := fixture.RPMHeaders(t)
	d := fixture.NDBPackages(blobs)
	le := binary.LittleEndian
	if string(d[:4]) != "RpmP" || le.Uint32(d[4:]) != 0 || len(d)%16 != 0 {
		t.Fatalf("bad header %q or length %d", d[:8], len(d))
	}
	pages := int(le.Uint32(d[12:]))
	if next := le.Uint32(d[16:]); next != blobs[len(blobs)-1].Instance+1 {
		t.Errorf("next package index %d", next)
	}
	found := 0
	for off := 32; off < pages*4096; off += 16 {
		s := d[off : off+16]
		if string(s[:4]) != "Slot" {
			t.Fatalf("slot at %d: magic %q", off, s[:4])
		}
		blkoff, blkcnt := int(le.Uint32(s[8:])), int(le.Uint32(s[12:]))
		if blkoff == 0 {
			continue
		}
		idx := le.Uint32(s[4:])
		if blkoff < pages*4096/16 || (blkoff+blkcnt)*16 > len(d) {
			t.Fatalf("package %d: blocks %d+%d outside the blob area", idx, blkoff, blkcnt)
		}
		b := d[blkoff*16 : (blkoff+blkcnt)*16]
		n := int(le.Uint32(b[12:]))
		tail := b[len(b)-12:]
		if string(b[:4]) != "BlbS" || le.Uint32(b[4:]) != idx || blkcnt != (16+n+12+15)/16 ||
			string(tail[8:]) != "BlbE" || int(le.Uint32(tail[4:])) != n || le.Uint32(tail) != adler32.Checksum(b[:len(b)-12]) {
			t.Errorf("package %d: malformed blob", idx)
		}
		if !bytes.Equal(b[16:16+n], blobs[found].Header) {
			t.Errorf("package %d: blob is not rpm's header", idx)
		}
		found++
	}
	if found != len(blobs) {
		t.Errorf("%d blobs, want %d", found, len(blobs))
	}
}
