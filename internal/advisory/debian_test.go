package advisory

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func debianFix(release, pkg, version string) Affected {
	return Affected{
		Ecosystem: "Debian:" + release,
		Package:   pkg,
		Ranges:    []Range{ecosystem(intro("0"), fixed(version))},
	}
}

func debianUnfixed(release, pkg string) Affected {
	return Affected{Ecosystem: "Debian:" + release, Package: pkg, Ranges: []Range{ecosystem(intro("0"))}}
}

// wantDebian are advisories of the excerpts in testdata/debian, copied from
// the tracker's lists, as ParseDebianList must return them.
var wantDebian = map[string]Advisory{
	"DSA-5372-1": {
		ID: "DSA-5372-1", Source: "debian",
		Aliases:   []string{"CVE-2021-22942", "CVE-2021-44528", "CVE-2022-21831", "CVE-2022-22577", "CVE-2022-23633", "CVE-2022-27777", "CVE-2023-22792", "CVE-2023-22794", "CVE-2023-22795", "CVE-2023-22796"},
		Summary:   "rails - security update",
		Published: date("2023-03-13T00:00:00Z"),
		Affected:  []Affected{debianFix("11", "rails", "2:6.0.3.7+dfsg-2+deb11u1")},
	},
	"DSA-5196-1": {
		ID: "DSA-5196-1", Source: "debian",
		Aliases:   []string{"CVE-2022-21724", "CVE-2022-26520"},
		Summary:   "libpgjava - security update",
		Published: date("2022-07-31T00:00:00Z"),
		Affected: []Affected{
			debianFix("10", "libpgjava", "42.2.5-2+deb10u1"),
			debianFix("11", "libpgjava", "42.2.15-1+deb11u1"),
		},
	},
	"DSA-4205-1": {
		ID: "DSA-4205-1", Source: "debian",
		Summary:   "jessie end-of-life",
		Published: date("2018-04-18T00:00:00Z"),
		Affected:  []Affected{},
	},
	"DSA-3148-1": {
		ID: "DSA-3148-1", Source: "debian",
		Summary:   "chromium-browser - end of life",
		Published: date("2015-01-31T00:00:00Z"),
		Affected:  []Affected{debianUnfixed("7", "chromium-browser")},
	},
	"DSA-1906-1": {
		// Release lines inside NOTE: are commentary.
		ID: "DSA-1906-1", Source: "debian",
		Summary:   "clamav - end-of-life announcement",
		Published: date("2009-10-11T00:00:00Z"),
		Affected:  []Affected{},
	},
	"DSA-1304": {
		// No revision in the oldest ids; indented with spaces.
		ID: "DSA-1304", Source: "debian",
		Aliases:   []string{"CVE-2005-4811", "CVE-2006-4814", "CVE-2006-4623", "CVE-2006-5753", "CVE-2006-5754", "CVE-2006-5757", "CVE-2006-6053", "CVE-2006-6056", "CVE-2006-6060", "CVE-2006-6106", "CVE-2006-6535", "CVE-2007-0958", "CVE-2007-1357", "CVE-2007-1592"},
		Summary:   "kernel-source-2.6.8 - several",
		Published: date("2007-06-16T00:00:00Z"),
		Affected:  []Affected{debianFix("3.1", "kernel-source-2.6.8", "2.6.8-16sarge7")},
	},
	"DSA-866-1": {
		ID: "DSA-866-1", Source: "debian",
		Aliases:   []string{"CVE-2005-2871", "CVE-2005-2701", "CVE-2005-2702", "CVE-2005-2703", "CVE-2005-2704", "CVE-2005-2705", "CVE-2005-2706", "CVE-2005-2707"},
		Summary:   "mozilla - several",
		Published: date("2005-10-20T00:00:00Z"),
		Affected: []Affected{
			debianUnfixed("3.0", "mozilla"),
			debianFix("3.1", "mozilla", "1:1.7.8-1sarge3"),
		},
	},
	"DSA-858-1": {
		ID: "DSA-858-1", Source: "debian",
		Aliases:   []string{"CVE-2005-3178"},
		Summary:   "xloadimage - buffer overflows",
		Published: date("2005-10-10T00:00:00Z"),
		Affected: []Affected{
			{Ecosystem: "Debian:3.0", Package: "xloadimage", Ranges: []Range{ecosystem(intro("0"), fixed("4.1-10woody2"))}, Severity: "medium"},
			debianFix("3.1", "xloadimage", "4.1-14.3"),
		},
	},
	"DSA-736-2": {
		ID: "DSA-736-2", Source: "debian",
		Aliases:   []string{"CVE-2005-1266"},
		Summary:   "spamassassin - mail header parsing error",
		Published: date("2005-07-01T00:00:00Z"),
		Affected:  []Affected{debianFix("3.1", "spamassassin", "3.0.3-2")},
	},
	"DLA-3380-1": {
		ID: "DLA-3380-1", Source: "debian",
		Aliases:   []string{"CVE-2020-12362", "CVE-2020-12363", "CVE-2020-12364", "CVE-2020-24586", "CVE-2020-24587", "CVE-2020-24588", "CVE-2021-23168", "CVE-2021-23223", "CVE-2021-37409", "CVE-2021-44545", "CVE-2022-21181"},
		Summary:   "firmware-nonfree - security update",
		Published: date("2023-04-01T00:00:00Z"),
		Affected:  []Affected{debianFix("10", "firmware-nonfree", "20190114+really20220913-0+deb10u1")},
	},
	"DLA-3067-1": {
		ID: "DLA-3067-1", Source: "debian",
		Summary:   "stretch-lts - end-of-life",
		Published: date("2022-07-01T00:00:00Z"),
		Affected:  []Affected{},
	},
	"DLA-372-1": {
		ID: "DLA-372-1", Source: "debian",
		Summary:   "virtualbox-ose - end of support",
		Published: date("2015-12-18T00:00:00Z"),
		Affected:  []Affected{debianUnfixed("6.0", "virtualbox-ose")},
	},
}

