package advisory

import (
	"bytes"
	"compress/gzip"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func gzipped(t testing.TB, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(b)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func collectEPSS(data []byte) ([]EPSS, error) {
	var got []EPSS
	err := ParseEPSS(bytes.NewReader(data), func(e EPSS) error {
		got = append(got, e)
		return nil
	})
	return got, err
}

func TestParseEPSS(t *testing.T) {
	plain, err := os.ReadFile("testdata/epss/epss_scores-2023-04-01.csv")
	if err != nil {
		t.Fatal(err)
	}
	day := time.Date(2023, 4, 1, 0, 0, 0, 0, time.UTC)
	want := []EPSS{
		{"CVE-1999-0001", 0.01054, 0.82507, day},
		{"CVE-2014-0160", 0.975, 0.9999, day},
		{"CVE-2021-44228", 0.97565, 0.99998, day},
		{"CVE-2022-22965", 0.97491, 0.99963, day},
		{"CVE-2023-0001", 0.00043, 0.07881, day},
		{"CVE-2023-27997", 0.00096, 0.39124, day},
	}
	for name, data := range map[string][]byte{
		"plain": plain,
		"gzip":  gzipped(t, plain),
		"crlf":  bytes.ReplaceAll(plain, []byte("\n"), []byte("\r\n")),
		"bom":   append([]byte("\ufeff"), plain...),
	} {
		got, err := collectEPSS(data)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s mismatch (-want +got):\n%s", name, diff)
		}
	}

	// The first model's files: no comment line, no percentile.
	v1, err := os.ReadFile("testdata/epss/epss_v1.csv")
	if err != nil {
		t.Fatal(err)
	}
	got, err := collectEPSS(v1)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]EPSS{{CVE: "CVE-2020-0601", Score: 0.62411}, {CVE: "CVE-2020-1472", Score: 0.91}}, got); diff != "" {
		t.Errorf("v1 mismatch (-want +got):\n%s", diff)
	}
}

func TestParseEPSSErrors(t *testing.T) {
	const head = "#model_version:v2023.03.01,score_date:2023-04-01T00:00:00+0000\ncve,epss,percentile\n"
	for _, tc := range []struct {
		name, data string
		want       error
	}{
		{"empty", "", ErrFormat},
		{"no header", "CVE-2020-0001,0.1,0.2\n", ErrFormat},
		{"bad cve", head + "CVE-20-1,0.1,0.2\n", ErrFormat},
		{"not a cve", head + "GHSA-xxxx,0.1,0.2\n", ErrFormat},
		{"score above 1", head + "CVE-2020-0001,1.5,0.2\n", ErrFormat},
		{"negative", head + "CVE-2020-0001,-0.1,0.2\n", ErrFormat},
		{"nan", head + "CVE-2020-0001,NaN,0.2\n", ErrFormat},
		{"short row", head + "CVE-2020-0001,0.1\n", ErrFormat},
		{"bad date", "#score_date:tomorrow\ncve,epss\n", ErrFormat},
		{"bad gzip", "\x1f\x8b\x08garbage", ErrFormat},
		{"long line", head + strings.Repeat("x", maxLine+1), ErrTooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := collectEPSS([]byte(tc.data))
			if !errors.Is(err, tc.want) {
				t.Errorf("err = %v, want %v", err, tc.want)
			}
		})
	}

	stop := errors.New("stop")
	n := 0
	err := ParseEPSS(strings.NewReader(head+"CVE-2020-0001,0.1,0.2\nCVE-2020-0002,0.1,0.2\n"), func(EPSS) error { n++; return stop })
	if !errors.Is(err, stop) || n != 1 {
		t.Errorf("err %v after %d calls", err, n)
	}
}
