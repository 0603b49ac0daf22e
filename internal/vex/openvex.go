package vex

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/vigil-sec/vigil/internal/inventory"
	"github.com/vigil-sec/vigil/internal/vuln"
)

// OpenVEXContext is the @context of the OpenVEX documents WriteOpenVEX
// writes; Load accepts any https://openvex.dev/ns context.
const OpenVEXContext = "https://openvex.dev/ns/v0.2.0"

// DocumentIRIPrefix starts the @id of the documents WriteOpenVEX writes,
// followed by the SHA-256 of their content.
const DocumentIRIPrefix = "https://vigil.invalid/vex/"

// OpenVEX justifications for not_affected.
const (
	ComponentNotPresent                         = "component_not_present"
	VulnerableCodeNotPresent                    = "vulnerable_code_not_present"
	VulnerableCodeNotInExecutePath              = "vulnerable_code_not_in_execute_path"
	VulnerableCodeCannotBeControlledByAdversary = "vulnerable_code_cannot_be_controlled_by_adversary"
	InlineMitigationsAlreadyExist               = "inline_mitigations_already_exist"
)

var justifications = []string{
	ComponentNotPresent, VulnerableCodeNotPresent, VulnerableCodeNotInExecutePath,
	VulnerableCodeCannotBeControlledByAdversary, InlineMitigationsAlreadyExist,
}

// The subset of OpenVEX (https://github.com/openvex/spec) Vigil reads and
// writes. Timestamps are strings so that an odd one does not fail the
// document: it is read as no time at all.

type openVEXDoc struct {
	Context     string             `json:"@context"`
	ID          string             `json:"@id"`
	Author      string             `json:"author"`
	Role        string             `json:"role,omitempty"`
	Timestamp   string             `json:"timestamp"`
	LastUpdated string             `json:"last_updated,omitempty"`
	Version     version            `json:"version"`
	Tooling     string             `json:"tooling,omitempty"`
	Statements  []openVEXStatement `json:"statements"`
}

type openVEXStatement struct {
	ID              string           `json:"@id,omitempty"`
	Vulnerability   openVEXVuln      `json:"vulnerability"`
	Timestamp       string           `json:"timestamp,omitempty"`
	LastUpdated     string           `json:"last_updated,omitempty"`
	Products        []openVEXProduct `json:"products,omitempty"`
	Status          string           `json:"status"`
	StatusNotes     string           `json:"status_notes,omitempty"`
	Justification   string           `json:"justification,omitempty"`
	ImpactStatement string           `json:"impact_statement,omitempty"`
	ActionStatement string           `json:"action_statement,omitempty"`
}

type openVEXVuln struct {
	ID      string   `json:"@id,omitempty"`
	Name    string   `json:"name"`
	Aliases []string `json:"aliases,omitempty"`
}

// UnmarshalJSON also accepts OpenVEX v0.0.1's plain-string vulnerability.
func (v *openVEXVuln) UnmarshalJSON(b []byte) error {
	if bytes.HasPrefix(bytes.TrimSpace(b), []byte(`"`)) {
		*v = openVEXVuln{}
		return json.Unmarshal(b, &v.Name)
	}
	type plain openVEXVuln
	return json.Unmarshal(b, (*plain)(v))
}

type openVEXProduct struct {
	ID            string                `json:"@id"`
	Identifiers   map[string]string     `json:"identifiers,omitempty"`
	Subcomponents []openVEXSubcomponent `json:"subcomponents,omitempty"`
}

// UnmarshalJSON also accepts OpenVEX v0.0.1's plain-string product.
func (p *openVEXProduct) UnmarshalJSON(b []byte) error {
	if bytes.HasPrefix(bytes.TrimSpace(b), []byte(`"`)) {
		*p = openVEXProduct{}
		return json.Unmarshal(b, &p.ID)
	}
	type plain openVEXProduct
	return json.Unmarshal(b, (*plain)(p))
}

// version is a document version: a number, or in v0.0.1 documents a
// string, which is not read.
type version int

func (v *version) UnmarshalJSON(b []byte) error {
	if bytes.HasPrefix(bytes.TrimSpace(b), []byte(`"`)) {
		return nil
	}
	return json.Unmarshal(b, (*int)(v))
}

type openVEXSubcomponent struct {
	ID          string            `json:"@id"`
	Identifiers map[string]string `json:"identifiers,omitempty"`
}

func isOpenVEXContext(raw json.RawMessage) bool {
	var ctx string
	if json.Unmarshal(raw, &ctx) != nil {
		return false
	}
	return strings.HasPrefix(ctx, "https://openvex.dev/ns")
}

// readOpenVEX reads an OpenVEX document's statements. A statement is about
// its products, or, when a product lists subcomponents, about those
// subcomponents (the packages) within it; Vigil does not check that the
// product is the scanned asset.
func readOpenVEX(b []byte, name string) ([]*statement, error) {
	var doc openVEXDoc
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, jsonError(b, err))
	}
	docTime := parseTime(doc.LastUpdated, doc.Timestamp)
	out := make([]*statement, 0, len(doc.Statements))
	for i, s := range doc.Statements {
		v := s.Vulnerability
		ids := nonEmpty(append([]string{v.Name, v.ID}, v.Aliases...))
		if len(ids) == 0 {
			return nil, fmt.Errorf("%w: statement %d names no vulnerability", ErrMalformed, i+1)
		}
		switch s.Status {
		case StatusNotAffected, StatusAffected, StatusFixed, StatusUnderInvestigation:
		default:
			return nil, fmt.Errorf("%w: statement %d (%s): unknown status %q", ErrMalformed, i+1, ids[0], s.Status)
		}
		st := &statement{
			ids:           ids,
			status:        s.Status,
			justification: s.Justification,
			detail:        s.ImpactStatement,
			source:        name,
			time:          parseTime(s.LastUpdated, s.Timestamp),
		}
		if st.time.IsZero() {
			st.time = docTime
		}
		for _, p := range s.Products {
			if len(p.Subcomponents) == 0 {
				st.products = append(st.products, identified(p.ID, p.Identifiers)...)
				continue
			}
			for _, c := range p.Subcomponents {
				st.products = append(st.products, identified(c.ID, c.Identifiers)...)
			}
		}
		out = append(out, st)
	}
	return out, nil
}

