package vex

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/vigil-sec/vigil/internal/inventory"
	"github.com/vigil-sec/vigil/internal/vuln"
)

// MaxDocumentSize bounds how many bytes Load reads.
const MaxDocumentSize = 32 << 20

// Statuses of a statement, as OpenVEX names them. CycloneDX analysis
// states are read into these: not_affected and false_positive are
// not_affected, resolved and resolved_with_pedigree are fixed, exploitable
// is affected and in_triage under_investigation.
const (
	StatusNotAffected        = "not_affected"
	StatusAffected           = "affected"
	StatusFixed              = "fixed"
	StatusUnderInvestigation = "under_investigation"
)

// SuppressedBy is the Suppression.By of matches a Set suppresses.
const SuppressedBy = "vex"

// Errors returned by Load, wrapped with detail; test with errors.Is.
var (
	// ErrUnknownFormat: the input is neither OpenVEX nor CycloneDX JSON.
	ErrUnknownFormat = errors.New("not an OpenVEX or CycloneDX VEX document")
	// ErrMalformed: the document is not well-formed JSON of its format, or
	// a statement lacks what it needs (a vulnerability, a known status).
	ErrMalformed = errors.New("malformed VEX document")
	// ErrTooLarge: the document is over MaxDocumentSize.
	ErrTooLarge = errors.New("VEX document too large")
)

// Set is the statements of one or more VEX documents. It suppresses a
// match when the latest statement about the match's vulnerability (by ID or
// alias) and package (by purl or Vigil package ID) says not_affected or
// fixed. The zero value is an empty set.
type Set struct {
	// byID indexes statements by each of their vulnerability identifiers,
	// upper-cased.
	byID map[string][]*statement
	all  []*statement
}

var _ vuln.Suppressor = (*Set)(nil)

// statement is one VEX statement, whatever its format.
type statement struct {
	// ids are the vulnerability's name and aliases as written.
	ids      []string
	products []product
	// status is one of the Status constants; state, when set, is the
	// CycloneDX analysis state it was read from where that says more
	// (false_positive, resolved_with_pedigree).
	status, state string
	// justification is the format's own justification token; detail its
	// free text (OpenVEX impact statement, CycloneDX analysis detail).
	justification, detail string
	// source names the document.
	source string
	// time is when the statement was made, if the document says; seq its
	// position among every statement of the set. Of two statements about
	// the same thing, the later time wins, then the later seq.
	time time.Time
	seq  int
}

// Len returns the number of statements in s.
func (s *Set) Len() int { return len(s.all) }

// Merge returns a set of the statements of every set, in order: of two
// statements made at the same time about the same thing, the one from the
// later set wins.
func Merge(sets ...*Set) *Set {
	out := &Set{}
	for _, s := range sets {
		if s == nil {
			continue
		}
		for _, st := range s.all {
			c := *st
			out.add(&c)
		}
	}
	return out
}

func (s *Set) add(st *statement) {
	if s.byID == nil {
		s.byID = map[string][]*statement{}
	}
	st.seq = len(s.all)
	s.all = append(s.all, st)
	var keys []string
	for _, id := range st.ids {
		k := strings.ToUpper(strings.TrimSpace(id))
		if k != "" && !slices.Contains(keys, k) {
			keys = append(keys, k)
			s.byID[k] = append(s.byID[k], st)
		}
	}
}

// Suppress returns a suppression for m when s says its package is not
// affected by it or has it fixed, and nil otherwise (no statement, or the
// latest one says affected or under investigation). p is m's package; when
// nil, only statements naming the package by Vigil package ID can apply.
func (s *Set) Suppress(m *vuln.Match, p *inventory.Package) *vuln.Suppression {
	if s == nil || len(s.all) == 0 {
		return nil
	}
	var best *statement
	seen := map[*statement]bool{}
	for _, id := range slices.Concat([]string{m.ID}, m.Aliases, m.Advisories) {
		for _, st := range s.byID[strings.ToUpper(strings.TrimSpace(id))] {
			if seen[st] {
				continue
			}
			seen[st] = true
			if !st.appliesTo(m, p) {
				continue
			}
			if best == nil || later(st, best) {
				best = st
			}
		}
	}
	if best == nil || (best.status != StatusNotAffected && best.status != StatusFixed) {
		return nil
	}
	return &vuln.Suppression{
		By:     SuppressedBy,
		Status: best.status,
		Reason: best.reason(),
		Rule:   best.ids[0],
	}
}