func parseDebianFile(t *testing.T, path string) (map[string]Advisory, []string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got := map[string]Advisory{}
	var order []string
	err = ParseDebianList(f, func(a Advisory, err error) error {
		if err != nil {
			t.Errorf("%s: %v", path, err)
		}
		got[a.ID] = a
		order = append(order, a.ID)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return got, order
}

func TestParseDebianList(t *testing.T) {
	got := map[string]Advisory{}
	var order []string
	for _, f := range []string{"DSA.excerpt.list", "DLA.excerpt.list"} {
		g, o := parseDebianFile(t, filepath.Join("testdata", "debian", f))
		for k, v := range g {
			got[k] = v
		}
		order = append(order, o...)
	}
	wantOrder := []string{"DSA-5372-1", "DSA-5196-1", "DSA-4205-1", "DSA-3148-1", "DSA-1906-1", "DSA-1304", "DSA-866-1", "DSA-858-1", "DSA-736-2", "DSA-453", "DLA-3380-1", "DLA-3067-1", "DLA-372-1"}
	if !cmp.Equal(order, wantOrder) {
		t.Errorf("order %q, want %q", order, wantOrder)
	}
	for id, want := range wantDebian {
		if diff := cmp.Diff(want, got[id]); diff != "" {
			t.Errorf("%s mismatch (-want +got):\n%s", id, diff)
		}
	}
	// DSA-453 lists ten woody kernel packages.
	a := got["DSA-453"]
	if len(a.Affected) != 10 || !cmp.Equal(a.Affected[0], debianFix("3.0", "kernel-source-2.2.20", "2.2.20-5woody3")) ||
		a.Affected[9].Package != "kernel-patch-2.2.20-powerpc" {
		t.Errorf("DSA-453: %+v", a.Affected)
	}
}

// TestSharedDebianKnown checks known entries of the full lists exactly.
func TestSharedDebianKnown(t *testing.T) {
	dir := shared(t, "debian-tracker")
	got := map[string]Advisory{}
	for _, f := range []string{"DSA.list", "DLA.list"} {
		g, _ := parseDebianFile(t, filepath.Join(dir, f))
		for k, v := range g {
			got[k] = v
		}
	}
	for id, want := range wantDebian {
		if diff := cmp.Diff(want, got[id]); diff != "" {
			t.Errorf("%s mismatch (-want +got):\n%s", id, diff)
		}
	}
	// DSA-1503-1 fixes twenty sarge packages.
	if a := got["DSA-1503-1"]; len(a.Affected) != 20 || len(a.Aliases) != 20 {
		t.Errorf("DSA-1503-1: %d affected, %d CVEs", len(a.Affected), len(a.Aliases))
	}
}

func TestParseDebianListErrors(t *testing.T) {
	type call struct {
		id   string
		nAff int
		err  error
	}
	for _, tc := range []struct {
		name  string
		input string
		want  []call
	}{
		{
			name: "unknown codename affects only its line",
			input: "[01 Jan 2030] DSA-9999-1 foo - security update\n" +
				"\t{CVE-2030-0001}\n" +
				"\t[bookworm] - foo 1.0-1+deb12u1\n" +
				"\t[sid] - foo 1.0-2\n" +
				"\t[trixie] - foo 1.0-1+deb13u1\n" +
				"[02 Jan 2030] DSA-10000-1 bar - security update\n" +
				"\t[bookworm] - bar 2.0-1\n",
			want: []call{{"DSA-9999-1", 2, ErrUnknownRelease}, {"DSA-10000-1", 1, nil}},
		},
		{
			name:  "text before the first header",
			input: "\t[bullseye] - foo 1.0\n[01 Jan 2023] DSA-1-1 foo - x\n",
			want:  []call{{"", 0, ErrFormat}, {"DSA-1-1", 0, nil}},
		},
		{
			name:  "bad header and its body",
			input: "[not a date] DSA-2-1 foo - x\n\t[bullseye] - foo 1.0\n[01 Jan 2023] DSA-3-1 bar - y\n",
			want:  []call{{"", 0, ErrFormat}, {"", 0, ErrFormat}, {"DSA-3-1", 0, nil}},
		},
		{
			name:  "header without id",
			input: "[01 Jan 2023]\n",
			want:  []call{{"", 0, ErrFormat}},
		},
		{
			name: "malformed lines",
			input: "[01 Jan 2023] DSA-4-1 foo - x\n" +
				"\t{CVE-2023-0001\n" +
				"\t[bullseye] - foo\n" +
				"\t[bullseye] foo 1.0\n" +
				"\t[bullseye] - foo <removed>\n" +
				"\t[bullseye - foo 1.0\n" +
				"\tsomething else\n" +
				"garbage at column 0\n" +
				"\t[bullseye] - foo 1.0 (high)\n",
			want: []call{{"DSA-4-1", 1, ErrFormat}},
		},
		{
			name:  "empty input",
			input: "",
			want:  nil,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []call
			err := ParseDebianList(strings.NewReader(tc.input), func(a Advisory, err error) error {
				got = append(got, call{a.ID, len(a.Affected), err})
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("calls %v, want %v", got, tc.want)
			}
			for i, w := range tc.want {
				g := got[i]
				if g.id != w.id || g.nAff != w.nAff || (w.err == nil) != (g.err == nil) || w.err != nil && !errors.Is(g.err, w.err) {
					t.Errorf("call %d: %+v, want %+v", i, g, w)
				}
			}
		})
	}
}

func TestParseDebianListLimits(t *testing.T) {
	long := "[01 Jan 2023] DSA-5-1 foo - x\n\t{" + strings.Repeat("CVE-2023-0001 ", maxLine/14+1) + "}\n"
	err := ParseDebianList(strings.NewReader(long), func(Advisory, error) error { return nil })
	if !errors.Is(err, ErrTooLarge) {
		t.Errorf("long line: err = %v, want ErrTooLarge", err)
	}

	var b strings.Builder
	b.WriteString("[01 Jan 2023] DSA-6-1 foo - x\n")
	for range maxDebianAffected + 5 {
		b.WriteString("\t[bullseye] - foo 1.0\n")
	}
	var got Advisory
	var gotErr error
	err = ParseDebianList(strings.NewReader(b.String()), func(a Advisory, err error) error {
		got, gotErr = a, err
		return nil
	})
	if err != nil || len(got.Affected) != maxDebianAffected || !errors.Is(gotErr, ErrTooLarge) {
		t.Errorf("many packages: %d affected, err %v / %v", len(got.Affected), gotErr, err)
	}

	stop := errors.New("stop")
	n := 0
	err = ParseDebianList(strings.NewReader("[01 Jan 2023] DSA-7-1 a - x\n[01 Jan 2023] DSA-8-1 b - x\n"), func(Advisory, error) error {
		n++
		return stop
	})
	if !errors.Is(err, stop) || n != 1 {
		t.Errorf("stop: err %v after %d calls", err, n)
	}
}
