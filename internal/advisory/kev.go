package advisory

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
)

// kevEntry is one element of the catalogue's "vulnerabilities" array; the
// CSV export has the same columns.
type kevEntry struct {
	CVEID                      string `json:"cveID"`
	VendorProject              string `json:"vendorProject"`
	Product                    string `json:"product"`
	VulnerabilityName          string `json:"vulnerabilityName"`
	DateAdded                  string `json:"dateAdded"`
	RequiredAction             string `json:"requiredAction"`
	DueDate                    string `json:"dueDate"`
	KnownRansomwareCampaignUse string `json:"knownRansomwareCampaignUse"`
}

// ParseKEV reads CISA's Known Exploited Vulnerabilities catalogue, either
// known_exploited_vulnerabilities.json ({"title", "catalogVersion",
// "dateReleased", "count", "vulnerabilities": [...]}) or the CSV export
// with the same column names; JSON is recognised by a leading '{'. fn is
// called once per entry, in file order. knownRansomwareCampaignUse "Known"
// sets KnownRansomwareUse; shortDescription and notes are not kept. An entry
// without a well-formed CVE or with a bad date fails the parse with
// ErrFormat. Input is bounded to 256 MiB. fn's error stops the parse and is
// returned.
func ParseKEV(r io.Reader, fn func(KEV) error) error {
	lr := &io.LimitedReader{R: r, N: maxFeed + 1}
	br := bufio.NewReader(lr)
	if b, _ := br.Peek(3); string(b) == "\xef\xbb\xbf" {
		br.Discard(3)
	}
	var err error
	if first := peekNonSpace(br); first == '{' {
		err = parseKEVJSON(br, fn)
	} else {
		err = parseKEVCSV(br, fn)
	}
	if lr.N <= 0 {
		return fmt.Errorf("parse kev: %w: more than %d bytes", ErrTooLarge, maxFeed)
	}
	return err
}

// peekNonSpace returns the first byte after leading white space, unread.
func peekNonSpace(br *bufio.Reader) byte {
	for {
		b, err := br.Peek(1)
		if err != nil {
			return 0
		}
		switch b[0] {
		case ' ', '\t', '\r', '\n':
			br.Discard(1)
		default:
			return b[0]
		}
	}
}

func parseKEVJSON(r io.Reader, fn func(KEV) error) error {
	dec := json.NewDecoder(r)
	fail := func(err error) error {
		return fmt.Errorf("parse kev: %w: %w", ErrFormat, err)
	}
	if _, err := dec.Token(); err != nil { // '{', checked by the caller
		return fail(err)
	}
	found := false
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return fail(err)
		}
		if key, _ := tok.(string); key != "vulnerabilities" {
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return fail(err)
			}
			continue
		}
		found = true
		tok, err = dec.Token()
		if err != nil {
			return fail(err)
		}
		if d, ok := tok.(json.Delim); !ok || d != '[' {
			return fail(errors.New("vulnerabilities is not an array"))
		}
		for i := 0; dec.More(); i++ {
			var e kevEntry
			if err := dec.Decode(&e); err != nil {
				return fail(fmt.Errorf("vulnerabilities[%d]: %w", i, err))
			}
			k, err := e.kev()
			if err != nil {
				return fail(fmt.Errorf("vulnerabilities[%d]: %w", i, err))
			}
			if err := fn(k); err != nil {
				return err
			}
		}
		if _, err := dec.Token(); err != nil { // ']'
			return fail(err)
		}
	}
	if _, err := dec.Token(); err != nil { // '}'
		return fail(err)
	}
	if !found {
		return fail(errors.New("no vulnerabilities array"))
	}
	return nil
}

func parseKEVCSV(r io.Reader, fn func(KEV) error) error {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	header, err := cr.Read()
	if err != nil {
		if err == io.EOF {
			err = errors.New("empty input")
		}
		return fmt.Errorf("parse kev: %w: %w", ErrFormat, err)
	}
	col := map[string]int{}
	for i, h := range header {
		col[strings.ToLower(strings.TrimSpace(h))] = i
	}
	if _, ok := col["cveid"]; !ok {
		return fmt.Errorf("parse kev: %w: header lacks cveID", ErrFormat)
	}
	get := func(rec []string, name string) string {
		if i, ok := col[strings.ToLower(name)]; ok && i < len(rec) {
			return rec[i]
		}
		return ""
	}
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("parse kev: %w: %w", ErrFormat, err)
		}
		line, _ := cr.FieldPos(0)
		e := kevEntry{
			CVEID:                      get(rec, "cveID"),
			VendorProject:              get(rec, "vendorProject"),
			Product:                    get(rec, "product"),
			VulnerabilityName:          get(rec, "vulnerabilityName"),
			DateAdded:                  get(rec, "dateAdded"),
			RequiredAction:             get(rec, "requiredAction"),
			DueDate:                    get(rec, "dueDate"),
			KnownRansomwareCampaignUse: get(rec, "knownRansomwareCampaignUse"),
		}
		k, err := e.kev()
		if err != nil {
			return fmt.Errorf("parse kev: line %d: %w: %w", line, ErrFormat, err)
		}
		if err := fn(k); err != nil {
			return err
		}
	}
}

func (e kevEntry) kev() (KEV, error) {
	k := KEV{
		CVE:                strings.ToUpper(strings.TrimSpace(e.CVEID)),
		VendorProject:      e.VendorProject,
		Product:            e.Product,
		Name:               e.VulnerabilityName,
		RequiredAction:     e.RequiredAction,
		KnownRansomwareUse: strings.EqualFold(strings.TrimSpace(e.KnownRansomwareCampaignUse), "known"),
	}
	if !isCVE(k.CVE) {
		return KEV{}, fmt.Errorf("bad cveID %q", clip(e.CVEID))
	}
	var err error
	if k.DateAdded, err = kevDate(e.DateAdded); err != nil {
		return KEV{}, fmt.Errorf("%s: dateAdded: %w", k.CVE, err)
	}
	if k.DueDate, err = kevDate(e.DueDate); err != nil {
		return KEV{}, fmt.Errorf("%s: dueDate: %w", k.CVE, err)
	}
	return k, nil
}

func kevDate(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse("2006-01-02", s)
	if err != nil {
		return time.Time{}, fmt.Errorf("bad date %q", clip(s))
	}
	return t, nil
}
