package advisory

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"regexp"
	"strings"
)

// ParseAlpineSecDB reads one Alpine secdb file (v3.11/main.yaml, or the JSON
// form main.json with the same keys) and calls fn once per identifier per
// origin package, in file order:
//
//	distroversion: v3.11
//	packages:
//	  - pkg:
//	      name: ansible
//	      secfixes:
//	        2.9.3-r0:
//	          - CVE-2019-14904
//
// gives Advisory{ID "CVE-2019-14904", Source "alpine", Affected [{Ecosystem
// "Alpine:v3.11", Package "ansible", Ranges [{ECOSYSTEM, introduced 0,
// fixed 2.9.3-r0}]}]}. The syntax is chosen by the suffix of name (.json,
// .yaml, .yml), else sniffed ('{' starts JSON).
//
// Entries are free text in practice. The ID is the entry's CVE, written
// canonically ("CVE 2018-16859", "CVE_2019-2426", "CVE-2017-8073.patch"
// and "CVE-2017-17434-1" all name a CVE), else its first other identifier
// (XSA-207, ZBX-11023, wnpa-sec-2017-18); further identifiers in the entry
// (XSA-214 after a CVE) are Aliases; "(comments)" and placeholders
// ("CVE-????-?????") are ignored. An entry with no identifier is reported to
// fn as an error.
//
// secfixes is a cumulative history, so one identifier may be listed under
// several versions (fixed on an older branch and again on a newer one).
// Those become one Advisory whose Affected has one range per version: the
// package is affected below any of them, which is right for the versions a
// release actually ships (at or above the newest branch's fix).
//
// Version "0" is secdb's way of saying the package was never affected (a
// CVE that does not apply to Alpine's build, or a whitelisted issue); such
// entries yield no Advisory. Matching has nothing to find, and a range
// "fixed 0" would read as affected nowhere anyway.
//
// The file is read whole: up to 16 MiB of JSON or 1 MiB of YAML (the
// largest real files are some 50 KiB), and 2^20 values. Errors reading or decoding the file
// are returned; fn's error stops the parse and is returned.
func ParseAlpineSecDB(r io.Reader, name string, fn func(Advisory, error) error) error {
	data, err := readLimited(r, maxSecDB)
	if err != nil {
		return fmt.Errorf("parse %s: %w", name, err)
	}
	db, err := decodeSecDB(data, name)
	if err != nil {
		return fmt.Errorf("parse %s: %w", name, err)
	}
	rel := strings.TrimSpace(db.DistroVersion)
	if rel == "" {
		return fmt.Errorf("parse %s: %w: no distroversion", name, ErrFormat)
	}
	if rel[0] >= '0' && rel[0] <= '9' {
		rel = "v" + rel
	}
	eco := "Alpine:" + rel
	for _, p := range db.Packages {
		pkg := strings.TrimSpace(p.Pkg.Name)
		if pkg == "" {
			if err := fn(Advisory{}, fmt.Errorf("parse %s: %w: package without a name", name, ErrFormat)); err != nil {
				return err
			}
			continue
		}
		var (
			order []string
			byID  = map[string]*Advisory{}
		)
		for _, fix := range p.Pkg.Secfixes {
			version := strings.TrimSpace(fix.Version)
			for _, entry := range fix.IDs {
				ids := secfixIDs(entry)
				if len(ids) == 0 {
					err := fmt.Errorf("parse %s: %s %s: %w: no identifier in %q", name, pkg, version, ErrFormat, clip(entry))
					if err := fn(Advisory{}, err); err != nil {
						return err
					}
					continue
				}
				if version == "" {
					err := fmt.Errorf("parse %s: %s %s: %w: empty version", name, pkg, ids[0], ErrFormat)
					if err := fn(Advisory{}, err); err != nil {
						return err
					}
					continue
				}
				if version == "0" {
					continue
				}
				a := byID[ids[0]]
				if a == nil {
					a = &Advisory{
						ID:       ids[0],
						Source:   "alpine",
						Affected: []Affected{{Ecosystem: eco, Package: pkg}},
					}
					byID[ids[0]] = a
					order = append(order, ids[0])
				}
				for _, alias := range ids[1:] {
					if !contains(a.Aliases, alias) {
						a.Aliases = append(a.Aliases, alias)
					}
				}
				af := &a.Affected[0]
				dup := false
				for _, rg := range af.Ranges {
					if rg.Events[1].Fixed == version {
						dup = true
						break
					}
				}
				if !dup {
					af.Ranges = append(af.Ranges, Range{Type: Ecosystem, Events: []Event{{Introduced: "0"}, {Fixed: version}}})
				}
			}
		}
		for _, id := range order {
			if err := fn(*byID[id], nil); err != nil {
				return err
			}
		}
	}
	return nil
}

