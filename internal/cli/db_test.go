package cli

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/bundle"
)

var sharedAdvisories = filepath.Join("..", "..", "..", "shared", "data", "advisories")

func runCLI(t *testing.T, now time.Time, args ...string) (string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	env := &Env{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errOut, Version: "test", Now: func() time.Time { return now }}
	err := Run(context.Background(), env, args)
	return out.String() + errOut.String(), err
}

// TestDBUpdateLoopback: `vigil db update` downloads every configured source
// from a feed server (here on loopback, built from the shared data),
// verifies digests and builds a database that scans can use.
func TestDBUpdateLoopback(t *testing.T) {
	if _, err := os.Stat(sharedAdvisories); err != nil {
		t.Skipf("skipping: no shared advisory data: %v", err)
	}
	files := map[string][]byte{}
	var zbuf bytes.Buffer
	zw := zip.NewWriter(&zbuf)
	for _, id := range []string{"GO-2022-1059", "GO-2021-0113", "GO-2020-0015"} {
		data, err := os.ReadFile(filepath.Join(sharedAdvisories, "osv-go", id+".json"))
		if err != nil {
			t.Fatal(err)
		}
		w, _ := zw.Create(id + ".json")
		w.Write(data)
	}
	zw.Close()
	files["/osv/Go/all.zip"] = zbuf.Bytes()
	dsa, err := os.ReadFile(filepath.Join(sharedAdvisories, "debian-tracker", "DSA.list"))
	if err != nil {
		t.Fatal(err)
	}
	files["/debian/DSA/list"] = dsa
	kev, err := os.ReadFile(filepath.Join("..", "advisory", "testdata", "kev", "known_exploited_vulnerabilities.json"))
	if err != nil {
		t.Fatal(err)
	}
	files["/kev.json"] = kev
	var hits int
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		data, ok := files[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		hits++
		http.ServeContent(w, r, r.URL.Path, time.Unix(1700000000, 0), bytes.NewReader(data))
	}))
	defer srv.Close()

	dir := t.TempDir()
	sources := []map[string]string{
		{"Name": "osv-go.zip", "Kind": "osv", "URL": srv.URL + "/osv/Go/all.zip"},
		{"Name": "DSA.list", "Kind": "debian", "URL": srv.URL + "/debian/DSA/list"},
		{"Name": "kev.json", "Kind": "kev", "URL": srv.URL + "/kev.json"},
	}
	sf := filepath.Join(dir, "sources.json")
	data, _ := json.Marshal(sources)
	if err := os.WriteFile(sf, data, 0o644); err != nil {
		t.Fatal(err)
	}
	db := filepath.Join(dir, "db", "vulndb.sqlite")
	now := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	out, err := runCLI(t, now, "db", "update", "--sources", sf, "--cache-dir", filepath.Join(dir, "feed"), "--db", db)
	if err != nil {
		t.Fatalf("db update: %v\n%s", err, out)
	}
	if !strings.Contains(out, "built "+db) || hits != 3 {
		t.Fatalf("hits %d, output:\n%s", hits, out)
	}
	out, err = runCLI(t, now, "db", "info", "--db", db)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"osv-go.zip", "DSA.list", "kev.json", "KEV:        3"} {
		if !strings.Contains(out, want) {
			t.Errorf("db info lacks %q:\n%s", want, out)
		}
	}
	// A second update finds every file unchanged and rebuilds.
	out, err = runCLI(t, now, "db", "update", "--sources", sf, "--cache-dir", filepath.Join(dir, "feed"), "--db", db)
	if err != nil || strings.Count(out, "unchanged") != 3 {
		t.Errorf("second update: %v\n%s", err, out)
	}
	// A database older than --max-age gets a warning.
	out, _ = runCLI(t, now.Add(30*24*time.Hour), "db", "info", "--db", db)
	if !strings.Contains(out, "warning: the database is older than") {
		t.Errorf("no staleness warning:\n%s", out)
	}
}

// TestDBExportImport: a signed bundle installs elsewhere; a tampered bundle,
// an untrusted key and an older bundle are refused and leave the installed
// database as it was.
func TestDBExportImport(t *testing.T) {
	dir := t.TempDir()
	list := filepath.Join(dir, "DSA.list")
	if err := os.WriteFile(list, []byte("[20 Mar 2023] DSA-5376-1 apache2 - security update\n\t{CVE-2023-25690}\n\t[bullseye] - apache2 2.4.56-1~deb11u1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	src := filepath.Join(dir, "src.db")
	t1 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	if out, err := runCLI(t, t1, "db", "build", "--source", "debian="+list, "--db", src); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	keys := filepath.Join(dir, "keys")
	if out, err := runCLI(t, t1, "db", "keygen", keys); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	other := filepath.Join(dir, "other")
	if out, err := runCLI(t, t1, "db", "keygen", other); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	b := filepath.Join(dir, "db.bundle")
	if out, err := runCLI(t, t1, "db", "export", "--db", src, "--key", filepath.Join(keys, bundle.PrivateKeyFile), "-o", b); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	dst := filepath.Join(dir, "site", "vulndb.sqlite")
	pub := filepath.Join(keys, bundle.PublicKeyFile)
	if out, err := runCLI(t, t1, "db", "import", "--db", dst, "--trust", pub, b); err != nil {
		t.Fatalf("import: %v\n%s", err, out)
	}
	installed, _ := os.ReadFile(dst)
	original, _ := os.ReadFile(src)
	if !bytes.Equal(installed, original) {
		t.Fatal("imported database differs from the exported one")
	}

	// Untrusted signer.
	if _, err := runCLI(t, t1, "db", "import", "--db", dst, "--trust", filepath.Join(other, bundle.PublicKeyFile), b); !errors.Is(err, bundle.ErrUntrusted) {
		t.Errorf("untrusted key: err %v, want ErrUntrusted", err)
	}
	// Tampered: flip a byte near the end of the (gzip) bundle.
	raw, _ := os.ReadFile(b)
	bad := append([]byte(nil), raw...)
	bad[len(bad)-40] ^= 0xff
	tampered := filepath.Join(dir, "tampered.bundle")
	os.WriteFile(tampered, bad, 0o644)
	if _, err := runCLI(t, t1, "db", "import", "--db", dst, "--trust", pub, tampered); err == nil {
		t.Error("tampered bundle imported")
	}
	// Truncated.
	os.WriteFile(tampered, raw[:len(raw)/2], 0o644)
	if _, err := runCLI(t, t1, "db", "import", "--db", dst, "--trust", pub, tampered); err == nil {
		t.Error("truncated bundle imported")
	}
	// Older than the installed database: rebuild the site's DB later, then
	// try the earlier bundle again.
	t2 := t1.Add(24 * time.Hour)
	if out, err := runCLI(t, t2, "db", "build", "--source", "debian="+list, "--db", dst); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if _, err := runCLI(t, t2, "db", "import", "--db", dst, "--trust", pub, b); !errors.Is(err, bundle.ErrOlder) {
		t.Errorf("older bundle: err %v, want ErrOlder", err)
	}
	after, _ := os.ReadFile(dst)
	if bytes.Equal(after, original) {
		t.Error("a refused import replaced the installed database")
	}
}
