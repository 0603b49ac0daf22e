package vulndb

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestBuildFromShared builds a database from the shared folder as `vigil db
// build --from` does, and checks that every source was found and queries
// answer.
func TestBuildFromShared(t *testing.T) {
	if _, err := os.Stat(sharedData); err != nil {
		t.Skipf("skipping: no shared advisory data: %v", err)
	}
	inputs, err := DetectInputs(sharedData)
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]int{}
	for _, in := range inputs {
		kinds[in.Kind]++
	}
	if kinds[KindOSV] != 3 || kinds[KindDebian] != 1 || kinds[KindAlpine] != 1 {
		t.Fatalf("detected %v from %+v, want 3 osv, 1 debian, 1 alpine", kinds, inputs)
	}
	epss := filepath.Join("..", "advisory", "testdata", "epss", "epss_scores-2023-04-01.csv")
	kev := filepath.Join("..", "advisory", "testdata", "kev", "known_exploited_vulnerabilities.json")
	inputs = append(inputs, Input{Kind: KindEPSS, Path: epss}, Input{Kind: KindKEV, Path: kev})

	path := filepath.Join(t.TempDir(), "v.db")
	rep, err := BuildFrom(context.Background(), path, inputs, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	if rep.Rejected != 0 {
		t.Errorf("%d records rejected: %v", rep.Rejected, rep.Problems)
	}
	m := rep.Meta
	for _, eco := range []string{"Go", "PyPI", "crates.io", "Debian", "Alpine"} {
		if m.ByEcosystem[eco] == 0 {
			t.Errorf("no %s advisories: %v", eco, m.ByEcosystem)
		}
	}
	if m.EPSS == 0 || m.KEV == 0 {
		t.Errorf("EPSS %d, KEV %d: want both imported", m.EPSS, m.KEV)
	}
	for _, s := range m.Sources {
		if s.Records == 0 {
			t.Errorf("source %s read no records", s.Name)
		}
		if s.Kind == KindKEV && s.Digest == "" {
			t.Errorf("file source %s has no digest", s.Name)
		}
	}

	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	advs, err := db.Affected(context.Background(), "Debian:11", "apache2")
	if err != nil || len(advs) == 0 {
		t.Errorf("Debian:11 apache2: %d advisories, err %v", len(advs), err)
	}
	advs, err = db.Affected(context.Background(), "Alpine:v3.10", "openssl")
	if err != nil || len(advs) == 0 {
		t.Errorf("Alpine:v3.10 openssl: %d advisories, err %v", len(advs), err)
	}
	if _, ok, err := db.KEV(context.Background(), "CVE-2021-44228"); !ok || err != nil {
		t.Errorf("KEV CVE-2021-44228: ok %v err %v", ok, err)
	}
}

// TestBuildFromFailureKeepsOld: an input that cannot be read fails the build
// and leaves the installed database byte-identical.
func TestBuildFromFailureKeepsOld(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "v.db")
	good := filepath.Join(dir, "DSA.list")
	if err := os.WriteFile(good, []byte("[20 Mar 2023] DSA-5376-1 apache2 - security update\n\t{CVE-2023-25690}\n\t[bullseye] - apache2 2.4.56-1~deb11u1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := BuildFrom(context.Background(), path, []Input{{Kind: KindDebian, Path: good}}, time.Now()); err != nil {
		t.Fatal(err)
	}
	before, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	_, err = BuildFrom(context.Background(), path, []Input{
		{Kind: KindDebian, Path: good},
		{Kind: KindKEV, Path: filepath.Join(dir, "missing.json")},
	}, time.Now())
	if err == nil {
		t.Fatal("build with a missing input succeeded")
	}
	after, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(before, after) {
		t.Error("a failed build changed the installed database")
	}
	left, _ := filepath.Glob(filepath.Join(dir, "*tmp*"))
	if len(left) != 0 {
		t.Errorf("a failed build left %v", left)
	}
}

// TestBuildFromPartialRecord: a Debian advisory with one release line the
// parser cannot place keeps its good lines.
func TestBuildFromPartialRecord(t *testing.T) {
	dir := t.TempDir()
	list := filepath.Join(dir, "DSA.list")
	data := "[20 Mar 2023] DSA-5376-1 apache2 - security update\n\t{CVE-2023-25690}\n\t[bullseye] - apache2 2.4.56-1~deb11u1\n\t[nosuchrelease] - apache2 2.4.56-1\n"
	if err := os.WriteFile(list, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "v.db")
	rep, err := BuildFrom(context.Background(), path, []Input{{Kind: KindDebian, Path: list}}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if rep.Rejected != 1 || rep.Meta.Advisories != 1 {
		t.Fatalf("rejected %d, advisories %d: want the bad line reported and the advisory kept", rep.Rejected, rep.Meta.Advisories)
	}
}

func TestDetectInputsEmpty(t *testing.T) {
	if _, err := DetectInputs(t.TempDir()); err == nil {
		t.Error("an empty directory detected as sources")
	}
}