func later(a, b *statement) bool {
	if c := a.time.Compare(b.time); c != 0 {
		return c > 0
	}
	return a.seq > b.seq
}

func (st *statement) appliesTo(m *vuln.Match, p *inventory.Package) bool {
	id := m.PackageID
	var purl string
	version := ""
	if p != nil {
		id, purl, version = p.ID, p.PURL, p.Version
	}
	pp, purlOK := parsePURL(purl)
	for _, pr := range st.products {
		if pr.matches(id, pp, purlOK, version) {
			return true
		}
	}
	return false
}

// reason says why in words: the CycloneDX state where it says more than the
// status, the justification, the detail, and the document.
func (st *statement) reason() string {
	var parts []string
	if st.state != "" && st.state != st.status {
		parts = append(parts, st.state)
	}
	if st.justification != "" {
		parts = append(parts, st.justification)
	}
	if st.detail != "" {
		parts = append(parts, st.detail)
	}
	r := strings.Join(parts, ": ")
	if r == "" {
		r = st.status
	}
	if st.source != "" {
		r += " (" + st.source + ")"
	}
	return r
}

// Load reads one VEX document, OpenVEX or CycloneDX JSON, telling which by
// its content. name is what the caller calls it, for errors and for the
// reasons of the suppressions it makes.
func Load(r io.Reader, name string) (*Set, error) {
	b, err := io.ReadAll(io.LimitReader(r, MaxDocumentSize+1))
	if err != nil {
		return nil, fmt.Errorf("read VEX %s: %w", name, err)
	}
	if len(b) > MaxDocumentSize {
		return nil, fmt.Errorf("VEX %s: %w (over %d bytes)", name, ErrTooLarge, MaxDocumentSize)
	}
	var probe struct {
		Context   json.RawMessage `json:"@context"`
		BOMFormat json.RawMessage `json:"bomFormat"`
	}
	trimmed := bytes.TrimSpace(b)
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return nil, fmt.Errorf("VEX %s: %w: not a JSON object", name, ErrUnknownFormat)
	}
	if err := json.Unmarshal(b, &probe); err != nil {
		return nil, fmt.Errorf("VEX %s: %w: %w", name, ErrMalformed, jsonError(b, err))
	}
	var sts []*statement
	switch {
	case isOpenVEXContext(probe.Context):
		sts, err = readOpenVEX(b, name)
	case string(probe.BOMFormat) == `"CycloneDX"`:
		sts, err = readCycloneDX(b, name)
	default:
		return nil, fmt.Errorf("VEX %s: %w", name, ErrUnknownFormat)
	}
	if err != nil {
		return nil, fmt.Errorf("VEX %s: %w", name, err)
	}
	set := &Set{}
	for _, st := range sts {
		set.add(st)
	}
	return set, nil
}

// jsonError adds the byte offset to JSON syntax and type errors.
func jsonError(b []byte, err error) error {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return fmt.Errorf("at byte %d: %w", se.Offset, err)
	case errors.As(err, &te):
		return fmt.Errorf("at byte %d: %w", min(te.Offset, int64(len(b))), err)
	}
	return err
}

// parseTime reads an RFC 3339 timestamp; anything else is the zero time
// (the statement then loses to any dated one).
func parseTime(ss ...string) time.Time {
	for _, s := range ss {
		if s == "" {
			continue
		}
		if t, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(s)); err == nil {
			return t
		}
	}
	return time.Time{}
}
