package advisory

import (
	"bytes"
	"fmt"
	"io"
	"path"
	"strings"
	"time"

	"github.com/ossf/osv-schema/bindings/go/osvschema"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// OSV records are decoded with the schema's official protobuf bindings
// (osvschema) through protojson, discarding unknown fields and enum names so
// that newer schema versions still load. protojson accepts every record of
// the Go, crates.io and PyPI databases in the shared test data, including
// the Go database's "modified": "0001-01-01T00:00:00Z"; no fallback decoder
// is needed. YAML records are converted to JSON first (see yamlToJSON).

// ParseOSV reads one OSV record, JSON or YAML. The syntax is decided by the
// suffix of name (.json, .yaml, .yml); for other names it is sniffed: a
// record whose first non-blank byte is '{' is JSON, anything else YAML. name
// is also used in errors. Records over 16 MiB, YAML records over 1 MiB and
// records of more than 2^20 values (array elements and object members) fail
// with ErrTooLarge.
//
// Mapping to Advisory:
//   - severity[] of type CVSS_V2/V3/V4 become Severity; affected[].severity
//     vectors (schema 1.5+, set instead of the top-level ones) are added to
//     the advisory's Severity, once each. Other types are dropped.
//   - affected[] entries without a package name are dropped (they name only
//     commits, which Vigil does not match); ranges of an unknown type too.
//   - An event object with several fields set becomes several events in
//     schema order (introduced, fixed, last_affected, limit).
//   - Go: affected[].ecosystem_specific.imports[] become Symbols
//     "path.Symbol"; an import listed without symbols means its whole
//     package is affected and is represented by "path" alone. A matcher
//     tests a call of pkg.Sym with Symbols containing pkg+"."+Sym or pkg;
//     it never needs to split an entry (import paths may contain dots).
//     goos/goarch restrictions and custom_ranges are not kept.
//   - Affected.Severity is affected[].ecosystem_specific.severity, else
//     affected[].database_specific.severity, else the top-level
//     database_specific.severity (GHSA, PyPI), lowercased, with GitHub's
//     "moderate" mapped to "medium".
//   - upstream[] becomes Upstream; references become their URLs.
//   - The package name is kept as published; NormalizeName gives the key.
func ParseOSV(r io.Reader, name string) (Advisory, error) {
	data, err := readLimited(r, maxRecord)
	if err != nil {
		return Advisory{}, fmt.Errorf("parse %s: %w", name, err)
	}
	a, err := decodeOSV(data, name)
	if err != nil {
		return Advisory{}, fmt.Errorf("parse %s: %w", name, err)
	}
	return a, nil
}

// osvIsJSON reports whether name (or, failing a known suffix, data) is
// JSON.
func osvIsJSON(data []byte, name string) bool {
	switch strings.ToLower(path.Ext(name)) {
	case ".json":
		return true
	case ".yaml", ".yml":
		return false
	}
	data = bytes.TrimLeft(data, " \t\r\n")
	return len(data) > 0 && data[0] == '{'
}

var osvUnmarshal = protojson.UnmarshalOptions{DiscardUnknown: true}

func decodeOSV(data []byte, name string) (Advisory, error) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	if osvIsJSON(data, name) {
		if err := checkJSONValues(data); err != nil {
			return Advisory{}, err
		}
	} else {
		j, err := yamlToJSON(data, maxRecord)
		if err != nil {
			return Advisory{}, err
		}
		data = j
	}
	var v osvschema.Vulnerability
	if err := osvUnmarshal.Unmarshal(data, &v); err != nil {
		return Advisory{}, fmt.Errorf("%w: %w", ErrFormat, err)
	}
	return fromOSV(&v)
}