// identified returns the products an @id and its identifiers name.
func identified(id string, identifiers map[string]string) []product {
	var out []product
	if id != "" {
		out = append(out, newProduct(id))
	}
	if p := identifiers["purl"]; p != "" && p != id {
		out = append(out, newProduct(p))
	}
	return out
}

func nonEmpty(ss []string) []string {
	var out []string
	for _, s := range ss {
		if s = strings.TrimSpace(s); s != "" && !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// WriteOpenVEX writes r as an OpenVEX v0.2.0 document by author (default
// "Vigil") at now: one statement per vulnerability of each package,
// "affected" with what to do about it, or "not_affected" when the match is
// suppressed, with the suppression's justification when its reason starts
// with an OpenVEX one and its reason as the impact statement. Products are
// package URLs, or PackageIRIPrefix + the package ID for packages without a
// valid one. Statements are sorted; the document's @id is derived from its
// content, so only the timestamp differs between two writes of one report.
//
// Matches of one vulnerability in packages with the same purl (the same
// package at two paths) share one statement, affected if any of them is.
func WriteOpenVEX(w io.Writer, r *vuln.Report, author string, now time.Time) error {
	if author == "" {
		author = "Vigil"
	}
	pkgs := map[string]*inventory.Package{}
	if r.Result != nil {
		for i := range r.Result.Packages {
			p := &r.Result.Packages[i]
			if _, ok := pkgs[p.ID]; !ok {
				pkgs[p.ID] = p
			}
		}
	}

	type key struct{ vuln, product string }
	byKey := map[key]*openVEXStatement{}
	var keys []key
	for i := range r.Matches {
		m := &r.Matches[i]
		productID := PackageIRIPrefix + m.PackageID
		if p := pkgs[m.PackageID]; p != nil {
			if _, ok := parsePURL(p.PURL); ok {
				productID = p.PURL
			}
		}
		k := key{m.ID, productID}
		s := statementFor(m, productID)
		prev, ok := byKey[k]
		if !ok {
			keys = append(keys, k)
			byKey[k] = &s
			continue
		}
		if prev.Status == StatusNotAffected && s.Status == StatusAffected {
			byKey[k] = &s
		}
	}
	slices.SortFunc(keys, func(a, b key) int {
		if c := strings.Compare(a.vuln, b.vuln); c != 0 {
			return c
		}
		return strings.Compare(a.product, b.product)
	})
	sts := make([]openVEXStatement, len(keys))
	for i, k := range keys {
		sts[i] = *byKey[k]
	}

	content, err := json.Marshal(struct {
		Author     string             `json:"author"`
		Statements []openVEXStatement `json:"statements"`
	}{author, sts})
	if err != nil {
		return fmt.Errorf("write OpenVEX: %w", err)
	}
	sum := sha256.Sum256(content)
	doc := openVEXDoc{
		Context:    OpenVEXContext,
		ID:         DocumentIRIPrefix + hex.EncodeToString(sum[:]),
		Author:     author,
		Timestamp:  now.UTC().Format(time.RFC3339),
		Version:    1,
		Tooling:    "Vigil",
		Statements: sts,
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(doc); err != nil {
		return fmt.Errorf("write OpenVEX: %w", err)
	}
	return nil
}

func statementFor(m *vuln.Match, productID string) openVEXStatement {
	var aliases []string
	for _, a := range slices.Concat(m.Aliases, m.Advisories) {
		if a != "" && a != m.ID && !slices.Contains(aliases, a) {
			aliases = append(aliases, a)
		}
	}
	slices.Sort(aliases)
	s := openVEXStatement{
		Vulnerability: openVEXVuln{Name: m.ID, Aliases: aliases},
		Products:      []openVEXProduct{{ID: productID}},
	}
	sup := m.Suppressed
	if sup == nil {
		s.Status = StatusAffected
		f := m.Finding("")
		s.ActionStatement = f.Remediation
		if s.ActionStatement == "" {
			s.ActionStatement = "no fix is known: remove or replace " + m.Package + ", or mitigate"
		}
		return s
	}
	s.Status = StatusNotAffected
	reason := strings.TrimSpace(sup.Reason)
	if word, rest, _ := strings.Cut(reason, ":"); slices.Contains(justifications, strings.TrimSpace(word)) {
		s.Justification = strings.TrimSpace(word)
		reason = strings.TrimSpace(rest)
	}
	s.ImpactStatement = reason
	if s.Justification == "" && s.ImpactStatement == "" {
		s.ImpactStatement = "suppressed by " + sup.By
	}
	notes := "suppressed by " + sup.By
	if sup.Rule != "" {
		notes += " rule " + sup.Rule
	}
	if sup.Status != "" {
		notes += " (" + sup.Status + ")"
	}
	s.StatusNotes = notes
	return s
}
