package vex

import (
	"encoding/json"
	"fmt"
)

// maxComponentDepth bounds how deep nested components are looked into for
// the purls of bom-refs.
const maxComponentDepth = 32

// The subset of CycloneDX JSON (1.4 and later) a VEX needs.

type cdxDoc struct {
	Metadata struct {
		Timestamp string        `json:"timestamp"`
		Component *cdxComponent `json:"component"`
	} `json:"metadata"`
	Components      []cdxComponent `json:"components"`
	Vulnerabilities []cdxVuln      `json:"vulnerabilities"`
}

type cdxComponent struct {
	BOMRef     string         `json:"bom-ref"`
	PURL       string         `json:"purl"`
	Components []cdxComponent `json:"components"`
}

type cdxVuln struct {
	ID         string `json:"id"`
	References []struct {
		ID string `json:"id"`
	} `json:"references"`
	Published string `json:"published"`
	Updated   string `json:"updated"`
	Analysis  *struct {
		State         string `json:"state"`
		Justification string `json:"justification"`
		Detail        string `json:"detail"`
		FirstIssued   string `json:"firstIssued"`
		LastUpdated   string `json:"lastUpdated"`
	} `json:"analysis"`
	Affects []struct {
		Ref      string `json:"ref"`
		Versions []struct {
			Version string `json:"version"`
			Range   string `json:"range"`
		} `json:"versions"`
	} `json:"affects"`
}

// cdxStates maps CycloneDX analysis states to statuses.
var cdxStates = map[string]string{
	"not_affected":           StatusNotAffected,
	"false_positive":         StatusNotAffected,
	"resolved":               StatusFixed,
	"resolved_with_pedigree": StatusFixed,
	"exploitable":            StatusAffected,
	"in_triage":              StatusUnderInvestigation,
}

// readCycloneDX reads the analysed vulnerabilities of a CycloneDX document:
// one statement each, about the components its affects entries name (by
// purl, by bom-ref of a component of the document, or by BOM-Link). A
// vulnerability without an analysis state says nothing and is skipped. An
// affects entry that lists versions applies only to those exact versions
// (ranges are not evaluated, so an entry with only ranges applies to
// nothing).
func readCycloneDX(b []byte, name string) ([]*statement, error) {
	var doc cdxDoc
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, jsonError(b, err))
	}
	purls := map[string]string{}
	var index func(cs []cdxComponent, depth int)
	index = func(cs []cdxComponent, depth int) {
		if depth > maxComponentDepth {
			return
		}
		for _, c := range cs {
			if c.BOMRef != "" && c.PURL != "" {
				if _, ok := purls[c.BOMRef]; !ok {
					purls[c.BOMRef] = c.PURL
				}
			}
			index(c.Components, depth+1)
		}
	}
	if c := doc.Metadata.Component; c != nil {
		index([]cdxComponent{*c}, 0)
	}
	index(doc.Components, 0)

	docTime := parseTime(doc.Metadata.Timestamp)
	var out []*statement
	for i, v := range doc.Vulnerabilities {
		a := v.Analysis
		if a == nil || a.State == "" {
			continue
		}
		status, ok := cdxStates[a.State]
		if !ok {
			return nil, fmt.Errorf("%w: vulnerability %d (%s): unknown analysis state %q", ErrMalformed, i+1, v.ID, a.State)
		}
		ids := []string{v.ID}
		for _, r := range v.References {
			ids = append(ids, r.ID)
		}
		ids = nonEmpty(ids)
		if len(ids) == 0 {
			return nil, fmt.Errorf("%w: vulnerability %d has no id", ErrMalformed, i+1)
		}
		st := &statement{
			ids:           ids,
			status:        status,
			state:         a.State,
			justification: a.Justification,
			detail:        a.Detail,
			source:        name,
			time:          parseTime(a.LastUpdated, a.FirstIssued, v.Updated, v.Published),
		}
		if st.time.IsZero() {
			st.time = docTime
		}
		for _, af := range v.Affects {
			if af.Ref == "" {
				continue
			}
			var versions []string
			ranged := false
			for _, ver := range af.Versions {
				switch {
				case ver.Version != "":
					versions = append(versions, ver.Version)
				case ver.Range != "":
					ranged = true
				}
			}
			if ranged && len(versions) == 0 {
				continue
			}
			p := newProduct(af.Ref)
			p.versions = versions
			st.products = append(st.products, p)
			if purl, ok := purls[p.ref]; ok && !p.isPURL {
				q := newProduct(purl)
				q.versions = versions
				st.products = append(st.products, q)
			}
		}
		out = append(out, st)
	}
	return out, nil
}