type secDB struct {
	DistroVersion string `json:"distroversion"`
	Packages      []struct {
		Pkg struct {
			Name     string   `json:"name"`
			Secfixes secfixes `json:"secfixes"`
		} `json:"pkg"`
	} `json:"packages"`
}

// secfixes keeps the version keys in file order.
type secfixes []secfix

type secfix struct {
	Version string
	IDs     []string
}

func (s *secfixes) UnmarshalJSON(b []byte) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	if tok == nil {
		return nil
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return errors.New("secfixes is not an object")
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		k, _ := tok.(string)
		var ids []*string
		if err := dec.Decode(&ids); err != nil {
			return fmt.Errorf("secfixes %q: %w", clip(k), err)
		}
		f := secfix{Version: k}
		for _, id := range ids {
			if id != nil {
				f.IDs = append(f.IDs, *id)
			}
		}
		*s = append(*s, f)
	}
	return nil
}

func decodeSecDB(data []byte, name string) (secDB, error) {
	isJSON := false
	switch strings.ToLower(path.Ext(name)) {
	case ".json":
		isJSON = true
	case ".yaml", ".yml":
	default:
		t := bytes.TrimLeft(bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")), " \t\r\n")
		isJSON = len(t) > 0 && t[0] == '{'
	}
	if isJSON {
		if err := checkJSONValues(data); err != nil {
			return secDB{}, err
		}
	} else {
		j, err := yamlToJSON(data, maxSecDB)
		if err != nil {
			return secDB{}, err
		}
		data = j
	}
	var db secDB
	if err := json.Unmarshal(data, &db); err != nil {
		return secDB{}, fmt.Errorf("%w: %w", ErrFormat, err)
	}
	return db, nil
}

var (
	cvePattern   = regexp.MustCompile(`(?i)\bCVE[-_ ]?(\d{4})-(\d{4,})`)
	otherIDToken = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9]*(?:-[A-Za-z0-9]+)*-[0-9]+$`)
)

// secfixIDs extracts the identifiers of one secfixes entry, CVEs first.
func secfixIDs(entry string) []string {
	// Drop "(comments)".
	var b strings.Builder
	depth := 0
	for _, r := range entry {
		switch {
		case r == '(':
			depth++
		case r == ')' && depth > 0:
			depth--
		case depth == 0:
			b.WriteRune(r)
		}
	}
	text := b.String()
	var ids []string
	add := func(id string) {
		if !contains(ids, id) {
			ids = append(ids, id)
		}
	}
	for _, m := range cvePattern.FindAllStringSubmatch(text, -1) {
		add("CVE-" + m[1] + "-" + m[2])
	}
	text = cvePattern.ReplaceAllString(text, " ")
	for _, tok := range strings.Fields(text) {
		if strings.HasPrefix(strings.ToUpper(tok), "CVE") {
			continue // a placeholder or the tail of a CVE token (-1, .patch)
		}
		if otherIDToken.MatchString(tok) {
			add(tok)
		}
	}
	return ids
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}