func fromOSV(v *osvschema.Vulnerability) (Advisory, error) {
	if strings.TrimSpace(v.GetId()) == "" {
		return Advisory{}, fmt.Errorf("%w: record has no id", ErrFormat)
	}
	a := Advisory{
		ID:        v.GetId(),
		Source:    "osv",
		Aliases:   nonEmpty(v.GetAliases()),
		Related:   nonEmpty(v.GetRelated()),
		Upstream:  nonEmpty(v.GetUpstream()),
		Summary:   v.GetSummary(),
		Details:   v.GetDetails(),
		Published: osvTime(v.GetPublished()),
		Modified:  osvTime(v.GetModified()),
		Withdrawn: osvTime(v.GetWithdrawn()),
		Affected:  []Affected{},
	}
	a.Severity = addSeverities(a.Severity, v.GetSeverity())
	for _, ref := range v.GetReferences() {
		if u := ref.GetUrl(); u != "" {
			a.References = append(a.References, u)
		}
	}
	dbSeverity := structString(v.GetDatabaseSpecific(), "severity")
	for _, va := range v.GetAffected() {
		a.Severity = addSeverities(a.Severity, va.GetSeverity())
		pkg := va.GetPackage()
		if pkg.GetName() == "" {
			continue
		}
		af := Affected{
			Ecosystem: pkg.GetEcosystem(),
			Package:   pkg.GetName(),
			Versions:  nonEmpty(va.GetVersions()),
		}
		for _, vr := range va.GetRanges() {
			if rg, ok := osvRange(vr); ok {
				af.Ranges = append(af.Ranges, rg)
			}
		}
		if EcosystemBase(af.Ecosystem) == "Go" {
			af.Symbols = goSymbols(va.GetEcosystemSpecific())
		}
		sev := structString(va.GetEcosystemSpecific(), "severity")
		if sev == "" {
			sev = structString(va.GetDatabaseSpecific(), "severity")
		}
		if sev == "" {
			sev = dbSeverity
		}
		af.Severity = normalizeSeverity(sev)
		a.Affected = append(a.Affected, af)
	}
	return a, nil
}

func osvTime(ts *timestamppb.Timestamp) time.Time {
	if ts == nil {
		return time.Time{}
	}
	t := ts.AsTime().UTC()
	if t.Equal(time.Time{}) {
		return time.Time{}
	}
	return t
}

func nonEmpty(ss []string) []string {
	var out []string
	for _, s := range ss {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

func addSeverities(dst []Severity, src []*osvschema.Severity) []Severity {
	for _, s := range src {
		var t SeverityType
		switch s.GetType() {
		case osvschema.Severity_CVSS_V2:
			t = CVSSv2
		case osvschema.Severity_CVSS_V3:
			t = CVSSv3
		case osvschema.Severity_CVSS_V4:
			t = CVSSv4
		default:
			continue
		}
		sv := Severity{Type: t, Vector: strings.TrimSpace(s.GetScore())}
		if sv.Vector == "" {
			continue
		}
		dup := false
		for _, d := range dst {
			if d == sv {
				dup = true
				break
			}
		}
		if !dup {
			dst = append(dst, sv)
		}
	}
	return dst
}

func osvRange(vr *osvschema.Range) (Range, bool) {
	var rg Range
	switch vr.GetType() {
	case osvschema.Range_ECOSYSTEM:
		rg.Type = Ecosystem
	case osvschema.Range_SEMVER:
		rg.Type = SemVer
	case osvschema.Range_GIT:
		rg.Type = Git
	default:
		return Range{}, false
	}
	rg.Events = []Event{}
	for _, e := range vr.GetEvents() {
		if e.GetIntroduced() != "" {
			rg.Events = append(rg.Events, Event{Introduced: e.GetIntroduced()})
		}
		if e.GetFixed() != "" {
			rg.Events = append(rg.Events, Event{Fixed: e.GetFixed()})
		}
		if e.GetLastAffected() != "" {
			rg.Events = append(rg.Events, Event{LastAffected: e.GetLastAffected()})
		}
		if e.GetLimit() != "" {
			rg.Events = append(rg.Events, Event{Limit: e.GetLimit()})
		}
	}
	return rg, true
}

// goSymbols reads the Go database's ecosystem_specific.imports.
func goSymbols(es *structpb.Struct) []string {
	var out []string
	for _, iv := range es.GetFields()["imports"].GetListValue().GetValues() {
		imp := iv.GetStructValue()
		p := imp.GetFields()["path"].GetStringValue()
		if p == "" {
			continue
		}
		syms := imp.GetFields()["symbols"].GetListValue().GetValues()
		n := 0
		for _, sv := range syms {
			if s := sv.GetStringValue(); s != "" {
				out = append(out, p+"."+s)
				n++
			}
		}
		if n == 0 {
			out = append(out, p)
		}
	}
	return out
}

func structString(s *structpb.Struct, key string) string {
	return s.GetFields()[key].GetStringValue()
}

// normalizeSeverity maps a published rating to the model's lowercase words.
func normalizeSeverity(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	switch s {
	case "moderate":
		return "medium"
	case "unknown", "none", "n/a":
		return ""
	}
	return s
}
