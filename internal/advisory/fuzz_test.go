package advisory

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Fuzz tests for every parser of untrusted bytes. Seeds come from testdata;
// the properties checked are the ones callers rely on: no panic, bounded
// work, and records that are well-formed whenever no error is returned.

func seedFiles(f *testing.F, pattern string) [][]byte {
	f.Helper()
	files, err := filepath.Glob(pattern)
	if err != nil || len(files) == 0 {
		f.Fatalf("no seeds for %s: %v", pattern, err)
	}
	var out [][]byte
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

func checkAdvisory(t *testing.T, a Advisory) {
	t.Helper()
	if a.ID == "" || a.Source == "" || a.Affected == nil {
		t.Fatalf("incomplete advisory without error: %+v", a)
	}
	for _, af := range a.Affected {
		for _, r := range af.Ranges {
			for _, e := range r.Events {
				if countSet(e) != 1 {
					t.Fatalf("%s: event %+v", a.ID, e)
				}
			}
		}
	}
}

// osvName picks how ParseOSV is told the syntax: by suffix or by sniffing.
func osvName(kind uint8) string {
	return [...]string{"r.json", "r.yaml", "r"}[kind%3]
}

func FuzzParseOSV(f *testing.F) {
	for _, b := range seedFiles(f, "testdata/osv/*") {
		f.Add(b, uint8(0))
		f.Add(b, uint8(1))
		f.Add(b, uint8(2))
	}
	f.Add([]byte(billionLaughs()), uint8(1))
	f.Add([]byte("id: X\na: &a [*a]\n"), uint8(1))
	f.Add([]byte(`{"id":"X","database_specific":`+strings.Repeat(`[`, 100)), uint8(0))
	f.Fuzz(func(t *testing.T, data []byte, kind uint8) {
		a, err := ParseOSV(bytes.NewReader(data), osvName(kind))
		if err != nil {
			return
		}
		checkAdvisory(t, a)
		if a.Source != "osv" {
			t.Fatalf("source %q", a.Source)
		}
	})
}

func FuzzReadOSVZip(f *testing.F) {
	var entries []zipEntry
	for i, b := range seedFiles(f, "testdata/osv/*") {
		if i < 4 {
			entries = append(entries, zipEntry{[]string{"a.json", "b.yaml", "c.json", "d"}[i], b})
		}
	}
	f.Add(buildZip(f, entries))
	f.Add(buildZip(f, []zipEntry{{"x.json", []byte(`{"id": "X-1"}`)}, {"dir/", nil}}))
	f.Add([]byte("PK\x05\x06" + strings.Repeat("\x00", 18)))
	f.Fuzz(func(t *testing.T, data []byte) {
		calls := 0
		err := ReadOSVZip(bytes.NewReader(data), int64(len(data)), func(a Advisory, err error) error {
			calls++
			if err == nil {
				checkAdvisory(t, a)
			}
			return nil
		})
		if err != nil && calls > 0 && !strings.Contains(err.Error(), "decompressed") {
			t.Fatalf("archive-level error %v after %d records", err, calls)
		}
	})
}

func FuzzParseDebianList(f *testing.F) {
	for _, b := range seedFiles(f, "testdata/debian/*.list") {
		f.Add(b)
	}
	f.Add([]byte("[01 Jan 2030] DSA-1-1 x - y\n\t[sid] - x 1\n\t[bookworm] - x <unfixed>\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		err := ParseDebianList(bytes.NewReader(data), func(a Advisory, err error) error {
			if err == nil {
				checkAdvisory(t, a)
			}
			for _, af := range a.Affected {
				if !strings.HasPrefix(af.Ecosystem, "Debian:") || af.Package == "" ||
					len(af.Ranges) != 1 || af.Ranges[0].Events[0].Introduced != "0" {
					t.Fatalf("%s: affected %+v", a.ID, af)
				}
			}
			return nil
		})
		_ = err // only read errors and over-long lines end a parse
	})
}

func FuzzParseAlpineSecDB(f *testing.F) {
	for _, file := range []string{"v3.9-main.yaml", "v3.8-main.yaml", "edge.yaml", "v3.10-community.json"} {
		b, err := os.ReadFile(filepath.Join("testdata", "alpine", file))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, strings.HasSuffix(file, ".json"))
	}
	f.Fuzz(func(t *testing.T, data []byte, isJSON bool) {
		name := "main.yaml"
		if isJSON {
			name = "main.json"
		}
		_ = ParseAlpineSecDB(bytes.NewReader(data), name, func(a Advisory, err error) error {
			if err != nil {
				return nil
			}
			checkAdvisory(t, a)
			if len(a.Affected) != 1 || !strings.HasPrefix(a.Affected[0].Ecosystem, "Alpine:") {
				t.Fatalf("%s: affected %+v", a.ID, a.Affected)
			}
			for _, r := range a.Affected[0].Ranges {
				if len(r.Events) != 2 || r.Events[1].Fixed == "0" {
					t.Fatalf("%s: range %+v", a.ID, r)
				}
			}
			return nil
		})
	})
}

func FuzzParseEPSS(f *testing.F) {
	for _, b := range seedFiles(f, "testdata/epss/*.csv") {
		f.Add(b)
		f.Add(gzipped(f, b))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		_ = ParseEPSS(bytes.NewReader(data), func(e EPSS) error {
			if !isCVE(e.CVE) || e.Score < 0 || e.Score > 1 || e.Percentile < 0 || e.Percentile > 1 {
				t.Fatalf("bad row accepted: %+v", e)
			}
			return nil
		})
	})
}

func FuzzParseKEV(f *testing.F) {
	for _, b := range seedFiles(f, "testdata/kev/*") {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		_ = ParseKEV(bytes.NewReader(data), func(k KEV) error {
			if !isCVE(k.CVE) {
				t.Fatalf("bad entry accepted: %+v", k)
			}
			return nil
		})
	})
}
