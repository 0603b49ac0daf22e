package sbom

import (
	"bytes"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/inventory"
)

// TestDeterministic: the same result gives the same bytes; another
// timestamp changes only the timestamp; other content changes the serial
// number and namespace.
func TestDeterministic(t *testing.T) {
	for _, e := range encoders {
		t.Run(e.name, func(t *testing.T) {
			enc := func(r *inventory.Result) string {
				t.Helper()
				var buf bytes.Buffer
				if err := e.encode(&buf, r); err != nil {
					t.Fatal(err)
				}
				return buf.String()
			}
			a, b := enc(testResult()), enc(testResult())
			if a != b {
				t.Fatal("two encodings of the same result differ")
			}
			// Package order in the input does not matter.
			shuffled := testResult()
			p := shuffled.Packages
			p[0], p[len(p)-1] = p[len(p)-1], p[0]
			if enc(shuffled) != a {
				t.Error("package order changed the output")
			}
			if shuffled.Packages[0].Name != testResult().Packages[len(p)-1].Name {
				t.Error("encoding reordered the caller's packages")
			}
			changed := testResult()
			changed.Packages[0].Version += "+1"
			if c := enc(changed); idLine(c) == idLine(a) {
				t.Errorf("different content, same identifier %q", idLine(a))
			}
		})
	}
}

// idLine returns the serial number or namespace line of a document.
func idLine(doc string) string {
	for _, l := range strings.Split(doc, "\n") {
		if strings.Contains(l, `"serialNumber"`) || strings.Contains(l, `"documentNamespace"`) {
			return l
		}
	}
	return ""
}

func TestTimestamp(t *testing.T) {
	var a, b bytes.Buffer
	if err := EncodeCycloneDX(&a, testResult(), EncodeOptions{Timestamp: fixedTime}); err != nil {
		t.Fatal(err)
	}
	other := time.Date(2030, 1, 2, 3, 4, 5, 0, time.FixedZone("x", 3600))
	if err := EncodeCycloneDX(&b, testResult(), EncodeOptions{Timestamp: other}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), `"timestamp": "2030-01-02T02:04:05Z"`) {
		t.Error("timestamp not written in UTC from the options")
	}
	if idLine(a.String()) != idLine(b.String()) {
		t.Error("the timestamp changed the serial number")
	}
	// Zero means now.
	var c bytes.Buffer
	before := time.Now().Add(-time.Second)
	if err := EncodeSPDX(&c, &inventory.Result{}, EncodeOptions{}); err != nil {
		t.Fatal(err)
	}
	after := time.Now().Add(time.Second)
	var doc struct {
		CreationInfo struct{ Created time.Time } `json:"creationInfo"`
	}
	if err := json.Unmarshal(c.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if got := doc.CreationInfo.Created; got.Before(before) || got.After(after) {
		t.Errorf("zero timestamp gave %v, want now", got)
	}
}

func TestEncodeOptionsErrors(t *testing.T) {
	r := testResult()
	tests := []struct {
		name string
		err  error
	}{
		{"cyclonedx 1.4", EncodeCycloneDX(&bytes.Buffer{}, r, EncodeOptions{SpecVersion: "1.4"})},
		{"cyclonedx 2.3", EncodeCycloneDX(&bytes.Buffer{}, r, EncodeOptions{SpecVersion: "2.3"})},
		{"spdx 1.5", EncodeSPDX(&bytes.Buffer{}, r, EncodeOptions{SpecVersion: "1.5"})},
		{"spdx 2.2", EncodeSPDX(&bytes.Buffer{}, r, EncodeOptions{SpecVersion: "2.2"})},
	}
	for _, tt := range tests {
		if !errors.Is(tt.err, ErrUnsupportedVersion) {
			t.Errorf("%s: err = %v, want ErrUnsupportedVersion", tt.name, tt.err)
		}
	}
	if err := Encode(&bytes.Buffer{}, "xml", r, EncodeOptions{}); !errors.Is(err, ErrUnknownFormat) {
		t.Errorf("Encode(xml) = %v, want ErrUnknownFormat", err)
	}
}

func TestEncodeWriteError(t *testing.T) {
	for _, f := range Formats() {
		if err := Encode(failWriter{}, f, testResult(), EncodeOptions{}); err == nil {
			t.Errorf("%s: no error from a failing writer", f)
		}
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestParseFormat(t *testing.T) {
	for _, f := range Formats() {
		got, err := ParseFormat(string(f))
		if err != nil || got != f {
			t.Errorf("ParseFormat(%q) = %q, %v", f, got, err)
		}
	}
	if _, err := ParseFormat("cyclonedx-xml"); !errors.Is(err, ErrUnknownFormat) {
		t.Errorf("ParseFormat(cyclonedx-xml) error = %v, want ErrUnknownFormat", err)
	}
}

// TestEncodeDispatch: Encode writes what the format's own encoder writes.
func TestEncodeDispatch(t *testing.T) {
	for _, f := range Formats() {
		var a, b bytes.Buffer
		if err := Encode(&a, f, testResult(), testOpts); err != nil {
			t.Fatal(err)
		}
		if f == CycloneDXJSON {
			_ = EncodeCycloneDX(&b, testResult(), testOpts)
		} else {
			_ = EncodeSPDX(&b, testResult(), testOpts)
		}
		if a.String() != b.String() {
			t.Errorf("Encode(%s) differs from its encoder", f)
		}
	}
}

// TestManyDuplicates: a result with many identical packages (as a hostile
// SBOM decodes to) encodes in linear time with unique identifiers.
func TestManyDuplicates(t *testing.T) {
	p := inventory.Package{Name: "dup", Version: "1", Ecosystem: inventory.Npm, PURL: "pkg:npm/dup@1"}
	p.ComputeID()
	r := &inventory.Result{Packages: make([]inventory.Package, 5000)}
	for i := range r.Packages {
		r.Packages[i] = p
	}
	for _, f := range Formats() {
		start := time.Now()
		var buf bytes.Buffer
		if err := Encode(&buf, f, r, EncodeOptions{}); err != nil {
			t.Fatal(err)
		}
		got, _, err := Decode(&buf, "dups")
		if err != nil {
			t.Fatal(err)
		}
		if len(got.Packages) != len(r.Packages) {
			t.Errorf("%s: %d packages read back, want %d", f, len(got.Packages), len(r.Packages))
		}
		if d := time.Since(start); d > 20*time.Second {
			t.Errorf("%s: %v for %d duplicates", f, d, len(r.Packages))
		}
	}
	u := newUniqueIDs("a")
	if got := []string{u.take("a"), u.take("a"), u.take("a-3"), u.take("a"), u.take("b")}; !slices.Equal(got, []string{"a-2", "a-3", "a-3-2", "a-4", "b"}) {
		t.Errorf("take = %q", got)
	}
}
