package advisory

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

type zipEntry struct {
	name string
	data []byte
}

// buildZip writes entries as an all.zip would hold them (flat, deflated).
func buildZip(t testing.TB, entries []zipEntry) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, e := range entries {
		w, err := zw.Create(e.name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(e.data); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// dirEntries reads the files of dir matching pattern as zip entries.
func dirEntries(t testing.TB, dir, pattern string) []zipEntry {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, pattern))
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(files)
	var out []zipEntry
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, zipEntry{filepath.Base(f), b})
	}
	return out
}

func readZip(t *testing.T, data []byte, lim zipLimits) (ids []string, errs []error, err error) {
	t.Helper()
	err = readOSVZip(bytes.NewReader(data), int64(len(data)), lim, func(a Advisory, err error) error {
		if err != nil {
			errs = append(errs, err)
			return nil
		}
		ids = append(ids, a.ID)
		return nil
	})
	return ids, errs, err
}

func TestReadOSVZip(t *testing.T) {
	entries := dirEntries(t, "testdata/osv", "*")
	entries = append(entries,
		zipEntry{"README.txt", []byte("not a record")},
		zipEntry{"sub/", nil},
		zipEntry{"broken.json", []byte(`{"id": `)},
	)
	data := buildZip(t, entries)
	ids, errs, err := readZip(t, data, defaultZipLimits)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"GHSA-vigil-test-0001", "GO-2020-0001", "GO-2020-0040", "GO-2022-0220", "GO-2022-0617",
		"PYSEC-2021-335", "PYSEC-2022-42969", "PYSEC-2023-97", "RUSTSEC-2016-0001", "RUSTSEC-2026-0024",
	}
	if !cmp.Equal(ids, want) {
		t.Errorf("ids %q, want %q", ids, want)
	}
	if len(errs) != 1 || !errors.Is(errs[0], ErrFormat) || !strings.Contains(errs[0].Error(), "broken.json") {
		t.Errorf("errors %v, want one naming broken.json", errs)
	}

	// The public entry point, and the callback's error.
	stop := errors.New("stop")
	n := 0
	err = ReadOSVZip(bytes.NewReader(data), int64(len(data)), func(Advisory, error) error {
		n++
		if n == 3 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || n != 3 {
		t.Errorf("err = %v after %d records, want stop after 3", err, n)
	}
}

// TestReadOSVZipShared builds an all.zip the size of a real ecosystem
// export from the shared Go and RustSec records.
func TestReadOSVZipShared(t *testing.T) {
	var entries []zipEntry
	entries = append(entries, dirEntries(t, shared(t, "osv-go"), "*.json")...)
	entries = append(entries, dirEntries(t, shared(t, "osv-crates.io"), "*.json")...)
	data := buildZip(t, entries)
	start := time.Now()
	ids, errs, err := readZip(t, data, defaultZipLimits)
	if err != nil {
		t.Fatal(err)
	}
	if len(errs) != 0 {
		t.Errorf("%d errors, first %v", len(errs), errs[0])
	}
	if len(ids) != len(entries) {
		t.Errorf("%d records from %d members", len(ids), len(entries))
	}
	for i, id := range ids {
		if want := strings.TrimSuffix(entries[i].name, ".json"); id != want {
			t.Fatalf("record %d is %s, want %s", i, id, want)
		}
	}
	t.Logf("all.zip of %d members (%d bytes) read in %v", len(entries), len(data), time.Since(start).Round(time.Millisecond))
}

func TestReadOSVZipBounds(t *testing.T) {
	rec := func(id string) zipEntry { return zipEntry{id + ".json", []byte(`{"id": "` + id + `"}`)} }

	t.Run("too many members", func(t *testing.T) {
		var entries []zipEntry
		for i := range 11 {
			entries = append(entries, rec(fmt.Sprintf("X-%d", i)))
		}
		data := buildZip(t, entries)
		if n, err := zipDirectoryCount(bytes.NewReader(data), int64(len(data)), 100); n != 11 || err != nil {
			t.Errorf("zipDirectoryCount = %d, %v; want 11", n, err)
		}
		lim := defaultZipLimits
		lim.members = 10
		if _, _, err := readZip(t, data, lim); !errors.Is(err, ErrTooLarge) {
			t.Errorf("err = %v, want ErrTooLarge", err)
		}
		// A directory end that understates the count changes nothing:
		// the headers themselves are counted.
		eocd := bytes.LastIndex(data, []byte("PK\x05\x06"))
		binary.LittleEndian.PutUint16(data[eocd+8:], 1)
		binary.LittleEndian.PutUint16(data[eocd+10:], 1)
		if _, _, err := readZip(t, data, lim); !errors.Is(err, ErrTooLarge) {
			t.Errorf("understated count: err = %v, want ErrTooLarge", err)
		}
		lim.members = 11
		if ids, _, err := readZip(t, buildZip(t, entries), lim); err != nil || len(ids) != 11 {
			t.Errorf("at the limit: %d records, err %v", len(ids), err)
		}
	})

	t.Run("100001 members", func(t *testing.T) {
		if testing.Short() {
			t.Skip("skipping: builds a 10 MB archive")
		}
		var buf bytes.Buffer
		zw := zip.NewWriter(&buf)
		for i := range maxZipMembers + 1 {
			if _, err := zw.CreateHeader(&zip.FileHeader{Name: fmt.Sprintf("%x", i), Method: zip.Store}); err != nil {
				t.Fatal(err)
			}
		}
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
		// The count comes from the headers, before zip.NewReader.
		if n, _ := zipDirectoryCount(bytes.NewReader(buf.Bytes()), int64(buf.Len()), maxZipMembers); n <= maxZipMembers {
			t.Errorf("zipDirectoryCount = %d", n)
		}
		start := time.Now()
		err := ReadOSVZip(bytes.NewReader(buf.Bytes()), int64(buf.Len()), func(Advisory, error) error { return nil })
		if !errors.Is(err, ErrTooLarge) {
			t.Errorf("err = %v, want ErrTooLarge", err)
		}
		t.Logf("refused in %v", time.Since(start).Round(time.Millisecond))
	})

	t.Run("prepended data", func(t *testing.T) {
		// Self-extracting archives put a program before the zip; offsets
		// in the directory are then relative to the zip's start.
		data := append([]byte(strings.Repeat("#!/bin/sh\n", 10)), buildZip(t, []zipEntry{rec("P-1"), rec("P-2")})...)
		if n, _ := zipDirectoryCount(bytes.NewReader(data), int64(len(data)), 100); n != 2 {
			t.Errorf("zipDirectoryCount = %d, want 2", n)
		}
		ids, errs, err := readZip(t, data, defaultZipLimits)
		if err != nil || errs != nil || !cmp.Equal(ids, []string{"P-1", "P-2"}) {
			t.Errorf("ids %q, errors %v, err %v", ids, errs, err)
		}
	})

	t.Run("member declares too much", func(t *testing.T) {
		var buf bytes.Buffer
		zw := zip.NewWriter(&buf)
		body := []byte(`{"id": "BIG-1"}`)
		w, err := zw.CreateRaw(&zip.FileHeader{
			Name:               "BIG-1.json",
			Method:             zip.Store,
			CompressedSize64:   uint64(len(body)),
			UncompressedSize64: maxZipMember + 1,
		})
		if err != nil {
			t.Fatal(err)
		}
		w.Write(body)
		w, _ = zw.Create("OK-1.json")
		w.Write([]byte(`{"id": "OK-1"}`))
		zw.Close()
		ids, errs, err := readZip(t, buf.Bytes(), defaultZipLimits)
		if err != nil {
			t.Fatal(err)
		}
		if len(errs) != 1 || !errors.Is(errs[0], ErrTooLarge) || !strings.Contains(errs[0].Error(), "BIG-1.json") {
			t.Errorf("errors %v", errs)
		}
		if !cmp.Equal(ids, []string{"OK-1"}) {
			t.Errorf("ids %q", ids)
		}
	})

	t.Run("record over 16 MiB", func(t *testing.T) {
		big := `{"id": "BIG-2", "details": "` + strings.Repeat("a", maxRecord) + `"}`
		data := buildZip(t, []zipEntry{{"BIG-2.json", []byte(big)}, rec("OK-2")})
		ids, errs, err := readZip(t, data, defaultZipLimits)
		if err != nil {
			t.Fatal(err)
		}
		if len(errs) != 1 || !errors.Is(errs[0], ErrTooLarge) || !cmp.Equal(ids, []string{"OK-2"}) {
			t.Errorf("ids %q, errors %v", ids, errs)
		}
	})

	t.Run("total", func(t *testing.T) {
		var entries []zipEntry
		for i := range 100 {
			entries = append(entries, rec(fmt.Sprintf("T-%03d", i)))
		}
		lim := defaultZipLimits
		lim.total = 500 // bytes; each record is 16
		ids, _, err := readZip(t, buildZip(t, entries), lim)
		if !errors.Is(err, ErrTooLarge) {
			t.Errorf("err = %v, want ErrTooLarge", err)
		}
		// 500/16 records fit the budget; records already being read by
		// the parallel workers when it runs out may still be delivered.
		if max := 500/16 + 2*runtime.GOMAXPROCS(0); len(ids) > max {
			t.Errorf("%d records delivered past a 500-byte budget, want at most %d", len(ids), max)
		}
	})

	t.Run("not a zip", func(t *testing.T) {
		for _, tc := range []struct {
			data string
			ok   bool
		}{
			{"", false},
			{"PK", false},
			{strings.Repeat("x", 100), false},
			{"PK\x05\x06" + strings.Repeat("\x00", 18), true}, // an empty archive
		} {
			calls := 0
			err := ReadOSVZip(strings.NewReader(tc.data), int64(len(tc.data)), func(Advisory, error) error { calls++; return nil })
			if tc.ok && (err != nil || calls != 0) || !tc.ok && !errors.Is(err, ErrFormat) {
				t.Errorf("%q: err = %v, %d records", tc.data, err, calls)
			}
		}
	})
}
